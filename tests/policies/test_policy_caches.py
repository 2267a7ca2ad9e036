"""The shortcuts that make the policies fast decide exactly what the plain code decides.

The stack rules derive values once per loaded stack and once per run; the checks read a firewall's
rules once per content, look for `dynamic` blocks only in a conf whose text mentions them, and
skip the secret walk on a body with no hint of a secret. Each test here would fail if a shortcut
answered from a stale or too narrow view.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from checkov.terraform import parser_functions
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from policies.checks import all_checks
from policies.checks._rules import checkov_conf, find_secrets, firewall_rules
from policies.findings import Status
from policies.stack_document import StackReadError, parse_stack
from policies.stack_rules import run_stack_rules

CROSS_STACK = Path(__file__).parent / "data" / "stack_rules" / "cross_stack"


def _stack(name: str, edit=None):
    raw = json.loads((CROSS_STACK / name / "cdk.tf.json").read_text())
    if edit:
        edit(raw)
    return parse_stack(json.dumps(raw, indent=2), Path(f"cdktf.out/stacks/{name}/cdk.tf.json"), name=name)


def _failed(findings):
    return [f for f in findings if f.status is Status.FAILED]


def test_a_run_with_other_stacks_finds_the_zone_owner_afresh():
    def disown(raw):
        raw["//"]["hub"]["owns_zone"] = False
        raw["resource"]["cloudflare_zone"]["edge_zone"]["name"] = "other.org"  # a stack owns the zones it creates

    staging, owner, former_owner = _stack("staging"), _stack("shared-edge"), _stack("shared-edge", disown)
    assert _failed(run_stack_rules([staging, owner])) == []
    # Same staging document, same number of stacks, all still alive: only the ownership differs.
    [finding] = _failed(run_stack_rules([staging, former_owner]))
    assert "no stack of this run owns it" in finding.message
    assert _failed(run_stack_rules([staging, owner])) == []


def test_a_malformed_context_raises_on_every_run():
    def bad_cidr(raw):
        raw["//"]["hub"]["admin_cidrs"] = ["not-a-cidr"]

    docs = [_stack("staging"), _stack("shared-edge", bad_cidr)]
    expected = re.escape('shared-edge/cdk.tf.json: "//".hub.admin_cidrs: \'not-a-cidr\' is not a CIDR block')
    for _ in range(2):
        with pytest.raises(StackReadError, match=expected):
            run_stack_rules(docs)


@pytest.mark.parametrize("key", ["TO\u212aEN", "AP\u0130KEY", "private\u00a0key"])
def test_secret_keys_written_outside_ascii_are_still_found(key):
    # "\u212a" (Kelvin sign) lower-cases to "k" and "\u0130" to "i" plus a combining dot.
    body = {"environment": [{"name": key, "value": "correct-horse-battery-staple"}]}
    assert find_secrets(body) and find_secrets(checkov_conf(body))


def test_a_body_without_hints_has_no_secrets_and_one_with_a_hint_is_walked():
    assert find_secrets({"name": "web", "tags": ["env:production"], "size": "s-1vcpu-1gb"}) == []
    assert find_secrets({"name": "web", "user_data": "#!/bin/sh\nexport API_KEY=abc123\n", "api_key": "abc123"})


def test_the_secret_check_reads_each_conf_itself():
    no_secrets = all_checks()[-1]
    assert no_secrets.id == "HUB_GEN_1"
    clean = checkov_conf({"name": "web", "size": "s-1vcpu-1gb"})
    leaky = checkov_conf({"name": "web", "api_token": "hunter2"})
    assert no_secrets.evaluate(clean, "digitalocean_droplet")[0].name == "PASSED"
    assert find_secrets(leaky)  # asked right after another conf was checked
    assert no_secrets.evaluate(leaky, "digitalocean_droplet")[0].name == "FAILED"
    assert find_secrets(clean) == []


def test_firewall_rules_follow_the_conf_when_it_changes():
    conf = checkov_conf({"inbound_rule": [{"protocol": "tcp", "port_range": "22", "source_addresses": ["0.0.0.0/0"]}]})
    [before] = firewall_rules(conf, "inbound")
    conf["inbound_rule"][0]["port_range"] = ["443"]
    [after] = firewall_rules(conf, "inbound")
    assert (before.port_text, after.port_text) == ("22", "443")


def _as_checkov_would(check, conf, resource_type):
    """Checkov's own BaseResourceCheck.scan_entity_conf, which walks for dynamic blocks every time."""
    check.details = []
    check.evaluated_keys = []
    result = BaseResourceCheck.scan_entity_conf(check, conf, resource_type)
    return result, list(check.details)


FIREWALL = {
    "name": "fw",
    "api_token": "hunter2",  # HUB_GEN_1 reads the serialized conf the first check left behind
    "tags": ["hub:production:app"],
    "inbound_rule": [{"protocol": "tcp", "port_range": "443", "source_addresses": ["0.0.0.0/0", "::/0"]}],
    "outbound_rule": [{"protocol": "udp", "port_range": "53", "destination_addresses": ["0.0.0.0/0"]}],
}
SSH_FROM_ANYWHERE = {"protocol": "tcp", "port_range": "22", "source_addresses": ["0.0.0.0/0"]}


def _firewall_checks():
    return [c for c in all_checks() if "digitalocean_firewall" in c.supported_resources or "*" in c.supported_resources]


def test_checks_see_a_firewall_conf_as_checkov_presents_it():
    ours, checkovs = checkov_conf(FIREWALL), checkov_conf(copy.deepcopy(FIREWALL))
    # One conf handed to every check in turn, as Checkov's registry does.
    got = [c.evaluate(ours, "digitalocean_firewall") for c in _firewall_checks()]
    expected = [_as_checkov_would(c, checkovs, "digitalocean_firewall") for c in _firewall_checks()]
    assert got == expected
    assert ours == checkovs
    assert ("HUB_GEN_1", "FAILED") in [(c.id, result.name) for c, (result, _) in zip(_firewall_checks(), got)]


def test_dynamic_blocks_are_judged_beside_the_written_ones_and_the_conf_is_left_alone():
    body = {**FIREWALL, "inbound_rule": [SSH_FROM_ANYWHERE], "dynamic": {"inbound_rule": {
        "for_each": "${var.ports}",
        "content": {"protocol": "udp", "port_range": "${inbound_rule.value}", "source_addresses": ["::/0"]},
    }}}
    conf = checkov_conf(body)
    before = copy.deepcopy(conf)
    results = {c.id: c.evaluate(conf, "digitalocean_firewall") for c in _firewall_checks()}

    assert conf == before
    assert results["HUB_DO_1"][1] == ["tcp 22 is open to the whole Internet", "udp all ports is open to the whole Internet"]
    assert results["HUB_DO_4"][1] == [
        "dynamic.inbound_rule[0].content: udp '${inbound_rule.value}' (unreadable, counted as all ports) from ::/0: "
        "opens all ports"
    ]
    # Checkov's own expansion, by contrast, puts the dynamic block in place of the written rule.
    parser_functions.handle_dynamic_values(conf)
    assert SSH_FROM_ANYWHERE["port_range"] not in str(conf["inbound_rule"])
