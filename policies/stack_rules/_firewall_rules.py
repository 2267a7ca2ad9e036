"""The inbound and outbound rules of a `digitalocean_firewall`, read from plain Terraform JSON."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from policies.dynamic_blocks import dynamic_templates
from policies.stack_document import Resource, StackDocument
from policies.stack_rules._per_stack import once
from policies.ports import ALL_PORTS, PROTOCOLS, PortRange, parse_port_range
from policies.stack_rules._values import blocks, is_string_list, string_list

INBOUND, OUTBOUND = "inbound", "outbound"


class FirewallRule(NamedTuple):
    """One rule. `protocol` is None when it is a Terraform expression or missing (any protocol);
    `ports` is None for icmp, and every port when missing or unreadable (fail closed).

    A NamedTuple rather than a frozen dataclass: just as immutable, and several times cheaper to
    make, which counts with thousands of rules per run.
    """

    direction: str
    index: int
    protocol: str | None
    ports: PortRange | None
    addresses: tuple[str, ...]
    tags: tuple[str, ...]
    load_balancer_uids: tuple[str, ...]
    droplet_ids: tuple[str, ...]
    kubernetes_ids: tuple[str, ...]
    origin: str | None = None  # "dynamic.inbound_rule[0]" for a dynamic block's content template

    @property
    def field(self) -> str:
        return f"{self.origin}.content" if self.origin else f"{self.direction}_rule[{self.index}]"

    @property
    def peer_word(self) -> str:
        return "from" if self.direction == INBOUND else "to"

    def opens(self, protocol: str, port: int) -> bool:
        """Whether the rule may let `protocol` traffic on `port` through (unknown protocol: yes)."""
        if self.protocol not in (None, protocol):
            return False
        return self.ports is None or self.ports.contains(port)

    def describe(self) -> str:
        protocol = self.protocol or "any protocol"
        return f"{protocol} {self.ports}" if self.ports is not None else protocol


def firewall_rules(doc: StackDocument, firewall: Resource, direction: str) -> list[FirewallRule]:
    """The firewall's `direction` rules, in order; read once per stack (three rules ask)."""
    key = ("firewall_rules", id(firewall), direction)
    # The entry keeps `firewall` alive, so its id cannot be reused by another Resource meanwhile.
    _, rules = once(doc, key, lambda: (firewall, tuple(_read_rules(doc, firewall, direction))))
    return list(rules)


_PEER_KINDS = ("addresses", "tags", "load_balancer_uids", "droplet_ids", "kubernetes_ids")  # FirewallRule's order
_PEER_KEYS = {
    direction: tuple(f"{prefix}_{kind}" for kind in _PEER_KINDS)
    for direction, prefix in ((INBOUND, "source"), (OUTBOUND, "destination"))
}


def _rule_blocks(doc: StackDocument, firewall: Resource, direction: str) -> list[tuple[dict[str, Any], str | None]]:
    """(block, origin) of every written rule, then of every dynamic rule block's template."""
    name = f"{direction}_rule"
    written: list[tuple[dict[str, Any], str | None]] = [(b, None) for b in blocks(doc, firewall, firewall.attrs, name)]
    if "dynamic" not in firewall.attrs:
        return written
    return written + [
        (template, origin)
        for label, origin, template in dynamic_templates(firewall.attrs["dynamic"])
        if label == name
    ]


def _read_rules(doc: StackDocument, firewall: Resource, direction: str) -> list[FirewallRule]:
    rules = []
    for index, (block, origin) in enumerate(_rule_blocks(doc, firewall, direction)):
        raw_protocol = block.get("protocol")
        protocol = _protocol(raw_protocol) if isinstance(raw_protocol, str) else None
        ports = None if protocol == "icmp" else (parse_port_range(block.get("port_range", "all")) or ALL_PORTS)
        peers = []
        for key in _PEER_KEYS[direction]:
            raw = block.get(key)
            if raw is None:
                peers.append(())
            elif is_string_list(raw):
                peers.append(tuple(raw))  # the usual shape, without string_list's checks
            else:
                field = f"{origin}.content" if origin else f"{direction}_rule[{index}]"
                peers.append(tuple(string_list(doc, firewall, block, key, field)))
        # tuple.__new__ skips the NamedTuple's Python-level __new__: the same tuple, made in C.
        rules.append(_tuple_new(FirewallRule, (direction, index, protocol, ports, *peers, origin)))
    return rules


_tuple_new = tuple.__new__


@lru_cache(maxsize=256)
def _protocol(raw: str) -> str | None:
    """The protocol, lower-cased; None (it may be any) when an expression decides it or it is no
    protocol a firewall knows."""
    protocol = raw.strip().lower()
    return protocol if protocol in PROTOCOLS else None
