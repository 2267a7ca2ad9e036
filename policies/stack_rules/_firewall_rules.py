"""The inbound and outbound rules of a `digitalocean_firewall`, read from plain Terraform JSON."""

from __future__ import annotations

from dataclasses import dataclass

from policies.stack_document import Resource, StackDocument
from policies.stack_rules._ports import ALL_PORTS, PortRange, parse_port_range
from policies.stack_rules._values import blocks, is_reference, string_list

INBOUND, OUTBOUND = "inbound", "outbound"


@dataclass(frozen=True)
class FirewallRule:
    """One rule. `protocol` is None when it is a Terraform expression or missing (any protocol);
    `ports` is None for icmp, and every port when missing or unreadable (fail closed)."""

    direction: str
    index: int
    protocol: str | None
    ports: PortRange | None
    addresses: tuple[str, ...]
    tags: tuple[str, ...]
    load_balancer_uids: tuple[str, ...]
    droplet_ids: tuple[str, ...]
    kubernetes_ids: tuple[str, ...]

    @property
    def field(self) -> str:
        return f"{self.direction}_rule[{self.index}]"

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
    prefix = "source" if direction == INBOUND else "destination"
    rules = []
    for index, block in enumerate(blocks(doc, firewall, firewall.attrs, f"{direction}_rule")):
        field = f"{direction}_rule[{index}]"
        raw_protocol = block.get("protocol")
        readable = isinstance(raw_protocol, str) and not is_reference(raw_protocol)
        protocol = raw_protocol.strip().lower() if readable else None
        ports = None if protocol == "icmp" else (parse_port_range(block.get("port_range", "all")) or ALL_PORTS)
        rules.append(
            FirewallRule(
                direction=direction,
                index=index,
                protocol=protocol,
                ports=ports,
                addresses=tuple(string_list(doc, firewall, block, f"{prefix}_addresses", field)),
                tags=tuple(string_list(doc, firewall, block, f"{prefix}_tags", field)),
                load_balancer_uids=tuple(string_list(doc, firewall, block, f"{prefix}_load_balancer_uids", field)),
                droplet_ids=tuple(string_list(doc, firewall, block, f"{prefix}_droplet_ids", field)),
                kubernetes_ids=tuple(string_list(doc, firewall, block, f"{prefix}_kubernetes_ids", field)),
            )
        )
    return rules
