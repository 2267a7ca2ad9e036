"""The gate as `main.py` runs it after every synth, so `cdktf deploy` stops on a failing policy.

The only way past it is HUB_GATE_OVERRIDE="<reason>": the reason is required, printed, and
appended to gate-overrides.log with who and when. There is no silent bypass.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from policies.stack_document import StackDocument

OVERRIDE_ENV = "HUB_GATE_OVERRIDE"
OVERRIDE_LOG = Path("gate-overrides.log")
EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def override_reason() -> str | None:
    """The override's reason, or None when the gate runs. Raises ValueError for an empty reason."""
    raw = os.environ.get(OVERRIDE_ENV)
    if raw is None:
        return None
    from policies.reports import visible

    # One line, with control characters shown escaped: an ESC sequence must not hide the warning.
    reason = visible(" ".join(raw.split()))
    if len(reason.split()) < 3:
        raise ValueError(f"{OVERRIDE_ENV}: give the reason for skipping the policy gate in a few words (got {raw!r})")
    return reason


def log_override(reason: str, stacks: list[str]) -> str:
    """Append the override to the log and return the warning to print; ValueError if it cannot be logged."""
    who = os.environ.get("GITHUB_ACTOR") or getpass.getuser()
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        with OVERRIDE_LOG.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"when": when, "who": who, "stacks": stacks, "reason": reason}) + "\n")
    except OSError as exc:  # an override that cannot be logged is not allowed
        raise ValueError(f"{OVERRIDE_LOG}: cannot log the override there ({exc.strerror or exc}); the gate was not skipped") from None
    return f"WARNING: policy gate skipped by {who} at {when} for {', '.join(stacks)}: {reason} (logged to {OVERRIDE_LOG})"


def changed_since_read(docs: list[StackDocument]) -> list[str]:
    """The stacks whose file on disk is no longer the bytes the gate read (or is gone)."""
    from policies.deploy_seal import file_sha256

    changed = []
    for doc in docs:
        try:
            same = file_sha256(doc.path) == doc.sha256
        except OSError:
            same = False
        if not same:
            changed.append(doc.display_path)
    return changed


def seal_stacks(docs: list[StackDocument], gated: bool = True) -> None:
    """Seal each stack to the bytes the gate read (policies/deploy_seal.py)."""
    from policies.deploy_seal import seal

    for doc in docs:
        seal(doc.path, doc.sha256, gated)


def gate_synthesized(docs: list[StackDocument]) -> tuple[str, int, bool]:
    """Run the gate on freshly synthesized stacks; return the report text, the exit code, and
    whether the verdict is settled: the same inputs give it again (no Checkov error such as a
    timeout, which a quieter machine may not repeat)."""
    from policies import cost
    from policies.gate import GateInputError, GateOptions, evaluate
    from policies.reports import render

    try:
        result, costs = evaluate(docs, GateOptions())
    except GateInputError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return "", EXIT_USAGE, False
    text = render(result, "text", color=False) + "\n" + cost.render_text(costs, detail=False)
    return text, EXIT_PASS if result.passed() else EXIT_FAIL, not result.errors
