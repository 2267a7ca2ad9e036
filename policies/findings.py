"""The one shape every policy result takes, whoever produced it (Checkov, our checks, stack rules, cost)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policies.stack_document import Resource, StackDocument


class Severity(str, Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class Status(str, Enum):
    FAILED = "failed"
    PASSED = "passed"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Finding:
    """One policy verdict about one resource (or a whole stack when `address` is empty)."""

    check_id: str
    title: str
    severity: Severity
    stack: str
    address: str  # Terraform address, e.g. "digitalocean_firewall.app"; "" for stack-wide findings
    construct_path: str  # from the resource's "//".metadata.path; "" when unknown
    file: str  # cdk.tf.json path as given to the gate (relative where possible)
    line: int  # 1-based line of the resource in `file`; 1 when unknown
    message: str
    fix: str = ""
    status: Status = Status.FAILED
    source: str = "hub"  # "hub" for our policies, "checkov" for Checkov's built-in checks
    suppression_reason: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def failed(self) -> bool:
        return self.status is Status.FAILED

    def suppressed(self, reason: str) -> "Finding":
        return replace(self, status=Status.SUPPRESSED, suppression_reason=reason)

    def sort_key(self) -> tuple:
        return (self.stack, self.address, self.check_id, self.message)


def location(doc: StackDocument, res: Resource | None = None) -> dict[str, Any]:
    """Finding fields that say where it points: the resource's address, construct path and line in
    the stack's file, or the stack itself when `res` is None."""
    return {
        "stack": doc.name,
        "address": res.address if res else "",
        "construct_path": res.construct_path if res else "",
        "file": doc.display_path,
        "line": res.line if res else 1,
    }
