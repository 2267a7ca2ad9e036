"""Pull-request comment: the verdict, a summary table with one row per stack, then the failed findings.

Suppressed findings follow in a collapsed section, so reviewers see what was waved through and why.
GitHub rejects comments longer than MAX_CHARS, so the findings tables stop after MAX_ROWS rows, or
earlier when the next row would take the comment past that limit; a note says how many were left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from policies.findings import Finding, Status
from policies.reports import GateResult, stack_label, visible

MAX_ROWS = 150
MAX_CHARS = 65_536
# Left free of table rows for the text around them: headings, table headers, "more" notes, <details>.
_FRAME_CHARS = 2_000


def render(result: GateResult) -> str:
    verdict = "✅ passed" if result.passed() else "❌ failed"
    lines = [f"## Policy gate {verdict}", ""]
    lines += _summary_table(result)
    if result.errors:
        lines += ["", "### Errors (unusable input)", ""]
        lines += [f"- {escape(error)}" for error in result.errors]
    cost = ["", result.cost_markdown.rstrip("\n")] if result.cost_markdown else []
    room = MAX_CHARS - _FRAME_CHARS - _length(lines) - _length(cost)  # for the rows of both findings tables
    failed = [f for f in result.ordered_findings() if f.status is Status.FAILED]
    if failed:
        lines += ["", f"### Failed findings ({len(failed)})", ""]
        table, room = _findings_table(failed, ("Fix", lambda f: f.fix), room)
        lines += table
    suppressed = [f for f in result.ordered_findings() if f.status is Status.SUPPRESSED]
    if suppressed:
        lines += ["", f"<details><summary>Suppressed findings ({len(suppressed)})</summary>", ""]
        table, room = _findings_table(suppressed, ("Reason", lambda f: f.suppression_reason), room)
        lines += table
        lines += ["", "</details>"]
    return "\n".join(lines + cost) + "\n"


def escape(text: str) -> str:
    """Make text safe inside a GFM table cell: pipes end cells, line breaks end rows, '<' opens HTML."""
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    # splitlines() knows every line ending CommonMark does ("\n", "\r\n", a lone "\r"), and Unicode's;
    # other control characters (ESC...) are shown as escapes, as in the text report, since this report is
    # also printed in CI logs, where a name from a file must not drive the terminal.
    return "<br>".join(visible(line) for line in text.splitlines())


def code(text: str) -> str:
    """Inline code for identifiers, fenced by one backtick more than the longest run inside (CommonMark)."""
    if not text:
        return ""
    # GFM splits cells on pipes even inside code spans; a code span shows a line ending as a space anyway.
    text = " ".join(visible(line) for line in text.replace("|", "\\|").splitlines())
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if "`" in text else f"{fence}{text}{fence}"


def _summary_table(result: GateResult) -> list[str]:
    rows = ["| Stack | Result | Failed | Suppressed | Passed |", "| --- | --- | ---: | ---: | ---: |"]
    for stack in result.stack_names():
        counts = result.counts(stack)
        verdict = "✅ PASS" if result.stack_passed(stack) else "❌ FAIL"
        rows.append(
            f"| {escape(stack_label(stack))} | {verdict} | {counts[Status.FAILED]} | "
            f"{counts[Status.SUPPRESSED]} | {counts[Status.PASSED]} |"
        )
    return rows


def _findings_table(
    findings: list[Finding], last_column: tuple[str, Callable[[Finding], str]], room: int
) -> tuple[list[str], int]:
    """The table's lines, with as many rows as MAX_ROWS and `room` characters allow, and the room left."""
    header, value_of = last_column
    rows = [
        f"| Severity | Stack | Check | Resource | Location | Message | {header} |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    shown = 0
    for finding in findings[:MAX_ROWS]:
        resource = code(finding.address) or escape(finding.construct_path) or "(stack-wide)"
        if finding.address and finding.construct_path:
            resource += f"<br>{escape(finding.construct_path)}"
        location = code(f"{finding.file}:{finding.line}") if finding.file else ""
        row = (
            f"| {finding.severity.value.upper()} | {escape(stack_label(finding.stack))} | {code(finding.check_id)} | "
            f"{resource} | {location} | {escape(finding.message)} | {escape(value_of(finding))} |"
        )
        if len(row) + 1 > room:  # once one row does not fit, later ones are left out too: rows stay in order
            break
        rows.append(row)
        room -= len(row) + 1
        shown += 1
    if shown < len(findings):
        rows += ["", f"… and {len(findings) - shown} more; see the full report."]
    return rows, room


def _length(lines: list[str]) -> int:
    """Characters that `lines` take in the comment, a newline after each."""
    return sum(len(line) + 1 for line in lines)
