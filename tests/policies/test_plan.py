"""The plan-time gate: destroys of stateful resources, allowances, and the plan's cost change.

Plan documents under data/plan/ are hand-written in Terraform's documented `terraform show -json`
format; one test produces a plan with the real Terraform binary and the built-in terraform_data
resource, so the reader is checked against what Terraform actually prints.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from policies.findings import Severity, Status
from policies.plan import (
    BLOCKED_CHECK_ID,
    UNUSED_ALLOWANCE_CHECK_ID,
    Allowance,
    AllowanceReadError,
    PlanReadError,
    check_plan,
    load_allowances,
    load_plan,
    plan_cost_change,
)
from policies.pricing import load_price_table
from tests.conftest import run_terraform

DATA = Path(__file__).parent / "data" / "plan"
TODAY = date(2026, 6, 15)  # fixed, so allowance expiry in the data files is deterministic


def run_gate(name: str, *, environment: str | None = None, allowances=(), **kwargs):
    return check_plan(
        load_plan(DATA / name), environment=environment, allowances=list(allowances), file=name, today=TODAY, **kwargs
    )


def by_status(findings, status, check_id=BLOCKED_CHECK_ID):
    return [f for f in findings if f.status is status and f.check_id == check_id]


# --- Blocking ------------------------------------------------------------------------------------


def test_replace_of_db_droplet_in_production_is_blocked():
    findings = run_gate("production_db_replace.json")
    blocked = by_status(findings, Status.FAILED)
    assert [f.address for f in blocked] == ["digitalocean_droplet.production_db_0"]
    f = blocked[0]
    assert f.severity is Severity.CRITICAL
    assert f.title == "Stateful resource destroyed"
    assert f.file == "production_db_replace.json"
    assert f.stack == "production"
    assert "replace (destroy, then create)" in f.message
    assert "role:db" in f.message
    assert "production (from digitalocean_droplet." in f.message and "tag env:production" in f.message
    assert "forced by a change to image" in f.message
    assert "[[allow_destroy]]" in f.fix and "digitalocean_droplet.production_db_0" in f.fix
    assert f.extra["action"] == "replace" and f.extra["actions"] == ["delete", "create"]


def test_update_noop_read_and_volume_attachment_replace_are_not_blocked():
    findings = run_gate("production_db_replace.json")
    addresses = {f.address for f in findings}
    # The attachment is replaced because its Droplet is, but detaching loses no data.
    assert "digitalocean_volume_attachment.production_db_0" not in addresses
    assert "digitalocean_droplet.production_app_blue_0" not in addresses  # update (resize)
    assert "digitalocean_firewall.production_db_fw" not in addresses  # no-op
    assert "data.digitalocean_ssh_key.deploy" not in addresses  # read


def test_plan_without_destroys_passes_and_says_which_environment():
    findings = run_gate("production_no_destroy.json")
    assert not [f for f in findings if f.failed]
    [summary] = findings
    assert summary.status is Status.PASSED and summary.severity is Severity.INFO
    assert "4 changes checked" in summary.message and "tag env:production" in summary.message


def test_delete_of_volume_in_staging_is_blocked_with_environment_from_droplet_tags():
    findings = run_gate("staging_volume_delete.json")
    [blocked] = by_status(findings, Status.FAILED)
    assert blocked.address == "digitalocean_volume.staging_db_data"
    assert blocked.message.startswith("The plan would delete digitalocean_volume.staging_db_data in staging")
    assert "staging (from digitalocean_droplet.staging_db_0 tag env:staging)" in blocked.message
    assert "block storage volume" in blocked.message
    assert "delete_because_no_resource_config" in blocked.message
    assert blocked.stack == "staging"


def test_environment_argument_the_plan_contradicts_is_an_error():
    # A development run on staging's plan would wave its volume delete through.
    with pytest.raises(PlanReadError, match=r"--env development: the plan itself names another environment: "
                                            r"'staging' \(digitalocean_droplet.staging_db_0 tag env:staging\)"):
        run_gate("staging_volume_delete.json", environment="development")
    assert by_status(run_gate("staging_volume_delete.json", environment="stage"), Status.FAILED)  # an alias agrees


def _volume_delete(environment_variable: str, *extra_changes: dict) -> dict:
    volume = {"address": "digitalocean_volume.db_data", "mode": "managed", "type": "digitalocean_volume",
              "name": "db_data", "change": {"actions": ["delete"], "before": {"size": 100}, "after": None}}
    return {"format_version": "1.2", "planned_values": {"root_module": {}},
            "variables": {"environment": {"value": environment_variable}},
            "resource_changes": [volume, *extra_changes]}


def test_data_sources_do_not_decide_the_environment():
    bastion = {"address": "data.digitalocean_droplet.bastion", "mode": "data", "type": "digitalocean_droplet",
               "name": "bastion", "change": {"actions": ["read"], "before": None, "after": {"tags": ["env:development"]}}}
    plan = _volume_delete("production", bastion)
    [blocked] = by_status(check_plan(plan, environment=None, file="p.json", today=TODAY), Status.FAILED)
    assert "production (from variable environment)" in blocked.message


def test_tags_and_variable_that_disagree_fail_closed_as_production():
    app = {"address": "digitalocean_droplet.app", "mode": "managed", "type": "digitalocean_droplet", "name": "app",
           "change": {"actions": ["no-op"], "before": {"tags": ["env:development"]}, "after": {"tags": ["env:development"]}}}
    [blocked] = by_status(check_plan(_volume_delete("production", app), environment=None, file="p.json", today=TODAY),
                          Status.FAILED)
    assert "production (assumed, failing closed: the plan names environments that disagree: 'development'" in blocked.message


def test_unknown_environment_is_treated_as_production_and_says_so():
    findings = run_gate("unknown_environment.json")
    blocked = {f.address: f for f in by_status(findings, Status.FAILED)}
    # worker is not stateful; the other three are, each for its own reason.
    assert sorted(blocked) == ["digitalocean_database_cluster.main", "digitalocean_droplet.cache[1]", "digitalocean_droplet.media"]
    for f in blocked.values():
        assert "production (assumed, failing closed" in f.message
        assert "give the environment explicitly" in f.fix
        assert f.extra["environment_assumed"] is True
    assert "replace (create, then destroy)" in blocked["digitalocean_database_cluster.main"].message
    assert "digitalocean_database_*" in blocked["digitalocean_database_cluster.main"].message
    assert "role:cache" in blocked["digitalocean_droplet.cache[1]"].message
    assert "tagged 'stateful'" in blocked["digitalocean_droplet.media"].message
    assert "replace_by_request" in blocked["digitalocean_droplet.media"].message


@pytest.mark.parametrize("environment", ["qa", "Prod-EU"])
def test_unknown_environment_name_fails_closed(environment):
    findings = run_gate("staging_volume_delete.json", environment=environment)
    [blocked] = by_status(findings, Status.FAILED)
    assert f"names unknown environment {environment!r}" in blocked.message
    assert blocked.extra["environment"] == "production"


def test_stateful_roles_can_be_narrowed():
    findings = run_gate("unknown_environment.json", stateful_roles=["db"])
    assert "digitalocean_droplet.cache[1]" not in {f.address for f in by_status(findings, Status.FAILED)}


@pytest.mark.parametrize("environment", ["development", "preview-feature-login", "dev"])
def test_destroy_in_unprotected_environment_is_reported_not_blocked(environment):
    text = (DATA / "development_destroy.json").read_text()
    plan = json.loads(text.replace("env:development", f"env:{environment}").replace('"development"', f'"{environment}"'))
    findings = check_plan(plan, environment=environment, file="development_destroy.json", today=TODAY)
    assert not [f for f in findings if f.failed]
    [info] = findings
    assert info.status is Status.PASSED and info.severity is Severity.INFO
    assert info.stack == environment
    assert info.extra["destroyed"] == ["digitalocean_droplet.development_db_0", "digitalocean_volume.development_db_data"]
    assert "digitalocean_droplet.development_app_blue_0" not in info.message  # not stateful


def test_development_environment_is_read_from_the_plan():
    [info] = run_gate("development_destroy.json")
    assert "development (from digitalocean_droplet." in info.message


# --- Allowances ----------------------------------------------------------------------------------


def test_valid_allowance_suppresses_the_block():
    allowances = load_allowances(DATA / "allow_staging_volume.toml")
    findings = run_gate("staging_volume_delete.json", allowances=allowances)
    assert not [f for f in findings if f.failed]
    [allowed] = by_status(findings, Status.SUPPRESSED)
    assert allowed.address == "digitalocean_volume.staging_db_data"
    assert "HUB-412" in allowed.suppression_reason
    assert "2026-07-01" in allowed.suppression_reason
    assert "allow_staging_volume.toml:4" in allowed.suppression_reason


def test_allowance_is_valid_through_its_expiry_day():
    allowance = Allowance(address="digitalocean_volume.staging_db_data", reason="moved to the new cluster", expires=TODAY)
    findings = run_gate("staging_volume_delete.json", allowances=[allowance])
    assert [f.status for f in findings] == [Status.SUPPRESSED]


def test_expired_allowance_does_not_allow():
    allowances = load_allowances(DATA / "allow_expired.toml")
    findings = run_gate("staging_volume_delete.json", allowances=allowances)
    [blocked] = by_status(findings, Status.FAILED)
    assert blocked.address == "digitalocean_volume.staging_db_data"
    assert "expired on 2026-05-31" in blocked.message
    # It matched, so it is reported as expired on the finding, not as unused.
    assert not by_status(findings, Status.FAILED, UNUSED_ALLOWANCE_CHECK_ID)


def test_unused_allowance_is_reported_and_other_environments_entries_are_ignored():
    allowances = load_allowances(DATA / "allow_unused.toml")
    findings = run_gate("staging_volume_delete.json", allowances=allowances)
    assert [f.address for f in by_status(findings, Status.SUPPRESSED)] == ["digitalocean_volume.staging_db_data"]
    [unused] = by_status(findings, Status.FAILED, UNUSED_ALLOWANCE_CHECK_ID)
    assert unused.address == "digitalocean_droplet.staging_search_*"
    assert unused.file.endswith("allow_unused.toml") and unused.line == 7
    assert unused.severity is Severity.MEDIUM
    assert "Remove the entry" in unused.fix


def test_production_scoped_allowance_applies_in_production():
    allowances = load_allowances(DATA / "allow_unused.toml")
    findings = run_gate("production_db_replace.json", allowances=allowances)
    [allowed] = by_status(findings, Status.SUPPRESSED)
    assert allowed.address == "digitalocean_droplet.production_db_0" and "HUB-420" in allowed.suppression_reason
    assert sorted(f.address for f in by_status(findings, Status.FAILED, UNUSED_ALLOWANCE_CHECK_ID)) == [
        "digitalocean_droplet.staging_search_*",
        "digitalocean_volume.staging_db_data",
    ]


def test_allowance_glob_treats_instance_keys_literally():
    star = Allowance(address="digitalocean_droplet.cache[*]", reason="cache pool shrinks", expires=TODAY)
    exact = Allowance(address="digitalocean_droplet.cache[1]", reason="cache pool shrinks", expires=TODAY)
    other = Allowance(address="digitalocean_droplet.cache[0]", reason="cache pool shrinks", expires=TODAY)
    assert star.matches("digitalocean_droplet.cache[1]") and exact.matches("digitalocean_droplet.cache[1]")
    assert not other.matches("digitalocean_droplet.cache[1]")
    findings = run_gate("unknown_environment.json", allowances=[exact, other])
    assert {f.address for f in by_status(findings, Status.SUPPRESSED)} == {"digitalocean_droplet.cache[1]"}
    assert [f.address for f in by_status(findings, Status.FAILED, UNUSED_ALLOWANCE_CHECK_ID)] == ["digitalocean_droplet.cache[0]"]


def test_allowance_file_errors_name_file_entry_and_field():
    with pytest.raises(AllowanceReadError) as err:
        load_allowances(DATA / "allow_bad_entries.toml")
    message = str(err.value)
    assert message.startswith(str(DATA / "allow_bad_entries.toml").removeprefix(os.getcwd() + os.sep))
    assert "allow_destroy[1] (line 6) address 'digitalocean_droplet.staging_db_0'" in message
    assert "field 'reason': must say why the destroy is intended" in message
    assert "field 'expires'" in message
    assert "allow_destroy[0]" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[allow_destroy]]\naddress = "digitalocean_volume.x"\nexpires = 2026-07-01\n', "field 'reason': Field required"),
        (
            '[[allow_destroy]]\naddress = "digitalocean_volume.x"\nreason = "r"\nexpires = 2026-07-01\nexpiry = 2026-08-01\n',
            "field 'expiry': Extra inputs are not permitted",
        ),
        (
            '[[allow_destroy]]\naddress = "digitalocean_volume.x"\nreason = "r"\nexpires = 2026-07-01\nenvironment = "qa"\n',
            "unknown environment 'qa'",
        ),
        ('[[allow_destroy]]\naddress = ""\nreason = "r"\nexpires = 2026-07-01\n', "field 'address'"),
        ('[[allow_destroy]\naddress = "x"\n', "not valid TOML"),
        # a number is no date (pydantic alone would read it as a Unix timestamp), nor is a date-time
        ('[[allow_destroy]]\naddress = "digitalocean_volume.x"\nreason = "restore from backup"\nexpires = 1798675200\n',
         "field 'expires': must be an ISO date such as 2026-06-30, got 1798675200"),
        ('[[allow_destroy]]\naddress = "digitalocean_volume.x"\nreason = "restore from backup"\n'
         'expires = 2026-07-01T00:00:00\n', "field 'expires': must be a date (YYYY-MM-DD), not a date-time"),
        ('allow_destroy = "everything"\n', "allow_destroy: Input should be a valid list"),
    ],
)
def test_bad_allowance_entries_are_rejected(tmp_path, text, expected):
    path = tmp_path / "allowances.toml"
    path.write_text(text)
    with pytest.raises(AllowanceReadError, match="allowances.toml") as err:
        load_allowances(path)
    assert expected in str(err.value)


def test_allowances_file_may_hold_other_settings_and_no_entries(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('[suppressions]\nCKV_DIO_2 = "monitoring off in previews"\n')
    assert load_allowances(path) == []


# --- Reading plans -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad_truncated.json", "line 6: not valid JSON"),
        ("bad_state_snapshot.json", "a state snapshot: no resource_changes or planned_values"),
        ("bad_cdktf_config.json", "not a Terraform plan: no format_version"),
        ("bad_format_version_2.json", "format_version: 2.0 is not supported"),
        ("bad_change_without_actions.json", "resource_changes[1].change.actions: Field required"),
        ("bad_errored.json", "errored: the plan failed in Terraform"),
        ("missing.json", "file not found"),
    ],
)
def test_unusable_plan_files_are_rejected_with_file_and_problem(name, expected):
    with pytest.raises(PlanReadError) as err:
        load_plan(DATA / name)
    message = str(err.value)
    assert message.split(":")[0].endswith(name)
    assert expected in message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "top level: expected a Terraform plan JSON object, found an array"),
        (None, "top level: expected a Terraform plan JSON object, found null"),
        ({"format_version": 1.2, "resource_changes": []}, "format_version: expected \"<major>.<minor>\", found 1.2"),
        ({"format_version": "0.2", "resource_changes": []}, "format_version: 0.2 is not supported"),
        ({"format_version": "1.2", "resource_changes": {}}, "resource_changes: Input should be a valid list"),
        # an action the gate does not know could be a destroy: refused, not passed
        ({"format_version": "1.2", "resource_changes": [{
            "address": "digitalocean_volume.db", "mode": "managed", "type": "digitalocean_volume", "name": "db",
            "change": {"actions": ["nuke"]}}]},
         "resource_changes[0].change.actions[0]: Input should be 'no-op', 'create', 'read', 'update', 'delete' or "
         "'forget'"),
        # a managed resource written in another case would escape the stateful-resource rules
        ({"format_version": "1.2", "resource_changes": [{
            "address": "digitalocean_droplet.db_1", "mode": "MANAGED", "type": "digitalocean_droplet", "name": "db_1",
            "change": {"actions": ["delete"]}}]},
         "resource_changes[0].mode: Input should be 'managed' or 'data'"),
        # Terraform writes a boolean: "no" could mean either, so it is refused, not read as false
        ({"format_version": "1.2", "resource_changes": [], "errored": "no"}, "errored: Input should be a valid boolean"),
    ],
)
def test_check_plan_validates_documents_it_did_not_load(document, expected):
    with pytest.raises(PlanReadError) as err:
        check_plan(document, environment="production", allowances=[], file="given.json")
    assert str(err.value).startswith(f"given.json: {expected}")


def test_plan_without_resources_is_a_plan():
    # Terraform omits resource_changes when the configuration has no resources at all.
    empty = {"format_version": "1.2", "terraform_version": "1.11.4", "planned_values": {"root_module": {}}}
    [summary] = check_plan(empty, environment="production", allowances=[], file="empty.json")
    assert summary.status is Status.PASSED and "0 changes checked" in summary.message


# --- Real Terraform ------------------------------------------------------------------------------


def terraform(tmp_path: Path, *args: str) -> str:
    result = run_terraform(tmp_path, *args)
    assert result.returncode == 0, f"terraform {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def write_terraform_config(tmp_path: Path, resources: dict) -> None:
    config = {
        "variable": {"environment": {"type": "string", "default": "staging"}},
        "resource": {"terraform_data": resources},
    }
    (tmp_path / "main.tf.json").write_text(json.dumps(config))


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH; the plan is made by the real CLI")
def test_real_terraform_plan_replace_and_delete_are_blocked(tmp_path):
    write_terraform_config(
        tmp_path,
        {
            "db_primary": {"input": "pg-16", "triggers_replace": ["volume-a"]},
            "db_replica": {"input": "pg-16"},
            "db_archive": {"input": "pg-16"},
            "app": {"input": "1.8.0"},
        },
    )
    terraform(tmp_path, "init", "-input=false")
    terraform(tmp_path, "apply", "-auto-approve", "-input=false")
    write_terraform_config(
        tmp_path,
        {
            "db_primary": {"input": "pg-16", "triggers_replace": ["volume-b"]},  # forces replacement
            "db_archive": {"input": "pg-16"},  # unchanged
            "app": {"input": "1.9.0"},  # in-place update
        },  # db_replica removed: deleted
    )
    terraform(tmp_path, "plan", "-input=false", "-out=p")
    (tmp_path / "plan.json").write_text(terraform(tmp_path, "show", "-json", "p"))

    plan = load_plan(tmp_path / "plan.json")
    findings = check_plan(
        plan, environment=None, allowances=[], file="plan.json", extra_stateful=["terraform_data.db*"], today=TODAY
    )

    blocked = {f.address: f for f in findings if f.failed}
    assert sorted(blocked) == ["terraform_data.db_primary", "terraform_data.db_replica"]
    assert blocked["terraform_data.db_primary"].extra["action"] == "replace"
    assert blocked["terraform_data.db_primary"].extra["actions"] == ["delete", "create"]
    assert "forced by a change to triggers_replace" in blocked["terraform_data.db_primary"].message
    assert blocked["terraform_data.db_replica"].extra["action"] == "delete"
    assert blocked["terraform_data.db_replica"].extra["action_reason"] == "delete_because_no_resource_config"
    for f in blocked.values():
        assert "declared stateful by pattern 'terraform_data.db*'" in f.message
        assert f.extra["environment"] == "staging" and f.extra["environment_source"] == "variable environment"

    # Without the marker, terraform_data is not stateful and nothing is blocked.
    unmarked = check_plan(plan, environment=None, allowances=[], file="plan.json", today=TODAY)
    assert not [f for f in unmarked if f.failed]


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH; the files are made by the real CLI")
def test_the_binary_plan_and_the_plan_log_are_named_for_what_they_are(tmp_path):
    # The two files users give by mistake: the saved plan itself, and what `terraform plan -json` prints.
    write_terraform_config(tmp_path, {"app": {"input": "1.8.0"}})
    terraform(tmp_path, "init", "-input=false")
    terraform(tmp_path, "plan", "-input=false", "-out=p")
    (tmp_path / "log.json").write_text(terraform(tmp_path, "plan", "-input=false", "-json"))
    with pytest.raises(PlanReadError, match=r"p: a binary plan file \(from `terraform plan -out`\), not its JSON"):
        load_plan(tmp_path / "p")
    with pytest.raises(PlanReadError, match=r"log.json: the log of `terraform plan -json` \(one UI message per line\)"):
        load_plan(tmp_path / "log.json")


# --- Cost of the change --------------------------------------------------------------------------


def test_cost_change_prices_droplets_volumes_and_load_balancers_from_the_table():
    table = load_price_table()
    cost = plan_cost_change(load_plan(DATA / "cost_changes.json"), table)
    lines = {c.address: c for c in cost.changes}
    # no-op volume and the (free) firewall are not listed
    assert set(lines) == {
        "digitalocean_droplet.production_app_blue_0",
        "digitalocean_droplet.production_db_0",
        "digitalocean_droplet.production_gpu_0",
        "digitalocean_volume.production_db_data",
        "digitalocean_loadbalancer.production_old",
        "digitalocean_loadbalancer.production_lb",
    }
    price = lambda slug: table.size(slug).price_monthly  # noqa: E731

    resize = lines["digitalocean_droplet.production_app_blue_0"]
    assert resize.action == "update"
    assert (resize.before_usd, resize.after_usd) == (price("s-1vcpu-2gb"), price("s-2vcpu-4gb"))
    assert resize.delta == price("s-2vcpu-4gb") - price("s-1vcpu-2gb")

    db = lines["digitalocean_droplet.production_db_0"]  # daily backups add their percentage
    backups = (price("s-4vcpu-8gb") * table.backups.daily_percent / 100).quantize(Decimal("0.01"))
    assert (db.action, db.before_usd, db.after_usd) == ("create", Decimal("0"), price("s-4vcpu-8gb") + backups)

    volume = lines["digitalocean_volume.production_db_data"]
    assert volume.delta == (100 * table.volumes.per_gib_month).quantize(Decimal("0.01"))

    old_lb = lines["digitalocean_loadbalancer.production_old"]  # legacy size lb-medium
    units = table.load_balancer.legacy_size_units["lb-medium"]
    assert (old_lb.action, old_lb.delta) == ("delete", -(units * table.load_balancer.per_size_unit_month))
    assert lines["digitalocean_loadbalancer.production_lb"].after_usd == 2 * table.load_balancer.per_size_unit_month

    gpu = lines["digitalocean_droplet.production_gpu_0"]
    assert (gpu.after_usd, gpu.delta) == (None, None)
    [unknown] = cost.unknown
    assert unknown.address == "digitalocean_droplet.production_gpu_0" and unknown.side == "after"
    assert "'gpu-h100x1-80gb' is not in the price table" in unknown.detail
    assert not cost.complete
    # The total leaves out the unknown GPU Droplet instead of counting it as free.
    known = [resize.delta, db.after_usd, volume.delta, old_lb.delta, lines["digitalocean_loadbalancer.production_lb"].delta]
    assert cost.total_delta == sum(known)


def test_cost_change_of_replace_and_delete():
    table = load_price_table()
    cost = plan_cost_change(load_plan(DATA / "staging_volume_delete.json"), table)
    per_gib = table.volumes.per_gib_month
    assert [(c.address, c.action, c.delta) for c in cost.changes] == [
        ("digitalocean_volume.staging_db_data", "delete", -(100 * per_gib).quantize(Decimal("0.01"))),
        ("digitalocean_volume.staging_search_data", "create", (50 * per_gib).quantize(Decimal("0.01"))),
    ]
    assert cost.complete and cost.total_delta == -(50 * per_gib).quantize(Decimal("0.01"))
    replace = plan_cost_change(load_plan(DATA / "production_db_replace.json"), table)
    db = next(c for c in replace.changes if c.address == "digitalocean_droplet.production_db_0")
    assert db.action == "replace" and db.before_usd == db.after_usd and db.delta == 0


def test_cost_change_uses_the_price_table_override(tmp_path, monkeypatch):
    override = tmp_path / "prices.toml"
    override.write_text("[volumes]\nper_gib_month = 0.25\n")
    monkeypatch.setenv("HUB_PRICE_TABLE", str(override))
    cost = plan_cost_change(load_plan(DATA / "staging_volume_delete.json"))
    assert cost.total_delta == Decimal("-12.50")  # -100 GiB + 50 GiB at the overridden 0.25


@pytest.mark.parametrize("plan", [[[]], ["weekly"], {"a": 1}, 7])
def test_backup_plan_of_another_type_is_unpriced_not_a_crash(plan):
    from policies.plan import _monthly
    from policies.pricing import current_price_table

    value = {"size": "s-1vcpu-1gb", "backups": True, "backup_policy": [{"plan": plan}]}
    price, why = _monthly("digitalocean_droplet", value, current_price_table())
    assert price is None and "is not in the price table" in why


# --- Reading what a destroy loses, failing closed -------------------------------------------------


def _droplet_delete(before) -> dict:
    droplet = {"address": "digitalocean_droplet.worker_1", "mode": "managed", "type": "digitalocean_droplet",
               "name": "worker_1", "change": {"actions": ["delete"], "before": before, "after": None}}
    return {"format_version": "1.2", "planned_values": {"root_module": {}},
            "variables": {"environment": {"value": "production"}}, "resource_changes": [droplet]}


@pytest.mark.parametrize(("before", "why"), [
    ({"name": "worker-1", "tags": ["env:production"]}, "has no role:<x> tag"),
    ({"name": "worker-1"}, "has no role:<x> tag"),
    (None, "has no value before the change in the plan"),
    ({"tags": ["env:production", "Role:DB"]}, "tagged Role:DB, a stateful role"),
])
def test_a_droplet_delete_whose_role_cannot_be_told_is_blocked(before, why):
    [blocked] = by_status(check_plan(_droplet_delete(before), environment=None, file="p.json", today=TODAY), Status.FAILED)
    assert why in blocked.message


def test_a_droplet_of_a_stateless_role_may_go():
    plan = _droplet_delete({"tags": ["env:production", "role:app"]})
    assert not by_status(check_plan(plan, environment=None, file="p.json", today=TODAY), Status.FAILED)


@pytest.mark.parametrize("before", ["garbage", 5, ["role:db"]])
def test_a_value_that_is_not_an_object_is_refused(before):
    with pytest.raises(PlanReadError, match=r"p.json: resource_changes\[0\].change.before: "):
        check_plan(_droplet_delete(before), environment=None, file="p.json", today=TODAY)


@pytest.mark.parametrize("reason", ["x", ". . .", "moved it"])
def test_an_allowance_must_give_a_reason_of_three_words(reason):
    with pytest.raises(ValueError, match="in at least 3 words"):
        Allowance(address="*", reason=reason, expires=TODAY)


def _plan_of(*changes: dict) -> dict:
    return {"format_version": "1.2", "planned_values": {"root_module": {}}, "resource_changes": list(changes)}


def _create(rtype: str, name: str, after: dict, after_unknown: dict | None = None) -> dict:
    change = {"actions": ["create"], "before": None, "after": after}
    if after_unknown is not None:
        change["after_unknown"] = after_unknown
    return {"address": f"{rtype}.{name}", "mode": "managed", "type": rtype, "name": name, "change": change}


@pytest.mark.parametrize(("after", "after_unknown", "why"), [
    ({"type": "GLOBAL", "size_unit": 1}, None, "global load balancers are not in the price table"),
    ({"size_unit": -5}, None, "size_unit -5 is not a number of nodes"),
    ({"size_unit": None}, {"size_unit": True}, "size_unit not known until apply"),
])
def test_load_balancers_the_table_cannot_price_are_unknown_not_one_node(after, after_unknown, why):
    cost = plan_cost_change(_plan_of(_create("digitalocean_loadbalancer", "lb", after, after_unknown)), load_price_table())
    [unknown] = cost.unknown
    assert why in unknown.detail and not cost.complete and cost.changes[0].delta is None


def test_types_a_plan_cannot_price_are_unknown_and_free_ones_are_left_out():
    table = load_price_table()
    plan = _plan_of(
        _create("digitalocean_database_cluster", "pg", {"size": "db-s-1vcpu-1gb"}),
        _create("digitalocean_spaces_bucket", "media", {"name": "media"}),
        _create("digitalocean_reserved_ip", "ip", {"region": "fra1", "droplet_id": None}),
        _create("digitalocean_firewall", "fw", {"name": "fw"}),
    )
    cost = plan_cost_change(plan, table)
    assert sorted(u.address for u in cost.unknown) == ["digitalocean_database_cluster.pg", "digitalocean_spaces_bucket.media"]
    assert [c.address for c in cost.changes if c.delta is not None] == ["digitalocean_reserved_ip.ip"]
    assert cost.total_delta == table.reserved_ip.unassigned_month and not cost.complete


def test_selector_tags_and_unknown_names_do_not_contradict_the_given_environment():
    alert = {"address": "digitalocean_monitor_alert.cpu", "mode": "managed", "type": "digitalocean_monitor_alert",
             "name": "cpu", "change": {"actions": ["update"], "before": {"tags": ["env:staging", "env:production"]},
                                       "after": {"tags": ["env:staging", "env:production"]}}}
    bastion = {"address": "digitalocean_droplet.bastion", "mode": "managed", "type": "digitalocean_droplet",
               "name": "bastion", "change": {"actions": ["no-op"], "before": {"tags": ["env:shared", "role:bastion"]},
                                             "after": {"tags": ["env:shared", "role:bastion"]}}}
    plan = _volume_delete("staging", alert, bastion)
    for environment in ("staging", "production"):  # an alert's tags select, they do not label
        if environment == "production":
            with pytest.raises(PlanReadError, match="'staging' \\(variable environment\\)"):
                check_plan(plan, environment=environment, file="p.json", today=TODAY)
        else:
            [blocked] = by_status(check_plan(plan, environment=environment, file="p.json", today=TODAY), Status.FAILED)
            assert blocked.address == "digitalocean_volume.db_data"


def test_an_empty_role_tag_is_no_role():
    [blocked] = by_status(check_plan(_droplet_delete({"tags": ["env:staging", "role:"]}), environment=None,
                                     file="p.json", today=TODAY), Status.FAILED)
    assert "has no role:<x> tag" in blocked.message


def test_an_unpriced_type_created_costs_nothing_before():
    [change] = plan_cost_change(_plan_of(_create("digitalocean_database_cluster", "pg", {"size": "x"})),
                                load_price_table()).changes
    assert (change.before_usd, change.after_usd, change.delta) == (Decimal("0.00"), None, None)


@pytest.mark.parametrize("actions", [["create", "forget"], ["forget", "create"]])
def test_a_replace_that_forgets_the_old_object_costs_the_new_one(actions):
    # Terraform's CreateThenForget (lifecycle destroy = false): the new Droplet is billed on top of the
    # old one, which leaves Terraform but keeps running; the plan destroys nothing.
    table = load_price_table()
    value = {"size": "s-1vcpu-1gb", "tags": ["env:staging", "role:db"]}
    droplet = _create("digitalocean_droplet", "db_0", value, {})
    droplet["change"].update(actions=actions, before=value)
    [change] = plan_cost_change(_plan_of(droplet), table).changes
    price = table.size("s-1vcpu-1gb").price_monthly
    assert (change.before_usd, change.after_usd, change.delta) == (Decimal("0.00"), price, price)
    assert not by_status(check_plan(_plan_of(droplet), environment="staging", file="p.json", today=TODAY), Status.FAILED)


def _droplet(actions: list[str], before_size: str | None, after_size: str | None) -> dict:
    change = {"actions": actions, "after_unknown": {},
              "before": None if before_size is None else {"size": before_size, "tags": ["role:app"]},
              "after": None if after_size is None else {"size": after_size, "tags": ["role:app"]}}
    return {"address": "digitalocean_droplet.app_0", "mode": "managed", "type": "digitalocean_droplet",
            "name": "app_0", "change": change}


@pytest.mark.parametrize(("droplet", "bound"), [
    (_droplet(["create"], None, "xl-unknown"), "lower"),  # the unknown price can only add
    (_droplet(["delete"], "xl-unknown", None), "upper"),  # it can only save: the total is too high
    (_droplet(["update"], "xl-unknown", "s-1vcpu-1gb"), None),  # either way
    (_droplet(["update"], "s-1vcpu-1gb", "s-1vcpu-2gb"), None),  # complete: exact
])
def test_an_incomplete_cost_change_says_which_way_it_can_be_off(droplet, bound):
    cost = plan_cost_change(_plan_of(droplet), load_price_table())
    assert cost.bound == bound


def test_unused_allowances_name_their_own_lines_when_a_header_is_quoted(tmp_path):
    path = tmp_path / "allow.toml"
    entry = 'address = "digitalocean_volume.{}"\nreason = "kept for the HUB-9 migration"\nexpires = 2026-07-01\n'
    path.write_text('[["allow_destroy"]]\n' + entry.format("a") + "\n[[allow_destroy]]\n" + entry.format("b"))
    findings = run_gate("production_no_destroy.json", allowances=load_allowances(path))
    unused = {f.address: f.line for f in by_status(findings, Status.FAILED, UNUSED_ALLOWANCE_CHECK_ID)}
    assert unused == {"digitalocean_volume.a": 1, "digitalocean_volume.b": 6}


def test_a_document_of_another_shape_lists_its_first_problems_not_all(tmp_path):
    entries = [{"address": f"x.y{i}"} for i in range(2000)]  # 4 problems each: mode, type, name, change
    with pytest.raises(PlanReadError) as err:
        check_plan({"format_version": "1.2", "resource_changes": entries}, environment=None, file="p.json")
    message = str(err.value)
    assert message.startswith("p.json: resource_changes[0].mode: Field required; ")
    assert message.endswith("; and 7,990 more problem(s)") and len(message) < 1000
