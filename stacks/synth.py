"""The synth command: configuration in, `cdktf.out` out, with every bad input a clear error."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from rich.console import Console

from policies.stack_document import StackDocument, load_stack
from stacks.config import ConfigError, load_config
from stacks.outdir import (
    OutdirError, config_from_env, hold_manifest, interrupted_swap, outdir_from_env, outdir_lock, replace_problem, staged_outdir,
    unread_terraform_files,
)

EXIT_OK, EXIT_USAGE = 0, 2


def preview_request() -> str | None:
    """Branches to preview: HUB_PREVIEW, or the cdktf context value `hubPreview`."""
    if os.environ.get("HUB_PREVIEW"):
        return os.environ["HUB_PREVIEW"]
    context = os.environ.get("CDKTF_CONTEXT_JSON")
    if context:
        try:
            value = json.loads(context).get("hubPreview")
        except (ValueError, AttributeError):
            value = None
        # JSON may give a list (what cdktf.json's "context" invites) or a true, a number, an object:
        # their str() would slug into previews nobody asked for ("['feat/a'", "true").
        if isinstance(value, list) and value and all(isinstance(b, str) for b in value):
            return ",".join(value)
        if value and not isinstance(value, str):
            raise ConfigError([f"cdktf context hubPreview: {json.dumps(value)} is not a branch name or a list of branch names"])
        if value:
            return value
    return None


def synth(config_path: Path, outdir: Path) -> list[StackDocument]:
    """Validate, synthesize into a staging directory, swap it into place, read it back.

    Raises ConfigError for bad input; the previous output is then untouched.
    """
    problem = replace_problem(outdir)
    if problem:
        raise ConfigError([problem])
    left = interrupted_swap(outdir)
    if left:
        raise ConfigError([f"{outdir}: an interrupted run left the previous output in {left} (with any Terraform "
                           f"state): move what you need back into {outdir}, then remove {left.parent}"])
    unread = unread_terraform_files(outdir)
    if unread:  # synth would keep them beside the stacks, where Terraform loads them and the gate does not
        raise ConfigError([f"{path}: Terraform loads this file with its stack but the gate does not read it; "
                           "synthesize what it says into the stack, or remove it" for path in unread])
    config = load_config(config_path)
    # Imported late: loading the provider bindings is the slow part and bad config fails faster.
    from stacks.app import environments_to_synth, synth_app

    envs = environments_to_synth(config, preview_request())
    with staged_outdir(outdir) as staging:
        names = synth_app(config, envs, staging)
        hold_manifest(staging)  # deployable only once the gate passes (main.py)
    return [load_stack(outdir / "stacks" / n / "cdk.tf.json") for n in names]


def run(config_path: Path | None = None, outdir: Path | None = None, console: Console | None = None) -> tuple[int, list[StackDocument]]:
    console = console or Console(width=120)
    try:
        config_path = config_path or config_from_env()
        outdir = outdir or outdir_from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE, []
    try:
        docs = synth(config_path, outdir)
    except OutdirError as exc:  # the new output is in place, but not all of the old one was kept
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE, []
    except ConfigError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        print(f"Nothing was written; {outdir} is unchanged.", file=sys.stderr)
        return EXIT_USAGE, []
    from stacks.summary import print_summary

    print_summary(docs, console)
    return EXIT_OK, docs


def main() -> int:
    try:
        outdir = outdir_from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with outdir_lock(outdir):  # a gate run (main.py) on the same output waits, and is waited for
            code, _ = run(outdir=outdir)
    except OutdirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
