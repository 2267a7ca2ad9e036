"""The per-resource checks (policies/checks/) on stacks our own generator synthesizes.

tests/policies/test_checks.py judges the checks on hand-written JSON; here each check meets the
output of `python main.py`. The checked-in configuration must pass every check on every resource,
and for every check one variant breaks exactly that check's rule the way a real mistake would
arrive: by changing the configuration (`model_copy` skips the loader's validation, as a loader
regression would) or by patching a construct, then synthesizing again. The expected result is
never edited into the JSON.

Stacks are synthesized with the app's own `synth_app`, as `python main.py` writes them (cdktf's
`Testing.synth` drops the `"//"` metadata the gate reads). The checks run in-process, on the
resource body converted the way Checkov presents it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from checkov.common.models.enums import CheckResult

from policies.checks import all_checks
from policies.checks._rules import checkov_conf
from policies.stack_document import StackDocument, load_stack
from stacks.config import HubConfig
from tests.conftest import checked_in_config

ENVIRONMENTS = ("development", "staging", "production")
CHECK_IDS = tuple(check.id for check in all_checks())

# Assembled at run time so no secret scanner trips over this file.
FAKE_SLACK_WEBHOOK = "https://hooks.slack.com/" + "services/T0000/B0000/abcdefABCDEF1234"


@dataclass(frozen=True)
class Failure:
    check_id: str
    address: str
    details: tuple[str, ...]


def synthesize(outdir: Path, envs: dict, config: HubConfig | None = None) -> dict[str, StackDocument]:
    """Synthesize `envs` with the app into `outdir` and read each stack as the gate reads it."""
    from stacks.app import synth_app  # imported late: it loads the provider bindings

    synth_app(config or checked_in_config(), envs, outdir)
    return {name: load_stack(outdir / "stacks" / name / "cdk.tf.json") for name in envs}


def applies(check, resource_type: str) -> bool:
    # Checkov matches supported_resources as fnmatch patterns (HUB_GEN_1 uses "*").
    return any(fnmatch.fnmatchcase(resource_type, pattern) for pattern in check.supported_resources)


def run_checks(doc: StackDocument) -> tuple[list[Failure], set[str]]:
    """Every failure of every check on every resource, and the ids of the checks that ran at all."""
    failures: list[Failure] = []
    ran: set[str] = set()
    for resource in doc.resources:
        conf = checkov_conf(resource.attrs)
        for check in all_checks():
            if not applies(check, resource.type):
                continue
            ran.add(check.id)
            result, details = check.evaluate(conf, resource.type)
            if result is CheckResult.FAILED:
                failures.append(Failure(check.id, resource.address, tuple(details)))
    return failures, ran


@pytest.fixture(scope="module")
def checked_in(tmp_path_factory) -> dict[str, StackDocument]:
    """The checked-in environments, synthesized once for the module."""
    config = checked_in_config()
    return synthesize(tmp_path_factory.mktemp("checked-in"), dict(config.environments))


# -- the checked-in configuration passes ----------------------------------------------------------


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_checked_in_stacks_pass_the_check_everywhere(check_id, checked_in):
    ran_on: list[str] = []
    for name, doc in checked_in.items():
        failures, ran = run_checks(doc)
        assert [f for f in failures if f.check_id == check_id] == [], name
        if check_id in ran:
            ran_on.append(name)
    # A check that never saw a resource passes vacuously: every check must judge some stack.
    assert ran_on, f"{check_id} applies to no resource of the synthesized stacks"


# -- the variants, one per check ------------------------------------------------------------------

MakeVariant = Callable[[pytest.MonkeyPatch], "HubConfig | None"]


@dataclass(frozen=True)
class Variant:
    """How our own code could break one check's rule, and where the check must say so."""

    env: str  # the one environment synthesized
    addresses: frozenset[str]  # the resources that must fail the check
    detail: str  # a fragment of the check's message naming the reason
    make: MakeVariant  # patches constructs (via monkeypatch) and/or returns a changed config


def _with_env(name: str, **changes) -> HubConfig:
    """The checked-in configuration with fields of one environment changed (unvalidated)."""
    config = checked_in_config()
    env = config.environments[name].model_copy(update=changes)
    return config.model_copy(update={"environments": {**config.environments, name: env}})


def _extend_graph(monkeypatch: pytest.MonkeyPatch, *extra_edges) -> None:
    """Add edges to the service graph the stack builds its firewalls from."""
    import stacks.environment_stack as environment_stack

    original = environment_stack.service_graph
    monkeypatch.setattr(environment_stack, "service_graph", lambda app_port: original(app_port) + extra_edges)


def _wrap(monkeypatch: pytest.MonkeyPatch, module, name: str, change: Callable[[dict], dict]) -> None:
    """Replace `module.name` (a construct or struct class) by one whose keyword arguments pass through `change`."""
    original = getattr(module, name)

    def changed(*args, **kwargs):
        return original(*args, **change(dict(kwargs)))

    monkeypatch.setattr(module, name, changed)


