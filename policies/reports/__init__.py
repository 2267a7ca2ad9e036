"""Report formats for the policy gate's result.

Every format module exposes `render(result: GateResult) -> str`; `render(result, fmt)` picks one by name.
The text format alone takes presentation options (colour, passed findings), because only people read it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from policies.findings import Finding, Severity, Status

FORMATS: tuple[str, ...] = ("text", "json", "sarif", "junit", "markdown")

TOOL_NAME = "community-hub-policy-gate"

# Findings about the gate's own input (e.g. the suppressions file) carry no stack; reports group them here.
STACKLESS_LABEL = "(all stacks)"

_STATUS_ORDER = {Status.FAILED: 0, Status.SUPPRESSED: 1, Status.PASSED: 2}
_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(Severity)}  # Severity lists critical first


# C0 (ESC starts terminal escape sequences; line breaks could forge a report line), DEL and C1 (0x9b is CSI);
# not tab, which rich expands.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """`text` with each control character shown as its Python escape, e.g. ESC as "\\x1b" (here, not in the
    text format's module, so the markdown report can use it without loading rich)."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def stack_label(stack: str) -> str:
    return stack or STACKLESS_LABEL


def report_order(finding: Finding) -> tuple:
    """Failed first, then suppressed, then passed; the worst severity first within each."""
    return (_STATUS_ORDER[finding.status], _SEVERITY_ORDER[finding.severity], finding.sort_key())


@dataclass
class GateResult:
    """Everything a report shows: the findings of one gate run over one or more stacks."""

    findings: list[Finding]
    stacks: list[str]  # stacks the gate evaluated, in the order given
    errors: list[str] = field(default_factory=list)  # unusable-input messages; any error fails the gate
    cost_markdown: str | None = None  # optional extra section for the markdown report
    cost_text: str | None = None  # optional extra section for the text report
    cost_data: dict | None = None  # optional numbers behind those sections, for the JSON report

    def passed(self) -> bool:
        return not self.errors and not any(f.failed for f in self.findings)

    def stack_names(self) -> list[str]:
        """The evaluated stacks, then any other stack a finding names (stackless findings last)."""
        names = list(dict.fromkeys(self.stacks))
        others = {f.stack for f in self.findings} - set(names)
        return names + sorted(others - {""}) + ([""] if "" in others else [])

    def findings_for(self, stack: str) -> list[Finding]:
        return sorted((f for f in self.findings if f.stack == stack), key=report_order)

    def ordered_findings(self) -> list[Finding]:
        """All findings grouped by stack (in `stack_names` order), each group in report order."""
        return [f for stack in self.stack_names() for f in self.findings_for(stack)]

    def counts(self, stack: str | None = None) -> Counter[Status]:
        """Findings per status, for one stack or (with None) for the whole run; absent statuses count 0."""
        return Counter(f.status for f in self.findings if stack is None or f.stack == stack)

    def stack_passed(self, stack: str) -> bool:
        """No failed finding, and nothing kept the gate from judging (an error leaves every stack unproven)."""
        return not self.errors and self.counts(stack)[Status.FAILED] == 0

    def stack_count(self) -> int:
        """Stacks the run judged or a finding names; the group of stackless findings is not one."""
        return len([name for name in self.stack_names() if name])


def render(result: GateResult, fmt: str, *, color: bool = False, show_passed: bool = False) -> str:
    """Render `result` in format `fmt` (one of FORMATS). `color` and `show_passed` affect the text format only."""
    # Imported here so that the format modules can import GateResult from this package without a cycle,
    # and so that a run pays only for the format it prints.
    if fmt == "text":
        from policies.reports import text

        return text.render(result, color=color, show_passed=show_passed)
    if fmt == "json":
        from policies.reports import json_report

        return json_report.render(result)
    if fmt == "sarif":
        from policies.reports import sarif

        return sarif.render(result)
    if fmt == "junit":
        from policies.reports import junit

        return junit.render(result)
    if fmt == "markdown":
        from policies.reports import markdown

        return markdown.render(result)
    raise ValueError(f"unknown report format {fmt!r}; choose one of: {', '.join(FORMATS)}")
