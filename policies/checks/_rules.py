"""Shared helpers for the hub's Checkov checks (not a check itself: it defines no `check`).

Checkov hands `scan_resource_conf` the resource body in its HCL-like form: every attribute is
wrapped in a list (`"monitoring": [True]`, `"tags": [["env:production"]]`), every nested block
is a list of dicts (`"inbound_rule": [{...}, {...}]`, `"healthcheck": [{...}]`), and each dict
carries `__startline__`/`__endline__`. The helpers here undo that wrapping, read firewall rules,
port ranges and CIDRs, and recognise Terraform references, so each check stays a few lines.

Checkov loads every file of `--external-checks-dir` as a loose top-level module with this
directory on `sys.path`, so the checks import this module as `_rules` when `policies` is not
importable; inside the project they import it as `policies.checks._rules`.
"""

from __future__ import annotations

import ipaddress
import marshal
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, NamedTuple

from checkov.common.bridgecrew.severities import Severities
from checkov.common.models.enums import CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

try:
    from policies.findings import Severity
except ModuleNotFoundError:  # loaded as a loose file by Checkov: the project root is two levels up
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from policies.findings import Severity

# Light helpers shared with the gate, which must not import Checkov to read a provider block.
from policies.dynamic_blocks import dynamic_templates, for_each_instances  # noqa: E402
from policies.ports import ALL_PORTS, NEARLY_ALL_PORTS, PROTOCOLS, PortRange, parse_port_range  # noqa: E402
from policies.secrets import find_secrets, is_reference, literal_bool, serialized, value  # noqa: E402
from policies.tls_versions import is_minimum_or_newer  # noqa: E402

__all__ = [
    "ALL_PORTS",
    "CheckResult",
    "DYNAMIC_ORIGIN",
    "FirewallRule",
    "HubResourceCheck",
    "NEARLY_ALL_PORTS",
    "PortRange",
    "Severity",
    "blocks",
    "broader_than",
    "checkov_conf",
    "droplet_tag_values",
    "find_secrets",
    "known_serialization",
    "firewall_rules",
    "is_minimum_or_newer",
    "is_reference",
    "is_true",
    "is_world",
    "literal_bool",
    "parse_port_range",
    "string_list",
    "value",
    "with_dynamic_templates",
    "world_open_ports",
    "written_blocks",
    "zone_setting_values",
    "ZONE_SETTING_TYPES",
]



class HubResourceCheck(BaseResourceCheck):
    """A Checkov resource check that also carries the gate's severity and a one-line fix.

    The fix doubles as Checkov's `guideline`, so plain `checkov` output shows it too.
    """

    hub_severity: Severity
    hub_fix: str

    def __init__(self, name: str, id: str, categories: Iterable[Any], supported_resources: Iterable[str]) -> None:
        super().__init__(
            name=name, id=id, categories=categories, supported_resources=supported_resources, guideline=self.hub_fix
        )
        self.severity = Severities[self.hub_severity.value.upper()]

    def fail(self, message: str) -> None:
        """Record why the resource fails; Checkov reports `details` with the result."""
        self.details.append(message)

    # False for a check that reads every string as written, `dynamic` block templates included.
    expands_dynamic_blocks = True

    def scan_entity_conf(self, conf: dict[str, Any], entity_type: str) -> CheckResult:
        """Checkov's own steps before `scan_resource_conf`, with our reading of `dynamic` blocks.

        Checkov's base class expands `dynamic` blocks in place with `handle_dynamic_values`, which
        fails on Terraform JSON: it crashes on the line numbers in the block (so the check gives no
        result at all) or, without them, replaces the written blocks by the dynamic ones. Here each
        dynamic block's `content` template is judged beside the written blocks instead (see
        `with_dynamic_templates`), in a copy, so the conf Checkov passes on stays as it is.

        Checkov hands the same conf to every check of a resource; it is prepared once (serialized
        and, only if its text mentions "dynamic", expanded) and the other checks reuse that.
        """
        global _prepared
        self.entity_type = entity_type
        if conf.get("count") == [0]:
            return CheckResult.UNKNOWN
        if conf is not _prepared[0]:
            text = serialized(conf)
            expanded = with_dynamic_templates(conf) if text is None or b"dynamic" in text else conf
            _prepared = (conf, text, expanded)  # the reference also keeps its id from being reused
        return self.scan_resource_conf(_prepared[2] if self.expands_dynamic_blocks else conf)

    def evaluate(self, conf: dict[str, Any], entity_type: str) -> tuple[CheckResult, list[str]]:
        """Run the check on a Checkov-form conf outside Checkov's runner (gate and tests)."""
        self.details = []
        self.evaluated_keys = []
        result = self.scan_entity_conf(conf, entity_type)
        return result, list(self.details)


