"""HUB_STACK_4: SSH reaches the Droplets only from the environment's admin networks.

The per-resource Checkov check can only forbid the whole internet or over-broad ranges; this rule
knows the admin CIDRs configured for the environment (`"//".hub.admin_cidrs`) and requires every
source of an inbound rule that includes tcp port 22 to lie inside one of them.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from policies.findings import Finding, Severity
from policies.stack_document import StackDocument
from policies.stack_rules._context import hub_context, networks
from policies.stack_rules._findings import RuleFindings
from policies.stack_rules._firewall_rules import INBOUND, firewall_rules
from policies.stack_rules._values import exists

RULE_ID = "HUB_STACK_4"
TITLE = "SSH only from the environment's admin networks"
SEVERITY = Severity.CRITICAL
FIX = (
    "Allow tcp 22 only from the environment's admin_cidrs in environments.toml (the service graph's admin "
    "edge does this); reach other machines through them rather than opening SSH to peers or wider ranges."
)
RESOURCE_TYPES = frozenset({"digitalocean_firewall"})
RULE = RuleFindings(RULE_ID, TITLE, SEVERITY, FIX)

SSH_PORT = 22


@lru_cache(maxsize=1024)
def _inside(address: str, admin_cidrs: tuple[str, ...]) -> bool:
    # Cached: every firewall of a stack repeats the same admin addresses, and ipaddress parses slowly.
    try:
        network = ipaddress.ip_network(address.strip(), strict=False)
    except ValueError:
        return False  # a Terraform expression or a typo cannot be shown to be an admin network
    return any(network.version == admin.version and network.subnet_of(admin) for admin in networks(admin_cidrs))


def evaluate(doc: StackDocument, all_docs: list[StackDocument]) -> list[Finding]:
    ctx = hub_context(doc)
    if ctx is not None and ctx.admin_cidrs is None:
        ctx = ctx.model_copy(update={"admin_cidrs": []})  # hub context without admin networks: SSH from none
    if ctx is None:
        return [
            RULE.passed(
                doc,
                'Not run: the stack carries no hub context ("//".hub), so SSH sources could not be compared with '
                "its admin networks.",
                severity=Severity.INFO,
            )
        ]
    admin_cidrs = tuple(ctx.admin_cidrs)
    shown = ", ".join(admin_cidrs) or 'none ("//".hub declares no admin_cidrs)'
    findings: list[Finding] = []
    rules_seen = 0
    for firewall in (f for f in doc.of_type("digitalocean_firewall") if exists(f)):
        name = firewall.attrs.get("name", firewall.name)
        for rule in firewall_rules(doc, firewall, INBOUND):
            if not rule.opens("tcp", SSH_PORT):
                continue
            rules_seen += 1
            outside = [a for a in rule.addresses if not _inside(a, admin_cidrs)]
            outside += [f"tag {t}" for t in rule.tags]
            outside += [f"load balancer {u}" for u in rule.load_balancer_uids]
            outside += [f"droplet {d}" for d in rule.droplet_ids]
            outside += [f"kubernetes cluster {k}" for k in rule.kubernetes_ids]
            if outside:
                message = (
                    f"firewall {name} {rule.field} opens SSH ({rule.describe()}) from {', '.join(outside)}, "
                    f"outside the admin networks {shown}"
                )
                findings.append(RULE.failed(doc, firewall, message, firewall=name, rule=rule.field, sources=outside))
    if not findings:
        findings.append(
            RULE.passed(doc, f"{rules_seen} inbound rule(s) open SSH, all only from {shown}.")
        )
    return findings
