"""Build the cdktf app: one stack per configured environment, plus requested previews."""

from __future__ import annotations

from pathlib import Path

from cdktf import App

from stacks.config import Environment, HubConfig
from stacks.environment_stack import EnvironmentStack
from stacks.preview import parse_branches, preview_environments


def environments_to_synth(config: HubConfig, preview: str | None) -> dict[str, Environment]:
    envs = dict(config.environments)
    if preview:
        envs.update(preview_environments(config, parse_branches(preview)))
    return envs


def synth_app(config: HubConfig, envs: dict[str, Environment], outdir: Path) -> list[str]:
    """Synthesize every environment into `outdir`; return the stack names."""
    app = App(outdir=str(outdir))
    for name, env in envs.items():
        EnvironmentStack(app, name, env, config)
    app.synth()
    return list(envs)
