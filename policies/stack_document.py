"""A synthesized stack (`cdk.tf.json`) as the gate sees it: resources with their Terraform address,
construct path and line number.

The gate reads only these files, so it works on any CDKTF output, not just ours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from policies.input_files import display_path, has_surrogate_escape, parse_json, read_text


class StackReadError(Exception):
    """A stack file that cannot be used. The message names the file and what is wrong."""


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    attrs: dict[str, Any]
    construct_path: str
    line: int
    mode: str = "managed"  # "managed" for resource blocks, "data" for data sources, or "module"/"provider"
    # Derived once here: every policy and report asks for it, many times per resource.
    address: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        prefix = "data." if self.mode == "data" else ""
        object.__setattr__(self, "address", f"{prefix}{self.type}.{self.name}")

    @property
    def key_path(self) -> tuple[str, ...]:
        """Where the block's name sits in the document (the key_lines key): ("resource", type, name)."""
        if self.mode in ("module", "provider"):
            return (self.mode, self.name)
        return ("data" if self.mode == "data" else "resource", self.type, self.name)


@dataclass
class StackDocument:
    name: str  # stack name: the directory name under cdktf.out/stacks, or the file's stem
    path: Path
    display_path: str  # path as shown in reports (relative to the working directory when possible)
    raw: dict[str, Any]
    resources: list[Resource] = field(default_factory=list)
    data_sources: list[Resource] = field(default_factory=list)
    # Module calls (address module.<name>) and provider configurations (provider.<name>): Checkov
    # reports on them too, and a module's resources are out of the gate's sight.
    modules: list[Resource] = field(default_factory=list)
    providers: list[Resource] = field(default_factory=list)
    # Line of each top-level block and of the blocks right inside it ("provider", ("terraform", "backend")).
    block_lines: dict[tuple[str, ...], int] = field(default_factory=dict)
    surrogate_escapes: bool = False  # the text writes a character as a \udXXX pair (Checkov cannot read it)

    def blocks(self) -> list[Resource]:
        """Every block that Checkov may report on: resources, data sources, modules, providers."""
        return [*self.resources, *self.data_sources, *self.modules, *self.providers]

    def of_type(self, *types: str) -> Iterator[Resource]:
        return (r for r in self.resources if r.type in types)

    def by_address(self, address: str) -> Resource | None:
        for r in (*self.resources, *self.data_sources):
            if r.address == address:
                return r
        return None

    @property
    def variables(self) -> dict[str, Any]:
        return self.raw.get("variable", {}) or {}

    @property
    def outputs(self) -> dict[str, Any]:
        return self.raw.get("output", {}) or {}

    @property
    def backend(self) -> dict[str, Any]:
        return (self.raw.get("terraform", {}) or {}).get("backend", {}) or {}




def key_lines(text: str, max_depth: int = 3) -> dict[tuple[str, ...], int]:
    """Map each object key path up to `max_depth` to the 1-based line where the key appears.

    Written by hand because the json module does not report positions; it walks the text once
    and only tracks string and nesting state.
    """
    lines: dict[tuple[str, ...], int] = {}
    stack: list[str | None] = []  # open containers: key for objects' current member, None for arrays
    kinds: list[str] = []
    line = 1
    i, n = 0, len(text)
    expecting_key = False
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == '"':
            j = i + 1
            while j < n:
                d = text[j]
                if d == "\\":
                    j += 2
                    continue
                if d == '"':
                    break
                if d == "\n":
                    line += 1
                j += 1
            if expecting_key and kinds and kinds[-1] == "{":
                key = json.loads(text[i : j + 1])
                stack[-1] = key
                depth = len(kinds)
                if depth <= max_depth:
                    path = tuple(k for k in stack if k is not None)
                    lines.setdefault(path, line)
                expecting_key = False
            i = j
        elif c == "{":
            kinds.append("{")
            stack.append(None)
            expecting_key = True
        elif c == "[":
            kinds.append("[")
            stack.append(None)
        elif c in "}]":
            if kinds:
                kinds.pop()
                stack.pop()
        elif c == ",":
            if kinds and kinds[-1] == "{":
                expecting_key = True
        i += 1
    return lines


def _construct_path(body: Any) -> str:
    """cdktf's `"//".metadata.path`; "" when absent or not in cdktf's shape (foreign output)."""
    meta = body.get("//") if isinstance(body, dict) else None
    metadata = meta.get("metadata") if isinstance(meta, dict) else None
    return str(metadata.get("path", "")) if isinstance(metadata, dict) else ""



