"""HUB_CF_1: web records go through Cloudflare's proxy, so the origin's address stays hidden behind the CDN and WAF."""

from checkov.common.models.enums import CheckCategories

try:
    from policies.checks._rules import CheckResult, HubResourceCheck, Severity, is_reference, is_true, value
except ModuleNotFoundError:  # loaded by Checkov from --external-checks-dir as a loose file
    from _rules import CheckResult, HubResourceCheck, Severity, is_reference, is_true, value

PROXIABLE_TYPES = ("A", "AAAA", "CNAME")


class CloudflareRecordProxied(HubResourceCheck):
    hub_severity = Severity.MEDIUM
    hub_fix = "Set proxied = true on A/AAAA/CNAME records so traffic passes Cloudflare's CDN, TLS and DDoS protection."

    def __init__(self) -> None:
        super().__init__(
            name="Cloudflare A/AAAA/CNAME record is proxied",
            id="HUB_CF_1",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["cloudflare_dns_record", "cloudflare_record"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["type", "proxied"]
        record_type = value(conf, "type")
        # a ${...} type may well be A/AAAA/CNAME: judge it as one
        if not is_reference(record_type) and str(record_type).upper() not in PROXIABLE_TYPES:
            return CheckResult.PASSED
        if is_true(conf, "proxied"):
            return CheckResult.PASSED
        self.fail(f"{record_type} record with proxied = {value(conf, 'proxied')!r}")
        return CheckResult.FAILED


check = CloudflareRecordProxied()
