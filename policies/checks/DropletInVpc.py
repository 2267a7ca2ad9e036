"""HUB_DO_6: droplets live in the project's VPC, not the region's default network."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, value
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, value


class DropletInVpc(HubResourceCheck):
    hub_severity = Severity.MEDIUM
    hub_fix = "Set vpc_uuid to the environment's digitalocean_vpc id."

    def __init__(self) -> None:
        super().__init__(
            name="Droplet is placed in a VPC",
            id="HUB_DO_6",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["digitalocean_droplet"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["vpc_uuid"]
        vpc = value(conf, "vpc_uuid")
        if isinstance(vpc, str) and "%{" in vpc:  # a template directive may well make it empty
            self.fail(f"vpc_uuid {vpc!r} is decided by a template directive; reference the VPC's id instead")
            return CheckResult.FAILED
        if isinstance(vpc, str) and vpc.strip():
            return CheckResult.PASSED
        self.fail("vpc_uuid is not set")
        return CheckResult.FAILED


check = DropletInVpc()
