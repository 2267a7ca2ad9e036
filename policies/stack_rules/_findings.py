"""Turning a stack rule's verdicts into findings that point at the resource concerned."""

from __future__ import annotations

from dataclasses import dataclass

from policies.findings import Finding, Severity, Status, location
from policies.stack_document import Resource, StackDocument


@dataclass(frozen=True)
class RuleFindings:
    """Makes the findings of one rule, each located at a resource (or at the stack when none)."""

    rule_id: str
    title: str
    severity: Severity
    fix: str

    def failed(self, doc: StackDocument, res: Resource | None, message: str, **extra) -> Finding:
        return self._make(doc, res, message, Status.FAILED, self.severity, extra)

    def passed(self, doc: StackDocument, message: str, severity: Severity | None = None) -> Finding:
        """The stack-wide record that the rule ran and held, so reports show it."""
        return self._make(doc, None, message, Status.PASSED, severity or self.severity, {})

    def _make(self, doc, res, message, status, severity, extra) -> Finding:
        return Finding(
            check_id=self.rule_id,
            title=self.title,
            severity=severity,
            **location(doc, res),
            message=message,
            fix=self.fix,
            status=status,
            extra=extra,
        )
