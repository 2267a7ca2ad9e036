"""The gate as users run it: `python -m policies check|cost|plan`, every format and exit code,
suppressions on Checkov's findings too, and failing closed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from policies.findings import Status
from policies.reports import FORMATS
from tests.conftest import ROOT, run_env

DATA = Path(__file__).parent / "data"
INSECURE = DATA / "checks" / "insecure" / "cdk.tf.json"


def written(path: Path, content: str) -> Path:
    """`path` (its directory made) holding `content`: the bad input a test hands the gate."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def gate(*args: str, tmp_path: Path, cwd: Path = ROOT, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "policies", *args],
        cwd=cwd,
        env=run_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """The checked-in environments, synthesized once for this module."""
    outdir = tmp_path_factory.mktemp("synth") / "cdktf.out"
    proc = subprocess.run(
        [sys.executable, "-m", "stacks"], cwd=ROOT, env=run_env(outdir, CDKTF_OUTDIR=outdir),
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return outdir


def test_checked_in_environments_pass(out, tmp_path):
    proc = gate("check", str(out), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for env in ("development", "staging", "production"):
        assert env in proc.stdout
    assert "FAIL" not in proc.stdout


def test_json_report_names_terraform_addresses_and_constructs(out, tmp_path):
    proc = gate("check", str(out), "--env", "production", "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    findings = doc["findings"]
    checkov = [f for f in findings if f["source"] == "checkov"]
    assert checkov, "Checkov's own checks ran"
    assert all(not f["address"].startswith("resource.") for f in findings)
    assert all(f["fix"] for f in findings), "every finding, ours and Checkov's, says how to fix it"
    fw = next(f for f in findings if f["check_id"] == "HUB_DO_1" and f["address"] == "digitalocean_firewall.firewalls_db")
    assert fw["construct_path"] == "production/firewalls/db" and fw["line"] > 1
    assert {f["stack"] for f in findings} <= {"production", ""}


def test_failing_stack_exits_1_with_real_addresses(tmp_path):
    proc = gate("check", str(INSECURE), "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 1, proc.stderr
    failed = [f for f in json.loads(proc.stdout)["findings"] if f["status"] == "failed"]
    by_check = {(f["check_id"], f["address"]) for f in failed}
    assert ("HUB_DO_2", "digitalocean_firewall.app_fw") in by_check
    assert ("CKV_DIO_4", "digitalocean_firewall.app_fw") in by_check, "Checkov's findings carry the real address"
    text = INSECURE.read_text().splitlines()
    line = next(f["line"] for f in failed if f["address"] == "digitalocean_firewall.app_fw")
    assert text[line - 1].strip().startswith('"app_fw"')


def test_sarif_is_valid_and_points_at_the_file(tmp_path):
    report = tmp_path / "gate.sarif"
    proc = gate("check", str(INSECURE), "--format", "sarif", "--output", str(report), tmp_path=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    log = json.loads(report.read_text())
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert any(r["ruleId"] == "HUB_DO_3" for r in results)
    loc = results[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].endswith("insecure/cdk.tf.json") and loc["region"]["startLine"] >= 1


def test_junit_and_markdown(tmp_path):
    proc = gate("check", str(INSECURE), "--format", "junit", tmp_path=tmp_path)
    suites = ET.fromstring(proc.stdout)
    assert int(suites.get("failures") or sum(int(s.get("failures")) for s in suites)) > 0
    md = gate("check", str(INSECURE), "--format", "markdown", tmp_path=tmp_path).stdout
    assert "HUB_DO_2" in md and "|" in md


def test_suppression_applies_to_checkov_findings(tmp_path):
    sup = tmp_path / "suppressions.toml"
    sup.write_text(
        '[[suppression]]\ncheck = "CKV_DIO_4"\ntarget = "digitalocean_firewall.app_fw"\n'
        'reason = "HUB_DO_1 to HUB_DO_4 read every rule; this check reads only the first"\nexpires = 2099-01-01\n'
    )
    proc = gate("check", str(INSECURE), "--format", "json", "--suppressions", str(sup), tmp_path=tmp_path)
    findings = json.loads(proc.stdout)["findings"]
    dio4 = [f for f in findings if f["check_id"] == "CKV_DIO_4" and f["address"] == "digitalocean_firewall.app_fw"]
    assert dio4 and all(f["status"] == "suppressed" for f in dio4)
    assert "read every rule" in dio4[0]["suppression_reason"]


def test_expired_suppression_stops_suppressing(tmp_path):
    sup = tmp_path / "suppressions.toml"
    sup.write_text(
        '[[suppression]]\ncheck = "CKV_DIO_4"\ntarget = "digitalocean_firewall.app_fw"\n'
        'reason = "temporary while the rules are rewritten"\nexpires = 2020-01-01\n'
    )
    proc = gate("check", str(INSECURE), "--format", "json", "--suppressions", str(sup), tmp_path=tmp_path)
    findings = json.loads(proc.stdout)["findings"]
    assert any(f["check_id"] == "HUB_SUPPRESSION_EXPIRED" and f["status"] == "failed" for f in findings)
    assert any(f["check_id"] == "CKV_DIO_4" and f["status"] == "failed" for f in findings)


@pytest.mark.parametrize(
    "content,expected",
    [
        ('{"resource": {"digitalocean_droplet": {"a": {"size": "s-1vcpu-1gb"', "not valid JSON"),
        ('{"name": "not terraform", "version": 1}', "not a Terraform JSON configuration"),
        ("[1, 2]", "expected a Terraform JSON object"),
        ('{"resource": {}, "terraform": "x"}', "terraform: expected an object, found a string"),
        ('{"resource": {}, "output": "x"}', "output: expected an object, found a string"),
        ('{"resource": {}, "variable": {"region": "nyc3"}}', "variable.region: expected an object, found a string"),
        # Terraform: "Missing block label"; Checkov crashed on it and the data source passed unread
        ('{"resource": null, "data": {"aws_iam_policy_document": {"p": {}}}}', "resource: expected an object, found null"),
        ('{"resource": {"digitalocean_vpc": {"v": {"ip_range": NaN}}}}', "not valid JSON (NaN is not a JSON value)"),
        # json keeps the last of repeated keys: the open firewall in the first "resource" would go unseen
        ('{"resource": {"digitalocean_firewall": {"f": {"name": "f"}}}, "resource": {"digitalocean_vpc": {"v": {}}}}',
         "top level: key 'resource' is written twice in one object"),
        ('{"resource": {"digitalocean_firewall": {"f": {"inbound_rule": [{"source_addresses": ["10.0.0.0/8"], '
         '"source_addresses": ["0.0.0.0/0"]}]}}}}',
         "resource.digitalocean_firewall.f.inbound_rule[0]: key 'source_addresses' is written twice in one object"),
    ],
)
def test_unusable_stack_exits_2(tmp_path, content, expected):
    bad = written(tmp_path / "bad" / "cdk.tf.json", content)
    for command in ("check", "cost"):
        proc = gate(command, str(bad), tmp_path=tmp_path)
        assert proc.returncode == 2 and f"{bad}: " in proc.stderr and expected in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


DEEP_JSON = '{"resource": {"digitalocean_vpc": {"v": {"name": ' + "[" * 100_000 + "]" * 100_000 + "}}}}"
DEEP_TOML = "deep = " + "[" * 100_000 + "]" * 100_000 + "\n"


@pytest.mark.parametrize(
    "file_name, content, args, env",
    [
        ("cdk.tf.json", DEEP_JSON, ("check", "{file}"), {}),
        ("plan.json", DEEP_JSON, ("plan", "{file}"), {}),
        ("allow.toml", DEEP_TOML, ("plan", str(DATA / "plan" / "staging_volume_delete.json"), "--allowances", "{file}"), {}),
        ("suppressions.toml", DEEP_TOML, ("check", str(INSECURE), "--suppressions", "{file}"), {}),
        ("prices.toml", DEEP_TOML, ("cost", str(INSECURE)), {"HUB_PRICE_TABLE": "{file}"}),
    ],
    ids=["stack", "plan", "allowances", "suppressions", "price-table"],
)
def test_input_nested_past_the_parsers_limit_exits_2(tmp_path, file_name, content, args, env):
    bad = written(tmp_path / "deep" / file_name, content)
    fill = {"file": str(bad)}
    proc = gate(*(a.format(**fill) for a in args), tmp_path=tmp_path, **{k: v.format(**fill) for k, v in env.items()})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    named = f"{bad} (from HUB_PRICE_TABLE)" if "HUB_PRICE_TABLE" in env else str(bad)  # the setting, so it can be found
    assert f"{named}: nested too deeply to read" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "hub, droplet, expected",
    [
        ({"budget_usd": 10**30}, {}, "budget_usd is 1000000000000000000000000000000, not a number of USD from 0"),
        ({}, {"backups": True, "backup_policy": {"plan": []}}, "backup plan [] has no price in the table"),
        ({}, {"count": 10**30}, "not a literal number up to 1,000,000"),
        ({}, {"count": -100}, "count is -100, not a literal number up to 1,000,000"),  # it would lower the total
        ({}, {"count": "\u00b2"}, "not a literal number up to 1,000,000"),
        ({}, {"//": {"metadata": "not cdktf's shape"}}, None),
    ],
)
def test_absurd_values_are_findings_not_crashes(tmp_path, hub, droplet, expected):
    body = {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "region": "nyc3", "name": "d", **droplet}
    document = {"//": {"hub": hub}, "resource": {"digitalocean_droplet": {"d": body}}}
    stack = written(tmp_path / "odd" / "cdk.tf.json", json.dumps(document))
    proc = gate("cost", str(stack), "--format", "json", tmp_path=tmp_path)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    if expected:
        assert expected in proc.stdout


def test_lone_surrogates_exit_2_naming_the_field(tmp_path):
    stack = written(tmp_path / "odd" / "cdk.tf.json", '{"//": {"hub": {"environment": "\\udfff"}}, "resource": {}}')
    proc = gate("check", str(stack), tmp_path=tmp_path)
    assert proc.returncode == 2 and f'{stack}: //.hub.environment: a string holds a lone UTF-16 surrogate' in proc.stderr
    plan = tmp_path / "plan.json"
    plan.write_text((DATA / "plan" / "staging_volume_delete.json").read_text().replace('"format_version"', '"x": "\\ud800", "format_version"', 1))
    proc = gate("plan", str(plan), tmp_path=tmp_path)
    assert proc.returncode == 2 and f"{plan}: x: a string holds a lone UTF-16 surrogate" in proc.stderr


def _findings(path: Path, tmp_path: Path) -> list[tuple[str, str, str]]:
    proc = gate("check", str(path), "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    return sorted((f["check_id"], f["address"], f["status"]) for f in report["findings"])


def _emoji_escaped(raw: dict) -> str:
    raw["//"] = {"note": "\U0001F600"}  # json writes it as the escaped pair \ud83d\ude00, which Checkov refuses
    return json.dumps(raw, indent=2)


def _yaml_line_break(raw: dict) -> str:
    raw["//"] = {"note": "one\u2028two\x85three"}  # line breaks to Checkov's YAML reader, not to JSON
    return json.dumps(raw, indent=2, ensure_ascii=False)


def _yaml_unacceptable(raw: dict) -> str:
    raw["//"] = {"note": "del\x7f c1\x9b nonchar\uffff"}  # JSON strings may hold them raw; Checkov's YAML refuses them
    return json.dumps(raw, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("name, write", [
    ("mini/cdk.tf.json", lambda raw: json.dumps(raw, separators=(",", ":"))),  # blocks share line 1
    ("insecure.json", lambda raw: json.dumps(raw, indent=2)),  # Checkov reads only *.tf.json
    ("emoji/cdk.tf.json", _emoji_escaped),
    ("breaks/cdk.tf.json", _yaml_line_break),
    ("unacceptable/cdk.tf.json", _yaml_unacceptable),
    ("braces/cdk.tf.json", lambda raw: json.dumps(raw, indent=2).replace('": {', '":\n{')),  # Checkov: line of "{"
    ("tabs/cdk.tf.json", lambda raw: json.dumps(raw, indent="\t")),  # YAML refuses tabs as indentation
    ("colons/cdk.tf.json", lambda raw: json.dumps(raw, indent=2).replace('": ', '"\n: ')),  # YAML: a key on one line
])
def test_stacks_checkov_cannot_read_as_written_are_judged_the_same(tmp_path, name, write):
    """The gate hands Checkov a clean copy of such a stack; findings keep the stack's own file."""
    variant = written(tmp_path / name, write(json.loads(INSECURE.read_text())))
    findings = _findings(variant, tmp_path)
    assert findings == _findings(INSECURE, tmp_path)


def test_a_block_terraform_reads_as_absent_leaves_checkov_the_rest(tmp_path):
    """`"locals": null` is no block to Terraform; Checkov crashed on it and read nothing of the stack."""
    raw = json.loads(INSECURE.read_text())
    stack = written(tmp_path / "nulls" / "cdk.tf.json", json.dumps({**raw, "locals": None, "terraform": None}, indent=2))
    assert _findings(stack, tmp_path) == _findings(INSECURE, tmp_path)


def test_a_stack_file_is_named_without_its_json_suffixes(tmp_path):
    stack = written(tmp_path / "hand.tf.json", INSECURE.read_text())
    proc = gate("check", str(stack), "--format", "json", tmp_path=tmp_path)
    assert [s["name"] for s in json.loads(proc.stdout)["stacks"]] == ["hand"]
    written(tmp_path / "staging" / "cdk.tf.json", INSECURE.read_text())
    proc = gate("check", "cdk.tf.json", "--format", "json", tmp_path=tmp_path, cwd=tmp_path / "staging", PYTHONPATH=ROOT)
    assert [s["name"] for s in json.loads(proc.stdout)["stacks"]] == ["staging"]  # named after its directory


def test_minified_blocks_of_one_name_keep_their_own_findings(tmp_path):
    stack = written(tmp_path / "mini" / "cdk.tf.json", json.dumps({"resource": {
        "digitalocean_firewall": {"x": {"name": "x", "inbound_rule": [
            {"protocol": "tcp", "port_range": "22", "source_addresses": ["0.0.0.0/0"]}]}},
        "digitalocean_vpc": {"x": {"name": "x", "region": "fra1", "ip_range": "10.10.0.0/20"}},
    }}, separators=(",", ":")))
    failed = {(check, address) for check, address, status in _findings(stack, tmp_path) if status == "failed"}
    assert {("HUB_DO_1", "digitalocean_firewall.x"), ("CKV_DIO_4", "digitalocean_firewall.x")} <= failed
    assert not {address for _, address in failed} - {"digitalocean_firewall.x", ""}


def test_output_into_a_directory_device_or_unwritable_place(tmp_path):
    proc = gate("check", str(INSECURE), "--output", str(tmp_path), tmp_path=tmp_path)
    assert proc.returncode == 2 and f"--output {tmp_path}: is a directory" in proc.stderr
    proc = gate("check", str(INSECURE), "--output", "/dev/null", tmp_path=tmp_path)
    assert proc.returncode == 1 and Path("/dev/null").is_char_device()  # written into, not replaced
    report = tmp_path / "report.txt"
    report.write_text("old")
    report.chmod(0o640)
    proc = gate("check", str(INSECURE), "--output", str(report), tmp_path=tmp_path)
    assert proc.returncode == 1 and report.stat().st_mode & 0o777 == 0o640 and "HUB_DO_1" in report.read_text()


def test_a_report_never_replaces_an_input_of_its_run(tmp_path):
    stack = written(tmp_path / "stacks" / "web" / "cdk.tf.json", INSECURE.read_text())
    suppressions = written(tmp_path / "suppressions.toml", "")
    for output in (stack, suppressions):
        before = output.read_bytes()
        proc = gate("check", str(stack), "--suppressions", str(suppressions), "--output", str(output), tmp_path=tmp_path)
        assert proc.returncode == 2 and f"--output {output}: is an input of this run" in proc.stderr
        assert output.read_bytes() == before
    plan = written(tmp_path / "plan.json", (DATA / "plan" / "staging_volume_delete.json").read_text())
    proc = gate("plan", str(plan), "--output", str(plan), tmp_path=tmp_path)
    assert proc.returncode == 2 and "is an input of this run" in proc.stderr


def test_a_report_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "link.json").symlink_to("report.json")
    proc = gate("check", str(INSECURE), "--format", "json", "--output", str(tmp_path / "link.json"), tmp_path=tmp_path)
    assert proc.returncode == 1 and (tmp_path / "link.json").is_symlink()
    assert json.loads((tmp_path / "report.json").read_text())["summary"]


def test_standard_output_that_cannot_be_written_exits_2_without_a_traceback(tmp_path):
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "policies", "check", str(INSECURE)], cwd=ROOT,
                              env=run_env(tmp_path), stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: standard output: cannot be written (No space left on device)"


def test_plan_with_nan_exits_2(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text((DATA / "plan" / "staging_volume_delete.json").read_text().replace('"format_version"', '"x": NaN, "format_version"', 1))
    proc = gate("plan", str(plan), tmp_path=tmp_path)
    assert proc.returncode == 2 and f"{plan}: not valid JSON (NaN is not a JSON value)" in proc.stderr
    plan.write_text('{"format_version": "1.2", "planned_values": {}, "size": ' + "9" * 5000 + "}")
    proc = gate("plan", str(plan), tmp_path=tmp_path)
    assert proc.returncode == 2 and f"{plan}: a number has more than 4,300 digits" in proc.stderr


def test_badly_shaped_attribute_exits_2(tmp_path):
    stack = tmp_path / "odd" / "cdk.tf.json"
    stack.parent.mkdir()
    doc = json.loads(INSECURE.read_text())
    doc["resource"]["digitalocean_firewall"]["app_fw"]["tags"] = "hunter2"
    stack.write_text(json.dumps(doc, indent=2))
    proc = gate("check", str(stack), tmp_path=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "digitalocean_firewall.app_fw.tags" in proc.stderr


def test_missing_path_and_unknown_env_exit_2(out, tmp_path):
    proc = gate("check", str(tmp_path / "nowhere"), tmp_path=tmp_path)
    assert proc.returncode == 2 and "no such file or directory" in proc.stderr
    proc = gate("check", str(out), "--env", "prod", tmp_path=tmp_path)
    assert proc.returncode == 2 and "--env: no stack named prod" in proc.stderr


def test_a_stack_given_twice_is_read_once_and_two_stacks_of_one_name_exit_2(out, tmp_path):
    staging = out / "stacks" / "staging"
    proc = gate("check", str(staging / "cdk.tf.json"), str(out), "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["summary"]["stacks"] == 3
    other = tmp_path / "elsewhere" / "staging"
    other.mkdir(parents=True)
    (other / "cdk.tf.json").write_bytes((staging / "cdk.tf.json").read_bytes())
    proc = gate("check", str(out), str(other), tmp_path=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{other / 'cdk.tf.json'}: another stack of this run is also named 'staging'" in proc.stderr


def test_a_stack_directory_with_other_terraform_files_exits_2(out, tmp_path):
    """Terraform would load an override file beside cdk.tf.json; the gate would not have read it."""
    stacks = tmp_path / "cdktf.out" / "stacks"
    (stacks / "staging").mkdir(parents=True)
    (stacks / "staging" / "cdk.tf.json").write_bytes((out / "stacks" / "staging" / "cdk.tf.json").read_bytes())
    (stacks / "staging" / "fw_override.tf.json").write_text('{"resource": {}}')
    proc = gate("check", str(tmp_path / "cdktf.out"), tmp_path=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{stacks / 'staging'}: also holds fw_override.tf.json, which Terraform loads" in proc.stderr


def test_bad_suppressions_file_exits_2(tmp_path):
    sup = tmp_path / "suppressions.toml"
    sup.write_text('[[suppression]]\ncheck = "CKV_DIO_4"\ntarget = "*"\nexpires = 2099-01-01\n')
    proc = gate("check", str(INSECURE), "--suppressions", str(sup), tmp_path=tmp_path)
    assert proc.returncode == 2 and "reason" in proc.stderr and str(sup) in proc.stderr


def test_a_stack_named_by_bytes_that_are_not_utf8_is_reported_without_a_traceback(tmp_path):
    name = os.fsdecode(b"x\xff")  # "x\udcff": the undecodable byte as a lone surrogate
    shutil.copy(INSECURE, written(tmp_path / "out" / "stacks" / name / "cdk.tf.json", "").parent)
    stack = f"out/stacks/{name}/cdk.tf.json"  # relative, so SARIF writes a URI reference of its own
    for fmt in FORMATS:
        # standard output that takes only UTF-8 (a UTF-8 locale), and a file
        proc = gate("check", stack, "--format", fmt, tmp_path=tmp_path, cwd=tmp_path, PYTHONPATH=ROOT,
                    PYTHONIOENCODING="utf-8")
        assert (proc.returncode, proc.stderr) == (1, ""), fmt
        report = tmp_path / f"report.{fmt}"
        proc = gate("check", stack, "--format", fmt, "--output", str(report), tmp_path=tmp_path, cwd=tmp_path,
                    PYTHONPATH=ROOT)
        assert (proc.returncode, proc.stderr) == (1, "") and report.read_text(encoding="utf-8"), fmt
    assert {f["stack"] for f in json.loads((tmp_path / "report.json").read_text())["findings"]} == {name}
    log = json.loads((tmp_path / "report.sarif").read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"out/stacks/x%FF/cdk.tf.json"}


def test_output_is_not_half_written(tmp_path):
    report = tmp_path / "report.json"
    report.write_text("previous")
    proc = gate("check", str(tmp_path / "nowhere"), "--format", "json", "--output", str(report), tmp_path=tmp_path)
    assert proc.returncode == 2 and report.read_text() == "previous"


def test_unknown_resource_type_fails_closed(tmp_path):
    stack = tmp_path / "odd" / "cdk.tf.json"
    stack.parent.mkdir()
    stack.write_text(json.dumps({"resource": {"digitalocean_kubernetes_cluster": {"k8s": {"name": "x", "region": "fra1"}}}}))
    proc = gate("check", str(stack), "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 1
    ids = {f["check_id"] for f in json.loads(proc.stdout)["findings"] if f["status"] == "failed"}
    assert "HUB_GATE_1" in ids


def test_checkov_findings_on_modules_providers_and_data_sources_land_on_them(tmp_path):
    """Foreign output with a module call, a provider block and a data source: Checkov's findings about
    them carry their addresses, and the module, whose resources the gate cannot see, fails closed."""
    stack = written(tmp_path / "foreign" / "cdk.tf.json", json.dumps({
        "provider": {"aws": [{"region": "us-east-1", "access_key": "${var.key}", "secret_key": "${var.secret}"},
                             {"alias": "west", "region": "us-west-2", "access_key": "${var.key}"}]},
        "module": {"web": {"source": "git::https://example.com/web.git", "droplet_count": 3}},
        "data": {"aws_iam_policy_document": {"p": {"statement": [{"actions": ["*"], "resources": ["*"]}]}}},
        "resource": {"digitalocean_vpc": {"v": {"name": "v", "region": "fra1", "ip_range": "10.10.0.0/20"}}},
    }, indent=2))
    proc = gate("check", str(stack), "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    text = stack.read_text()
    module_line, data_line = (text[: text.index(key)].count("\n") + 1 for key in ('"web"', '"p"'))
    failed = {(f["check_id"], f["address"], f["line"]) for f in report["findings"] if f["status"] == "failed"}
    assert {("HUB_GATE_1", "module.web", module_line), ("CKV_TF_1", "module.web", module_line),
            ("CKV_AWS_49", "data.aws_iam_policy_document.p", data_line)} <= failed
    passed = {(f["check_id"], f["address"]) for f in report["findings"] if f["status"] == "passed"}
    assert {("CKV_AWS_41", "provider.aws"), ("CKV_AWS_41", "provider.aws.west")} <= passed  # keys from variables


def test_secrets_outside_resources_fail_the_stack_at_their_block(tmp_path):
    token = "dop_v1_" + "0123456789abcdef" * 4  # assembled so no secret scanner trips over this file
    stack = written(tmp_path / "leaky" / "cdk.tf.json", json.dumps({
        "resource": {"digitalocean_vpc": {"v": {"name": "v", "region": "fra1", "ip_range": "10.10.0.0/20"}}},
        "output": {"token": {"value": token}, "admin_password": {"value": "Hunter2Hunter2", "sensitive": True}},
        "locals": {"db": {"admin_password": "hunter2"}},
        "module": {"m": {"source": "./m", "api_key": "abc123"}},
        "data": {"http": {"h": {"url": "https://example.com", "request_headers": {"Authorization": "Bearer " + "x1" * 10}}}},
        "terraform": {"cloud": {"organization": "hub", "token": "abcdefabcdef.atlasv1.abcdef"}},
        "provider": {"digitalocean": [{"token": "${var.do_token}"}, {"alias": "west", "token": token}]},
        "variable": {"db_password": {"type": "string", "default": "hunter22"}},
    }, indent=2))
    proc = gate("check", str(stack), "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = stack.read_text().splitlines()

    def line_of(key: str) -> int:
        return next(n for n, line in enumerate(lines, 1) if line.lstrip().startswith(f'"{key}": {{'))

    found = {(f["address"], f["line"], f["message"]) for f in json.loads(proc.stdout)["findings"]
             if f["check_id"] == "HUB_GEN_2" and f["status"] == "failed"}
    assert found == {  # one finding per block, at its address and line, so each can be fixed or suppressed
        ("terraform", line_of("terraform"), "cloud.token: literal value under the secret-like key 'token'"),
        ("output.token", line_of("token"), "token.value: looks like a DigitalOcean API token"),
        ("output.admin_password", line_of("admin_password"), "admin_password.value: literal value under the "
         "secret-like key 'admin_password'"),
        ("local.db", line_of("db"), "db.admin_password: literal value under the secret-like key 'admin_password'"),
        ("module.m", line_of("m"), "api_key: literal value under the secret-like key 'api_key'"),
        ("data.http.h", line_of("h"), "request_headers.Authorization: looks like a bearer token"),
        ("provider.digitalocean.west", lines.index('        "alias": "west",'), "token: looks like a DigitalOcean API token"),
        ("variable.db_password", line_of("db_password"),
         "db_password: literal value under the secret-like key 'db_password'"),
    }
    assert token not in proc.stdout


def test_checkov_failure_fails_closed(monkeypatch, out):
    from policies import checkov_runner
    from policies.gate import GateOptions, evaluate, load_documents

    def broken():
        raise RuntimeError("checkov exploded")

    monkeypatch.setattr(checkov_runner, "_loaded", None)
    monkeypatch.setattr(checkov_runner, "_load", broken)
    result, _ = evaluate(load_documents([out]), GateOptions(today=date(2026, 11, 27)))
    assert not result.passed()
    assert any("checkov exploded" in e for e in result.errors)


def test_without_checkov_its_checks_suppressions_are_not_called_unknown(monkeypatch, out, tmp_path):
    """Checkov runs its checks and our per-resource ones; when it fails, their ids are unknown to the run,
    and calling valid entries "unknown check" or "unused" would tell the user to delete them."""
    from policies import checkov_runner
    from policies.gate import GateOptions, evaluate, load_documents

    def broken():
        raise RuntimeError("checkov exploded")

    monkeypatch.setattr(checkov_runner, "_loaded", None)
    monkeypatch.setattr(checkov_runner, "_load", broken)
    entry = '[[suppression]]\ncheck = "{}"\ntarget = "*"\nreason = "read by other checks"\nexpires = {}\n'
    sup = written(tmp_path / "suppressions.toml", entry.format("CKV_DIO_4", "2099-01-01")
                  + entry.format("HUB_DO_5", "2099-01-01") + entry.format("CKV_DIO_2", "2020-01-01"))
    result, _ = evaluate(load_documents([out]), GateOptions(suppressions=sup, today=date(2026, 11, 27)))
    assert not result.passed() and any("checkov exploded" in e for e in result.errors)
    problems = [(f.check_id, f.extra["entry"]) for f in result.findings if f.check_id.startswith("HUB_SUPPRESSION")]
    assert problems == [("HUB_SUPPRESSION_EXPIRED", 3)]  # expiry does not depend on the check having run


DYNAMIC_FIREWALL = {"resource": {"digitalocean_firewall": {"fw": {
    "name": "fw",
    "tags": ["web"],
    "inbound_rule": [{"protocol": "tcp", "port_range": "22", "source_addresses": ["0.0.0.0/0"]}],
    "dynamic": {"inbound_rule": {"for_each": ["443"], "content": {
        "protocol": "tcp", "port_range": "${inbound_rule.value}", "source_addresses": ["0.0.0.0/0"]}}},
}}}}


def test_dynamic_firewall_rules_are_judged_with_the_written_ones(tmp_path):
    """Checkov's expansion of dynamic blocks crashes on Terraform JSON after dropping the written rules,
    which silently passed the firewall; the gate judges both, and prints no traceback."""
    stack = written(tmp_path / "dyn" / "cdk.tf.json", json.dumps(DYNAMIC_FIREWALL, indent=2))
    proc = gate("check", str(stack), "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    failed = {f["check_id"]: f["message"] for f in json.loads(proc.stdout)["findings"] if f["status"] == "failed"}
    assert failed["HUB_DO_2"] == (
        "inbound_rule[0]: tcp 22 from 0.0.0.0/0: SSH reachable from 0.0.0.0/0; dynamic.inbound_rule[0].content: tcp "
        "'${inbound_rule.value}' (unreadable, counted as all ports) from 0.0.0.0/0: SSH reachable from 0.0.0.0/0"
    )
    assert "CKV_DIO_4" in failed  # Checkov's own check judges the written rules instead of crashing


def _crash(self, conf):
    raise KeyError("monitoring")


def _no_answer(self, conf):
    from checkov.common.models.enums import CheckResult

    return CheckResult.UNKNOWN  # Checkov keeps no record of it


@pytest.mark.parametrize("scan, message", [
    (_crash, "not evaluated: the check crashed on this resource (KeyError: 'monitoring'), so the gate counts it as failed"),
    (_no_answer, "not evaluated: Checkov returned no result of this check for this resource, so the gate counts it as failed"),
])
def test_a_check_that_crashes_or_gives_no_answer_fails_closed(monkeypatch, out, scan, message):
    """Checkov drops the result of a check that raises (it only logs it) or answers UNKNOWN: the gate
    makes each a failure on that resource."""
    from policies.checks import all_checks
    from policies.gate import GateOptions, evaluate, load_documents

    [monitoring] = [c for c in all_checks() if c.id == "HUB_DO_7"]
    monkeypatch.setattr(type(monitoring), "scan_resource_conf", scan)  # the Checkov service forks from here
    result, _ = evaluate(load_documents([out]), GateOptions(today=date(2026, 11, 27)))

    assert not result.passed() and result.errors == []
    unevaluated = [f for f in result.findings if f.check_id == "HUB_DO_7"]
    droplets = sum(1 for doc in load_documents([out]) for _ in doc.of_type("digitalocean_droplet"))
    assert len(unevaluated) == droplets
    assert all(f.status is Status.FAILED and f.message == message for f in unevaluated)
    assert {f.address.split(".")[0] for f in unevaluated} == {"digitalocean_droplet"}


def test_checkov_judges_the_bytes_the_other_policies_read(out, tmp_path):
    """A stack file changed after it was read must not give Checkov's checks other bytes to judge."""
    from policies.gate import GateOptions, evaluate, load_documents

    copy = tmp_path / "cdktf.out"
    shutil.copytree(out, copy)
    docs = load_documents([copy])
    for doc in docs:  # after reading: every Droplet's monitoring off on disk
        doc.path.write_text(doc.path.read_text().replace('"monitoring": true', '"monitoring": false'))
    result, _ = evaluate(docs, GateOptions(today=date(2026, 11, 27)))
    monitoring = [f for f in result.findings if f.check_id == "HUB_DO_7"]
    assert monitoring and all(f.status is Status.PASSED for f in monitoring)


@pytest.mark.parametrize("value", ["abc", "0", "-5", "inf", "nan"])
def test_a_bad_checkov_timeout_exits_2(tmp_path, value):
    proc = gate("check", str(INSECURE), tmp_path=tmp_path, HUB_CHECKOV_TIMEOUT=value)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"HUB_CHECKOV_TIMEOUT: expected a number of seconds above 0, found {value!r}" in proc.stderr


def test_checkov_timeout_fails_closed(out):
    from policies.gate import GateOptions, evaluate, load_documents

    result, _ = evaluate(load_documents([out]), GateOptions(checkov_timeout=0.001))
    assert not result.passed() and any("did not finish" in e for e in result.errors)


def test_cost_command_and_diff(out, tmp_path):
    proc = gate("cost", str(out), "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = gate("cost", str(out), "--base", str(out), "--format", "markdown", tmp_path=tmp_path)
    assert proc.returncode == 0 and "production" in proc.stdout


def test_cost_diff_of_an_environment_on_one_side_shows_it_added_or_removed(out, tmp_path):
    base = tmp_path / "base"
    for env in ("development", "staging"):  # a pull request that adds production
        shutil.copytree(out / "stacks" / env, base / "stacks" / env)
    for head, before, change in ((out, base, "added"), (base, out, "removed")):
        proc = gate("cost", str(head), "--base", str(before), "--env", "production", "--format", "json", tmp_path=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert [(e["environment"], e["change"]) for e in json.loads(proc.stdout)["environments"]] == [("production", change)]
    proc = gate("cost", str(base), "--base", str(base), "--env", "production", tmp_path=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (f"error: --env: no stack named production on either side (head {base}: development, staging; "
                           f"base {base}: development, staging)\n")


def test_plan_command(tmp_path):
    plans = DATA / "plan"
    proc = gate("plan", str(plans / "production_db_replace.json"), "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 1, proc.stderr
    blocked = [f for f in json.loads(proc.stdout)["findings"] if f["check_id"] == "HUB_PLAN_1" and f["status"] == "failed"]
    assert blocked and blocked[0]["address"].startswith("digitalocean_droplet.")
    allowed = gate("plan", str(plans / "staging_volume_delete.json"), "--allowances", str(plans / "allow_staging_volume.toml"),
                   "--today", "2026-06-15", tmp_path=tmp_path)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "Monthly cost change of the plan" in allowed.stdout
    proc = gate("plan", str(plans / "bad_truncated.json"), tmp_path=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "bad_truncated.json" in proc.stderr


def test_plain_checkov_runs_our_checks(tmp_path):
    checkov = Path(sys.executable).with_name("checkov")
    proc = subprocess.run(
        [str(checkov), "-f", str(INSECURE), "--framework", "terraform_json", "--external-checks-dir",
         str(ROOT / "policies" / "checks"), "--skip-download", "--compact", "--quiet"],
        env=run_env(tmp_path, BC_SKIP_MAPPING="TRUE"), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1 and "HUB_DO_2" in proc.stdout


def test_c_line_loader_reads_exactly_what_checkov_reads(out):
    """The gate's Checkov parses with libyaml; it must see the same data and lines as Checkov's own loader."""
    import yaml
    from checkov.common.parsers.yaml.loader import SafeLineLoader

    from policies.checkov_runner import line_loader_in_c

    fast = line_loader_in_c()
    assert fast is not None, "PyYAML was built without libyaml"
    files = sorted(out.rglob("cdk.tf.json")) + sorted(DATA.rglob("*.json"))
    assert len(files) > 10
    for f in files:
        text = f.read_text()
        try:
            expected = list(yaml.load_all(text, Loader=SafeLineLoader))
        except yaml.YAMLError:
            with pytest.raises(yaml.YAMLError):
                list(yaml.load_all(text, Loader=fast))
            continue
        assert list(yaml.load_all(text, Loader=fast)) == expected, f


def test_skipping_checkovs_graph_changes_no_result(out, monkeypatch):
    """Checkov's graph feeds only graph checks; none looks at our resource types, so the gate skips
    it. The records must be exactly those of a full run, and a stack with types some graph check
    knows keeps the graph."""
    from policies import checkov_runner as cr

    files = [str(p) for p in sorted(out.rglob("cdk.tf.json"))] + [str(INSECURE)]
    docs = [load_stack_for(f) for f in files]
    types = frozenset(r.type for d in docs for r in d.resources)
    full = sorted(cr._scan(files), key=repr)
    skipped = []
    monkeypatch.setattr(cr, "_without_graph", lambda runner, real=cr._without_graph: (skipped.append(1), real(runner)))
    assert sorted(cr._scan(files, types), key=repr) == full
    assert skipped == [1]
    cr._scan(files, types | {"aws_s3_bucket"})
    assert skipped == [1], "a type that graph checks know keeps the graph"


def load_stack_for(path: str):
    from policies.stack_document import load_stack

    return load_stack(Path(path))


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_the_plan_report_names_the_stateful_destroys_an_unprotected_environment_allows(tmp_path, fmt):
    proc = gate("plan", str(DATA / "plan" / "development_destroy.json"), "--format", fmt, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    shown = " ".join(proc.stdout.split())  # the text report wraps long lines
    assert "is not protected; this plan destroys stateful resources: digitalocean_droplet.development_db_0" in shown


def test_an_error_shows_control_characters_from_the_input_as_escapes(tmp_path):
    stack = written(tmp_path / "stacks" / "web" / "cdk.tf.json", '{"resource": {"digitalocean_droplet": {"a\\u001b[2Kb": 5}}}')
    proc = gate("check", str(stack), tmp_path=tmp_path)
    assert proc.returncode == 2 and "\x1b" not in proc.stderr
    assert "resource.digitalocean_droplet.a\\x1b[2Kb: expected an object" in proc.stderr


def test_output_to_dev_stdout_keeps_the_shells_redirection(tmp_path):
    log = tmp_path / "all.txt"
    log.write_text("EARLIER\n")
    with log.open("a") as appended:
        proc = subprocess.run([sys.executable, "-m", "policies", "check", str(INSECURE), "--format", "json",
                               "--output", "/dev/stdout"], cwd=ROOT, env=run_env(tmp_path), stdout=appended,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    earlier, report = log.read_text().split("\n", 1)
    assert earlier == "EARLIER" and json.loads(report)["summary"]["result"] == "fail"
    piped = gate("check", str(INSECURE), "--format", "json", "--output", "/dev/stdout", tmp_path=tmp_path)
    assert piped.returncode == 1 and json.loads(piped.stdout)["summary"]["result"] == "fail"


def test_one_stack_file_is_not_failed_by_suppressions_meant_for_stacks_not_read(out, tmp_path):
    entries = "".join(
        f'[[suppression]]\ncheck = "HUB_DO_7"\ntarget = "{target}"\nreason = "Monitoring agent ships with the image"\n'
        'expires = 2099-01-01\n\n'
        for target in ("production:digitalocean_droplet.*", "production/pools/*", "digitalocean_droplet.*"))
    suppressions = written(tmp_path / "suppressions.toml", entries)
    one = gate("check", str(out / "stacks" / "staging" / "cdk.tf.json"), "--suppressions", str(suppressions),
               tmp_path=tmp_path)
    assert one.returncode == 0, one.stdout + one.stderr
    whole = gate("check", str(out), "--suppressions", str(suppressions), "--format", "json", tmp_path=tmp_path)
    unused = [f["extra"]["entry"] for f in json.loads(whole.stdout)["findings"] if f["check_id"] == "HUB_SUPPRESSION_UNUSED"]
    assert whole.returncode == 1 and unused == [1, 2, 3]  # with the whole output read, all three are judged


def test_a_plan_that_destroys_something_of_unknown_price_does_not_call_its_cost_a_lower_bound(tmp_path):
    droplet = {"address": "digitalocean_droplet.gpu_0", "mode": "managed", "type": "digitalocean_droplet", "name": "gpu_0",
               "change": {"actions": ["delete"], "before": {"size": "gpu-h100x1-80gb", "tags": ["role:app"]}, "after": None}}
    plan = written(tmp_path / "plan.json", json.dumps({"format_version": "1.2", "planned_values": {},
                                                       "resource_changes": [droplet]}))
    proc = gate("plan", str(plan), "--env", "staging", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Monthly cost change of the plan: 0.00 USD (upper bound:" in proc.stdout and "lower bound" not in proc.stdout


def test_the_plan_json_report_carries_the_cost_change_as_numbers(tmp_path):
    droplet = {"address": "digitalocean_droplet.gpu_0", "mode": "managed", "type": "digitalocean_droplet", "name": "gpu_0",
               "change": {"actions": ["delete"], "before": {"size": "gpu-h100x1-80gb", "tags": ["role:app"]}, "after": None}}
    volume = {"address": "digitalocean_volume.logs", "mode": "managed", "type": "digitalocean_volume", "name": "logs",
              "change": {"actions": ["create"], "before": None, "after": {"size": 10}, "after_unknown": {}}}
    plan = written(tmp_path / "plan.json", json.dumps({"format_version": "1.2", "planned_values": {},
                                                       "resource_changes": [droplet, volume]}))
    proc = gate("plan", str(plan), "--env", "staging", "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)["cost"]["data"]
    assert data["currency"] == "USD" and data["complete"] is False and data["bound"] == "upper"
    assert data["total_delta_usd"] == "1.00"  # 10 GiB at 0.10 USD; the Droplet's price is unknown
    assert data["changes"] == [
        {"address": "digitalocean_droplet.gpu_0", "action": "delete", "before_usd": None, "after_usd": "0.00",
         "delta_usd": None},
        {"address": "digitalocean_volume.logs", "action": "create", "before_usd": "0.00", "after_usd": "1.00",
         "delta_usd": "1.00"},
    ]
    assert [(u["address"], u["side"]) for u in data["unknown"]] == [("digitalocean_droplet.gpu_0", "before")]


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_the_plan_cost_lines_show_an_odd_for_each_key_on_one_line(tmp_path, fmt):
    # for_each keys are any string; a line break or ESC in one must not break (or drive) the cost section
    volume = {"address": 'digitalocean_volume.v["a\nb|<i>\x1b[2K"]', "mode": "managed", "type": "digitalocean_volume",
              "name": "v", "change": {"actions": ["create"], "before": None, "after": {"size": 10}, "after_unknown": {}}}
    plan = written(tmp_path / "plan.json", json.dumps({"format_version": "1.2", "planned_values": {},
                                                       "resource_changes": [volume]}))
    proc = gate("plan", str(plan), "--env", "staging", "--format", fmt, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout
    [line] = [line for line in proc.stdout.splitlines() if "USD (+" in line]
    shown = 'digitalocean_volume.v["a\\nb|<i>\\x1b[2K"]' if fmt == "text" else 'digitalocean_volume.v["a\\\\nb\\|&lt;i>\\\\x1b[2K"]'
    assert line.startswith(("" if fmt == "text" else "- ") + shown + ": create")
