"""HUB_DO_2: SSH only from narrow admin ranges or from tagged peers, never from the Internet."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, broader_than, firewall_rules
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, broader_than, firewall_rules

SSH_PORT = 22
NARROWEST_IPV4_PREFIX = 16  # broader than /16 fails
NARROWEST_IPV6_PREFIX = 32  # broader than /32 fails


class FirewallSshRestricted(HubResourceCheck):
    hub_severity = Severity.CRITICAL
    hub_fix = "Allow tcp 22 only from admin CIDRs of /16 or narrower (IPv6 /32 or narrower), or from source_tags."

    def __init__(self) -> None:
        super().__init__(
            name="Firewall allows SSH only from narrow admin ranges or tagged peers",
            id="HUB_DO_2",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["digitalocean_firewall"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["inbound_rule"]
        for rule in firewall_rules(conf, "inbound"):
            if not (rule.matches("tcp") and rule.ports.contains(SSH_PORT)):
                continue
            too_broad = broader_than(rule.addresses, NARROWEST_IPV4_PREFIX, NARROWEST_IPV6_PREFIX)
            if too_broad:
                self.fail(f"{rule.label()}: SSH reachable from {', '.join(too_broad)}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = FirewallSshRestricted()
