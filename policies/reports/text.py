"""Human-readable report: one table of findings per stack, then a PASS/FAIL line per stack.

Rendered with rich into a string, so the command line can print it or write it to a file.
Passed findings are left out unless asked for: Checkov alone passes hundreds of checks per stack.
Every text from the input (stack and resource names, messages) is shown as rich Text, never read as markup,
and with its control characters escaped, so a hand-written file cannot move the cursor or erase lines in a log.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from policies.findings import Finding, Severity, Status
from policies.reports import GateResult, stack_label, visible

DEFAULT_WIDTH = 160

_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_STATUS_LABEL = {Status.FAILED: "FAIL", Status.SUPPRESSED: "SUPPRESSED", Status.PASSED: "PASS"}
_STATUS_STYLE = {Status.FAILED: "bold red", Status.SUPPRESSED: "yellow", Status.PASSED: "green"}


def render(result: GateResult, *, color: bool = False, show_passed: bool = False, width: int = DEFAULT_WIDTH) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        no_color=not color,
        legacy_windows=False,
        highlight=False,
        emoji=False,
    )
    for stack in result.stack_names():
        shown = [f for f in result.findings_for(stack) if show_passed or f.status is not Status.PASSED]
        if shown:
            console.print(_findings_table(stack, shown))
    for error in result.errors:
        console.print(Text.assemble(("ERROR ", "bold red"), visible(error)))
    for stack in result.stack_names():
        console.print(_stack_summary(result, stack))
    console.print(_gate_summary(result))
    if result.cost_text:
        console.print()
        console.print(Text("\n".join(visible(line) for line in result.cost_text.split("\n"))))
    return buffer.getvalue()


def _findings_table(stack: str, findings: list[Finding]) -> Table:
    title = Text(f"Stack {visible(stack_label(stack))}")  # Text, not str: "prod[red]" is a name, not markup
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    for column in ("Status", "Severity", "Check"):
        table.add_column(column, no_wrap=True)
    for column in ("Address", "Construct path", "Location", "Message", "Fix"):
        table.add_column(column, overflow="fold")  # break a long word anywhere rather than hide part of it
    for finding in findings:
        message = finding.message
        if finding.status is Status.SUPPRESSED:
            message = f"{message} (suppressed: {finding.suppression_reason})"
        # Text(), not str: finding text must never be read as rich markup ("[...]" is common in Terraform).
        table.add_row(
            Text(_STATUS_LABEL[finding.status], style=_STATUS_STYLE[finding.status]),
            Text(finding.severity.value.upper(), style=_SEVERITY_STYLE[finding.severity]),
            Text(visible(finding.check_id)),
            Text(visible(finding.address) or "-"),
            Text(visible(finding.construct_path) or "-"),
            Text(visible(f"{finding.file}:{finding.line}") if finding.file else "-"),
            Text(visible(message)),
            Text(visible(finding.fix) or "-"),
        )
    return table


def _stack_summary(result: GateResult, stack: str) -> Text:
    counts = result.counts(stack)
    passed = result.stack_passed(stack)
    return Text.assemble(
        ("PASS" if passed else "FAIL", "bold green" if passed else "bold red"),
        f" {visible(stack_label(stack))}: {counts[Status.FAILED]} failed, "
        f"{counts[Status.SUPPRESSED]} suppressed, {counts[Status.PASSED]} passed",
    )


def _gate_summary(result: GateResult) -> Text:
    counts = result.counts()
    passed = result.passed()
    return Text.assemble(
        ("Gate PASSED" if passed else "Gate FAILED", "bold green" if passed else "bold red"),
        f": {result.stack_count()} stack(s), {counts[Status.FAILED]} failed, "
        f"{counts[Status.SUPPRESSED]} suppressed, {counts[Status.PASSED]} passed, {len(result.errors)} error(s)",
    )
