"""Preview environments for feature branches, derived from a base environment.

A preview is the base environment at the smallest size, with its own hostname, VPC range,
budget and a `ttl:` tag that the clean-up job reads.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from stacks.config import PREVIEW_SLUG_MAX as MAX_SLUG
from stacks.config import ConfigError, Environment, HubConfig, Kind, Pool


def slugify(branch: str) -> str:
    """Turn a branch name into a DNS- and tag-safe slug, or raise ConfigError."""
    raw = branch.strip()
    slug = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    if not slug or not re.search(r"[a-z]", slug):
        raise ConfigError([f"HUB_PREVIEW: branch name {branch!r} has no letters to make a preview name from"])
    if len(slug) > MAX_SLUG:
        # Keep long branch names apart even when they share a prefix.
        digest = hashlib.sha256(raw.encode()).hexdigest()[:6]
        slug = slug[: MAX_SLUG - 7].rstrip("-") + "-" + digest
    return slug


def parse_branches(value: str) -> list[str]:
    """`HUB_PREVIEW` holds one branch name, or several separated by commas."""
    branches = [b for b in (part.strip() for part in value.split(",")) if b]
    if not branches:
        raise ConfigError(["HUB_PREVIEW: is set but names no branch"])
    # Git allows no whitespace or control character in a branch name: "feat/a feat/b" is two
    # branches written with the wrong separator, not one preview named feat-a-feat-b.
    bad = [b for b in branches if any(c.isspace() or not c.isprintable() for c in b)]
    if bad:
        raise ConfigError([f"HUB_PREVIEW: {b!r} is not a branch name (it holds whitespace); separate branches "
                           "with commas" for b in bad])
    return branches


def _allocate_cidrs(pool: str, slugs: list[str]) -> dict[str, str]:
    """Give each preview a /24 from the pool: by hash of its slug, so a branch keeps its range
    from run to run, probing to the next free slot on a collision within one synth."""
    net = ipaddress.ip_network(pool)
    slots = list(net.subnets(new_prefix=24))
    if len(slugs) > len(slots):
        raise ConfigError([f"preview.cidr_pool: {pool} has room for {len(slots)} previews, {len(slugs)} were asked for"])
    taken: set[int] = set()
    result: dict[str, str] = {}
    for slug in sorted(slugs):
        i = int(hashlib.sha256(slug.encode()).hexdigest(), 16) % len(slots)
        while i in taken:
            i = (i + 1) % len(slots)
        taken.add(i)
        result[slug] = str(slots[i])
    return result


def _zone_for(hostname: str, config: HubConfig) -> str:
    matches = [z for z in config.zones if hostname == z or hostname.endswith("." + z)]
    if not matches:
        raise ConfigError([f"preview.hostname_template: {hostname!r} is not inside any zone declared under [zones]"])
    return max(matches, key=len)


def preview_environments(config: HubConfig, branches: list[str]) -> dict[str, Environment]:
    """Environments named `preview-<slug>` for the given branches."""
    slugs: dict[str, str] = {}
    for branch in branches:
        slug = slugify(branch)
        if branch.strip() in slugs:
            continue  # one branch named twice makes one preview
        other = next((b for b, s in slugs.items() if s == slug), None)
        if other is not None:  # two branches would share, and each deploy replace, one preview
            raise ConfigError([f"HUB_PREVIEW: branches {other!r} and {branch.strip()!r} both make preview "
                               f"'preview-{slug}'; preview one of them at a time"])
        slugs[branch.strip()] = slug
    cidrs = _allocate_cidrs(config.preview.cidr_pool, list(slugs.values()))
    base = config.environments[config.preview.base]
    p = config.preview
    result: dict[str, Environment] = {}
    for slug in sorted(slugs.values()):
        hostname = p.hostname_template.format(slug=slug)
        name = f"preview-{slug}"
        if name in config.environments:
            raise ConfigError([f"HUB_PREVIEW: preview {name!r} would replace the environment of the same name"])
        taken = next((n for n, e in config.environments.items() if hostname in e.hostnames), None)
        if taken is not None:  # its DNS record would take over the other environment's hostname
            raise ConfigError([f"HUB_PREVIEW: preview {name!r} would have hostname {hostname!r}, which environment "
                               f"{taken!r} uses"])
        pools = {}
        for role in ("app", "db", "search", "cache", "monitoring"):
            pool = getattr(base.pools, role)
            volume = min(pool.volume_gb, 10) if pool.volume_gb else None
            pools[role] = Pool(size=p.size, count=1, image=pool.image, volume_gb=volume)
        data = base.model_dump()
        data.update(
            kind=Kind.PREVIEW,
            zone=_zone_for(hostname, config),
            hostnames=[hostname],
            vpc_cidr=cidrs[slug],
            pools=pools,
            backups="off",
            monthly_budget_usd=p.monthly_budget_usd,
            ttl=f"{p.ttl_days}d",
        )
        try:
            result[name] = Environment.model_validate(data)
        except Exception as exc:  # pydantic ValidationError: name the preview in the message
            raise ConfigError([f"HUB_PREVIEW {slug}: {line}" for line in str(exc).splitlines()[1:]]) from None
    return result
