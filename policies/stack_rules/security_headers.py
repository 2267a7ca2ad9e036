"""HUB_STACK_1: every proxied hostname gets the required security headers on every response.

The headers come from the zone's `http_response_headers_transform` ruleset. Cloudflare keeps one
such ruleset per zone, so a stack that shares a zone relies on the owning stack's ruleset: the
rule looks there too, which is why it needs every stack of the run. The required values come from
constructs_lib/security_headers.py, the same module the generator uses.
"""

from __future__ import annotations

import re

from policies.findings import Finding, Severity
from policies.stack_document import Resource, StackDocument
from policies.stack_rules._cloudflare_expression import Applies, applies_to
from policies.stack_rules._cloudflare_zones import context_zone, normal_zone, owned_zones, zone_name, zone_of
from policies.stack_rules._context import HubContext, hub_context
from policies.stack_rules._edge_headers import (
    HEADER_RULESET_KIND,
    HEADER_RULESET_PHASE,
    HeaderState,
    header_rules,
    header_states,
    is_header_ruleset,
)
from policies.stack_rules._findings import RuleFindings
from policies.stack_rules._generator import security_headers as generator_headers
from policies.stack_rules._per_stack import once, once_per_run
from policies.secrets import literal_bool
from policies.stack_rules._values import certainly_exists, exists, is_reference

RULE_ID = "HUB_STACK_1"
TITLE = "Proxied hostnames carry the security headers on every response"
SEVERITY = Severity.HIGH
FIX = (
    "Set the headers of constructs_lib/security_headers.py in the zone's cloudflare_ruleset "
    f"(kind {HEADER_RULESET_KIND}, phase {HEADER_RULESET_PHASE}) with a rule whose expression is `true` "
    "(or names every hostname), and let no later rule remove or weaken them."
)
RECORD_TYPES = ("cloudflare_dns_record", "cloudflare_record")  # provider v5, v4
RESOURCE_TYPES = frozenset({*RECORD_TYPES, "cloudflare_ruleset"})
RULE = RuleFindings(RULE_ID, TITLE, SEVERITY, FIX)

CSP, HSTS = "Content-Security-Policy", "Strict-Transport-Security"
RULESET_KIND = f"cloudflare_ruleset (kind {HEADER_RULESET_KIND}, phase {HEADER_RULESET_PHASE})"


# CSP splits on ASCII whitespace only: with str.split(), "default-src\u00a0'self'" would read as a
# default-src that browsers never see (to them it is one unknown directive name).
_CSP_SPACE = re.compile(r"[\t\n\f\r ]+")


def _csp_directives(value: str) -> dict[str, list[str]]:
    """Directive name -> its sources, lower-cased; the first occurrence wins, as in browsers.

    A comma starts another policy in the same header, and browsers enforce every one: read as one
    policy whose first directive of each name wins, the header is never judged more lenient than
    that (at worst stricter). Split on ";" alone, "script-src 'unsafe-inline'," would hide the keyword behind the comma.
    """
    found: dict[str, list[str]] = {}
    for part in re.split(r"[;,]", value):
        words = [word for word in _CSP_SPACE.split(part) if word]
        if words:
            found.setdefault(words[0].lower(), [w.lower() for w in words[1:]])
    return found


def _hsts_directives(value: str) -> tuple[dict[str, str], list[str]]:
    """Directive name -> its argument, and the names written more than once."""
    found: dict[str, str] = {}
    repeated: list[str] = []
    for part in value.split(";"):
        name, _, argument = part.partition("=")
        name = name.strip().lower()
        if name in found and name not in repeated:
            repeated.append(name)
        if name:
            found.setdefault(name, _hsts_value(argument.strip()))
    return found, repeated


def _hsts_value(argument: str) -> str:
    """A directive's value: a token or one quoted-string, unquoted (RFC 6797 6.1). A quote that is
    not closed, or quotes doubled, break the grammar and browsers drop the header: such a value
    stays as written, so it reads as no max-age."""
    if len(argument) >= 2 and argument[0] == argument[-1] == '"' and '"' not in argument[1:-1]:
        return argument[1:-1]
    return argument


