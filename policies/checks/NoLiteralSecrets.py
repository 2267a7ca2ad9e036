"""HUB_GEN_1: no credential is written into the synthesized JSON; it comes from variables or other resources."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, find_secrets, known_serialization
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, find_secrets, known_serialization


class NoLiteralSecrets(HubResourceCheck):
    hub_severity = Severity.CRITICAL
    hub_fix = "Pass the secret as a sensitive variable or a resource reference (${...}); never write it into the stack."
    expands_dynamic_blocks = False  # every string as written, dynamic templates included, once each

    def __init__(self) -> None:
        super().__init__(
            name="Resource holds no literal secret (token, password, private key, webhook URL)",
            id="HUB_GEN_1",
            categories=[CheckCategories.SECRETS],
            # Checkov's registry matches wildcards with fnmatch for terraform_json too (verified by a test)
            supported_resources=["*"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = []
        for secret in find_secrets(conf, known_serialization(conf)):
            self.fail(secret)
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = NoLiteralSecrets()
