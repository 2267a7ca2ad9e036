"""HUB_DO_12: plain HTTP on the load balancer only ever redirects to HTTPS."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, is_true, value
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, is_true, value


class LoadBalancerRedirectHttp(HubResourceCheck):
    hub_severity = Severity.MEDIUM
    hub_fix = "Set redirect_http_to_https = true on the load balancer."

    def __init__(self) -> None:
        super().__init__(
            name="Load balancer redirects HTTP to HTTPS",
            id="HUB_DO_12",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["digitalocean_loadbalancer"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["redirect_http_to_https"]
        if is_true(conf, "redirect_http_to_https"):
            return CheckResult.PASSED
        current = value(conf, "redirect_http_to_https")
        self.fail(f"redirect_http_to_https is {'not set' if current is None else repr(current)}, not a literal true")
        return CheckResult.FAILED


check = LoadBalancerRedirectHttp()
