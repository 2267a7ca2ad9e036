"""HUB_DO_1: a Droplet firewall opens nothing to the whole Internet, web ports included.

The Internet reaches the hub's web ports (80/443) at the load balancer, which DigitalOcean firewalls
do not cover; a firewall opening them to 0.0.0.0/0 or ::/0 lets anyone past the load balancer and
Cloudflare straight to the Droplets.
"""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, firewall_rules, world_open_ports
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, firewall_rules, world_open_ports


class FirewallInboundNotFromInternet(HubResourceCheck):
    hub_severity = Severity.HIGH
    hub_fix = ("Let the load balancer take 80/443 from the Internet and open Droplets only to it "
               "(source_load_balancer_uids), to tags, or to admin networks.")

    def __init__(self) -> None:
        super().__init__(
            name="Firewall opens nothing to the whole Internet (80/443 only at the load balancer)",
            id="HUB_DO_1",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["digitalocean_firewall"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["inbound_rule"]
        rules = firewall_rules(conf, "inbound")
        for protocol in ("tcp", "udp", "icmp"):
            for open_range in world_open_ports(rules, protocol):
                ports = "" if protocol == "icmp" else f" {open_range}"
                self.fail(f"{protocol}{ports} is open to the whole Internet")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = FirewallInboundNotFromInternet()
