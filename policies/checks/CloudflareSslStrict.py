"""HUB_CF_2: Cloudflare verifies the origin's certificate (SSL mode "Full (strict)")."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import ZONE_SETTING_TYPES, CheckResult, HubResourceCheck, Severity, zone_setting_values
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import ZONE_SETTING_TYPES, CheckResult, HubResourceCheck, Severity, zone_setting_values

# The API's values are off, flexible, full and strict; only strict checks the origin certificate.
REQUIRED_MODE = "strict"


class CloudflareSslStrict(HubResourceCheck):
    hub_severity = Severity.HIGH
    hub_fix = "Set the zone's ssl setting to \"strict\" and serve a Cloudflare Origin CA certificate at the origin."

    def __init__(self) -> None:
        super().__init__(
            name="Cloudflare zone SSL mode is strict",
            id="HUB_CF_2",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=ZONE_SETTING_TYPES,
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["setting_id", "value", "settings"]
        for mode, where in zone_setting_values(conf, self.entity_type, "ssl"):
            if mode != REQUIRED_MODE:
                self.fail(f"ssl is {mode!r}{where}, not {REQUIRED_MODE!r}")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = CloudflareSslStrict()
