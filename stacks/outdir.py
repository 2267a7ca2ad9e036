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
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


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
    """Make gated output deployable."""
    held = outdir / HELD_MANIFEST
    if held.exists():
        os.replace(held, outdir / MANIFEST)
