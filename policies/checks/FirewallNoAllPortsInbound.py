"""HUB_DO_4: no inbound rule opens every port, whatever its source."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, firewall_rules
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, firewall_rules


class FirewallNoAllPortsInbound(HubResourceCheck):
    hub_severity = Severity.HIGH
    hub_fix = "Give each tcp/udp inbound rule the port_range its service needs, not \"all\"/\"0\"/\"1-65535\"."

    def __init__(self) -> None:
        super().__init__(
            name="Firewall has no inbound rule on all ports",
            id="HUB_DO_4",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["digitalocean_firewall"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["inbound_rule"]
        for rule in firewall_rules(conf, "inbound"):
            if rule.carries_ports and rule.ports.is_nearly_all:
                self.fail(f"{rule.label()}: opens {'all' if rule.ports.is_all else 'nearly all'} ports")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = FirewallNoAllPortsInbound()
