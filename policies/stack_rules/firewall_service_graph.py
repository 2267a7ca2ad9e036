"""HUB_STACK_3: every opening of a role's firewall is declared by the stack's service graph.

The graph (constructs_lib/service_graph.py, written into `"//".hub.service_graph`) is the one
declaration of who may talk to whom; the firewalls are generated from it. This rule reads the
firewalls back and maps each rule's peers onto the graph's words: `hub:<env>:<role>` tags to the
role, load balancer uids to "loadbalancer", source addresses inside the admin CIDRs to "admin",
other public addresses to "public" (inbound) or "internet" (outbound). An opening no edge
declares - a hand edit, a construct bug, a stale graph - is a finding.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass

from policies.findings import Finding, Severity
from policies.stack_document import Resource, StackDocument
from policies.stack_rules._context import GraphEdge, HubContext, hub_context
from policies.stack_rules._findings import RuleFindings
from policies.stack_rules._firewall_rules import INBOUND, OUTBOUND, FirewallRule, firewall_rules
from policies.stack_rules._generator import service_graph as graph_words
from policies.stack_rules._ports import describe, uncovered
from policies.stack_rules._values import droplet_tags, exists, referenced_names, resolve_tag, string_list

RULE_ID = "HUB_STACK_3"
TITLE = "Firewalls open only what the service graph declares"
SEVERITY = Severity.HIGH
FIX = (
    "Change the service graph (constructs_lib/service_graph.py) and synthesize again instead of editing "
    "firewalls; if the opening is wrong, remove it."
)
RESOURCE_TYPES = frozenset({"digitalocean_firewall"})
RULE = RuleFindings(RULE_ID, TITLE, SEVERITY, FIX)

UNNAMED = ""  # a peer the graph has no word for, so no edge can declare it


@dataclass(frozen=True)
class Peer:
    kind: str  # a role, graph_words.PUBLIC/ADMIN/LOAD_BALANCER/INTERNET, or UNNAMED
    is_role: bool


def _role_of_tag(tag: str, env: str) -> str | None:
    """`hub:<env>:<role>` and a colour pool's `hub:<env>:<role>:<colour>` name the role."""
    parts = tag.split(":")
    if len(parts) in (3, 4) and parts[0] == "hub" and parts[1] == env and parts[2]:
        return parts[2]
    return None


def _droplet_roles(doc: StackDocument, names: list[str], env: str) -> dict[str, set[str]]:
    roles: dict[str, set[str]] = {}
    for name in names:
        droplet = doc.by_address(f"digitalocean_droplet.{name}")
        tags = droplet_tags(doc, droplet) if droplet else set()
        roles[name] = {r for t in tags if (r := _role_of_tag(t, env))}
    return roles


def _address_kind(address: str, direction: str, ctx: HubContext) -> str:
    try:
        network = ipaddress.ip_network(address.strip(), strict=False)
    except ValueError:
        return UNNAMED  # a Terraform expression or a typo: nothing can be said about it
    if direction == INBOUND and any(
        network.version == admin.version and network.subnet_of(admin) for admin in ctx.admin_networks
    ):
        return graph_words.ADMIN
    if network.prefixlen == 0 or network.is_global:
        # All of the internet, or a part of it that is not an admin network.
        return graph_words.PUBLIC if direction == INBOUND else graph_words.INTERNET
    return UNNAMED  # private or reserved ranges: the graph speaks of roles, not of addresses


def _peers(doc: StackDocument, rule: FirewallRule, ctx: HubContext, env: str) -> dict[Peer, list[str]]:
    """Each peer kind of the rule, with how the firewall wrote it (for the message)."""
    peers: dict[Peer, list[str]] = defaultdict(list)
    for address in rule.addresses:
        peers[Peer(_address_kind(address, rule.direction, ctx), False)].append(address)
    for raw in rule.tags:
        tag = resolve_tag(doc, raw)
        role = _role_of_tag(tag, env)
        peers[Peer(role or UNNAMED, role is not None)].append(f"tag {tag}")
    for uid in rule.load_balancer_uids:
        peers[Peer(graph_words.LOAD_BALANCER, False)].append(f"load balancer {uid}")
    listed = referenced_names(list(rule.droplet_ids), "digitalocean_droplet")
    for name, roles in _droplet_roles(doc, listed, env).items():
        for role in sorted(roles) or [UNNAMED]:
            peers[Peer(role, role != UNNAMED)].append(f"droplet {name}")
    unresolved = [d for d in rule.droplet_ids if not referenced_names(d, "digitalocean_droplet")]
    peers[Peer(UNNAMED, False)].extend(f"droplet {d}" for d in unresolved)
    peers[Peer(UNNAMED, False)].extend(f"kubernetes cluster {k}" for k in rule.kubernetes_ids)
    return {peer: shown for peer, shown in peers.items() if shown}


