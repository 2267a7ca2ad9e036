"""Tests for the stack-level rules (policies/stack_rules/).

Passing stacks are the checked-in environments as our generator synthesizes them. Each failing
stack is made the way a real mistake would arrive: by changing the configuration or patching a
construct, then synthesizing again; the expected findings are never edited in. Hand-written JSON
under data/stack_rules/ covers shapes our generator never makes (foreign or hand-edited output).

Stacks are synthesized with the app's own `synth_app`, as `python main.py` writes them: cdktf's
`Testing.synth` (behind conftest's `synth_env`) drops every `"//"` block, and with it the policy
context and the construct paths these rules rely on.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import pytest

from policies.findings import Severity, Status
from policies.stack_document import StackDocument, StackReadError, load_stack, parse_stack
from policies.stack_rules import (
    ALL_RULES,
    RULE_IDS,
    RULE_RESOURCE_TYPES,
    firewall_coverage,
    firewall_service_graph,
    run_stack_rules,
    security_headers,
    ssh_admin_sources,
    zone_tls_settings,
)
from policies.stack_rules._cloudflare_expression import Applies, applies_to
from policies.ports import PortRange, parse_port_range, uncovered
from tests.conftest import checked_in_config

DATA = Path(__file__).parent / "data" / "stack_rules"
ENVIRONMENTS = ("development", "staging", "production")


def as_doc(raw: dict, name: str) -> StackDocument:
    """A synthesized stack as the gate reads it from cdktf.out."""
    return parse_stack(json.dumps(raw, indent=2), Path(f"cdktf.out/stacks/{name}/cdk.tf.json"), name=name)


def data_doc(file_name: str) -> StackDocument:
    return load_stack(DATA / file_name)


def failed(findings, rule_id: str | None = None):
    return [f for f in findings if f.status is Status.FAILED and (rule_id is None or f.check_id == rule_id)]


def synthesized_doc(name: str, config=None, env=None) -> StackDocument:
    """One environment synthesized by the app into a fresh directory, read as the gate reads it."""
    from stacks.app import synth_app  # imported late: it loads the provider bindings

    config = config or checked_in_config()
    with tempfile.TemporaryDirectory() as outdir:
        synth_app(config, {name: env or config.environments[name]}, Path(outdir))
        text = (Path(outdir) / "stacks" / name / "cdk.tf.json").read_text()
    return parse_stack(text, Path(f"cdktf.out/stacks/{name}/cdk.tf.json"), name=name)


@pytest.fixture(scope="module")
def checked_in_docs() -> dict[str, StackDocument]:
    return {name: synthesized_doc(name) for name in ENVIRONMENTS}


# -- the package's interface ------------------------------------------------------------------------


def test_every_rule_module_declares_its_metadata():
    assert RULE_IDS == ("HUB_STACK_1", "HUB_STACK_2", "HUB_STACK_3", "HUB_STACK_4", "HUB_STACK_5")
    for rule in ALL_RULES:
        assert rule.TITLE and rule.FIX and isinstance(rule.SEVERITY, Severity)
        assert rule.RESOURCE_TYPES <= RULE_RESOURCE_TYPES
    assert {"cloudflare_ruleset", "cloudflare_dns_record", "cloudflare_record", "cloudflare_zone",
            "cloudflare_zone_setting", "cloudflare_zone_settings_override", "digitalocean_firewall",
            "digitalocean_droplet", "digitalocean_loadbalancer"} == RULE_RESOURCE_TYPES


def test_checked_in_stacks_pass_every_rule_and_say_so(checked_in_docs):
    findings = run_stack_rules(list(checked_in_docs.values()))
    assert failed(findings) == []
    for name in ENVIRONMENTS:
        for rule_id in RULE_IDS:
            [finding] = [f for f in findings if f.stack == name and f.check_id == rule_id]
            assert finding.status is Status.PASSED and finding.severity is not Severity.INFO
            assert finding.file == f"cdktf.out/stacks/{name}/cdk.tf.json"


# -- HUB_STACK_1: security headers ----------------------------------------------------------------


def test_headers_fail_when_the_zone_csp_allows_unsafe_inline_scripts():
    config = checked_in_config()
    zone = config.zones["communityhub.org"]
    csp = "default-src 'self'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    zones = {**config.zones, "communityhub.org": zone.model_copy(update={"content_security_policy": csp})}
    doc = synthesized_doc("production", config=config.model_copy(update={"zones": zones}))

    findings = security_headers.evaluate(doc, [doc])

    assert sorted((f.extra["hostname"], f.extra["header"]) for f in failed(findings)) == [
        ("communityhub.org", "Content-Security-Policy"),
        ("www.communityhub.org", "Content-Security-Policy"),
    ]
    assert all("allows 'unsafe-inline' in script-src" in f.message for f in findings)


def test_headers_fail_when_the_generator_drops_one(monkeypatch, checked_in_docs):
    import stacks.environment_stack as environment_stack
    from constructs_lib.security_headers import required_headers

    def without_xss_protection(content_security_policy: str) -> dict[str, str]:
        headers = required_headers(content_security_policy)
        del headers["X-XSS-Protection"]
        return headers

    monkeypatch.setattr(environment_stack, "required_headers", without_xss_protection)
    staging = synthesized_doc("staging")
    development = checked_in_docs["development"]
    findings = run_stack_rules([development, staging])

    # Development shares staging's zone, so staging's ruleset decides for both.
    assert {(f.stack, f.extra["hostname"], f.extra["header"]) for f in failed(findings)} == {
        ("staging", "staging.communityhub.dev", "X-XSS-Protection"),
        ("development", "dev.communityhub.dev", "X-XSS-Protection"),
    }
    [dev_finding] = [f for f in failed(findings) if f.stack == "development"]
    assert "ruleset cloudflare_ruleset.edge_security_headers of stack staging" in dev_finding.message


def test_a_stack_sharing_a_zone_passes_only_with_the_zone_owner_in_the_run(checked_in_docs):
    development, staging = checked_in_docs["development"], checked_in_docs["staging"]

    assert failed(security_headers.evaluate(development, [development, staging])) == []
    [finding] = failed(security_headers.evaluate(development, [development]))
    assert "dev.communityhub.dev" in finding.message and "no stack of this run owns it" in finding.message


def test_header_findings_point_at_the_dns_record(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["production"].raw)
    headers = raw["resource"]["cloudflare_ruleset"]["edge_security_headers"]["rules"][0]["action_parameters"]["headers"]
    headers["X-Frame-Options"]["value"] = "SAMEORIGIN"
    doc = as_doc(raw, "production")
    text = json.dumps(raw, indent=2).splitlines()

    findings = failed(security_headers.evaluate(doc, [doc]))

    assert {f.address for f in findings} == {
        "cloudflare_dns_record.edge_record_communityhub_org",
        "cloudflare_dns_record.edge_record_www_communityhub_org",
    }
    for f in findings:
        name = f.address.split(".")[1]
        assert text[f.line - 1].strip().startswith(f'"{name}"')
        assert f.construct_path.startswith("production/edge/record-")
        assert f.file == "cdktf.out/stacks/production/cdk.tf.json"
        assert "X-Frame-Options is 'SAMEORIGIN', expected 'DENY'" in f.message


def test_short_hsts_is_found_in_foreign_output_by_zone_id():
    doc = data_doc("hsts_short_max_age.cdk.tf.json")
    [finding] = failed(run_stack_rules([doc]))
    assert finding.check_id == "HUB_STACK_1" and finding.address == "cloudflare_dns_record.www"
    assert finding.extra["header"] == "Strict-Transport-Security"
    assert "max-age=86400, shorter than the required 31536000" in finding.message


def test_a_ruleset_for_one_of_two_hostnames_fails_the_other():
    doc = data_doc("one_of_two_hostnames.cdk.tf.json")
    findings = failed(security_headers.evaluate(doc, [doc]))
    assert {f.extra["hostname"] for f in findings} == {"communityhub.org"}
    assert sorted(f.extra["header"] for f in findings) == sorted(
        ["Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Strict-Transport-Security",
         "X-XSS-Protection"]
    )
    assert all("is missing" in f.message for f in findings)


def test_headers_set_only_for_a_path_count_as_missing():
    doc = data_doc("headers_for_path_only.cdk.tf.json")
    findings = failed(security_headers.evaluate(doc, [doc]))
    assert len(findings) == 5
    assert all("set only by rules[0]" in f.message and "does not cover every response" in f.message for f in findings)


def test_a_later_rule_removing_x_frame_options_is_found():
    doc = data_doc("later_rule_removes_xfo.cdk.tf.json")
    [finding] = failed(security_headers.evaluate(doc, [doc]))
    assert finding.extra["header"] == "X-Frame-Options"
    assert "removed by rules[1]" in finding.message


def test_cross_stack_ruleset_passes_with_its_owner_and_fails_without():
    staging = load_stack(DATA / "cross_stack" / "staging" / "cdk.tf.json")
    owner = load_stack(DATA / "cross_stack" / "shared-edge" / "cdk.tf.json")

    assert failed(run_stack_rules([staging, owner])) == []
    [finding] = failed(run_stack_rules([staging]))
    assert finding.stack == "staging" and "zone communityhub.dev is owned by another stack" in finding.message


def _cross_stack_run(change_owner) -> list[StackDocument]:
    """The staging stack and the owner of its zone, with `change_owner(raw)` applied to the owner."""
    staging = load_stack(DATA / "cross_stack" / "staging" / "cdk.tf.json")
    raw = json.loads((DATA / "cross_stack" / "shared-edge" / "cdk.tf.json").read_text())
    raw["data"] = {"cloudflare_zone": {"other": {"filter": {"name": "other.org"}}}}
    change_owner(raw)
    return [staging, as_doc(raw, "shared-edge")]


def test_cross_stack_rulesets_count_only_for_their_own_zone():
    def for_another_zone(raw):
        ruleset = raw["resource"]["cloudflare_ruleset"]["edge_security_headers"]
        ruleset["zone_id"] = "${data.cloudflare_zone.other.zone_id}"

    [finding] = failed(run_stack_rules(_cross_stack_run(for_another_zone)))
    assert finding.stack == "staging"
    assert "owned by stack shared-edge, which has no cloudflare_ruleset" in finding.message
    assert "for that zone" in finding.message

    def with_an_empty_one_for_another_zone(raw):
        rulesets = raw["resource"]["cloudflare_ruleset"]
        rulesets["other"] = {**rulesets["edge_security_headers"], "zone_id": "${data.cloudflare_zone.other.id}",
                             "rules": []}

    assert failed(run_stack_rules(_cross_stack_run(with_an_empty_one_for_another_zone))) == []


def test_a_cross_stack_ruleset_whose_zone_cannot_be_told_does_not_count():
    def literal_zone_id(raw):
        raw["resource"]["cloudflare_ruleset"]["edge_security_headers"]["zone_id"] = "023e105f4ecef8ad9ca31a8372d0c353"

    [finding] = failed(run_stack_rules(_cross_stack_run(literal_zone_id)))
    assert "the zone of cloudflare_ruleset.edge_security_headers of stack shared-edge cannot be told" in finding.message

    def and_an_empty_one_beside_the_good_one(raw):
        rulesets = raw["resource"]["cloudflare_ruleset"]
        rulesets["unknown"] = {**rulesets["edge_security_headers"], "zone_id": "${var.zone_id}", "rules": []}

    # It may be this zone's as well: judged, so its missing headers count.
    findings = failed(run_stack_rules(_cross_stack_run(and_an_empty_one_beside_the_good_one)))
    assert {f.extra["ruleset"] for f in findings} == {"cloudflare_ruleset.unknown"} and len(findings) == 5


def test_a_ruleset_whose_zone_cannot_be_told_serves_the_one_zone_its_owner_names():
    def variable_zone_id(raw):
        del raw["data"]  # the owner names no zone but its own
        raw["resource"]["cloudflare_ruleset"]["edge_security_headers"]["zone_id"] = "${var.zone_id}"

    assert failed(run_stack_rules(_cross_stack_run(variable_zone_id)), "HUB_STACK_1") == []


def test_zone_settings_whose_zone_cannot_be_told_are_on_the_one_zone_their_owner_names():
    def variable_zone_ids(raw):
        del raw["data"]  # the owner names no zone but its own
        for body in (*raw["resource"]["cloudflare_ruleset"].values(), *raw["resource"]["cloudflare_zone_setting"].values()):
            body["zone_id"] = "${var.zone_id}"

    assert failed(run_stack_rules(_cross_stack_run(variable_zone_ids)), "HUB_STACK_5") == []


def test_a_lookups_id_and_zone_id_name_the_same_zone(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["production"].raw)
    ruleset = raw["resource"]["cloudflare_ruleset"]["edge_security_headers"]
    ruleset["zone_id"] = ruleset["zone_id"].replace(".zone_id}", ".id}")
    doc = as_doc(raw, "production")
    assert ruleset["zone_id"].endswith(".id}") and failed(security_headers.evaluate(doc, [doc])) == []


def _development_with_org_record(development: StackDocument, proxied=True) -> StackDocument:
    """Development with a record api.communityhub.org in production's zone (looked up by name)."""
    raw = copy.deepcopy(development.raw)
    raw["data"]["cloudflare_zone"]["org"] = {"filter": {"name": "communityhub.org"}}
    raw["resource"]["cloudflare_dns_record"]["api"] = {
        "name": "api.communityhub.org", "type": "A", "content": "192.0.2.1", "proxied": proxied, "ttl": 1,
        "zone_id": "${data.cloudflare_zone.org.zone_id}",
    }
    return as_doc(raw, "development")