# The conf scan_entity_conf prepared last: (conf, its serialized bytes, the conf with its dynamic
# blocks' templates). NoLiteralSecrets and firewall_rules reuse the bytes for the same conf.
_prepared: tuple[dict[str, Any] | None, bytes | None, dict[str, Any] | None] = (None, None, None)


def known_serialization(conf: dict[str, Any]) -> bytes | None:
    """`serialized(conf)` if scan_entity_conf already made it for this very conf, else None."""
    cached, text, _ = _prepared
    return text if conf is cached else None


# --- Dynamic blocks ------------------------------------------------------------------------------

# Where a block made from a dynamic block's template came from, for messages ("dynamic.inbound_rule[0]").
DYNAMIC_ORIGIN = "__dynamic__"


def with_dynamic_templates(conf: dict[str, Any]) -> dict[str, Any]:
    """A copy of the conf with each `dynamic` block's `content` template added to the blocks of its
    name, nested blocks included (why templates: policies/dynamic_blocks.py); `conf` itself when it
    has no dynamic block."""
    expanded: dict[str, Any] | None = None
    for key, raw in conf.items():
        if key != "dynamic" and isinstance(raw, list) and any(isinstance(item, dict) for item in raw):
            items = [with_dynamic_templates(item) if isinstance(item, dict) else item for item in raw]
            if any(new is not old for new, old in zip(items, raw)):
                expanded = expanded if expanded is not None else dict(conf)
                expanded[key] = items
    if "dynamic" not in conf:
        return conf if expanded is None else expanded
    expanded = expanded if expanded is not None else dict(conf)
    del expanded["dynamic"]
    for label, origin, content in dynamic_templates(conf["dynamic"]):
        written = expanded.get(label)
        existing = list(written) if isinstance(written, list) else ([] if written is None else [written])
        block = dict(with_dynamic_templates(content))
        block[DYNAMIC_ORIGIN] = origin
        expanded[label] = existing + [block]
    return expanded


# --- Checkov's wrapping --------------------------------------------------------------------------


def checkov_conf(body: dict[str, Any]) -> dict[str, Any]:
    """Turn a plain Terraform JSON resource body into the form Checkov passes to checks.

    Uses Checkov's own converter so the two can never drift apart. Note that converter drops
    lists of lists and the non-dict items of mixed lists: checks cannot see values hidden there.
    """
    from checkov.terraform_json.parser import hclify  # imported late: only the gate and tests need it

    return hclify(body)


