"""The plan-time gate: what a Terraform plan would destroy, and what it would cost.

Synth-time policies see only the configuration; they cannot tell that a changed image or a
renamed resource makes Terraform delete a database Droplet. The plan can. This module reads the
JSON that `terraform show -json PLANFILE` prints (Terraform's documented "JSON Output Format",
format_version 1.x) and

- blocks `delete` and replace (`["delete","create"]` or `["create","delete"]`) of stateful
  resources in staging and production unless a dated, reasoned allowance covers the address;
- reports destroyed stateful resources in development and preview without blocking;
- prices the change in monthly cost for Droplets, volumes, load balancers and reserved IPs;
  anything else that is not free is listed as unpriced, never counted as zero.

What counts as stateful (a destroy loses data that the configuration cannot recreate):
- `digitalocean_volume`, `digitalocean_spaces_bucket`, the snapshots (they are the backups) and
  every `digitalocean_database_*` resource;
- Droplets whose current tags carry a stateful role (`role:db`, `role:search`, `role:cache`);
- anything whose current value carries the tag `stateful`;
- addresses the caller declares with `extra_stateful` globs (e.g. resources without tags).
`digitalocean_volume_attachment` is not: deleting it detaches the volume, the data stays on the
volume, and a volume that is itself destroyed is caught on its own address.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Sequence

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from policies.cost import MAX_QUANTITY
from policies.findings import Finding, Severity, Status
from policies.input_files import NESTED_TOO_DEEPLY, display_path, json_type, parse_json, read_text
from policies.pricing import PriceTable, current_price_table
from policies.suppressions import MIN_REASON_WORDS, expiry_date, explains, glob_matches, table_header_lines

SUPPORTED_FORMAT_MAJOR = 1

BLOCKED_CHECK_ID = "HUB_PLAN_1"
BLOCKED_TITLE = "Stateful resource destroyed"
UNUSED_ALLOWANCE_CHECK_ID = "HUB_PLAN_UNUSED_ALLOWANCE"
UNUSED_ALLOWANCE_TITLE = "Unused destroy allowance"

DEFAULT_STATEFUL_ROLES = ("db", "search", "cache")

# Resource types whose destruction loses data, with the reason shown in findings.
STATEFUL_TYPES = {
    "digitalocean_volume": "a block storage volume holds data",
    "digitalocean_spaces_bucket": "a Spaces bucket holds objects",
    "digitalocean_volume_snapshot": "a volume snapshot is a backup",
    "digitalocean_droplet_snapshot": "a Droplet snapshot is a backup",
}
STATEFUL_TYPE_PREFIXES = {
    "digitalocean_database_": "a managed database resource (digitalocean_database_*) holds or guards data",
}
STATEFUL_TAG = "stateful"

PROTECTED_ENVIRONMENTS = ("production", "staging")
UNPROTECTED_ENVIRONMENTS = ("development", "preview")
ENVIRONMENT_ALIASES = {"prod": "production", "stage": "staging", "dev": "development"}
PREVIEW_PREFIX = "preview-"


class PlanReadError(Exception):
    """A plan (or allowances file) that cannot be used. The message names the file and what is wrong."""


class AllowanceReadError(PlanReadError):
    """An allowances file that cannot be used."""




# Globs where only `*` and `?` are wildcards: an instance key such as `[0]` stays literal.
address_matches = glob_matches


def _message(err: dict) -> str:
    return err["msg"].removeprefix("Value error, ")


MAX_PROBLEMS_SHOWN = 10  # a file of another shape has one problem per entry: a megabyte on one line helps nobody


def _pydantic_problems(exc: ValidationError) -> str:
    """Each problem located like `resource_changes[2].change.actions` (the first MAX_PROBLEMS_SHOWN)."""
    problems = []
    errors = exc.errors()
    for err in errors[:MAX_PROBLEMS_SHOWN]:
        where = ""
        for part in err["loc"]:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        problems.append(f"{where or 'top level'}: {_message(err)}")
    if len(errors) > MAX_PROBLEMS_SHOWN:
        problems.append(f"and {len(errors) - MAX_PROBLEMS_SHOWN:,} more problem(s)")
    return "; ".join(problems)


# --- Plan document ------------------------------------------------------------------------------
# Only the fields the gate reads are declared; unknown fields are allowed because Terraform adds
# fields in minor format versions and asks consumers to ignore them.


# Terraform's action words (its JSON output format docs); any other word would be guessed at, so refused.
PlanAction = Literal["no-op", "create", "read", "update", "delete", "forget"]


class PlanChange(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    actions: list[PlanAction] = Field(min_length=1)
    # An object, or null when there is none; another value would hide the resource's tags.
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    replace_paths: list[list[str | int]] = []


class ResourceChange(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    address: str = Field(min_length=1)
    mode: Literal["managed", "data"]  # Terraform's two; another could hide a managed resource's delete
    type: str
    name: str
    change: PlanChange
    action_reason: str | None = None
    deposed: str | None = None

    @property
    def action(self) -> str:
        """The plan's action list as one word: delete, replace, create, update, read, no-op, ..."""
        actions = self.change.actions
        if "delete" in actions and "create" in actions:
            return "replace"
        return "-".join(actions) if len(actions) > 1 else actions[0]

    @property
    def destroys(self) -> bool:
        # Terraform's docs: scan the actions for "delete" to catch every way an object is deleted.
        return self.mode == "managed" and "delete" in self.change.actions

    def tags(self, side: str) -> list[str]:
        """String tags of the value before or after the change ([] when it has none)."""
        value = self.change.before if side == "before" else self.change.after
        tags = value.get("tags") if isinstance(value, dict) else None
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


