"""The seal beside each gated stack: real Terraform refuses to plan a stack edited after the gate
passed it, and the gate accepts its own seal beside a stack but no other Terraform file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from policies.deploy_gate import changed_since_read, seal_stacks
from policies.deploy_seal import SEAL_FILE, is_seal, seal_document
from policies.stack_document import load_stack
from tests.conftest import ROOT, run_terraform


def _sealed_output(tmp_path, gated=True):
    stack = tmp_path / "cdktf.out" / "stacks" / "staging"
    stack.mkdir(parents=True)
    (stack / "cdk.tf.json").write_text(json.dumps({"resource": {"terraform_data": {"db": {"input": "pg-16"}}}}))
    seal_stacks([load_stack(stack / "cdk.tf.json")], gated=gated)
    return stack


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH; the seal is checked by the real CLI")
def test_terraform_plans_the_sealed_stack_and_refuses_an_edited_one(tmp_path):
    stack = _sealed_output(tmp_path)
    assert run_terraform(stack, "init", "-input=false").returncode == 0
    assert run_terraform(stack, "plan", "-input=false").returncode == 0
    (stack / "cdk.tf.json").write_text(json.dumps({"resource": {"terraform_data": {"db": {"input": "pg-17"}}}}))
    plan = run_terraform(stack, "plan", "-input=false")
    assert plan.returncode != 0
    assert "cdk.tf.json was changed after the policy gate passed it" in plan.stderr


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH; the seal is checked by the real CLI")
@pytest.mark.parametrize("extra", ["cdk_override.tf.json", "extra.tf", "terraform.tfvars"])
def test_terraform_refuses_files_put_beside_a_sealed_stack(tmp_path, extra):
    """An override file changes the stack without touching cdk.tf.json; the gate never read it."""
    stack = _sealed_output(tmp_path)
    assert run_terraform(stack, "init", "-input=false").returncode == 0
    content = {"cdk_override.tf.json": json.dumps({"resource": {"terraform_data": {"db": {"input": "open"}}}}),
               "extra.tf": 'resource "terraform_data" "more" {}\n', "terraform.tfvars": 'x = "y"\n'}[extra]
    (stack / extra).write_text(content)
    plan = run_terraform(stack, "plan", "-input=false")
    assert plan.returncode != 0
    said = " ".join(plan.stderr.split())  # Terraform wraps its messages
    assert f"Terraform files were put beside cdk.tf.json after the policy gate passed it: {extra}." in said


def test_a_stack_changed_after_it_was_read_is_told(tmp_path):
    stack = _sealed_output(tmp_path)
    doc = load_stack(stack / "cdk.tf.json")
    assert changed_since_read([doc]) == []
    (stack / "cdk.tf.json").write_text("{}")
    assert changed_since_read([doc]) == [doc.display_path]
    (stack / "cdk.tf.json").unlink()
    assert changed_since_read([doc]) == [doc.display_path]


def test_an_override_seal_says_so_and_is_a_seal(tmp_path):
    stack = _sealed_output(tmp_path, gated=False)
    assert b"logged override of the policy gate" in (stack / SEAL_FILE).read_bytes()
    assert is_seal(stack / SEAL_FILE)
    assert not is_seal(stack / "cdk.tf.json")
    assert seal_document("0" * 64) != seal_document("0" * 64, gated=False)


def _check(path):
    return subprocess.run([sys.executable, "-m", "policies", "check", str(path), "--format", "json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_gate_reads_a_sealed_stack_but_refuses_a_seal_with_more_in_it(tmp_path):
    stack = _sealed_output(tmp_path)
    assert is_seal(stack / SEAL_FILE)
    assert "also holds" not in _check(tmp_path / "cdktf.out").stderr
    seal = json.loads((stack / SEAL_FILE).read_text())
    seal["resource"] = {"terraform_data": {"unchecked": {"input": "x"}}}  # Terraform would create it
    (stack / SEAL_FILE).write_text(json.dumps(seal, indent=2) + "\n")
    assert not is_seal(stack / SEAL_FILE)
    proc = _check(tmp_path / "cdktf.out")
    assert proc.returncode == 2 and f"also holds {SEAL_FILE}" in proc.stderr
