"""HUB_STACK_2: every Droplet is covered by a firewall, and every tag a firewall or the load
balancer aims at is carried by some Droplet of the stack.

A Droplet that no firewall covers has every port open. A tag nobody carries is a typo or a
decommissioned colour: the firewall protects nothing, or the load balancer sends traffic nowhere.
Per-resource checks cannot see either, because both need the whole stack.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict

from policies.findings import Finding, Severity
from policies.stack_document import Resource, StackDocument
from policies.stack_rules._findings import RuleFindings
from policies.stack_rules._firewall_rules import INBOUND, OUTBOUND, firewall_rules
from policies.stack_rules._values import (
    certainly_exists, droplet_tags, exists, instance_count, is_reference, resolve_tag, string_list,
)

RULE_ID = "HUB_STACK_2"
TITLE = "Every Droplet is behind a firewall, and every targeted tag exists"
SEVERITY = Severity.HIGH
FIX = (
    "Give each Droplet its role's hub:<env>:<role> tag (or list it in a firewall's droplet_ids), and aim "
    "firewalls and the load balancer only at tags a Droplet of the stack carries; for blue-green, the "
    "active colour must have a release in environments.toml."
)
RESOURCE_TYPES = frozenset({"digitalocean_droplet", "digitalocean_firewall", "digitalocean_loadbalancer"})
RULE = RuleFindings(RULE_ID, TITLE, SEVERITY, FIX)


def _named_tags(doc: StackDocument, firewall: Resource) -> list[tuple[str, str]]:
    """(field, tag) for every tag the firewall names: its targets and its rules' peers."""
    named = [("tags", resolve_tag(doc, t)) for t in string_list(doc, firewall, firewall.attrs, "tags")]
    for direction, key in ((INBOUND, "source_tags"), (OUTBOUND, "destination_tags")):
        for rule in firewall_rules(doc, firewall, direction):
            if rule.tags:
                field = f"{rule.field}.{key}"
                named += [(field, resolve_tag(doc, t)) for t in rule.tags]
    return named


# `${digitalocean_droplet.web.id}`, `.web[*].id`, `.web.*.id` or `.web[0].id`: one Droplet resource's ids.
_DROPLET_IDS = re.compile(r"\$\{\s*digitalocean_droplet\.([A-Za-z_][\w-]*)(\[\*\]|\.\*|\[(\d+)\])?\.id\s*\}")


def _droplets_listed_whole(doc: StackDocument, droplet_ids: list[str]) -> set[str]:
    """The Droplet resources whose every instance a firewall's droplet_ids lists: `web.id`, `web[*].id`,
    or `web[0].id` ... `web[n-1].id` for a `web` of a literal count n. An id inside a function or a
    conditional lists nothing for sure."""
    whole, indexed = set(), defaultdict(set)
    for item in droplet_ids:
        match = _DROPLET_IDS.fullmatch(item.strip())
        if not match:
            continue
        name, index = match.group(1), match.group(3)
        if index is None:
            whole.add(name)
        else:
            indexed[name].add(int(index))
    for name, indices in indexed.items():
        droplet = doc.by_address(f"digitalocean_droplet.{name}")
        count = instance_count(droplet) if droplet is not None else None
        if count is not None and indices >= set(range(count)):
            whole.add(name)
    return whole


def _why_missing(tag: str, carried: set[str]) -> str:
    if is_reference(tag):
        return f"tag {tag!r} is a Terraform expression that matches no Droplet tag of this stack"
    # Prefer tags of the same shape: for a colour pool's tag, the other colour's pool tag.
    same_shape = sorted(t for t in carried if t.count(":") == tag.count(":"))
    close = difflib.get_close_matches(tag, same_shape, n=1) or difflib.get_close_matches(tag, sorted(carried), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"tag {tag!r} is carried by no Droplet of this stack{hint}"


def evaluate(doc: StackDocument, all_docs: list[StackDocument]) -> list[Finding]:
    droplets = [d for d in doc.of_type("digitalocean_droplet") if exists(d)]
    firewalls = [f for f in doc.of_type("digitalocean_firewall") if exists(f)]
    tags_of = {d.name: droplet_tags(doc, d) for d in droplets}
    carried = set().union(*tags_of.values())
    findings: list[Finding] = []

    covering_tags: set[str] = set()
    listed_droplets: set[str] = set()
    for firewall in firewalls:
        named = _named_tags(doc, firewall)
        if certainly_exists(firewall):  # a firewall whose count may be 0 protects nothing for sure
            covering_tags |= {tag for field, tag in named if field == "tags"}
            droplet_ids = string_list(doc, firewall, firewall.attrs, "droplet_ids")
            listed_droplets |= _droplets_listed_whole(doc, droplet_ids)
        for field, tag in named:
            if tag not in carried:
                message = f"{field}: {_why_missing(tag, carried)}"
                findings.append(RULE.failed(doc, firewall, message, field=field, tag=tag))

    for droplet in droplets:
        if not (tags_of[droplet.name] & covering_tags) and droplet.name not in listed_droplets:
            shown = ", ".join(sorted(tags_of[droplet.name])) or "none"
            message = f"no firewall covers this Droplet (its tags: {shown}), so every port is open"
            findings.append(RULE.failed(doc, droplet, message))

    for lb in doc.of_type("digitalocean_loadbalancer"):
        raw = lb.attrs.get("droplet_tag")
        if isinstance(raw, str) and raw and exists(lb):
            tag = resolve_tag(doc, raw)
            if tag not in carried:
                message = f"droplet_tag: {_why_missing(tag, carried)}, so the load balancer has no backend"
                findings.append(RULE.failed(doc, lb, message, field="droplet_tag", tag=tag))

    if not findings:
        findings.append(
            RULE.passed(
                doc, f"{len(droplets)} Droplet(s) covered by {len(firewalls)} firewall(s); every targeted tag exists."
            )
        )
    return findings
