"""HUB_DO_3: database, cache, search and exporter ports only from tagged droplets or load balancers."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, firewall_rules
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, firewall_rules

DATA_PORTS = {
    5432: "PostgreSQL",
    6379: "Redis",
    9200: "Elasticsearch HTTP",
    9300: "Elasticsearch transport",
    9100: "node exporter",
}


class FirewallDataPortsFromPeersOnly(HubResourceCheck):
    hub_severity = Severity.CRITICAL
    hub_fix = "Open 5432/6379/9200/9300/9100 only with source_tags, source_droplet_ids or source_load_balancer_uids."

    def __init__(self) -> None:
        super().__init__(
            name="Firewall opens data ports only to tagged droplets or load balancers, never to addresses",
            id="HUB_DO_3",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["digitalocean_firewall"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["inbound_rule"]
        for rule in firewall_rules(conf, "inbound"):
            if not (rule.carries_ports and rule.addresses):
                continue
            exposed = [f"{port} ({service})" for port, service in DATA_PORTS.items() if rule.ports.contains(port)]
            if exposed:
                self.fail(f"{rule.label()}: exposes {', '.join(exposed)} to an address list")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = FirewallDataPortsFromPeersOnly()
