"""The response headers a Cloudflare `http_response_headers_transform` ruleset leaves on the
responses of one hostname, rule by rule in order.

A rule whose expression covers only some responses (a path test) may or may not run, so each
header is tracked as the set of states it can end in: a header is good only if every state is
good. That makes "set only for /app" count as missing, and a `remove` for some paths count too.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from typing import Any

from policies.secrets import literal_bool
from policies.stack_document import Resource, StackDocument
from policies.stack_rules._cloudflare_expression import Applies, applies_to
from policies.stack_rules._generator import security_headers as generator_headers
from policies.stack_rules._values import blocks, is_reference

REQUIRED_HEADER_NAMES = tuple(generator_headers.required_headers(content_security_policy=""))

HEADER_RULESET_KIND = "zone"
HEADER_RULESET_PHASE = "http_response_headers_transform"


@dataclass(frozen=True)
class HeaderValue:
    text: str | None  # None: computed at the edge (`expression`) or a Terraform reference
    origin: str  # where it comes from, for messages: "rules[0] (`true`)"

    def shown(self) -> str:
        return repr(self.text) if self.text is not None else f"a value unknown before apply ({self.origin})"


@dataclass(frozen=True)
class HeaderState:
    values: tuple[HeaderValue, ...]  # empty: the header is absent
    how: str  # why the header is in this state, for messages


def is_header_ruleset(res: Resource) -> bool:
    return (
        res.type == "cloudflare_ruleset"
        and res.attrs.get("kind") == HEADER_RULESET_KIND
        and res.attrs.get("phase") == HEADER_RULESET_PHASE
    )


def _enabled(rule: dict[str, Any]) -> bool | None:
    """True/False, or None when a Terraform expression decides (unknown here). Cloudflare's default is enabled."""
    raw = rule.get("enabled")
    if raw is None:  # absent or null: unset, so the provider's default (enabled) applies
        return True
    return literal_bool(raw)  # None also for a value Terraform refuses ("True"): whether it runs is not known


def header_rules(doc: StackDocument, ruleset: Resource) -> list[dict[str, Any]]:
    """The ruleset's rules. Provider v5 takes `rules` as an attribute, so an expression is valid
    there: it stands for one rule on every response whose headers cannot be told."""
    raw = ruleset.attrs.get("rules")
    if is_reference(raw):
        return [{"action": "rewrite", "expression": "true", "action_parameters": raw}]
    return blocks(doc, ruleset, ruleset.attrs, "rules")


def _unknown_operations(expression: str) -> list[tuple[str, dict]]:
    """Every header the gate requires, set to a value only `expression` decides."""
    return [(name, {"operation": "set", "expression": expression}) for name in REQUIRED_HEADER_NAMES]


def _header_operations(
    doc: StackDocument, ruleset: Resource, rule: dict[str, Any], index: int
) -> list[tuple[str, dict]]:
    """(header name, operation block) of one rule, from provider v5's map or v4's list of blocks."""
    field = f"rules[{index}].action_parameters"
    if is_reference(rule.get("action_parameters")):  # valid in v5: an attribute, so an expression may give it
        return _unknown_operations(rule["action_parameters"])
    operations: list[tuple[str, dict]] = []
    for params in blocks(doc, ruleset, rule, "action_parameters", f"rules[{index}]"):
        headers = params.get("headers")
        if is_reference(headers):
            operations += _unknown_operations(headers)
        elif isinstance(headers, dict) and all(isinstance(v, dict) for v in headers.values()):
            operations.extend(headers.items())
        else:
            for block in blocks(doc, ruleset, params, "headers", field):
                operations.append((str(block.get("name", "")), block))
    return operations


def header_states(doc: StackDocument, ruleset: Resource, host: str) -> dict[str, set[HeaderState]]:
    """Lower-cased header name -> every state it can end in on responses of `host`.

    Headers no rule touches are not listed (they are absent on every response).
    """
    states: dict[str, set[HeaderState]] = {}
    never_set = {HeaderState((), f"no enabled rule of {ruleset.address} sets it for this hostname")}
    for index, rule in enumerate(header_rules(doc, ruleset)):
        action = rule.get("action", "rewrite")
        # A `${...}` action may well be "rewrite" (the one action of this phase): the rule may run.
        if action != "rewrite" and not is_reference(action):
            continue
        expression = rule.get("expression")
        label = f"rules[{index}] (`{expression}`)"
        enabled = _enabled(rule)
        if enabled is False:
            continue
        unsure = "whose `action` is known only at apply time" if is_reference(action) else (
            "whose `enabled` is known only at apply time" if enabled is None else None)
        applies = applies_to(expression, host)
        by_header: dict[str, list[dict]] = {}  # header names differ in case only: one header
        for name, operation in _header_operations(doc, ruleset, rule, index):
            by_header.setdefault(name.lower(), []).append(operation)
        for key, operations in by_header.items():
            before = states.get(key, never_set)
            changed, ops = _apply_operations(before, operations, label)
            if unsure is None and applies is Applies.ALL:
                states[key] = changed
            elif applies is not Applies.NONE:
                # The rule runs for some responses only (or whether it runs is decided at apply time):
                # both outcomes are possible, and each must be good.
                why = unsure or f"which does not cover every response of {host}"
                kept = before if "remove" in ops else {_not_applied(state, label, why) for state in before}
                states[key] = changed | kept
    return states


_MOST_ORDERS = 4  # operations on one header in one rule whose orders are tried (4! = 24)


def _apply_operations(
    before: set[HeaderState], operations: list[dict], label: str
) -> tuple[set[HeaderState], set[str]]:
    """The states one rule's operations on one header leave, and the operations it may perform.

    A rule that names a header twice (X-Frame-Options and x-frame-options) is applied in an order
    the JSON does not give (Terraform sorts map keys; Cloudflare keeps no order): every order counts.
    """
    ops: set[str] = set()
    if len(operations) > _MOST_ORDERS:
        value = HeaderValue(None, f"{label} names it {len(operations)} times, applied in an order not known here")
        return {HeaderState((value,), f"set by {label}"), HeaderState((), f"removed by {label}")}, {"remove"}
    outcomes: set[HeaderState] = set()
    for order in permutations(operations):
        states = before
        for operation in order:
            op = str(operation.get("operation", "")).lower()
            # An operation decided at apply may be any of the three: a remove as much as a set.
            choices, how = (op,), label
            if is_reference(operation.get("operation")):
                choices, how = ("set", "add", "remove"), f"{label}, whose operation {operation['operation']} may be any"
            ops.update(choices)
            states = set().union(*(_apply_operation(states, o, operation, how) for o in choices))
        outcomes |= states
    return outcomes, ops


def _apply_operation(before: set[HeaderState], op: str, operation: dict, label: str) -> set[HeaderState]:
    if op == "remove":
        return {HeaderState((), f"removed by {label}")}
    raw = operation.get("value")
    if isinstance(raw, str) and not is_reference(raw):
        value = HeaderValue(raw, label)
    elif "expression" in operation:
        value = HeaderValue(None, f"{label} computes it with `{operation['expression']}`")
    else:
        value = HeaderValue(None, f"{label} sets it to {raw!r}")
    if op == "add":
        return {HeaderState(state.values + (value,), f"added by {label}") for state in before}
    return {HeaderState((value,), f"set by {label}")}


def _not_applied(state: HeaderState, label: str, why: str) -> HeaderState:
    """The state of a header when a set/add rule that runs only sometimes does not run."""
    if state.values:
        return state
    return HeaderState((), f"set only by {label}, {why}")
