"""The README's policy table lists every policy the gate runs, by id and title, and nothing else."""

from __future__ import annotations

import re

from policies import cost, gate, plan
from policies.checks import all_checks
from policies.stack_rules import ALL_RULES
from tests.conftest import ROOT


def test_the_readme_lists_every_policy_by_its_id_and_title():
    section = (ROOT / "README.md").read_text().split("## Policies", 1)[1].split("\n## ", 1)[0]
    listed = {m[1]: m[2].replace("\\|", "|") for m in re.finditer(r"^\| (HUB_\w+) \| (.+?) \| ", section, re.M)}
    expected = {check.id: check.name for check in all_checks()}
    expected |= {rule.RULE_ID: rule.TITLE for rule in ALL_RULES}
    expected |= {cost.BUDGET_CHECK: cost.BUDGET_TITLE, cost.UNKNOWN_CHECK: cost.UNKNOWN_TITLE}
    expected |= {gate.UNKNOWN_TYPE: gate.UNKNOWN_TYPE_TITLE, gate.SECRET_IN_CONFIG: gate.SECRET_IN_CONFIG_TITLE}
    expected |= {plan.BLOCKED_CHECK_ID: plan.BLOCKED_TITLE}
    assert listed == expected
