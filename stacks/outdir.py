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
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from policies.deploy_seal import SEAL_FILE, STACK_FILE

OUTDIR_ENV, DEFAULT_OUTDIR = "CDKTF_OUTDIR", "cdktf.out"
CONFIG_ENV, DEFAULT_CONFIG_FILE = "HUB_CONFIG", "environments.toml"
MANIFEST = "manifest.json"  # what cdktf reads to deploy
HELD_MANIFEST = "manifest.held-until-gate-passes.json"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def outdir_from_env() -> Path:
    """Where synth writes: CDKTF_OUTDIR, else cdktf.out; ValueError for a directory synth must not replace."""
    raw = os.environ.get(OUTDIR_ENV)
    if raw is not None and not raw.strip():
        raise ValueError(f"{OUTDIR_ENV}: empty; unset it (synth then writes to {DEFAULT_OUTDIR}) or name a directory")
    # normalised: "missing/../out" names out, which synth reads back through this path
    outdir = Path(os.path.normpath(raw if raw is not None else DEFAULT_OUTDIR))
    problem = replace_problem(outdir)
    if problem:
        raise ValueError(f"{OUTDIR_ENV}: {problem}")
    return outdir


def config_from_env() -> Path:
    """The configuration file: HUB_CONFIG, else environments.toml; ValueError when it is set but empty
    (Path("") is the working directory, which would be reported as an unreadable file). It lives here,
    beside outdir_from_env, because main.py reads both before anything heavy is imported."""
    raw = os.environ.get(CONFIG_ENV)
    if raw is not None and not raw.strip():
        raise ValueError(f"{CONFIG_ENV}: empty; unset it (synth then reads {DEFAULT_CONFIG_FILE}) or name the configuration file")
    return Path(raw if raw is not None else DEFAULT_CONFIG_FILE)


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
    if resolved.is_dir() and any(resolved.iterdir()) and not _is_synth_output(resolved):
        return (f"{target} is a directory with files but not a synth output (no cdktf {MANIFEST} listing "
                "stacks); synth would replace it")
    return None


def _is_synth_output(directory: Path) -> bool:
    """A cdktf output: its manifest (held or released) is a JSON object listing stacks."""
    for name in (MANIFEST, HELD_MANIFEST):
        try:
            manifest = json.loads((directory / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and isinstance(manifest.get("stacks"), dict):
            return True
    return False


# Lock descriptors this process holds. A forked child (the Checkov service) closes its copies, so a
# child outliving a killed run cannot keep the output locked: the lock then goes with the run.
_held_locks: set[int] = set()


def _close_inherited_locks() -> None:
    for fd in _held_locks:
        try:
            os.close(fd)
        except OSError:
            pass
    _held_locks.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


class OutdirError(ValueError):
    """The output directory cannot be used (its parent cannot be made or written)."""


@contextlib.contextmanager
def outdir_lock(target: Path) -> Iterator[None]:
    """Hold the output directory for one run at a time: synth, gate, release and cache of one run
    must all see the same output, not one that another run swapped in meanwhile. Raises
    OutdirError, before the run starts, when the lock beside the output cannot be made. A symlinked
    output is locked where it really is, so every spelling of it shares one lock."""
    target = target.resolve()
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
        _held_locks.add(lock.fileno())
        try:
            yield
        finally:
            _held_locks.discard(lock.fileno())


@contextlib.contextmanager
def staged_outdir(target: Path) -> Iterator[Path]:
    """Yield a temporary directory next to `target`; on success swap it into place.

    A symlinked target is replaced where it really is (the link stays), on its own file system, so
    what is carried over from the previous output moves by rename, never by copy."""
    shown, target = target, target.resolve()  # messages name the output as the user gave it
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # as a directory made by mkdir: a deploy by another user can read it
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
    if old is None:
        return
    try:
        kept = carry_over(old / "previous", target)
    except OSError as exc:  # nothing is deleted then: what was not moved stays where it is
        raise OutdirError(
            f"{shown}: could not keep the previous output's Terraform files ({exc.strerror or exc}); they are "
            f"left in {old / 'previous'}: move them back into {shown} before deploying"
        ) from None
    for stack in kept:
        print(f"note: {shown / 'stacks' / stack}: no longer synthesized; its Terraform files (state) are kept "
              "there", file=sys.stderr)
    shutil.rmtree(old, ignore_errors=True)


# What synth writes (or main.py after the gate); everything else in an output was put there later.
SYNTH_FILES = frozenset({MANIFEST, HELD_MANIFEST, STACK_FILE, SEAL_FILE})


def interrupted_swap(target: Path) -> Path | None:
    """The previous output an interrupted run left beside `target` (it may hold Terraform state)."""
    target = target.resolve()
    return next((d / "previous" for d in sorted(target.parent.glob(f".{target.name}.old.*"))
                 if (d / "previous").exists()), None)


_TERRAFORM_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json")


def unread_terraform_files(target: Path) -> list[Path]:
    """Terraform files beside the stacks of an output that the gate does not read: synth keeps
    them (carry_over), so they must be dealt with first."""
    stacks = target / "stacks"
    if not stacks.is_dir():
        return []
    return sorted(p for p in stacks.glob("*/*") if p.name not in SYNTH_FILES and p.name.endswith(_TERRAFORM_SUFFIXES))


def carry_over(previous: Path, target: Path) -> list[str]:
    """Move into the new output what Terraform and its users keep in the old one and synth did not
    write anew: a stack's local state (the backend path is relative to the stack's directory),
    `.terraform/`, the lock file, saved plans, and the same of stacks no longer synthesized (so
    their resources can still be destroyed). Returns the stacks that are no longer synthesized but
    had such files."""
    for entry in previous.iterdir():
        if entry.name != "stacks" and entry.name not in SYNTH_FILES and not (target / entry.name).exists():
            os.rename(entry, target / entry.name)
    kept: list[str] = []
    old_stacks = previous / "stacks"
    if not old_stacks.is_dir():
        return kept
    for old_stack in sorted(old_stacks.iterdir()):
        new_stack = target / "stacks" / old_stack.name
        if not old_stack.is_dir():
            if not new_stack.exists():
                os.rename(old_stack, new_stack)
            continue
        for entry in sorted(old_stack.iterdir()):
            if entry.name in SYNTH_FILES or (new_stack / entry.name).exists():
                continue  # written by this synth, or synth output of a stack no longer made
            if not new_stack.exists():
                new_stack.mkdir(parents=True)
                kept.append(old_stack.name)
            os.rename(entry, new_stack / entry.name)
    return kept


def hold_manifest(outdir: Path) -> None:
    """Keep freshly synthesized output from being deployed until the gate passes it."""
    manifest = outdir / MANIFEST
    if manifest.exists():
        os.replace(manifest, outdir / HELD_MANIFEST)


def release_manifest(outdir: Path) -> None:
    """Make gated output deployable (main.py seals its stacks first: policies/deploy_seal.py)."""
    held = outdir / HELD_MANIFEST
    if held.exists():
        os.replace(held, outdir / MANIFEST)
