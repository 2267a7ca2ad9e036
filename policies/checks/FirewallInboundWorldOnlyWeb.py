"""HUB_DO_1: only HTTP and HTTPS may be open to the whole Internet."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import (
        CheckResult, HubResourceCheck, PortRange, Severity, firewall_rules, world_open_ports,
    )
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, PortRange, Severity, firewall_rules, world_open_ports

WEB_PORTS = (80, 443)


class FirewallInboundWorldOnlyWeb(HubResourceCheck):
    hub_severity = Severity.HIGH
    hub_fix = "Open only tcp 80/443 to 0.0.0.0/0 and ::/0; reach other ports through source_tags or load balancers."

    def __init__(self) -> None:
        super().__init__(
            name="Firewall opens nothing but tcp 80/443 to the Internet",
            id="HUB_DO_1",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["digitalocean_firewall"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["inbound_rule"]
        rules = firewall_rules(conf, "inbound")
        for protocol in ("tcp", "udp", "icmp"):
            for open_range in world_open_ports(rules, protocol):
                for exposed in _without_web_ports(open_range) if protocol == "tcp" else [open_range]:
                    ports = "" if protocol == "icmp" else f" {exposed}"
                    self.fail(f"{protocol}{ports} is open to the whole Internet")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


def _without_web_ports(open_range: PortRange) -> list[PortRange]:
    """What is left of a port range after taking out 80 and 443."""
    pieces = [open_range]
    for port in WEB_PORTS:
        split: list[PortRange] = []
        for piece in pieces:
            if not piece.contains(port):
                split.append(piece)
                continue
            if piece.low < port:
                split.append(PortRange(piece.low, port - 1))
            if port < piece.high:
                split.append(PortRange(port + 1, piece.high))
        pieces = split
    return pieces


check = FirewallInboundWorldOnlyWeb()
