"""Machine-readable report with a stable, versioned schema.

Schema (version 1); keys are sorted in the output, lists are in report order:

    {
      "version": 1,
      "tool": "community-hub-policy-gate",
      "summary": {"result": "pass" | "fail", "stacks": int,
                  "failed": int, "suppressed": int, "passed": int, "errors": int},
      "stacks": [{"name": str, "result": "pass" | "fail",   # name "" groups findings about the gate's
                  "failed": int, "suppressed": int, "passed": int}, ...],  # own input; every stack fails on an error
      "errors": [str, ...],                         # unusable-input messages; any error fails the gate
      "findings": [{                                # every Finding field, enums as their values
          "check_id": str, "title": str,
          "severity": "critical" | "high" | "medium" | "low" | "info",
          "stack": str,                             # "" for findings about the gate's own input
          "address": str, "construct_path": str, "file": str, "line": int,
          "message": str, "fix": str,
          "status": "failed" | "passed" | "suppressed",
          "source": "hub" | "checkov", "suppression_reason": str, "extra": {...}}, ...],
      "cost": {"text": str | null, "markdown": str | null,
               "data": {...} | null} | null            # the plan gate: PlanCost.to_data()'s numbers
    }

`parse` reads such a document back into a GateResult, so reports can be compared or merged later.
A change that removes or renames a key must raise `SCHEMA_VERSION`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any

from policies.findings import Finding, Severity, Status
from policies.reports import TOOL_NAME, GateResult

SCHEMA_VERSION = 1

_FINDING_FIELDS = tuple(f.name for f in fields(Finding))


def render(result: GateResult) -> str:
    return json.dumps(to_document(result), indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def to_document(result: GateResult) -> dict[str, Any]:
    counts = result.counts()
    stacks = result.stack_names()
    cost = None
    if result.cost_text is not None or result.cost_markdown is not None or result.cost_data is not None:
        cost = {"text": result.cost_text, "markdown": result.cost_markdown, "data": result.cost_data}
    return {
        "version": SCHEMA_VERSION,
        "tool": TOOL_NAME,
        "summary": {
            "result": "pass" if result.passed() else "fail",
            "stacks": result.stack_count(),
            "failed": counts[Status.FAILED],
            "suppressed": counts[Status.SUPPRESSED],
            "passed": counts[Status.PASSED],
            "errors": len(result.errors),
        },
        "stacks": [_stack_entry(result, stack) for stack in stacks],
        "errors": list(result.errors),
        "findings": [_finding_entry(f) for f in result.ordered_findings()],
        "cost": cost,
    }


def parse(text: str) -> GateResult:
    """Read a report written by `render` back into a GateResult. Raises ValueError naming what is wrong."""
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("version") != SCHEMA_VERSION:
        raise ValueError(f"not a version {SCHEMA_VERSION} policy gate JSON report (field 'version')")
    findings = []
    for index, entry in enumerate(document.get("findings", [])):
        missing = [name for name in _FINDING_FIELDS if name not in entry]
        if missing:
            raise ValueError(f"finding {index}: missing field(s) {', '.join(missing)}")
        values = {name: entry[name] for name in _FINDING_FIELDS}
        values["severity"] = Severity(values["severity"])
        values["status"] = Status(values["status"])
        findings.append(Finding(**values))
    cost = document.get("cost") or {}
    return GateResult(
        findings=findings,
        stacks=[s["name"] for s in document.get("stacks", []) if s["name"]],  # "" only groups stackless findings
        errors=list(document.get("errors", [])),
        cost_markdown=cost.get("markdown"),
        cost_text=cost.get("text"),
        cost_data=cost.get("data"),
    )


def _stack_entry(result: GateResult, stack: str) -> dict[str, Any]:
    counts = result.counts(stack)
    return {
        "name": stack,
        "result": "pass" if result.stack_passed(stack) else "fail",
        "failed": counts[Status.FAILED],
        "suppressed": counts[Status.SUPPRESSED],
        "passed": counts[Status.PASSED],
    }


def _finding_entry(finding: Finding) -> dict[str, Any]:
    entry = asdict(finding)
    entry["severity"] = finding.severity.value
    entry["status"] = finding.status.value
    return entry
