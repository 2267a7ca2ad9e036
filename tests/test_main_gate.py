"""`python main.py` (what `cdktf synth`/`cdktf deploy` and `make check` run): synth, then the gate;
a failing policy exits 1, an override needs a reason and is logged, a re-run is served from a
cache that cannot go stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_env
from tests.test_config import edit
from tests.test_synth_cli import copy_project


def main_py(cwd: Path, tmp_path: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py"], cwd=cwd, env=run_env(tmp_path, **env), capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_project(tmp_path / "proj")


def over_budget(project: Path) -> None:
    path = project / "environments.toml"
    path.write_text(edit(path.read_text(), "environments.staging", "monthly_budget_usd = 400", "monthly_budget_usd = 100"))


def test_make_check_passes_and_reports_cost(project, tmp_path):
    proc = main_py(project, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout and "budget" in proc.stdout.lower()
    assert (project / "cdktf.out" / "stacks" / "staging" / "cdk.tf.json").exists()


def test_failing_policy_exits_1(project, tmp_path):
    over_budget(project)
    proc = main_py(project, tmp_path)
    assert proc.returncode == 1
    assert "HUB_COST_1" in proc.stdout and "staging" in proc.stdout


def test_override_needs_a_reason_and_is_logged(project, tmp_path):
    over_budget(project)
    proc = main_py(project, tmp_path, HUB_GATE_OVERRIDE="  ")
    assert proc.returncode == 2 and "HUB_GATE_OVERRIDE" in proc.stderr
    proc = main_py(project, tmp_path, HUB_GATE_OVERRIDE="incident 42: restore capacity now", GITHUB_ACTOR="alice")
    assert proc.returncode == 0
    assert "policy gate skipped by alice" in proc.stderr and "incident 42" in proc.stderr
    entry = json.loads((project / "gate-overrides.log").read_text().splitlines()[-1])
    assert entry["who"] == "alice" and entry["reason"] == "incident 42: restore capacity now"
    # Terminal escapes in the reason are shown, not run: they must not hide the warning.
    proc = main_py(project, tmp_path, HUB_GATE_OVERRIDE="\x1b[2K\x1b[1G all clear \x1b[8m")
    assert proc.returncode == 0 and "\x1b" not in proc.stderr
    assert "policy gate skipped" in proc.stderr and "\\x1b[2K" in proc.stderr


def test_override_that_cannot_be_logged_exits_2(project, tmp_path):
    over_budget(project)
    (project / "gate-overrides.log").mkdir()
    proc = main_py(project, tmp_path, HUB_GATE_OVERRIDE="incident 42: restore capacity now")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "gate-overrides.log: cannot log the override there" in proc.stderr
    assert not (project / "cdktf.out" / "manifest.json").exists()


CDKTF = ROOT / "node_modules" / ".bin" / "cdktf"


def run_checks(out: Path) -> int:
    return subprocess.run([sys.executable, "-m", "policies", "check", str(out)], cwd=out.parent,
                          capture_output=True, timeout=300).returncode


def test_only_output_the_gate_passed_can_be_deployed(project, tmp_path):
    """cdktf deploys what manifest.json lists, also with --skip-synth, which runs no gate: the
    manifest is in place only after the gate passed."""
    out = project / "cdktf.out"
    assert main_py(project, tmp_path).returncode == 0
    assert (out / "manifest.json").exists() and not (out / "manifest.held-until-gate-passes.json").exists()
    # each passed stack is sealed: Terraform refuses to plan it once edited (tests/policies/test_deploy_seal.py)
    sealed = sorted(p.parent.name for p in out.glob("stacks/*/policy-gate.tf.json"))
    assert sealed == ["development", "production", "staging"]
    assert run_checks(out) == 0  # the gate reads its own seal beside a stack as no unchecked config
    over_budget(project)
    assert main_py(project, tmp_path).returncode == 1
    assert not (out / "manifest.json").exists() and (out / "manifest.held-until-gate-passes.json").exists()
    assert not list(out.glob("stacks/*/policy-gate.tf.json"))
    synth = subprocess.run([sys.executable, "-m", "stacks"], cwd=project, env=run_env(tmp_path), capture_output=True)
    assert synth.returncode == 0 and not (out / "manifest.json").exists()  # ungated output either
    if CDKTF.exists():
        (project / ".venv").symlink_to(ROOT / ".venv")
        proc = subprocess.run(
            [str(CDKTF), "deploy", "staging", "--skip-synth", "--auto-approve"],
            cwd=project, env=run_env(tmp_path, CI="1", HOME=tmp_path), capture_output=True, text=True, timeout=300,
        )
        assert proc.returncode != 0 and "Could not find manifest file" in proc.stdout + proc.stderr


def test_rerun_is_cached_but_never_stale(project, tmp_path):
    first = main_py(project, tmp_path)
    assert first.returncode == 0
    assert list((project / ".cache" / "runs").glob("*.json"))
    second = main_py(project, tmp_path)
    assert (second.returncode, second.stdout) == (0, first.stdout)
    # Tampering with the output invalidates the entry: the run synthesizes again.
    stack = project / "cdktf.out" / "stacks" / "staging" / "cdk.tf.json"
    original = stack.read_text()
    stack.write_text(original.replace('"monitoring": true', '"monitoring": false'))
    third = main_py(project, tmp_path)
    assert third.returncode == 0 and stack.read_text() == original
    # Changing the input changes the key: the new verdict is computed, not replayed.
    over_budget(project)
    fourth = main_py(project, tmp_path)
    assert fourth.returncode == 1


def test_a_checkov_failure_is_not_cached(project, tmp_path):
    """A timeout may not happen again on a quieter machine: the next run must gate afresh."""
    proc = main_py(project, tmp_path, HUB_CHECKOV_TIMEOUT="0.001")
    assert proc.returncode == 1 and "Checkov" in proc.stdout + proc.stderr
    assert not list((project / ".cache" / "runs").glob("*.json"))


def test_an_outdir_through_a_missing_directory_is_read_back_where_it_was_written(project, tmp_path):
    proc = main_py(project, tmp_path, CDKTF_OUTDIR="missing/../out")
    assert proc.returncode == 0, proc.stderr
    assert (project / "out" / "manifest.json").exists() and not (project / "missing").exists()


@pytest.mark.parametrize("outdir", ["", " ", ".", "..", "stacks", "main.py", "main.py/out", "/proc/1/out"])
def test_an_outdir_synth_must_not_replace_exits_2_and_keeps_the_project(project, tmp_path, outdir):
    """Synth replaces its output directory as a whole: never the project, the working directory,
    a directory holding them, or a directory of other files."""
    before = sorted(p.name for p in project.iterdir())
    for command in ([sys.executable, "main.py"], [sys.executable, "-m", "stacks"]):
        proc = subprocess.run(command, cwd=project, env=run_env(tmp_path, CDKTF_OUTDIR=outdir),
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("error: CDKTF_OUTDIR: ")
    assert sorted(p.name for p in project.iterdir()) == before
    assert (project / "stacks" / "app.py").exists()


def test_runs_on_one_output_take_turns(project, tmp_path):
    """While another run holds the output, a run waits: it cannot release or cache output that the
    other run's synth swapped in."""
    from stacks.outdir import outdir_lock

    with outdir_lock(project / "cdktf.out"):
        waiting = subprocess.Popen([sys.executable, "main.py"], cwd=project, env=run_env(tmp_path),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert waiting.stderr.readline() == "Waiting for another run on cdktf.out to finish...\n"
        assert not (project / "cdktf.out").exists()
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert (project / "cdktf.out" / "manifest.json").exists()


def test_a_killed_run_does_not_keep_the_output_locked(project, tmp_path):
    """The Checkov service is forked while the run holds the lock; it must neither keep the lock nor
    outlive the run, or every later run waits forever."""
    first = subprocess.Popen([sys.executable, "main.py"], cwd=project, env=run_env(tmp_path),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)  # by now it has started the Checkov service (or finished: either way no lock is left)
    first.kill()
    first.wait()
    second = subprocess.run([sys.executable, "main.py"], cwd=project, env=run_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr


@pytest.mark.skipif(not (ROOT / "node_modules" / ".bin" / "cdktf").exists(), reason="cdktf CLI not installed (make install)")
def test_cdktf_deploy_stops_on_failing_policy(project, tmp_path):
    (project / ".venv").symlink_to(ROOT / ".venv")
    over_budget(project)
    env = run_env(tmp_path, CI="1", HOME=tmp_path)
    proc = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "cdktf"), "deploy", "staging", "--auto-approve"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode != 0
    assert "HUB_COST_1" in proc.stdout + proc.stderr
    assert not list(project.rglob("terraform.staging.tfstate")), "nothing was applied"


def test_bad_price_table_and_suppressions_exit_2(project, tmp_path):
    bad_prices = tmp_path / "prices.toml"
    bad_prices.write_text('droplet_sizes = "none"\n')
    proc = main_py(project, tmp_path, HUB_PRICE_TABLE=bad_prices)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{bad_prices}: droplet_sizes: expected [[droplet_sizes]] rows" in proc.stderr
    assert not (project / "cdktf.out").exists()
    (project / "suppressions.toml").write_text('[[suppression]]\ncheck = "HUB_DO_1"\ntarget = "*"\nexpires = 2099-01-01\n')
    proc = main_py(project, tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "suppressions.toml: entry 1 (check HUB_DO_1): field 'reason' is required" in proc.stderr


def test_a_configuration_read_from_a_pipe(project, tmp_path):
    """HUB_CONFIG=<(...) names a pipe, which can be read once: the synth must get its content."""
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as fh:  # the file is smaller than a pipe's buffer
        fh.write((project / "environments.toml").read_text())
    try:
        proc = subprocess.run([sys.executable, "main.py"], cwd=project, pass_fds=(read_end,), capture_output=True,
                              text=True, timeout=300, env=run_env(tmp_path, HUB_CONFIG=f"/dev/fd/{read_end}"))
    finally:
        os.close(read_end)
    assert proc.returncode == 0, proc.stderr
    assert "Gate PASSED" in proc.stdout
