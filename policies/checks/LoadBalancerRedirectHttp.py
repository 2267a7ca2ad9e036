"""HUB_DO_12: plain HTTP on the load balancer only ever redirects to HTTPS."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, blocks, is_reference, is_true, value
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, blocks, is_reference, is_true, value


class LoadBalancerRedirectHttp(HubResourceCheck):
    hub_severity = Severity.MEDIUM
    hub_fix = "Set redirect_http_to_https = true on the load balancer, and take plain HTTP on port 80 only."

    def __init__(self) -> None:
        super().__init__(
            name="Load balancer redirects HTTP to HTTPS",
            id="HUB_DO_12",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["digitalocean_loadbalancer"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["redirect_http_to_https", "forwarding_rule"]
        if not is_true(conf, "redirect_http_to_https"):
            current = value(conf, "redirect_http_to_https")
            self.fail(f"redirect_http_to_https is {'not set' if current is None else repr(current)}, not a literal true")
        # The provider's redirect covers port 80 only: plain HTTP on any other port serves the app unencrypted.
        for index, rule in enumerate(blocks(conf, "forwarding_rule")):
            protocol, port = value(rule, "entry_protocol"), value(rule, "entry_port")
            if is_reference(protocol) and port not in (80, "80", 443, "443"):
                self.fail(f"forwarding_rule[{index}]: entry_protocol {protocol!r} on entry_port {port!r} may be plain "
                          "http, which the redirect (port 80 only) does not cover")
            elif isinstance(protocol, str) and protocol.strip().lower() == "http" and port not in (80, "80"):
                self.fail(f"forwarding_rule[{index}]: plain http on entry_port {port!r}, which the redirect "
                          "(port 80 only) does not cover")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = LoadBalancerRedirectHttp()
