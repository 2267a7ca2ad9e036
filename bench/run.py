#!/usr/bin/env python
"""`make bench`: how fast synth and the policy gate are, measured against the project's targets.

Every command runs in a scratch copy of the project (sources copied, `.venv` and `node_modules`
linked), so the repository's `cdktf.out`, `.cache/runs` and `gate-overrides.log` are never touched.
Each timed command runs under bench/_measure.py, a fresh launcher that reports wall time and peak
memory. Results go to a table on the terminal and to bench/results.json.

Exit status: 0 when every command ran, whether or not the targets were met (this is a report);
1 when a command failed, with its log kept in the scratch directory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results.json"

PROJECT_FILES = ("main.py", "environments.toml", "cdktf.json", "Pipfile.lock", "package.json", "suppressions.toml")
PROJECT_DIRS = ("stacks", "constructs_lib", "policies")
LINKED_DIRS = (".venv", "node_modules")
# Inherited settings that would change what a run does; the bench sets its own.
STEERING_PREFIXES = ("HUB_", "CDKTF_")

PY = ".venv/bin/python"
CDKTF = "node_modules/.bin/cdktf"
CHECKOV = ".venv/bin/checkov"
OVERRIDE_REASON = "benchmark: timing the bare synth only"

TARGET_SYNTH_WARM_S = 3.0
TARGET_EXTRA_ENV_MS = 60.0
TARGET_PEAK_MB_AT_50 = 500.0
TARGET_RATIO = 0.5
TARGET_RERUN_S = 0.3
TARGET_POLICY_MS_PER_1000 = 20.0

SECTIONS = ("synth", "cli", "previews", "pipeline", "policies")


class CommandFailed(Exception):
    def __init__(self, label: str, detail: str, log: Path):
        super().__init__(f"{label}: {detail} (log: {log})")
        self.label, self.detail, self.log = label, detail, log


@dataclass
class Sample:
    wall_s: float
    rc: int
    largest_process_mb: float
    tree_sampled_mb: float

    @property
    def peak_mb(self) -> float:
        # The sampled sum can miss a short spike; the largest single process never undercounts itself.
        return max(self.largest_process_mb, self.tree_sampled_mb)


@dataclass
class Series:
    label: str
    command: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def walls(self) -> list[float]:
        return [s.wall_s for s in self.samples]

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak_mb(self) -> float:
        return max(s.peak_mb for s in self.samples)

    def as_json(self) -> dict:
        return {
            "command": self.command,
            "runs": len(self.samples),
            "wall_s": [round(w, 4) for w in self.walls],
            "best_s": round(self.best, 4),
            "median_s": round(self.median, 4),
            "peak_rss_mb": round(self.peak_mb, 1),
            "largest_process_mb": round(max(s.largest_process_mb for s in self.samples), 1),
            "tree_sampled_mb": round(max(s.tree_sampled_mb for s in self.samples), 1),
            "exit_codes": sorted({s.rc for s in self.samples}),
        }


def combined(label: str, command: str, parts: Sequence[Series]) -> Series:
    """Run i of a pipeline = the sum of run i of each step; peak = the largest step's (they run one after another)."""
    out = Series(label, command)
    for steps in zip(*(p.samples for p in parts)):
        out.samples.append(Sample(sum(s.wall_s for s in steps), max(s.rc for s in steps),
                                  max(s.largest_process_mb for s in steps), max(s.tree_sampled_mb for s in steps)))
    return out


def preview_branches(n: int) -> str:
    return ",".join(f"feat-{i}" for i in range(n))


def has_traceback(text: str) -> bool:
    return "Traceback (most recent call last)" in text


