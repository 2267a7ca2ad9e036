"""HUB_DO_5: outbound traffic is not open on every tcp or udp port to the whole Internet."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import (
        NEARLY_ALL_PORTS, CheckResult, HubResourceCheck, Severity, firewall_rules, world_open_ports,
    )
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import NEARLY_ALL_PORTS, CheckResult, HubResourceCheck, Severity, firewall_rules, world_open_ports


class FirewallOutboundNotWideOpen(HubResourceCheck):
    hub_severity = Severity.MEDIUM
    hub_fix = "List the outbound ports droplets need (53, 443, SMTP...) instead of all tcp/udp ports to the Internet."

    def __init__(self) -> None:
        super().__init__(
            name="Firewall does not allow all tcp/udp ports outbound to the Internet",
            id="HUB_DO_5",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["digitalocean_firewall"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["outbound_rule"]
        rules = firewall_rules(conf, "outbound")
        for protocol in ("tcp", "udp"):
            # Counted over every open range, not per range: "1-30000" + "30002-65535" leaves one port
            # shut and is as wide open as all of them.
            wide = world_open_ports(rules, protocol)
            if sum(r.high - r.low + 1 for r in wide) >= NEARLY_ALL_PORTS:
                ports = "all ports" if wide[0].is_all else f"ports {', '.join(map(str, wide))}"
                self.fail(f"outbound {protocol} on {ports} is open to the whole Internet")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = FirewallOutboundNotWideOpen()