class PlanDocument(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    format_version: str
    resource_changes: list[ResourceChange] = []
    variables: dict[str, Any] = {}
    errored: Annotated[bool, Field(strict=True)] = False  # Terraform writes a JSON boolean; "no" is no answer


def parse_plan(raw: Any, file: str) -> PlanDocument:
    """Validate a decoded `terraform show -json` plan; raises PlanReadError naming `file`."""
    if not isinstance(raw, dict):
        raise PlanReadError(f"{file}: top level: expected a Terraform plan JSON object, found {json_type(raw)}")
    if "format_version" not in raw:
        raise PlanReadError(
            f"{file}: not a Terraform plan: no format_version (produce it with `terraform show -json PLANFILE`)"
        )
    version = raw["format_version"]
    match = re.fullmatch(r"(\d+)\.(\d+)", version) if isinstance(version, str) else None
    if not match:
        raise PlanReadError(f"{file}: format_version: expected \"<major>.<minor>\", found {version!r}")
    if int(match.group(1)) != SUPPORTED_FORMAT_MAJOR:
        raise PlanReadError(
            f"{file}: format_version: {version} is not supported (this gate reads {SUPPORTED_FORMAT_MAJOR}.x, "
            "as written by Terraform 1.1 and later)"
        )
    # A plan with no resources at all omits resource_changes, but always has planned_values.
    if "resource_changes" not in raw and "planned_values" not in raw:
        kind = "a state snapshot" if "values" in raw else "not a plan"
        raise PlanReadError(
            f"{file}: {kind}: no resource_changes or planned_values (produce it with `terraform show -json PLANFILE`)"
        )
    try:
        plan = PlanDocument.model_validate(raw)
    except ValidationError as exc:
        raise PlanReadError(f"{file}: {_pydantic_problems(exc)}") from None
    if plan.errored:
        raise PlanReadError(f"{file}: errored: the plan failed in Terraform, so it cannot be checked or applied")
    return plan


def load_plan(path: Path | str) -> dict:
    """Read and validate the JSON from `terraform show -json PLANFILE`; returns the decoded document."""
    path = Path(path)
    shown = display_path(path)
    text = ""  # stays empty when the file cannot be read or decoded
    try:
        text = read_text(path, PlanReadError, shown)
        raw = parse_json(text, PlanReadError, shown)
    except PlanReadError:
        # The two files users give by mistake would otherwise be "not UTF-8" and "line 2: Extra data".
        if _starts_with(path, ZIP_MAGIC):
            raise PlanReadError(
                f"{shown}: a binary plan file (from `terraform plan -out`), not its JSON: give the gate the output of "
                "`terraform show -json PLANFILE`"
            ) from None
        if _is_ui_log(text):
            raise PlanReadError(
                f"{shown}: the log of `terraform plan -json` (one UI message per line), not a plan: save the plan "
                "with `terraform plan -out=PLANFILE` and give the gate the output of `terraform show -json PLANFILE`"
            ) from None
        raise
    parse_plan(raw, shown)
    return raw


ZIP_MAGIC = b"PK\x03\x04"  # a saved plan file is a zip archive


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        if not path.is_file():  # a pipe read once already: opening it again could wait for a writer forever
            return False
        with path.open("rb") as fh:
            return fh.read(len(magic)) == magic
    except OSError:
        return False


def _is_ui_log(text: str) -> bool:
    """Whether the first line is a message of Terraform's machine-readable UI (`-json` on plan or apply)."""
    try:
        first = json.loads(text.split("\n", 1)[0])
    except (ValueError, RecursionError):
        return False
    return isinstance(first, dict) and "@level" in first and "@message" in first


# --- Allowances ---------------------------------------------------------------------------------


class Allowance(BaseModel):
    """One `[[allow_destroy]]` entry: permission to destroy matching stateful resources until `expires`.

    `address` is a glob over Terraform addresses where only `*` and `?` are wildcards (brackets
    are literal, as in `digitalocean_volume.data[0]`). `expires` is the last day it applies.
    `environment`, when set, limits the entry to plans of that environment, so that one file can
    serve several environments without entries being reported unused.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    address: str = Field(min_length=1)
    reason: str
    expires: date
    environment: str | None = None
    _file: str = PrivateAttr(default="")
    _line: int = PrivateAttr(default=1)

    @field_validator("address")
    @classmethod
    def _no_blank_address(cls, value: str) -> str:
        if not value.strip() or value != value.strip():
            raise ValueError("must be a Terraform address glob without surrounding spaces")
        return value

    @field_validator("reason")
    @classmethod
    def _reason_given(cls, value: str) -> str:
        if not explains(value):
            raise ValueError(f"must say why the destroy is intended, in at least {MIN_REASON_WORDS} words")
        return value.strip()

    @field_validator("expires", mode="before")
    @classmethod
    def _expires(cls, value: Any) -> date:
        return expiry_date(value)

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: str | None) -> str | None:
        if value is None:
            return None
        kind = environment_kind(value)
        if kind is None:
            known = ", ".join((*PROTECTED_ENVIRONMENTS, *UNPROTECTED_ENVIRONMENTS))
            raise ValueError(f"unknown environment {value!r} (expected one of {known})")
        return kind

    def matches(self, address: str) -> bool:
        return address_matches(address, self.address)

    def expired(self, today: date) -> bool:
        return self.expires < today

    def applies_to(self, environment: str) -> bool:
        return self.environment is None or self.environment == environment

    @property
    def file(self) -> str:
        return self._file

    @property
    def line(self) -> int:
        return self._line

    @property
    def origin(self) -> str:
        return f"{self._file}:{self._line}" if self._file else "an allowance given in code"


class _AllowancesFile(BaseModel):
    # Other top-level tables are ignored, so the entries may share a file with other policy settings.
    model_config = ConfigDict(extra="ignore")
    allow_destroy: list[Allowance] = []


def load_allowances(path: Path | str) -> list[Allowance]:
    """Read `[[allow_destroy]]` entries (address, reason, expires[, environment]) from a TOML file."""
    path = Path(path)
    shown = display_path(path)
    text = read_text(path, AllowanceReadError, shown)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AllowanceReadError(f"{shown}: not valid TOML ({exc})") from None
    except RecursionError:
        raise AllowanceReadError(f"{shown}: {NESTED_TOO_DEEPLY}") from None
    lines = table_header_lines(text, "allow_destroy")
    try:
        parsed = _AllowancesFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = list(err["loc"])
            where = "allow_destroy"
            if len(loc) >= 2 and isinstance(loc[1], int):
                index = loc[1]
                entry = raw["allow_destroy"][index]
                address = entry.get("address") if isinstance(entry, dict) else None
                line = f" (line {lines[index]})" if index < len(lines) else ""
                where = f"allow_destroy[{index}]{line}" + (f" address {address!r}" if isinstance(address, str) else "")
                loc = loc[2:]
            else:
                loc = loc[1:]
            field_name = ".".join(str(p) for p in loc)
            problems.append(f"{where}: " + (f"field {field_name!r}: " if field_name else "") + _message(err))
        raise AllowanceReadError(f"{shown}: " + "; ".join(problems)) from None
    for index, allowance in enumerate(parsed.allow_destroy):
        allowance._file = shown
        allowance._line = lines[index] if index < len(lines) else 1
    return parsed.allow_destroy


# --- Environment --------------------------------------------------------------------------------


def environment_kind(name: str) -> str | None:
    """Map an environment name to production/staging/development/preview; None when unknown.

    Preview environments are named `preview-<branch slug>` (stacks/preview.py).
    """
    name = name.strip().lower()
    name = ENVIRONMENT_ALIASES.get(name, name)
    if name.startswith(PREVIEW_PREFIX) and len(name) > len(PREVIEW_PREFIX):
        return "preview"
    return name if name in (*PROTECTED_ENVIRONMENTS, *UNPROTECTED_ENVIRONMENTS) else None


@dataclass(frozen=True)
class PlanEnvironment:
    kind: str  # production, staging, development or preview
    source: str  # where the kind came from, or why it had to be assumed
    assumed: bool = False  # True when the gate could not tell and fails closed as production
    name: str = ""  # the environment's name as found (e.g. "preview-login"); "" when none was found

    def describe(self) -> str:
        if self.assumed:
            return f"{self.kind} (assumed, failing closed: {self.source})"
        return f"{self.kind} (from {self.source})"


# Types whose `tags` label the resource itself. A firewall's or an alert's tags select other
# resources (a shared alert may name env:staging and env:production), so they say nothing here.
LABELLED_TYPES = frozenset({
    "digitalocean_droplet", "digitalocean_volume", "digitalocean_database_cluster", "digitalocean_kubernetes_cluster",
})


def _environment_evidence(plan: PlanDocument) -> list[tuple[str, str]]:
    """(environment name, where the plan says it) from the `env:<x>` tags of its managed resources
    that carry their own labels, and its `environment` variable. Data sources are left out: they
    read other environments' objects."""
    found: dict[str, str] = {}
    for rc in plan.resource_changes:
        if rc.mode != "managed" or rc.type not in LABELLED_TYPES:
            continue
        for side in ("before", "after"):
            for tag in rc.tags(side):
                if tag.lower().startswith("env:") and tag[4:].strip():
                    found.setdefault(tag[4:].strip(), f"{rc.address} tag {tag}")
    variable = plan.variables.get("environment")
    value = variable.get("value") if isinstance(variable, dict) else None
    if isinstance(value, str) and value.strip():
        found.setdefault(value.strip(), "variable environment")
    return list(found.items())


def resolve_environment(plan: PlanDocument, environment: str | None, file: str = "plan") -> PlanEnvironment:
    """The given environment, else the one the plan's `env:<x>` tags and `environment` variable agree on.

    Anything that cannot be told (none found, names that disagree, unknown names) is treated as
    production. A given environment that the plan itself contradicts is an error (PlanReadError):
    the plan is probably another environment's.
    """
    evidence = _environment_evidence(plan)

    def named(value: str, source: str) -> PlanEnvironment:
        kind = environment_kind(value)
        if kind is None:
            return PlanEnvironment("production", f"{source} names unknown environment {value!r}", True, value)
        return PlanEnvironment(kind, source, name=value)

    if environment:
        given = named(environment, "the given environment")
        # A name the gate does not know (env:shared) contradicts nothing; a known other one does.
        contradicting = [(name, source) for name, source in evidence
                         if environment_kind(name) not in (None, given.kind)]
        if contradicting and not given.assumed:
            said = "; ".join(f"{name!r} ({source})" for name, source in contradicting)
            raise PlanReadError(
                f"{file}: --env {environment}: the plan itself names another environment: {said}. "
                "Check that this is the plan of that environment."
            )
        return given
    kinds = {environment_kind(name) for name, _ in evidence}
    if len(kinds) == 1 and None not in kinds:
        name, source = evidence[0]
        return named(name, source if len(evidence) == 1 else f"{source} and {len(evidence) - 1} more")
    if len(evidence) == 1:
        return named(*evidence[0])  # an unknown name: production, assumed
    if evidence:
        listing = ", ".join(f"{name!r} ({source})" for name, source in evidence)
        return PlanEnvironment("production", f"the plan names environments that disagree: {listing}", True)
    return PlanEnvironment(
        "production", "no environment given, no env:<x> tag and no environment variable in the plan", True
    )


# --- Stateful resources -------------------------------------------------------------------------


def stateful_reason(
    rc: ResourceChange, *, stateful_roles: Sequence[str] = DEFAULT_STATEFUL_ROLES, extra_stateful: Sequence[str] = ()
) -> str | None:
    """Why destroying this resource loses data, or None when it does not."""
    for pattern in extra_stateful:
        if address_matches(rc.address, pattern):
            return f"declared stateful by pattern {pattern!r}"
    if rc.type in STATEFUL_TYPES:
        return STATEFUL_TYPES[rc.type]
    for prefix, reason in STATEFUL_TYPE_PREFIXES.items():
        if rc.type.startswith(prefix):
            return reason
    tags = rc.tags("before")  # what exists now is what a destroy loses
    if rc.type == "digitalocean_droplet":
        roles = [t for t in tags if t.lower().startswith("role:") and t.split(":", 1)[1].strip()]
        stateful = [t for t in roles if t.split(":", 1)[1].strip().lower() in stateful_roles]
        if stateful:
            return f"Droplet tagged {', '.join(stateful)}, a stateful role, keeps its data on local disk"
        if not roles:  # fail closed: a Droplet of unknown role may be a database
            known = "has no role:<x> tag" if rc.change.before is not None else "has no value before the change in the plan"
            return f"Droplet {known}, so whether it keeps data on local disk cannot be told"
    if STATEFUL_TAG in tags:
        return f"tagged {STATEFUL_TAG!r}"
    return None


def _describe_destroy(rc: ResourceChange) -> tuple[str, str]:
    """(what the plan does, Terraform's stated cause) in words for a finding message."""
    actions = rc.change.actions
    if rc.action == "replace":
        first_delete = actions.index("delete") < actions.index("create")
        what = "replace (destroy, then create)" if first_delete else "replace (create, then destroy)"
    else:
        what = rc.action
    if rc.deposed:
        what += f" deposed object {rc.deposed} of"
    causes = []
    forced_by = [".".join(str(step) for step in path) for path in rc.change.replace_paths]
    if forced_by:
        causes.append(f"forced by a change to {', '.join(forced_by)}")
    if rc.action_reason:
        causes.append(f"Terraform's reason: {rc.action_reason}")
    return what, "; ".join(causes)


def check_plan(
    plan: dict,
    *,
    environment: str | None,
    allowances: Sequence[Allowance] = (),
    file: str,
    stack: str = "",
    extra_stateful: Sequence[str] = (),
    stateful_roles: Sequence[str] = DEFAULT_STATEFUL_ROLES,
    today: date | None = None,
) -> list[Finding]:
    """Findings for the stateful resources a plan destroys.

    Staging and production (and any plan whose environment cannot be told): one failed
    HUB_PLAN_1 per destroyed stateful resource, suppressed when an unexpired allowance matches.
    Development and preview: one passed, informational HUB_PLAN_1 listing them. No stateful
    resource destroyed: one passed, informational HUB_PLAN_1 saying so (and which environment).
    Every allowance that matches no destroyed stateful resource: a failed HUB_PLAN_UNUSED_ALLOWANCE.
    """
    doc = parse_plan(plan, file)
    today = today or date.today()
    env = resolve_environment(doc, environment, file)
    stack = stack or env.name or env.kind
    in_scope = [a for a in allowances if a.applies_to(env.kind)]
    used: set[int] = set()

    destroyed: list[tuple[ResourceChange, str]] = []
    for rc in doc.resource_changes:
        if not rc.destroys:
            continue
        reason = stateful_reason(rc, stateful_roles=stateful_roles, extra_stateful=extra_stateful)
        if reason is not None:
            destroyed.append((rc, reason))

    findings: list[Finding] = []
    protected = env.kind in PROTECTED_ENVIRONMENTS
    for rc, reason in destroyed:
        matching = [i for i, a in enumerate(in_scope) if a.matches(rc.address)]
        used.update(matching)
        if not protected:
            continue
        what, cause = _describe_destroy(rc)
        finding = Finding(
            check_id=BLOCKED_CHECK_ID,
            title=BLOCKED_TITLE,
            severity=Severity.CRITICAL,
            stack=stack,
            address=rc.address,
            construct_path="",
            file=file,
            line=1,
            message=f"The plan would {what} {rc.address} in {env.describe()}. It is stateful ({reason}), so its data "
            + (f"would be lost ({cause})." if cause else "would be lost."),
            fix=(
                "Keep the resource: undo the change that forces the replacement or removal (or add "
                "lifecycle.prevent_destroy). If the destroy is intended, add an [[allow_destroy]] entry with "
                f"address = {rc.address!r}, a reason and an expires date to the allowances file."
                + (" If this is not production, give the environment explicitly." if env.assumed else "")
            ),
            extra={
                "action": rc.action,
                "actions": list(rc.change.actions),
                "action_reason": rc.action_reason,
                "stateful_reason": reason,
                "environment": env.kind,
                "environment_source": env.source,
                "environment_assumed": env.assumed,
            },
        )
        valid = [in_scope[i] for i in matching if not in_scope[i].expired(today)]
        expired = [in_scope[i] for i in matching if in_scope[i].expired(today)]
        if valid:
            a = valid[0]
            finding = finding.suppressed(f"{a.reason} (allowed until {a.expires.isoformat()} by {a.origin})")
        elif expired:
            dates = ", ".join(f"{a.address!r} at {a.origin} expired on {a.expires.isoformat()}" for a in expired)
            finding = replace(finding, message=f"{finding.message} The matching allowance does not apply: {dates}.")
        findings.append(finding)

    def summary(message: str) -> Finding:
        """The passed INFO finding that shows the check ran when nothing was blocked."""
        return Finding(
            check_id=BLOCKED_CHECK_ID,
            title=BLOCKED_TITLE,
            severity=Severity.INFO,
            stack=stack,
            address="",
            construct_path="",
            file=file,
            line=1,
            message=message,
            status=Status.PASSED,
            extra={"destroyed": [rc.address for rc, _ in destroyed], "environment": env.kind},
        )

    if not destroyed:
        findings.append(summary(
            f"The plan destroys no stateful resource ({len(doc.resource_changes)} changes checked, "
            f"environment {env.describe()})."
        ))
    elif not protected:
        listing = "; ".join(f"{rc.address} ({rc.action}: {reason})" for rc, reason in destroyed)
        findings.append(summary(f"{env.describe()} is not protected; this plan destroys stateful resources: {listing}."))

    for i, a in enumerate(in_scope):
        if i in used:
            continue
        state = f" (expired {a.expires.isoformat()})" if a.expired(today) else ""
        findings.append(
            Finding(
                check_id=UNUSED_ALLOWANCE_CHECK_ID,
                title=UNUSED_ALLOWANCE_TITLE,
                severity=Severity.MEDIUM,
                stack=stack,
                address=a.address,
                construct_path="",
                file=a.file or file,
                line=a.line,
                message=(
                    f"allow_destroy entry {a.address!r}{state} matches no stateful resource this plan destroys; "
                    "a stale allowance would let a later, unintended destroy through."
                ),
                fix="Remove the entry, or correct its address glob.",
                extra={"reason": a.reason, "expires": a.expires.isoformat()},
            )
        )
    return sorted(findings, key=Finding.sort_key)


# --- Cost of the change -------------------------------------------------------------------------


class CostChange(NamedTuple):
    address: str
    action: str  # create, delete, update, replace, or create-forget (priced as a create)
    before_usd: Decimal | None  # monthly; 0 when the object does not exist yet; None when unknown
    after_usd: Decimal | None  # monthly; 0 when the object will not exist; None when unknown
    delta: Decimal | None  # after - before; None when either side is unknown


@dataclass(frozen=True)
class UnknownPrice:
    address: str
    side: str  # "before" or "after"
    detail: str  # e.g. "Droplet size 'xl-999' is not in the price table"


@dataclass(frozen=True)
class PlanCost:
    changes: list[CostChange]
    total_delta: Decimal  # sum of the known deltas; `unknown` lists what it leaves out
    unknown: list[UnknownPrice] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unknown

    @property
    def bound(self) -> str | None:
        """What an incomplete `total_delta` is: "lower" when each change it leaves out can only add (its
        before costs 0, as a create's), "upper" when each can only save (its after costs 0, as a delete's),
        None when it is neither: an unpriced update or replace may go either way."""
        left_out = [c for c in self.changes if c.delta is None]
        if self.complete or not left_out:
            return None
        if all(c.before_usd == 0 for c in left_out):
            return "lower"
        if all(c.after_usd == 0 for c in left_out):
            return "upper"
        return None

    def to_data(self) -> dict[str, Any]:
        """The numbers for a machine-readable report: amounts as strings of exact cents (monthly USD),
        null where a price is unknown."""
        def amount(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "currency": "USD",
            "total_delta_usd": amount(self.total_delta),
            "complete": self.complete,
            "bound": self.bound,  # what an incomplete total is: "lower", "upper" or null (either way)
            "changes": [{"address": c.address, "action": c.action, "before_usd": amount(c.before_usd),
                         "after_usd": amount(c.after_usd), "delta_usd": amount(c.delta)} for c in self.changes],
            "unknown": [{"address": u.address, "side": u.side, "detail": u.detail} for u in self.unknown],
        }


PRICED_TYPES = ("digitalocean_droplet", "digitalocean_volume", "digitalocean_loadbalancer",
                "digitalocean_reserved_ip", "digitalocean_floating_ip")
COSTED_ACTIONS = ("create", "delete", "update", "replace")
CENT = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)  # as policies/cost.py rounds, so the two agree


