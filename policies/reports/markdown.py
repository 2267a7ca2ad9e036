"""Pull-request comment: the verdict, a summary table with one row per stack, then the failed findings.

Suppressed findings follow in a collapsed section, so reviewers see what was waved through and why.
Tables stop after MAX_ROWS rows because GitHub rejects comments longer than 65,536 characters.
"""

from __future__ import annotations

from collections.abc import Callable

from policies.findings import Finding, Status
from policies.reports import GateResult, stack_label

MAX_ROWS = 150


def render(result: GateResult) -> str:
    verdict = "✅ passed" if result.passed() else "❌ failed"
    lines = [f"## Policy gate {verdict}", ""]
    lines += _summary_table(result)
    if result.errors:
        lines += ["", "### Errors (unusable input)", ""]
        lines += [f"- {escape(error)}" for error in result.errors]
    failed = [f for f in result.ordered_findings() if f.status is Status.FAILED]
    if failed:
        lines += ["", f"### Failed findings ({len(failed)})", ""]
        lines += _findings_table(failed, last_column=("Fix", lambda f: f.fix))
    suppressed = [f for f in result.ordered_findings() if f.status is Status.SUPPRESSED]
    if suppressed:
        lines += ["", f"<details><summary>Suppressed findings ({len(suppressed)})</summary>", ""]
        lines += _findings_table(suppressed, last_column=("Reason", lambda f: f.suppression_reason))
        lines += ["", "</details>"]
    if result.cost_markdown:
        lines += ["", result.cost_markdown.rstrip("\n")]
    return "\n".join(lines) + "\n"


def escape(text: str) -> str:
    """Make text safe inside a GFM table cell: pipes end cells, newlines end rows, '<' opens HTML."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace("\r\n", "<br>")
        .replace("\n", "<br>")
    )


def code(text: str) -> str:
    """Inline code for identifiers; a backtick inside needs a double-backtick fence (CommonMark)."""
    if not text:
        return ""
    text = text.replace("|", "\\|")  # GFM splits cells on pipes even inside code spans
    return f"`` {text} ``" if "`" in text else f"`{text}`"


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


def _findings_table(findings: list[Finding], last_column: tuple[str, Callable[[Finding], str]]) -> list[str]:
    header, value_of = last_column
    rows = [
        f"| Severity | Stack | Check | Resource | Location | Message | {header} |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for finding in findings[:MAX_ROWS]:
        resource = code(finding.address) or escape(finding.construct_path) or "(stack-wide)"
        if finding.address and finding.construct_path:
            resource += f"<br>{escape(finding.construct_path)}"
        location = code(f"{finding.file}:{finding.line}") if finding.file else ""
        rows.append(
            f"| {finding.severity.value.upper()} | {escape(stack_label(finding.stack))} | {code(finding.check_id)} | "
            f"{resource} | {location} | {escape(finding.message)} | {escape(value_of(finding))} |"
        )
    if len(findings) > MAX_ROWS:
        rows += ["", f"… and {len(findings) - MAX_ROWS} more; see the full report."]
    return rows