def _for_role(role: str, **changes) -> Callable[[dict], dict]:
    """Change the Droplet arguments of one role's pool only."""
    return lambda kwargs: {**kwargs, **changes} if f"role:{role}" in kwargs.get("tags", []) else kwargs


def app_port_open_to_the_world(monkeypatch):
    """The firewall opens the app port to every address instead of to the load balancer."""
    # the construct's own rule class: provider imports stay in constructs_lib
    from constructs_lib.firewalls import FirewallInboundRule, RoleFirewalls
    from constructs_lib.service_graph import LOAD_BALANCER, WORLD

    original = RoleFirewalls._inbound

    def from_everywhere(edge, env, admin_cidrs, load_balancer_id):
        if edge.source == LOAD_BALANCER:
            return FirewallInboundRule(protocol=edge.protocol, port_range=edge.ports, source_addresses=list(WORLD))
        return original(edge, env, admin_cidrs, load_balancer_id)

    monkeypatch.setattr(RoleFirewalls, "_inbound", staticmethod(from_everywhere))


def ssh_from_a_slash_8(monkeypatch):
    # The loader refuses admin ranges broader than /16; the check is the second line of defence.
    return _with_env("development", admin_cidrs=["10.0.0.0/8"])


def postgres_from_admin_networks(monkeypatch):
    """Admins get psql straight to the database: a data port opened to an address list."""
    from constructs_lib.service_graph import ADMIN, Edge

    _extend_graph(monkeypatch, Edge(ADMIN, "db", "5432", why="psql from the office"))


def app_to_cache_on_every_port(monkeypatch):
    from constructs_lib.service_graph import Edge

    _extend_graph(monkeypatch, Edge("app", "cache", "1-65535", why="whatever the cache needs"))


def app_out_on_every_port(monkeypatch):
    from constructs_lib.service_graph import INTERNET, Edge

    _extend_graph(monkeypatch, Edge("app", INTERNET, "1-65535", why="outside APIs on any port"))


def cache_pool_outside_the_vpc(monkeypatch):
    import stacks.environment_stack as environment_stack

    _wrap(monkeypatch, environment_stack, "PoolSpec",
          lambda spec: {**spec, "vpc_id": None} if spec["role"] == "cache" else spec)


def db_pool_without_monitoring(monkeypatch):
    import constructs_lib.droplet_pool as droplet_pool

    _wrap(monkeypatch, droplet_pool, "Droplet", _for_role("db", monitoring=False))


def no_ssh_keys(monkeypatch):
    # The loader requires at least one key; an empty list would let DigitalOcean mail root passwords.
    return _with_env("development", ssh_keys=[])


def role_tag_renamed(monkeypatch):
    """The pool tags its Droplets `component:<role>`, so nothing keyed on `role:` finds them."""
    from constructs_lib import tags

    monkeypatch.setattr(tags, "role_tag", lambda role: f"component:{role}")


def production_without_backups(monkeypatch):
    # The loader allows backups = "off" in production; only the check catches it.
    return _with_env("production", backups="off")


def https_listener_without_certificate(monkeypatch):
    import constructs_lib.load_balancer as load_balancer

    _wrap(monkeypatch, load_balancer, "LoadbalancerForwardingRule",
          lambda rule: {**rule, "certificate_name": None} if rule["entry_port"] == 443 else rule)


def load_balancer_serving_plain_http(monkeypatch):
    import constructs_lib.load_balancer as load_balancer

    _wrap(monkeypatch, load_balancer, "Loadbalancer", lambda lb: {**lb, "redirect_http_to_https": False})


def health_check_without_path(monkeypatch):
    import constructs_lib.load_balancer as load_balancer

    monkeypatch.setattr(load_balancer, "HEALTH_PATH", None)


def dns_record_not_proxied(monkeypatch):
    import constructs_lib.edge as edge

    _wrap(monkeypatch, edge, "DnsRecord", lambda record: {**record, "proxied": False})


def zone_setting(setting_id: str, value: str) -> MakeVariant:
    def make(monkeypatch):
        import constructs_lib.edge as edge

        monkeypatch.setitem(edge.ZONE_SETTINGS, setting_id, value)

    make.__name__ = f"zone_{setting_id}_{value}"
    return make


def slack_webhook_written_into_the_stack(monkeypatch):
    """The stack hands the alerts the webhook URL itself instead of the sensitive variable."""
    import stacks.environment_stack as environment_stack

    _wrap(monkeypatch, environment_stack, "Alerts", lambda alerts: {**alerts, "slack_webhook_url": FAKE_SLACK_WEBHOOK})


