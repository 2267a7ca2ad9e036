"""SARIF 2.1.0 report, in the subset GitHub code scanning reads.

- One run; `tool.driver.rules` holds every check id seen in the run (passed ones too), with the
  title as short description, the fix hint as help, and a default level from the severity.
  `properties.security-severity` lets GitHub rank our alerts like other security tools'.
- Failed and suppressed findings are results; passed findings are not. A suppressed finding carries
  `suppressions: [{kind: "external", status: "accepted", justification: <reason>}]`.
- Locations: the stack file as a relative URI with forward slashes plus the resource's start line,
  and two logical locations: the Terraform address (kind "resource") and the construct path
  (kind "construct", a tree path of its own that no SARIF kind describes).
- `partialFingerprints["hubFinding/v2"]` identifies a result by stack, check, address, construct
  path and the extra fields that tell findings on one resource apart (IDENTITY_EXTRA), not by line or
  message, so an alert keeps its identity when the synthesized JSON shifts or a price in the message
  changes. Findings that still share all of these are told apart by their occurrence in report order,
  written after the hash as GitHub writes its own fingerprints ("<hash>:2").
- Unusable-input errors become error notifications of a failed invocation.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from policies.findings import Finding, Severity, Status
from policies.reports import TOOL_NAME, GateResult

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub maps security-severity > 9.0 to critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
}
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity)}  # critical first

# Finding.extra fields that name what a finding is about within its resource: the field and tag (HUB_STACK_2),
# the firewall rule, role and peer (HUB_STACK_3/4), the hostname, header and ruleset (HUB_STACK_1), the
# suppressed check and target (suppression problems). Details of the verdict (sources, reasons, a firewall's
# name, suppressed_by) are left out: when they change, it is still the same alert.
IDENTITY_EXTRA = (
    "field", "tag", "rule", "role", "peer", "hostname", "header", "ruleset", "ruleset_stack",
    "suppressed_check", "target", "zone", "setting",
)


def render(result: GateResult) -> str:
    return json.dumps(to_log(result), indent=2, ensure_ascii=False) + "\n"


def to_log(result: GateResult) -> dict[str, Any]:
    findings = result.ordered_findings()
    reported = [f for f in findings if f.status is not Status.PASSED]
    rules = _rules(findings)
    rule_index = {rule["id"]: index for index, rule in enumerate(rules)}
    invocation: dict[str, Any] = {"executionSuccessful": not result.errors}
    if result.errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": error}} for error in result.errors
        ]
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": {"name": TOOL_NAME, "rules": rules}},
                "invocations": [invocation],
                "results": [
                    _result(f, rule_index[f.check_id], fingerprint)
                    for f, fingerprint in zip(reported, _fingerprints(reported))
                ],
            }
        ],
    }


def _rules(findings: list[Finding]) -> list[dict[str, Any]]:
    """One rule per check id, sorted by id; a check seen with several severities takes the worst."""
    by_id: dict[str, Finding] = {}
    for finding in findings:
        known = by_id.get(finding.check_id)
        if known is None or _SEVERITY_RANK[finding.severity] < _SEVERITY_RANK[known.severity]:
            by_id[finding.check_id] = finding
    return [_rule(by_id[check_id]) for check_id in sorted(by_id)]


def _rule(finding: Finding) -> dict[str, Any]:
    title = finding.title or finding.check_id
    properties: dict[str, Any] = {"tags": ["security", "terraform", finding.source]}
    if finding.severity in SECURITY_SEVERITY:
        properties["security-severity"] = SECURITY_SEVERITY[finding.severity]
    return {
        "id": finding.check_id,
        "name": _rule_name(title),
        "shortDescription": {"text": title},
        "help": {"text": finding.fix or title},
        "defaultConfiguration": {"level": LEVELS[finding.severity]},
        "properties": properties,
    }


def _rule_name(title: str) -> str:
    """SARIF wants a name that reads as an identifier, e.g. "FirewallAllowsSshFromAnywhere"."""
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", title)) or "Check"


def _result(finding: Finding, rule_index: int, fingerprint: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.check_id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message or finding.title or finding.check_id},
        "locations": [_location(finding)],
        "partialFingerprints": {"hubFinding/v2": fingerprint},
        "properties": {"stack": finding.stack, "severity": finding.severity.value, "source": finding.source},
    }
    if finding.status is Status.SUPPRESSED:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": finding.suppression_reason}
        ]
    return result


def _location(finding: Finding) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if finding.file:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": artifact_uri(finding.file)},
            "region": {"startLine": max(finding.line, 1)},
        }
    logical = []
    if finding.address:
        logical.append(
            {"name": finding.address.rsplit(".", 1)[-1], "fullyQualifiedName": finding.address, "kind": "resource"}
        )
    if finding.construct_path:
        logical.append(
            {
                "name": finding.construct_path.rsplit("/", 1)[-1],
                "fullyQualifiedName": finding.construct_path,
                "kind": "construct",
            }
        )
    if logical:
        location["logicalLocations"] = logical
    return location


def artifact_uri(file: str) -> str:
    """A relative path as a URI reference with forward slashes; an absolute path as a file: URI."""
    path = PureWindowsPath(file) if "\\" in file else PurePosixPath(file)
    if path.is_absolute():
        return path.as_uri()
    # The bytes of the name, as as_uri() takes them: a name that is not UTF-8 is percent-encoded as it is on disk.
    return quote(os.fsencode(path.as_posix()), safe="/")


def _fingerprints(findings: list[Finding]) -> list[str]:
    """One fingerprint per finding, unique within the run (see the module's docstring)."""
    seen: Counter[str] = Counter()
    prints = []
    for finding in findings:
        digest = _identity_hash(finding)
        seen[digest] += 1
        prints.append(f"{digest}:{seen[digest]}")
    return prints


def _identity_hash(finding: Finding) -> str:
    extra = {key: finding.extra[key] for key in IDENTITY_EXTRA if key in finding.extra}
    identity = [finding.stack, finding.check_id, finding.address, finding.construct_path, extra]
    # JSON's ASCII escapes keep undecodable bytes from argv (lone surrogates) hashable
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode("ascii")).hexdigest()
