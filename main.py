#!/usr/bin/env python
"""The cdktf app (`cdktf synth`, `cdktf deploy <env>`, `make check`): synthesize every
environment, then run the policy gate on what was synthesized. A failing gate exits 1, which
stops `cdktf deploy` before anything is applied; unusable input exits 2."""

import io
import sys
from pathlib import Path

from policies import run_cache


def main() -> int:
    from policies.deploy_gate import EXIT_USAGE, override_reason
    from stacks.outdir import OutdirError, config_from_env, outdir_from_env, outdir_lock

    try:
        config = config_from_env()
        outdir = outdir_from_env()
        reason = override_reason()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # One run at a time per output: another run's synth must not swap in output this run then
    # releases for deploy, or caches under its own key.
    try:
        with outdir_lock(outdir):
            return synth_and_gate(config, outdir, reason)
    except OutdirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def synth_and_gate(config: Path, outdir: Path, reason: str | None) -> int:
    from policies.deploy_gate import EXIT_USAGE, changed_since_read, seal_stacks

    # A configuration that is no regular file (HUB_CONFIG=<(...), a pipe) can be read once only: by
    # the synth, not first by the cache key, which would leave the synth an empty file. Not cached.
    key = run_cache.run_key(config) if reason is None and config.is_file() else None
    if key and (hit := run_cache.lookup(key, outdir)):
        sys.stdout.write(hit.stdout)
        sys.stderr.write(hit.stderr)
        return hit.code

    if reason is None:
        from policies.checkov_runner import preload

        preload()  # Checkov's service imports it on the other core while we synthesize
    from rich.console import Console

    from stacks.synth import run

    summary = io.StringIO()
    code, docs = run(config, outdir, Console(file=summary, width=120, force_terminal=False))
    if code:
        return code
    out = summary.getvalue()
    from stacks.outdir import release_manifest

    if reason is not None:
        from policies.deploy_gate import log_override

        sys.stdout.write(out)
        try:
            print(log_override(reason, [d.name for d in docs]), file=sys.stderr)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        seal_stacks(docs, gated=False)
        release_manifest(outdir)
        return 0

    from policies.deploy_gate import gate_synthesized

    report, code, settled = gate_synthesized(docs)
    out += report
    sys.stdout.write(out)
    changed = changed_since_read(docs)
    if changed:  # the verdict is about other bytes than those on disk: release and cache neither
        print(f"error: {', '.join(changed)}: changed while the gate ran; nothing was released or cached, run again",
              file=sys.stderr)
        return EXIT_USAGE
    if code == 0:
        seal_stacks(docs)  # bound to the bytes the gate read: terraform plan stops on any later edit
        release_manifest(outdir)  # only now can cdktf deploy it, with or without --skip-synth
    # The output as released, taken before checking once more that the stacks are what the gate read:
    # an edit after that makes the next run's output differ from this digest, so it gates afresh.
    digest = run_cache.tree_digest(outdir)
    if key and settled and not changed_since_read(docs):  # settled: not a Checkov timeout or crash
        run_cache.store(key, outdir, run_cache.CachedRun(out, "", code), digest)
    return code


if __name__ == "__main__":
    sys.exit(main())
