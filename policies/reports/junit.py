"""JUnit XML report, for CI systems that show test results.

One testsuite per stack, one testcase per (check, address); a finding without an address (a stack-wide
verdict, or one about an entry of the suppressions file) is a testcase of its own, named by its file and
line, so none hides another. A testcase fails when any of its findings failed, is skipped when all of its
non-passing findings are suppressed, and passes otherwise. Unusable-input errors go into an extra testsuite
"gate errors" as testcases with an <error> element. Every name and text is cleaned of what XML 1.0 cannot
carry, since stack and resource names come from files anyone can write.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from policies.findings import Finding, Status
from policies.reports import TOOL_NAME, GateResult, stack_label

ERRORS_SUITE = "gate errors"

# XML 1.0 cannot carry most control characters nor lone surrogates at all, and ElementTree does not remove them.
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render(result: GateResult) -> str:
    root = ET.Element("testsuites", name=TOOL_NAME)
    totals = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
    for stack in result.stack_names():
        suite = _stack_suite(stack, result.findings_for(stack))
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    if result.errors:
        suite = _errors_suite(result.errors)
        root.append(suite)
        totals["tests"] += len(result.errors)
        totals["errors"] += len(result.errors)
    for key, value in totals.items():
        root.set(key, str(value))
    _clean_tree(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _stack_suite(stack: str, findings: list[Finding]) -> ET.Element:
    cases: dict[tuple[str, str | int], list[Finding]] = {}
    for position, finding in enumerate(findings):  # already in report order, so failing cases come first
        cases.setdefault((finding.check_id, finding.address or position), []).append(finding)
    suite = ET.Element("testsuite", name=stack_label(stack))
    failures = skipped = 0
    for case_findings in cases.values():
        case = _testcase(stack, case_findings)
        suite.append(case)
        failures += case.find("failure") is not None
        skipped += case.find("skipped") is not None
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("errors", "0")
    return suite


def _testcase(stack: str, findings: list[Finding]) -> ET.Element:
    first = findings[0]
    case = ET.Element(
        "testcase",
        classname=stack_label(stack),
        name=f"{first.check_id} {first.address or _place(first)}",
        file=first.file,
        line=str(first.line),
    )
    failed = [f for f in findings if f.status is Status.FAILED]
    suppressed = [f for f in findings if f.status is Status.SUPPRESSED]
    if failed:
        element = ET.SubElement(
            case, "failure", message=failed[0].message, type=failed[0].severity.value.upper()
        )
        element.text = "\n\n".join(_describe(f) for f in failed)
    elif suppressed:
        reasons = dict.fromkeys(f.suppression_reason for f in suppressed)  # unique, in order
        ET.SubElement(case, "skipped", message="suppressed: " + "; ".join(reasons))
    return case


def _errors_suite(errors: list[str]) -> ET.Element:
    suite = ET.Element(
        "testsuite", name=ERRORS_SUITE, tests=str(len(errors)), failures="0", skipped="0", errors=str(len(errors))
    )
    for number, error in enumerate(errors, start=1):
        case = ET.SubElement(suite, "testcase", classname=ERRORS_SUITE, name=f"input error {number}")
        ET.SubElement(case, "error", message=error, type="UnusableInput")
    return suite


def _describe(finding: Finding) -> str:
    lines = [
        f"[{finding.severity.value.upper()}] {finding.title}",
        f"{finding.message}",
        f"at {finding.file}:{finding.line}" + (f" ({finding.construct_path})" if finding.construct_path else ""),
    ]
    if finding.fix:
        lines.append(f"fix: {finding.fix}")
    return "\n".join(lines)


def _place(finding: Finding) -> str:
    """Where a finding without an address points: its file and line tell two suppression entries apart."""
    return f"{finding.file}:{finding.line}" if finding.file else "(stack-wide)"


def _clean_tree(root: ET.Element) -> None:
    """Clean every attribute and text at once, so none that carries input (stack, address, message) is missed."""
    for element in root.iter():
        for key, value in element.attrib.items():
            element.set(key, _clean(value))
        if element.text:
            element.text = _clean(element.text)


def _clean(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)
