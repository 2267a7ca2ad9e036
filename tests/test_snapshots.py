"""One snapshot per environment of the synthesized JSON, exactly as `python main.py` writes it.

A change to the output shows as a JSON diff in the test report; accept it deliberately with
`make test PYTEST_ARGS=--snapshot-update` after reading it.
"""

from __future__ import annotations

import json

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def app_output(tmp_path_factory, config):
    from stacks.app import environments_to_synth, synth_app

    outdir = tmp_path_factory.mktemp("out") / "cdktf.out"
    synth_app(config, environments_to_synth(config, None), outdir)
    return outdir


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("env", ["development", "staging", "production"])
def test_environment_snapshot(app_output, env, snapshot_json):
    text = (app_output / "stacks" / env / "cdk.tf.json").read_text()
    assert str(app_output) not in text and str(ROOT) not in text, "absolute path in synthesized output"
    doc = json.loads(text)
    assert doc["resource"]["digitalocean_vpc"]["network_vpc"]["//"]["metadata"]["path"] == f"{env}/network/vpc"
    assert doc == snapshot_json