def parse_stack(text: str, path: Path, name: str | None = None) -> StackDocument:
    display = display_path(path)
    raw = parse_json(text, StackReadError, display)
    if not isinstance(raw, dict):
        raise StackReadError(f"{display}: top level: expected a Terraform JSON object, found {type(raw).__name__}")
    terraform_keys = {"resource", "data", "terraform", "provider", "variable", "output", "locals", "module"}
    unknown = sorted(k for k in raw if k not in terraform_keys and k != "//")
    if not (set(raw) & terraform_keys):
        raise StackReadError(f"{display}: top level: not a Terraform JSON configuration (keys: {', '.join(unknown) or 'none'})")
    if unknown:
        raise StackReadError(f"{display}: top level: unknown block(s) {', '.join(unknown)} for Terraform JSON")
    for block in sorted(terraform_keys & set(raw)):
        if raw[block] is not None and not isinstance(raw[block], dict):
            raise StackReadError(f"{display}: {block}: expected an object, found {type(raw[block]).__name__}")
    # Named blocks are objects (a provider may also be a list of configurations); Checkov crashes otherwise.
    for block in ("variable", "output", "module", "provider"):
        for label, body in (raw.get(block) or {}).items():
            configurations = body if block == "provider" and isinstance(body, list) else [body]
            if not all(isinstance(item, dict) for item in configurations):
                expected = "an object or a list of objects" if block == "provider" else "an object"
                raise StackReadError(f"{display}: {block}.{label}: expected {expected}, found {type(body).__name__}")
    positions = key_lines(text)
    stack_name = name or stack_name_of(path)
    doc = StackDocument(name=stack_name, path=path, display_path=display, raw=raw)
    doc.block_lines = {key: line for key, line in positions.items() if len(key) <= 2}
    doc.surrogate_escapes = has_surrogate_escape(text)
    for block, mode, target in (("resource", "managed", doc.resources), ("data", "data", doc.data_sources)):
        section = raw.get(block, {}) or {}
        if not isinstance(section, dict):
            raise StackReadError(f"{display}: {block}: expected an object of resource types")
        for rtype, instances in section.items():
            if not isinstance(instances, dict):
                raise StackReadError(f"{display}: {block}.{rtype}: expected an object of named resources")
            for rname, body in instances.items():
                if not isinstance(body, dict):
                    raise StackReadError(f"{display}: {block}.{rtype}.{rname}: expected an object of attributes")
                target.append(
                    Resource(
                        type=rtype,
                        name=rname,
                        attrs=body,
                        construct_path=_construct_path(body),
                        line=positions.get((block, rtype, rname), 1),
                        mode=mode,
                    )
                )
    for block, target in (("module", doc.modules), ("provider", doc.providers)):
        for label, body in (raw.get(block) or {}).items():
            target.append(
                Resource(
                    type=block,  # so the address reads module.<name> / provider.<name>
                    name=label,
                    attrs=body if isinstance(body, dict) else {},  # a provider may be a list of configurations
                    construct_path=_construct_path(body),
                    line=positions.get((block, label), 1),
                    mode=block,
                )
            )
    return doc


def _refuse_unread_siblings(stack: Path) -> None:
    """Terraform loads every *.tf and *.tf.json file of a stack's directory (overrides included), the
    gate only cdk.tf.json: a stack directory holding others would be deployed partly unchecked."""
    if stack.name != "cdk.tf.json":
        return  # a file given by name, not a cdktf stack directory
    others = sorted(p.name for p in stack.parent.iterdir() if p.name != stack.name and p.name.endswith((".tf", ".tf.json")))
    if others:
        raise StackReadError(
            f"{display_path(stack.parent)}: also holds {', '.join(others)}, which Terraform loads with cdk.tf.json "
            "but the gate does not read: synthesize it into the stack or remove it"
        )


def stack_name_of(path: Path) -> str:
    """cdktf.out/stacks/<name>/cdk.tf.json -> <name>; any other file: its name without .tf.json or .json."""
    if path.name == "cdk.tf.json":
        return path.parent.name
    return path.name.removesuffix(".tf.json") if path.name.endswith(".tf.json") else path.stem


def load_stack(path: Path, name: str | None = None) -> StackDocument:
    text = read_text(path, StackReadError)
    return parse_stack(text, path, name)


def discover_stack_files(paths: list[Path]) -> list[tuple[str, Path]]:
    """Resolve command-line paths to (stack name, cdk.tf.json) pairs.

    Accepts a `cdktf.out` directory, a `cdktf.out/stacks` directory, a single stack directory,
    or a JSON file. Raises StackReadError for anything else, so that nothing passes unread.
    """
    found: list[tuple[str, Path]] = []
    for p in paths:
        if p.is_file():
            name = stack_name_of(p)
            found.append((name, p))
        elif p.is_dir():
            candidates = []
            if (p / "cdk.tf.json").is_file():
                candidates = [p / "cdk.tf.json"]
            else:
                root = p / "stacks" if (p / "stacks").is_dir() else p
                candidates = sorted(root.glob("*/cdk.tf.json"))
            if not candidates:
                raise StackReadError(f"{display_path(p)}: no cdk.tf.json found (expected cdktf.out/stacks/<stack>/cdk.tf.json)")
            found.extend((c.parent.name, c) for c in candidates)
        else:
            raise StackReadError(f"{display_path(p)}: no such file or directory")
    for _, path in found:
        _refuse_unread_siblings(path)
    unique: dict[Path, tuple[str, Path]] = {}
    for name, path in found:  # the same file named twice (a stack and its cdktf.out) is read once
        unique.setdefault(path.resolve(), (name, path))
    by_name: dict[str, Path] = {}
    for name, path in unique.values():
        if name in by_name:  # findings, suppressions and --env tell stacks apart by name
            raise StackReadError(
                f"{display_path(path)}: another stack of this run is also named {name!r} "
                f"({display_path(by_name[name])}); check them in separate runs"
            )
        by_name[name] = path
    return list(unique.values())
