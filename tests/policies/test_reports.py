"""Every report format, rendered from one small gate result over two stacks."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from markdown_it import MarkdownIt

from policies.findings import Finding, Severity, Status
from policies.reports import FORMATS, STACKLESS_LABEL, GateResult, render
from policies.reports import json_report, junit, markdown, sarif, text

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
PROD_FILE = "cdktf.out/stacks/production/cdk.tf.json"
STAGING_FILE = "cdktf.out/stacks/staging/cdk.tf.json"


def _finding(**values) -> Finding:
    defaults = dict(
        check_id="HUB_FW_001",
        title="Firewall exposes an admin port to the internet",
        severity=Severity.HIGH,
        stack="production",
        address="digitalocean_firewall.production_app_fw",
        construct_path="production/firewalls/app",
        file=PROD_FILE,
        line=12,
        message="inbound rule 1 opens tcp/22 to 0.0.0.0/0",
        fix="Allow port 22 only from admin_cidrs",
    )
    return Finding(**{**defaults, **values})


def _result(**overrides) -> GateResult:
    findings = [
        _finding(check_id="CKV_DIO_2", title="Droplet has monitoring", severity=Severity.LOW, status=Status.PASSED,
                 source="checkov", address="digitalocean_droplet.production_db_0",
                 construct_path="production/db/0", line=40, message="monitoring is enabled", fix=""),
        _finding(),
        _finding(message="inbound rule 3 opens tcp/5432 to 0.0.0.0/0", line=12),  # same check and address
        _finding(check_id="HUB_LB_002", title="Load balancer redirects HTTP", severity=Severity.MEDIUM,
                 address="digitalocean_loadbalancer.production_lb", construct_path="production/lb",
                 line=80, message="redirect_http_to_https is false | expected true", fix="Set it | to true"),
        _finding(stack="staging", file=STAGING_FILE, address="digitalocean_firewall.staging_app_fw",
                 construct_path="staging/firewalls/app", line=9, status=Status.SUPPRESSED,
                 suppression_reason="Staging admin access goes through the VPN only",
                 extra={"suppressed_by": {"file": "suppressions.toml", "entry": 1}}),
        _finding(check_id="CKV_DIO_2", title="Droplet has monitoring", severity=Severity.LOW, status=Status.PASSED,
                 source="checkov", stack="staging", file=STAGING_FILE, address="digitalocean_droplet.staging_db_0",
                 construct_path="staging/db/0", line=30, message="monitoring is enabled [bold]ok[/bold]", fix=""),
    ]
    values = dict(findings=findings, stacks=["production", "staging"], errors=[])
    return GateResult(**{**values, **overrides})


# --- the result and the dispatcher ----------------------------------------------------------------


def test_result_fails_on_a_failed_finding_or_an_error_only():
    result = _result()
    assert not result.passed()
    without_failures = [f for f in result.findings if f.status is not Status.FAILED]
    assert GateResult(findings=without_failures, stacks=["production", "staging"]).passed()
    assert not GateResult(findings=without_failures, stacks=["production"], errors=["bad.json: not JSON"]).passed()
    assert result.stack_passed("staging") and not result.stack_passed("production")


def test_findings_are_ordered_failed_first_then_by_severity():
    statuses = [(f.status, f.severity) for f in _result().findings_for("production")]
    assert statuses == [
        (Status.FAILED, Severity.HIGH),
        (Status.FAILED, Severity.HIGH),
        (Status.FAILED, Severity.MEDIUM),
        (Status.PASSED, Severity.LOW),
    ]


def test_stackless_findings_are_grouped_after_the_evaluated_stacks():
    problem = _finding(check_id="HUB_SUPPRESSION_UNUSED", stack="", address="", construct_path="",
                       file="suppressions.toml", line=3)
    result = _result(findings=[problem, *_result().findings])
    assert result.stack_names() == ["production", "staging", ""]
    assert result.stack_count() == 2 and json.loads(render(result, "json"))["summary"]["stacks"] == 2


def test_an_error_leaves_no_stack_passed_in_any_format():
    result = _result(errors=["Checkov did not finish within 120 s (HUB_CHECKOV_TIMEOUT)"])
    assert not result.stack_passed("staging")
    assert [s["result"] for s in json.loads(render(result, "json"))["stacks"]] == ["fail", "fail"]
    assert "✅" not in render(result, "markdown") and "PASS staging" not in render(result, "text")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_through_the_dispatcher(fmt):
    rendered = render(_result(), fmt)
    assert "HUB_FW_001" in rendered and "HUB_LB_002" in rendered


def test_an_unknown_format_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="sarif"):
        render(_result(), "html")


# --- text -----------------------------------------------------------------------------------------


def test_text_has_a_table_per_stack_failed_first_and_a_summary_line_per_stack():
    output = text.render(_result(), width=400)  # wide enough that no cell wraps
    assert "Stack production" in output and "Stack staging" in output
    production = output[output.index("Stack production"):output.index("Stack staging")]
    assert production.index("HUB_FW_001") < production.index("HUB_LB_002")
    assert "FAIL production: 3 failed, 0 suppressed, 1 passed" in output
    assert "PASS staging: 0 failed, 1 suppressed, 1 passed" in output
    assert "Gate FAILED" in output
    assert "Staging admin access goes through the VPN only" in output


def test_text_hides_passed_findings_unless_asked_and_shows_markup_literally():
    assert "CKV_DIO_2" not in text.render(_result())
    shown = text.render(_result(), show_passed=True, width=400)
    assert "CKV_DIO_2" in shown
    assert "[bold]ok[/bold]" in shown


def test_text_is_plain_unless_colour_is_asked_for():
    assert "\x1b[" not in text.render(_result())
    assert "\x1b[" in text.render(_result(), color=True)


def test_text_lists_errors_and_the_cost_section():
    output = text.render(_result(errors=["cdktf.out/stacks/x/cdk.tf.json: not JSON"], cost_text="Monthly: $123"))
    assert "ERROR cdktf.out/stacks/x/cdk.tf.json: not JSON" in output
    assert output.rstrip().endswith("Monthly: $123")


def test_text_shows_a_stack_name_with_brackets_as_written():
    output = text.render(_result(findings=[_finding(stack="prod[red]")], stacks=["prod[red]"]), width=400)
    assert "Stack prod[red]" in output and "FAIL prod[red]: 1 failed" in output


@pytest.mark.parametrize("color", [False, True])
def test_text_escapes_control_characters_so_the_terminal_only_shows_them(color):
    odd = _finding(stack="prod\x1b[31m", address="digitalocean_firewall.a\x1b[2K\x01\x9b1A",
                   message="line\nGate PASSED\rx", fix="\x07bell")
    result = GateResult(findings=[odd], stacks=[odd.stack], errors=["x\x1b[1A.json: not JSON"], cost_text="a\nb\x1bc")
    output = text.render(result, color=color, width=400)
    printed = re.sub(r"\x1b\[[0-9;]*m", "", output)  # the colours rich itself writes, when asked to
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", printed)
    assert "digitalocean_firewall.a\\x1b[2K\\x01\\x9b1A" in printed and "Stack prod\\x1b[31m" in printed
    assert "line\\nGate PASSED\\rx" in printed and "ERROR x\\x1b[1A.json" in printed
    assert printed.rstrip().endswith("a\nb\\x1bc")  # the cost section keeps its own lines


# --- JSON -----------------------------------------------------------------------------------------


def test_json_round_trips_every_finding_field():
    result = _result(errors=["broken.json: not JSON"], cost_text="c", cost_markdown="**c**")
    rendered = json_report.render(result)
    parsed = json_report.parse(rendered)
    assert parsed.findings == result.ordered_findings()
    assert [f.extra for f in parsed.findings] == [f.extra for f in result.ordered_findings()]
    assert parsed.errors == result.errors and parsed.cost_text == "c" and parsed.cost_markdown == "**c**"
    assert json_report.render(parsed) == rendered


def test_json_has_the_documented_schema():
    document = json.loads(json_report.render(_result()))
    assert document["version"] == json_report.SCHEMA_VERSION
    assert document["summary"] == {"result": "fail", "stacks": 2, "failed": 3, "suppressed": 1, "passed": 2,
                                   "errors": 0}
    assert [(s["name"], s["result"]) for s in document["stacks"]] == [("production", "fail"), ("staging", "pass")]
    first = document["findings"][0]
    assert set(first) == {"check_id", "title", "severity", "stack", "address", "construct_path", "file", "line",
                          "message", "fix", "status", "source", "suppression_reason", "extra"}
    assert (first["severity"], first["status"]) == ("high", "failed")


def test_json_parse_rejects_another_document():
    with pytest.raises(ValueError, match="version"):
        json_report.parse('{"version": 99}')


# --- SARIF ----------------------------------------------------------------------------------------


def _sarif_errors(log: dict) -> list[str]:
    return [error.message for error in jsonschema.Draft4Validator(SARIF_SCHEMA).iter_errors(log)]


def test_sarif_validates_against_the_oasis_schema():
    log = json.loads(sarif.render(_result(errors=["broken.json: not JSON"])))
    assert _sarif_errors(log) == []


def test_sarif_schema_check_catches_a_broken_log():
    log = json.loads(sarif.render(_result()))
    broken_level = copy.deepcopy(log)
    broken_level["runs"][0]["results"][0]["level"] = "fatal"
    broken_suppression = copy.deepcopy(log)
    suppressed = next(r for r in broken_suppression["runs"][0]["results"] if "suppressions" in r)
    suppressed["suppressions"][0]["kind"] = "ignored"
    assert _sarif_errors(broken_level) and _sarif_errors(broken_suppression)


def test_sarif_has_rules_for_every_check_and_results_for_failed_and_suppressed_only():
    run = json.loads(sarif.render(_result()))["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "community-hub-policy-gate"
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert set(rules) == {"CKV_DIO_2", "HUB_FW_001", "HUB_LB_002"}
    assert rules["HUB_FW_001"]["help"]["text"] == "Allow port 22 only from admin_cidrs"
    assert rules["HUB_FW_001"]["defaultConfiguration"]["level"] == "error"
    assert rules["HUB_LB_002"]["defaultConfiguration"]["level"] == "warning"
    assert rules["HUB_FW_001"]["properties"]["security-severity"] == "8.0"

    results = run["results"]
    assert len(results) == 4  # three failed and one suppressed; passed findings are not results
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    suppressed = [r for r in results if "suppressions" in r]
    assert suppressed == [next(r for r in results if r.get("suppressions"))]
    assert suppressed[0]["suppressions"][0]["kind"] == "external"
    assert suppressed[0]["suppressions"][0]["justification"] == "Staging admin access goes through the VPN only"


def test_sarif_locations_carry_file_line_address_and_construct_path():
    results = json.loads(sarif.render(_result()))["runs"][0]["results"]
    location = results[0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == PROD_FILE
    assert location["physicalLocation"]["region"]["startLine"] == 12
    logical = {entry["kind"]: entry["fullyQualifiedName"] for entry in location["logicalLocations"]}
    assert logical == {"resource": "digitalocean_firewall.production_app_fw", "construct": "production/firewalls/app"}
    # the two findings on one firewall are two alerts, not one
    assert results[0]["partialFingerprints"] != results[1]["partialFingerprints"]


def test_sarif_uris_use_forward_slashes():
    windows = _finding(file="cdktf.out\\stacks\\production\\cdk.tf.json")
    log = json.loads(sarif.render(GateResult(findings=[windows], stacks=["production"])))
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == PROD_FILE
    assert _sarif_errors(log) == []


def test_sarif_reports_input_errors_as_a_failed_invocation():
    invocation = json.loads(sarif.render(_result(errors=["x.json: not JSON"])))["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["message"]["text"] == "x.json: not JSON"


def _fingerprints(*findings: Finding) -> list[str]:
    log = json.loads(sarif.render(GateResult(findings=list(findings), stacks=["production"])))
    assert _sarif_errors(log) == []
    return [result["partialFingerprints"]["hubFinding/v2"] for result in log["runs"][0]["results"]]


def test_sarif_fingerprint_ignores_the_message_so_a_price_change_keeps_the_alert():
    def budget(total: str) -> Finding:
        return _finding(check_id="HUB_COST_1", address="", construct_path="", line=1,
                        message=f"estimated total {total} exceeds the budget of $100.00")

    assert _fingerprints(budget("$120.00")) == _fingerprints(budget("$135.50"))
    tag = dict(check_id="HUB_STACK_2", extra={"field": "tags", "tag": "hub:production:db"})
    assert _fingerprints(_finding(message="tags: no Droplet carries it (carried: a, b)", **tag)) == \
        _fingerprints(_finding(message="tags: no Droplet carries it (carried: a, b, c)", **tag))


def test_sarif_fingerprint_tells_findings_on_one_resource_apart_by_their_extra_fields():
    def coverage(field: str, message: str) -> Finding:
        return _finding(check_id="HUB_STACK_2", message=message, extra={"field": field, "tag": "hub:production:db"})

    same_message = _fingerprints(coverage("tags", "tag missing"), coverage("inbound_rule", "tag missing"))
    assert len(set(same_message)) == 2 and all(f.endswith(":1") for f in same_message)
    # new messages, which also change the findings' order in the run: the same two identities
    assert set(_fingerprints(coverage("tags", "b"), coverage("inbound_rule", "a"))) == set(same_message)


def test_sarif_fingerprints_are_unique_within_a_run_and_survive_suppression():
    failed = _finding(extra={"rule": "inbound_rule[0]"})
    suppressed = replace(failed, status=Status.SUPPRESSED, suppression_reason="Admin access is through the VPN",
                         extra={**failed.extra, "suppressed_by": {"file": "suppressions.toml", "entry": 1}})
    assert _fingerprints(failed) == _fingerprints(suppressed)
    log = json.loads(sarif.render(_result()))
    prints = [r["partialFingerprints"]["hubFinding/v2"] for r in log["runs"][0]["results"]]
    assert len(prints) == len(set(prints)) == 4


@pytest.mark.parametrize("name", ["ctl\x01name", "surrogate\ud800name", "emoji😀name"])
def test_sarif_fingerprints_odd_names(name):
    assert len(set(_fingerprints(_finding(address=name), _finding(address=name + "2")))) == 2


# --- JUnit ----------------------------------------------------------------------------------------


def test_junit_has_a_suite_per_stack_and_a_case_per_check_and_address():
    root = ET.fromstring(junit.render(_result()))
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert list(suites) == ["production", "staging"]

    production = suites["production"]
    cases = production.findall("testcase")
    # the two HUB_FW_001 findings on one firewall share one testcase
    assert [case.get("name") for case in cases] == [
        "HUB_FW_001 digitalocean_firewall.production_app_fw",
        "HUB_LB_002 digitalocean_loadbalancer.production_lb",
        "CKV_DIO_2 digitalocean_droplet.production_db_0",
    ]
    assert (production.get("tests"), production.get("failures"), production.get("skipped")) == ("3", "2", "0")
    assert "inbound rule 3" in cases[0].find("failure").text

    staging = suites["staging"]
    assert (staging.get("tests"), staging.get("failures"), staging.get("skipped")) == ("2", "0", "1")
    assert "VPN" in staging.find("testcase/skipped").get("message")

    assert (root.get("tests"), root.get("failures"), root.get("skipped"), root.get("errors")) == ("5", "2", "1", "0")


def test_junit_reports_input_errors_as_errored_testcases():
    root = ET.fromstring(junit.render(_result(errors=["a.json: not JSON", "b.json: empty"])))
    suite = root.find(f"testsuite[@name='{junit.ERRORS_SUITE}']")
    assert [e.get("message") for e in suite.iter("error")] == ["a.json: not JSON", "b.json: empty"]
    assert root.get("errors") == "2" and root.get("tests") == "7"


# Names a hand-written cdk.tf.json can hold: control characters, XML and CDATA syntax, emoji, a lone surrogate.
ODD_NAMES = ["ctl\x01name", "esc\x1b[2Kname", "cdata]]>end", "lt<name", "amp&name", "emoji😀name", "surrogate\ud800name"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_junit_is_well_formed_whatever_the_stack_and_resource_names(name):
    finding = _finding(stack=name, address=f"digitalocean_firewall.{name}", construct_path=f"{name}/fw",
                       message=f"opens {name}", fix=name)
    suppressed = _finding(stack=name, check_id="HUB_LB_002", address=name, status=Status.SUPPRESSED,
                          suppression_reason=name)
    rendered = junit.render(GateResult(findings=[finding, suppressed], stacks=[name], errors=[name]))
    root = ET.fromstring(rendered.encode("utf-8"))  # a lone surrogate left in would not even encode
    suite = root.find("testsuite")
    case = suite.find("testcase")
    shown = re.sub("[\x01\x1b\ud800]", "\ufffd", name)  # what XML cannot carry becomes U+FFFD
    for value in (suite.get("name"), case.get("classname"), case.get("name"), case.find("failure").text):
        assert shown in value
    assert root.find("testsuite/testcase/skipped").get("message") == f"suppressed: {shown}"


def test_junit_gives_every_finding_without_an_address_its_own_testcase():
    def unused(line: int) -> Finding:
        return _finding(check_id="HUB_SUPPRESSION_UNUSED", stack="", address="", construct_path="",
                        file="suppressions.toml", line=line, message=f"entry at line {line} covers no failed finding")

    result = _result(findings=[*_result().findings, unused(3), unused(9)])
    root = ET.fromstring(junit.render(result))
    stackless = root.find(f"testsuite[@name='{STACKLESS_LABEL}']")
    assert [case.get("name") for case in stackless.iter("testcase")] == [
        "HUB_SUPPRESSION_UNUSED suppressions.toml:3",
        "HUB_SUPPRESSION_UNUSED suppressions.toml:9",
    ]
    assert "line 9" in stackless.findall("testcase")[1].find("failure").get("message")
    failed_in_json = json.loads(json_report.render(result))["summary"]["failed"]
    # one testcase fewer: the two HUB_FW_001 findings on one firewall share one, as documented
    assert int(root.get("failures")) == failed_in_json - 1 == 4


# --- Markdown -------------------------------------------------------------------------------------


def _cells(row: str) -> list[str]:
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def test_markdown_has_a_stack_summary_then_the_failed_findings():
    output = markdown.render(_result())
    assert output.startswith("## Policy gate ❌ failed")
    summary_rows = [line for line in output.splitlines() if line.startswith("| production ") or
                    line.startswith("| staging ")]
    assert [_cells(row) for row in summary_rows] == [
        [" production ", " ❌ FAIL ", " 3 ", " 0 ", " 1 "],
        [" staging ", " ✅ PASS ", " 0 ", " 1 ", " 1 "],
    ]
    failed_section = output[output.index("### Failed findings (3)"):output.index("<details>")]
    assert "HUB_LB_002" in failed_section and "CKV_DIO_2" not in failed_section
    assert "Staging admin access" in output[output.index("<details>"):]


def test_markdown_escapes_pipes_so_rows_keep_their_columns():
    output = markdown.render(_result())
    row = next(line for line in output.splitlines() if "HUB_LB_002" in line)
    assert "redirect_http_to_https is false \\| expected true" in row
    assert len(_cells(row)) == 7


def test_markdown_escape_handles_newlines_and_html():
    assert markdown.escape("a|b\n<script>") == "a\\|b<br>&lt;script>"


def test_markdown_shows_control_characters_from_the_input_as_escapes():
    """The comment is also printed in CI logs: a construct path must not drive the terminal there."""
    nasty = _finding(address="digitalocean_firewall.a\x1b[2K", construct_path="prod/fw\x9b1A",
                     message="m\x1b[31m\x01", stack="prod\x07")
    output = markdown.render(GateResult(findings=[nasty], stacks=["prod\x07"], errors=["x\x1b[1A.json"]))
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", output)
    assert "`digitalocean_firewall.a\\x1b[2K`" in output and "prod/fw\\x9b1A" in output
    assert "m\\x1b[31m\\x01" in output and "prod\\x07" in output and "x\\x1b[1A.json" in output


def test_markdown_appends_the_cost_section_and_lists_errors():
    output = markdown.render(_result(errors=["x.json: not | JSON"], cost_markdown="### Cost\n\n$12"))
    assert "- x.json: not \\| JSON" in output
    assert output.rstrip().endswith("$12")


def _tables(output: str) -> list[list[list]]:
    """Every table's body rows as a GFM renderer reads them: a list of cells, each an inline token."""
    tables: list[list[list]] = []
    in_body = False
    for token in MarkdownIt("commonmark").enable("table").parse(output):
        if token.type == "table_open":
            tables.append([])
        elif token.type in ("tbody_open", "tbody_close"):
            in_body = token.type == "tbody_open"
        elif in_body and token.type == "tr_open":
            tables[-1].append([])
        elif in_body and token.type == "inline":
            tables[-1][-1].append(token)
    return tables


