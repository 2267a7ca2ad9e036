"""The synth as users run it: `python main.py`, previews, and the real `cdktf synth`."""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_env

PROJECT_FILES = ("main.py", "environments.toml", "cdktf.json", "stacks", "constructs_lib", "policies")


def copy_project(dst: Path) -> Path:
    dst.mkdir(parents=True)
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst / name)
    return dst


def synth_in(cwd: Path, tmp_path: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stacks"],
        cwd=cwd,
        env=run_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_two_directories_give_byte_identical_output(tmp_path):
    a, b = copy_project(tmp_path / "one"), copy_project(tmp_path / "elsewhere" / "two")
    for d in (a, b):
        proc = synth_in(d, tmp_path)
        assert proc.returncode == 0, proc.stderr
    out_a, out_b = a / "cdktf.out", b / "cdktf.out"
    assert tree(out_a) == tree(out_b)
    assert "stacks/production/cdk.tf.json" in tree(out_a)
    for rel in tree(out_a):
        assert filecmp.cmp(out_a / rel, out_b / rel, shallow=False), rel
        text = (out_a / rel).read_text()
        assert str(a) not in text and str(tmp_path) not in text
    # A run prints a summary per stack.
    assert "production" in proc.stdout and "www.communityhub.org" in proc.stdout


def test_preview_environment_is_added(tmp_path):
    outdir = tmp_path / "out"
    proc = synth_in(ROOT, tmp_path, HUB_PREVIEW="Feature/Search-Filters_v2", CDKTF_OUTDIR=outdir)
    assert proc.returncode == 0, proc.stderr
    stacks = sorted(p.name for p in (outdir / "stacks").iterdir())
    assert stacks == ["development", "preview-feature-search-filters-v2", "production", "staging"]
    doc = json.loads((outdir / "stacks" / "preview-feature-search-filters-v2" / "cdk.tf.json").read_text())
    droplets = doc["resource"]["digitalocean_droplet"]
    assert {d["size"] for d in droplets.values()} == {"s-1vcpu-1gb"}
    assert all("ttl:7d" in d["tags"] for d in droplets.values())
    records = doc["resource"]["cloudflare_dns_record"]
    assert [r["name"] for r in records.values()] == ["preview-feature-search-filters-v2.communityhub.dev"]
    assert doc["//"]["hub"]["budget_usd"] == 80 and doc["//"]["hub"]["kind"] == "preview"
    assert doc["terraform"]["backend"]["local"]["path"] == "terraform.preview-feature-search-filters-v2.tfstate"


def test_a_new_synth_keeps_terraform_state_and_working_files(tmp_path):
    """The local backend keeps state in the stack's directory; replacing the output must not lose
    it, nor the state of a preview no longer synthesized (its resources still need destroying)."""
    outdir = tmp_path / "out"
    assert synth_in(ROOT, tmp_path, HUB_PREVIEW="feat-x", CDKTF_OUTDIR=outdir).returncode == 0
    dev, preview = outdir / "stacks" / "development", outdir / "stacks" / "preview-feat-x"
    (dev / "terraform.development.tfstate").write_text('{"version": 4, "serial": 7}')
    (dev / ".terraform").mkdir()
    (dev / ".terraform" / "terraform.tfstate").write_text("{}")
    (preview / "terraform.preview-feat-x.tfstate").write_text('{"version": 4, "serial": 3}')
    proc = synth_in(ROOT, tmp_path, CDKTF_OUTDIR=outdir)  # the preview is no longer asked for
    assert proc.returncode == 0, proc.stderr
    assert (dev / "terraform.development.tfstate").read_text() == '{"version": 4, "serial": 7}'
    assert (dev / ".terraform" / "terraform.tfstate").exists() and (dev / "cdk.tf.json").exists()
    assert sorted(p.name for p in preview.iterdir()) == ["terraform.preview-feat-x.tfstate"]
    assert "preview-feat-x: no longer synthesized; its Terraform files (state) are kept there" in proc.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.") and p.name != ".out.lock"]


def test_a_symlinked_output_is_replaced_where_it_is(tmp_path):
    """cdktf.out linked to a persistent volume: the link stays, the state stays on the volume."""
    volume = tmp_path / "volume" / "out"
    assert synth_in(ROOT, tmp_path, CDKTF_OUTDIR=volume).returncode == 0
    (volume / "stacks" / "staging" / "terraform.staging.tfstate").write_text('{"serial": 9}')
    link = tmp_path / "project-out"
    link.symlink_to(volume)
    proc = synth_in(ROOT, tmp_path, CDKTF_OUTDIR=link)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and (volume / "stacks" / "staging" / "cdk.tf.json").exists()
    assert (volume / "stacks" / "staging" / "terraform.staging.tfstate").read_text() == '{"serial": 9}'


def test_an_interrupted_swap_or_unread_terraform_files_stop_synth_before_it_writes(tmp_path):
    outdir = tmp_path / "out"
    assert synth_in(ROOT, tmp_path, CDKTF_OUTDIR=outdir).returncode == 0
    before = tree(outdir)
    extra = outdir / "stacks" / "staging" / "cdk_override.tf.json"  # Terraform would load it; synth keeps it
    extra.write_text("{}")
    proc = synth_in(ROOT, tmp_path, CDKTF_OUTDIR=outdir)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"error: {extra}: Terraform loads this file with its stack but the gate does not read it" in proc.stderr
    extra.unlink()
    left = tmp_path / ".out.old.x1y2" / "previous"  # a run killed between its two renames
    (left / "stacks" / "staging").mkdir(parents=True)
    (left / "stacks" / "staging" / "terraform.staging.tfstate").write_text("{}")
    proc = synth_in(ROOT, tmp_path, CDKTF_OUTDIR=outdir)
    assert proc.returncode == 2 and f"an interrupted run left the previous output in {left}" in proc.stderr
    assert tree(outdir) == before


def test_a_directory_that_only_looks_like_an_output_is_not_replaced(tmp_path):
    site = tmp_path / "site"
    (site / "src").mkdir(parents=True)
    (site / "manifest.json").write_text('{"name": "My web app"}')  # a web app manifest, not cdktf's
    (site / "src" / "app.js").write_text("precious")
    proc = synth_in(ROOT, tmp_path, CDKTF_OUTDIR=site)
    assert proc.returncode == 2 and "not a synth output" in proc.stderr
    assert (site / "src" / "app.js").read_text() == "precious"


def test_preview_name_that_cannot_be_made_valid(tmp_path):
    outdir = tmp_path / "out"
    proc = synth_in(ROOT, tmp_path, HUB_PREVIEW="///___", CDKTF_OUTDIR=outdir)
    assert proc.returncode == 2
    assert "HUB_PREVIEW: branch name '///___' has no letters to make a preview name from" in proc.stderr
    assert "Traceback" not in proc.stderr and not outdir.exists()


def test_preview_from_cdktf_context(tmp_path):
    """cdktf passes cdktf.json's "context" as CDKTF_CONTEXT_JSON: a list names several branches,
    and a value that is no branch name is an error, not a preview named after its Python spelling."""
    outdir = tmp_path / "out"
    proc = synth_in(ROOT, tmp_path, CDKTF_CONTEXT_JSON='{"hubPreview": ["feat/a", "feat/b"]}', CDKTF_OUTDIR=outdir)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (outdir / "stacks").iterdir() if p.name.startswith("preview-")) == [
        "preview-feat-a", "preview-feat-b"]
    proc = synth_in(ROOT, tmp_path, CDKTF_CONTEXT_JSON='{"hubPreview": true}', CDKTF_OUTDIR=outdir)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cdktf context hubPreview: true is not a branch name or a list of branch names" in proc.stderr


