"""Write a synthesized app so that the previous output survives any failure.

Synth goes to a fresh directory beside the target; only a complete result replaces the old one.
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