def test_a_record_is_judged_by_the_rulesets_of_its_own_zone(checked_in_docs):
    development, staging, production = (checked_in_docs[name] for name in ENVIRONMENTS)
    doc = _development_with_org_record(development)

    # Not by the ruleset of communityhub.dev (staging's), which covers every hostname.
    [finding] = failed(security_headers.evaluate(doc, [doc, staging]))
    assert finding.extra["hostname"] == "api.communityhub.org"
    assert "zone communityhub.org is owned by another stack, and no stack of this run owns it" in finding.message
    # Production owns communityhub.org: its ruleset judges the record.
    assert failed(security_headers.evaluate(doc, [doc, staging, production])) == []
    prod = copy.deepcopy(production.raw)
    prod["resource"]["cloudflare_ruleset"]["edge_security_headers"]["rules"][0]["expression"] = (
        'http.host eq "communityhub.org"')
    findings = failed(security_headers.evaluate(doc, [doc, staging, as_doc(prod, "production")]))
    assert {f.extra["hostname"] for f in findings} == {"api.communityhub.org"} and len(findings) == 5
    assert all(f.extra["ruleset_stack"] == "production" for f in findings)


@pytest.mark.parametrize(("proxied", "judged"), [
    (True, True), ("1", True), ("${var.proxied}", True),
    ("True", True),  # Terraform refuses it; counted the safe way
    ("0", False), (False, False), (None, False),
])
def test_a_record_needs_headers_unless_it_is_certainly_unproxied(checked_in_docs, proxied, judged):
    doc = _development_with_org_record(checked_in_docs["development"], proxied)
    hosts = {f.extra.get("hostname") for f in failed(security_headers.evaluate(doc, [doc, checked_in_docs["staging"]]))}
    assert ("api.communityhub.org" in hosts) == judged


