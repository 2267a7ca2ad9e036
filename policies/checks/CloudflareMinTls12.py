"""HUB_CF_3: visitors must use TLS 1.2 or newer."""

import re

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import ZONE_SETTING_TYPES, CheckResult, HubResourceCheck, Severity, zone_setting_values
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import ZONE_SETTING_TYPES, CheckResult, HubResourceCheck, Severity, zone_setting_values

MINIMUM_VERSION = (1, 2)


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
            parsed = _version(version)
            if parsed is None or parsed < MINIMUM_VERSION:
                self.fail(f"min_tls_version is {version!r}{where}, below 1.2 or unreadable")
        return CheckResult.FAILED if self.details else CheckResult.PASSED


_VERSION = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})")  # Cloudflare's values: "1.0" to "1.3"


def _version(raw) -> tuple[int, ...] | None:
    """"1.2" -> (1, 2); None for anything else (including ${...}, "1.2.3" and non-ASCII digits)."""
    match = _VERSION.fullmatch(str(raw).strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


check = CloudflareMinTls12()