@pytest.mark.parametrize("command", [["-m", "stacks"], ["main.py"]])
def test_an_empty_hub_config_is_named(command, tmp_path):
    proc = subprocess.run([sys.executable, *command], cwd=ROOT, env=run_env(tmp_path, HUB_CONFIG="", CDKTF_OUTDIR=tmp_path / "out"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "error: HUB_CONFIG: empty; unset it (synth then reads environments.toml) or name the configuration file" in proc.stderr


def test_a_broken_preview_template_is_a_config_error_not_a_traceback(tmp_path):
    config = tmp_path / "environments.toml"
    config.write_text((ROOT / "environments.toml").read_text().replace(
        '"preview-{slug}.communityhub.dev"', '"{slug}.{branch}.communityhub.dev"'))
    proc = synth_in(ROOT, tmp_path, HUB_PREVIEW="feat/a", HUB_CONFIG=config, CDKTF_OUTDIR=tmp_path / "out")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{config}: preview.hostname_template: " in proc.stderr


@pytest.mark.skipif(not (ROOT / "node_modules" / ".bin" / "cdktf").exists(), reason="cdktf CLI not installed (make install)")
def test_real_cdktf_synth(tmp_path):
    """`cdktf synth` runs main.py through cdktf.json's `app` and gives the same stacks."""
    project = copy_project(tmp_path / "proj")
    (project / ".venv").symlink_to(ROOT / ".venv")
    env = run_env(tmp_path, CI="1", CDKTF_DISABLE_PLUGIN_CACHE_ENV="1", HOME=tmp_path, HUB_GATE_OVERRIDE="")
    env.pop("HUB_GATE_OVERRIDE")
    proc = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "cdktf"), "synth"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = project / "cdktf.out" / "stacks"
    assert sorted(p.name for p in out.iterdir()) == ["development", "production", "staging"]
    reference = tmp_path / "ref"
    proc = synth_in(ROOT, tmp_path, CDKTF_OUTDIR=reference)
    assert proc.returncode == 0
    for env_name in ("development", "staging", "production"):
        assert (out / env_name / "cdk.tf.json").read_bytes() == (reference / "stacks" / env_name / "cdk.tf.json").read_bytes()
