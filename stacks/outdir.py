"""Write a synthesized app so that the previous output survives any failure, and so that only
output that passed the policy gate can be deployed.

Synth goes to a fresh directory beside the target; only a complete result replaces the old one.
cdktf deploys what `cdktf.out/manifest.json` lists, also with `--skip-synth`, which runs no app and
so no gate. Synth therefore writes the manifest under another name, and only main.py, once the
gate has passed (or an override has been logged), puts it in place; without it cdktf refuses to
deploy ("Could not find manifest file").
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

OUTDIR_ENV, DEFAULT_OUTDIR = "CDKTF_OUTDIR", "cdktf.out"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def outdir_from_env() -> Path:
    """Where synth writes: CDKTF_OUTDIR, else cdktf.out; ValueError for a directory synth must not replace."""
    raw = os.environ.get(OUTDIR_ENV)
    if raw is not None and not raw.strip():
        raise ValueError(f"{OUTDIR_ENV}: empty; unset it (synth then writes to {DEFAULT_OUTDIR}) or name a directory")
    outdir = Path(raw if raw is not None else DEFAULT_OUTDIR)
    problem = replace_problem(outdir)
    if problem:
        raise ValueError(f"{OUTDIR_ENV}: {problem}")
    return outdir


def replace_problem(target: Path) -> str | None:
    """Why synth must not replace `target` with its output (None when it may).

    Synth swaps the whole directory, so the target may only be a previous synth output, an empty
    directory or a new path: never the working directory, the project or a directory holding either.
    """
    resolved = target.resolve()
    for protected, what in ((Path.cwd().resolve(), "the working directory"), (PROJECT_ROOT, "the project")):
        if resolved == protected or resolved in protected.parents:
            return f"{target} is {what} or holds it; synth replaces its output directory as a whole"
    if resolved.exists() and not resolved.is_dir():
        return f"{target} exists and is not a directory"
    existing = next((p for p in resolved.parents if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"{target} is inside {existing}, which is not a directory"
    if resolved.is_dir() and any(resolved.iterdir()) and not (
        (resolved / MANIFEST).exists() or (resolved / HELD_MANIFEST).exists()
    ):
        return f"{target} is a directory with files but no synth output (no {MANIFEST}); synth would replace it"
    return None


class OutdirError(ValueError):
    """The output directory cannot be used (its parent cannot be made or written)."""


@contextlib.contextmanager
def outdir_lock(target: Path) -> Iterator[None]:
    """Hold the output directory for one run at a time: synth, gate, release and cache of one run
    must all see the same output, not one that another run swapped in meanwhile. Raises
    OutdirError, before the run starts, when the lock beside the output cannot be made."""
    target = target.absolute()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = open(target.parent / f".{target.name}.lock", "a")
    except OSError as exc:
        raise OutdirError(f"{OUTDIR_ENV}: cannot write beside {target} ({exc.strerror or exc})") from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"Waiting for another run on {target.name} to finish...", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextlib.contextmanager
def staged_outdir(target: Path) -> Iterator[Path]:
    """Yield a temporary directory next to `target`; on success swap it into place."""
    target = target.absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.rename(target, old / "previous")
    os.rename(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


MANIFEST = "manifest.json"  # what cdktf reads to deploy
HELD_MANIFEST = "manifest.held-until-gate-passes.json"


def hold_manifest(outdir: Path) -> None:
    """Keep freshly synthesized output from being deployed until the gate passes it."""
    manifest = outdir / MANIFEST
    if manifest.exists():
        os.replace(manifest, outdir / HELD_MANIFEST)


def release_manifest(outdir: Path) -> None:
    """Make gated output deployable: seal each stack as it was gated (policies/deploy_seal.py),
    then put the manifest in place."""
    from policies.deploy_seal import seal_stacks

    held = outdir / HELD_MANIFEST
    if held.exists():
        seal_stacks(outdir)
        os.replace(held, outdir / MANIFEST)