@pytest.mark.parametrize("line_break", ["\n", "\r", "\r\n", "\u2028"])
def test_markdown_line_breaks_in_any_cell_neither_end_the_row_nor_open_html(line_break):
    odd = _finding(address=f"digitalocean_firewall.a{line_break}<img src=x>", construct_path=f"p{line_break}<b>x</b>",
                   message=f"one{line_break}| --- |{line_break}<script>alert(1)</script>", fix=f"a{line_break}b")
    stack = _finding(stack=f"prod{line_break}<i>x</i>", check_id="HUB_LB_002", file=f"f{line_break}<u>.json")
    output = markdown.render(GateResult(findings=[odd, stack], stacks=[odd.stack, stack.stack]))
    summary, failed = _tables(output)
    assert len(summary) == 2 and len(failed) == 2
    assert all(len(row) == 7 for row in failed)
    html = [child.content for row in summary + failed for cell in row for child in cell.children
            if child.type == "html_inline"]
    assert set(html) <= {"<br>"}
    assert "<script>" in failed[0][5].content.replace("&lt;", "<")  # shown as text, not lost


def test_markdown_code_spans_survive_backtick_runs():
    assert markdown.code("a``b") == "``` a``b ```"
    cell = _tables(f"| x |\n| --- |\n| {markdown.code('a``b<i>')} |\n")[0][0][0]
    assert [(child.type, child.content) for child in cell.children] == [("code_inline", "a``b<i>")]


def test_markdown_stays_under_githubs_comment_limit_and_counts_what_it_leaves_out():
    long = "x" * 600
    findings = [_finding(address=f"digitalocean_firewall.fw_{n}", message=long, fix=long) for n in range(140)]
    findings += [_finding(address=f"digitalocean_firewall.ok_{n}", message=long, status=Status.SUPPRESSED,
                          suppression_reason=long) for n in range(100)]
    output = markdown.render(GateResult(findings=findings, stacks=["production"], cost_markdown="- cost " + long))
    assert len(output) <= markdown.MAX_CHARS
    _, failed, suppressed = _tables(output)
    left_out = [int(n) for n in re.findall(r"… and (\d+) more", output)]
    assert len(failed) + left_out[0] == 140 and len(suppressed) + left_out[1] == 100
    assert len(failed) > 0 and output.rstrip().endswith("- cost " + long)


def test_markdown_row_cap_still_applies_to_short_rows():
    findings = [_finding(address=f"digitalocean_firewall.fw_{n}") for n in range(markdown.MAX_ROWS + 5)]
    output = markdown.render(GateResult(findings=findings, stacks=["production"]))
    assert len(_tables(output)[1]) == markdown.MAX_ROWS and "… and 5 more" in output