@pytest.mark.parametrize("zone_id, other_zone", [
    ("${data.cloudflare_zone.other.zone_id}", ("data", {"filter": {"name": "${var.other_zone}"}})),
    ("${var.other_zone_id}", ("resource", {"name": "other.org", "account": {"id": "${var.account_id}"}})),
])
def test_a_record_whose_zone_cannot_be_told_is_not_judged_by_the_hub_zone(checked_in_docs, zone_id, other_zone):
    # The stack names a zone besides its hub zone: the record may be in that one, which has no ruleset.
    raw = copy.deepcopy(checked_in_docs["production"].raw)
    block, body = other_zone
    raw.setdefault(block, {}).setdefault("cloudflare_zone", {})["other"] = body
    raw["resource"]["cloudflare_dns_record"]["api"] = {
        "name": "api.other.org", "type": "A", "content": "192.0.2.1", "proxied": True, "ttl": 1, "zone_id": zone_id}
    doc = as_doc(raw, "production")
    [finding] = failed(security_headers.evaluate(doc, [doc]))
    assert finding.address == "cloudflare_dns_record.api" and "the zone cannot be told" in finding.message


def _with_rules(rules: list[dict], record_name: str | None = None) -> StackDocument:
    raw = json.loads((DATA / "later_rule_removes_xfo.cdk.tf.json").read_text())
    raw["resource"]["cloudflare_ruleset"]["edge_security_headers"]["rules"] = rules
    if record_name is not None:
        raw["resource"]["cloudflare_dns_record"]["edge_record_www"]["name"] = record_name
    return as_doc(raw, "production")


GOOD = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-XSS-Protection": "1;mode=block",
}


def _rule(expression: str, headers: dict[str, dict], **rule) -> dict:
    return {"action": "rewrite", "expression": expression, "action_parameters": {"headers": headers}, **rule}


def _set_all(expression="true", drop=(), **changes) -> dict:
    values = {name: value for name, value in {**GOOD, **changes}.items() if name not in drop}
    return _rule(expression, {name: {"operation": "set", "value": value} for name, value in values.items()})


XFO, XCTO, HSTS = "X-Frame-Options", "X-Content-Type-Options", "Strict-Transport-Security"
SET_XFO = {XFO: {"operation": "set", "value": "DENY"}}
WWW_SOME_PATH = 'http.host eq "www.communityhub.org" and http.request.uri.path eq "/x"'


def _header_problems(rules: list[dict], record_name: str | None = None) -> list[tuple[str, str]]:
    doc = _with_rules(rules, record_name)
    return [(f.extra["header"], f.message) for f in failed(security_headers.evaluate(doc, [doc]))]


@pytest.mark.parametrize("rules", [
    "${local.header_rules}",  # provider v5: rules, action_parameters and headers are attributes
    [{"action": "rewrite", "expression": "true", "action_parameters": "${local.parameters}"}],
    [_rule("true", "${local.headers}")],
])
def test_rules_given_as_an_expression_are_findings_not_an_error(rules):
    problems = _header_problems(rules)
    assert sorted(h for h, _ in problems) == sorted(GOOD)
    assert all("cannot be verified" in problem for _, problem in problems)


def test_stronger_values_than_required_pass():
    assert _header_problems([_set_all()]) == []
    # a header named twice with one value: whichever order, the value is the same
    assert _header_problems([_set_all(), _rule("true", {XFO: SET_XFO[XFO], XFO.upper(): SET_XFO[XFO]})]) == []
    # longer than int() reads (4,300 digits): long enough, and no crash
    assert _header_problems([_set_all(**{HSTS: "max-age=" + "9" * 5000 + "; includeSubDomains"})]) == []


@pytest.mark.parametrize("max_age", [
    "\u00b2",  # a digit, but not an ASCII one
    '"31536000', '31536000"', '""31536000""',  # a quoted-string not closed, or quotes doubled
])
def test_hsts_max_age_that_breaks_the_grammar_is_unreadable(max_age):
    problems = _header_problems([_set_all(**{HSTS: f"max-age={max_age}; includeSubDomains"})])
    assert [h for h, _ in problems] == [HSTS] and "has no readable max-age" in problems[0][1]


def test_hsts_max_age_may_be_quoted():
    assert _header_problems([_set_all(**{HSTS: 'max-age = "31536000" ;includeSubDomains'})]) == []


@pytest.mark.parametrize(
    "rules, header, expected",
    [
        ([_set_all(**{HSTS: "max-age=31536000"})], HSTS, "lacks includeSubDomains"),
        ([_set_all(**{"Content-Security-Policy": "default-src 'self' 'unsafe-eval'"})], "Content-Security-Policy",
         "allows 'unsafe-eval' in default-src"),
        ([_set_all(**{"Content-Security-Policy": "img-src 'self'"})], "Content-Security-Policy",
         "neither script-src nor default-src"),
        # A later rule for one path may weaken a header there.
        ([_set_all(), _set_all('http.request.uri.path eq "/embed"', **{XFO: "SAMEORIGIN"})],
         XFO, "is 'SAMEORIGIN', expected 'DENY'"),
        # `add` keeps the earlier value and appends another; each one counts.
        ([_set_all(), _rule("true", {XCTO: {"operation": "add", "value": "sniff"}})],
         XCTO, "is 'sniff', expected 'nosniff'"),
        # A disabled rule sets nothing.
        ([_set_all(drop=[XFO]), _rule("true", SET_XFO, enabled=False)], XFO, "is missing"),
        ([_set_all(drop=[XFO]), _rule("true", SET_XFO, enabled="0")], XFO, "is missing"),  # Terraform: "0" is false
        # `enabled: null` is unset: the rule runs, as Cloudflare's default is enabled.
        ([_set_all(), _rule("true", {XFO: {"operation": "remove"}}, enabled=None)], XFO, "removed by rules[1]"),
        # A rule enabled by a Terraform variable may be off.
        ([_set_all(drop=[XFO]), _rule("true", SET_XFO, enabled="${var.headers_on}")], XFO,
         "known only at apply time"),
        # A directive given twice makes the header invalid: no "first value wins".
        ([_set_all(**{HSTS: "max-age=31536000; max-age=0; includeSubDomains"})], HSTS, "repeats max-age"),
        ([_set_all(**{HSTS: "max-age=31536000; includeSubDomains; IncludeSubDomains"})], HSTS,
         "repeats includesubdomains"),
        # A second header added beside the one set: two policies, whichever comes first.
        ([_set_all(), _rule("true", {HSTS: {"operation": "add", "value": GOOD[HSTS]}})], HSTS, "is sent 2 times"),
        # An operation or action decided at apply may be a remove: the header may be gone.
        ([_set_all(), _rule("true", {XFO: {"operation": "${var.xfo_operation}", "value": "DENY"}})], XFO,
         "removed by rules[1] (`true`), whose operation ${var.xfo_operation} may be any"),
        ([_set_all(), {**_rule("true", {XFO: {"operation": "remove"}}), "action": "${var.action}"}], XFO,
         "removed by rules[1]"),
        ([_set_all(drop=[XFO]), {**_rule("true", SET_XFO), "action": "${var.action}"}], XFO,
         "whose `action` is known only at apply time"),
        # One header named twice in a rule, in two letter cases: applied in either order (Terraform
        # sorts map keys, so the JSON's order is not the one Cloudflare gets).
        ([_rule("true", {XFO.lower(): {"operation": "remove"},
                         **{k: {"operation": "set", "value": v} for k, v in GOOD.items()}})], XFO, "removed by rules[0]"),
        ([_rule("true", {XFO.lower(): {"operation": "set", "value": "SAMEORIGIN"},
                         **{k: {"operation": "set", "value": v} for k, v in GOOD.items()}})], XFO, "is 'SAMEORIGIN'"),
        # Space inside a word makes another value (browsers then ignore the header); around ';' it does not.
        ([_set_all(**{XCTO: "no sniff", "X-XSS-Protection": " 1 ;\tmode = block "})], XCTO,
         "is 'no sniff', expected 'nosniff'"),
        ([_set_all(**{XFO: "DENY\u00a0"})], XFO, "expected 'DENY'"),  # not HTTP whitespace
        # A value computed at the edge cannot be checked.
        ([_set_all(), _rule("true", {XFO: {"operation": "set", "expression": 'http.request.headers["x"][0]'}})],
         XFO, "cannot be verified"),
        # A remove for some paths of this host counts.
        ([_set_all(), _rule(WWW_SOME_PATH, {HSTS: {"operation": "remove"}})], HSTS, "removed by rules[1]"),
    ],
)
def test_header_values_are_judged_after_every_rule(rules, header, expected):
    problems = _header_problems(rules)
    assert [h for h, _ in problems] == [header]
    assert expected in problems[0][1]


