"""Reading the gate's input files, with errors that name the file as the user gave it."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

# json and tomllib parse nested values recursively and raise RecursionError past about a thousand
# levels; every reader turns that into this message instead of a traceback.
NESTED_TOO_DEEPLY = "nested too deeply to read (more than about a thousand levels of arrays or tables)"


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages ("null", not "NoneType")."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def parse_json(text: str, error: type[Exception], shown: str) -> Any:
    """The decoded document, or `error` naming the file: invalid JSON, NaN or Infinity, nesting
    past the parser's limit, a key written twice in one object, or a lone UTF-16 surrogate
    (naming the field)."""
    try:
        raw = json.loads(text, parse_constant=_reject_json_constant, object_pairs_hook=_unique_keys)
    except _DuplicateKey:
        where, key = _duplicate(json.loads(text, object_pairs_hook=_Pairs), "")  # type: ignore[misc]
        raise error(
            f"{shown}: {where or 'top level'}: key {key!r} is written twice in one object; Terraform merges or "
            "refuses such keys, and the gate would read only the last one: write it once"
        ) from None
    except json.JSONDecodeError as exc:
        raise error(f"{shown}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except ValueError as exc:  # NaN or Infinity (_reject_json_constant), or an integer past int()'s limit
        if "integer string conversion" in str(exc):
            raise error(f"{shown}: a number has more than {sys.get_int_max_str_digits():,} digits, "
                        "more than any value the gate reads") from None
        raise error(f"{shown}: not valid JSON ({exc})") from None
    except RecursionError:
        raise error(f"{shown}: {NESTED_TOO_DEEPLY}") from None
    if (where := _lone_surrogate(text, raw)) is not None:
        raise error(f"{shown}: {where}: a string holds a lone UTF-16 surrogate escape (\\udXXX), which is not text")
    return raw


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object_pairs_hook: the object, unless a key repeats (json would keep only the last)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey
    return obj


class _Pairs(list):
    """An object decoded as its (key, value) pairs, repeats kept, told apart from an array."""


def _duplicate(node: Any, path: str) -> tuple[str, str] | None:
    """(path of the object, key) of the first key written twice in one object."""
    if isinstance(node, _Pairs):
        seen: set[str] = set()
        for key, _ in node:
            if key in seen:
                return path, key
            seen.add(key)
        children = [(f"{path}.{key}" if path else key, child) for key, child in node]
    elif isinstance(node, list):
        children = [(f"{path}[{index}]", child) for index, child in enumerate(node)]
    else:
        return None
    for where, child in children:
        if (found := _duplicate(child, where)) is not None:
            return found
    return None


def _reject_json_constant(name: str) -> None:
    """json's parse_constant hook: NaN and Infinity are Python's extensions, not JSON (Terraform never writes them)."""
    raise ValueError(f"{name} is not a JSON value")


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def has_surrogate_escape(text: str) -> bool:
    """Whether the JSON text writes a UTF-16 surrogate as an escape (`\ud83d\ude00` for one emoji)."""
    return _SURROGATE_ESCAPE.search(text) is not None


def _lone_surrogate(text: str, raw: Any) -> str | None:
    """Where decoded JSON holds a lone UTF-16 surrogate (a `\\udXXX` escape without its pair), or None.

    Python's json accepts them, but they are not text: no report could print them, and Terraform
    would not read them either. A UTF-8 file can hold them only as escapes, so most files need
    just the regex scan.
    """
    return _surrogate_path(raw, "") if has_surrogate_escape(text) else None


def _surrogate_path(node: Any, path: str) -> str | None:
    if isinstance(node, str):
        return None if _encodable(node) else path
    if isinstance(node, dict):
        children = [(key, f"{path}.{key}" if path else str(key), child) for key, child in node.items()]
    elif isinstance(node, list):
        children = [(None, f"{path}[{index}]", child) for index, child in enumerate(node)]
    else:
        return None
    for key, where, child in children:
        if key is not None and not _encodable(key):
            return where
        found = _surrogate_path(child, where)
        if found is not None:
            return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_path(path: Path) -> str:
    """The path as messages and reports show it: relative to the working directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_text(path: Path, error: type[Exception], shown: str | None = None) -> str:
    """The file's text, or `error` saying which file and why it cannot be read."""
    return read_text_and_bytes(path, error, shown)[0]


def read_text_and_bytes(path: Path, error: type[Exception], shown: str | None = None) -> tuple[str, bytes]:
    """The file's text and the very bytes it was decoded from (one read, so a file written
    meanwhile cannot give a text of one version and bytes of another)."""
    shown = shown or display_path(path)
    try:
        data = path.read_bytes()
        # as Path.read_text decodes: the byte-order mark some editors write is dropped, newlines made "\n"
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig").read()
    except FileNotFoundError:
        raise error(f"{shown}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{shown}: cannot be read ({exc})") from None
    return text, data
