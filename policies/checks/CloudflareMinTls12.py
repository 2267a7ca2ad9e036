"""HUB_CF_3: visitors must use TLS 1.2 or newer."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import (
        ZONE_SETTING_TYPES, CheckResult, HubResourceCheck, Severity, is_minimum_or_newer, zone_setting_values,
    )
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import ZONE_SETTING_TYPES, CheckResult, HubResourceCheck, Severity, is_minimum_or_newer, zone_setting_values


class CloudflareMinTls12(HubResourceCheck):
    hub_severity = Severity.MEDIUM
    hub_fix = "Set the zone's min_tls_version setting to \"1.2\" (or \"1.3\")."

    def __init__(self) -> None:
        super().__init__(
            name="Cloudflare zone minimum TLS version is 1.2 or newer",
            id="HUB_CF_3",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=ZONE_SETTING_TYPES,
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["setting_id", "value", "settings"]
        for version, where in zone_setting_values(conf, self.entity_type, "min_tls_version"):
            if not is_minimum_or_newer(version):
                self.fail(f"min_tls_version is {version!r}{where}, not a version string of 1.2 or newer")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = CloudflareMinTls12()
