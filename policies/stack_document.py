"""A synthesized stack (`cdk.tf.json`) as the gate sees it: resources with their Terraform address,
construct path and line number.

The gate reads only these files, so it works on any CDKTF output, not just ours.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from policies.input_files import display_path, has_surrogate_escape, json_type, parse_json, read_text_and_bytes


YAML_ONLY_LINE_BREAKS = "\x85\u2028\u2029"  # line breaks to YAML, ordinary characters to JSON
# Characters a JSON string may hold as they are but YAML refuses outright ("unacceptable character"):
# DEL, the C1 controls but \x85, and the noncharacters U+FFFE and U+FFFF. With the line breaks, the
# characters the clean copy for Checkov writes as escapes (they can only sit in strings).
YAML_UNREADABLE = YAML_ONLY_LINE_BREAKS + "\x7f" + "".join(map(chr, (*range(0x80, 0x85), *range(0x86, 0xA0)))) + "\ufffe\uffff"
_YAML_UNREADABLE = re.compile(f"[{re.escape(YAML_UNREADABLE)}]")
_COLON_AFTER_LINE_BREAK = re.compile(r"\n[ \t\r]*:")  # a key broken from its colon: strings hold no raw \n


def misread_by_checkov(text: str) -> bool:
    """Whether Checkov, which reads JSON with a YAML parser, would misread or refuse this valid JSON:
    a character written as an escaped surrogate pair, one YAML takes for a line break or refuses, a
    tab (YAML refuses it as indentation), or a line break between a key and its colon (YAML wants a
    key on one line)."""
    return (
        has_surrogate_escape(text)
        or _YAML_UNREADABLE.search(text) is not None
        or "\t" in text
        or _COLON_AFTER_LINE_BREAK.search(text) is not None
    )


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
    # Where the block sits in the document (a key_lines key), ("resource", type, name) unless given.
    key_path: tuple[str | int, ...] = field(default=(), repr=False, compare=False)
    # Derived once here: every policy and report asks for it, many times per resource.
    address: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        prefix = "data." if self.mode == "data" else ""
        object.__setattr__(self, "address", f"{prefix}{self.type}.{self.name}")
        if not self.key_path:
            block = {"managed": "resource", "data": "data"}.get(self.mode)
            key = (block, self.type, self.name) if block else (self.mode, self.name)
            object.__setattr__(self, "key_path", key)


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
    misread_by_checkov: bool = False  # see misread_by_checkov(); Checkov then reads a clean copy
    # The file's bytes as read: Checkov scans a copy of them, and the deploy seal binds a passed
    # stack to their SHA-256, so every policy judged, and Terraform gets, the same bytes.
    data: bytes = field(default=b"", repr=False)
    sha256: str = ""

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




# A JSON token: a whole string (matched in C, the bulk of the text), a brace, bracket or comma, or a
# scalar (number, true, false, null). Whitespace and colons between them are skipped; lines are
# counted only where one is recorded.
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\],]|[^\s"{}\[\],:]+')


def key_lines(text: str, max_depth: int = 3) -> dict[tuple[str | int, ...], int]:
    """Map each object key path up to `max_depth` (array elements by index) to the 1-based line where
    its value starts: Checkov reports a block on the line of its opening brace, which is usually,
    but not always, the line of its name.

    Written by hand because the json module does not report positions; the text is valid JSON
    already (parse_json), so the walk only tracks nesting and line breaks.
    """
    lines: dict[tuple[str | int, ...], int] = {}
    path: list[str | int | None] = []  # per open container: its current key, or element index
    kinds: list[str] = []
    line, counted_to = 1, 0  # the line at text offset counted_to
    expecting_key = False
    pending: tuple[str | int, ...] | None = None  # a key whose value starts at the next token

    def line_at(offset: int) -> int:
        nonlocal line, counted_to
        line += text.count("\n", counted_to, offset)
        counted_to = offset
        return line

    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == ",":
            if kinds and kinds[-1] == "{":
                expecting_key = True
            elif kinds:
                path[-1] += 1  # type: ignore[operator]
        elif first in "}]":
            kinds.pop()
            path.pop()
            expecting_key = False  # an empty object closes still waiting for a key
        elif expecting_key and first == '"':
            expecting_key = False
            shallow = len(kinds) <= max_depth
            path[-1] = json.loads(token) if shallow else ""  # deeper keys are never part of a recorded path
            if shallow:
                pending = tuple(path)  # type: ignore[arg-type]
        else:  # a value starts
            if pending is not None:
                lines.setdefault(pending, line_at(match.start()))
                pending = None
            elif kinds and kinds[-1] == "[" and len(kinds) <= max_depth:
                lines.setdefault(tuple(path), line_at(match.start()))  # type: ignore[arg-type]
            if first == "{":
                kinds.append("{")
                path.append(None)
                expecting_key = True
            elif first == "[":
                kinds.append("[")
                path.append(0)
    return lines


def _construct_path(body: Any) -> str:
    """cdktf's `"//".metadata.path`; "" when absent or not in cdktf's shape (foreign output)."""
    meta = body.get("//") if isinstance(body, dict) else None
    metadata = meta.get("metadata") if isinstance(meta, dict) else None
    path = metadata.get("path") if isinstance(metadata, dict) else None
    return path if isinstance(path, str) else ""  # not str(): a list would read as "['a', 'b']", which suppressions match



_UNLABELLED_BLOCKS = frozenset({"terraform", "locals"})  # top-level blocks without labels


def parse_stack(text: str, path: Path, name: str | None = None) -> StackDocument:
    display = display_path(path)
    raw = parse_json(text, StackReadError, display)
    if not isinstance(raw, dict):
        raise StackReadError(f"{display}: top level: expected a Terraform JSON object, found {json_type(raw)}")
    terraform_keys = {"resource", "data", "terraform", "provider", "variable", "output", "locals", "module"}
    unknown = sorted(k for k in raw if k not in terraform_keys and k != "//")
    if not (set(raw) & terraform_keys):
        raise StackReadError(f"{display}: top level: not a Terraform JSON configuration (keys: {', '.join(unknown) or 'none'})")
    if unknown:
        raise StackReadError(f"{display}: top level: unknown block(s) {', '.join(unknown)} for Terraform JSON")
    for block in sorted(terraform_keys & set(raw)):
        # null is "no block" only where a block has no labels (terraform, locals); Terraform refuses it
        # where labels are due ("Missing block label"), and Checkov crashes on it anywhere (see checkov_runner).
        if (raw[block] is not None or block not in _UNLABELLED_BLOCKS) and not isinstance(raw[block], dict):
            raise StackReadError(f"{display}: {block}: expected an object, found {json_type(raw[block])}")
    # Named blocks are objects (a provider may also be a list of configurations); Checkov crashes otherwise.
    for block in ("variable", "output", "module", "provider"):
        for label, body in (raw.get(block) or {}).items():
            configurations = body if block == "provider" and isinstance(body, list) else [body]
            if not all(isinstance(item, dict) for item in configurations):
                expected = "an object or a list of objects" if block == "provider" else "an object"
                raise StackReadError(f"{display}: {block}.{label}: expected {expected}, found {json_type(body)}")
    positions = key_lines(text)
    stack_name = name or stack_name_of(path)
    doc = StackDocument(name=stack_name, path=path, display_path=display, raw=raw)
    doc.block_lines = {key: line for key, line in positions.items() if len(key) <= 2}
    # Checkov crashes on a block written as null and then reads nothing of the stack: it gets a copy without them.
    doc.misread_by_checkov = misread_by_checkov(text) or None in raw.values()
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
    for label, body in (raw.get("module") or {}).items():
        doc.modules.append(Resource(type="module", name=label, attrs=body, construct_path=_construct_path(body),
                                    line=positions.get(("module", label), 1), mode="module"))
    for label, body in (raw.get("provider") or {}).items():
        # A list holds one configuration per alias; each is a block of its own (provider.aws.west).
        configurations = [(body, ("provider", label))] if isinstance(body, dict) else [
            (config, ("provider", label, index)) for index, config in enumerate(body)]
        for config, key in configurations:
            alias = config.get("alias")
            doc.providers.append(Resource(
                type="provider", name=f"{label}.{alias}" if isinstance(alias, str) and alias else label,
                attrs=config, construct_path=_construct_path(config), line=positions.get(key, 1), mode="provider",
                key_path=key,
            ))
    return doc


def _refuse_unread_siblings(stack: Path) -> None:
    """Terraform loads every *.tf and *.tf.json file of a stack's directory (overrides included), the
    gate only cdk.tf.json: a stack directory holding others would be deployed partly unchecked. The
    gate's own seal (policies/deploy_seal.py), exactly as the gate writes it, is no such file."""
    from policies.deploy_seal import SEAL_FILE, is_seal

    if stack.name != "cdk.tf.json":
        return  # a file given by name, not a cdktf stack directory
    others = sorted(
        p.name for p in stack.parent.iterdir()
        if p.name != stack.name and p.name.endswith((".tf", ".tf.json")) and not (p.name == SEAL_FILE and is_seal(p))
    )
    if others:
        raise StackReadError(
            f"{display_path(stack.parent)}: also holds {', '.join(others)}, which Terraform loads with cdk.tf.json "
            "but the gate does not read: synthesize it into the stack or remove it"
        )


def stack_name_of(path: Path) -> str:
    """cdktf.out/stacks/<name>/cdk.tf.json -> <name>; any other file: its name without .tf.json or .json
    (or the whole file name, if nothing else is left)."""
    if path.name == "cdk.tf.json":
        return path.resolve().parent.name or path.name  # ./cdk.tf.json names its directory
    stem = path.name.removesuffix(".tf.json") if path.name.endswith(".tf.json") else path.stem
    return stem or path.name


def load_stack(path: Path, name: str | None = None) -> StackDocument:
    text, data = read_text_and_bytes(path, StackReadError)
    doc = parse_stack(text, path, name)
    doc.data, doc.sha256 = data, hashlib.sha256(data).hexdigest()
    return doc


def names_whole_outputs(paths: list[Path]) -> bool:
    """Whether every path is a whole output (a `cdktf.out` or its `stacks`), so every stack it has is
    read; a stack file or a stack directory is one stack of an output (see discover_stack_files)."""
    return all(p.is_dir() and not (p / "cdk.tf.json").is_file() for p in paths)


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
