"""Our state backend against a real Terraform and a local S3 server: state lands under the
environment's key, and a second apply while the first holds the lock is refused.

The stack uses only Terraform's built-in `terraform_data`, so no provider download is needed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.moto_server import moto_s3

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")


def synth_state_stack(outdir: Path, endpoint: str, sleep_seconds: int) -> Path:
    from cdktf import App, LocalExecProvisioner, TerraformResource, TerraformStack

    from constructs_lib.state_backend import configure_state_backend

    app = App(outdir=str(outdir))
    stack = TerraformStack(app, "staging")
    configure_state_backend(stack, env="staging", bucket="hub-tfstate", endpoint=endpoint, key_prefix="community-hub", path_style=True)
    marker = TerraformResource(
        stack,
        "marker",
        terraform_resource_type="terraform_data",
        provisioners=[LocalExecProvisioner(type="local-exec", command=f"sleep {sleep_seconds}")],
    )
    marker.add_override("input", "release-1.8.0")
    app.synth()
    return outdir / "stacks" / "staging"


def tf(args: list[str], cwd: Path, env: dict, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_state_in_spaces_compatible_backend_with_locking(tmp_path):
    import boto3

    with moto_s3(tmp_path) as endpoint:
        creds = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **{
            "aws_access_key_id": "test", "aws_secret_access_key": "test"})
        s3.create_bucket(Bucket="hub-tfstate")

        workdir = synth_state_stack(tmp_path / "out", endpoint, sleep_seconds=8)
        backend = json.loads((workdir / "cdk.tf.json").read_text())["terraform"]["backend"]["s3"]
        assert backend["use_lockfile"] is True and backend["key"] == "community-hub/staging.tfstate"

        env = {**os.environ, **creds, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_DATA_DIR": str(tmp_path / "tfdata")}
        init = tf(["init", "-input=false", "-no-color"], workdir, env)
        assert init.returncode == 0, init.stdout + init.stderr

        first = subprocess.Popen(
            ["terraform", "apply", "-auto-approve", "-input=false", "-no-color"],
            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            # Wait until the first apply holds the lock (its lock object exists in the bucket).
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                keys = [o["Key"] for o in s3.list_objects_v2(Bucket="hub-tfstate").get("Contents", [])]
                if "community-hub/staging.tfstate.tflock" in keys:
                    break
                time.sleep(0.2)
            else:
                pytest.fail(f"the first apply never took the lock; objects: {keys}")
            second = tf(["apply", "-auto-approve", "-input=false", "-no-color", "-lock-timeout=0s"], workdir, env)
            assert second.returncode != 0
            assert "Error acquiring the state lock" in second.stderr + second.stdout
        finally:
            out, _ = first.communicate(timeout=120)
        assert first.returncode == 0, out

        state = json.loads(s3.get_object(Bucket="hub-tfstate", Key="community-hub/staging.tfstate")["Body"].read())
        (resource,) = state["resources"]
        assert resource["type"] == "terraform_data" and resource["name"] == "marker"
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="hub-tfstate")["Contents"]]
        assert keys == ["community-hub/staging.tfstate"], "the lock is released after the apply"
