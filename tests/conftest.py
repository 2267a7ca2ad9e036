"""Shared fixtures: the checked-in configuration, and stacks synthesized in-process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("CHECKPOINT_DISABLE", "1")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@lru_cache(maxsize=None)
def checked_in_config():
    from stacks.config import load_config

    return load_config(ROOT / "environments.toml")


@pytest.fixture(scope="session")
def config():
    return checked_in_config()


def synth_env(name: str, config=None, env=None) -> dict:
    """Synthesize one environment stack with cdktf's Testing app and return the parsed JSON."""
    from cdktf import Testing

    from stacks.environment_stack import EnvironmentStack

    config = config or checked_in_config()
    env = env or config.environments[name]
    app = Testing.app()
    stack = EnvironmentStack(app, name, env, config)
    return json.loads(Testing.synth(stack))


@lru_cache(maxsize=None)
def _synth_checked_in(name: str) -> str:
    return json.dumps(synth_env(name))


@pytest.fixture(scope="session")
def synthesized():
    """name -> synthesized JSON of the checked-in environments (cached per session)."""
    return lambda name: json.loads(_synth_checked_in(name))


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "environments.toml"
    path.write_text(text)
    return path


@pytest.fixture
def base_toml(root) -> str:
    return (root / "environments.toml").read_text()


def run_env(tmp_path: Path, **extra) -> dict:
    env = dict(os.environ)
    env.pop("HUB_PREVIEW", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst)


def run_terraform(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The real Terraform CLI in `cwd`, offline, untouched by the caller's TF_* settings and CLI config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}  # no outside TF_VAR_, TF_WORKSPACE...
    cli_config = cwd / ".terraformrc"
    cli_config.touch()
    env.update(
        TF_IN_AUTOMATION="1",
        CHECKPOINT_DISABLE="1",
        TF_DATA_DIR=str(cwd / ".terraform"),
        TF_CLI_CONFIG_FILE=str(cli_config),
    )
    return subprocess.run(["terraform", *args, "-no-color"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
