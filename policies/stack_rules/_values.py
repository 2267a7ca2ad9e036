"""Reading attribute values of a plain Terraform JSON resource body the way Terraform would.

Terraform JSON lets a nested block be one object or a list of objects, and lets any value be a
`${...}` expression whose real value is unknown until apply. A wrong shape (a number where tags
belong) is bad input: it raises StackReadError naming the file, the resource and the field, so
nothing passes because it could not be read.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from policies.secrets import is_reference
from policies.stack_document import Resource, StackDocument, StackReadError



def bad_value(doc: StackDocument, res: Resource, field: str, expected: str, found: Any) -> StackReadError:
    return StackReadError(f"{doc.display_path}: {res.address}.{field}: expected {expected}, found {found!r}")


def _is_scalar(item: Any) -> bool:
    """A string or a number (droplet ids are numbers); booleans are ints in Python but not here."""
    return isinstance(item, str) or (isinstance(item, int) and not isinstance(item, bool))


_ONLY_STR = {str}


def is_string_list(raw: Any) -> bool:
    """A list of nothing but strings (the item types are gathered in C: faster than all() over a generator)."""
    return type(raw) is list and set(map(type, raw)) <= _ONLY_STR


def string_list(doc: StackDocument, res: Resource, body: dict[str, Any], key: str, field: str = "") -> list[str]:
    """A list-of-strings attribute; a whole-list expression (`"${var.tags}"`) stays one item."""
    raw = body.get(key)
    if raw is None:
        return []
    if is_string_list(raw):
        return list(raw)  # the usual shape, answered without the checks below
    where = f"{field}.{key}" if field else key
    if isinstance(raw, str):
        if not is_reference(raw):
            raise bad_value(doc, res, where, "a list of strings", raw)
        return [raw]
    if not isinstance(raw, list) or not all(_is_scalar(item) for item in raw):
        raise bad_value(doc, res, where, "a list of strings", raw)
    return [str(item) for item in raw]


def blocks(doc: StackDocument, res: Resource, body: dict[str, Any], key: str, field: str = "") -> list[dict[str, Any]]:
    """The nested blocks called `key`, as a list whether Terraform JSON wrote one object or a list."""
    raw = body.get(key)
    where = f"{field}.{key}" if field else key
    if raw is None:
        return []
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise bad_value(doc, res, where, "a block (object) or a list of blocks", raw)
    return items


def referenced_names(value: Any, resource_type: str) -> list[str]:
    """Names of the `resource_type` resources a value refers to: `${digitalocean_droplet.web.id}`,
    `${digitalocean_droplet.web[0].id}` and `${digitalocean_droplet.web.*.id}` all name `web`."""
    pattern = _reference_pattern(resource_type)
    needle = resource_type + "."  # every match contains it; most values (tags, addresses) do not
    texts = value if isinstance(value, list) else [value]
    return [name for text in texts if isinstance(text, str) and needle in text for name in pattern.findall(text)]


@lru_cache(maxsize=64)
def _reference_pattern(resource_type: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.])" + re.escape(resource_type) + r"\.([A-Za-z_][\w-]*)")


# Exactly `${digitalocean_tag.<name>.name}` or `.id` (a tag's id is its name); in a function or a
# conditional the value is something else, so it stays an unresolved expression.
_TAG_REFERENCE = re.compile(r"\$\{\s*digitalocean_tag\.([A-Za-z_][\w-]*)\.(?:name|id)\s*\}")


def resolve_tag(doc: StackDocument, tag: str) -> str:
    """A tag's literal name: a reference to a `digitalocean_tag` resource of the stack becomes that
    tag's literal `name`; anything else is returned as written."""
    if not isinstance(tag, str) or "digitalocean_tag." not in tag:
        return tag  # no reference to a tag resource (the usual case): nothing to resolve
    match = _TAG_REFERENCE.fullmatch(tag)
    if match:
        target = doc.by_address(f"digitalocean_tag.{match.group(1)}")
        name = target.attrs.get("name") if target and exists(target) else None
        if isinstance(name, str) and not is_reference(name):
            return name
    return tag


def droplet_tags(doc: StackDocument, droplet: Resource) -> set[str]:
    """The tags a Droplet carries, with `digitalocean_tag` references resolved."""
    return {resolve_tag(doc, tag) for tag in string_list(doc, droplet, droplet.attrs, "tags")}


def instance_count(res: Resource) -> int | None:
    """How many instances a resource makes (1 without count or for_each), when `count` or `for_each`
    says so literally; None when it is an expression."""
    attrs = res.attrs
    if "count" not in attrs and "for_each" not in attrs:
        return 1  # the usual case, asked thousands of times per run
    if "for_each" in attrs:
        for_each = attrs["for_each"]
        return len(for_each) if isinstance(for_each, (dict, list)) else None
    count = attrs.get("count", 1)
    if isinstance(count, str) and count.strip().isdigit():
        count = int(count)  # Terraform converts "0" to a number
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None


def exists(res: Resource) -> bool:
    """False only for a resource that certainly creates nothing (a literal count of 0, an empty
    literal for_each); one whose count is an expression may exist, so it is judged."""
    return instance_count(res) != 0


def certainly_exists(res: Resource) -> bool:
    """Whether the resource certainly creates at least one instance: what protects, must exist."""
    count = instance_count(res)
    return count is not None and count > 0

