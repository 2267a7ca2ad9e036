"""The re-run cache: what its key covers, and that no damaged, ambiguous or unwritable cache can
replay a verdict the current inputs would not give."""

from __future__ import annotations

import json
import shutil

import pytest

from policies import run_cache
from tests.conftest import ROOT


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """A copy of the project's sources as the cache's project root, and another working directory."""
    root = tmp_path / "project"
    for name in run_cache.SOURCE_DIRS:
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in run_cache.SOURCE_FILES:
        shutil.copy2(ROOT / name, root / name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "environments.toml").write_text((ROOT / "environments.toml").read_text())
    monkeypatch.setattr(run_cache, "PROJECT_ROOT", root)
    monkeypatch.chdir(elsewhere)
    return root


def test_the_key_follows_the_sources_run_from_any_directory(sources):
    """The code a run imports lives beside main.py, not in the working directory."""
    before = run_cache.run_key(run_cache.Path("environments.toml"))
    check = sources / "policies" / "checks" / "DropletInVpc.py"
    check.write_text(check.read_text() + "\n# edited\n")
    assert run_cache.run_key(run_cache.Path("environments.toml")) != before


def test_the_key_tells_unset_from_empty_and_reads_checkovs_settings(sources, monkeypatch):
    config = run_cache.Path("environments.toml")
    monkeypatch.delenv("HUB_CHECKOV_TIMEOUT", raising=False)
    unset = run_cache.run_key(config)
    monkeypatch.setenv("HUB_CHECKOV_TIMEOUT", "")  # an error, where unset is the default
    assert run_cache.run_key(config) != unset
    monkeypatch.delenv("HUB_CHECKOV_TIMEOUT")
    monkeypatch.setenv("CKV_SUPPORT_ALL_RESOURCE_TYPE", "true")  # changes which Checkov checks run
    assert run_cache.run_key(config) != unset


def test_unreadable_inputs_change_the_key_without_failing(sources):
    """A directory named as the configuration is the run's error to report (exit 2), not the cache's."""
    assert run_cache.run_key(run_cache.Path(".")) != run_cache.run_key(run_cache.Path("environments.toml"))


def test_the_tree_digest_cannot_be_matched_by_moving_bytes_between_paths_and_contents(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    (one / "stacks").mkdir(parents=True)
    (one / "a.json").write_text('{"x": 1}')
    (one / "stacks" / "b.json").write_text("{}")
    # the last byte of a.json moved into the next path's name: the same bytes in a row
    (two / "}stacks").mkdir(parents=True)
    (two / "a.json").write_text('{"x": 1')
    (two / "}stacks" / "b.json").write_text("{}")
    assert run_cache.tree_digest(one) != run_cache.tree_digest(two)


@pytest.mark.parametrize("entry", [
    [], "x", None, {"stdout": None, "stderr": "", "code": 0}, {"stdout": "", "stderr": "", "code": None},
    {"stdout": "", "stderr": "", "code": 2}, {"stdout": "", "stderr": "", "code": True}, {"stdout": "", "code": 0},
])
def test_a_damaged_entry_is_a_miss(tmp_path, monkeypatch, entry):
    monkeypatch.chdir(tmp_path)
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "manifest.json").write_text("{}")
    if isinstance(entry, dict):
        entry = dict(entry, outdir_digest=run_cache.tree_digest(outdir))
    run_cache.CACHE_DIR.mkdir(parents=True)
    (run_cache.CACHE_DIR / "k.json").write_text(json.dumps(entry))
    assert run_cache.lookup("k", outdir) is None


def test_a_good_entry_is_replayed_only_while_the_output_is_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "manifest.json").write_text("{}")
    run_cache.store("k", outdir, run_cache.CachedRun("report\n", "", 1))
    assert run_cache.lookup("k", outdir) == run_cache.CachedRun("report\n", "", 1)
    (outdir / "manifest.json").write_text("{ }")
    assert run_cache.lookup("k", outdir) is None


def test_a_cache_that_cannot_be_written_costs_only_speed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    outdir = tmp_path / "out"
    outdir.mkdir()
    (tmp_path / ".cache").write_text("a file where the cache directory goes")
    run_cache.store("k", outdir, run_cache.CachedRun("", "", 0))
    assert "warning: .cache/runs: the run was not cached" in capsys.readouterr().err
    assert run_cache.lookup("k", outdir) is None