# Which directive governs what, in CSP3's fallback order: inline <script> elements, event-handler
# attributes (onclick=...) and eval each use the first of their list that the policy has.
INLINE_SCRIPT_FALLBACKS = {
    "'unsafe-inline'": (
        ("script-src-elem", "script-src", "default-src"),
        ("script-src-attr", "script-src", "default-src"),
    ),
    "'unsafe-eval'": (("script-src", "default-src"),),
}
# A hash makes CSP2+ browsers ignore 'unsafe-inline' in the same directive (it stays only for older
# browsers): the usual backward-compatible policy. A nonce would too, but a header a Cloudflare rule
# sets is the same on every response, so its nonce is public and protects nothing; and
# 'strict-dynamic' alone leaves 'unsafe-inline' in force in browsers that predate it.
_DISABLES_UNSAFE_INLINE = re.compile(r"'(?:sha256|sha384|sha512)-[a-z0-9+/_-]+={0,2}'")
_NONCE = re.compile(r"'nonce-[^']*'")


def _csp_problem(value: str) -> str | None:
    directives = _csp_directives(value)
    if "script-src" not in directives and "default-src" not in directives:
        return "restricts no scripts: it has neither script-src nor default-src"
    fixed_nonces = sorted({source for sources in directives.values() for source in sources if _NONCE.fullmatch(source)})
    if fixed_nonces:
        return (f"carries the fixed nonce {', '.join(fixed_nonces)}: a header a rule sets is the same on every "
                "response, so an injected script can carry it too")
    unsafe: dict[str, list[str]] = {}  # directive -> the unsafe sources in effect there
    for source, fallback_lists in INLINE_SCRIPT_FALLBACKS.items():
        for fallbacks in fallback_lists:
            governing = next((d for d in fallbacks if d in directives), None)
            sources = directives.get(governing, [])
            if source not in sources or source in unsafe.get(governing, []):
                continue
            if source == "'unsafe-inline'" and any(_DISABLES_UNSAFE_INLINE.fullmatch(s) for s in sources):
                continue
            unsafe.setdefault(governing, []).append(source)
    if unsafe:
        return "allows " + ", and ".join(f"{' and '.join(found)} in {d}" for d, found in unsafe.items())
    return None


def _hsts_problem(value: str, required: str) -> str | None:
    directives, repeated = _hsts_directives(value)
    if repeated:
        # RFC 6797 6.1: each directive appears once; browsers ignore a header that breaks the grammar.
        return f"repeats {', '.join(repeated)}, which makes the header invalid (value {value!r})"
    max_age = directives.get("max-age", "")
    if not (max_age.isascii() and max_age.isdigit()):
        return f"has no readable max-age (value {value!r})"
    # Compared as text first: int() refuses more than 4,300 digits, and so many are long enough anyway.
    if len(max_age.lstrip("0")) <= 18 and int(max_age) < generator_headers.MIN_HSTS_MAX_AGE:
        return f"has max-age={max_age}, shorter than the required {generator_headers.MIN_HSTS_MAX_AGE} seconds"
    wanted = [part.partition("=")[0].strip() for part in required.split(";") if part.strip()]
    missing = [d for d in wanted if d.lower() != "max-age" and d.lower() not in directives]
    if missing:
        return f"lacks {', '.join(missing)} (value {value!r})"
    return None


def _compact(text: str) -> str:
    """A value as browsers compare it: HTTP whitespace (space, tab) at the ends and around ; , = does
    not count, and case does not; inside a word it does ("no sniff" is not nosniff, to a browser
    it is no value at all), and so does any other space character."""
    return re.sub(r"[ \t]*([;,=])[ \t]*", r"\1", text.strip(" \t")).lower()


def _value_problem(header: str, value: str, required: str) -> str | None:
    if header == CSP:
        return _csp_problem(value)
    if header == HSTS:
        return _hsts_problem(value, required)
    if _compact(value) != _compact(required):
        return f"is {value!r}, expected {required!r}"
    return None


def _state_problems(header: str, state: HeaderState, required: str) -> list[str]:
    if not state.values:
        return [f"is missing ({state.how})"]
    problems = []
    if header == HSTS and len(state.values) > 1:
        # RFC 6797 8.1: a browser heeds only the first, so the policy in force depends on the order.
        origins = "; ".join(value.origin for value in state.values)
        problems.append(f"is sent {len(state.values)} times ({origins}); send one header")
    for value in state.values:
        if value.text is None:
            problems.append(f"cannot be verified: it is {value.shown()}")
        else:
            problem = _value_problem(header, value.text, required)
            if problem:
                problems.append(f"{problem} ({value.origin})")
    return problems


