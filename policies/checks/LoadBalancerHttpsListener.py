"""HUB_DO_11: the load balancer terminates (or passes through) TLS on 443 with a real certificate."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, is_true, parse_port_range, value, written_blocks
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, is_true, parse_port_range, value, written_blocks

HTTPS_PORT = 443
TLS_ENTRY_PROTOCOLS = ("https", "http2", "http3")


class LoadBalancerHttpsListener(HubResourceCheck):
    hub_severity = Severity.HIGH
    hub_fix = "Add a forwarding_rule https on entry_port 443 with certificate_name (or tls_passthrough)."

    def __init__(self) -> None:
        super().__init__(
            name="Load balancer serves HTTPS on 443 with a certificate",
            id="HUB_DO_11",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["digitalocean_loadbalancer"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["forwarding_rule"]
        for rule in written_blocks(conf, "forwarding_rule"):
            entry_port = parse_port_range(value(rule, "entry_port"))
            protocol = str(value(rule, "entry_protocol", "")).lower()
            if entry_port is None or entry_port.low != HTTPS_PORT or entry_port.high != HTTPS_PORT:
                continue
            if protocol not in TLS_ENTRY_PROTOCOLS:
                continue
            has_certificate = any(
                isinstance(name, str) and name.strip() and "%{" not in name  # not false, not a template directive
                for name in (value(rule, key) for key in ("certificate_name", "certificate_id"))
            )
            if has_certificate or is_true(rule, "tls_passthrough"):
                return CheckResult.PASSED
        self.fail("no forwarding_rule on 443 with entry_protocol https and a certificate or tls_passthrough")
        return CheckResult.FAILED


check = LoadBalancerHttpsListener()
