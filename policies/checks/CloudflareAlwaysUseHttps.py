"""HUB_CF_4: Cloudflare redirects every http:// request to https://."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import ZONE_SETTING_TYPES, CheckResult, HubResourceCheck, Severity, zone_setting_values
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import ZONE_SETTING_TYPES, CheckResult, HubResourceCheck, Severity, zone_setting_values


class CloudflareAlwaysUseHttps(HubResourceCheck):
    hub_severity = Severity.MEDIUM
    hub_fix = "Set the zone's always_use_https setting to \"on\"."

    def __init__(self) -> None:
        super().__init__(
            name="Cloudflare zone always uses HTTPS",
            id="HUB_CF_4",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=ZONE_SETTING_TYPES,
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["setting_id", "value", "settings"]
        for setting, where in zone_setting_values(conf, self.entity_type, "always_use_https"):
            if setting != "on":
                self.fail(f"always_use_https is {setting!r}{where}, not 'on'")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = CloudflareAlwaysUseHttps()
