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
from functools import lru_cache
from typing import NamedTuple

from policies.findings import Finding, Severity
from policies.stack_document import Resource, StackDocument
from policies.stack_rules._context import GraphEdge, HubContext, hub_context, networks
from policies.stack_rules._findings import RuleFindings
from policies.stack_rules._firewall_rules import INBOUND, OUTBOUND, FirewallRule, firewall_rules
from policies.stack_rules._generator import service_graph as graph_words
from policies.stack_rules._per_stack import once, once_per_run
from policies.ports import PortRange, describe, uncovered
from policies.stack_rules._values import droplet_tags, exists, is_reference, referenced_names, resolve_tag, string_list

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


class Peer(NamedTuple):  # a NamedTuple: rules hash thousands of them, and a tuple hashes in C
    kind: str  # a role, graph_words.PUBLIC/ADMIN/LOAD_BALANCER/INTERNET, or UNNAMED
    is_role: bool


# The graph's own words: a role of that name would read as the load balancer or the Internet.
_GRAPH_WORDS = frozenset({graph_words.PUBLIC, graph_words.ADMIN, graph_words.LOAD_BALANCER, graph_words.INTERNET,
                          graph_words.ALL_ROLES})


def _role_of_tag(tag: str, env: str) -> str | None:
    """`hub:<env>:<role>` and a colour pool's `hub:<env>:<role>:<colour>` name the role (never one
    of the graph's own words, which no role may take)."""
    parts = tag.split(":")
    if len(parts) in (3, 4) and parts[0] == "hub" and parts[1] == env and parts[2] and parts[2] not in _GRAPH_WORDS:
        return parts[2]
    return None


def _droplet_roles(doc: StackDocument, names: list[str], env: str) -> dict[str, set[str]]:
    roles: dict[str, set[str]] = {}
    for name in names:
        droplet = doc.by_address(f"digitalocean_droplet.{name}")
        tags = droplet_tags(doc, droplet) if droplet else set()
        roles[name] = {r for t in tags if (r := _role_of_tag(t, env))}
    return roles


@lru_cache(maxsize=1024)
def _classify_address(address: str, direction: str, admin_cidrs: tuple[str, ...]) -> str:
    # Cached: the same few addresses recur in every firewall of every stack, and parsing is slow.
    try:
        network = ipaddress.ip_network(address.strip(), strict=False)
    except ValueError:
        return UNNAMED  # a Terraform expression or a typo: nothing can be said about it
    if direction == INBOUND and any(
        network.version == admin.version and network.subnet_of(admin) for admin in networks(admin_cidrs)
    ):
        return graph_words.ADMIN
    if network.prefixlen == 0 or network.is_global:
        # All of the internet, or a part of it that is not an admin network.
        return graph_words.PUBLIC if direction == INBOUND else graph_words.INTERNET
    return UNNAMED  # private or reserved ranges: the graph speaks of roles, not of addresses


def _peers(doc: StackDocument, rule: FirewallRule, ctx: HubContext, env: str) -> dict[Peer, list[str]]:
    """Each peer kind of the rule, with how the firewall wrote it (for the message)."""
    peers: dict[Peer, list[str]] = defaultdict(list)
    if rule.addresses:
        admin_cidrs = tuple(ctx.admin_cidrs or ())
        for address in rule.addresses:
            peers[_address_peer(address, rule.direction, admin_cidrs)].append(address)
    for raw in rule.tags:
        tag = resolve_tag(doc, raw)
        peers[_tag_peer(tag, env)].append(f"tag {tag}")
    for uid in rule.load_balancer_uids:
        peers[_LOAD_BALANCER_PEER].append(f"load balancer {uid}")
    if rule.droplet_ids:
        listed = referenced_names(list(rule.droplet_ids), "digitalocean_droplet")
        for name, roles in _droplet_roles(doc, listed, env).items():
            for role in sorted(roles) or [UNNAMED]:
                peers[Peer(role, role != UNNAMED)].append(f"droplet {name}")
        unresolved = [d for d in rule.droplet_ids if not referenced_names(d, "digitalocean_droplet")]
        if unresolved:
            peers[_UNNAMED_PEER].extend(f"droplet {d}" for d in unresolved)
    if rule.kubernetes_ids:
        peers[_UNNAMED_PEER].extend(f"kubernetes cluster {k}" for k in rule.kubernetes_ids)
    return peers


_LOAD_BALANCER_PEER = Peer(graph_words.LOAD_BALANCER, False)
_UNNAMED_PEER = Peer(UNNAMED, False)


@lru_cache(maxsize=1024)
def _address_peer(address: str, direction: str, admin_cidrs: tuple[str, ...]) -> Peer:
    return Peer(_classify_address(address, direction, admin_cidrs), False)


@lru_cache(maxsize=1024)
def _tag_peer(tag: str, env: str) -> Peer:
    role = _role_of_tag(tag, env)
    return Peer(role or UNNAMED, role is not None)


class _GraphIndex:
    """What one service graph declares, worked out once per kind of opening and shared in a run by
    every stack that declares the same graph (the previews all do), not once per firewall rule."""

    def __init__(self, graph: list[GraphEdge]):
        self.graph = graph
        self._declared: dict[tuple, tuple[bool, tuple[PortRange, ...]]] = {}
        self._verdicts: dict[tuple, str | None] = {}

    def undeclared(self, rule: FirewallRule, role: str, peer: Peer) -> str | None:
        """_undeclared, once per (direction, protocol, ports, role, peer): all it depends on."""
        ports = (rule.ports.low, rule.ports.high) if rule.ports is not None else None
        key = (rule.direction, rule.protocol, ports, role, peer)
        try:
            return self._verdicts[key]
        except KeyError:
            left = self._verdicts[key] = _undeclared(self, rule, role, peer)
            return left

    def declared(self, direction: str, protocol: str, role: str, peer: Peer) -> tuple[bool, tuple[PortRange, ...]]:
        """Whether some edge declares this opening, and the port ranges those edges declare."""
        key = (direction, protocol, role, peer)
        found = self._declared.get(key)
        if found is None:
            edges = _declaring_edges(self.graph, direction, protocol, role, peer)
            found = self._declared[key] = (bool(edges), tuple(r for e in edges if (r := e.port_range) is not None))
        return found


