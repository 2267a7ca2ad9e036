"""`python -m policies check|cost|plan`: the gate on any CDKTF output.

Exit codes: 0 every stack passes, 1 a policy fails, 2 the input cannot be used.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
DEFAULT_OUT = Path("cdktf.out")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 too, but we want our one-line format
        raise UsageError(f"{self.prog}: {message}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return a.resolve() == b.resolve()


def _is_standard_output(path: Path) -> bool:
    try:
        here, out = os.stat(path), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError):  # no such file, or standard output is closed or not a real file
        return False
    return (here.st_dev, here.st_ino) == (out.st_dev, out.st_ino)


def _print(text: str) -> None:
    """Write a report to standard output, ending in a newline; exit 2 (UsageError) if it cannot take it."""
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except OSError as exc:
        # Point standard output at /dev/null, so the interpreter's last flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise UsageError(f"standard output: cannot be written ({exc.strerror or exc})") from None


def write_output(text: str, output: Path | None, inputs: Iterable[Path | None] = ()) -> None:
    """Print, or write atomically: a failed run never leaves a half-written report behind, and a
    report never replaces one of the run's own `inputs` (a stack, the suppressions, the plan)."""
    # A stack or file named by bytes that are not UTF-8 reaches the report as lone surrogates, which no
    # UTF-8 stream can carry; written as "\udcff" (in JSON reports the very same escape) the report stays text.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if output is None:
        _print(text)
        return
    if _is_standard_output(output):  # /dev/stdout: keep the shell's redirection (">>" appends)
        _print(text)
        return
    shown = output
    for source in inputs:
        if source is not None and _same_file(output, Path(source)):
            raise UsageError(f"--output {shown}: is an input of this run ({source}); name another file")
    if not (output.exists() and not output.is_file() and not output.is_dir()):
        # Through a symlink to a file: the report replaces its target, the link stays. (A device or
        # pipe such as /dev/stdout is written into, below; resolving it would name "pipe:[N]".)
        output = output.resolve()
    output = output.absolute()
    if output.is_dir():
        raise UsageError(f"--output {shown}: is a directory; name a file")
    if output.exists() and not output.is_file():
        # /dev/null, /dev/stdout, a named pipe: write into it; replacing it would delete the device.
        try:
            with output.open("w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise UsageError(f"--output {shown}: cannot be written ({exc.strerror or exc})") from None
        return
    if not output.parent.is_dir():
        raise UsageError(f"--output: directory {output.parent} does not exist")
    # The report's mode: the file's own if it exists, else what the umask gives a new file (not mkstemp's 0600).
    mode = output.stat().st_mode & 0o777 if output.exists() else 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name[:100]}.", dir=output.parent)
    except OSError as exc:
        raise UsageError(f"--output {shown}: cannot be written ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, output)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"--output {shown}: cannot be written ({exc.strerror or exc})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)  # the only way to read it is to set it
    os.umask(current)
    return current


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-11-27") from None


def build_parser() -> argparse.ArgumentParser:
    from policies.reports import FORMATS

    parser = _Parser(prog="python -m policies", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="run the policy gate on synthesized stacks")
    check.add_argument("paths", nargs="*", type=Path, help="cdktf.out, a stack directory or a cdk.tf.json (default: cdktf.out)")
    check.add_argument("--env", action="append", default=[], help="only these stacks (repeatable)")
    check.add_argument("--format", choices=FORMATS, default="text")
    check.add_argument("--output", type=Path, help="write the report here instead of standard output")
    check.add_argument("--suppressions", type=Path, help="suppressions file (default: ./suppressions.toml if present)")
    check.add_argument("--today", type=_date, default=date.today(), help="date for suppression expiry (default: today)")
    check.add_argument("--show-passed", action="store_true", help="list passed checks too (text format)")

    cost = sub.add_parser("cost", help="monthly cost per environment and resource")
    cost.add_argument("paths", nargs="*", type=Path, help="cdktf.out or stack files (default: cdktf.out)")
    cost.add_argument("--base", type=Path, help="another cdktf.out to compare with (for a pull-request comment)")
    cost.add_argument("--env", action="append", default=[])
    cost.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    cost.add_argument("--output", type=Path)

    plan = sub.add_parser("plan", help="the plan-time gate on `terraform show -json` output")
    plan.add_argument("plan", type=Path, help="plan JSON from `terraform show -json PLANFILE`")
    plan.add_argument("--env", help="environment of the plan (default: read from the plan)")
    plan.add_argument("--allowances", type=Path, help="TOML file of [[allow_destroy]] entries")
    plan.add_argument("--stateful", action="append", default=[], help="extra addresses (globs) to treat as stateful")
    plan.add_argument("--format", choices=FORMATS, default="text")
    plan.add_argument("--output", type=Path)
    plan.add_argument("--today", type=_date, default=date.today())
    return parser


def _only(docs, envs: list[str]):
    return [d for d in docs if d.name in envs] if envs else docs


def _select(docs, envs: list[str]):
    missing = sorted(set(envs) - {d.name for d in docs})
    if missing:
        raise UsageError(f"--env: no stack named {', '.join(missing)} (stacks: {', '.join(d.name for d in docs)})")
    return _only(docs, envs)