def test_a_header_named_too_many_times_in_one_rule_cannot_be_verified():
    names = ("X-FRAME-OPTIONS", "x-frame-options", "X-frame-options", "x-Frame-options", "x-frame-Options")
    problems = _header_problems([_set_all(), _rule("true", {name: SET_XFO[XFO] for name in names})])
    assert {h for h, _ in problems} == {XFO}
    assert any("names it 5 times, applied in an order not known here" in problem for _, problem in problems)


CSP = "Content-Security-Policy"


FIXED_NONCE = ("carries the fixed nonce 'nonce-r4nd0m': a header a rule sets is the same on every response, so an "
               "injected script can carry it too")


@pytest.mark.parametrize(
    "csp, expected",
    [
        # <script> elements and event-handler attributes have directives of their own.
        ("script-src 'self'; script-src-elem 'self' 'unsafe-inline'", "allows 'unsafe-inline' in script-src-elem"),
        ("script-src 'self'; script-src-attr 'unsafe-inline'", "allows 'unsafe-inline' in script-src-attr"),
        # ... and fall back to script-src, then default-src, when they are absent.
        ("default-src 'unsafe-inline'; script-src-elem 'self'", "allows 'unsafe-inline' in default-src"),
        ("default-src 'self'; script-src-elem 'self' 'unsafe-inline'; script-src-attr 'unsafe-inline'",
         "allows 'unsafe-inline' in script-src-elem, and 'unsafe-inline' in script-src-attr"),
        # A hash in script-src does not reach a script-src-elem of its own; a hash does nothing to 'unsafe-eval'.
        ("script-src 'sha256-abc='; script-src-elem 'unsafe-inline'", "allows 'unsafe-inline' in script-src-elem"),
        ("script-src 'sha256-abc=' 'unsafe-inline' 'unsafe-eval'", "allows 'unsafe-eval' in script-src"),
        # 'strict-dynamic' alone leaves 'unsafe-inline' in force in browsers that predate it.
        ("script-src 'strict-dynamic' 'unsafe-inline' https:", "allows 'unsafe-inline' in script-src"),
        # A comma ends one policy and starts another: the keyword before it counts.
        ("default-src 'self'; script-src 'self' 'unsafe-inline',", "allows 'unsafe-inline' in script-src"),
        ("script-src 'unsafe-inline','self'", "allows 'unsafe-inline' in script-src"),
        # Only ASCII whitespace separates: to browsers this is one unknown directive, not a default-src.
        ("default-src\u00a0'self'", "restricts no scripts: it has neither script-src nor default-src"),
        # A header a rule sets is the same on every response: its nonce is public.
        ("script-src 'nonce-r4nd0m' 'strict-dynamic' 'unsafe-inline'", FIXED_NONCE),
        ("script-src 'nonce-r4nd0m'", FIXED_NONCE),
    ],
)
def test_csp_unsafe_sources_are_found_where_they_apply(csp, expected):
    problems = _header_problems([_set_all(**{CSP: csp})])
    assert [h for h, _ in problems] == [CSP]
    assert problems[0][1].split(": ", 1)[1].startswith(f"{CSP} {expected} (")


@pytest.mark.parametrize(
    "csp",
    [
        "script-src 'self' 'sha256-B2yPHKaXnvFWtRChIbabYmUBFZdVfKKXHbWtWidDVF8=' 'unsafe-inline'",
        "default-src 'self'; script-src-elem 'sha512-xyz' 'unsafe-inline'; "
        "script-src-attr 'sha384-abc' 'unsafe-inline'",
        "script-src 'sha256-abc=' 'strict-dynamic' 'unsafe-inline' https:",
    ],
)
def test_csp_unsafe_inline_beside_a_hash_is_ignored_by_browsers(csp):
    assert _header_problems([_set_all(**{CSP: csp})]) == []


@pytest.mark.parametrize("with_context", [True, False], ids=["zone-from-context", "zone-from-zone-id"])
def test_provider_v4_records_are_judged_with_names_relative_to_the_zone(with_context):
    doc = _with_rules([_set_all('http.host eq "www.communityhub.org"')])
    raw = copy.deepcopy(doc.raw)
    if not with_context:
        del raw["//"]["hub"]
    raw["resource"]["cloudflare_record"] = {
        address: {"zone_id": "${data.cloudflare_zone.edge_zone.zone_id}", "name": name, "type": "A",
                  "value": "192.0.2.10", "proxied": True}
        for address, name in (("apex", "@"), ("api", "api"), ("www", "www"))
    }
    doc = as_doc(raw, "production")

    findings = failed(security_headers.evaluate(doc, [doc]))

    assert {(f.address, f.extra["hostname"]) for f in findings} == {
        ("cloudflare_record.apex", "communityhub.org"),
        ("cloudflare_record.api", "api.communityhub.org"),
    }


def test_a_remove_for_a_host_written_with_escapes_is_found():
    escaped = r'http.host eq "www\x2ecommunityhub\056org"'
    problems = _header_problems([_set_all(), _rule(escaped, {XFO: {"operation": "remove"}})])
    assert [h for h, _ in problems] == [XFO] and "removed by rules[1]" in problems[0][1]


def test_rules_for_other_hosts_and_provider_v4_header_blocks_are_understood():
    other_host = _rule('http.host eq "api.communityhub.org"', {XFO: {"operation": "remove"}})
    v4_headers = [{"name": name, "operation": "set", "value": value} for name, value in GOOD.items()]
    v4_style = {"action": "rewrite", "expression": 'http.host == "www.communityhub.org"',
                "action_parameters": [{"headers": v4_headers}]}
    assert _header_problems([v4_style, other_host]) == []


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("true", Applies.ALL),
        ("false", Applies.NONE),
        ('http.host eq "www.x.org"', Applies.ALL),
        ('http.host == "x.org"', Applies.NONE),
        ('http.host in {"x.org" "www.x.org"}', Applies.ALL),
        ('http.host in {"x.org" "api.x.org"}', Applies.NONE),
        ('http.host eq "x.org" or http.host eq "www.x.org"', Applies.ALL),
        ('(http.host eq "x.org") || (http.host eq "www.x.org")', Applies.ALL),
        ('not http.host eq "x.org"', Applies.ALL),
        ('http.host ne "www.x.org"', Applies.NONE),
        ('http.host eq "www.x.org" and starts_with(http.request.uri.path, "/app")', Applies.SOME),
        ('http.host eq "x.org" and starts_with(http.request.uri.path, "/app")', Applies.NONE),
        ('starts_with(http.request.uri.path, "/") or http.host eq "www.x.org"', Applies.ALL),
        ('http.request.uri.path eq "/"', Applies.SOME),
        ('http.host wildcard "*.x.org"', Applies.SOME),
        # Cloudflare reads a byte escaped in hex or octal as that byte: these name www.x.org.
        (r'http.host eq "www\x2ex.org"', Applies.ALL),
        (r'not http.host in {"a.x.org" "www\056x.org"}', Applies.NONE),
        (r'http.host eq "www.x.org\n"', Applies.SOME),  # an escape Cloudflare refuses: unparsable
        ('http.host eq "www.x.org" and', Applies.SOME),  # unparsable: no certainty
        ("${var.expression}", Applies.SOME),
        # Nested past the parser's recursion limit: undecided, never a crash of the gate.
        pytest.param("(" * 5000 + 'http.host eq "www.x.org"' + ")" * 5000, Applies.SOME, id="nested-5000-deep"),
    ],
)
def test_expression_coverage_of_a_hostname(expression, expected):
    assert applies_to(expression, "www.x.org") is expected


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("true", Applies.ALL),
        # No request's host is the pattern itself: naming it covers none of the hosts it serves.
        ('http.host eq "*.x.org"', Applies.SOME),
        ('http.host eq "admin.x.org"', Applies.SOME),
        ('http.host eq "a.b.x.org"', Applies.SOME),
        ('http.host eq "x.org"', Applies.NONE),
        ('http.host eq "y.org"', Applies.NONE),
        ('http.host ne "admin.x.org"', Applies.SOME),
        ('http.host ne "y.org"', Applies.ALL),
        ('http.host in {"a.x.org" "b.x.org"}', Applies.SOME),
        ('http.host in {"x.org" "y.org"}', Applies.NONE),
    ],
)
def test_expression_coverage_of_a_wildcard_hostname(expression, expected):
    assert applies_to(expression, "*.x.org") is expected