def _hostname(doc: StackDocument, record: Resource) -> str:
    name = str(record.attrs.get("name", "")).strip().rstrip(".").lower()
    # The record's zone completes a name relative to it: provider v4 names are often relative.
    zone = _record_zone(doc, record)
    if zone and name in ("", "@"):
        return zone
    if zone and not is_reference(name) and name != zone and not name.endswith("." + zone):
        return f"{name}.{zone}"  # a name relative to the zone
    return name


def _proxied(record: Resource) -> bool:
    raw = record.attrs.get("proxied")
    # A Terraform expression may turn out true, and so may a value Terraform refuses: count either as
    # proxied (fail closed); only a literal false (or none) is unproxied.
    return raw is not None and literal_bool(raw) is not False


def _header_rulesets(doc: StackDocument) -> list[Resource]:
    # A ruleset with a literal count of 0 (or an empty for_each) makes nothing: it serves no zone.
    return once(doc, "header_rulesets",
                lambda: [r for r in doc.of_type("cloudflare_ruleset") if is_header_ruleset(r) and exists(r)])


def _record_zone(doc: StackDocument, record: Resource) -> str | None:
    """The zone a record is in: the one its zone_id names, else the stack's hub zone when the stack
    names no other zone (a zone_id such as `${var.zone_id}` or a lookup by a computed name may be
    that other zone's: then the zone is unknown, not taken to be the hub zone and its ruleset)."""
    return zone_name(doc, record.attrs.get("zone_id")) or context_zone(doc)


def _zone_owners(all_docs: list[StackDocument], zone: str) -> list[StackDocument]:
    """The stacks that own or create `zone`, in run order; found once per run, not once per record."""

    def build() -> dict[str, list[int]]:
        owners: dict[str, list[int]] = {}  # positions in all_docs: the run's values hold no documents
        for position, other in enumerate(all_docs):  # validates every context, as looking each up would
            for owned in _owned_names(other):
                owners.setdefault(owned, []).append(position)
        return owners

    return [all_docs[position] for position in once_per_run(all_docs, "zone_owners", build).get(zone, [])]


def _owned_names(doc: StackDocument) -> set[str]:
    return set(owned_zones(doc)[0])


def _serves(owner: StackDocument, ruleset: Resource, zone: str) -> bool | None:
    """Whether a ruleset of `owner` serves `zone`: None when its zone cannot be told."""
    named = zone_of(owner, ruleset.attrs.get("zone_id"))
    return None if named is None else named == zone


def _rulesets_for(
    doc: StackDocument, record: Resource, ctx: HubContext | None, all_docs: list[StackDocument]
) -> tuple[list[tuple[StackDocument, Resource]], str]:
    """The header rulesets that serve the record's zone, or none and the reason.

    A record is judged by the rulesets of its own zone (the zone its zone_id names, else the stack's
    hub zone), in this stack or in whichever stack of the run owns or creates that zone.
    """
    zone_id = record.attrs.get("zone_id")
    zone = _record_zone(doc, record)
    # The same zone_id expression is the same zone; else zones compare by name (`.id` and `.zone_id` of
    # a lookup are one zone).
    same = [r for r in _header_rulesets(doc)
            if r.attrs.get("zone_id") == zone_id or (zone is not None and _serves(doc, r, zone))]
    if same:
        return [(doc, r) for r in same], ""
    if zone is None:
        return [], (
            f"no {RULESET_KIND} with the same zone_id ({zone_id}) in this stack, and the zone cannot be told: "
            'the zone_id refers to no zone by name, and the stack names zones other than its "//".hub zone, '
            "or has no hub context"
        )
    in_context = ctx is not None and ctx.zone is not None and normal_zone(ctx.zone) == zone
    if zone in _owned_names(doc) or (in_context and ctx.owns_zone is None):
        return [], f"this stack owns zone {zone} but has no {RULESET_KIND} for zone_id {zone_id}"
    owners = [other for other in _zone_owners(all_docs, zone) if other is not doc]
    if not owners:
        return [], (
            f"zone {zone} is owned by another stack, and no stack of this run owns it; "
            "gate this stack together with the zone's owner"
        )
    # An owner may keep rulesets of other zones too: only its rulesets for this zone count.
    found: list[tuple[StackDocument, Resource]] = []
    unknown: list[tuple[StackDocument, Resource]] = []
    for owner in owners:
        for ruleset in _header_rulesets(owner):
            serves = _serves(owner, ruleset, zone)
            if serves:
                found.append((owner, ruleset))
            elif serves is None:
                unknown.append((owner, ruleset))
    if not found:
        names = ", ".join(o.name for o in owners)
        reason = f"zone {zone} is owned by stack {names}, which has no {RULESET_KIND} for that zone"
        if unknown:
            rulesets = ", ".join(f"{r.address} of stack {o.name}" for o, r in unknown)
            reason += (
                f" (the zone of {rulesets} cannot be told from its zone_id: "
                "refer to the zone's cloudflare_zone resource or data source)"
            )
        return [], reason
    # A ruleset whose zone cannot be told may serve this zone as well: its rules must be good too.
    return found + unknown, ""


