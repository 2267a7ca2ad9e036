"""HUB_DO_7: droplets run the DigitalOcean metrics agent, which the alert policies depend on."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, is_true, value
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, is_true, value


class DropletMonitoring(HubResourceCheck):
    hub_severity = Severity.LOW
    hub_fix = "Set monitoring = true so CPU/memory alerts have data."

    def __init__(self) -> None:
        super().__init__(
            name="Droplet has monitoring enabled",
            id="HUB_DO_7",
            categories=[CheckCategories.LOGGING],
            supported_resources=["digitalocean_droplet"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["monitoring"]
        if is_true(conf, "monitoring"):
            return CheckResult.PASSED
        current = value(conf, "monitoring")
        self.fail(f"monitoring is {'not set' if current is None else repr(current)}, not a literal true")
        return CheckResult.FAILED


check = DropletMonitoring()