def test_a_wildcard_record_needs_rules_for_every_host_under_it():
    wildcard = "*.communityhub.org"
    assert _header_problems([_set_all()], wildcard) == []
    # A rule naming the pattern runs for no request: every header is missing.
    problems = _header_problems([_set_all(f'http.host eq "{wildcard}"')], wildcard)
    assert sorted(h for h, _ in problems) == sorted(GOOD)
    # admin.communityhub.org is one of the hosts the wildcard serves.
    remove_csp = _rule('http.host eq "admin.communityhub.org"', {"Content-Security-Policy": {"operation": "remove"}})
    problems = _header_problems([_set_all(), remove_csp], wildcard)
    assert [h for h, _ in problems] == ["Content-Security-Policy"] and "removed by rules[1]" in problems[0][1]


@pytest.mark.parametrize(("makes", "expected"), [
    ({"count": 0}, "has no cloudflare_ruleset"),
    ({"for_each": {}}, "has no cloudflare_ruleset"),
    ({"count": "${var.headers_on ? 1 : 0}"}, "may not be created"),
])
def test_a_header_ruleset_that_may_make_nothing_sets_no_header(makes, expected):
    doc = _with_rules([_set_all()])
    raw = copy.deepcopy(doc.raw)
    raw["resource"]["cloudflare_ruleset"]["edge_security_headers"].update(makes)
    findings = failed(security_headers.evaluate(as_doc(raw, "production"), [as_doc(raw, "production")]))
    assert findings and all(expected in f.message for f in findings)


# -- HUB_STACK_2: firewall coverage and targeted tags ---------------------------------------------


def test_load_balancer_aimed_at_a_colour_without_release_is_found():
    config = checked_in_config()
    env = config.environments["production"]
    # Decommission blue while traffic still points at it (the config loader would refuse this file).
    env = env.model_copy(update={"releases": env.releases.model_copy(update={"blue": None})})
    doc = synthesized_doc("production", env=env)

    findings = failed(run_stack_rules([doc]))

    [finding] = findings
    assert finding.check_id == "HUB_STACK_2" and finding.address == "digitalocean_loadbalancer.ingress_lb"
    assert finding.extra["tag"] == "hub:production:app:blue"
    assert "did you mean 'hub:production:app:green'" in finding.message


def test_droplet_without_a_firewall_is_found(monkeypatch):
    import constructs_lib.firewalls as firewalls

    monkeypatch.setattr(firewalls, "ROLES", tuple(r for r in firewalls.ROLES if r != "monitoring"))
    doc = synthesized_doc("staging")

    findings = failed(firewall_coverage.evaluate(doc, [doc]))

    assert [(f.address, f.construct_path) for f in findings] == [
        ("digitalocean_droplet.monitoring_1", "staging/monitoring/1")
    ]
    assert "no firewall covers this Droplet" in findings[0].message


def test_droplet_ids_and_tag_resources_count_as_coverage(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["staging"].raw)
    resources = raw["resource"]
    resources["digitalocean_tag"] = {"db": {"name": "hub:staging:db"}}
    resources["digitalocean_droplet"]["db_1"]["tags"] = ["env:staging", "${digitalocean_tag.db.id}"]
    cache = resources["digitalocean_firewall"]["firewalls_cache"]
    cache["tags"] = []
    cache["droplet_ids"] = ["${digitalocean_droplet.cache_1.id}"]
    doc = as_doc(raw, "staging")

    assert failed(firewall_coverage.evaluate(doc, [doc])) == []


@pytest.mark.parametrize("makes", [{"count": "${0}"}, {"count": "${var.db_firewalls}"}, {"for_each": {}}])
def test_a_firewall_that_may_make_nothing_covers_nothing(checked_in_docs, makes):
    raw = copy.deepcopy(checked_in_docs["staging"].raw)
    raw["resource"]["digitalocean_firewall"]["firewalls_db"].update(makes)
    doc = as_doc(raw, "staging")
    [finding] = failed(firewall_coverage.evaluate(doc, [doc]))
    assert finding.address == "digitalocean_droplet.db_1" and "no firewall covers this Droplet" in finding.message


@pytest.mark.parametrize(("droplet_count", "listed", "covered"), [
    (None, "${digitalocean_droplet.db_1[0].id}", True),  # one instance: index 0 is all of it
    (2, "${digitalocean_droplet.db_1[0].id}", False),  # db_1[1] is left open
    (2, "${digitalocean_droplet.db_1[*].id}", True),
    (2, "${digitalocean_droplet.db_1.*.id}", True),
    (2, ["${digitalocean_droplet.db_1[0].id}", "${digitalocean_droplet.db_1[1].id}"], True),  # one by one
    (None, "${var.primary ? digitalocean_droplet.db_1.id : digitalocean_droplet.search_1.id}", False),
])
def test_droplet_ids_cover_only_the_instances_they_list(checked_in_docs, droplet_count, listed, covered):
    raw = copy.deepcopy(checked_in_docs["staging"].raw)
    if droplet_count is not None:
        raw["resource"]["digitalocean_droplet"]["db_1"]["count"] = droplet_count
    db = raw["resource"]["digitalocean_firewall"]["firewalls_db"]
    db["tags"], db["droplet_ids"] = [], listed if isinstance(listed, list) else [listed]
    doc = as_doc(raw, "staging")
    uncovered = [f.address for f in failed(firewall_coverage.evaluate(doc, [doc])) if "no firewall covers" in f.message]
    assert uncovered == ([] if covered else ["digitalocean_droplet.db_1"])


def test_firewall_peer_tag_of_a_missing_droplet_is_found(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["staging"].raw)
    raw["resource"]["digitalocean_droplet"]["search_1"]["count"] = 0  # search pool scaled to zero
    doc = as_doc(raw, "staging")

    findings = failed(firewall_coverage.evaluate(doc, [doc]))

    fields = sorted((f.address, f.extra["field"]) for f in findings)
    assert ("digitalocean_firewall.firewalls_search", "tags") in fields
    assert ("digitalocean_firewall.firewalls_app", "outbound_rule[2].destination_tags") in fields
    assert all(f.extra["tag"] == "hub:staging:search" for f in findings)