def _graph_index(all_docs: list[StackDocument], graph: list[GraphEdge]) -> _GraphIndex:
    signature = tuple((e.source, e.target, e.protocol, e.ports) for e in graph)
    return once_per_run(all_docs, ("service_graph_index", signature), lambda: _GraphIndex(graph))


def _declaring_edges(graph: list[GraphEdge], direction: str, protocol: str, role: str, peer: Peer) -> list[GraphEdge]:
    everyone = graph_words.ALL_ROLES

    def names_peer(word: str) -> bool:
        return word == peer.kind or (peer.is_role and word == everyone)

    same_protocol = [e for e in graph if e.protocol == protocol]
    if direction == INBOUND:
        return [e for e in same_protocol if e.target in (role, everyone) and names_peer(e.source)]
    return [e for e in same_protocol if e.source in (role, everyone) and names_peer(e.target)]


def _undeclared(index: _GraphIndex, rule: FirewallRule, role: str, peer: Peer) -> str | None:
    """What part of the opening no edge declares (protocol and ports), or None when all is declared."""
    if rule.protocol is None:
        return "any protocol (the protocol is missing or a Terraform expression)"
    if peer.kind == UNNAMED:
        has_edges, ranges = False, ()
    else:
        has_edges, ranges = index.declared(rule.direction, rule.protocol, role, peer)
    if rule.ports is None:  # icmp
        return None if has_edges else rule.protocol
    left = uncovered(rule.ports, ranges)
    return f"{rule.protocol} {describe(left)}" if left else None


def _roles_by_tag(doc: StackDocument, env: str) -> dict[str, frozenset[str]]:
    """Each tag the stack's Droplets carry, with the roles of the Droplets carrying it."""
    def derive() -> dict[str, frozenset[str]]:
        roles: dict[str, set[str]] = defaultdict(set)
        for droplet in doc.of_type("digitalocean_droplet"):
            if exists(droplet):
                tags = droplet_tags(doc, droplet)
                droplet_roles = {r for t in tags if (r := _role_of_tag(t, env))}
                for tag in tags:
                    roles[tag] |= droplet_roles
        return {tag: frozenset(r) for tag, r in roles.items()}

    return once(doc, ("roles_by_tag", env), derive)


def _firewall_targets(doc: StackDocument, firewall: Resource, env: str) -> tuple[set[str], list[str]]:
    """(the roles of every Droplet the firewall applies to, the targets that cannot be placed).

    A firewall applies to each Droplet carrying one of its tags, whatever the tag: `env:production`
    on the app firewall puts the database Droplets behind the app's openings too.
    """
    tags = [resolve_tag(doc, t) for t in string_list(doc, firewall, firewall.attrs, "tags")]
    by_tag = _roles_by_tag(doc, env)
    roles = {r for t in tags if (r := _role_of_tag(t, env))}
    for tag in tags:
        roles |= by_tag.get(tag, frozenset())
    droplet_ids = string_list(doc, firewall, firewall.attrs, "droplet_ids")
    for droplet_roles in _droplet_roles(doc, referenced_names(droplet_ids, "digitalocean_droplet"), env).values():
        roles |= droplet_roles
    unplaced = [f"tag {t}" for t in tags if is_reference(t)]
    unplaced += [f"droplet {d}" for d in droplet_ids if not referenced_names(d, "digitalocean_droplet")]
    return roles, unplaced


def _describe_peer(peer: Peer, shown: list[str], direction: str, role: str) -> str:
    word = peer.kind or "nothing the graph names"
    arrow = f"{word} -> {role}" if direction == INBOUND else f"{role} -> {word}"
    return f"{', '.join(shown)} ({arrow})"


def evaluate(doc: StackDocument, all_docs: list[StackDocument]) -> list[Finding]:
    ctx = hub_context(doc)
    firewalls = [f for f in doc.of_type("digitalocean_firewall") if exists(f)]
    if ctx is not None and ctx.service_graph is None and firewalls:
        # Stacks of this project always carry their graph: without it, their firewalls would pass unread.
        message = (f'the stack carries hub context ("//".hub) but no service_graph, so its {len(firewalls)} '
                   "firewall(s) cannot be compared with one")
        return [RULE.failed(doc, None, message)]
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
    index = _graph_index(all_docs, graph)
    findings: list[Finding] = []
    for firewall in firewalls:
        name = firewall.attrs.get("name", firewall.name)
        roles, unplaced = _firewall_targets(doc, firewall, env)
        if unplaced:
            message = (f"firewall {name} applies to {', '.join(unplaced)}, which the gate cannot map to Droplets, so "
                       "its openings cannot be compared with the service graph")
            findings.append(RULE.failed(doc, firewall, message, firewall=name))
        if not roles:
            message = (
                f"firewall {name} targets no hub:{env}:<role> tag or Droplet of a role, so its openings cannot be "
                "compared with the service graph"
            )
            findings.append(RULE.failed(doc, firewall, message, firewall=name))
            continue
        ordered_roles = sorted(roles)
        for direction in (INBOUND, OUTBOUND):
            for rule in firewall_rules(doc, firewall, direction):
                for peer, shown in _peers(doc, rule, ctx, env).items():
                    for role in ordered_roles:
                        left = index.undeclared(rule, role, peer)
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
