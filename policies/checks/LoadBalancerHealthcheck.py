"""HUB_DO_13: the load balancer health-checks its targets, which blue-green rollback relies on."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, is_reference, value, written_blocks
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, is_reference, value, written_blocks

HTTP_PROTOCOLS = ("http", "https")


class LoadBalancerHealthcheck(HubResourceCheck):
    hub_severity = Severity.MEDIUM
    hub_fix = "Add healthcheck { protocol, port, path } (path is required for http/https), e.g. http 8080 /health."

    def __init__(self) -> None:
        super().__init__(
            name="Load balancer has a complete health check",
            id="HUB_DO_13",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["digitalocean_loadbalancer"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["healthcheck"]
        healthchecks = written_blocks(conf, "healthcheck")
        if not healthchecks:
            self.fail("no healthcheck block")
            return CheckResult.FAILED
        healthcheck = healthchecks[0]
        protocol = value(healthcheck, "protocol")
        if not (isinstance(protocol, str) and protocol.strip()):
            self.fail("healthcheck has no protocol")
        if value(healthcheck, "port") in (None, ""):
            self.fail("healthcheck has no port")
        # an unknown (${...}) protocol may be http, so it needs a path too
        needs_path = isinstance(protocol, str) and (protocol.lower() in HTTP_PROTOCOLS or is_reference(protocol))
        path = value(healthcheck, "path")
        if needs_path and not (isinstance(path, str) and path.strip()):
            self.fail(f"healthcheck protocol {protocol!r} needs a path")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = LoadBalancerHealthcheck()
