"""The `content` templates of Terraform `dynamic` blocks, read the same way from plain Terraform
JSON and from Checkov's list-wrapped form.

A dynamic block makes one block per item of its `for_each`, each its `content` with the iterator
filled in. The items are rarely known from the synthesized JSON, but the template is: a literal in
it holds for every block made, and a `${...}` in it is unknown, which the policies read fail-closed.
So the policies judge each template as one more block of its name. Imports nothing from Checkov.
"""

from __future__ import annotations

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
