"""Stack-level rules: policies that need a whole stack, or every stack of the run, to decide.

Per-resource checks (policies/checks/) see one resource at a time. These rules see the stack:
whether a zone's header ruleset covers each hostname (possibly from the stack that owns the zone),
whether every Droplet is behind a firewall and every targeted tag exists, whether the firewalls
match the declared service graph, whether SSH comes only from the configured admin networks, and
whether the zone a stack owns sets its TLS settings at all.

Each rule is one module with RULE_ID, TITLE, SEVERITY, FIX, RESOURCE_TYPES and
`evaluate(doc, all_docs) -> list[Finding]`; it reports a PASSED finding when it holds.
"""

from __future__ import annotations

from policies.findings import Finding
from policies.stack_document import StackDocument
from policies.stack_rules import (
    firewall_coverage,
    firewall_service_graph,
    security_headers,
    ssh_admin_sources,
    zone_tls_settings,
)

ALL_RULES = (security_headers, firewall_coverage, firewall_service_graph, ssh_admin_sources, zone_tls_settings)
RULE_IDS = tuple(rule.RULE_ID for rule in ALL_RULES)
# The resource types some stack rule judges (the gate flags types that no policy knows).
RULE_RESOURCE_TYPES = frozenset().union(*(rule.RESOURCE_TYPES for rule in ALL_RULES))


def run_stack_rules(docs: list[StackDocument]) -> list[Finding]:
    """Every rule on every stack; each rule sees all `docs` for cross-stack lookups."""
    return [finding for doc in docs for rule in ALL_RULES for finding in rule.evaluate(doc, docs)]