# The attributes each priced type's price depends on: one Terraform knows only at apply leaves it unknown.
_PRICE_ATTRIBUTES = {
    "digitalocean_droplet": ("size", "backups", "backup_policy"),
    "digitalocean_volume": ("size",),
    "digitalocean_loadbalancer": ("type", "size", "size_unit"),
    "digitalocean_reserved_ip": ("droplet_id",),
    "digitalocean_floating_ip": ("droplet_id",),
}


def _monthly(rtype: str, value: dict, prices: PriceTable, unknown_after_apply: Any = None) -> tuple[Decimal | None, str]:
    """Monthly USD of one resource value, or (None, why) when it cannot be priced.

    `unknown_after_apply` is the change's `after_unknown` (attributes known only after apply).
    """
    if isinstance(unknown_after_apply, dict):
        pending = [a for a in _PRICE_ATTRIBUTES.get(rtype, ()) if unknown_after_apply.get(a) is True]
        if pending:
            return None, f"{', '.join(pending)} not known until apply"
    if rtype in ("digitalocean_reserved_ip", "digitalocean_floating_ip"):
        ip = prices.reserved_ip
        return (ip.assigned_month, "") if value.get("droplet_id") else (ip.unassigned_month, "")
    if rtype == "digitalocean_droplet":
        slug = value.get("size")
        if not isinstance(slug, str):
            return None, "Droplet size is not known until apply"
        size = prices.size(slug)
        if size is None:
            return None, f"Droplet size {slug!r} is not in the price table ({', '.join(prices.files)})"
        if value.get("backups") is not True:
            return size.price_monthly, ""
        # Backups priced as policies/cost.py prices them: a percentage of the size, weekly by default.
        policy = value.get("backup_policy")
        policy = policy[0] if isinstance(policy, list) and policy else policy  # plans keep blocks as lists
        plan = (policy.get("plan") if isinstance(policy, dict) else None) or "weekly"
        percents = {"weekly": prices.backups.weekly_percent, "daily": prices.backups.daily_percent}
        percent = percents.get(plan) if isinstance(plan, str) else None
        if percent is None:
            return None, f"backup plan {plan!r} is not in the price table"
        return size.price_monthly + _money(size.price_monthly * percent / 100), ""
    if rtype == "digitalocean_volume":
        size = value.get("size")
        if not isinstance(size, (int, float)) or isinstance(size, bool):
            return None, "volume size is not known until apply"
        if not 0 <= size <= MAX_QUANTITY:
            return None, f"volume size {size!r} is not a number of GiB from 0 to {MAX_QUANTITY:,}"
        return Decimal(str(size)) * prices.volumes.per_gib_month, ""
    lb_type = value.get("type")
    if isinstance(lb_type, str) and lb_type.upper() == "GLOBAL":
        return None, "global load balancers are not in the price table (regional only)"
    units = value.get("size_unit")
    if units is not None and (not isinstance(units, int) or isinstance(units, bool) or not 1 <= units <= MAX_QUANTITY):
        return None, f"load balancer size_unit {units!r} is not a number of nodes from 1 to {MAX_QUANTITY:,}"
    if units is None:
        legacy = value.get("size")
        if isinstance(legacy, str) and legacy:
            units = prices.load_balancer.legacy_size_units.get(legacy)
            if units is None:
                return None, f"load balancer size {legacy!r} is not in the price table"
        else:
            units = prices.load_balancer.default_size_units  # unset: DigitalOcean's default node count
    return units * prices.load_balancer.per_size_unit_month, ""


