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
from policies.stack_rules._per_stack import once
from policies.stack_rules._values import is_reference

_ZONE_REFERENCE = re.compile(r"\$\{(?:(data)\.cloudflare_zone\.([A-Za-z_][\w-]*)\.(?:id|zone_id)"
                             r"|cloudflare_zone\.([A-Za-z_][\w-]*)\.id)\}")


def zone_name(doc: StackDocument, zone_id: Any) -> str | None:
    """The name of the zone `zone_id` refers to (lower case, no trailing dot), or None when unknown."""
    if not isinstance(zone_id, str):
        return None
    return once(doc, ("zone_name", zone_id), lambda: _zone_name(doc, zone_id.strip()))


def _zone_name(doc: StackDocument, zone_id: str) -> str | None:
    match = _ZONE_REFERENCE.fullmatch(zone_id)
    if match is None:
        return None
    data, lookup_name, resource_name = match.groups()
    block = doc.by_address(f"data.cloudflare_zone.{lookup_name}" if data else f"cloudflare_zone.{resource_name}")
    return named_zone(block) if block else None


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


def _literal_name(raw: Any) -> str | None:
    if not isinstance(raw, str) or is_reference(raw) or not raw.strip():
        return None
    return raw.strip().rstrip(".").lower()