class Bench:
    def __init__(self, args: argparse.Namespace, console: Console):
        self.args = args
        self.console = console
        self.scratch = Path(tempfile.mkdtemp(prefix="hub-bench-"))
        self.logs = self.scratch / "bench-logs"
        self.logs.mkdir()
        self.counter = 0
        self.series: dict[str, Series] = {}
        self.extra: dict[str, object] = {}
        self.errors: list[str] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(STEERING_PREFIXES)}
        self.env.update({
            "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "CHECKPOINT_DISABLE": "1",
        })
        self._copy_project()

    # --- set-up -----------------------------------------------------------------------------

    def _copy_project(self) -> None:
        for name in PROJECT_FILES:
            if (ROOT / name).is_file():
                shutil.copy2(ROOT / name, self.scratch / name)
        for name in PROJECT_DIRS:
            shutil.copytree(ROOT / name, self.scratch / name, ignore=shutil.ignore_patterns("__pycache__"))
        for name in LINKED_DIRS:
            if not (ROOT / name).is_dir():
                raise SystemExit(f"error: {ROOT / name} is missing; run `make install` first")
            (self.scratch / name).symlink_to(ROOT / name)

    def cleanup(self) -> None:
        if self.errors or self.args.keep:
            self.console.print(f"Scratch copy and logs kept in {self.scratch}")
        else:
            shutil.rmtree(self.scratch, ignore_errors=True)

    # --- running one command ----------------------------------------------------------------

    def measure(self, label: str, cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,),
                check: Callable[[str, str], str | None] | None = None) -> tuple[Sample, Path]:
        """Run `cmd` in the scratch copy under the launcher; raise CommandFailed if it did not work."""
        self.counter += 1
        stem = self.logs / f"{self.counter:03d}-{label.replace(' ', '_').replace('/', '_')}"
        out_log, err_log, result = stem.with_suffix(".out"), stem.with_suffix(".err"), stem.with_suffix(".json")
        with out_log.open("wb") as out, err_log.open("wb") as err:
            launcher = subprocess.run([sys.executable, "-S", str(BENCH / "_measure.py"), str(result), "--", *cmd],
                                      cwd=self.scratch, env={**self.env, **env}, stdout=out, stderr=err)
        if launcher.returncode != 0 or not result.exists():
            raise CommandFailed(label, f"launcher exited {launcher.returncode}", err_log)
        data = json.loads(result.read_text())
        stdout, stderr = out_log.read_text(errors="replace"), err_log.read_text(errors="replace")
        if data["rc"] not in ok:
            raise CommandFailed(label, f"exit {data['rc']}: {self._tail(stderr or stdout)}", err_log)
        problem = check(stdout, stderr) if check else None
        if problem:
            raise CommandFailed(label, problem, err_log)
        sample = Sample(data["wall_s"], data["rc"], data["largest_process_kb"] / 1024, data["tree_sampled_kb"] / 1024)
        self.console.log(f"{label}: {sample.wall_s:.2f} s, {sample.peak_mb:.0f} MB, exit {sample.rc}")
        return sample, out_log

    @staticmethod
    def _tail(text: str, lines: int = 6) -> str:
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])

    def stack_count(self, outdir: str) -> int:
        stacks = self.scratch / outdir / "stacks"
        return sum(1 for p in stacks.glob("*/cdk.tf.json")) if stacks.is_dir() else 0

    def expect_stacks(self, label: str, outdir: str, expected: int) -> None:
        found = self.stack_count(outdir)
        if found != expected:
            raise CommandFailed(label, f"expected {expected} stacks in {outdir}/stacks, found {found}", self.logs)

    def clear_run_cache(self) -> None:
        shutil.rmtree(self.scratch / ".cache" / "runs", ignore_errors=True)

    @staticmethod
    def python_clean(stdout: str, stderr: str) -> str | None:
        return "a Python traceback was printed" if has_traceback(stdout + stderr) else None

    # --- the commands -----------------------------------------------------------------------

    def synth_env(self, n_previews: int, outdir: str) -> dict[str, str]:
        env = {"CDKTF_OUTDIR": outdir}
        if n_previews:
            env["HUB_PREVIEW"] = preview_branches(n_previews)
        return env

    def cli_env(self, n_previews: int) -> dict[str, str]:
        env = {"HUB_GATE_OVERRIDE": OVERRIDE_REASON, "CI": "1", "CHECKPOINT_DISABLE": "1"}
        if n_previews:
            env["HUB_PREVIEW"] = preview_branches(n_previews)
        return env

    def gate_env(self, n_previews: int) -> dict[str, str]:
        return {"HUB_PREVIEW": preview_branches(n_previews)} if n_previews else {}

    def runs_for(self, n_previews: int) -> int:
        return self.args.runs if n_previews <= 10 else self.args.big_runs

    # --- sections ---------------------------------------------------------------------------

    def section_synth(self) -> None:
        """(1) `python -m stacks`, three environments, warm: one untimed run first."""
        cmd, env = [PY, "-m", "stacks"], self.synth_env(0, "out-synth")
        self.measure("synth warm-up", cmd, env, check=self.python_clean)
        series = Series("synth", " ".join(cmd))
        for i in range(self.args.runs):
            series.samples.append(self.measure(f"synth run {i + 1}", cmd, env, check=self.python_clean)[0])
        self.extra["base_stacks"] = self.stack_count("out-synth")
        self.series["synth_3"] = series

    def section_cli(self) -> None:
        """(2) the same through `cdktf synth`, the gate skipped by its logged override."""
        cmd, env = [CDKTF, "synth"], self.cli_env(0)
        self.measure("cdktf synth warm-up", cmd, env, check=self.python_clean)
        series = Series("cdktf synth", f"HUB_GATE_OVERRIDE=... CI=1 {' '.join(cmd)}")
        for i in range(self.args.runs):
            series.samples.append(self.measure(f"cdktf synth run {i + 1}", cmd, env, check=self.python_clean)[0])
        self.expect_stacks("cdktf synth", "cdktf.out", self.base_stacks())
        self.series["cdktf_synth_3"] = series

    def base_stacks(self) -> int:
        if "base_stacks" not in self.extra:
            self.measure("count stacks", [PY, "-m", "stacks"], self.synth_env(0, "out-synth"), check=self.python_clean)
            self.extra["base_stacks"] = self.stack_count("out-synth")
        return int(self.extra["base_stacks"])

    def section_previews(self) -> None:
        """(3) 3 + N previews via `python -m stacks`."""
        for n in self.args.previews:
            outdir = f"out-previews-{n}"
            cmd, env = [PY, "-m", "stacks"], self.synth_env(n, outdir)
            series = Series(f"synth +{n} previews", f"HUB_PREVIEW=feat-0..feat-{n - 1} {' '.join(cmd)}")
            for i in range(self.runs_for(n)):
                series.samples.append(self.measure(f"synth +{n} previews run {i + 1}", cmd, env, check=self.python_clean)[0])
            self.expect_stacks(series.label, outdir, self.base_stacks() + n)
            self.series[f"synth_3_plus_{n}"] = series

    def section_pipeline(self) -> None:
        """(4) anchor (cdktf synth + Checkov alone) against ours (`python main.py`, cold, then re-run)."""
        ours_cmd = [PY, "main.py"]
        self.clear_run_cache()
        self.measure("gate warm-up", ours_cmd, {}, ok=(0, 1), check=self.python_clean)  # compiles the gate's modules once
        for n in [0, *(n for n in self.args.previews if n == max(self.args.previews))]:
            try:
                self._pipeline_for(n, ours_cmd)
            except CommandFailed as exc:
                self.record_error(exc)

    def _pipeline_for(self, n: int, ours_cmd: list[str]) -> None:
        tag = f"3+{n}" if n else "3"
        expected = self.base_stacks() + n
        synth = Series(f"anchor synth {tag}", f"{CDKTF} synth (gate override)")
        checkov = Series(f"anchor checkov {tag}", f"BC_SKIP_MAPPING=TRUE {CHECKOV} -d cdktf.out --framework terraform_json --skip-download --quiet --compact")
        cold = Series(f"ours cold {tag}", " ".join(ours_cmd) + " (run cache removed)")
        rerun = Series(f"ours re-run {tag}", " ".join(ours_cmd) + " (nothing changed)")
        checkov_cmd = [CHECKOV, "-d", "cdktf.out", "--framework", "terraform_json", "--skip-download", "--quiet", "--compact"]

        def gate_ran(stdout: str, stderr: str) -> str | None:
            if has_traceback(stdout + stderr):
                return "a Python traceback was printed"
            if not list((self.scratch / ".cache" / "runs").glob("*.json")):
                return "the gate reached no verdict (it stored no run in .cache/runs)"
            return None

        cold_stdout = ""
        for i in range(self.runs_for(n)):
            synth.samples.append(self.measure(f"anchor synth {tag} run {i + 1}", [CDKTF, "synth"], self.cli_env(n), check=self.python_clean)[0])
            self.expect_stacks(synth.label, "cdktf.out", expected)
            checkov.samples.append(self.measure(f"anchor checkov {tag} run {i + 1}", checkov_cmd, {"BC_SKIP_MAPPING": "TRUE"}, ok=(0, 1))[0])
            self.clear_run_cache()
            sample, out_log = self.measure(f"ours cold {tag} run {i + 1}", ours_cmd, self.gate_env(n), ok=(0, 1), check=gate_ran)
            cold.samples.append(sample)
            cold_stdout = out_log.read_text(errors="replace")
        self.expect_stacks(cold.label, "cdktf.out", expected)

        replayed = True
        for i in range(self.runs_for(n)):
            sample, out_log = self.measure(f"ours re-run {tag} run {i + 1}", ours_cmd, self.gate_env(n), ok=(0, 1), check=self.python_clean)
            rerun.samples.append(sample)
            replayed &= out_log.read_text(errors="replace") == cold_stdout
        anchor = combined(f"anchor {tag}", "cdktf synth + checkov", [synth, checkov])
        key = f"3_plus_{n}" if n else "3"
        for name, s in (("anchor_synth", synth), ("anchor_checkov", checkov), ("anchor", anchor), ("ours_cold", cold), ("ours_rerun", rerun)):
            self.series[f"{name}_{key}"] = s
        self.extra[f"gate_verdict_{key}"] = {0: "pass", 1: "fail"}.get(cold.samples[-1].rc, str(cold.samples[-1].rc))
        self.extra[f"rerun_replayed_cached_output_{key}"] = replayed

    def section_policies(self) -> None:
        """(5) our stack rules, cost and per-resource checks in-process on the largest synthesized set."""
        candidates = sorted(self.args.previews, reverse=True)
        outdir = next((f"out-previews-{n}" for n in candidates if self.stack_count(f"out-previews-{n}")), None)
        if outdir is None:
            n = max(self.args.previews)
            outdir = f"out-previews-{n}"
            self.measure(f"synth +{n} previews for policies", [PY, "-m", "stacks"], self.synth_env(n, outdir), check=self.python_clean)
        self.counter += 1
        log = self.logs / f"{self.counter:03d}-policy_speed.err"
        proc = subprocess.run([PY, str(BENCH / "_policy_speed.py"), f"{outdir}/stacks", str(self.args.policy_repeat)],
                              cwd=self.scratch, env=self.env, capture_output=True, text=True)
        log.write_text(proc.stderr)
        if proc.returncode != 0:
            raise CommandFailed("policy speed", f"exit {proc.returncode}: {self._tail(proc.stderr)}", log)
        data = json.loads(proc.stdout)
        data["stacks_dir"] = f"{outdir}/stacks"
        self.extra["policies"] = data
        self.console.log(f"policies: {data['ms_per_1000_resources']['median']:.1f} ms per 1,000 resources ({data['resources']} resources)")

    def record_error(self, exc: CommandFailed) -> None:
        self.errors.append(str(exc))
        self.console.print(f"[red]FAILED[/red] {exc}")

    def run(self) -> None:
        for name in self.args.only:
            try:
                getattr(self, f"section_{name}")()
            except CommandFailed as exc:
                self.record_error(exc)


