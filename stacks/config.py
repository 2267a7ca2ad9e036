"""The typed model of `environments.toml` and its loader.

Every check that can be made without the network is made here, so that a bad file fails before
any Terraform is written. Problems are collected, not raised one at a time: the user sees all of
them in one run, one line each, naming the environment and the field.
"""

from __future__ import annotations

import ipaddress
import re
import string
import tomllib
import urllib.parse
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from policies.input_files import NESTED_TOO_DEEPLY
from policies.pricing import MAX_BUDGET_USD, PriceTableError, known_regions, known_size_slugs

DEFAULT_CONFIG = Path("environments.toml")
MAX_CONFIG_BYTES = 4 * 2**20  # hundreds of environments take well under 1 MiB

ROLES = ("app", "db", "search", "cache", "monitoring")
COLORS = ("blue", "green")
ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
PROJECT = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
STATE_KEY_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SSH_KEY = re.compile(r"^([0-9]{1,12}|([0-9a-f]{2}:){15}[0-9a-f]{2}|SHA256:[A-Za-z0-9+/]{43})$")
RELEASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
IMAGE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
SLACK_CHANNEL = re.compile(r"^#[a-z0-9][a-z0-9._-]{0,79}$")
ENV_VAR = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
PREVIEW_SLUG_MAX = 32  # keeps "preview-<slug>" names, tags and DNS labels well inside provider limits