ALL_FIREWALLS = frozenset(
    f"digitalocean_firewall.firewalls_{role}" for role in ("app", "db", "search", "cache", "monitoring")
)
DEVELOPMENT_DROPLETS = frozenset(
    f"digitalocean_droplet.{name}_1" for name in ("app_blue", "app_green", "db", "search", "cache", "monitoring")
)
PRODUCTION_DROPLETS = frozenset(
    [f"digitalocean_droplet.app_{colour}_{i}" for colour in ("blue", "green") for i in (1, 2)]
    + [f"digitalocean_droplet.{role}_1" for role in ("db", "search", "cache", "monitoring")]
)
LOAD_BALANCER = frozenset({"digitalocean_loadbalancer.ingress_lb"})
STAGING_ALERTS = frozenset(
    [f"digitalocean_monitor_alert.alerts_{metric}" for metric in ("cpu", "memory", "disk")]
    + [f"digitalocean_uptime_alert.alerts_{kind}" for kind in ("latency", "down")]
)

VARIANTS: dict[str, Variant] = {
    "HUB_DO_1": Variant("development", frozenset({"digitalocean_firewall.firewalls_app"}),
                        "tcp 8080 is open to the whole Internet", app_port_open_to_the_world),
    "HUB_DO_2": Variant("development", ALL_FIREWALLS, "SSH reachable from 10.0.0.0/8", ssh_from_a_slash_8),
    "HUB_DO_3": Variant("development", frozenset({"digitalocean_firewall.firewalls_db"}),
                        "exposes 5432 (PostgreSQL) to an address list", postgres_from_admin_networks),
    "HUB_DO_4": Variant("development", frozenset({"digitalocean_firewall.firewalls_cache"}),
                        "tcp all ports from hub:development:app: opens all ports", app_to_cache_on_every_port),
    "HUB_DO_5": Variant("development", frozenset({"digitalocean_firewall.firewalls_app"}),
                        "outbound tcp on all ports is open to the whole Internet", app_out_on_every_port),
    "HUB_DO_6": Variant("development", frozenset({"digitalocean_droplet.cache_1"}),
                        "vpc_uuid is not set", cache_pool_outside_the_vpc),
    "HUB_DO_7": Variant("development", frozenset({"digitalocean_droplet.db_1"}),
                        "monitoring is False, not a literal true", db_pool_without_monitoring),
    "HUB_DO_8": Variant("development", DEVELOPMENT_DROPLETS, "ssh_keys is missing or empty", no_ssh_keys),
    "HUB_DO_9": Variant("development", DEVELOPMENT_DROPLETS, "no literal role:<value> tag", role_tag_renamed),
    "HUB_DO_10": Variant("production", PRODUCTION_DROPLETS, "tagged env:production but backups is not true",
                         production_without_backups),
    "HUB_DO_11": Variant("development", LOAD_BALANCER, "no forwarding_rule on 443", https_listener_without_certificate),
    "HUB_DO_12": Variant("development", LOAD_BALANCER, "redirect_http_to_https is False",
                         load_balancer_serving_plain_http),
    "HUB_DO_13": Variant("development", LOAD_BALANCER, "healthcheck protocol 'http' needs a path",
                         health_check_without_path),
    "HUB_CF_1": Variant("development", frozenset({"cloudflare_dns_record.edge_record_dev_communityhub_dev"}),
                        "A record with proxied = False", dns_record_not_proxied),
    "HUB_CF_2": Variant("staging", frozenset({"cloudflare_zone_setting.edge_setting_ssl"}),
                        "ssl is 'full', not 'strict'", zone_setting("ssl", "full")),
    "HUB_CF_3": Variant("staging", frozenset({"cloudflare_zone_setting.edge_setting_min_tls_version"}),
                        "min_tls_version is '1.0'", zone_setting("min_tls_version", "1.0")),
    "HUB_CF_4": Variant("staging", frozenset({"cloudflare_zone_setting.edge_setting_always_use_https"}),
                        "always_use_https is 'off', not 'on'", zone_setting("always_use_https", "off")),
    "HUB_GEN_1": Variant("staging", STAGING_ALERTS, "looks like a Slack webhook URL",
                         slack_webhook_written_into_the_stack),
}


def test_every_check_has_a_failing_variant():
    assert sorted(VARIANTS) == sorted(CHECK_IDS)


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_variant_fails_exactly_that_check(check_id, checked_in, monkeypatch, tmp_path):
    variant = VARIANTS[check_id]
    config = variant.make(monkeypatch) or checked_in_config()

    doc = synthesize(tmp_path, {variant.env: config.environments[variant.env]}, config)[variant.env]

    base_failures, _ = run_checks(checked_in[variant.env])
    failures, _ = run_checks(doc)
    base = {(f.check_id, f.address) for f in base_failures}
    new = [f for f in failures if (f.check_id, f.address) not in base]
    # Only this check, and only on the resources the change touched: it fails for exactly that reason.
    assert {(f.check_id, f.address) for f in new} == {(check_id, address) for address in variant.addresses}
    for failure in new:
        assert any(variant.detail in detail for detail in failure.details), failure
