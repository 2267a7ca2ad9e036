"""Monthly cost estimate of synthesized stacks, priced from the dated price table.

Infracost does not price DigitalOcean, so the gate does it itself from `cdk.tf.json` alone:
one line per resource (Droplets with their backups, volumes, load balancers, reserved IPs, Spaces,
uptime checks, Cloudflare zones, and the free things at $0 so the reader sees what was looked at),
subtotals per role, and a total compared with the environment's budget.

A price the table does not know is a finding (HUB_COST_2), never a silent zero, so an estimate that
is only a lower bound cannot pass unnoticed. The budget verdict is HUB_COST_1.

Money is `Decimal`, each line rounded to cents (half up), totals are sums of rounded lines, and
lines are ordered by role and address, so reports and diffs are stable.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from rich import box
from rich.console import Console
from rich.table import Table

from policies.findings import Finding, Severity, Status, location
from policies.pricing import MAX_BUDGET_USD, PriceTable, current_price_table
from policies.reports.markdown import MAX_CHARS as MARKDOWN_MAX_CHARS
from policies.reports.markdown import code as markdown_code
from policies.reports.markdown import escape as markdown_escape
from policies.reports import visible
from policies.secrets import literal_bool
from policies.stack_document import Resource, StackDocument

BUDGET_CHECK = "HUB_COST_1"
BUDGET_TITLE = "Monthly cost within budget"
UNKNOWN_CHECK = "HUB_COST_2"
UNKNOWN_TITLE = "Price unknown"

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

_ROLE_TAG = re.compile(r"^role:(.+)$")
_TYPE_ROLES = {
    "digitalocean_droplet": "compute",
    "digitalocean_loadbalancer": "loadbalancer",
    "digitalocean_volume": "storage",
    "digitalocean_volume_attachment": "storage",
    "digitalocean_spaces_bucket": "storage",
    "digitalocean_spaces_bucket_policy": "storage",
    "digitalocean_spaces_bucket_cors_configuration": "storage",
    "digitalocean_spaces_bucket_object": "storage",
    "digitalocean_reserved_ip": "network",
    "digitalocean_floating_ip": "network",
    "digitalocean_reserved_ip_assignment": "network",
    "digitalocean_floating_ip_assignment": "network",
    "digitalocean_vpc": "network",
    "digitalocean_firewall": "network",
    "digitalocean_domain": "network",
    "digitalocean_record": "network",
    "digitalocean_certificate": "network",
    "digitalocean_monitor_alert": "monitoring",
    "digitalocean_uptime_check": "monitoring",
    "digitalocean_uptime_alert": "monitoring",
}
_RESERVED_IP_TYPES = ("digitalocean_reserved_ip", "digitalocean_floating_ip")
_IP_ASSIGNMENT_TYPES = ("digitalocean_reserved_ip_assignment", "digitalocean_floating_ip_assignment")


# Resource types this module prices itself (everything else must be listed as free in the table).
PRICED_TYPES = frozenset({
    "digitalocean_droplet", "digitalocean_volume", "digitalocean_loadbalancer", "digitalocean_reserved_ip",
    "digitalocean_floating_ip", "digitalocean_spaces_bucket", "digitalocean_uptime_check",
    "cloudflare_zone", "cloudflare_zone_subscription",
})


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _ref_name(value: Any, rtype: str) -> str | None:
    """Name of the `rtype` resource a `${rtype.name.attr}` reference points at, if it is one."""
    if isinstance(value, str):
        m = re.search(r"\$\{" + re.escape(rtype) + r"\.([A-Za-z0-9_-]+)\.", value)
        if m:
            return m.group(1)
    return None


# Counts, GiB and nodes above this are not a real stack's; refusing them keeps the money exact
# (Decimal's 28 digits) and int() of a huge digit string from failing.
MAX_QUANTITY = 1_000_000


def _literal_int(value: Any) -> int | None:
    """A literal whole number from 0 to MAX_QUANTITY (a number or ASCII digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_QUANTITY else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= len(str(MAX_QUANTITY)):
        return _literal_int(int(value))
    return None


# How CDKTF writes a literal list iterator: `TerraformIterator.from_list(["a", "b"])` -> "${toset([\"a\", \"b\"])}".
_TOSET_LITERAL = re.compile(r"^\$\{toset\((\[.*\])\)\}$", re.DOTALL)


def _for_each_instances(value: Any) -> int | None:
    """How many instances a literal for_each makes, else None: an object makes one per key (CDKTF writes
    `from_map` so), a toset() of string literals one per distinct string. A key or string holding a template
    (`${`, `%{`) is only known at plan time, and so is everything else."""
    if isinstance(value, dict):
        keys = list(value)
    elif isinstance(value, str) and (m := _TOSET_LITERAL.match(value)):
        try:
            keys = json.loads(m.group(1))
        except ValueError:  # not a plain list of literals (a call, a reference)
            return None
        if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
            return None
        keys = list(set(keys))  # toset: a repeated string is one instance
    else:
        return None
    if any("${" in k or "%{" in k for k in keys) or len(keys) > MAX_QUANTITY:
        return None
    return len(keys)


def _block(value: Any) -> dict[str, Any]:
    """A nested block: Terraform JSON allows an object or a list of one object."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return value if isinstance(value, dict) else {}


class CostLine(NamedTuple):
    """One priced resource. A NamedTuple: immutable, and far cheaper to make than a frozen dataclass."""

    address: str
    construct_path: str
    resource_type: str
    role: str
    description: str
    quantity: int
    unit_monthly: Decimal
    monthly: Decimal
    note: str = ""
    priced: bool = True  # False when the amount is not trustworthy; a HUB_COST_2 finding says why


@dataclass
class StackCost:
    stack: str
    environment: str
    file: str
    lines: list[CostLine]
    budget_usd: Decimal | None
    findings: list[Finding] = field(default_factory=list)
    price_source: str = ""
    price_retrieved: str = ""
    # (file, retrieved date or "") per price-table file, the checked-in table first, then any override
    price_tables: tuple[tuple[str, str], ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((line.monthly for line in self.lines), ZERO)

    @property
    def by_role(self) -> dict[str, Decimal]:
        roles: dict[str, Decimal] = {}
        for line in self.lines:
            roles[line.role] = roles.get(line.role, ZERO) + line.monthly
        return dict(sorted(roles.items()))

    @property
    def complete(self) -> bool:
        return all(line.priced for line in self.lines)

    @property
    def percent_of_budget(self) -> Decimal | None:
        if self.budget_usd is None or self.budget_usd == 0:
            return None
        return (self.total / self.budget_usd * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def over_budget(self) -> bool:
        return self.budget_usd is not None and self.total > self.budget_usd


_tuple_new = tuple.__new__


class _StackEstimator:
    """Walks one stack's resources and prices each against the table."""

    def __init__(self, doc: StackDocument, prices: PriceTable):
        self.doc = doc
        self.prices = prices
        self.lines: list[CostLine] = []
        self.findings: list[Finding] = []
        self.droplet_roles = {r.name: self._tag_role(r) for r in doc.of_type("digitalocean_droplet")}
        self.volume_roles = self._volume_roles()
        self.assigned_ips = self._assigned_ips()
        self.zone_subscriptions = self._zone_subscriptions()

    # -- context gathered across resources ------------------------------------------------------

    @staticmethod
    def _tag_role(res: Resource) -> str | None:
        tags = res.attrs.get("tags")
        for tag in tags if isinstance(tags, list) else []:
            m = _ROLE_TAG.match(tag) if isinstance(tag, str) else None
            if m:
                return m.group(1)
        return None

    def _volume_roles(self) -> dict[str, str]:
        """A volume belongs to the role of the Droplet it is attached to."""
        roles: dict[str, str] = {}
        for att in self.doc.of_type("digitalocean_volume_attachment"):
            volume = _ref_name(att.attrs.get("volume_id"), "digitalocean_volume")
            droplet = _ref_name(att.attrs.get("droplet_id"), "digitalocean_droplet")
            if volume and self.droplet_roles.get(droplet or ""):
                roles[volume] = self.droplet_roles[droplet]
        for droplet in self.doc.of_type("digitalocean_droplet"):
            ids = droplet.attrs.get("volume_ids")
            for ref in ids if isinstance(ids, list) else []:
                volume = _ref_name(ref, "digitalocean_volume")
                if volume and self.droplet_roles.get(droplet.name):
                    roles.setdefault(volume, self.droplet_roles[droplet.name])
        return roles

    def _assigned_ips(self) -> set[str]:
        assigned = set()
        for res in self.doc.of_type(*_IP_ASSIGNMENT_TYPES):
            for rtype in _RESERVED_IP_TYPES:
                name = _ref_name(res.attrs.get("ip_address"), rtype)
                if name:
                    assigned.add(f"{rtype}.{name}")
        return assigned

    def _zone_subscriptions(self) -> dict[str, str]:
        """Managed zone address -> address of the subscription resource that bills its plan."""
        billed: dict[str, str] = {}
        for sub in self.doc.of_type("cloudflare_zone_subscription"):
            zone = _ref_name(sub.attrs.get("zone_id"), "cloudflare_zone")
            if zone:
                billed[f"cloudflare_zone.{zone}"] = sub.address
        return billed

    # -- helpers --------------------------------------------------------------------------------

    def _role(self, res: Resource) -> str:
        if res.type == "digitalocean_droplet":
            return self.droplet_roles.get(res.name) or "compute"
        if res.type == "digitalocean_volume":
            return self._tag_role(res) or self.volume_roles.get(res.name) or "storage"
        if res.type in _TYPE_ROLES:
            return _TYPE_ROLES[res.type]
        return "edge" if res.type.startswith("cloudflare_") else "platform"

    def _makes_none(self, res: Resource) -> bool:
        """A literal count of 0 (or an empty for_each): no instance, so exactly $0 whatever its price would be."""
        return self._quantity(res, report=False) == (0, True)

    def _unknown(self, res: Resource, message: str, fix: str) -> None:
        if self._makes_none(res):
            return  # nothing is created, so nothing is left out of the total
        self.findings.append(
            Finding(
                check_id=UNKNOWN_CHECK,
                title=UNKNOWN_TITLE,
                severity=Severity.HIGH,
                **location(self.doc, res),
                message=message,
                fix=fix,
            )
        )

    def _quantity(self, res: Resource, report: bool = True) -> tuple[int, bool]:
        """How many instances `count` or `for_each` makes; (1, False) when that is not literal (a finding if
        `report`)."""
        if "for_each" in res.attrs:
            instances = _for_each_instances(res.attrs["for_each"])
            if instances is not None:
                return instances, True
            if report:
                self._unknown(res, "for_each makes an unknown number of instances; the estimate prices one",
                              "Use a literal count, or price the instances by hand and suppress this finding.")
            return 1, False
        if "count" not in res.attrs:
            return 1, True
        count = _literal_int(res.attrs["count"])
        if count is None:
            if report:
                self._unknown(res, f"count is {res.attrs['count']!r}, not a literal number up to {MAX_QUANTITY:,}; "
                                   "the estimate prices one instance",
                              "Synthesize a literal count (the generator knows it), so the estimate can multiply.")
            return 1, False
        return count, True

    def _add(self, res: Resource, description: str, unit: Decimal, note: str = "", priced: bool = True, *,
             monthly: Decimal | None = None, count_matters: bool = True) -> None:
        """One line; `monthly` for pooled prices that are not unit times quantity, `count_matters` False for
        free types, whose amount no number of instances changes."""
        quantity, known = self._quantity(res, report=count_matters)
        if known and quantity == 0 and not priced:
            # count 0 (or an empty for_each) makes nothing: $0 is exact even where the unit price is unknown
            priced, note = True, note or "makes no instance"
        unit = _money(unit)
        if monthly is None:
            # unit is already in cents, and times 1 it stays exactly that Decimal: skip rounding again
            monthly = unit if quantity == 1 else _money(unit * quantity)
        # tuple.__new__ takes CostLine's fields in order and skips its keyword-parsing Python __new__,
        # made once per resource: address, construct_path, resource_type, role, description,
        # quantity, unit_monthly, monthly, note, priced.
        self.lines.append(_tuple_new(CostLine, (
            res.address, res.construct_path, res.type, self._role(res), description,
            quantity, unit, monthly, note, priced and (known or not count_matters),
        )))

    def _table_files(self) -> str:
        return ", ".join(self.prices.files) or "the price table"

    # -- resource types -------------------------------------------------------------------------

    def droplet(self, res: Resource) -> None:
        size_slug = res.attrs.get("size")
        size = self.prices.size(size_slug) if isinstance(size_slug, str) else None
        if size is None:
            self._unknown(res, f"Droplet size {size_slug!r} is not in the price table ({self._table_files()})",
                          "Use a size slug listed in policies/price_table.toml, or add the size and its price "
                          "in an override table (HUB_PRICE_TABLE).")
            self._add(res, f"{size_slug} (price unknown)", ZERO, priced=False)
            return
        backups = res.attrs.get("backups")
        if backups is None or literal_bool(backups) is False:
            self._add(res, size.slug, size.price_monthly)
            return
        if literal_bool(backups) is not True:
            self._unknown(res, f"backups is {backups!r}, not true or false; backups are not priced",
                          "Synthesize a literal value for backups.")
            self._add(res, f"{size.slug} + backups (price unknown)", size.price_monthly, priced=False)
            return
        plan = _block(res.attrs.get("backup_policy")).get("plan", "weekly")  # provider default: weekly
        percents = {"weekly": self.prices.backups.weekly_percent, "daily": self.prices.backups.daily_percent}
        percent = percents.get(plan) if isinstance(plan, str) else None
        if percent is None:
            self._unknown(res, f"backup plan {plan!r} has no price in the table (only the weekly and daily plans)",
                          "Use backup_policy.plan weekly or daily, or extend the price table and estimator.")
            self._add(res, f"{size.slug} + {plan} backups (price unknown)", size.price_monthly, priced=False)
            return
        backup_cost = _money(size.price_monthly * percent / 100)
        self._add(res, f"{size.slug} + {plan} backups", size.price_monthly + backup_cost,
                  note=f"backups {percent}% = ${backup_cost}")

    def volume(self, res: Resource) -> None:
        raw = res.attrs.get("size")
        size = _literal_int(raw)
        if size is None or size <= 0:
            problem = "has no size set" if raw is None else f"size {raw!r} is not a literal number of GiB up to {MAX_QUANTITY:,}"
            self._unknown(res, f"volume {problem}", "Synthesize the volume size as a number.")
            self._add(res, "volume (price unknown)", ZERO, priced=False)
            return
        self._add(res, f"{size} GiB volume", self.prices.volumes.per_gib_month * size)

    def load_balancer(self, res: Resource) -> None:
        lb = self.prices.load_balancer
        lb_type = res.attrs.get("type")
        if isinstance(lb_type, str) and lb_type.upper() == "GLOBAL":
            self._unknown(res, "global load balancers are not in the price table (regional only)",
                          "Price the global load balancer in an override table and extend the estimator.")
            self._add(res, "global load balancer (price unknown)", ZERO, priced=False)
            return
        note = ""
        if "size_unit" in res.attrs:
            units = _literal_int(res.attrs["size_unit"])
            if units is None or units < 1:
                self._unknown(res, f"size_unit {res.attrs['size_unit']!r} is not a literal number of nodes up to {MAX_QUANTITY:,}",
                              "Synthesize size_unit as a number.")
                self._add(res, "load balancer (price unknown)", ZERO, priced=False)
                return
        elif "size" in res.attrs:
            units = lb.legacy_size_units.get(res.attrs["size"]) if isinstance(res.attrs["size"], str) else None
            if units is None:
                self._unknown(res, f"load balancer size {res.attrs['size']!r} is not in the price table "
                                   f"({', '.join(sorted(lb.legacy_size_units))})",
                              "Use size_unit (number of nodes) or a known legacy size.")
                self._add(res, f"load balancer {res.attrs['size']} (price unknown)", ZERO, priced=False)
                return
            note = f"{res.attrs['size']} = {units} size unit(s)"
        else:
            units = lb.default_size_units
            note = "size_unit not set; provider default"
        plural = "s" if units != 1 else ""
        self._add(res, f"regional load balancer, {units} node{plural}", lb.per_size_unit_month * units, note=note)

    def reserved_ip(self, res: Resource) -> None:
        ip = self.prices.reserved_ip
        if res.attrs.get("droplet_id") or res.address in self.assigned_ips:
            self._add(res, "reserved IPv4 (assigned)", ip.assigned_month, note="free while assigned to a Droplet")
        else:
            self._add(res, "reserved IPv4 (unassigned)", ip.unassigned_month, note="charged while not assigned")

    def spaces(self, buckets: list[Resource]) -> None:
        """One subscription covers every bucket instance: it is charged once, on the first bucket (by address)
        sure to make one; on a bucket of unknown count only when none is sure (that line is then unpriced)."""
        spaces = self.prices.spaces
        ordered = sorted(buckets, key=lambda r: r.address)
        counts = {res.address: self._quantity(res, report=False) for res in ordered}
        payer = next((r for r in ordered if counts[r.address][1] and counts[r.address][0] > 0),
                     next((r for r in ordered if not counts[r.address][1]), None))
        # With a payer sure to exist, the other buckets add $0 however many instances they make: an unknown
        # count there is no unknown price (and no HUB_COST_2 finding).
        payer_sure = payer is not None and counts[payer.address][1]
        for res in ordered:
            quantity = counts[res.address][0]
            if res is payer:
                buckets_text = "Spaces subscription" if quantity == 1 else "Spaces buckets, one subscription"
                self._add(res, f"{buckets_text} (incl. {spaces.included_storage_gib} GiB)", spaces.subscription_month,
                          note="one subscription covers all buckets", monthly=_money(spaces.subscription_month))
            elif quantity == 0:
                self._add(res, "Spaces bucket", ZERO, note="count 0 makes no bucket")
            else:
                self._add(res, "Spaces bucket", ZERO, note=f"covered by the Spaces subscription on {payer.address}",
                          count_matters=not payer_sure)

    def uptime_checks(self, checks: list[Resource]) -> None:
        """The free allowance counts check instances. Known counts take it first (by address), so their
        amount is right whatever the unknown counts turn out to be."""
        mon = self.prices.monitoring
        ordered = sorted(checks, key=lambda r: r.address)
        counts = {res.address: self._quantity(res, report=False) for res in ordered}
        free_left, free = mon.uptime_checks_free, {}
        for res in sorted(ordered, key=lambda r: not counts[r.address][1]):  # stable: by address within each
            free[res.address] = min(free_left, counts[res.address][0])
            free_left -= free[res.address]
        for res in ordered:
            quantity, charged = counts[res.address][0], counts[res.address][0] - free[res.address]
            if charged == 0:
                self._add(res, "uptime check", ZERO, note="within the free allowance" if quantity else "")
            elif free[res.address]:
                self._add(res, "uptime check", mon.uptime_check_month, note=f"{free[res.address]} within the free allowance",
                          monthly=_money(mon.uptime_check_month * charged))
            else:
                self._add(res, "uptime check", mon.uptime_check_month)

    def cloudflare_zone(self, res: Resource) -> None:
        cf = self.prices.cloudflare
        if res.address in self.zone_subscriptions:
            self._add(res, "Cloudflare zone", ZERO, note=f"plan billed through {self.zone_subscriptions[res.address]}")
            return
        plan = res.attrs.get("plan", cf.plan)  # provider v4 had `plan`; v5 moved it to zone subscriptions
        if not isinstance(plan, str) or plan not in cf.plans:
            self._unknown(res, f"Cloudflare plan {plan!r} is not in the price table ({', '.join(sorted(cf.plans))})",
                          "Add the plan's monthly price under [cloudflare.plans] in an override table.")
            self._add(res, f"Cloudflare zone, {plan} plan (price unknown)", ZERO, priced=False)
            return
        self._add(res, f"Cloudflare zone, {plan} plan", cf.plans[plan])

    def cloudflare_zone_subscription(self, res: Resource) -> None:
        cf = self.prices.cloudflare
        plan = _block(res.attrs.get("rate_plan")).get("id")
        if not isinstance(plan, str) or plan not in cf.plans:
            self._unknown(res, f"Cloudflare rate plan {plan!r} is not in the price table "
                               f"({', '.join(sorted(cf.plans))})",
                          "Add the plan's monthly price under [cloudflare.plans] in an override table.")
            self._add(res, f"Cloudflare {plan} plan (price unknown)", ZERO, priced=False)
            return
        self._add(res, f"Cloudflare {plan} plan subscription", cf.plans[plan])

    def looked_up_zone(self, res: Resource) -> None:
        self.lines.append(
            CostLine(address=res.address, construct_path=res.construct_path, resource_type=res.type, role="edge",
                     description="Cloudflare zone (looked up)", quantity=1, unit_monthly=ZERO, monthly=ZERO,
                     note="managed elsewhere; its plan is billed there")
        )

    def other(self, res: Resource) -> None:
        note = self.prices.free_resources.get(res.type)
        if note is not None:
            self._add(res, "free", ZERO, note=note, count_matters=False)  # $0 times any count is $0
            return
        self._unknown(res, f"resource type {res.type} has no price in the price table ({self._table_files()})",
                      "If it costs nothing, list it under [free_resources]; otherwise price it in the table "
                      "and teach policies/cost.py to read it.")
        self._add(res, f"{res.type} (price unknown)", ZERO, priced=False)

    def run(self) -> None:
        handlers = {
            "digitalocean_droplet": self.droplet,
            "digitalocean_volume": self.volume,
            "digitalocean_loadbalancer": self.load_balancer,
            "digitalocean_reserved_ip": self.reserved_ip,
            "digitalocean_floating_ip": self.reserved_ip,
            "cloudflare_zone": self.cloudflare_zone,
            "cloudflare_zone_subscription": self.cloudflare_zone_subscription,
        }
        buckets, checks = [], []
        for res in self.doc.resources:
            if res.type == "digitalocean_spaces_bucket":
                buckets.append(res)
            elif res.type == "digitalocean_uptime_check":
                checks.append(res)
            else:
                handlers.get(res.type, self.other)(res)
        self.spaces(buckets)
        self.uptime_checks(checks)
        for res in self.doc.data_sources:
            if res.type == "cloudflare_zone":
                self.looked_up_zone(res)


def _hub_context(doc: StackDocument) -> dict[str, Any]:
    meta = doc.raw.get("//")
    hub = meta.get("hub") if isinstance(meta, dict) else None
    return hub if isinstance(hub, dict) else {}


_OVER_BUDGET_FIX = "Reduce Droplet sizes or counts in environments.toml, or raise this environment's budget."


def _budget_finding(doc: StackDocument, cost: StackCost, raw_budget: Any, has_budget: bool) -> Finding:
    def finding(message: str, status: Status, severity: Severity = Severity.HIGH, fix: str = _OVER_BUDGET_FIX) -> Finding:
        return Finding(check_id=BUDGET_CHECK, title=BUDGET_TITLE, severity=severity, stack=doc.name, address="",
                       construct_path="", file=doc.display_path, line=1, message=message, fix=fix, status=status)

    total_usd = cost.total  # a sum over every line: once here, not once per use below
    total = f"${total_usd:,.2f}"
    lower_bound = "" if cost.complete else (
        f" {sum(1 for line in cost.lines if not line.priced)} resource(s) could not be priced, "
        "so the total is a lower bound.")
    if not has_budget:
        return finding(f"No monthly budget declared for this stack (\"//\".hub.budget_usd); estimated total {total}."
                       + lower_bound, Status.PASSED, Severity.INFO,
                       fix="Declare the environment's monthly budget in environments.toml.")
    if cost.budget_usd is None:
        return finding(f"\"//\".hub.budget_usd is {raw_budget!r}, not a number of USD from 0 to {MAX_BUDGET_USD:,}.", Status.FAILED,
                       fix="Set budget_usd to a number in environments.toml.")
    budget = f"${cost.budget_usd:,.2f}"
    percent_of_budget = cost.percent_of_budget
    percent = f" ({percent_of_budget} % of budget)" if percent_of_budget is not None else ""
    if total_usd > cost.budget_usd:  # cost.over_budget, with the budget known here
        return finding(f"Estimated monthly cost {total} exceeds the budget of {budget} by "
                       f"${total_usd - cost.budget_usd:,.2f}{percent}." + lower_bound, Status.FAILED)
    return finding(f"Estimated monthly cost {total} is within the budget of {budget}{percent}." + lower_bound,
                   Status.PASSED)


def estimate_stack(doc: StackDocument, prices: PriceTable | None = None) -> StackCost:
    """Price every resource of one stack and judge the total against its budget (if declared)."""
    prices = current_price_table() if prices is None else prices
    estimator = _StackEstimator(doc, prices)
    estimator.run()
    hub = _hub_context(doc)
    raw_budget = hub.get("budget_usd")
    valid = (isinstance(raw_budget, (int, float)) and not isinstance(raw_budget, bool)
             and math.isfinite(raw_budget) and 0 <= raw_budget <= MAX_BUDGET_USD)
    environment = hub.get("environment")
    cost = StackCost(
        stack=doc.name,
        environment=environment if isinstance(environment, str) and environment else doc.name,
        file=doc.display_path,
        lines=sorted(estimator.lines, key=lambda line: (line.role, line.address)),
        budget_usd=_money(Decimal(str(raw_budget))) if valid else None,
        price_source=prices.meta.source,
        price_retrieved=prices.meta.retrieved.isoformat(),
        price_tables=tuple((file, retrieved.isoformat() if retrieved else "") for file, retrieved in prices.sources),
    )
    findings = [*estimator.findings, _budget_finding(doc, cost, raw_budget, "budget_usd" in hub)]
    cost.findings = sorted(findings, key=Finding.sort_key)
    return cost


def estimate_many(docs: Sequence[StackDocument], prices: PriceTable | None = None) -> list[StackCost]:
    """Estimate several stacks with one price table, ordered by environment then stack."""
    prices = current_price_table() if prices is None else prices
    return sorted((estimate_stack(doc, prices) for doc in docs), key=lambda c: (c.environment, c.stack))


# -- diff -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineChange:
    address: str
    role: str
    change: str  # "added", "removed" or "changed"
    before: Decimal | None  # None: that side could not be priced
    after: Decimal | None
    before_description: str
    after_description: str

    @property
    def delta(self) -> Decimal | None:
        # An unknown side makes the difference unknown: read as $0 it would show a saving nobody made.
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class EnvironmentDiff:
    environment: str
    stack: str
    change: str  # "added", "removed", "changed" or "unchanged"
    before_total: Decimal | None
    after_total: Decimal | None
    budget_usd: Decimal | None  # the head's budget (the base's when the environment was removed)
    before_complete: bool  # False when the base has resources that could not be priced: its total is a lower bound
    after_complete: bool  # the same for the head
    changes: tuple[LineChange, ...]

    @property
    def complete(self) -> bool:
        return self.before_complete and self.after_complete

    @property
    def delta(self) -> Decimal | None:
        """None when a changed resource has no price on one side; lines priced alike on both sides cancel out."""
        if any(ch.delta is None for ch in self.changes):
            return None
        return (self.after_total or ZERO) - (self.before_total or ZERO)

    @property
    def label(self) -> str:
        return self.environment if self.environment == self.stack else f"{self.environment} ({self.stack})"


@dataclass(frozen=True)
class CostDiff:
    environments: tuple[EnvironmentDiff, ...]
    price_retrieved: str = ""  # date of the head's price table
    price_tables: tuple[tuple[str, str], ...] = ()  # the head's price-table files, as in StackCost

    @property
    def before_total(self) -> Decimal:
        return sum((e.before_total or ZERO for e in self.environments), ZERO)

    @property
    def after_total(self) -> Decimal:
        return sum((e.after_total or ZERO for e in self.environments), ZERO)

    @property
    def before_complete(self) -> bool:
        return all(e.before_complete for e in self.environments)

    @property
    def after_complete(self) -> bool:
        return all(e.after_complete for e in self.environments)

    @property
    def complete(self) -> bool:
        return self.before_complete and self.after_complete

    @property
    def delta(self) -> Decimal | None:
        if any(e.delta is None for e in self.environments):
            return None
        return self.after_total - self.before_total


def _quantified(line: CostLine | None) -> str:
    if line is None:
        return ""
    return f"{line.quantity} × {line.description}" if line.quantity != 1 else line.description


def _line_changes(base: StackCost | None, head: StackCost | None) -> tuple[LineChange, ...]:
    before = {line.address: line for line in base.lines} if base else {}
    after = {line.address: line for line in head.lines} if head else {}
    changes = []
    for address in sorted(set(before) | set(after)):
        b, a = before.get(address), after.get(address)
        if b and a and (b.monthly, b.description, b.quantity, b.priced) == (a.monthly, a.description, a.quantity, a.priced):
            continue
        changes.append(
            LineChange(
                address=address,
                role=(a or b).role,
                change="added" if b is None else "removed" if a is None else "changed",
                before=None if b and not b.priced else b.monthly if b else ZERO,
                after=None if a and not a.priced else a.monthly if a else ZERO,
                before_description=_quantified(b),
                after_description=_quantified(a),
            )
        )
    return tuple(changes)


def diff(base: Sequence[StackCost], head: Sequence[StackCost]) -> CostDiff:
    """Compare two estimates per environment and per resource (matched by Terraform address)."""
    before = {(c.environment, c.stack): c for c in base}
    after = {(c.environment, c.stack): c for c in head}
    environments = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        changes = _line_changes(b, a)
        environments.append(
            EnvironmentDiff(
                environment=key[0],
                stack=key[1],
                change="added" if b is None else "removed" if a is None else "changed" if changes else "unchanged",
                before_total=b.total if b else None,
                after_total=a.total if a else None,
                budget_usd=(a or b).budget_usd,
                before_complete=b is None or b.complete,
                after_complete=a is None or a.complete,
                changes=changes,
            )
        )
    dated = next((c.price_retrieved for c in (*head, *base) if c.price_retrieved), "")
    tables = next((c.price_tables for c in (*head, *base) if c.price_tables), ())
    return CostDiff(environments=tuple(environments), price_retrieved=dated, price_tables=tables)


# -- renderers ------------------------------------------------------------------------------------

Report = Sequence[StackCost] | CostDiff


def _usd(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def _signed(value: Decimal | None) -> str:
    if value is None:
        return "unknown"
    return f"+${value:,.2f}" if value > 0 else _usd(value)


def _amount_or_unknown(value: Decimal | None) -> str:
    """A resource's amount in a diff; None is a side without a price (not a missing side: that is $0)."""
    return "unknown" if value is None else _usd(value)


def _bound(text: str, complete: bool) -> str:
    """A total (or its share of the budget) that leaves out unknown prices is a lower bound: say so."""
    return text if complete or text == "—" else f"≥ {text}"


def _percent(part: Decimal | None, whole: Decimal | None) -> str:
    if part is None or whole is None or whole == 0:
        return "—"
    return f"{(part / whole * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)} %"


def _relative(delta: Decimal | None, before: Decimal | None) -> str:
    if delta is None or before is None or before == 0 or delta == 0:
        return ""
    pct = (delta / before * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f" ({'+' if pct > 0 else ''}{pct} %)"


def _status(cost: StackCost) -> str:
    if cost.budget_usd is None:
        status = "no budget declared"
    else:
        status = "OVER BUDGET" if cost.over_budget else "within budget"
    return status if cost.complete else f"{status}; price unknown for some resources"


def _price_note(report: Report) -> str:
    if isinstance(report, CostDiff):
        retrieved, tables = report.price_retrieved, report.price_tables
    else:
        retrieved = next((c.price_retrieved for c in report if c.price_retrieved), "")
        tables = next((c.price_tables for c in report if c.price_tables), ())
    if len(tables) > 1:
        # Prices from an override are not the checked-in table's: credit each file, with the date it gives.
        credited = ", with overrides from ".join(f"{file} as of {day}" if day else file for file, day in tables)
        return f"Monthly list prices in USD, before tax, credits and transfer overage ({credited})."
    dated = f" as of {retrieved}" if retrieved else ""
    return f"Monthly list prices in USD{dated}, before tax, credits and transfer overage (policies/price_table.toml)."


# Under a diff whose totals leave out unknown prices.
_DIFF_UNKNOWN_NOTE = ("Price unknown for some resources: totals marked ≥ are lower bounds, and a change to or from "
                      "an unknown price has an unknown delta.")


def _env_cells(env: EnvironmentDiff) -> tuple[str, str, str, str, str]:
    """Before, after, delta (and its percentage), budget and % of budget of one environment in a diff."""
    # A percentage of a lower bound overstates the change: only a complete base gets one.
    relative = _relative(env.delta, env.before_total if env.before_complete else None)
    return (_bound(_usd(env.before_total), env.before_complete), _bound(_usd(env.after_total), env.after_complete),
            _signed(env.delta) + relative, _usd(env.budget_usd),
            _bound(_percent(env.after_total, env.budget_usd), env.after_complete))


def _total_cells(report: CostDiff) -> tuple[str, str, str]:
    """Before, after, and the percentage of the delta over all environments of a diff."""
    return (_bound(_usd(report.before_total), report.before_complete),
            _bound(_usd(report.after_total), report.after_complete),
            _relative(report.delta, report.before_total if report.before_complete else None))


def _env_label(env: EnvironmentDiff) -> str:
    flags = {"added": ["new"], "removed": ["removed"]}.get(env.change, [])
    if not env.complete:
        flags.append("price unknown for some resources")
    return env.label + (f" ({'; '.join(flags)})" if flags else "")


def _grand_total(report: Sequence[StackCost]) -> tuple[Decimal, Decimal | None, bool]:
    """All stacks together: the total, the sum of their budgets (None unless each declares one), and
    whether every price was known (else the total is a lower bound)."""
    budgets = [cost.budget_usd for cost in report]
    budget = None if any(b is None for b in budgets) else sum(budgets, ZERO)
    return sum((cost.total for cost in report), ZERO), budget, all(cost.complete for cost in report)


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    # markup=False: names and slugs come from the stack file, and "[/x]" in one is text, not a rich tag
    # (read as markup it raised a traceback or vanished); _cells() escapes their control characters.
    return Console(file=out, width=120, no_color=True, highlight=False, emoji=False, force_terminal=False,
                   markup=False), out


def _cells(*texts: str) -> list[str]:
    """Table cells and lines for the terminal: a control character from the input (ESC could move the
    cursor or erase a line in a CI log) is shown as its escape, as in the gate's text report."""
    return [visible(text) for text in texts]


def render_text(report: Report, *, detail: bool = True) -> str:
    """Plain-text tables for a terminal: per environment vs budget, then (with `detail`) each
    stack's lines and roles. Free resources are left out of the line tables; the total counts them."""
    console, out = _console()
    if isinstance(report, CostDiff):
        summary = Table("Environment", "Before", "After", "Delta", "Budget", "% of budget", box=box.SIMPLE,
                        title="Estimated monthly cost change")
        for env in report.environments:
            summary.add_row(*_cells(_env_label(env), *_env_cells(env)))
        summary.add_row("Total", *_total_cells(report)[:2], _signed(report.delta), "", "")
        console.print(summary)
        for env in report.environments:
            if not env.changes:
                continue
            table = Table("Resource", "Change", "Before", "After", "Delta", box=box.SIMPLE,
                          title=visible(env.label), title_justify="left")
            table.columns[0].no_wrap = True
            for ch in env.changes:
                table.add_row(*_cells(ch.address, _change_text(ch), _amount_or_unknown(ch.before),
                                      _amount_or_unknown(ch.after), _signed(ch.delta)))
            console.print(table)
        if not report.complete:
            console.print(_DIFF_UNKNOWN_NOTE)
        console.print(visible(_price_note(report)))
        return out.getvalue()

    summary = Table("Environment", "Stack", "Total", "Budget", "% of budget", "Status", box=box.SIMPLE,
                    title="Estimated monthly cost")
    for cost in report:
        summary.add_row(*_cells(cost.environment, cost.stack, _usd(cost.total), _usd(cost.budget_usd),
                                _percent(cost.total, cost.budget_usd), _status(cost)))
    total, budget, complete = _grand_total(report)
    summary.add_section()
    summary.add_row("Total", "", _bound(_usd(total), complete), _usd(budget),
                    _bound(_percent(total, budget), complete), "")
    console.print(summary)
    for cost in report if detail else []:
        table = Table("Resource", "Role", "Description", "Qty", "Monthly", "Note", box=box.SIMPLE,
                      title=visible(f"{cost.environment} ({cost.file})"), title_justify="left")
        table.columns[0].no_wrap = True
        for line in cost.lines:
            if line.priced and line.monthly == ZERO:
                continue
            table.add_row(*_cells(line.address, line.role, line.description, str(line.quantity),
                                  _usd(line.monthly) if line.priced else f"{_usd(line.monthly)} ?", line.note))
        table.add_section()
        table.add_row("Total", "", "", "", _usd(cost.total), "")
        console.print(table)
        roles = Table("Role", "Monthly", box=box.SIMPLE, title=visible(f"{cost.environment} by role"),
                      title_justify="left")
        for role, subtotal in cost.by_role.items():
            if subtotal == ZERO:
                continue
            roles.add_row(*_cells(role, _usd(subtotal)))
        console.print(roles)
        for f in cost.findings:
            if f.check_id == UNKNOWN_CHECK:
                console.print(visible(f"  {UNKNOWN_CHECK} {f.address}: {f.message}"))
    console.print(visible(_price_note(report)))
    return out.getvalue()


def _change_text(ch: LineChange) -> str:
    if ch.change == "changed" and ch.before_description != ch.after_description:
        return f"changed: {ch.before_description} → {ch.after_description}"
    if ch.change == "added":
        return f"added: {ch.after_description}"
    if ch.change == "removed":
        return f"removed: {ch.before_description}"
    return "changed"


def _amount(value: Decimal) -> float:
    return float(value)


def _maybe_amount(value: Decimal | None) -> float | None:
    """An amount in a diff, null where a price is unknown."""
    return None if value is None else float(value)


def _line_json(line: CostLine) -> dict[str, Any]:
    return {
        "address": line.address,
        "construct_path": line.construct_path,
        "resource_type": line.resource_type,
        "role": line.role,
        "description": line.description,
        "quantity": line.quantity,
        "unit_monthly_usd": _amount(line.unit_monthly),
        "monthly_usd": _amount(line.monthly),
        "priced": line.priced,
        "note": line.note,
    }


def _finding_json(f: Finding) -> dict[str, Any]:
    return {"check_id": f.check_id, "title": f.title, "severity": f.severity.value, "status": f.status.value,
            "address": f.address, "message": f.message, "fix": f.fix, "file": f.file, "line": f.line}


def _price_table_json(cost: StackCost) -> dict[str, Any]:
    data: dict[str, Any] = {"source": cost.price_source, "retrieved": cost.price_retrieved}
    if len(cost.price_tables) > 1:  # only with an override in effect: a report without one stays as it was
        data["overrides"] = [{"file": file, "retrieved": day or None} for file, day in cost.price_tables[1:]]
    return data


def render_json(report: Report) -> str:
    """Machine-readable estimate or diff (amounts in USD per month, rounded to cents)."""
    if isinstance(report, CostDiff):
        data: dict[str, Any] = {
            "kind": "cost_diff",
            "before_total_usd": _amount(report.before_total),
            "after_total_usd": _amount(report.after_total),
            "delta_usd": _maybe_amount(report.delta),
            "complete": report.complete,  # False: the totals are lower bounds
            "environments": [
                {
                    "environment": env.environment,
                    "stack": env.stack,
                    "change": env.change,
                    "before_total_usd": None if env.before_total is None else _amount(env.before_total),
                    "after_total_usd": None if env.after_total is None else _amount(env.after_total),
                    "delta_usd": _maybe_amount(env.delta),
                    "budget_usd": None if env.budget_usd is None else _amount(env.budget_usd),
                    "complete": env.complete,
                    "changes": [
                        {"address": ch.address, "role": ch.role, "change": ch.change,
                         "before_usd": _maybe_amount(ch.before), "after_usd": _maybe_amount(ch.after),
                         "delta_usd": _maybe_amount(ch.delta), "before": ch.before_description,
                         "after": ch.after_description}
                        for ch in env.changes
                    ],
                }
                for env in report.environments
            ],
        }
    else:
        total, _, complete = _grand_total(report)
        data = {
            "kind": "cost_estimate",
            "currency": "USD",
            "total_usd": _amount(total),  # all stacks together
            "complete": complete,  # False: the total is a lower bound
            "stacks": [
                {
                    "stack": cost.stack,
                    "environment": cost.environment,
                    "file": cost.file,
                    "total_usd": _amount(cost.total),
                    "budget_usd": None if cost.budget_usd is None else _amount(cost.budget_usd),
                    "percent_of_budget": None if cost.percent_of_budget is None else float(cost.percent_of_budget),
                    "over_budget": cost.over_budget,
                    "complete": cost.complete,
                    "by_role_usd": {role: _amount(v) for role, v in cost.by_role.items()},
                    "lines": [_line_json(line) for line in cost.lines],
                    "findings": [_finding_json(f) for f in cost.findings],
                    "price_table": _price_table_json(cost),
                }
                for cost in report
            ],
        }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# The gate's own Markdown helpers: a pipe in a name must not end a table cell (not even inside a code span,
# where GFM still splits on it), a backtick must not end an address's code span early, and '<' must not
# open HTML in the comment.
_md = markdown_escape


# Kept free of detail sections for the text around them (headings, the "left out" notes, the price note).
_MARKDOWN_FRAME_CHARS = 2_000


def _fit(blocks: list[list[str]], room: int) -> tuple[list[str], int, int]:
    """The lines of as many leading `blocks` as fit in `room` characters (a newline after each line), how
    many that is, and the room left. Once one does not fit, later ones are left out too: the order stays."""
    lines: list[str] = []
    shown = 0
    for block in blocks:
        size = sum(len(line) + 1 for line in block)
        if size > room:
            break
        lines += block
        room -= size
        shown += 1
    return lines, shown, room


def _left_out(count: int, what: str) -> list[str]:
    if not count:
        return []
    return ["", f"… and {count} more {what}, left out to keep this comment within GitHub's limit of "
                f"{MARKDOWN_MAX_CHARS:,} characters; `python -m policies cost --format text` shows all of them."]


def render_markdown(report: Report) -> str:
    """A pull-request comment: per-environment totals against budget, or before/after/delta.

    GitHub refuses a comment over MARKDOWN_MAX_CHARS, and one table of resources per stack passes that with
    a few dozen previews: the summary table and the price note always stay, the sections of detail (and
    the list of unknown prices) follow in order while they fit, and a note says how many were left out."""
    out: list[str] = []
    if isinstance(report, CostDiff):
        out += ["## Estimated monthly cost change", "",
                "| Environment | Before | After | Delta | Budget | % of budget |",
                "|---|---:|---:|---:|---:|---:|"]
        for env in report.environments:
            out.append(f"| {_md(_env_label(env))} | " + " | ".join(_env_cells(env)) + " |")
        before, after, relative = _total_cells(report)
        out.append(f"| **Total** | {before} | {after} | **{_signed(report.delta)}**{relative} | | |")
        tail = ["", _DIFF_UNKNOWN_NOTE.replace("Price unknown", "**Price unknown**", 1)] if not report.complete else []
        tail += ["", f"<sub>{_md(_price_note(report))}</sub>", ""]
        sections = []
        for env in report.environments:
            if not env.changes:
                continue
            section = ["", f"### {_md(env.label)}", "", "| Resource | Change | Before | After | Delta |",
                       "|---|---|---:|---:|---:|"]
            for ch in env.changes:
                section.append(f"| {markdown_code(ch.address)} | {_md(_change_text(ch))} | "
                               f"{_amount_or_unknown(ch.before)} | {_amount_or_unknown(ch.after)} | {_signed(ch.delta)} |")
            sections.append(section)
        room = MARKDOWN_MAX_CHARS - _MARKDOWN_FRAME_CHARS - sum(len(line) + 1 for line in out + tail)
        shown_lines, shown, _ = _fit(sections, room)
        return "\n".join(out + shown_lines + _left_out(len(sections) - shown, "environments' changed resources") + tail)

    out += ["## Estimated monthly cost", "",
            "| Environment | Total | Budget | % of budget | Status |",
            "|---|---:|---:|---:|---|"]
    for cost in report:
        status = f"**{_status(cost)}**" if cost.over_budget else _status(cost)
        out.append(f"| {_md(cost.environment)} | {_usd(cost.total)} | {_usd(cost.budget_usd)} | "
                   f"{_percent(cost.total, cost.budget_usd)} | {status} |")
    total, budget, complete = _grand_total(report)
    out.append(f"| **Total** | **{_bound(_usd(total), complete)}** | {_usd(budget)} | "
               f"{_bound(_percent(total, budget), complete)} | |")
    tail = ["", f"<sub>{_md(_price_note(report))}</sub>", ""]
    room = MARKDOWN_MAX_CHARS - _MARKDOWN_FRAME_CHARS - sum(len(line) + 1 for line in out + tail)
    # The unknown prices say why a total is only a lower bound: they take the room before the details.
    unknown = [[f"- {_md(f.stack)} {markdown_code(f.address)}: {_md(f.message)}"]
               for cost in report for f in cost.findings if f.check_id == UNKNOWN_CHECK]
    unknown_lines, unknown_shown, room = _fit(unknown, room)
    sections = []
    for cost in report:
        section = ["", f"<details><summary>{_md(cost.environment)}: {_usd(cost.total)} per month</summary>", "",
                   "| Role | Monthly |", "|---|---:|"]
        section += [f"| {_md(role)} | {_usd(v)} |" for role, v in cost.by_role.items()]
        section += ["", "| Resource | Role | Description | Qty | Monthly |", "|---|---|---|---:|---:|"]
        for line in cost.lines:
            amount = _usd(line.monthly) if line.priced else f"{_usd(line.monthly)} (unknown)"
            section.append(f"| {markdown_code(line.address)} | {_md(line.role)} | {_md(line.description)} | "
                           f"{line.quantity} | {amount} |")
        section += ["", "</details>"]
        sections.append(section)
    shown_lines, shown, _ = _fit(sections, room)
    out += shown_lines + _left_out(len(sections) - shown, "stacks' resource tables")
    if unknown:
        out += ["", "**Price unknown** (totals above are lower bounds):"]
        out += unknown_lines + _left_out(len(unknown) - unknown_shown, "unknown prices")
    return "\n".join(out + tail)
