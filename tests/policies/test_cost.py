"""Cost estimator and price table: every expected amount below is worked out by hand from
policies/price_table.toml, so a wrong price, a wrong formula or a wrong rounding fails a test."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from policies import pricing
from policies.cost import diff, estimate_many, estimate_stack, render_json, render_markdown, render_text
from policies.findings import Severity, Status
from policies.pricing import PriceTableError, known_regions, known_size_slugs, load_price_table
from policies.stack_document import load_stack, parse_stack

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data" / "cost"
D = Decimal


@pytest.fixture(autouse=True)
def _default_prices_from_repo_root(monkeypatch):
    """No user override, and paths in messages shown relative to the repository as in CI."""
    monkeypatch.delenv(pricing.PRICE_TABLE_ENV, raising=False)
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def prices():
    return load_price_table()


def _doc(name: str):
    return load_stack(DATA / f"{name}.cdk.tf.json", name=name)


def _with(raw_edit, name="production"):
    """The test stack `name` after `raw_edit` changed its parsed JSON in place."""
    raw = json.loads((DATA / f"{name}.cdk.tf.json").read_text())
    raw_edit(raw)
    return parse_stack(json.dumps(raw, indent=1), Path(f"{name}.cdk.tf.json"), name=name)


def _line(cost, address):
    [line] = [x for x in cost.lines if x.address == address]
    return line


def _findings(cost, check_id):
    return [f for f in cost.findings if f.check_id == check_id]


# -- the price table ------------------------------------------------------------------------------


def test_default_table_is_dated_sourced_and_has_the_common_slugs(prices):
    assert prices.meta.currency == "USD"
    assert prices.meta.retrieved.isoformat() == "2026-11-27"
    assert "DigitalOcean" in prices.meta.source
    expected = {
        "s-1vcpu-512mb-10gb": 4, "s-1vcpu-1gb": 6, "s-1vcpu-2gb": 12, "s-2vcpu-2gb": 18, "s-2vcpu-4gb": 24,
        "s-4vcpu-8gb": 48, "s-8vcpu-16gb": 96, "s-1vcpu-1gb-intel": 7, "s-2vcpu-4gb-intel": 28,
        "s-4vcpu-8gb-intel": 56, "s-1vcpu-1gb-amd": 7, "s-2vcpu-4gb-amd": 28, "s-4vcpu-8gb-amd": 56,
        "g-2vcpu-8gb": 63, "g-4vcpu-16gb": 126, "g-8vcpu-32gb": 252, "c-2": 42, "c-4": 84, "c-8": 168,
        "m-2vcpu-16gb": 84, "m-4vcpu-32gb": 168, "m-8vcpu-64gb": 336,
    }
    assert {s.slug: s.price_monthly for s in prices.droplet_sizes} == {k: D(v) for k, v in expected.items()}
    assert prices.size("s-1vcpu-512mb-10gb").memory_gb == D("0.5")
    assert known_size_slugs() == frozenset(expected)
    assert known_regions() == {"nyc1", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1",
                               "syd1", "atl1"}


def test_partial_override_merges_over_the_default(tmp_path):
    override = tmp_path / "prices.toml"
    override.write_text(
        '[volumes]\nper_gib_month = 0.12\n\n'
        '[cloudflare]\nplan = "pro"\n\n'
        '[[droplet_sizes]]\nslug = "s-2vcpu-4gb"\nvcpus = 2\nmemory_gb = 4\ndisk_gb = 80\nprice_monthly = 25.5\n\n'
        '[[droplet_sizes]]\nslug = "s-16vcpu-64gb"\nvcpus = 16\nmemory_gb = 64\ndisk_gb = 640\nprice_monthly = 384\n'
    )
    table = load_price_table(override)
    assert table.files == ("policies/price_table.toml", str(override))
    assert table.volumes.per_gib_month == D("0.12")
    assert table.size("s-2vcpu-4gb").price_monthly == D("25.5")  # replaced by slug
    assert table.size("s-16vcpu-64gb").price_monthly == D("384")  # added
    assert table.size("c-2").price_monthly == D("42")  # untouched rows stay
    assert table.load_balancer.per_size_unit_month == D("12")  # untouched tables stay
    assert table.cloudflare_plan_price == D("20")
    assert len(table.droplet_sizes) == 23

    cost = estimate_stack(_doc("production"), table)
    assert _line(cost, "digitalocean_volume.db_data").monthly == D("12.00")  # 100 GiB x 0.12
    assert _line(cost, "digitalocean_droplet.app_blue").monthly == D("51.00")  # 2 x 25.50
    # 188.30 with default prices, +2.00 volume, +3.00 app droplets
    assert cost.total == D("193.30")


def test_override_from_environment_variable_reaches_the_config_slugs(tmp_path, monkeypatch):
    override = tmp_path / "prices.toml"
    override.write_text('[[droplet_sizes]]\nslug = "so-2vcpu-16gb"\nvcpus = 2\nmemory_gb = 16\ndisk_gb = 300\n'
                        'price_monthly = 131\n')
    assert "so-2vcpu-16gb" not in known_size_slugs()
    monkeypatch.setenv(pricing.PRICE_TABLE_ENV, str(override))
    assert "so-2vcpu-16gb" in known_size_slugs()
    assert load_price_table().size("so-2vcpu-16gb").price_monthly == D("131")


def test_bad_override_names_file_and_field(tmp_path):
    override = tmp_path / "bad.toml"
    override.write_text(
        '[[droplet_sizes]]\nslug = "c-2"\nvcpus = 2\nmemory_gb = 4\ndisk_gb = 25\nprice_monthly = -42\n\n'
        '[load_balancer]\nper_size_unit_month = "twelve"\n\n'
        '[volume]\nper_gib_month = 0.1\n'
    )
    with pytest.raises(PriceTableError) as err:
        load_price_table(override)
    problems = str(err.value).splitlines()
    # the row as the override file numbers it, not its place in the merged table
    assert f"{override}: droplet_sizes[0] (slug 'c-2').price_monthly: Input should be greater than or equal to 0" in problems
    assert f"{override}: load_balancer.per_size_unit_month: expected a number, found the string 'twelve'" in problems
    assert f"{override}: volume: Extra inputs are not permitted" in problems
    assert len(problems) == 3


def test_bad_default_table_names_the_default_file(tmp_path, monkeypatch):
    broken = tmp_path / "price_table.toml"
    broken.write_text(pricing.DEFAULT_PRICE_TABLE.read_text().replace("daily_percent = 30\n", ""))
    monkeypatch.setattr(pricing, "DEFAULT_PRICE_TABLE", broken)
    with pytest.raises(PriceTableError, match=r"price_table\.toml: backups\.daily_percent: Field required$"):
        load_price_table()


def test_unparsable_and_missing_override_files(tmp_path, monkeypatch):
    bad = tmp_path / "syntax.toml"
    bad.write_text("[volumes\nper_gib_month = 1\n")
    with pytest.raises(PriceTableError, match=r"syntax\.toml: not valid TOML \(.*line 1"):
        load_price_table(bad)
    monkeypatch.setenv(pricing.PRICE_TABLE_ENV, str(tmp_path / "nope.toml"))
    with pytest.raises(PriceTableError, match=r"nope\.toml \(from HUB_PRICE_TABLE\): file not found"):
        load_price_table()


def test_duplicate_slug_and_unpriced_cloudflare_plan_are_rejected(tmp_path):
    dup = tmp_path / "dup.toml"
    row = '[[droplet_sizes]]\nslug = "c-2"\nvcpus = 2\nmemory_gb = 4\ndisk_gb = 25\nprice_monthly = 42\n'
    dup.write_text(row + row)
    with pytest.raises(PriceTableError, match=r"dup\.toml: droplet_sizes\[1\]\.slug: 'c-2' appears twice"):
        load_price_table(dup)
    plan = tmp_path / "plan.toml"
    plan.write_text('[cloudflare]\nplan = "gold"\n')
    with pytest.raises(PriceTableError, match=r"plan\.toml: cloudflare: plan 'gold' is not one of the priced plans"):
        load_price_table(plan)


# -- estimating one stack -------------------------------------------------------------------------


def test_droplets_backups_volumes_lb_ips_spaces(prices):
    cost = estimate_stack(load_stack(DATA / "production.cdk.tf.json", name="production"), prices)
    assert cost.environment == "production"

    app = _line(cost, "digitalocean_droplet.app_blue")
    assert (app.role, app.description, app.quantity, app.unit_monthly, app.monthly) == (
        "app", "s-2vcpu-4gb", 2, D("24.00"), D("48.00"))
    assert app.construct_path == "production/app/blue"

    db = _line(cost, "digitalocean_droplet.db")  # 63 + 30 % daily backups (18.90)
    assert (db.role, db.description, db.monthly) == ("db", "g-2vcpu-8gb + daily backups", D("81.90"))

    cache = _line(cost, "digitalocean_droplet.cache")  # backups=true, no policy: weekly, 12 + 2.40
    assert (cache.description, cache.monthly) == ("s-1vcpu-2gb + weekly backups", D("14.40"))

    volume = _line(cost, "digitalocean_volume.db_data")  # 100 GiB x 0.10, role from its attachment
    assert (volume.role, volume.description, volume.monthly) == ("db", "100 GiB volume", D("10.00"))

    lb = _line(cost, "digitalocean_loadbalancer.lb")  # 2 size units x 12
    assert (lb.role, lb.description, lb.monthly) == ("loadbalancer", "regional load balancer, 2 nodes", D("24.00"))

    assert _line(cost, "digitalocean_reserved_ip.spare").monthly == D("5.00")
    assert _line(cost, "digitalocean_reserved_ip.db").monthly == D("0.00")

    # One Spaces subscription, charged on the first bucket by address.
    assert _line(cost, "digitalocean_spaces_bucket.backups").monthly == D("5.00")
    assert _line(cost, "digitalocean_spaces_bucket.media").monthly == D("0.00")

    zone = _line(cost, "data.cloudflare_zone.hub")
    assert (zone.role, zone.monthly) == ("edge", D("0.00"))
    free = _line(cost, "digitalocean_firewall.app_fw")
    assert (free.monthly, free.note) == (D("0.00"), "Cloud Firewalls are free")

    assert cost.by_role == {"app": D("48.00"), "cache": D("14.40"), "db": D("91.90"), "edge": D("0.00"),
                            "loadbalancer": D("24.00"), "network": D("5.00"), "storage": D("5.00")}
    assert cost.total == D("188.30")
    assert cost.complete and not _findings(cost, "HUB_COST_2")


@pytest.mark.parametrize(("backups", "description", "monthly"), [
    ("1", "s-1vcpu-2gb + weekly backups", D("14.40")),  # Terraform reads the string "1" as true, "0" as false
    ("0", "s-1vcpu-2gb", D("12.00")),
    ("false", "s-1vcpu-2gb", D("12.00")),
    ("TRUE", "s-1vcpu-2gb + backups (price unknown)", D("12.00")),  # Terraform refuses it: not priced as either
])
def test_backups_given_as_strings_are_read_as_terraform_reads_them(prices, backups, description, monthly):
    def set_backups(raw):
        raw["resource"]["digitalocean_droplet"]["cache"]["backups"] = backups

    cache = _line(estimate_stack(_with(set_backups), prices), "digitalocean_droplet.cache")
    assert (cache.description, cache.monthly) == (description, monthly)


def test_within_budget_is_a_passed_finding(prices):
    cost = estimate_stack(_doc("production"), prices)
    [budget] = _findings(cost, "HUB_COST_1")
    assert budget.status is Status.PASSED
    assert budget.title == "Monthly cost within budget"
    assert budget.message == "Estimated monthly cost $188.30 is within the budget of $400.00 (47.1 % of budget)."


def test_over_budget_is_a_failed_finding_with_both_numbers(prices):
    def lower_budget(raw):
        raw["//"]["hub"]["budget_usd"] = 150
    cost = estimate_stack(_with(lower_budget), prices)
    [budget] = _findings(cost, "HUB_COST_1")
    assert budget.status is Status.FAILED and budget.severity is Severity.HIGH
    assert budget.address == "" and budget.stack == "production"
    assert budget.message == ("Estimated monthly cost $188.30 exceeds the budget of $150.00 by $38.30 "
                              "(125.5 % of budget).")


def test_budget_that_is_not_a_number_fails(prices):
    def bad_budget(raw):
        raw["//"]["hub"]["budget_usd"] = "lots"
    cost = estimate_stack(_with(bad_budget), prices)
    [budget] = _findings(cost, "HUB_COST_1")
    assert budget.status is Status.FAILED and cost.budget_usd is None
    assert budget.message == "\"//\".hub.budget_usd is 'lots', not a number of USD from 0 to 1,000,000,000,000."


def test_unknown_prices_are_findings_not_zeros(prices):
    cost = estimate_stack(_doc("unknown_sizes"), prices)
    unknown = _findings(cost, "HUB_COST_2")
    assert all(f.title == "Price unknown" and f.severity is Severity.HIGH and f.failed for f in unknown)
    assert sorted((f.address, f.message.split(" ")[0]) for f in unknown) == [
        ("digitalocean_database_cluster.pg", "resource"),
        ("digitalocean_droplet.app", "Droplet"),
        ("digitalocean_droplet.app", "count"),
        ("digitalocean_loadbalancer.lb", "load"),
    ]
    [size] = [f for f in unknown if f.message.startswith("Droplet")]
    assert "'s-99vcpu-1tb' is not in the price table" in size.message
    assert not _line(cost, "digitalocean_droplet.app").priced
    # Priced lines still count: s-2vcpu-4gb 24 + lb-medium (3 units x 12) 36.
    assert _line(cost, "digitalocean_loadbalancer.legacy").monthly == D("36.00")
    assert cost.total == D("60.00")
    [budget] = _findings(cost, "HUB_COST_1")
    assert budget.status is Status.FAILED
    assert budget.message == ("Estimated monthly cost $60.00 exceeds the budget of $50.00 by $10.00 (120.0 % of "
                              "budget). 3 resource(s) could not be priced, so the total is a lower bound.")


def test_foreign_stack_without_budget_and_managed_zone(prices, tmp_path):
    cost = estimate_stack(load_stack(DATA / "foreign.cdk.tf.json", name="foreign"), prices)
    assert cost.environment == "foreign" and cost.budget_usd is None
    zone = _line(cost, "cloudflare_zone.site")
    assert (zone.role, zone.description, zone.monthly) == ("edge", "Cloudflare zone, free plan", D("0.00"))
    assert cost.total == D("6.00")
    [budget] = _findings(cost, "HUB_COST_1")
    assert (budget.status, budget.severity) == (Status.PASSED, Severity.INFO)
    assert budget.message.startswith("No monthly budget declared") and "$6.00" in budget.message

    override = tmp_path / "pro.toml"
    override.write_text('[cloudflare]\nplan = "pro"\n')
    pro = estimate_stack(load_stack(DATA / "foreign.cdk.tf.json", name="foreign"), load_price_table(override))
    assert _line(pro, "cloudflare_zone.site").monthly == D("20.00")
    assert pro.total == D("26.00")


def test_literal_count_zero_and_string_count(prices):
    def counts(raw):
        raw["resource"]["digitalocean_droplet"]["app_blue"]["count"] = "3"
        raw["resource"]["digitalocean_volume"]["db_data"]["count"] = 0
    cost = estimate_stack(_with(counts), prices)
    assert _line(cost, "digitalocean_droplet.app_blue").monthly == D("72.00")
    assert _line(cost, "digitalocean_volume.db_data").monthly == D("0.00")
    assert cost.total == D("188.30") + 24 - 10
    assert not _findings(cost, "HUB_COST_2")


# -- several stacks, diff, renderers -------------------------------------------------------------


def _head_change(raw):
    res = raw["resource"]
    res["digitalocean_droplet"]["app_blue"]["size"] = "s-4vcpu-8gb"  # 2 x 48 instead of 2 x 24
    del res["digitalocean_reserved_ip"]["spare"]  # -5
    res["digitalocean_volume"]["search_data"] = {"size": 50, "region": "fra1"}  # +5


def test_diff_reports_added_removed_changed(prices):
    base = estimate_many([_doc("production")], prices)
    head = estimate_many([_with(_head_change), load_stack(DATA / "foreign.cdk.tf.json", name="foreign")], prices)
    result = diff(base, head)
    [foreign, production] = result.environments
    assert (foreign.environment, foreign.change, foreign.before_total, foreign.after_total) == (
        "foreign", "added", None, D("6.00"))
    assert production.change == "changed"
    assert (production.before_total, production.after_total, production.delta) == (
        D("188.30"), D("236.30"), D("48.00"))
    assert [(c.address, c.change, c.before, c.after, c.delta) for c in production.changes] == [
        ("digitalocean_droplet.app_blue", "changed", D("48.00"), D("96.00"), D("48.00")),
        ("digitalocean_reserved_ip.spare", "removed", D("5.00"), D("0.00"), D("-5.00")),
        ("digitalocean_volume.search_data", "added", D("0.00"), D("5.00"), D("5.00")),
    ]
    assert production.changes[0].before_description == "2 × s-2vcpu-4gb"
    assert production.changes[0].after_description == "2 × s-4vcpu-8gb"
    assert result.delta == D("54.00")
    assert "| foreign (new) | — | $6.00 | +$6.00 | — | — |" in render_markdown(result)

    gone = diff(head, base)
    assert [(e.environment, e.change) for e in gone.environments] == [("foreign", "removed"), ("production", "changed")]
    assert diff(base, base).environments[0].change == "unchanged"


def test_markdown_for_estimate_and_diff(prices):
    costs = estimate_many([_doc("production"), _doc("unknown_sizes")], prices)
    md = render_markdown(costs)
    assert "| production | $188.30 | $400.00 | 47.1 % | within budget |" in md
    assert ("| staging | $60.00 | $50.00 | 120.0 % | **OVER BUDGET; price unknown for some resources** |" in md)
    assert "| `digitalocean_droplet.db` | db | g-2vcpu-8gb + daily backups | 1 | $81.90 |" in md
    assert "| db | $91.90 |" in md
    assert "- unknown_sizes `digitalocean_droplet.app`: Droplet size 's-99vcpu-1tb' is not in the price table" in md
    assert "as of 2026-11-27" in md

    change = render_markdown(diff([costs[0]], estimate_many([_with(_head_change)], prices)))
    assert "| production | $188.30 | $236.30 | +$48.00 (+25.5 %) | $400.00 | 59.1 % |" in change
    assert "| `digitalocean_droplet.app_blue` | changed: 2 × s-2vcpu-4gb → 2 × s-4vcpu-8gb | $48.00 | $96.00 | +$48.00 |" in change
    assert "| `digitalocean_reserved_ip.spare` | removed: reserved IPv4 (unassigned) | $5.00 | $0.00 | -$5.00 |" in change
    assert "| `digitalocean_volume.search_data` | added: 50 GiB volume | $0.00 | $5.00 | +$5.00 |" in change


def test_json_and_text_renderers(prices):
    costs = estimate_many([_doc("unknown_sizes"), _doc("production")], prices)
    assert [c.environment for c in costs] == ["production", "staging"]  # ordered by environment
    data = json.loads(render_json(costs))
    production = data["stacks"][0]
    assert (production["total_usd"], production["budget_usd"], production["percent_of_budget"]) == (188.3, 400.0, 47.1)
    assert production["by_role_usd"]["db"] == 91.9
    assert data["stacks"][1]["complete"] is False and data["stacks"][1]["over_budget"] is True
    assert render_json(costs) == render_json(list(costs))  # deterministic

    text = render_text(costs)
    assert "$188.30" in text and "within budget" in text and "OVER BUDGET" in text
    assert "HUB_COST_2 digitalocean_loadbalancer.lb: load balancer size 'lb-huge'" in text

    change = json.loads(render_json(diff(costs, costs)))
    assert change["delta_usd"] == 0 and {e["change"] for e in change["environments"]} == {"unchanged"}


def test_volume_without_size_says_so(prices):
    def unsized(raw):
        del raw["resource"]["digitalocean_volume"]["db_data"]["size"]
    cost = estimate_stack(_with(unsized), prices)
    [unknown] = _findings(cost, "HUB_COST_2")
    assert unknown.message == "volume has no size set"
    assert not _line(cost, "digitalocean_volume.db_data").priced


def test_size_row_slug_that_is_not_a_string_says_so(tmp_path):
    override = tmp_path / "slug.toml"
    override.write_text('[[droplet_sizes]]\nslug = 5\nvcpus = 2\nmemory_gb = 4\ndisk_gb = 25\nprice_monthly = 42\n')
    with pytest.raises(PriceTableError, match=r"slug\.toml: droplet_sizes\[0\]\.slug: expected a string, found int$"):
        load_price_table(override)
    override.write_text('[[droplet_sizes]]\nvcpus = 2\nmemory_gb = 4\ndisk_gb = 25\nprice_monthly = 42\n')
    with pytest.raises(PriceTableError, match=r"slug\.toml: droplet_sizes\[0\]\.slug: missing; every size row needs a slug$"):
        load_price_table(override)


def test_missing_override_from_the_environment_names_the_variable_when_cached(tmp_path, monkeypatch):
    monkeypatch.setenv(pricing.PRICE_TABLE_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(PriceTableError, match=r"missing\.toml \(from HUB_PRICE_TABLE\): file not found$"):
        pricing.current_price_table()


def test_free_types_with_unknown_count_are_free_and_priced_types_are_not(prices):
    def unknown_counts(raw):
        res = raw["resource"]
        res["digitalocean_firewall"]["app_fw"]["for_each"] = "${var.envs}"
        res.setdefault("digitalocean_tag", {})["t"] = {"name": "t", "count": "${var.n}"}
        res["digitalocean_reserved_ip"]["spare"]["for_each"] = "${var.ips}"
    cost = estimate_stack(_with(unknown_counts), prices)
    assert _line(cost, "digitalocean_firewall.app_fw").priced and _line(cost, "digitalocean_tag.t").priced
    # a priced type keeps the finding: its amount depends on the number of instances
    assert [f.address for f in _findings(cost, "HUB_COST_2")] == ["digitalocean_reserved_ip.spare"]
    assert not _line(cost, "digitalocean_reserved_ip.spare").priced


def test_spaces_subscription_counts_bucket_instances(prices):
    def buckets(raw):
        raw["resource"]["digitalocean_spaces_bucket"] = {"a": {"count": 0}, "b": {"region": "fra1"}}
    cost = estimate_stack(_with(buckets), prices)
    assert _line(cost, "digitalocean_spaces_bucket.a").monthly == D("0.00")  # count 0 makes no bucket
    assert _line(cost, "digitalocean_spaces_bucket.b").monthly == D("5.00")
    assert cost.by_role["storage"] == D("5.00")

    def three(raw):
        raw["resource"]["digitalocean_spaces_bucket"] = {"a": {"count": 3}}
    a = _line(estimate_stack(_with(three), prices), "digitalocean_spaces_bucket.a")
    assert (a.quantity, a.monthly, a.description) == (3, D("5.00"), "Spaces buckets, one subscription (incl. 250 GiB)")

    def unknown(raw):
        raw["resource"]["digitalocean_spaces_bucket"] = {"a": {"count": 0}, "b": {"for_each": "${var.b}"}}
    cost = estimate_stack(_with(unknown), prices)
    assert [f.address for f in _findings(cost, "HUB_COST_2")] == ["digitalocean_spaces_bucket.b"]
    b = _line(cost, "digitalocean_spaces_bucket.b")
    assert (b.monthly, b.priced) == (D("5.00"), False)


def test_uptime_check_allowance_counts_instances(prices):
    def checks(raw):  # the table: 1 free, then $1 per check
        raw["resource"]["digitalocean_uptime_check"] = {"a": {"count": 0}, "b": {"count": 5}, "c": {}}
    cost = estimate_stack(_with(checks), prices)
    b, c = _line(cost, "digitalocean_uptime_check.b"), _line(cost, "digitalocean_uptime_check.c")
    assert (b.quantity, b.monthly, b.note) == (5, D("4.00"), "1 within the free allowance")
    assert c.monthly == D("1.00")
    assert cost.by_role["monitoring"] == D("5.00")
    assert not _findings(cost, "HUB_COST_2")

    def unknown(raw):  # a known check takes the allowance; the unknown one is still a finding
        raw["resource"]["digitalocean_uptime_check"] = {"a": {"count": "${var.n}"}, "b": {}}
    cost = estimate_stack(_with(unknown), prices)
    assert [f.address for f in _findings(cost, "HUB_COST_2")] == ["digitalocean_uptime_check.a"]
    assert _line(cost, "digitalocean_uptime_check.b").monthly == D("0.00")
    a = _line(cost, "digitalocean_uptime_check.a")
    assert (a.monthly, a.priced) == (D("1.00"), False)


def test_diff_to_an_unknown_price_is_no_saving(prices):
    def unknown_size(raw):
        raw["resource"]["digitalocean_droplet"]["db"]["size"] = "s-99vcpu-1tb"
    result = diff(estimate_many([_doc("production")], prices), estimate_many([_with(unknown_size)], prices))
    [production] = result.environments
    [db] = production.changes
    assert (db.before, db.after, db.delta) == (D("81.90"), None, None)
    assert (production.before_complete, production.after_complete, production.delta) == (True, False, None)
    assert result.delta is None and not result.complete

    md = render_markdown(result)
    assert ("| `digitalocean_droplet.db` | changed: g-2vcpu-8gb + daily backups → s-99vcpu-1tb (price unknown) | "
            "$81.90 | unknown | unknown |") in md
    assert ("| production (price unknown for some resources) | $188.30 | ≥ $106.40 | unknown | $400.00 | ≥ 26.6 % |"
            in md)
    assert "| **Total** | $188.30 | ≥ $106.40 | **unknown** | | |" in md
    assert "**Price unknown** for some resources: totals marked ≥ are lower bounds" in md
    assert "-$81.90" not in md and "-$81.90" not in render_text(result)

    data = json.loads(render_json(result))
    assert (data["delta_usd"], data["complete"]) == (None, False)
    [change] = data["environments"][0]["changes"]
    assert (change["before_usd"], change["after_usd"], change["delta_usd"]) == (81.9, None, None)

    # A known change beside an unknown price that did not change keeps its delta.
    base = estimate_many([_with(unknown_size)], prices)
    head = estimate_many([_with(lambda raw: (unknown_size(raw), _head_change(raw)))], prices)
    [both] = diff(base, head).environments
    assert both.delta == D("48.00") and not both.complete
    assert "| ≥ $106.40 | ≥ $154.40 | +$48.00 | $400.00 | ≥ 38.6 % |" in render_markdown(diff(base, head))


def test_price_note_credits_an_override_beside_the_default_table(tmp_path, prices):
    override = tmp_path / "prices.toml"
    override.write_text("[volumes]\nper_gib_month = 0.12\n")
    costs = estimate_many([_doc("production")], load_price_table(override))
    note = (f"Monthly list prices in USD, before tax, credits and transfer overage (policies/price_table.toml as of "
            f"2026-11-27, with overrides from {override}).")
    assert f"<sub>{note}</sub>" in render_markdown(costs)
    assert f"<sub>{note}</sub>" in render_markdown(diff(estimate_many([_doc("production")], prices), costs))
    assert json.loads(render_json(costs))["stacks"][0]["price_table"]["overrides"] == [
        {"file": str(override), "retrieved": None}]

    override.write_text("[meta]\nretrieved = 2027-01-15\n\n[volumes]\nper_gib_month = 0.12\n")
    costs = estimate_many([_doc("production")], load_price_table(override))
    assert f"with overrides from {override} as of 2027-01-15)." in render_markdown(costs)

    # Without an override, the note and the JSON stay as they were.
    plain = estimate_many([_doc("production")], prices)
    assert ("<sub>Monthly list prices in USD as of 2026-11-27, before tax, credits and transfer overage "
            "(policies/price_table.toml).</sub>") in render_markdown(plain)
    assert json.loads(render_json(plain))["stacks"][0]["price_table"].keys() == {"source", "retrieved"}


def test_text_shows_names_from_the_stack_as_text_not_markup(prices):
    """A size, role or environment name is text: "[/x]" read as rich markup raised a traceback, and ESC
    reached the terminal."""
    def odd_names(raw):
        raw["//"]["hub"]["environment"] = "prod[i]"
        db = raw["resource"]["digitalocean_droplet"]["db"]
        db["size"] = "s-[/x]"
        db["tags"] = ["role:[bold]db"]
        raw["resource"]["digitalocean_droplet"]["cache"]["size"] = "s-\x1b[2Jred"
    costs = estimate_many([_with(odd_names)], prices)
    for text in (render_text(costs), render_text(costs, detail=False), render_text(diff([], costs))):
        assert "prod[i]" in text and "\x1b" not in text
    text = render_text(costs)
    assert "s-[/x] (price unknown)" in text and "[bold]db " in text
    assert "HUB_COST_2 digitalocean_droplet.cache: Droplet size 's-\\x1b[2Jred' is not in the price table" in text


def test_markdown_keeps_pipes_and_backticks_in_names_inside_their_cell(prices):
    """A pipe in an address split its cell even inside backticks (GFM), and a backtick ended the code span."""
    def odd_names(raw):
        raw["//"]["hub"]["environment"] = "prod|<b>"
        droplets = raw["resource"]["digitalocean_droplet"]
        droplets["db|x`y"] = droplets.pop("db")
    costs = estimate_many([_with(odd_names)], prices)
    md = render_markdown(costs)
    assert "| prod\\|&lt;b> | $188.30 | $400.00 | 47.1 % | within budget |" in md
    assert "<summary>prod\\|&lt;b>: $188.30 per month</summary>" in md
    assert "| `` digitalocean_droplet.db\\|x`y `` | db | g-2vcpu-8gb + daily backups | 1 | $81.90 |" in md
    change = render_markdown(diff([], costs))
    assert "| `` digitalocean_droplet.db\\|x`y `` | added: g-2vcpu-8gb + daily backups | $0.00 | $81.90 | +$81.90 |" in change
    assert "### prod\\|&lt;b> (production)" in change


def test_bucket_of_unknown_count_beside_a_sure_subscription_is_no_unknown_price(prices):
    """The subscription is paid on a bucket sure to exist; more buckets, however many, add $0."""
    def buckets(raw):
        raw["resource"]["digitalocean_spaces_bucket"] = {"a": {"region": "fra1"}, "b": {"for_each": "${var.b}"},
                                                         "c": {"count": "${var.n}"}}
    cost = estimate_stack(_with(buckets), prices)
    assert not _findings(cost, "HUB_COST_2") and cost.complete
    assert _line(cost, "digitalocean_spaces_bucket.a").monthly == D("5.00")
    assert [(line.monthly, line.priced) for line in cost.lines if line.address.endswith((".b", ".c"))] == [
        (D("0.00"), True), (D("0.00"), True)]
    assert cost.total == D("188.30")


def test_literal_count_zero_makes_nothing_so_an_unknown_price_is_no_finding(prices):
    def disabled(raw):
        res = raw["resource"]
        res["digitalocean_droplet"]["db"].update(size="s-99vcpu-1tb", count=0)
        res["digitalocean_droplet"]["cache"].update(backups="${var.backups}", count="0")
        res["digitalocean_volume"]["db_data"].update(size="${var.gb}", count=0)
        res["digitalocean_database_cluster"] = {"pg": {"count": 0}}
    cost = estimate_stack(_with(disabled), prices)
    assert not _findings(cost, "HUB_COST_2") and cost.complete
    db = _line(cost, "digitalocean_droplet.db")
    assert (db.quantity, db.monthly, db.priced, db.note) == (0, D("0.00"), True, "makes no instance")
    assert cost.total == D("188.30") - D("81.90") - D("14.40") - D("10.00")

    def one(raw):  # one instance again: the unknown price is a finding again
        disabled(raw)
        raw["resource"]["digitalocean_droplet"]["db"]["count"] = 1
    assert [f.address for f in _findings(estimate_stack(_with(one), prices), "HUB_COST_2")] == [
        "digitalocean_droplet.db"]


def test_literal_for_each_is_counted_as_cdktf_writes_it(prices):
    """from_map writes an object (one instance per key), from_list a toset() of strings (one per distinct
    string); only a for_each known at plan time alone prices one instance and is a finding."""
    def for_each(raw):
        res = raw["resource"]
        res["digitalocean_droplet"]["app_blue"].pop("count")
        res["digitalocean_droplet"]["app_blue"]["for_each"] = '${toset(["a", "b", "c", "a"])}'
        res["digitalocean_volume"]["db_data"]["for_each"] = {"x": {"gb": 1}, "y": {"gb": 2}}
        res["digitalocean_droplet"]["db"]["for_each"] = {}
        res["digitalocean_reserved_ip"]["spare"]["for_each"] = {"${var.k}": 1}
        res["digitalocean_loadbalancer"]["lb"]["for_each"] = "${toset(var.lbs)}"
    cost = estimate_stack(_with(for_each), prices)
    assert _line(cost, "digitalocean_droplet.app_blue")[5:8] == (3, D("24.00"), D("72.00"))
    assert _line(cost, "digitalocean_volume.db_data")[5:8] == (2, D("10.00"), D("20.00"))
    assert _line(cost, "digitalocean_droplet.db")[5:8] == (0, D("81.90"), D("0.00"))
    assert sorted(f.address for f in _findings(cost, "HUB_COST_2")) == [
        "digitalocean_loadbalancer.lb", "digitalocean_reserved_ip.spare"]


def test_markdown_stays_within_githubs_comment_limit(prices):
    """With many previews one resource table per stack passed GitHub's 65,536 characters, and the comment
    was refused: every total stays, the details follow while they fit, and a note says what was left out."""
    from dataclasses import replace

    from policies.reports.markdown import MAX_CHARS

    def unknown_size(raw):
        raw["resource"]["digitalocean_droplet"]["db"]["size"] = "s-99vcpu-1tb"
    [one] = estimate_many([_with(unknown_size)], prices)
    padded = [line._replace(description=line.description + " " + "x" * 300) for line in one.lines]
    many = [replace(one, environment=f"preview-{i:03}", stack=f"preview-{i:03}", lines=padded) for i in range(60)]
    md = render_markdown(many)
    assert len(md) <= MAX_CHARS
    assert all(f"| preview-{i:03} | $106.40 |" in md for i in range(60))
    shown = md.count("<details>")
    assert 0 < shown < 60
    assert f"… and {60 - shown} more stacks' resource tables, left out to keep this comment within GitHub's limit" in md
    assert md.rstrip().endswith("</sub>")

    change = render_markdown(diff([], many))
    assert len(change) <= MAX_CHARS
    assert all(f"| preview-{i:03} (new; price unknown for some resources) | — | ≥ $106.40 |" in change for i in range(60))
    shown = change.count("\n### preview-")
    assert 0 < shown < 60 and f"… and {60 - shown} more environments' changed resources, left out" in change
    assert "**Price unknown** for some resources" in change

    few = render_markdown(many[:2])  # what fits is left whole, without a note
    assert few.count("<details>") == 2 and "left out" not in few


def test_quoted_numbers_and_dates_in_an_override_are_reported_not_read(tmp_path):
    """Pydantic's lax mode read "42" as a price and "2027-01-01" as a date (while the report credited the
    override with no date): a TOML string where a number or date belongs is a mistake to name."""
    override = tmp_path / "quoted.toml"
    override.write_text(
        '[meta]\nretrieved = "2027-01-01"\n\n[volumes]\nper_gib_month = "0.1"\n\n[load_balancer]\n'
        'default_size_units = 1.5\n\n[[droplet_sizes]]\nslug = "c-2"\nvcpus = "2"\nmemory_gb = 4\ndisk_gb = 25\n'
        'price_monthly = "42"\n')
    with pytest.raises(PriceTableError) as err:
        load_price_table(override)
    assert str(err.value).splitlines() == [
        f"{override}: meta.retrieved: Input should be a valid date, found the string '2027-01-01' "
        "(TOML numbers and dates are written without quotes)",
        f"{override}: droplet_sizes[0] (slug 'c-2').vcpus: Input should be a valid integer, found the string '2' "
        "(TOML numbers and dates are written without quotes)",
        f"{override}: droplet_sizes[0] (slug 'c-2').price_monthly: expected a number, found the string '42'",
        f"{override}: volumes.per_gib_month: expected a number, found the string '0.1'",
        f"{override}: load_balancer.default_size_units: Input should be a valid integer",
    ]


def test_estimate_of_several_stacks_has_a_grand_total(prices):
    """Per resource, per role, per environment, and the total of all of them (a lower bound when a price is unknown)."""
    costs = estimate_many([_doc("production"), _doc("unknown_sizes")], prices)  # 188.30 + 60.00, budgets 400 + 50
    md = render_markdown(costs)
    assert "| **Total** | **≥ $248.30** | $450.00 | ≥ 55.2 % | |" in md
    assert re.search(r"\n +Total +≥ \$248\.30 +\$450\.00 +≥ 55\.2 %", render_text(costs))
    data = json.loads(render_json(costs))
    assert (data["total_usd"], data["complete"]) == (248.3, False)

    [foreign] = estimate_many([load_stack(DATA / "foreign.cdk.tf.json", name="foreign")], prices)  # no budget
    assert "| **Total** | **$6.00** | — | — | |" in render_markdown([foreign])
    assert json.loads(render_json([foreign]))["total_usd"] == 6.0