def cmd_check(args) -> int:
    from policies.gate import GateOptions, evaluate, load_documents
    from policies.reports import render
    from policies.stack_document import names_whole_outputs
    from policies.suppressions import DEFAULT_SUPPRESSIONS_PATH

    paths = args.paths or [DEFAULT_OUT]
    docs = load_documents(paths)
    options = GateOptions(environments=args.env, suppressions=args.suppressions, today=args.today,
                          whole_outputs=names_whole_outputs(paths))
    result, _ = evaluate(docs, options)
    color = args.output is None and args.format == "text" and sys.stdout.isatty()
    inputs = [d.path for d in docs] + [args.suppressions or DEFAULT_SUPPRESSIONS_PATH, _price_override()]
    write_output(render(result, args.format, color=color, show_passed=args.show_passed), args.output, inputs)
    return EXIT_PASS if result.passed() else EXIT_FAIL


def cmd_cost(args) -> int:
    from policies import cost
    from policies.gate import load_documents

    head_paths = args.paths or [DEFAULT_OUT]
    head_docs = load_documents(head_paths)
    base_docs = []
    if args.base is None:
        head = report = cost.estimate_many(_select(head_docs, args.env))
    else:
        base_docs = load_documents([args.base])
        # An environment the change adds or removes is on one side only, and the diff shows it as such.
        missing = sorted(set(args.env) - {d.name for d in (*head_docs, *base_docs)})
        if missing:
            def stacks(docs):
                return ", ".join(d.name for d in docs) or "none"
            raise UsageError(
                f"--env: no stack named {', '.join(missing)} on either side "
                f"(head {' '.join(map(str, head_paths))}: {stacks(head_docs)}; base {args.base}: {stacks(base_docs)})")
        head = cost.estimate_many(_only(head_docs, args.env))
        report = cost.diff(cost.estimate_many(_only(base_docs, args.env)), head)
    renderer = {"text": cost.render_text, "json": cost.render_json, "markdown": cost.render_markdown}[args.format]
    write_output(renderer(report), args.output, [d.path for d in head_docs + base_docs] + [_price_override()])
    failed = any(f.failed for c in head for f in c.findings)
    return EXIT_FAIL if failed else EXIT_PASS


def cmd_plan(args) -> int:
    from policies import plan as plan_gate
    from policies.reports import GateResult, render, visible
    from policies.reports.markdown import escape

    plan = plan_gate.load_plan(args.plan)
    allowances = plan_gate.load_allowances(args.allowances) if args.allowances else []
    findings = plan_gate.check_plan(
        plan, environment=args.env, allowances=allowances, file=str(args.plan), extra_stateful=args.stateful, today=args.today
    )
    change = plan_gate.plan_cost_change(plan, file=str(args.plan))
    lines = [f"{c.address}: {c.action} {_usd(c.before_usd)} -> {_usd(c.after_usd)} ({_usd(c.delta, signed=True)})" for c in change.changes]
    lines += [f"{u.address}: price unknown ({u.side}: {u.detail})" for u in change.unknown]
    summary = "Monthly cost change of the plan: " + _usd(change.total_delta, signed=True)
    if not change.complete:
        # Left-out deletes make the total too high, not too low: say which way it can be off.
        summary += {
            "lower": " (lower bound: some prices are unknown)",
            "upper": " (upper bound: the prices of some destroyed resources are unknown)",
        }.get(change.bound, " (incomplete: some prices are unknown, so the real change may be higher or lower)")
    # Destroys an unprotected environment allows are passed findings, which reports hide: say them here.
    lines[:0] = [f.message for f in findings
                 if f.check_id == plan_gate.BLOCKED_CHECK_ID and not f.failed and f.extra.get("destroyed")]
    # A for_each key in an address may hold a line break, ESC, "|" or "<": one line each, shown, not obeyed.
    lines = [visible(line) for line in lines + [summary]]
    result = GateResult(findings=findings, stacks=sorted({f.stack for f in findings if f.stack}) or [args.plan.stem],
                        cost_text="\n".join(lines), cost_markdown="\n".join(f"- {escape(line)}" for line in lines),
                        cost_data=change.to_data())
    write_output(render(result, args.format), args.output, [args.plan, args.allowances, _price_override()])
    return EXIT_PASS if result.passed() else EXIT_FAIL


def _price_override() -> Path | None:
    from policies.pricing import override_path

    return override_path()


def _usd(value, signed: bool = False) -> str:
    if value is None:
        return "unknown"
    return f"{'+' if signed and value > 0 else ''}{value:.2f} USD"


COMMANDS = {"check": cmd_check, "cost": cmd_cost, "plan": cmd_plan}


def main(argv: list[str] | None = None) -> int:
    from policies.gate import GateInputError
    from policies.plan import PlanReadError
    from policies.pricing import PriceTableError
    from policies.suppressions import SuppressionError

    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, GateInputError, PlanReadError, PriceTableError, SuppressionError) as exc:
        from policies.reports import visible

        for line in str(exc).splitlines():
            print(f"error: {visible(line)}", file=sys.stderr)  # a name from a file must not drive the terminal
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
