"""A content-addressed cache of whole synth-and-gate runs.

The key covers everything a run reads: the configuration, the suppressions, every source file of
the generator and the gate, the lock file, the environment variables that steer a run, and
today's date (suppressions expire). A hit is used only while the synthesized output on disk is
still byte-for-byte what that run wrote, so neither edited sources nor an edited `cdktf.out` can
bring back a stale verdict. Standard library only: the point is to answer before anything heavy
is imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

CACHE_DIR = Path(".cache") / "runs"
SOURCE_DIRS = ("stacks", "constructs_lib", "policies")
SOURCE_FILES = ("main.py", "cdktf.json", "Pipfile.lock", "suppressions.toml")
STEERING_ENV = ("HUB_CONFIG", "HUB_PREVIEW", "HUB_PRICE_TABLE", "CDKTF_CONTEXT_JSON", "CDKTF_OUTDIR", "HUB_CHECKOV_TIMEOUT")
KEEP = 20


def _digest_file(h, path: Path) -> None:
    h.update(str(path).encode() + b"\0")
    try:
        h.update(path.read_bytes())
    except FileNotFoundError:
        h.update(b"<missing>")
    h.update(b"\0")


def run_key(config: Path) -> str:
    h = hashlib.sha256()
    h.update(f"{sys.version}\0{date.today().isoformat()}\0".encode())
    for name in STEERING_ENV:
        h.update(f"{name}={os.environ.get(name, '')}\0".encode())
    files = [config, *(Path(f) for f in SOURCE_FILES)]
    if os.environ.get("HUB_PRICE_TABLE"):
        files.append(Path(os.environ["HUB_PRICE_TABLE"]))
    for d in SOURCE_DIRS:
        files += sorted(p for p in Path(d).rglob("*") if p.suffix in (".py", ".toml") and "__pycache__" not in p.parts)
    for f in files:
        _digest_file(h, f)
    return h.hexdigest()


def tree_digest(root: Path) -> str | None:
    if not root.is_dir():
        return None
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            _digest_file(h, p.relative_to(root))
            h.update(p.read_bytes())
    return h.hexdigest()


@dataclass
class CachedRun:
    stdout: str
    stderr: str
    code: int


def lookup(key: str, outdir: Path) -> CachedRun | None:
    path = CACHE_DIR / f"{key}.json"
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if entry.get("outdir_digest") != tree_digest(outdir):
        return None
    return CachedRun(entry["stdout"], entry["stderr"], entry["code"])


def store(key: str, outdir: Path, run: CachedRun) -> None:
    digest = tree_digest(outdir)
    if digest is None:
        return
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=CACHE_DIR, prefix=".entry.")
    with os.fdopen(fd, "w") as fh:
        json.dump({"stdout": run.stdout, "stderr": run.stderr, "code": run.code, "outdir_digest": digest}, fh)
    os.replace(tmp, CACHE_DIR / f"{key}.json")
    entries = sorted(CACHE_DIR.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)