# --- report ---------------------------------------------------------------------------------

@dataclass
class Target:
    name: str
    value: float | None
    unit: str
    limit: float
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "NOT MEASURED"
        return "PASS" if self.value <= self.limit else "MISS"

    def as_json(self) -> dict:
        return {"target": self.name, "value": None if self.value is None else round(self.value, 4), "unit": self.unit,
                "limit": self.limit, "verdict": self.verdict, "note": self.note}


def targets(bench: Bench) -> list[Target]:
    s, x = bench.series, bench.extra
    out: list[Target] = []

    def median(key: str) -> float | None:
        return s[key].median if key in s else None

    out.append(Target("synth, 3 environments, warm (median)", median("synth_3"), "s", TARGET_SYNTH_WARM_S))
    t0 = median("synth_3")
    for n in bench.args.previews:
        tn = median(f"synth_3_plus_{n}")
        value = (tn - t0) * 1000 / n if tn is not None and t0 is not None else None
        out.append(Target(f"time per extra preview environment, N = {n}", value, "ms", TARGET_EXTRA_ENV_MS, "(t(N) - t(0)) / N, medians"))
    if 50 in bench.args.previews:
        key = "synth_3_plus_50"
        out.append(Target("peak memory, synth of 3 + 50 previews", s[key].peak_mb if key in s else None, "MB", TARGET_PEAK_MB_AT_50,
                          "max(largest process, sampled process-tree sum)"))
    for key, tag in (("3", "3 environments"), *((f"3_plus_{n}", f"3 + {n} previews") for n in bench.args.previews if n == max(bench.args.previews))):
        ours, anchor = median(f"ours_cold_{key}"), median(f"anchor_{key}")
        ratio = ours / anchor if ours is not None and anchor else None
        out.append(Target(f"ours cold / anchor, {tag}", ratio, "x", TARGET_RATIO, "medians; anchor = cdktf synth + Checkov alone"))
        out.append(Target(f"re-run with nothing changed, {tag}", median(f"ours_rerun_{key}"), "s", TARGET_RERUN_S,
                          "" if x.get(f"rerun_replayed_cached_output_{key}", True) else "output differed from the cold run: not a cache hit"))
    pol = x.get("policies")
    out.append(Target("our policies in-process per 1,000 resources", pol["ms_per_1000_resources"]["median"] if pol else None, "ms",
                      TARGET_POLICY_MS_PER_1000, f"{pol['stacks']} stacks, {pol['resources']} resources; excl. Checkov's runner" if pol else ""))
    return out


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.1f} {unit}"


