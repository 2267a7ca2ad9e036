"""Which Cloudflare zone a `zone_id` stands for, as far as the stack itself tells.

A zone id is known only at apply time, but a reference to the zone the stack creates
(`${cloudflare_zone.x.id}`) or looks up by name (`${data.cloudflare_zone.x.zone_id}`) names the
zone. Anything else (a literal id, a variable, a lookup by id or by a computed name) cannot be told
apart from another zone's id: the answer is None, and callers must not count it as the zone.
"""

from __future__ import annotations

import re
from typing import Any

from policies.stack_document import Resource, StackDocument
from policies.stack_rules._context import hub_context
from policies.stack_rules._per_stack import once
from policies.stack_rules._values import exists, is_reference

# Terraform allows spaces inside ${ }; `[0]` is how a zone made with `count` is referred to.
_ZONE_REFERENCE = re.compile(r"\$\{\s*(data\.)?cloudflare_zone\.([A-Za-z_][\w-]*)(\[\s*0\s*\])?\.(id|zone_id)\s*\}")


def zone_name(doc: StackDocument, zone_id: Any) -> str | None:
    """The name of the zone `zone_id` refers to (lower case, no trailing dot), or None when unknown."""
    if not isinstance(zone_id, str):
        return None
    return once(doc, ("zone_name", zone_id), lambda: _zone_name(doc, zone_id.strip()))


def _zone_name(doc: StackDocument, zone_id: str) -> str | None:
    block = referenced_zone(doc, zone_id)
    return named_zone(block) if block else None


def zone_of(doc: StackDocument, zone_id: Any) -> str | None:
    """The zone a block's zone_id stands for: the zone it refers to, else (a variable, a literal id)
    the one zone the stack's hub context owns, when the stack names no other (no other zone created
    or looked up, none unnamed); None when it cannot be told."""
    return zone_name(doc, zone_id) or _only_zone(doc)


def _only_zone(doc: StackDocument) -> str | None:
    ctx = hub_context(doc)
    if ctx is None or not ctx.zone or not ctx.owns_zone:
        return None
    return context_zone(doc)


def context_zone(doc: StackDocument) -> str | None:
    """The zone the stack's hub context names (owned or shared), when the stack names no other: no
    other zone created or looked up, none unnamed. Else a zone_id that refers to no zone by name may
    be that other zone's, so None. Worked out once per stack: every proxied record asks."""
    return once(doc, "context_zone", lambda: _context_zone(doc))


def _context_zone(doc: StackDocument) -> str | None:
    ctx = hub_context(doc)
    zone = _literal_name(ctx.zone) if ctx is not None else None
    if zone is None:
        return None
    named = {named_zone(z) for z in doc.of_type("cloudflare_zone") if exists(z)}
    named |= {named_zone(d) for d in doc.data_sources if d.type == "cloudflare_zone"}
    return zone if named <= {zone} else None


def referenced_zone(doc: StackDocument, zone_id: Any) -> Resource | None:
    """The `cloudflare_zone` resource or data source of the stack that `zone_id` refers to, or None."""
    match = _ZONE_REFERENCE.fullmatch(zone_id.strip()) if isinstance(zone_id, str) else None
    if match is None:
        return None
    data, name, index, attribute = match.groups()
    if not data and attribute != "id":  # a zone resource's id is `id`; a lookup has both
        return None
    block = doc.by_address(f"data.cloudflare_zone.{name}" if data else f"cloudflare_zone.{name}")
    if block is None or "for_each" in block.attrs:  # for_each instances are picked by key: which zone is unknown
        return None
    # With `count` only `[0]` names an instance (the one there is whenever the setting can exist);
    # without it there is no index.
    if ("count" in block.attrs) != bool(index) or not exists(block):
        return None
    return block


def named_zone(block: Resource) -> str | None:
    """The name of the zone a `cloudflare_zone` resource creates or a data source looks up; None
    when it is not a literal."""
    if block.mode == "data":
        return _literal_name(_looked_up_name(block.attrs))
    # provider v5 calls the zone's name `name`, v4 `zone`
    return _literal_name(block.attrs.get("name", block.attrs.get("zone")))


def _looked_up_name(attrs: dict[str, Any]) -> Any:
    """The name a `cloudflare_zone` data source looks up: v5's `filter.name`, v4's `name`."""
    if "filter" not in attrs:
        return attrs.get("name")
    raw = attrs["filter"]
    found = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
    if not isinstance(found, dict):
        return None
    # With match = "any" a zone matching another criterion (account, status) may be found instead.
    if found.get("match", "all") != "all" and set(found) - {"name", "match"}:
        return None
    return found.get("name")


def normal_zone(name: str) -> str:
    """A zone name as compared: lower case, no surrounding spaces, no trailing dot."""
    return name.strip().rstrip(".").lower()


def owned_zones(doc: StackDocument) -> tuple[dict[str, Resource | None], list[Resource]]:
    """The zones a stack owns: its hub context's, when it says it owns it, and every zone it creates.
    Zone name -> the block that names it (None for the context's zone without a lookup), and the
    zones it creates whose name cannot be read."""
    zones: dict[str, Resource | None] = {}
    unnamed: list[Resource] = []
    for zone in doc.of_type("cloudflare_zone"):
        if exists(zone):
            name = named_zone(zone)
            if name is None:
                unnamed.append(zone)
            else:
                zones.setdefault(name, zone)
    ctx = hub_context(doc)
    if ctx is not None and ctx.zone and ctx.owns_zone:
        name = normal_zone(ctx.zone)
        lookups = (d for d in doc.data_sources if d.type == "cloudflare_zone" and named_zone(d) == name)
        zones.setdefault(name, next(lookups, None))
    return zones, unnamed


def _literal_name(raw: Any) -> str | None:
    if not isinstance(raw, str) or is_reference(raw) or not raw.strip():
        return None
    return normal_zone(raw)