# -- HUB_STACK_3: firewalls against the declared service graph ------------------------------------


def test_extra_peer_on_a_data_port_is_found(monkeypatch):
    from cdktf_cdktf_provider_digitalocean.firewall import FirewallInboundRule
    from constructs_lib.firewalls import RoleFirewalls

    original = RoleFirewalls._inbound

    def also_from_search(edge, env, admin_cidrs, load_balancer_id):
        if edge.target == "db" and edge.ports == "5432":
            peers = [f"hub:{env}:app", f"hub:{env}:search"]
            return FirewallInboundRule(protocol="tcp", port_range="5432", source_tags=peers)
        return original(edge, env, admin_cidrs, load_balancer_id)

    monkeypatch.setattr(RoleFirewalls, "_inbound", staticmethod(also_from_search))
    doc = synthesized_doc("staging")

    findings = failed(run_stack_rules([doc]))

    [finding] = findings
    assert finding.check_id == "HUB_STACK_3" and finding.address == "digitalocean_firewall.firewalls_db"
    assert finding.message.startswith(
        "firewall community-hub-staging-db inbound_rule[0] opens tcp 5432 from tag hub:staging:search (search -> db)"
    )
    assert finding.extra == {"firewall": "community-hub-staging-db", "rule": "inbound_rule[0]", "role": "db",
                             "peer": "search"}


def test_wider_outbound_opening_is_found(monkeypatch):
    from constructs_lib.firewalls import RoleFirewalls
    from constructs_lib.service_graph import INTERNET, Edge

    original = RoleFirewalls._outbound

    def wider(edge, env):
        if edge.target == INTERNET and edge.ports == "443":
            edge = Edge(edge.source, edge.target, "443-444", edge.protocol)
        return original(edge, env)

    monkeypatch.setattr(RoleFirewalls, "_outbound", staticmethod(wider))
    doc = synthesized_doc("development")

    findings = failed(firewall_service_graph.evaluate(doc, [doc]))

    assert len(findings) == 5  # one per role firewall
    assert all("opens tcp 444 to 0.0.0.0/0, ::/0" in f.message and f.extra["peer"] == "internet" for f in findings)


def test_graph_rule_reports_what_it_cannot_place(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["production"].raw)
    firewalls = raw["resource"]["digitalocean_firewall"]
    firewalls["firewalls_cache"]["tags"] = ["cache-servers"]  # a tag no Droplet carries: no role
    vpc_rule = {"protocol": "tcp", "port_range": "5432", "source_addresses": ["10.30.0.0/20"]}
    firewalls["firewalls_db"]["inbound_rule"].append(vpc_rule)
    doc = as_doc(raw, "production")

    messages = sorted(f.message for f in failed(firewall_service_graph.evaluate(doc, [doc])))

    assert messages == [
        "firewall community-hub-production-cache targets no hub:production:<role> tag or Droplet of a role, so its "
        "openings cannot be compared with the service graph",
        "firewall community-hub-production-db inbound_rule[3] opens tcp 5432 from 10.30.0.0/20 "
        "(nothing the graph names -> db), which the service graph does not declare",
    ]


@pytest.mark.parametrize("target", ["env:production", "role:app"])
def test_a_firewall_aimed_at_a_tag_other_roles_carry_is_judged_for_them(checked_in_docs, target):
    raw = copy.deepcopy(checked_in_docs["production"].raw)
    raw["resource"]["digitalocean_firewall"]["firewalls_app"]["tags"].append(target)
    raw["resource"]["digitalocean_droplet"]["db_1"]["tags"].append("role:app")  # a mislabelled Droplet
    doc = as_doc(raw, "production")
    messages = [f.message for f in failed(firewall_service_graph.evaluate(doc, [doc]))]
    assert any("(loadbalancer -> db), which the service graph does not declare" in m for m in messages), messages


@pytest.mark.parametrize("target", [{"droplet_ids": ["${data.digitalocean_droplet.legacy.id}"]},
                                    {"droplet_ids": ["123456"]}, {"tags": ["hub:production:app", "${var.extra}"]}])
def test_a_firewall_target_the_gate_cannot_place_is_found(checked_in_docs, target):
    raw = copy.deepcopy(checked_in_docs["production"].raw)
    raw["resource"]["digitalocean_firewall"]["firewalls_app"].update(target)
    doc = as_doc(raw, "production")
    messages = [f.message for f in failed(firewall_service_graph.evaluate(doc, [doc]))]
    assert any("which the gate cannot map to Droplets" in m for m in messages), messages


def test_a_role_named_like_a_graph_word_is_no_role(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["production"].raw)
    raw["resource"]["digitalocean_droplet"]["search_1"]["tags"].append("hub:production:loadbalancer")
    lb_like = {"protocol": "tcp", "port_range": "8080", "source_tags": ["hub:production:loadbalancer"]}
    raw["resource"]["digitalocean_firewall"]["firewalls_app"]["inbound_rule"].append(lb_like)
    doc = as_doc(raw, "production")
    messages = [f.message for f in failed(firewall_service_graph.evaluate(doc, [doc]))]
    assert any("from tag hub:production:loadbalancer (nothing the graph names -> app)" in m for m in messages), messages


def test_a_tag_reference_inside_a_function_is_not_read_as_the_tag(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["production"].raw)
    raw["resource"]["digitalocean_tag"] = {"app": {"name": "hub:production:app"}}
    rule = raw["resource"]["digitalocean_firewall"]["firewalls_db"]["inbound_rule"][0]
    rule["source_tags"] = ['${replace(digitalocean_tag.app.name, "app", "monitoring")}']
    doc = as_doc(raw, "production")
    assert failed(firewall_service_graph.evaluate(doc, [doc]))


def test_hub_context_without_graph_or_admin_networks_fails_closed(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["production"].raw)
    del raw["//"]["hub"]["service_graph"], raw["//"]["hub"]["admin_cidrs"]
    doc = as_doc(raw, "production")
    [graph] = firewall_service_graph.evaluate(doc, [doc])
    assert graph.status is Status.FAILED and "no service_graph" in graph.message
    ssh = failed(ssh_admin_sources.evaluate(doc, [doc]))
    assert ssh and all('outside the admin networks none ("//".hub declares no admin_cidrs)' in f.message for f in ssh)


def test_dynamic_rule_blocks_are_compared_with_the_graph_as_templates(checked_in_docs):
    """A dynamic block's rules are unknown item by item, but its template is not: a literal peer in
    it is judged, and a `${...}` port counts as every port."""
    raw = copy.deepcopy(checked_in_docs["production"].raw)
    db = raw["resource"]["digitalocean_firewall"]["firewalls_db"]
    db["dynamic"] = {"inbound_rule": [{
        "for_each": ["5432", "6379"],
        "content": {"protocol": "tcp", "port_range": "${inbound_rule.value}", "source_tags": ["hub:production:monitoring"]},
    }]}
    doc = as_doc(raw, "production")

    [finding] = failed(firewall_service_graph.evaluate(doc, [doc]))

    assert finding.message == (
        "firewall community-hub-production-db dynamic.inbound_rule[0].content opens tcp 1-9099, 9101-65535 "
        "from tag hub:production:monitoring (monitoring -> db), which the service graph does not declare"
    )
    assert finding.extra["rule"] == "dynamic.inbound_rule[0].content"
    db["dynamic"]["inbound_rule"][0]["content"]["source_tags"] = "not a list"
    with pytest.raises(StackReadError, match=r"firewalls_db\.dynamic\.inbound_rule\[0\]\.content\.source_tags"):
        firewall_service_graph.evaluate(as_doc(raw, "production"), [])


