"""Suppressions: reviewed, dated exceptions to policy findings, all in one checked-in file.

The file is `suppressions.toml` at the repository top level (the working directory the gate runs in).
Each exception is one `[[suppression]]` table; every key is required and no other key is allowed:

    [[suppression]]
    check = "CKV_DIO_4"                      # the exact check id (ours or Checkov's)
    target = "production/firewalls/admin*"   # what it applies to, see below
    reason = "Admin firewall is reached only through the bastion; ticket OPS-142"
    expires = 2026-06-30                     # a TOML date (or "2026-06-30"); valid through that day

`target` is `[STACK:]PATTERN`:
- PATTERN is a glob (case-sensitive; `*` also crosses `/` and `.`) matched against both the
  finding's construct path (`production/firewalls/app`) and its Terraform address
  (`digitalocean_droplet.production_db_0`). A finding is covered when either matches. Only `*` and `?`
  are wildcards: `[` is literal, so a construct path with an index such as `pool[0]` (construct ids
  may hold brackets) is written as the report shows it, as in the plan gate's allowances.
- The optional `STACK:` prefix (a glob over stack names, e.g. `staging:` or `pr-*:`) limits the
  suppression to those stacks. Stack names, construct paths and Terraform addresses never contain ':',
  so the first ':' always ends the prefix. A pattern of just `*` (e.g. `staging:*`) also covers the
  stack-wide findings, which have no address.

Only failed findings are suppressed; they become SUPPRESSED and carry the reason. Checkov's findings
and ours are treated alike. The suppressions file itself is policed, and each problem is a FAILED
finding that fails the gate and cannot be suppressed:
- HUB_SUPPRESSION_UNKNOWN_CHECK: the check id is not one the gate knows (usually a typo).
- HUB_SUPPRESSION_EXPIRED: past its `expires` date, it no longer suppresses anything.
- HUB_SUPPRESSION_UNUSED: it covers no failed finding, so the problem is gone or the target is wrong.
  An entry is meant for the stacks its scope matches: the `STACK:` prefix, else the first segment of
  a construct-path target (construct paths begin with the stack name), else every stack. It is
  judged unused only when every stack it is meant for was evaluated, so gating one stack (`--env`)
  never fails on an entry another stack uses; an entry meant for no stack at all (a misspelt stack
  name) is unused too, unless its scope may name preview stacks (`preview-*`), which come and go.
  Expiry is reported unless the entry is meant only for stacks this run did not evaluate.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from policies.findings import Finding, Severity, Status
from policies.input_files import NESTED_TOO_DEEPLY, display_path, read_text

DEFAULT_SUPPRESSIONS_PATH = Path("suppressions.toml")

# Preview stacks (stacks/preview.py) exist only while their branch does, so an entry meant for them
# may match no stack of a run.
PREVIEW_PREFIX = "preview-"

UNKNOWN_CHECK = "HUB_SUPPRESSION_UNKNOWN_CHECK"
UNUSED = "HUB_SUPPRESSION_UNUSED"
EXPIRED = "HUB_SUPPRESSION_EXPIRED"
# id -> (title, severity, fix), so the gate can list these checks with the others.
PROBLEM_CHECKS: dict[str, tuple[str, Severity, str]] = {
    UNKNOWN_CHECK: (
        "Suppression names an unknown check",
        Severity.MEDIUM,
        "Correct the check id, or remove the entry.",
    ),
    UNUSED: (
        "Suppression covers no failed finding",
        Severity.LOW,
        "Remove the entry if the finding is fixed, or correct its target.",
    ),
    EXPIRED: (
        "Suppression has expired",
        Severity.MEDIUM,
        "Fix the finding, or review the exception and renew it with a new date and a current reason.",
    ),
}

MIN_REASON_WORDS = 3


def explains(reason: str) -> bool:
    """Whether a reason has at least MIN_REASON_WORDS words (". . ." has none)."""
    return sum(1 for word in reason.split() if any(c.isalnum() for c in word)) >= MIN_REASON_WORDS


_CHECK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_STACK_PREFIX = re.compile(r"^(?P<stack>[^:/.]*):(?P<pattern>.*)$")


class SuppressionError(ValueError):
    """The suppressions file cannot be used. The message names the file, the entry, the field and the problem."""


class SuppressionEntry(BaseModel):
    """One `[[suppression]]` table exactly as the file may write it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    check: str
    target: str
    reason: str
    expires: date

    @field_validator("check")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _CHECK_ID.match(value):
            raise ValueError("must be a check id such as CKV_DIO_4 or HUB_FW_001")
        if value in PROBLEM_CHECKS:
            raise ValueError("problems with the suppressions file itself cannot be suppressed")
        return value

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        stack, pattern = split_target(value)
        if not pattern:
            raise ValueError("needs a construct path or Terraform address pattern (after any 'stack:' prefix)")
        if stack == "":
            raise ValueError("has an empty stack name before ':'")
        return value

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if not explains(value):
            raise ValueError(f"must explain the exception in at least {MIN_REASON_WORDS} words")
        return value

    @field_validator("expires", mode="before")
    @classmethod
    def _expires(cls, value: Any) -> date:
        return expiry_date(value)


