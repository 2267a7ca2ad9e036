"""HUB_STACK_5: the zone a stack owns sets strict SSL, TLS 1.2 or newer, and always-use-HTTPS.

HUB_CF_2/3/4 judge the zone settings that are written; a setting nobody writes is not there to
judge, and the zone keeps Cloudflare's default (SSL not strict, TLS 1.0, always-use-HTTPS off) for
every proxied hostname in it, whichever stack serves them. Zone settings are zone-wide, so the stack
that owns the zone must set each of the three, on that zone: on a zone_id that refers to the zone's
`cloudflare_zone` resource or lookup (any other zone_id may be another zone's). A dynamic block's
template never counts as setting one: its for_each may make no block.

A stack owns the zone its `"//".hub` context says it owns, and every zone it creates.
"""

from __future__ import annotations

import re
from typing import Any, Callable, NamedTuple

from policies.findings import Finding, Severity
from policies.stack_document import Resource, StackDocument
from policies.stack_rules._cloudflare_zones import named_zone, zone_name
from policies.stack_rules._context import hub_context
from policies.stack_rules._findings import RuleFindings
from policies.stack_rules._values import blocks, exists, is_reference

RULE_ID = "HUB_STACK_5"
TITLE = "Zone sets strict SSL, TLS >= 1.2 and always-use-HTTPS"
SEVERITY = Severity.HIGH
FIX = (
    'In the stack that owns the zone, set ssl = "strict", min_tls_version = "1.2" (or "1.3") and '
    'always_use_https = "on" as cloudflare_zone_setting resources whose zone_id refers to the zone\'s '
    "cloudflare_zone resource or data source (constructs_lib/edge.py does this)."
)
RESOURCE_TYPES = frozenset({"cloudflare_zone", "cloudflare_zone_setting", "cloudflare_zone_settings_override"})
RULE = RuleFindings(RULE_ID, TITLE, SEVERITY, FIX)

_VERSION = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})")


def _tls_1_2_or_newer(raw: Any) -> bool:
    match = _VERSION.fullmatch(raw.strip()) if isinstance(raw, str) else None
    return match is not None and (int(match.group(1)), int(match.group(2))) >= (1, 2)


class Required(NamedTuple):
    wanted: str
    accepts: Callable[[Any], bool]
    default: str  # what the zone gets without the setting


REQUIRED = {
    "ssl": Required("strict", lambda v: v == "strict", "SSL that does not verify the origin's certificate"),
    "min_tls_version": Required("1.2 or newer", _tls_1_2_or_newer, "TLS 1.0"),
    "always_use_https": Required("on", lambda v: v == "on", "plain http:// served as it is"),
}


def _surely_made(res: Resource) -> bool:
    """Whether the resource is certainly created: a `count` or `for_each` known only at apply may make none."""
    count = res.attrs.get("count")
    for_each = res.attrs.get("for_each")
    count_ok = count is None or (isinstance(count, int) and not isinstance(count, bool) and count >= 1)
    return count_ok and (for_each is None or (isinstance(for_each, (dict, list)) and len(for_each) > 0))


def _owned_zones(doc: StackDocument) -> tuple[dict[str, Resource | None], list[Resource]]:
    """Zone name -> the block that names it (where findings point), and the zones the stack creates
    whose name cannot be read."""
    zones: dict[str, Resource | None] = {}
    unnamed: list[Resource] = []
    for zone in doc.of_type("cloudflare_zone"):  # a zone the stack creates is a zone it owns
        if exists(zone):
            name = named_zone(zone)
            if name is None:
                unnamed.append(zone)
            else:
                zones.setdefault(name, zone)
    ctx = hub_context(doc)
    if ctx is not None and ctx.zone and ctx.owns_zone:
        name = ctx.zone.rstrip(".").lower()
        lookups = (d for d in doc.data_sources if d.type == "cloudflare_zone" and named_zone(d) == name)
        zones.setdefault(name, next(lookups, None))
    return zones, unnamed


def _settings(doc: StackDocument) -> list[tuple[str, Any, Resource]]:
    """(setting id, value, resource) of every written setting of the three, on whichever zone."""
    found: list[tuple[str, Any, Resource]] = []
    for res in doc.of_type("cloudflare_zone_setting"):
        setting_id = res.attrs.get("setting_id")
        if isinstance(setting_id, str) and setting_id in REQUIRED and _surely_made(res):
            found.append((setting_id, res.attrs.get("value"), res))
    for res in doc.of_type("cloudflare_zone_settings_override"):
        if _surely_made(res):
            for settings in blocks(doc, res, res.attrs, "settings"):  # written blocks: `dynamic` is apart
                found += [(setting_id, settings[setting_id], res) for setting_id in REQUIRED if setting_id in settings]
    return found


def _zone_findings(doc: StackDocument, zone: str, block: Resource | None) -> list[Finding]:
    settings = _settings(doc)
    findings = []
    for setting_id, required in REQUIRED.items():
        on_zone = [(v, r) for s, v, r in settings if s == setting_id and zone_name(doc, r.attrs.get("zone_id")) == zone]
        elsewhere = [r for s, _, r in settings if s == setting_id and zone_name(doc, r.attrs.get("zone_id")) != zone]
        if not on_zone:
            message = (
                f"zone {zone}: {setting_id} is not set on the zone, so Cloudflare's default applies "
                f"({required.default}); it must be {required.wanted}"
            )
            if elsewhere:
                message += "; " + ", ".join(
                    f"{r.address} sets it on zone_id {r.attrs.get('zone_id')!r}, which does not refer to this zone"
                    for r in elsewhere
                )
            findings.append(RULE.failed(doc, block, message, zone=zone, setting=setting_id))
        for raw, res in on_zone:
            if not required.accepts(raw):
                shown = f"{raw!r}, unknown before apply" if is_reference(raw) else repr(raw)
                message = f"zone {zone}: {setting_id} is {shown} ({res.address}); it must be {required.wanted}"
                findings.append(RULE.failed(doc, res, message, zone=zone, setting=setting_id))
    return findings


def evaluate(doc: StackDocument, all_docs: list[StackDocument]) -> list[Finding]:
    zones, unnamed = _owned_zones(doc)
    findings = [
        RULE.failed(doc, zone, f"{zone.address} creates a zone whose name is unknown before apply, so its "
                               "settings cannot be told from another zone's")
        for zone in unnamed
    ]
    for zone, block in zones.items():
        findings += _zone_findings(doc, zone, block)
    if not findings:
        if zones:
            message = f"Zone {', '.join(zones)} sets ssl strict, min_tls_version 1.2 or newer and always_use_https on."
        else:
            message = "This stack owns no Cloudflare zone: zone settings are judged in the stack that owns the zone."
        findings.append(RULE.passed(doc, message))
    return findings