def test_graph_rule_without_context_says_it_did_not_run(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["staging"].raw)
    del raw["//"]["hub"]
    doc = as_doc(raw, "staging")

    for rule in (firewall_service_graph, ssh_admin_sources):
        [finding] = rule.evaluate(doc, [doc])
        assert finding.status is Status.PASSED and finding.severity is Severity.INFO
        assert finding.message.startswith("Not run:")


def test_undeclared_role_on_port_5432_in_hand_written_stack():
    doc = data_doc("db_5432_from_undeclared_role.cdk.tf.json")
    findings = run_stack_rules([doc])
    [finding] = failed(findings)
    assert finding.check_id == "HUB_STACK_3" and finding.address == "digitalocean_firewall.firewalls_db"
    assert finding.construct_path == "staging/firewalls/db"
    assert "hub-staging-db inbound_rule[1] opens tcp 5432 from tag hub:staging:search (search -> db)" in finding.message
    assert {f.check_id for f in findings if f.status is Status.PASSED} == {"HUB_STACK_1", "HUB_STACK_2", "HUB_STACK_4",
                                                                            "HUB_STACK_5"}


# -- HUB_STACK_4: SSH only from the admin networks --------------------------------------------------


def _patch_admin_rule(monkeypatch, make_rule):
    from constructs_lib.firewalls import RoleFirewalls
    from constructs_lib.service_graph import ADMIN

    original = RoleFirewalls._inbound

    def inbound(edge, env, admin_cidrs, load_balancer_id):
        if edge.source == ADMIN:
            return make_rule(edge, env, admin_cidrs)
        return original(edge, env, admin_cidrs, load_balancer_id)

    monkeypatch.setattr(RoleFirewalls, "_inbound", staticmethod(inbound))


def test_ssh_from_a_range_wider_than_the_admin_networks_is_found(monkeypatch):
    from cdktf_cdktf_provider_digitalocean.firewall import FirewallInboundRule

    _patch_admin_rule(
        monkeypatch,
        lambda edge, env, cidrs: FirewallInboundRule(
            protocol="tcp", port_range="22", source_addresses=["203.0.113.0/23"]
        ),
    )
    doc = synthesized_doc("staging")

    findings = failed(ssh_admin_sources.evaluate(doc, [doc]))

    assert len(findings) == 5
    assert all(f.extra["sources"] == ["203.0.113.0/23"] for f in findings)
    assert "opens SSH (tcp 22) from 203.0.113.0/23, outside the admin networks 203.0.113.0/24" in findings[0].message


def test_ssh_from_a_peer_tag_is_found(monkeypatch):
    from cdktf_cdktf_provider_digitalocean.firewall import FirewallInboundRule

    _patch_admin_rule(
        monkeypatch,
        lambda edge, env, cidrs: FirewallInboundRule(
            protocol="tcp", port_range="20-30", source_addresses=list(cidrs), source_tags=[f"hub:{env}:monitoring"]
        ),
    )
    doc = synthesized_doc("production")

    findings = failed(ssh_admin_sources.evaluate(doc, [doc]))

    assert {f.extra["sources"] == ["tag hub:production:monitoring"] for f in findings} == {True}
    assert len(findings) == 5


def test_ssh_rules_of_other_protocols_or_ports_are_not_ssh(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["development"].raw)
    rules = raw["resource"]["digitalocean_firewall"]["firewalls_app"]["inbound_rule"]
    rules.append({"protocol": "udp", "port_range": "22", "source_addresses": ["0.0.0.0/0"]})
    rules.append({"protocol": "icmp", "source_addresses": ["0.0.0.0/0"]})
    rules.append({"protocol": "tcp", "port_range": "all", "source_addresses": ["0.0.0.0/0"]})
    doc = as_doc(raw, "development")

    [finding] = failed(ssh_admin_sources.evaluate(doc, [doc]))
    assert finding.extra["rule"] == "inbound_rule[6]" and "tcp all ports" in finding.message


@pytest.mark.parametrize("port_range", ["00", "0-0"])
def test_port_zero_however_written_opens_every_port(checked_in_docs, port_range):
    # DigitalOcean reads port 0 as all ports; read as an empty range, this rule passed every check.
    raw = copy.deepcopy(checked_in_docs["development"].raw)
    rules = raw["resource"]["digitalocean_firewall"]["firewalls_app"]["inbound_rule"]
    rules.append({"protocol": "tcp", "port_range": port_range, "source_addresses": ["0.0.0.0/0"]})
    doc = as_doc(raw, "development")

    [ssh] = failed(ssh_admin_sources.evaluate(doc, [doc]))
    assert "tcp all ports" in ssh.message
    assert any("opens tcp" in f.message for f in failed(firewall_service_graph.evaluate(doc, [doc])))


# -- HUB_STACK_5: the owned zone's TLS settings -----------------------------------------------------


def test_a_zone_owner_that_leaves_a_tls_setting_out_is_found(monkeypatch):
    import constructs_lib.edge as edge

    monkeypatch.delitem(edge.ZONE_SETTINGS, "min_tls_version")
    doc = synthesized_doc("staging")

    [finding] = failed(run_stack_rules([doc]))

    assert finding.check_id == "HUB_STACK_5" and finding.address == "data.cloudflare_zone.edge_zone"
    assert finding.extra == {"zone": "communityhub.dev", "setting": "min_tls_version"}
    assert "min_tls_version is not set on the zone, so Cloudflare's default applies (TLS 1.0)" in finding.message


def test_zone_settings_count_only_on_the_owned_zone(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["production"].raw)
    raw["data"]["cloudflare_zone"]["other"] = {"filter": {"name": "other.org"}}
    settings = raw["resource"]["cloudflare_zone_setting"]
    settings["edge_setting_ssl"]["zone_id"] = "${data.cloudflare_zone.other.zone_id}"
    settings["edge_setting_always_use_https"]["zone_id"] = "0123456789abcdef0123456789abcdef"  # whose zone?
    settings["edge_setting_min_tls_version"]["value"] = "1.1"
    doc = as_doc(raw, "production")

    findings = failed(zone_tls_settings.evaluate(doc, [doc]))

    assert sorted((f.extra["setting"], f.address) for f in findings) == [
        ("always_use_https", "data.cloudflare_zone.edge_zone"),
        ("min_tls_version", "cloudflare_zone_setting.edge_setting_min_tls_version"),
        ("ssl", "data.cloudflare_zone.edge_zone"),
    ]
    [ssl] = [f for f in findings if f.extra["setting"] == "ssl"]
    assert "cloudflare_zone_setting.edge_setting_ssl sets it on zone_id '${data.cloudflare_zone.other.zone_id}', " \
           "which does not refer to this zone" in ssl.message


@pytest.mark.parametrize("value", ["1.2", "1.3", " 1.2 ", "1.1", "1.0", 1.2, 1.3, "1.2.3", "${var.tls}", "\u0661.\u0663", None])
def test_zone_rule_and_setting_check_agree_on_the_tls_version(checked_in_docs, value):
    from checkov.common.models.enums import CheckResult
    from policies.checks import all_checks
    from policies.checks._rules import checkov_conf

    raw = copy.deepcopy(checked_in_docs["production"].raw)
    setting = raw["resource"]["cloudflare_zone_setting"]["edge_setting_min_tls_version"]
    setting["value"] = value
    doc = as_doc(raw, "production")
    [check] = [c for c in all_checks() if c.id == "HUB_CF_3"]

    setting_passes = check.evaluate(checkov_conf(setting), "cloudflare_zone_setting")[0] == CheckResult.PASSED
    zone_passes = not failed(zone_tls_settings.evaluate(doc, [doc]))
    assert setting_passes == zone_passes == (value in ("1.2", "1.3", " 1.2 "))


def test_a_stack_sharing_a_zone_owns_none_of_its_settings(checked_in_docs):
    development = checked_in_docs["development"]
    [finding] = zone_tls_settings.evaluate(development, [development])
    assert finding.status is Status.PASSED and "owns no Cloudflare zone" in finding.message