def print_report(bench: Bench, goals: list[Target], console: Console) -> None:
    table = Table(title="Measurements (wall time; peak RSS: sampled sum over the process tree, and ru_maxrss of its largest process)")
    for col, justify in (("measurement", "left"), ("runs", "right"), ("best", "right"), ("median", "right"),
                         ("peak RSS, tree sum", "right"), ("largest process", "right")):
        table.add_column(col, justify=justify)
    for s in bench.series.values():
        table.add_row(s.label, str(len(s.samples)), fmt(s.best, "s"), fmt(s.median, "s"), f"{s.peak_mb:.0f} MB",
                      f"{max(x.largest_process_mb for x in s.samples):.0f} MB")
    pol = bench.extra.get("policies")
    if pol:
        table.add_row(f"our policies in-process, {pol['stacks']} stacks", str(pol["repeat"]),
                      f"{pol['total_ms']['best']:.1f} ms", f"{pol['total_ms']['median']:.1f} ms", "-", "-")
    console.print(table)
    if pol:
        parts = ", ".join(f"{k} {v:.1f} ms" for k, v in pol["parts_median_ms"].items())
        console.print(f"our policies, median per part on {pol['resources']} resources: {parts}")

    verdicts = Table(title="Targets")
    for col in ("target", "value", "limit", "verdict", "note"):
        verdicts.add_column(col)
    colours = {"PASS": "green", "MISS": "red", "NOT MEASURED": "yellow"}
    for g in goals:
        verdicts.add_row(g.name, fmt(g.value, g.unit), f"<= {fmt(g.limit, g.unit)}", f"[{colours[g.verdict]}]{g.verdict}[/]", g.note)
    console.print(verdicts)
    for key, value in bench.extra.items():
        if key.startswith("gate_verdict"):
            console.print(f"{key.replace('_', ' ')}: {value}")
    for err in bench.errors:
        console.print(f"[red]failed:[/red] {err}")


