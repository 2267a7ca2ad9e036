"""HUB_DO_10: production droplets have DigitalOcean backups turned on."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, droplet_tag_values, is_true
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, droplet_tag_values, is_true

PRODUCTION = {"production", "prod", "prd"}  # how env tags spell production


class DropletProductionBackups(HubResourceCheck):
    hub_severity = Severity.MEDIUM
    hub_fix = "Set backups = true (and a backup_policy) on droplets tagged env:production (or env:prod)."

    def __init__(self) -> None:
        super().__init__(
            name="Production droplet has backups enabled",
            id="HUB_DO_10",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["digitalocean_droplet"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["tags", "backups"]
        # production, prod, prd, and names built on them (production-eu, prod-us)
        production = sorted(v for v in droplet_tag_values(conf, "env") if v in PRODUCTION or v.startswith("prod"))
        if not production:
            return CheckResult.PASSED  # the rule is about production only
        if is_true(conf, "backups"):
            return CheckResult.PASSED
        self.fail(f"tagged env:{production[0]} but backups is not true")
        return CheckResult.FAILED


check = DropletProductionBackups()