class _SuppressionFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suppression: list[SuppressionEntry] = []


def expiry_date(value: Any) -> date:
    """An `expires` value: a TOML date or an ISO date string. Stricter than pydantic's date parsing,
    which would also take a number as a Unix timestamp. Shared with the plan gate's allowances."""
    if isinstance(value, datetime):
        raise ValueError("must be a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"is not a real date: {exc}") from None
    raise ValueError(f"must be an ISO date such as 2026-06-30, got {value!r}")


def table_header_lines(text: str, name: str) -> list[int]:
    """The 1-based line of each `[[name]]` header (the name may be quoted, as TOML allows), in order.

    tomllib reports no positions, so entry lines are found by their table headers (hand-written for
    that). Only "\n" ends a TOML line (splitlines() would also split at a U+2028 inside a string).
    Shared with the plan gate's `[[allow_destroy]]` entries.
    """
    return [text.count("\n", 0, m.start()) + 1 for m in _table_header(name).finditer(text)]


@lru_cache(maxsize=8)
def _table_header(name: str) -> re.Pattern[str]:
    quoted = re.escape(name)
    return re.compile(rf"""^[ \t]*\[\[[ \t]*({quoted}|"{quoted}"|'{quoted}')[ \t]*\]\]""", re.M)


def glob_matches(name: str, pattern: str) -> bool:
    """Case-sensitive glob match where only `*` and `?` are wildcards (fnmatch would read `[0]` as a
    character class, so a target copied from a report, `app/pool[0]/droplet`, would miss its own finding)."""
    return fnmatch.fnmatchcase(name, pattern.replace("[", "[[]"))


def split_target(target: str) -> tuple[str | None, str]:
    """`staging:digitalocean_droplet.*` -> ("staging", "digitalocean_droplet.*"); no prefix -> (None, target)."""
    match = _STACK_PREFIX.match(target)
    return (match["stack"], match["pattern"]) if match else (None, target)


@dataclass(frozen=True)
class Suppression:
    """A validated entry and where it stands in the file (for messages that point at it)."""

    entry: SuppressionEntry
    index: int  # 1-based position among the file's entries
    line: int  # 1-based line of its [[suppression]] header; 1 when unknown
    file: str  # the file as shown in reports

    @property
    def check(self) -> str:
        return self.entry.check

    @property
    def target(self) -> str:
        return self.entry.target

    @property
    def reason(self) -> str:
        return self.entry.reason

    @property
    def expires(self) -> date:
        return self.entry.expires

    @property
    def stack_pattern(self) -> str | None:
        return split_target(self.target)[0]

    @property
    def pattern(self) -> str:
        return split_target(self.target)[1]

    def describe(self) -> str:
        return f"{self.file} entry {self.index} ({self.check} on {self.target!r})"

    def expired(self, today: date) -> bool:
        return today > self.expires

    def covers_stack(self, stack: str) -> bool:
        return self.stack_pattern is None or glob_matches(stack, self.stack_pattern)

    def matches(self, finding: Finding) -> bool:
        if finding.check_id != self.check or not self.covers_stack(finding.stack):
            return False
        if not finding.address and not finding.construct_path:  # stack-wide finding
            return self.pattern == "*"
        return any(
            glob_matches(candidate, self.pattern)
            for candidate in (finding.construct_path, finding.address)
            if candidate
        )

    @property
    def stack_scope(self) -> str:
        """A glob over the stack names the entry is meant for (see the module docstring)."""
        if self.stack_pattern is not None:
            return self.stack_pattern
        if "/" in self.pattern:
            return self.pattern.split("/", 1)[0]
        return "*"

    def meant_for(self, stacks: Iterable[str]) -> set[str]:
        return {stack for stack in stacks if glob_matches(stack, self.stack_scope)}

    @property
    def for_previews(self) -> bool:
        """Whether the entry may be meant for preview stacks, which come and go with branches."""
        return self.stack_scope.startswith(PREVIEW_PREFIX) or glob_matches(PREVIEW_PREFIX + "x", self.stack_scope)


def load_suppressions(path: Path | None = None) -> list[Suppression]:
    """Load and validate the suppressions file.

    With no path, the default `suppressions.toml` is read and may be absent (no suppressions).
    A path given explicitly must exist. Raises SuppressionError on any problem.
    """
    explicit = path is not None
    path = Path(path) if explicit else DEFAULT_SUPPRESSIONS_PATH
    shown = display_path(path)
    if not path.exists():
        if explicit:
            raise SuppressionError(f"{shown}: suppressions file not found")
        return []
    text = read_text(path, SuppressionError, shown)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message ends with "(at line N, column M)"
        raise SuppressionError(f"{shown}: not valid TOML: {exc}") from None
    except RecursionError:
        raise SuppressionError(f"{shown}: {NESTED_TOO_DEEPLY}") from None
    try:
        parsed = _SuppressionFile.model_validate(data)
    except ValidationError as exc:
        raise SuppressionError(_describe_errors(shown, data, exc)) from None

    lines = table_header_lines(text, "suppression")
    if len(lines) != len(parsed.suppression):  # e.g. written as an inline array: positions unknown
        lines = [1] * len(parsed.suppression)
    suppressions = [
        Suppression(entry=entry, index=index, line=line, file=shown)
        for index, (entry, line) in enumerate(zip(parsed.suppression, lines), start=1)
    ]
    _reject_duplicates(shown, suppressions)
    return suppressions


def apply_suppressions(
    findings: Iterable[Finding],
    suppressions: list[Suppression],
    known_check_ids: set[str],
    today: date,
    *,
    stacks: Collection[str] | None = None,
    loaded: Collection[str] | None = None,
    all_checks_ran: bool = True,
) -> tuple[list[Finding], list[Finding]]:
    """Suppress the failed findings that a current suppression covers.

    Returns (the findings in their original order, covered failed ones now SUPPRESSED with the reason;
    the problem findings about the suppressions themselves). `stacks` names the stacks this run
    evaluated (by default, the stacks the findings name); `loaded`, every stack of the outputs the
    run read, some perhaps not evaluated (`--env`), or None when only some stacks of an output were
    read (a stack file). A check id that some finding carries counts as known even when
    `known_check_ids` lacks it.

    An entry is judged unused only when every stack it is meant for was evaluated, so gating one stack
    never fails on an entry another stack uses; an entry meant for no stack of the outputs read (a
    misspelt stack name) is unused too, unless it may be meant for preview stacks. With only some
    stacks read, entries meant for every stack are not judged, nor entries meant for none of them.
    An expired entry is reported unless it is meant only for stacks not evaluated.

    `all_checks_ran` is False when part of the gate could not run (Checkov, which also runs our own
    per-resource checks): `known_check_ids` then lacks those checks' ids and they produced no findings,
    so an entry naming a check outside it is judged neither unknown nor unused, only by its expiry.
    """
    findings = list(findings)
    evaluated = set(stacks) if stacks is not None else {f.stack for f in findings}
    every = set(loaded) | evaluated if loaded is not None else evaluated
    # Only when every stack of the output was read can an entry meant for none of them be a typo.
    knows_every_stack = loaded is not None
    known = set(known_check_ids) | {f.check_id for f in findings}
    problems: list[Finding] = []
    active: list[Suppression] = []
    for suppression in suppressions:
        if suppression.check not in known and all_checks_ran:
            message = f"{suppression.describe()} names check {suppression.check!r}, which the gate does not know."
            problems.append(_problem(UNKNOWN_CHECK, suppression, message))
        elif suppression.expired(today):
            meant_for = suppression.meant_for(every)
            if meant_for & evaluated or (not meant_for and knows_every_stack):
                message = (
                    f"{suppression.describe()} expired on {suppression.expires.isoformat()} "
                    "and no longer suppresses anything."
                )
                problems.append(_problem(EXPIRED, suppression, message))
        else:
            active.append(suppression)

    used: set[int] = set()
    result: list[Finding] = []
    for finding in findings:
        if finding.status is Status.FAILED:
            covering = [s for s in active if s.matches(finding)]
            used.update(s.index for s in covering)
            if covering:
                finding = _suppressed(finding, covering[0])
        result.append(finding)

    for suppression in active:
        # an entry of a check not known here is active only when that check may not have run: unjudged
        if suppression.index in used or suppression.check not in known:
            continue
        meant_for = suppression.meant_for(every)
        if meant_for and meant_for <= evaluated and (knows_every_stack or suppression.stack_scope != "*"):
            message = f"{suppression.describe()} covers no failed finding of check {suppression.check} in this run."
        elif not meant_for and knows_every_stack and not suppression.for_previews:
            message = (f"{suppression.describe()} is meant for stacks matching {suppression.stack_scope!r}, and no "
                       f"stack of this run matches (stacks: {', '.join(sorted(every)) or 'none'}).")
        else:
            continue
        problems.append(_problem(UNUSED, suppression, message))
    return result, problems


def _suppressed(finding: Finding, suppression: Suppression) -> Finding:
    by = {"file": suppression.file, "entry": suppression.index, "expires": suppression.expires.isoformat()}
    return replace(
        finding,
        status=Status.SUPPRESSED,
        suppression_reason=suppression.reason,
        extra={**finding.extra, "suppressed_by": by},
    )


def _problem(check_id: str, suppression: Suppression, message: str) -> Finding:
    title, severity, fix = PROBLEM_CHECKS[check_id]
    return Finding(
        check_id=check_id,
        title=title,
        severity=severity,
        stack="",  # about the suppressions file, not about one stack
        address="",
        construct_path="",
        file=suppression.file,
        line=suppression.line,
        message=message,
        fix=fix,
        extra={"entry": suppression.index, "suppressed_check": suppression.check, "target": suppression.target},
    )


def _describe_errors(shown: str, data: dict[str, Any], error: ValidationError) -> str:
    raw_entries = data.get("suppression")
    problems = []
    for item in error.errors():
        location = item["loc"]
        in_entry = len(location) >= 2 and location[0] == "suppression" and isinstance(location[1], int)
        if in_entry:
            index = location[1]
            raw = raw_entries[index] if isinstance(raw_entries, list) and index < len(raw_entries) else None
            check = raw.get("check") if isinstance(raw, dict) else None
            where = f"entry {index + 1}" + (f" (check {check})" if isinstance(check, str) and check else "")
            field = ".".join(str(part) for part in location[2:])
        else:
            where = "top level"
            field = ".".join(str(part) for part in location)
        allowed = SuppressionEntry.model_fields if in_entry else _SuppressionFile.model_fields
        problems.append(f"{shown}: {where}: {_field_problem(field, item, allowed)}")
    return "\n".join(problems)


def _field_problem(field: str, item: dict[str, Any], allowed: Iterable[str]) -> str:
    message = item["msg"].removeprefix("Value error, ")
    if not field:  # the entry itself is wrong, e.g. not a table
        return message
    if item["type"] == "missing":
        return f"field '{field}' is required"
    if item["type"] == "extra_forbidden":
        return f"unknown key '{field}' (allowed keys: {', '.join(allowed)})"
    if item["type"] == "value_error":
        return f"field '{field}' {message}"
    return f"field '{field}': {message}"


def _reject_duplicates(shown: str, suppressions: list[Suppression]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for suppression in suppressions:
        key = (suppression.check, suppression.target)
        if key in seen:
            raise SuppressionError(
                f"{shown}: entry {suppression.index} (check {suppression.check}): repeats entry {seen[key]} "
                f"(same check and target); keep one"
            )
        seen[key] = suppression.index