class ConfigError(Exception):
    """The configuration cannot be used. `problems` holds one readable line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class Kind(str, Enum):
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"
    PREVIEW = "preview"

    @property
    def project_environment(self) -> str:
        # DigitalOcean projects know only these three environment labels.
        return {"production": "Production", "staging": "Staging"}.get(self.value, "Development")

    @property
    def protects_state(self) -> bool:
        return self in (Kind.STAGING, Kind.PRODUCTION)


# The records are proxied, so Cloudflare's edge must hold a certificate for each hostname. The
# zone's Universal SSL certificate names the zone and `*.<zone>`, and a wildcard covers one label:
# `a.b.<zone>` would fail the TLS handshake at the edge.
DEEPER_THAN_EDGE_CERTIFICATE = (
    "is more than one label below zone, which Cloudflare's Universal SSL certificate does not cover "
    "(use a name like 'preview-x.<zone>'); zone"
)


def edge_certificate_covers(hostname: str, zone: str) -> bool:
    return hostname == zone or (hostname.endswith("." + zone) and "." not in hostname[: -len(zone) - 1])


def _matching(pattern: re.Pattern[str], value: str, what: str) -> str:
    """`value` if the whole of it matches `pattern`; else the error "<value> is not <what>"."""
    if not pattern.fullmatch(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


def _known_region(value: str) -> str:
    if value not in known_regions():
        raise ValueError(f"unknown DigitalOcean region {value!r} (known: {', '.join(sorted(known_regions()))})")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # nan and inf are valid TOML floats


class Pool(Strict):
    size: str
    count: Annotated[int, Field(ge=1, le=50, strict=True)] = 1
    image: str = "ubuntu-24-04-x64"
    volume_gb: Annotated[int, Field(ge=1, le=16384, strict=True)] | None = None

    @field_validator("size")
    @classmethod
    def _known_size(cls, v: str) -> str:
        if v not in known_size_slugs():
            raise ValueError(f"unknown Droplet size slug {v!r} (see policies/price_table.toml for the known slugs)")
        return v

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        return _matching(IMAGE, v, "a DigitalOcean image slug")


class Pools(Strict):
    app: Pool
    db: Pool
    search: Pool
    cache: Pool
    monitoring: Pool


class Releases(Strict):
    blue: str | None = None
    green: str | None = None

    @field_validator("blue", "green")
    @classmethod
    def _release(cls, v: str | None) -> str | None:
        if v is not None and not RELEASE.fullmatch(v):
            raise ValueError(f"{v!r} is not a release name (letters, digits, '.', '_', '-')")
        return v


class Alerts(Strict):
    emails: list[str] = Field(min_length=1)
    slack_channel: str | None = None
    # The webhook URL is a secret: the file names the environment variable that holds it,
    # and the stack passes it to Terraform as a sensitive variable.
    slack_webhook_env: str | None = None

    @field_validator("emails")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        bad = [e for e in v if not EMAIL.fullmatch(e)]
        if bad:
            raise ValueError(f"not an email address: {', '.join(map(repr, bad))}")
        return v

    @field_validator("slack_channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        if v is not None and not SLACK_CHANNEL.fullmatch(v):
            raise ValueError(f"{v!r} is not a Slack channel like '#hub-alerts'")
        return v

    @field_validator("slack_webhook_env")
    @classmethod
    def _webhook_env(cls, v: str | None) -> str | None:
        if v is not None and not ENV_VAR.fullmatch(v):
            if v.startswith("http"):
                raise ValueError("must name an environment variable, not hold the webhook URL itself (it is a secret)")
            raise ValueError(f"{v!r} is not an environment variable name")
        return v

    @model_validator(mode="after")
    def _slack_pair(self) -> "Alerts":
        if (self.slack_channel is None) != (self.slack_webhook_env is None):
            raise ValueError("slack_channel and slack_webhook_env go together: set both or neither")
        return self


# VPC ranges must lie in these (RFC 1918). ipaddress's is_private also holds for loopback, link-local,
# 0.0.0.0/8, 240.0.0.0/4 and documentation ranges, none of which DigitalOcean accepts for a VPC.
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def _rfc1918(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return net.version == 4 and any(net.subnet_of(r) for r in RFC1918)


def _network(value: str, field: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{field} {value!r} is not a CIDR block ({exc})") from None


class Environment(Strict):
    kind: Kind
    region: str
    zone: str
    hostnames: list[str] = Field(min_length=1)
    vpc_cidr: str
    active_color: Literal["blue", "green"]
    releases: Releases
    pools: Pools
    admin_cidrs: list[str] = Field(min_length=1)
    ssh_keys: list[str] = Field(min_length=1)
    alerts: Alerts
    backups: Literal["off", "weekly", "daily"] = "off"
    monthly_budget_usd: Annotated[float, Field(strict=True, le=MAX_BUDGET_USD)]
    app_port: Annotated[int, Field(ge=1024, le=65535, strict=True)] = 8080
    load_balancer_size_unit: Annotated[int, Field(ge=1, le=100, strict=True)] = 1
    ttl: str | None = None  # preview environments only: when they may be torn down

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        return _known_region(v)

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, v: str | None) -> str | None:
        # It becomes the tag `ttl:<days>d` that the clean-up job reads.
        if v is not None and not re.fullmatch(r"[1-9][0-9]{0,2}d", v):
            raise ValueError(f"{v!r} is not a number of days like '7d'")
        return v

    @field_validator("hostnames")
    @classmethod
    def _hostnames(cls, v: list[str]) -> list[str]:
        bad = [h for h in v if not HOSTNAME.fullmatch(h)]
        if bad:
            raise ValueError(f"not a valid lower-case hostname: {', '.join(map(repr, bad))}")
        if len(set(v)) != len(v):
            raise ValueError("the same hostname is listed twice")
        return v

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc(cls, v: str) -> str:
        net = _network(v, "vpc_cidr")
        if not _rfc1918(net):
            raise ValueError(f"{v!r} must be a private IPv4 range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918)")
        if not 16 <= net.prefixlen <= 28:
            raise ValueError(f"{v!r} must be between /16 and /28 (DigitalOcean VPC limits)")
        return v

    @field_validator("admin_cidrs")
    @classmethod
    def _admin(cls, v: list[str]) -> list[str]:
        for cidr in v:
            net = _network(cidr, "admin CIDR")
            if net.prefixlen == 0:
                raise ValueError(f"{cidr!r} opens SSH to the whole internet; list your admin networks instead")
            if (net.version == 4 and net.prefixlen < 16) or (net.version == 6 and net.prefixlen < 32):
                raise ValueError(f"{cidr!r} is broader than /16 (IPv4) or /32 (IPv6); SSH must come from admin networks only")
        return v

    @field_validator("ssh_keys")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        bad = [k for k in v if not SSH_KEY.fullmatch(k)]
        if bad:
            raise ValueError(f"not a DigitalOcean SSH key id or fingerprint: {', '.join(map(repr, bad))}")
        return v

    @field_validator("monthly_budget_usd")
    @classmethod
    def _budget(cls, v: float) -> float:
        if v < 0:
            raise ValueError(f"must not be negative (got {v})")
        return v

    @model_validator(mode="after")
    def _consistency(self) -> "Environment":
        if getattr(self.releases, self.active_color) is None:
            raise ValueError(f"active_color is {self.active_color!r} but releases.{self.active_color} is not set")
        if self.ttl is not None and self.kind is not Kind.PREVIEW:  # the clean-up job would tear it down
            raise ValueError(f"ttl is for preview environments only, and this one is {self.kind.value!r}")
        if self.kind is Kind.PRODUCTION and self.pools.app.count < 2:
            raise ValueError("pools.app.count must be at least 2 in production (one Droplet per colour pool is no redundancy)")
        for h in self.hostnames:
            if not (h == self.zone or h.endswith("." + self.zone)):
                raise ValueError(f"hostname {h!r} is not inside zone {self.zone!r}")
            if not edge_certificate_covers(h, self.zone):
                raise ValueError(f"hostname {h!r} {DEEPER_THAN_EDGE_CERTIFICATE} {self.zone!r}")
        return self

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.ip_network(self.vpc_cidr)  # type: ignore[return-value]


class Zone(Strict):
    owner: str  # the environment whose stack manages the zone-wide settings and header ruleset
    # False: look the zone up by name; True: create it. Strict: lax pydantic reads "no" or 0 as a bool.
    create: Annotated[bool, Field(strict=True)] = False
    account_id: str | None = None
    content_security_policy: str = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
        "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )

    @field_validator("content_security_policy")
    @classmethod
    def _csp(cls, v: str) -> str:
        # It is sent as a header value: a newline or other control character breaks the header.
        if not v.strip() or not v.isprintable():
            raise ValueError(f"{v!r} is not a header value (one line of printable text, not empty)")
        return v

    @model_validator(mode="after")
    def _account(self) -> "Zone":
        if self.create and not self.account_id:
            raise ValueError("account_id is required when create = true")
        if self.account_id is not None and not re.fullmatch(r"[0-9a-f]{32}", self.account_id):
            raise ValueError(f"account_id {self.account_id!r} is not a 32-character Cloudflare account id")
        return self


class State(Strict):
    """Remote state in DigitalOcean Spaces (S3 API). Empty bucket: local state in the stack directory."""

    bucket: str | None = None
    region: str = "fra1"
    endpoint: str | None = None  # defaults to https://<region>.digitaloceanspaces.com
    key_prefix: str = "community-hub"

    @field_validator("key_prefix")
    @classmethod
    def _key_prefix(cls, v: str) -> str:
        return _matching(STATE_KEY_PREFIX, v, "a state key prefix (path segments of letters, digits, '.', '_', '-')")

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        return _known_region(v)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        # Terraform's S3 backend needs a URL; "fra1.digitaloceanspaces.com" would fail only at init.
        if v is not None:
            url = urllib.parse.urlsplit(v)
            if url.scheme not in ("https", "http") or not url.hostname or not v.isprintable() or " " in v:
                raise ValueError(f"{v!r} is not a URL like 'https://fra1.digitaloceanspaces.com'")
        return v

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", v):
            raise ValueError(f"{v!r} is not a valid Spaces bucket name")
        return v

    @property
    def spaces_endpoint(self) -> str:
        return self.endpoint or f"https://{self.region}.digitaloceanspaces.com"


class Preview(Strict):
    """How a feature-branch preview environment is derived from its base environment."""

    base: str = "development"
    hostname_template: str = "preview-{slug}.communityhub.dev"
    cidr_pool: str = "10.200.0.0/16"  # each preview takes a /24 from this pool
    size: str = "s-1vcpu-1gb"  # the smallest size that runs our services
    ttl_days: Annotated[int, Field(ge=1, le=90, strict=True)] = 7
    monthly_budget_usd: Annotated[float, Field(ge=0, le=MAX_BUDGET_USD, strict=True)] = 80

    @field_validator("size")
    @classmethod
    def _size(cls, v: str) -> str:
        return Pool._known_size(v)

    @field_validator("hostname_template")
    @classmethod
    def _template(cls, v: str) -> str:
        # Checked here, not first when someone asks for a preview: a template that cannot be filled
        # in ("{branch}", a lone "{") or makes no hostname is an error in this file, not a traceback.
        try:
            fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(v) if name is not None]
        except ValueError as exc:
            raise ValueError(f"{v!r} is not a template ({exc})") from None
        if any(f != ("slug", "", None) for f in fields):
            raise ValueError(f"{v!r}: the only placeholder it may hold is {{slug}}, as it is")
        if not fields:
            raise ValueError("must contain {slug}")
        sample = v.format(slug="a" * PREVIEW_SLUG_MAX)  # the longest slug a branch name gives
        if not HOSTNAME.fullmatch(sample):
            raise ValueError(f"{v!r} does not make a valid lower-case hostname (with a {PREVIEW_SLUG_MAX}-character slug: {sample!r})")
        return v

    @field_validator("cidr_pool")
    @classmethod
    def _pool(cls, v: str) -> str:
        net = _network(v, "cidr_pool")
        if not (_rfc1918(net) and net.prefixlen <= 24):
            raise ValueError(f"{v!r} must be a private IPv4 range (RFC 1918) of /24 or larger")
        return v


class HubConfig(Strict):
    project: str = "community-hub"
    state: State = State()
    zones: dict[str, Zone]
    preview: Preview = Preview()
    environments: dict[str, Environment] = Field(min_length=1)

    @field_validator("project")
    @classmethod
    def _project(cls, v: str) -> str:
        # It starts every Droplet and firewall name, so it must be short and hostname-safe.
        return _matching(PROJECT, v, "a project name (2-32 lower-case letters, digits and '-', starting with a letter)")

    @model_validator(mode="after")
    def _cross_checks(self) -> "HubConfig":
        problems: list[str] = []
        for name in self.environments:
            if not ENV_NAME.fullmatch(name):  # quoted: a TOML key may hold a newline, which would split the line
                problems.append(f"environments.{name!r}: name must be lower-case letters, digits and '-', starting with a letter")
        seen_host: dict[str, str] = {}
        for name, env in self.environments.items():
            for h in env.hostnames:
                if h in seen_host:
                    problems.append(f"environments.{name}.hostnames: {h!r} is also used by environment {seen_host[h]!r}")
                seen_host.setdefault(h, name)
            if env.zone not in self.zones:
                problems.append(f"environments.{name}.zone: zone {env.zone!r} is not declared under [zones]")
        names = list(self.environments)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if self.environments[a].network.overlaps(self.environments[b].network):
                    problems.append(
                        f"environments.{b}.vpc_cidr: {self.environments[b].vpc_cidr} overlaps "
                        f"{self.environments[a].vpc_cidr} of environment {a!r}"
                    )
            if ipaddress.ip_network(self.preview.cidr_pool).overlaps(self.environments[a].network):
                problems.append(f"preview.cidr_pool: {self.preview.cidr_pool} overlaps vpc_cidr of environment {a!r}")
        for zname, zone in self.zones.items():
            if zone.owner not in self.environments:
                problems.append(f"zones.{zname}.owner: {zone.owner!r} is not an environment")
            elif self.environments[zone.owner].zone != zname:
                problems.append(f"zones.{zname}.owner: environment {zone.owner!r} uses zone {self.environments[zone.owner].zone!r}")
        sample = self.preview.hostname_template.format(slug="x")
        # the innermost declared zone that holds the sample hostname
        zone = max((z for z in self.zones if sample == z or sample.endswith("." + z)), key=len, default=None)
        if zone is None:
            problems.append(f"preview.hostname_template: {self.preview.hostname_template!r} is not inside any zone "
                            "declared under [zones]")
        elif not edge_certificate_covers(sample, zone):
            problems.append(f"preview.hostname_template: {self.preview.hostname_template!r} "
                            f"{DEEPER_THAN_EDGE_CERTIFICATE} {zone!r}")
        if self.preview.base not in self.environments:
            problems.append(f"preview.base: {self.preview.base!r} is not an environment")
        if problems:
            raise ValueError("\n".join(problems))
        return self


def _location(loc: tuple) -> str:
    # A quoted TOML key may hold a newline or other control character: quote such a part, so that
    # each problem stays on its one line.
    parts = (str(p) for p in loc if not str(p).startswith("function-after"))
    return ".".join(p if p.isprintable() else repr(p) for p in parts)


def _format_errors(exc: ValidationError, source: str) -> list[str]:
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        where = _location(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see environments.toml in the repository for the known keys)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        for part in msg.split("\n"):
            if where and not part.startswith(("environments.", "zones.", "preview.")):
                lines.append(f"{source}: {where}: {part}")
            else:
                lines.append(f"{source}: {part}")
    return lines


def load_config(path: Path = DEFAULT_CONFIG) -> HubConfig:
    """Read and validate the configuration; raise ConfigError listing every problem."""
    source = str(path)
    try:
        with path.open("rb") as fh:  # bounded: HUB_CONFIG=/dev/zero or a wrong huge file must not eat the memory
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([f"{source}: file not found"]) from None
    except OSError as exc:
        raise ConfigError([f"{source}: cannot be read ({exc})"]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"{source}: larger than {MAX_CONFIG_BYTES // 2**20} MiB; not an environments file"])
    try:
        text = raw.decode("utf-8-sig")  # tolerates the byte-order mark some editors write
    except UnicodeDecodeError as exc:  # the line, not the byte offset the codec gives, finds it in an editor
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError([f"{source}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}, column {column} "
                           "(save the file as UTF-8)"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: not valid TOML: {exc}"]) from None
    except RecursionError:
        raise ConfigError([f"{source}: {NESTED_TOO_DEEPLY}"]) from None
    try:
        known_size_slugs(), known_regions()  # the valid values come from the price table
    except PriceTableError as exc:
        raise ConfigError(str(exc).splitlines()) from None
    try:
        return HubConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None