def plan_cost_change(plan: dict, prices: PriceTable | None = None, *, file: str = "plan") -> PlanCost:
    """Monthly cost before and after each Droplet, volume, load balancer and reserved IP the plan changes.

    `prices` defaults to the table in effect (`policies.pricing`, with `$HUB_PRICE_TABLE` merged).
    What cannot be priced (a size not in the table, a value known only after apply, a type that is
    neither priced here nor listed as free) is listed in `unknown` and left out of `total_delta`,
    never counted as zero.
    """
    prices = prices or current_price_table()
    doc = parse_plan(plan, file)
    changes: list[CostChange] = []
    unknown: list[UnknownPrice] = []
    for rc in doc.resource_changes:
        action = rc.action
        if "create" in rc.change.actions and "forget" in rc.change.actions:
            # ["create","forget"] (either order): a replace whose old object is only forgotten (destroy = false).
            # The old one stays billed, outside Terraform; the new one is billed on top: a create.
            action = "create"
        # Other actions (no-op, read, forget) leave what is billed unchanged.
        if rc.mode != "managed" or action not in COSTED_ACTIONS or rc.type in prices.free_resources:
            continue
        if rc.type not in PRICED_TYPES:
            # Never a silent zero: Spaces and uptime checks are billed per account, the rest is not in the table.
            unknown.append(UnknownPrice(rc.address, "after" if action == "create" else "before",
                                        f"{rc.type} changes are not priced in a plan"))
            zero = Decimal("0.00")  # a side where the object does not exist costs nothing, known or not
            changes.append(CostChange(rc.address, rc.action, zero if action == "create" else None,
                                      zero if action == "delete" else None, None))
            continue
        sides: dict[str, Decimal | None] = {}
        for side, value, exists in (
            ("before", rc.change.before, action != "create"),
            ("after", rc.change.after, action != "delete"),
        ):
            if not exists:
                sides[side] = Decimal("0.00")
                continue
            pending = rc.change.model_extra.get("after_unknown") if side == "after" and rc.change.model_extra else None
            price, why = _monthly(rc.type, value if isinstance(value, dict) else {}, prices, pending)
            if price is None:
                unknown.append(UnknownPrice(rc.address, side, why))
            sides[side] = None if price is None else _money(price)
        before, after = sides["before"], sides["after"]
        delta = None if before is None or after is None else after - before
        changes.append(CostChange(rc.address, rc.action, before, after, delta))
    total = sum((c.delta for c in changes if c.delta is not None), Decimal("0.00"))
    return PlanCost(changes=changes, total_delta=total, unknown=unknown)
