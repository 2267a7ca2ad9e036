"""HUB_DO_9: droplets carry env:<x> and role:<x> tags, which firewalls, load balancers and costs key on."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, droplet_tag_values
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, droplet_tag_values

REQUIRED_TAG_PREFIXES = ("env", "role")


class DropletEnvRoleTags(HubResourceCheck):
    hub_severity = Severity.LOW
    hub_fix = "Add literal tags env:<environment> and role:<role> (e.g. env:production, role:app)."

    def __init__(self) -> None:
        super().__init__(
            name="Droplet is tagged with env:<x> and role:<x>",
            id="HUB_DO_9",
            categories=[CheckCategories.CONVENTION],
            supported_resources=["digitalocean_droplet"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["tags"]
        for prefix in REQUIRED_TAG_PREFIXES:
            if not droplet_tag_values(conf, prefix):
                self.fail(f"no literal {prefix}:<value> tag")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = DropletEnvRoleTags()
