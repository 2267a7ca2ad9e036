"""A content-addressed cache of whole synth-and-gate runs.

The key covers everything a run reads: the configuration, the suppressions, every source file of
the generator and the gate, the lock file, the environment variables that steer a run (ours,
cdktf's, Checkov's and Python's), and today's date (suppressions expire). A hit is used only
while the synthesized output on disk is still byte-for-byte what that run wrote, so neither
edited sources nor an edited `cdktf.out` can bring back a stale verdict. Standard library only:
the point is to answer before anything heavy is imported.
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
# The code a run imports lives beside this package, wherever the run is started from; the
# configuration and the suppressions are read from the working directory.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("stacks", "constructs_lib", "policies")
SOURCE_FILES = ("main.py", "cdktf.json", "Pipfile.lock")
WORKING_FILES = ("suppressions.toml",)
STEERING_PREFIXES = ("HUB_", "CDKTF_", "CKV_", "CHECKOV_", "BC_", "PRISMA_", "PYTHON")
KEEP = 20


def _digest_file(h, path: Path) -> None:
    """The path and the bytes of a file, each length-prefixed so no two inputs give the same stream."""
    try:
        data = path.read_bytes()
    except OSError as exc:  # missing or unreadable: the run itself reports it, the key only differs
        data, state = b"", f"<{type(exc).__name__}>"
    else:
        state = str(len(data))
    name = str(path).encode()
    h.update(b"%d:%s\0%s\0" % (len(name), name, state.encode()))
    h.update(data)


def run_key(config: Path) -> str:
    h = hashlib.sha256()
    h.update(f"{sys.version}\0{sys.executable}\0{date.today().isoformat()}\0".encode())
    # Set-but-empty and unset differ: HUB_CHECKOV_TIMEOUT="" is an error, an unset one a default.
    steering = sorted((k, v) for k, v in os.environ.items() if k.startswith(STEERING_PREFIXES))
    h.update(json.dumps(steering).encode() + b"\0")
    files = [config, *(Path(f) for f in WORKING_FILES), *(PROJECT_ROOT / f for f in SOURCE_FILES)]
    if os.environ.get("HUB_PRICE_TABLE"):
        files.append(Path(os.environ["HUB_PRICE_TABLE"]))
    for d in SOURCE_DIRS:
        files += sorted(
            p for p in (PROJECT_ROOT / d).rglob("*") if p.suffix in (".py", ".toml") and "__pycache__" not in p.parts
        )
    for f in files:
        _digest_file(h, f)
    return h.hexdigest()


def tree_digest(root: Path) -> str | None:
    if not root.is_dir():
        return None
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            relative = p.relative_to(root)
            name = str(relative).encode()
            data = p.read_bytes()
            h.update(b"%d:%s\0%d\0" % (len(name), name, len(data)))
            h.update(data)
    return h.hexdigest()


@dataclass
class CachedRun:
    stdout: str
    stderr: str
    code: int


def lookup(key: str, outdir: Path) -> CachedRun | None:
    """The cached run for `key`, if its output is still on disk unchanged; None for anything else,
    a damaged or foreign entry included (the run then simply runs)."""
    path = CACHE_DIR / f"{key}.json"
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        digest = tree_digest(outdir)
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or digest is None or entry.get("outdir_digest") != digest:
        return None
    stdout, stderr, code = entry.get("stdout"), entry.get("stderr"), entry.get("code")
    if not (isinstance(stdout, str) and isinstance(stderr, str) and code in (0, 1) and type(code) is int):
        return None
    return CachedRun(stdout, stderr, code)


def store(key: str, outdir: Path, run: CachedRun, digest: str | None = None) -> None:
    """Keep the run for a later identical one, for the output whose tree digest is `digest` (by
    default the output as it is now). A cache that cannot be written costs only speed: the run's
    verdict stands, and a warning says why the next run will not be quicker."""
    try:
        digest = digest or tree_digest(outdir)
        if digest is None:
            return
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=CACHE_DIR, prefix=".entry.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"stdout": run.stdout, "stderr": run.stderr, "code": run.code, "outdir_digest": digest}, fh)
        os.replace(tmp, CACHE_DIR / f"{key}.json")
    except OSError as exc:
        print(f"warning: {CACHE_DIR}: the run was not cached ({exc.strerror or exc})", file=sys.stderr)
        return
    _prune()


def _prune() -> None:
    """Keep the newest KEEP entries; another run may be pruning at the same time."""
    def modified(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    entries = sorted(CACHE_DIR.glob("*.json"), key=modified, reverse=True)
    for old in entries[KEEP:]:
        try:
            old.unlink(missing_ok=True)
        except OSError:
            pass
