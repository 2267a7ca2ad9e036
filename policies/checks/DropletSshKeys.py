"""HUB_DO_8: droplets get SSH keys, so no root password is created and mailed out."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, string_list
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, string_list


class DropletSshKeys(HubResourceCheck):
    hub_severity = Severity.HIGH
    hub_fix = "Set ssh_keys to at least one key id or fingerprint (or a reference to them)."

    def __init__(self) -> None:
        super().__init__(
            name="Droplet has at least one SSH key",
            id="HUB_DO_8",
            categories=[CheckCategories.IAM],
            supported_resources=["digitalocean_droplet"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["ssh_keys"]
        if any(key.strip() for key in string_list(conf, "ssh_keys")):
            return CheckResult.PASSED
        self.fail("ssh_keys is missing or empty")
        return CheckResult.FAILED


check = DropletSshKeys()