def _ruleset_findings(
    doc: StackDocument, record: Resource, host: str, owner: StackDocument, ruleset: Resource
) -> list[Finding]:
    """One finding per header problem of `host` under one ruleset (of this stack or the zone owner's)."""
    where = ruleset.address if owner is doc else f"{ruleset.address} of stack {owner.name}"
    return [
        RULE.failed(
            doc, record, f"{host}: {header} {problem}; ruleset {where}",
            hostname=host, header=header, ruleset=ruleset.address, ruleset_stack=owner.name,
        )
        for header, problem in _header_problems(owner, ruleset, host, where)
    ]


def _header_problems(owner: StackDocument, ruleset: Resource, host: str, where: str) -> list[tuple[str, str]]:
    """(header, problem) pairs of `host` under the ruleset, in report order.

    They depend on the host only through which rules cover its responses (and, for rules that
    cover some of them, the host's name in the message), so hostnames alike share one answer:
    the zone owner's ruleset serves every stack of the zone.
    """
    rules = header_rules(owner, ruleset)
    coverage = tuple(applies_to(rule.get("expression"), host) for rule in rules)
    key = ("header_problems", id(ruleset), where, coverage, host if Applies.SOME in coverage else None)
    return once(owner, key, lambda: _derive_header_problems(owner, ruleset, host, where))


def _derive_header_problems(owner: StackDocument, ruleset: Resource, host: str, where: str) -> list[tuple[str, str]]:
    states = header_states(owner, ruleset, host)
    never_set = {HeaderState((), f"no enabled rule of {where} sets it for this hostname")}
    # A count or for_each known only at apply may make no ruleset at all, and then nothing is set.
    not_made = set() if certainly_exists(ruleset) else {
        HeaderState((), f"{where} may not be created: its count or for_each is known only at apply time")}
    problems = []
    for header, required in generator_headers.required_headers(content_security_policy="").items():
        possible = states.get(header.lower(), never_set) | not_made
        for problem in sorted({p for state in possible for p in _state_problems(header, state, required)}):
            problems.append((header, problem))
    return problems


def evaluate(doc: StackDocument, all_docs: list[StackDocument]) -> list[Finding]:
    ctx = hub_context(doc)
    records: dict[str, Resource] = {}  # one record per hostname (A and AAAA share the headers)
    for record in doc.of_type(*RECORD_TYPES):
        if _proxied(record):
            records.setdefault(_hostname(doc, record), record)
    findings: list[Finding] = []
    for host, record in records.items():
        rulesets, missing_reason = _rulesets_for(doc, record, ctx, all_docs)
        if not rulesets:
            message = f"{host}: no security headers at the edge: {missing_reason}"
            findings.append(RULE.failed(doc, record, message, hostname=host))
        for owner, ruleset in rulesets:
            findings += _ruleset_findings(doc, record, host, owner, ruleset)
    if not findings:
        checked = ", ".join(records) or "none in this stack"
        findings.append(RULE.passed(doc, f"Every proxied hostname carries the required security headers ({checked})."))
    return findings
