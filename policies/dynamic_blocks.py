"""The `content` templates of Terraform `dynamic` blocks, read the same way from plain Terraform
JSON and from Checkov's list-wrapped form.

A dynamic block makes one block per item of its `for_each`, each its `content` with the iterator
filled in. The items are rarely known from the synthesized JSON, but the template is: a literal in
it holds for every block made, and a `${...}` in it is unknown, which the policies read fail-closed.
So the policies judge each template as one more block of its name. Imports nothing from Checkov.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_LINE_KEYS = frozenset({"__startline__", "__endline__"})  # Checkov's, not block names


def dynamic_templates(dynamic: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(block name, where it is written as findings name it - "dynamic.inbound_rule[0]" -, content
    template) for a `"dynamic"` value.

    Terraform JSON writes `{"<name>": {"for_each": ..., "content": {...}}}`, with a list of objects
    allowed at either level; Checkov wraps the content in a list too. A template that cannot be read
    is given as an empty block, every attribute of which is unknown.
    """
    counts: dict[str, int] = {}
    for by_name in dynamic if isinstance(dynamic, list) else [dynamic]:
        if not isinstance(by_name, dict):
            continue
        for name, specs in by_name.items():
            if name in _LINE_KEYS:
                continue
            for spec in specs if isinstance(specs, list) else [specs]:
                content = spec.get("content") if isinstance(spec, dict) else None
                if isinstance(content, list) and len(content) == 1:
                    content = content[0]
                index = counts[name] = counts.get(name, -1) + 1
                yield str(name), f"dynamic.{name}[{index}]", content if isinstance(content, dict) else {}


_EACH_KEY = re.compile(r"\$\{\s*each\.key\s*\}")
_EACH_VALUE = re.compile(r"\$\{\s*each\.value\s*\}")


def for_each_instances(for_each: Any, key: Any, value: Any) -> list[tuple[Any, Any]] | None:
    """(key, value) of every instance a resource with a literal `for_each` map makes, when its key
    attribute is exactly `${each.key}` and its value `${each.value}` or a literal (a cloudflare_zone_setting
    per map entry); None when that cannot be told, so the caller fails closed."""
    if isinstance(for_each, list) and len(for_each) == 1 and isinstance(for_each[0], dict):
        for_each = for_each[0]  # Checkov's list wrapping
    if isinstance(key, list) and len(key) == 1:
        key = key[0]
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(for_each, dict) or not isinstance(key, str) or not _EACH_KEY.fullmatch(key.strip()):
        return None
    if isinstance(value, str) and _EACH_VALUE.fullmatch(value.strip()):
        return [(entry, v[0] if isinstance(v, list) and len(v) == 1 else v) for entry, v in for_each.items()]
    if isinstance(value, str) and ("${" in value or "%{" in value):
        return None  # another expression of each instance
    return [(entry, value) for entry in for_each]
