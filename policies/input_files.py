"""Reading the gate's input files, with errors that name the file as the user gave it."""

from __future__ import annotations

from pathlib import Path


# json and tomllib parse nested values recursively and raise RecursionError past about a thousand
# levels; every reader turns that into this message instead of a traceback.
NESTED_TOO_DEEPLY = "nested too deeply to read (more than about a thousand levels of arrays or tables)"


def reject_json_constant(name: str) -> None:
    """json's parse_constant hook: NaN and Infinity are Python's extensions, not JSON (Terraform never writes them)."""
    raise ValueError(f"{name} is not a JSON value")


def display_path(path: Path) -> str:
    """The path as messages and reports show it: relative to the working directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_text(path: Path, error: type[Exception], shown: str | None = None) -> str:
    """The file's text, or `error` saying which file and why it cannot be read."""
    shown = shown or display_path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{shown}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{shown}: cannot be read ({exc})") from None