def _declaring_edges(graph: list[GraphEdge], rule: FirewallRule, role: str, peer: Peer) -> list[GraphEdge]:
    everyone = graph_words.ALL_ROLES

    def names_peer(word: str) -> bool:
        return word == peer.kind or (peer.is_role and word == everyone)

    same_protocol = [e for e in graph if e.protocol == rule.protocol]
    if rule.direction == INBOUND:
        return [e for e in same_protocol if e.target in (role, everyone) and names_peer(e.source)]
    return [e for e in same_protocol if e.source in (role, everyone) and names_peer(e.target)]


def _undeclared(graph: list[GraphEdge], rule: FirewallRule, role: str, peer: Peer) -> str | None:
    """What part of the opening no edge declares (protocol and ports), or None when all is declared."""
    if rule.protocol is None:
        return "any protocol (the protocol is missing or a Terraform expression)"
    edges = _declaring_edges(graph, rule, role, peer) if peer.kind != UNNAMED else []
    if rule.ports is None:  # icmp
        return None if edges else rule.protocol
    left = uncovered(rule.ports, [r for e in edges if (r := e.port_range) is not None])
    return f"{rule.protocol} {describe(left)}" if left else None


def _firewall_roles(doc: StackDocument, firewall: Resource, env: str) -> set[str]:
    tags = [resolve_tag(doc, t) for t in string_list(doc, firewall, firewall.attrs, "tags")]
    roles = {r for t in tags if (r := _role_of_tag(t, env))}
    listed = referenced_names(string_list(doc, firewall, firewall.attrs, "droplet_ids"), "digitalocean_droplet")
    for droplet_roles in _droplet_roles(doc, listed, env).values():
        roles |= droplet_roles
    return roles


def _describe_peer(peer: Peer, shown: list[str], direction: str, role: str) -> str:
    word = peer.kind or "nothing the graph names"
    arrow = f"{word} -> {role}" if direction == INBOUND else f"{role} -> {word}"
    return f"{', '.join(shown)} ({arrow})"


def evaluate(doc: StackDocument, all_docs: list[StackDocument]) -> list[Finding]:
    ctx = hub_context(doc)
    if ctx is None or ctx.service_graph is None:
        return [
            RULE.passed(
                doc,
                'Not run: the stack declares no service graph ("//".hub.service_graph), so its firewall openings '
                "could not be compared with one.",
                severity=Severity.INFO,
            )
        ]
    env = ctx.environment or doc.name
    graph = list(ctx.service_graph)
    findings: list[Finding] = []
    firewalls = [f for f in doc.of_type("digitalocean_firewall") if exists(f)]
    for firewall in firewalls:
        name = firewall.attrs.get("name", firewall.name)
        roles = _firewall_roles(doc, firewall, env)
        if not roles:
            message = (
                f"firewall {name} targets no hub:{env}:<role> tag or Droplet of a role, so its openings cannot be "
                "compared with the service graph"
            )
            findings.append(RULE.failed(doc, firewall, message, firewall=name))
            continue
        for direction in (INBOUND, OUTBOUND):
            for rule in firewall_rules(doc, firewall, direction):
                for peer, shown in _peers(doc, rule, ctx, env).items():
                    for role in sorted(roles):
                        left = _undeclared(graph, rule, role, peer)
                        if left is None:
                            continue
                        message = (
                            f"firewall {name} {rule.field} opens {left} {rule.peer_word} "
                            f"{_describe_peer(peer, shown, direction, role)}, which the service graph does not declare"
                        )
                        extra = {"firewall": name, "rule": rule.field, "role": role, "peer": peer.kind}
                        findings.append(RULE.failed(doc, firewall, message, **extra))
    if not findings:
        findings.append(
            RULE.passed(
                doc,
                f"Every opening of {len(firewalls)} firewall(s) is declared by the service graph ({len(graph)} edges).",
            )
        )
    return findings
