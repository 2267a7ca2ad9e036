"""HUB_STACK_5: the zone a stack owns sets strict SSL, TLS 1.2 or newer, and always-use-HTTPS.

HUB_CF_2/3/4 judge the zone settings that are written; a setting nobody writes is not there to
judge, and the zone keeps Cloudflare's default (SSL not strict, TLS 1.0, always-use-HTTPS off) for
every proxied hostname in it, whichever stack serves them. Zone settings are zone-wide, so for the
zone a stack owns each of the three must be set, by that stack or another of the run, on that zone:
on a zone_id that refers to the zone's `cloudflare_zone` resource or lookup (any other zone_id may be
another zone's). A zone created with a name unknown before apply is set only by settings of its own
stack whose zone_id refers to that very resource. A dynamic block's
template never counts as setting one: its for_each may make no block.

A stack owns the zone its `"//".hub` context says it owns, and every zone it creates.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from policies.dynamic_blocks import for_each_instances
from policies.findings import Finding, Severity
from policies.stack_document import Resource, StackDocument
from policies.stack_rules._cloudflare_zones import owned_zones, referenced_zone, zone_of
from policies.stack_rules._findings import RuleFindings
from policies.stack_rules._per_stack import once
from policies.stack_rules._values import blocks, certainly_exists, is_reference
from policies.tls_versions import is_minimum_or_newer

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

class Required(NamedTuple):
    wanted: str
    accepts: Callable[[Any], bool]
    default: str  # what the zone gets without the setting


REQUIRED = {
    "ssl": Required("strict", lambda v: v == "strict", "SSL that does not verify the origin's certificate"),
    "min_tls_version": Required("1.2 or newer", is_minimum_or_newer, "TLS 1.0"),
    "always_use_https": Required("on", lambda v: v == "on", "plain http:// served as it is"),
}


def _settings(doc: StackDocument) -> list[tuple[str, Any, Resource]]:
    """(setting id, value, resource) of every written setting of the three, on whichever zone."""
    return once(doc, "zone_tls_settings", lambda: _written_settings(doc))


def _written_settings(doc: StackDocument) -> list[tuple[str, Any, Resource]]:
    found: list[tuple[str, Any, Resource]] = []
    # A `count` or `for_each` known only at apply may make none: only what is certainly made counts.
    for res in doc.of_type("cloudflare_zone_setting"):
        setting_id = res.attrs.get("setting_id")
        if isinstance(setting_id, str) and setting_id in REQUIRED and certainly_exists(res):
            found.append((setting_id, res.attrs.get("value"), res))
        instances = for_each_instances(res.attrs.get("for_each"), setting_id, res.attrs.get("value"))
        found += [(key, setting, res) for key, setting in instances or () if key in REQUIRED]  # one per map entry
    for res in doc.of_type("cloudflare_zone_settings_override"):
        if certainly_exists(res):
            for settings in blocks(doc, res, res.attrs, "settings"):  # written blocks: `dynamic` is apart
                found += [(setting_id, settings[setting_id], res) for setting_id in REQUIRED if setting_id in settings]
    return found


def _on_zone(doc: StackDocument, zone: str | Resource) -> Callable[[StackDocument, Resource], bool]:
    """Whether a setting resource of a stack is on `zone`: a zone name, or a zone resource whose name
    is unknown (only a setting of its own stack that refers to that very resource is on it)."""
    if isinstance(zone, str):
        return lambda other, res: zone_of(other, res.attrs.get("zone_id")) == zone
    return lambda other, res: other is doc and referenced_zone(doc, res.attrs.get("zone_id")) is zone


def _zone_findings(
    doc: StackDocument, zone: str | Resource, block: Resource | None, all_docs: list[StackDocument]
) -> list[Finding]:
    # Zone settings are zone-wide: any stack of the run may make them, on a zone_id that names the zone.
    on = _on_zone(doc, zone)
    label = zone if isinstance(zone, str) else f"of {zone.address} (its name is unknown before apply)"
    shown_zone = zone if isinstance(zone, str) else zone.address
    findings = []
    for setting_id, required in REQUIRED.items():
        on_zone = [(v, other, r) for other in all_docs for s, v, r in _settings(other) if s == setting_id and on(other, r)]
        elsewhere = [r for s, _, r in _settings(doc) if s == setting_id and not on(doc, r)]
        if not on_zone:
            message = (
                f"zone {label}: {setting_id} is not set on the zone, so Cloudflare's default applies "
                f"({required.default}); it must be {required.wanted}"
            )
            if elsewhere:
                message += "; " + ", ".join(
                    f"{r.address} sets it on zone_id {r.attrs.get('zone_id')!r}, which does not refer to this zone"
                    for r in elsewhere
                )
            findings.append(RULE.failed(doc, block, message, zone=shown_zone, setting=setting_id))
        for raw, other, res in on_zone:
            if not required.accepts(raw):
                shown = f"{raw!r}, unknown before apply" if is_reference(raw) else repr(raw)
                where = res.address if other is doc else f"{res.address} of stack {other.name}"
                message = f"zone {label}: {setting_id} is {shown} ({where}); it must be {required.wanted}"
                # a finding points into its own stack: at the setting, or at the zone when another stack makes it
                findings.append(RULE.failed(doc, res if other is doc else block, message,
                                            zone=shown_zone, setting=setting_id))
    return findings


def evaluate(doc: StackDocument, all_docs: list[StackDocument]) -> list[Finding]:
    zones, unnamed = owned_zones(doc)
    findings = []
    for zone, block in zones.items():
        findings += _zone_findings(doc, zone, block, all_docs)
    for unnamed_zone in unnamed:
        findings += _zone_findings(doc, unnamed_zone, unnamed_zone, all_docs)
    if not findings:
        if zones or unnamed:
            names = [*zones, *(z.address for z in unnamed)]
            message = f"Zone {', '.join(names)} sets ssl strict, min_tls_version 1.2 or newer and always_use_https on."
        else:
            message = "This stack owns no Cloudflare zone: zone settings are judged in the stack that owns the zone."
        findings.append(RULE.passed(doc, message))
    return findings