def blocks(conf: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Every nested block called `key`, however Checkov or cdktf nested the lists around them."""
    found: list[dict[str, Any]] = []

    def collect(item: Any) -> None:
        if isinstance(item, dict):
            found.append(item)
        elif isinstance(item, list):
            for element in item:
                collect(element)

    collect(conf.get(key))
    return found


def written_blocks(conf: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The `key` blocks written out, without dynamic blocks' templates: a check that needs a block to
    exist cannot count on a dynamic one, whose `for_each` may make none."""
    return [block for block in blocks(conf, key) if DYNAMIC_ORIGIN not in block]


def string_list(conf: dict[str, Any], key: str) -> list[str]:
    """A list-of-strings attribute as a flat list; a whole-list reference stays one `${...}` item."""
    raw = value(conf, key, [])
    items = raw if isinstance(raw, list) else [raw]
    flat: list[str] = []
    for item in items:
        if isinstance(item, list):
            flat.extend(str(element) for element in item if element not in (None, ""))
        elif item not in (None, ""):
            flat.append(str(item))
    return flat


def is_true(conf: dict[str, Any], key: str) -> bool:
    """True only for a literal true (Checkov turns "true" into True, not "1", which Terraform also reads as true)."""
    return literal_bool(value(conf, key)) is True


def droplet_tag_values(conf: dict[str, Any], prefix: str) -> list[str]:
    """The values of literal `<prefix>:<value>` tags, lower-cased ("env" -> ["production"]).

    A `${...}` tag is not counted: its value cannot be known from the synthesized JSON.
    """
    values: list[str] = []
    for tag in string_list(conf, "tags"):
        name, separator, tag_value = tag.partition(":")
        if separator and name.lower() == prefix and tag_value.strip() and not is_reference(tag):
            values.append(tag_value.strip().lower())
    return values


# --- Addresses -----------------------------------------------------------------------------------

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(addresses: Iterable[str]) -> tuple[list[IPNetwork], list[str]]:
    """Split address strings into parsed networks and the ones that cannot be read (references, typos)."""
    networks: list[IPNetwork] = []
    unreadable: list[str] = []
    for address in addresses:
        network = _network(str(address))
        if network is None:
            unreadable.append(str(address))
        else:
            networks.append(network)
    return networks, unreadable


@lru_cache(maxsize=1024)
def _network(address: str) -> IPNetwork | None:
    # Cached: every firewall repeats the same few addresses, and ipaddress parses slowly.
    try:
        network = ipaddress.ip_network(address.strip(), strict=False)
    except ValueError:
        return None
    # An IPv4-mapped IPv6 range (::ffff:0.0.0.0/96) names IPv4 addresses: judge it as that IPv4
    # range, or ::ffff:0.0.0.0/96 would be a narrow IPv6 range outside global unicast.
    if network.version == 6 and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.ip_network((mapped, network.prefixlen - 96))
    return network


_IPV6_GLOBAL = ipaddress.ip_network("2000::/3")  # every IPv6 address the Internet routes


def _covers_world(networks: Iterable[IPNetwork]) -> bool:
    """Whether the networks together reach the Internet at large: half of IPv4 or more (0.0.0.0/1 +
    128.0.0.0/2 + ... is all public IPv4 but never 0.0.0.0/0), or likewise half of IPv6's global
    unicast or more (2000::/4 holds every block IANA has handed out)."""
    networks = list(networks)
    ipv4 = ipaddress.collapse_addresses(n for n in networks if n.version == 4)
    if sum(n.num_addresses for n in ipv4) >= 2**31:
        return True
    ipv6 = list(ipaddress.collapse_addresses(n for n in networks if n.version == 6))
    if any(_IPV6_GLOBAL.subnet_of(n) for n in ipv6):
        return True
    return 2 * sum(n.num_addresses for n in ipv6 if n.subnet_of(_IPV6_GLOBAL)) >= _IPV6_GLOBAL.num_addresses


def is_world(addresses: Iterable[str]) -> bool:
    """Whether an address list admits the whole Internet; an unreadable entry counts as the world.

    The gate sees only the synthesized JSON, so a `${...}` address could be anything: fail closed.
    """
    return _is_world(tuple(str(address) for address in addresses))


@lru_cache(maxsize=1024)
def _is_world(addresses: tuple[str, ...]) -> bool:
    # Cached: the rules of every firewall ask about the same few address lists, per port range.
    networks, unreadable = _networks(addresses)
    return bool(unreadable) or _covers_world(networks)


def broader_than(addresses: Iterable[str], ipv4_prefix: int, ipv6_prefix: int) -> list[str]:
    """The entries that are wider than /ipv4_prefix (IPv4) or /ipv6_prefix (IPv6), or unreadable."""
    too_broad: list[str] = []
    for address in addresses:
        networks, unreadable = _networks([address])
        if unreadable:
            too_broad.append(str(address))
            continue
        network = networks[0]
        limit = ipv4_prefix if network.version == 4 else ipv6_prefix
        if network.prefixlen < limit:
            too_broad.append(str(address))
    return too_broad


# --- Firewall rules ------------------------------------------------------------------------------

_PEER_KEYS = ("tags", "droplet_ids", "load_balancer_uids", "kubernetes_ids")


class FirewallRule(NamedTuple):
    """One inbound or outbound rule of a digitalocean_firewall, read defensively.

    `protocol` is None when it is missing or a reference (then it may be any protocol); `ports` is
    ALL_PORTS when missing for tcp/udp (the provider's meaning) and when unreadable (fail closed).
    A NamedTuple rather than a frozen dataclass: as immutable, and several times cheaper to make.
    """

    direction: str  # "inbound" or "outbound"
    index: int
    protocol: str | None
    ports: PortRange
    port_text: str
    addresses: tuple[str, ...]
    peers: tuple[str, ...]
    origin: str | None = None  # "dynamic.inbound_rule[0]" for a dynamic block's template

    def matches(self, protocol: str) -> bool:
        return self.protocol is None or self.protocol == protocol

    @property
    def carries_ports(self) -> bool:
        """tcp/udp rules (or rules of unknown protocol) have ports; icmp has none."""
        return self.protocol != "icmp"

    def label(self) -> str:
        protocol = self.protocol or "any protocol"
        where = "from" if self.direction == "inbound" else "to"
        sources = ", ".join(self.addresses) or ", ".join(self.peers) or "nowhere"
        ports = f" {self.port_text}" if self.carries_ports else ""
        field = f"{self.origin}.content" if self.origin else f"{self.direction}_rule[{self.index}]"
        return f"{field}: {protocol}{ports} {where} {sources}"


def firewall_rules(conf: dict[str, Any], direction: str) -> list[FirewallRule]:
    """All `inbound_rule` or `outbound_rule` blocks of a firewall, in order (every rule, not only the first)."""
    raw = conf.get(f"{direction}_rule")
    whole = known_serialization(conf)
    if whole is not None:
        # Inside a check: the conf's own serialized bytes, made once by scan_entity_conf, stand for
        # its content (no check edits a conf), so the rules need not be serialized again per check.
        return list(_firewall_rules_of_conf(direction, whole, raw))
    text = serialized(raw)
    if text is None:
        return _read_firewall_rules(raw, direction)
    return list(_firewall_rules_of(direction, text))


_conf_rules: tuple[bytes | None, dict[str, tuple["FirewallRule", ...]]] = (None, {})


def _firewall_rules_of_conf(direction: str, whole: bytes, raw: Any) -> tuple["FirewallRule", ...]:
    # One entry: the checks of a firewall run together, on the conf scan_entity_conf serialized last.
    global _conf_rules
    text, by_direction = _conf_rules
    if text is not whole:
        by_direction = {}
        _conf_rules = (whole, by_direction)
    rules = by_direction.get(direction)
    if rules is None:
        rules = by_direction[direction] = tuple(_read_firewall_rules(raw, direction))
    return rules


@lru_cache(maxsize=16)
def _firewall_rules_of(direction: str, serialized: bytes) -> tuple[FirewallRule, ...]:
    # Five checks read the same firewall's rules: read once per content (the serialized rules,
    # which marshal turns back into equal values). Small: a firewall's checks run together.
    return tuple(_read_firewall_rules(marshal.loads(serialized), direction))


_RULE_KEYS = {
    direction: (f"{prefix}_addresses", tuple(f"{prefix}_{key}" for key in _PEER_KEYS))
    for direction, prefix in (("inbound", "source"), ("outbound", "destination"))
}


def _read_firewall_rules(raw: Any, direction: str) -> list[FirewallRule]:
    address_key, peer_keys = _RULE_KEYS[direction]
    # Checkov's usual shape, a flat list of rule dicts, needs no search for nested lists.
    flat = type(raw) is list and all(type(block) is dict for block in raw)
    rule_blocks = raw if flat else blocks({"rules": raw}, "rules")
    rules: list[FirewallRule] = []
    for index, block in enumerate(rule_blocks):
        # Checkov's usual ["tcp"] and ["22"] are read directly, anything else through value().
        raw_protocol = block.get("protocol")
        if type(raw_protocol) is list and len(raw_protocol) == 1 and type(raw_protocol[0]) is str:
            protocol = _protocol(raw_protocol[0])
        else:
            raw_protocol = value(block, "protocol")
            protocol = _protocol(raw_protocol) if isinstance(raw_protocol, str) else None
        raw_ports = block.get("port_range")
        if type(raw_ports) is list and len(raw_ports) == 1 and type(raw_ports[0]) is str:
            ports, port_text = _cached_rule_ports(raw_ports[0])
        else:
            ports, port_text = _rule_ports(value(block, "port_range"))
        # An absent key reads as an empty list; most rules name one kind of peer of the five.
        peers: tuple[str, ...] = ()
        for key in peer_keys:
            if key in block:
                peers += _strings(block, key)
        addresses = _strings(block, address_key) if address_key in block else ()
        origin = block.get(DYNAMIC_ORIGIN)
        # tuple.__new__ skips the NamedTuple's Python-level __new__: the same tuple, made in C.
        rules.append(_tuple_new(FirewallRule, (direction, index, protocol, ports, port_text, addresses, peers, origin)))
    return rules


_tuple_new = tuple.__new__


@lru_cache(maxsize=256)
def _protocol(raw: str) -> str | None:
    """The protocol, lower-cased; None (it may be any) when an expression decides it or it is no
    protocol a firewall knows, which Terraform would fail on or read differently."""
    protocol = raw.strip().lower()
    return protocol if protocol in PROTOCOLS else None


def _rule_ports(raw: Any) -> tuple[PortRange, str]:
    """(ports, how to show them) of a rule's port_range; every port when missing or unreadable."""
    try:
        return _cached_rule_ports(raw)
    except TypeError:  # unhashable (a list or a block): unreadable, not worth caching
        return _read_rule_ports(raw)


def _read_rule_ports(raw: Any) -> tuple[PortRange, str]:
    if raw in (None, ""):
        return ALL_PORTS, "all ports (no port_range)"
    parsed = parse_port_range(raw)
    return parsed or ALL_PORTS, str(parsed) if parsed else f"{raw!r} (unreadable, counted as all ports)"


# typed: True and 1 (or 1.0) read differently, so they must not share an entry.
_cached_rule_ports = lru_cache(maxsize=1024, typed=True)(_read_rule_ports)


def _strings(block: dict[str, Any], key: str) -> tuple[str, ...]:
    """string_list as a tuple, with Checkov's usual shape (`[["a", "b"]]`) read directly."""
    raw = block[key]
    # The item types are gathered in C (faster than all() over a generator); then no item may be "".
    if type(raw) is list and len(raw) == 1 and type(raw[0]) is list and set(map(type, raw[0])) <= _ONLY_STR \
            and "" not in raw[0]:
        return tuple(raw[0])
    return tuple(string_list(block, key))


_ONLY_STR = {str}


def world_open_ports(rules: Iterable[FirewallRule], protocol: str) -> list[PortRange]:
    """The ports of `protocol` that the rules together open to all of IPv4 or all of IPv6.

    Rules are combined per port, so 0.0.0.0/1 on one rule plus 128.0.0.0/1 on another rule for
    the same port counts as the world; likewise "1-32767" plus "32768-65535" counts as all ports.
    """
    # icmp has no ports: a port_range on an icmp rule is ignored, so it must not keep two halves of
    # the Internet on different "ports" from adding up.
    icmp = protocol == "icmp"
    relevant = tuple(((ports := ALL_PORTS if icmp else r.ports).low, ports.high, r.addresses)
                     for r in rules if r.matches(protocol) and r.addresses)
    return list(_world_open_ports(relevant))


@lru_cache(maxsize=1024)
def _world_open_ports(relevant: tuple[tuple[int, int, tuple[str, ...]], ...]) -> tuple[PortRange, ...]:
    # Cached on (low, high, addresses) of the rules that count: firewalls of every stack repeat them.
    cuts = sorted({1, 65536} | {low for low, _, _ in relevant} | {high + 1 for _, high, _ in relevant})
    open_ranges: list[PortRange] = []
    for low, next_low in zip(cuts, cuts[1:]):
        addresses = [address for rule_low, rule_high, rule_addresses in relevant if rule_low <= low <= rule_high
                     for address in rule_addresses]
        if addresses and is_world(addresses):
            if open_ranges and open_ranges[-1].high == low - 1:
                open_ranges[-1] = PortRange(open_ranges[-1].low, next_low - 1)
            else:
                open_ranges.append(PortRange(low, next_low - 1))
    return tuple(open_ranges)


# --- Cloudflare ----------------------------------------------------------------------------------

ZONE_SETTING_TYPES = ["cloudflare_zone_setting", "cloudflare_zone_settings_override"]


def zone_setting_values(conf: dict[str, Any], entity_type: str, setting_id: str) -> list[tuple[Any, str]]:
    """Every value this resource may give the zone setting `setting_id`, each with a note on where
    it comes from ("" when the resource plainly sets it); empty when it cannot set it.

    Provider v5 has one `cloudflare_zone_setting` per setting; v4's `cloudflare_zone_settings_override`
    holds them all in a `settings` block. Both are read so output from older code is judged too.
    A `${...}` setting_id (a for_each over settings) may be this setting, so its value counts (fail
    closed). A dynamic `settings` block's template counts too: its for_each may make no block, so
    it never stands for a required setting, but a bad value in it is a bad value.
    """
    if entity_type == "cloudflare_zone_settings_override":
        found = []
        for settings in blocks(conf, "settings"):
            if setting_id in settings:
                origin = settings.get(DYNAMIC_ORIGIN)
                found.append((value(settings, setting_id), f" (in {origin}.content)" if origin else ""))
        return found
    named = value(conf, "setting_id")
    if named == setting_id:
        return [(value(conf, "value"), "")]
    if is_reference(named):
        instances = for_each_instances(conf.get("for_each"), conf.get("setting_id"), conf.get("value"))
        if instances is not None:  # a literal for_each map: its keys are the settings, its values theirs
            return [(setting, f" (for_each key {key!r})") for key, setting in instances if key == setting_id]
        return [(value(conf, "value"), f" (setting_id {named!r} may be {setting_id})")]
    return []