def capture(cmd: list[str], cwd: Path = ROOT) -> str:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unavailable ({exc})"


def machine_info() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    versions = capture([str(ROOT / PY), "-c", "import importlib.metadata as m, platform; "
                        "print(platform.python_version(), m.version('cdktf'), m.version('checkov'))"]).split()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": versions[0] if versions else None,
        "cdktf_python": versions[1] if len(versions) > 1 else None,
        "checkov": versions[2] if len(versions) > 2 else None,
        "node": capture(["node", "--version"]),
        "loadavg_at_start": os.getloadavg(),
        "git": capture(["git", "describe", "--always", "--dirty"]),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3, help="timed runs of the small cases (default 3)")
    p.add_argument("--big-runs", type=int, default=2, help="timed runs of the cases with more than 10 previews (default 2)")
    p.add_argument("--previews", default="10,50", help="preview counts to synthesize next to the 3 environments (default 10,50)")
    p.add_argument("--policy-repeat", type=int, default=5, help="timed passes of the in-process policies (default 5)")
    p.add_argument("--quick", action="store_true", help="one run of everything and 10 previews only")
    p.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections to run ({', '.join(SECTIONS)})")
    p.add_argument("--keep", action="store_true", help="keep the scratch copy and its logs")
    p.add_argument("--output", type=Path, default=RESULTS, help=f"where to write the JSON results (default {RESULTS.relative_to(ROOT)})")
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.big_runs, args.previews, args.policy_repeat = 1, 1, "10", 3
    try:
        args.previews = sorted({int(n) for n in args.previews.split(",") if n.strip()})
    except ValueError:
        p.error(f"--previews: expected comma-separated whole numbers, got {args.previews!r}")
    if not args.previews or min(args.previews) < 1 or min(args.runs, args.big_runs, args.policy_repeat) < 1:
        p.error("--previews needs counts of at least 1, and --runs/--big-runs/--policy-repeat at least 1")
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        p.error(f"--only: unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    console = Console() if sys.stdout.isatty() else Console(width=120)  # a log file gets the wide table
    started = time.perf_counter()
    info = machine_info()
    bench = Bench(args, console)
    console.log(f"benchmarking in {bench.scratch} ({info['nproc']} CPUs, Python {info['python']}, node {info['node']})")
    try:
        bench.run()
    finally:
        goals = targets(bench)
        elapsed = time.perf_counter() - started
        print_report(bench, goals, console)
        results = {
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": info,
            "settings": {"runs": args.runs, "big_runs": args.big_runs, "previews": args.previews,
                         "policy_repeat": args.policy_repeat, "sections": args.only},
            "measurements": {k: s.as_json() for k, s in bench.series.items()},
            "details": bench.extra,
            "targets": [g.as_json() for g in goals],
            "errors": bench.errors,
            "bench_wall_s": round(elapsed, 1),
        }
        args.output.write_text(json.dumps(results, indent=2) + "\n")
        console.print(f"Wrote {args.output} ({elapsed:.0f} s in all)")
        bench.cleanup()
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