ZONE_ID = "${cloudflare_zone.main.id}"
V5_SETTINGS = {"cloudflare_zone_setting": {
    setting_id: {"zone_id": ZONE_ID, "setting_id": setting_id, "value": value}
    for setting_id, value in (("ssl", "strict"), ("min_tls_version", "1.3"), ("always_use_https", "on"))
}}
V4_SETTINGS = {"ssl": "strict", "min_tls_version": "1.2", "always_use_https": "on"}


@pytest.mark.parametrize(
    "resources, unset",
    [
        (V5_SETTINGS, []),
        ({"cloudflare_zone_settings_override": {"main": {"zone_id": ZONE_ID, "settings": V4_SETTINGS}}}, []),
        # A template's for_each may make no block: it sets nothing for sure.
        ({"cloudflare_zone_settings_override": {"main": {"zone_id": ZONE_ID, "dynamic": {
            "settings": {"for_each": "${var.plans}", "content": V4_SETTINGS}}}}},
         ["always_use_https", "min_tls_version", "ssl"]),
        # for_each over a literal map of settings: each entry is one setting
        ({"cloudflare_zone_setting": {"all": {"for_each": {"ssl": "strict"}, "zone_id": ZONE_ID,
                                              "setting_id": "${each.key}", "value": "${each.value}"}}},
         ["always_use_https", "min_tls_version"]),
        # for_each over an expression: which setting each one is, is known at apply time only
        ({"cloudflare_zone_setting": {"all": {"for_each": "${var.settings}", "zone_id": ZONE_ID,
                                              "setting_id": "${each.key}", "value": "${each.value}"}}},
         ["always_use_https", "min_tls_version", "ssl"]),
        # A count known at apply time only may be 0.
        ({"cloudflare_zone_setting": {**V5_SETTINGS["cloudflare_zone_setting"],
                                      "ssl": {**V5_SETTINGS["cloudflare_zone_setting"]["ssl"], "count": "${var.n}"}}},
         ["ssl"]),
    ],
    ids=["v5", "v4", "v4-dynamic", "v5-for-each", "v5-for-each-unknown", "v5-count-unknown"],
)
def test_a_stack_creating_a_zone_must_set_its_tls_settings(resources, unset):
    raw = {"resource": {"cloudflare_zone": {"main": {"name": "example.org", "account": {"id": "a"}}}, **resources}}
    doc = as_doc(raw, "foreign")

    findings = failed(zone_tls_settings.evaluate(doc, [doc]))

    assert sorted(f.extra["setting"] for f in findings) == unset
    assert all(f.address == "cloudflare_zone.main" and "is not set on the zone" in f.message for f in findings)


def test_a_zone_whose_name_is_unknown_is_set_only_through_its_own_resource():
    raw = {"resource": {"cloudflare_zone": {"main": {"name": "${var.zone}", "account": {"id": "a"}}}, **V5_SETTINGS}}
    doc = as_doc(raw, "foreign")
    assert failed(zone_tls_settings.evaluate(doc, [doc])) == []

    raw["resource"]["cloudflare_zone_setting"]["ssl"]["zone_id"] = "${var.zone_id}"  # whose zone?
    doc = as_doc(raw, "foreign")
    [finding] = failed(zone_tls_settings.evaluate(doc, [doc]))
    assert finding.extra == {"zone": "cloudflare_zone.main", "setting": "ssl"}
    assert "its name is unknown before apply" in finding.message


@pytest.mark.parametrize(
    "zone, zone_id, ssl_count",
    [
        ({}, "${ cloudflare_zone.main.id }", None),
        ({"count": 1}, "${cloudflare_zone.main[0].id}", None),
        ({"count": "1"}, "${cloudflare_zone.main[ 0 ].id}", "1"),
    ],
    ids=["spaces", "count-1-index", "count-string"],
)
def test_zone_references_are_read_as_terraform_reads_them(zone, zone_id, ssl_count):
    settings = copy.deepcopy(V5_SETTINGS)
    for setting in settings["cloudflare_zone_setting"].values():
        setting["zone_id"] = zone_id
    if ssl_count is not None:
        settings["cloudflare_zone_setting"]["ssl"]["count"] = ssl_count
    raw = {"resource": {"cloudflare_zone": {"main": {"name": "example.org", "account": {"id": "a"}, **zone}},
                        **settings}}
    doc = as_doc(raw, "foreign")
    assert failed(zone_tls_settings.evaluate(doc, [doc])) == []


def test_zone_settings_made_by_another_stack_of_the_run_count():
    dns = as_doc({"resource": {"cloudflare_zone": {"main": {"name": "example.org", "account": {"id": "a"}}}}}, "dns")
    settings = copy.deepcopy(V5_SETTINGS)
    for setting in settings["cloudflare_zone_setting"].values():
        setting["zone_id"] = "${data.cloudflare_zone.z.zone_id}"
    settings["cloudflare_zone_setting"]["ssl"]["value"] = "full"
    edge = as_doc({"data": {"cloudflare_zone": {"z": {"filter": {"name": "example.org"}}}}, "resource": settings},
                  "edge")

    findings = failed(zone_tls_settings.evaluate(dns, [dns, edge]))

    assert [(f.extra["setting"], f.address) for f in findings] == [("ssl", "cloudflare_zone.main")]
    assert "ssl is 'full' (cloudflare_zone_setting.ssl of stack edge)" in findings[0].message
    assert len(failed(zone_tls_settings.evaluate(dns, [dns]))) == 3  # without the edge stack, nothing sets them


def test_zone_settings_from_a_literal_for_each_map_count():
    settings = {"all": {"for_each": {"ssl": "strict", "min_tls_version": "1.2", "always_use_https": "on"},
                        "zone_id": "${cloudflare_zone.main.id}", "setting_id": "${each.key}", "value": "${each.value}"}}
    doc = as_doc({"resource": {"cloudflare_zone": {"main": {"name": "example.org", "account": {"id": "a"}}},
                               "cloudflare_zone_setting": settings}}, "dns")
    assert failed(zone_tls_settings.evaluate(doc, [doc])) == []


# -- bad input --------------------------------------------------------------------------------------


def test_malformed_context_names_the_field(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["staging"].raw)
    del raw["//"]["hub"]["service_graph"][2]["from"]
    raw["//"]["hub"]["admin_cidrs"] = ["not-a-cidr"]
    doc = as_doc(raw, "staging")

    with pytest.raises(StackReadError) as error:
        run_stack_rules([doc])
    message = str(error.value)
    assert 'cdktf.out/stacks/staging/cdk.tf.json: "//".hub.admin_cidrs: \'not-a-cidr\' is not a CIDR block' in message
    assert '"//".hub.service_graph.2.from: Field required' in message


def test_malformed_attribute_names_the_resource_and_field(checked_in_docs):
    raw = copy.deepcopy(checked_in_docs["staging"].raw)
    raw["resource"]["digitalocean_droplet"]["db_1"]["tags"] = 5
    doc = as_doc(raw, "staging")

    with pytest.raises(StackReadError, match=r"digitalocean_droplet\.db_1\.tags: expected a list of strings, found 5"):
        firewall_coverage.evaluate(doc, [doc])


# -- helpers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "opening, declared, left",
    [
        ("8000-8100", ["8080"], [(8000, 8079), (8081, 8100)]),
        ("22", ["22"], []),
        ("all", ["1-1024", "1025-65535"], []),
        ("5432", ["6379", "9200"], [(5432, 5432)]),
    ],
)
def test_uncovered_ports(opening, declared, left):
    result = uncovered(parse_port_range(opening), [parse_port_range(d) for d in declared])
    assert result == [PortRange(low, high) for low, high in left]
