"""The gate: every policy over a set of synthesized stacks, one verdict.

Checkov (its checks and ours) per resource, our stack-level rules across the stack, the cost
policy against the budget, then suppressions. It fails closed: a stack it cannot read, a Checkov
that cannot run, or a resource type no policy knows, is a failure, never a silent pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from policies.findings import Finding, Severity, Status, location
from policies.reports import GateResult
from policies.stack_document import StackDocument, StackReadError, discover_stack_files, load_stack

UNKNOWN_TYPE = "HUB_GATE_1"
UNKNOWN_TYPE_TITLE = "Resource type known to some policy"
SECRET_IN_CONFIG = "HUB_GEN_2"
SECRET_IN_CONFIG_TITLE = "No secret outside resources: providers, terraform block, variables, outputs, locals, modules, data"


class GateInputError(Exception):
    """Input the gate cannot use at all (exit code 2)."""


@dataclass
class GateOptions:
    environments: list[str] = field(default_factory=list)  # empty: every stack
    suppressions: Path | None = None  # None: ./suppressions.toml when present
    today: date = field(default_factory=date.today)
    checkov_timeout: float | None = None
    # Whether the stacks read are every stack of their outputs (a cdktf.out, not one stack file):
    # only then can a suppression for a stack name none of them has be told to be misspelt.
    whole_outputs: bool = True


def load_documents(paths: list[Path]) -> list[StackDocument]:
    try:
        return [load_stack(p, name) for name, p in discover_stack_files(paths)]
    except StackReadError as exc:
        raise GateInputError(str(exc)) from None


_UNKNOWN_TYPE_FIX = "Add a check (policies/checks/) or a price-table entry for this type before deploying it."
_MODULE_FIX = ("Make the resources with constructs in the app, so they are synthesized into the stack, or "
               "suppress this finding for the module with a reason.")


def _unknown_types(docs: list[StackDocument], checked_types: frozenset[str]) -> list[Finding]:
    """HUB_GATE_1 for each resource of a type none of our policies covers, and each module call
    (whose resources are not in the stack at all)."""
    from policies.cost import PRICED_TYPES
    from policies.pricing import current_price_table
    from policies.stack_rules import RULE_RESOURCE_TYPES

    known = checked_types | PRICED_TYPES | set(current_price_table().free_resources) | RULE_RESOURCE_TYPES
    unknown = [
        (doc, res, f"resource type {res.type} is covered by none of the hub's own policies (checks, stack rules, "
         "price table), so the gate can neither judge it against them nor price it", _UNKNOWN_TYPE_FIX)
        for doc in docs for res in doc.resources if res.type not in known
    ] + [
        (doc, module, f"module {module.name}: the resources it makes are not in the synthesized JSON, so no policy "
         "of the gate can judge them", _MODULE_FIX)
        for doc in docs for module in doc.modules
    ]
    return [
        Finding(check_id=UNKNOWN_TYPE, title=UNKNOWN_TYPE_TITLE, severity=Severity.HIGH, **location(doc, block),
                message=message, fix=fix)
        for doc, block, message, fix in unknown
    ]


def _config_blocks(doc: StackDocument) -> list[tuple[dict[str, Any], Any]]:
    """(where the finding points, body to scan) for every block but resources: providers (each
    aliased configuration), modules, data sources, the terraform block (backend, cloud), variable
    defaults, outputs and locals, each with its Terraform address and line."""
    def at(address: str, *key: str) -> dict[str, Any]:
        line = doc.block_lines.get(key) or doc.block_lines.get(key[:1], 1)
        return {**location(doc), "address": address, "line": line}

    raw_locals = doc.raw.get("locals")
    return [
        *((location(doc, block), block.attrs) for block in (*doc.providers, *doc.modules, *doc.data_sources)),
        *([(at("terraform", "terraform"), doc.raw["terraform"])] if doc.raw.get("terraform") else []),
        # a variable's, output's or local's name tells a password: scanned with it
        *((at(f"variable.{name}", "variable", name), {name: body.get("default")})
          for name, body in doc.variables.items() if isinstance(body, dict)),
        *((at(f"output.{name}", "output", name), {name: body}) for name, body in doc.outputs.items()),
        *((at(f"local.{name}", "locals", name), {name: body})
          for name, body in (raw_locals.items() if isinstance(raw_locals, dict) else ())),
    ]


def _config_secrets(docs: list[StackDocument]) -> list[Finding]:
    """HUB_GEN_2 on everything but resources, which the per-resource check HUB_GEN_1 scans: one
    failed finding per block that holds a secret-looking literal, else one passed finding per stack."""
    from policies.secrets import find_secrets

    fix = ("Read tokens and keys from the environment (DIGITALOCEAN_TOKEN, CLOUDFLARE_API_TOKEN, AWS_* for "
           "Spaces) or from sensitive variables without defaults, and pass them on as references.")
    findings = []
    for doc in docs:
        failed = [
            Finding(check_id=SECRET_IN_CONFIG, title=SECRET_IN_CONFIG_TITLE, severity=Severity.CRITICAL, **where,
                    message="; ".join(problems), fix=fix)
            for where, body in _config_blocks(doc)
            if (problems := find_secrets(body))
        ]
        findings += failed or [
            Finding(check_id=SECRET_IN_CONFIG, title=SECRET_IN_CONFIG_TITLE, severity=Severity.CRITICAL,
                    **{**location(doc), "construct_path": doc.name}, message="no secret-looking literal", fix=fix,
                    status=Status.PASSED)
        ]
    return findings


def evaluate(docs: list[StackDocument], options: GateOptions) -> tuple[GateResult, list]:
    """Run every policy; return the gate result and the cost estimates (for the cost table)."""
    from policies.checkov_runner import CheckovError, run_checkov, timeout_from_env
    from policies.cost import estimate_many
    from policies.pricing import PriceTableError
    from policies.stack_rules import RULE_IDS, run_stack_rules
    from policies.suppressions import apply_suppressions, load_suppressions

    selected = [d for d in docs if not options.environments or d.name in options.environments]
    missing = sorted(set(options.environments) - {d.name for d in docs})
    if missing:
        raise GateInputError(f"--env: no stack named {', '.join(missing)} (stacks: {', '.join(d.name for d in docs)})")

    errors: list[str] = []
    findings: list[Finding] = []
    checkov_ids: frozenset[str] = frozenset()
    checked_types: frozenset[str] | None = None
    try:
        timeout = options.checkov_timeout if options.checkov_timeout is not None else timeout_from_env()
    except ValueError as exc:
        raise GateInputError(str(exc)) from None
    try:
        checkov = run_checkov(selected, timeout)
        findings += checkov.findings
        checkov_ids, checked_types = checkov.check_ids, checkov.covered_types
    except CheckovError as exc:
        errors.append(str(exc))
    # Stack rules see every stack (a zone's header ruleset may live in another), report on the selected.
    names = {d.name for d in selected}
    try:
        findings += [f for f in run_stack_rules(docs) if f.stack in names]
    except StackReadError as exc:  # a stack whose shape the rules cannot read
        raise GateInputError(str(exc)) from None
    try:
        costs = estimate_many(selected)
    except PriceTableError as exc:
        raise GateInputError(str(exc)) from None
    for cost in costs:
        findings += cost.findings
    if checked_types is not None:  # without Checkov the gate has failed already
        findings += _unknown_types(selected, checked_types)
    findings += _config_secrets(selected)

    try:
        suppressions = load_suppressions(options.suppressions)
    except ValueError as exc:
        raise GateInputError(str(exc)) from None
    known = set(checkov_ids) | set(RULE_IDS) | {"HUB_COST_1", "HUB_COST_2", UNKNOWN_TYPE, SECRET_IN_CONFIG}
    known |= {f.check_id for f in findings}
    findings, problems = apply_suppressions(
        findings, suppressions, known, options.today, stacks=names,
        loaded=[d.name for d in docs] if options.whole_outputs else None,
        # Without Checkov, its ids and our per-resource checks' are unknown here, and their findings missing.
        all_checks_ran=checked_types is not None,
    )
    findings = sorted(findings + problems, key=Finding.sort_key)
    return GateResult(findings=findings, stacks=[d.name for d in selected], errors=errors), costs
