"""The Cloudflare edge: the zone, the environment's DNS records, and (in the stack that owns the
zone) the zone-wide TLS settings and the response-header ruleset.

Cloudflare allows one entry-point ruleset per zone and phase, and zone settings are zone-wide,
so exactly one environment owns them; the others only add their DNS records.
"""

from __future__ import annotations

from constructs_lib import _bindings  # noqa: F401  - before any provider import: load only what we use
from cdktf_cdktf_provider_cloudflare.data_cloudflare_zone import DataCloudflareZone, DataCloudflareZoneFilter
from cdktf_cdktf_provider_cloudflare.dns_record import DnsRecord
from cdktf_cdktf_provider_cloudflare.ruleset import (
    Ruleset,
    RulesetRules,
    RulesetRulesActionParameters,
    RulesetRulesActionParametersHeaders,
)
from cdktf_cdktf_provider_cloudflare.zone import Zone, ZoneAccount
from cdktf_cdktf_provider_cloudflare.zone_setting import ZoneSetting
from constructs import Construct

from constructs_lib.naming import Part

# Zone settings whose values the provider types as a mapping; they are set as plain strings.
ZONE_SETTINGS = {
    "ssl": "strict",
    "always_use_https": "on",
    "min_tls_version": "1.2",
    "tls_1_3": "on",
}


class Edge(Part):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        zone_name: str,
        create_zone: bool,
        account_id: str | None,
        owns_zone: bool,
        hostnames: list[str],
        origin_ip: str,
        headers: dict[str, str],
    ):
        super().__init__(scope, id_)
        if create_zone and owns_zone:
            zone = self.add(Zone, "zone", name=zone_name, type="full", account=ZoneAccount(id=account_id))
            self.zone_id = zone.id
        else:
            lookup = self.add(DataCloudflareZone, "zone", filter=DataCloudflareZoneFilter(name=zone_name))
            self.zone_id = lookup.zone_id
        self.records = [
            self.add(
                DnsRecord,
                f"record-{host.replace('.', '-')}",
                zone_id=self.zone_id,
                name=host,
                type="A",
                content=origin_ip,
                proxied=True,
                ttl=1,  # automatic; proxied records always use it
                comment="Community Hub, managed by Terraform",
            )
            for host in hostnames
        ]
        self.settings: list[ZoneSetting] = []
        self.header_ruleset: Ruleset | None = None
        if not owns_zone:
            return
        for setting_id, value in ZONE_SETTINGS.items():
            setting = self.add(
                ZoneSetting, f"setting-{setting_id}", zone_id=self.zone_id, setting_id=setting_id, value={}
            )
            setting.add_override("value", value)
            self.settings.append(setting)
        self.header_ruleset = self.add(
            Ruleset,
            "security-headers",
            zone_id=self.zone_id,
            name="Security headers",
            description="HTTP security headers on every response of the zone",
            kind="zone",
            phase="http_response_headers_transform",
            rules=[
                RulesetRules(
                    action="rewrite",
                    expression="true",
                    description="Set the security headers on every response",
                    enabled=True,
                    action_parameters=RulesetRulesActionParameters(
                        headers={
                            name: RulesetRulesActionParametersHeaders(operation="set", value=value)
                            for name, value in headers.items()
                        }
                    ),
                )
            ],
        )
