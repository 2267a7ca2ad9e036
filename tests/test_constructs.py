"""Unit tests of the constructs, read from the synthesized JSON (never from the Python objects,
which can differ: jsii drops what it cannot map)."""

from __future__ import annotations

import json

import pytest

from constructs_lib.security_headers import required_headers
from constructs_lib.service_graph import ROLES
from tests.conftest import checked_in_config, synth_env


def resources(doc: dict, rtype: str) -> dict:
    return doc.get("resource", {}).get(rtype, {})


@pytest.mark.parametrize("env", ["development", "staging", "production"])
def test_droplets_are_private_monitored_keyed_and_tagged(synthesized, env):
    doc = synthesized(env)
    droplets = resources(doc, "digitalocean_droplet")
    assert droplets
    for name, d in droplets.items():
        assert d["vpc_uuid"] == "${digitalocean_vpc.network_vpc.id}", name
        assert d["monitoring"] is True
        assert d["ssh_keys"] == checked_in_config().environments[env].ssh_keys
        role = name.split("_")[0]
        assert f"env:{env}" in d["tags"] and f"role:{role}" in d["tags"] and f"hub:{env}:{role}" in d["tags"]
        if role == "app":
            colour = name.split("_")[1]
            assert f"color:{colour}" in d["tags"] and f"hub:{env}:app:{colour}" in d["tags"]
            assert "/etc/community-hub/release" in d["user_data"]


def test_pools_per_role_and_colour(synthesized):
    names = set(resources(synthesized("production"), "digitalocean_droplet"))
    assert names == {"app_blue_1", "app_blue_2", "app_green_1", "app_green_2", "db_1", "search_1", "cache_1", "monitoring_1"}


def test_each_colour_runs_its_release(synthesized):
    droplets = resources(synthesized("production"), "digitalocean_droplet")
    assert '"1.7.3\\n"' in droplets["app_blue_1"]["user_data"]
    assert '"1.8.0\\n"' in droplets["app_green_1"]["user_data"]


def test_backups_on_in_production_off_in_development(synthesized):
    for d in resources(synthesized("production"), "digitalocean_droplet").values():
        assert d["backups"] is True and d["backup_policy"]["plan"] == "weekly"
    for d in resources(synthesized("development"), "digitalocean_droplet").values():
        assert d["backups"] is False


@pytest.mark.parametrize("env,protected", [("development", False), ("staging", True), ("production", True)])
def test_data_volumes_and_prevent_destroy(synthesized, env, protected):
    doc = synthesized(env)
    volumes = resources(doc, "digitalocean_volume")
    assert set(volumes) == {"db_volume_1", "search_volume_1"}
    for v in volumes.values():
        assert v["lifecycle"]["prevent_destroy"] is protected
    droplets = resources(doc, "digitalocean_droplet")
    assert droplets["db_1"]["volume_ids"] == ["${digitalocean_volume.db_volume_1.id}"]


@pytest.mark.parametrize("env,colour", [("production", "blue"), ("staging", "green")])
def test_load_balancer_targets_the_active_colour(synthesized, env, colour):
    lb = resources(synthesized(env), "digitalocean_loadbalancer")["ingress_lb"]
    assert lb["droplet_tag"] == f"hub:{env}:app:{colour}"
    assert lb["vpc_uuid"] == "${digitalocean_vpc.network_vpc.id}"
    https = [r for r in lb["forwarding_rule"] if r["entry_protocol"] == "https"]
    assert https == [
        {
            "certificate_name": "${digitalocean_certificate.origin_certificate.name}",
            "entry_port": 443,
            "entry_protocol": "https",
            "target_port": 8080,
            "target_protocol": "http",
        }
    ]
    assert lb["redirect_http_to_https"] is True
    assert lb["healthcheck"]["path"] == "/health"


def test_switching_colour_moves_only_the_load_balancer():
    config = checked_in_config()
    env = config.environments["production"].model_copy(update={"active_color": "green"})
    doc = synth_env("production", config, env)
    assert resources(doc, "digitalocean_loadbalancer")["ingress_lb"]["droplet_tag"] == "hub:production:app:green"


def test_origin_certificate_is_a_cloudflare_origin_ca_certificate(synthesized):
    doc = synthesized("production")
    cert = resources(doc, "digitalocean_certificate")["origin_certificate"]
    assert cert["type"] == "custom"
    assert cert["leaf_certificate"] == "${cloudflare_origin_ca_certificate.origin_origin_ca.certificate}"
    assert cert["private_key"] == "${tls_private_key.origin_key.private_key_pem}"
    origin = resources(doc, "cloudflare_origin_ca_certificate")["origin_origin_ca"]
    assert origin["hostnames"] == ["communityhub.org", "www.communityhub.org"]


def test_a_replacement_origin_certificate_gets_a_new_name(synthesized):
    # create_before_destroy makes the new certificate while the old one still exists, and
    # DigitalOcean refuses a second certificate of the same name: the name must follow the content.
    cert = resources(synthesized("production"), "digitalocean_certificate")["origin_certificate"]
    assert cert["lifecycle"]["create_before_destroy"] is True
    assert cert["name"] == (
        "community-hub-production-origin-"
        "${substr(sha1(cloudflare_origin_ca_certificate.origin_origin_ca.certificate), 0, 10)}"
    )


def _rules(fw: dict, direction: str) -> set[tuple]:
    out = set()
    for r in fw.get(f"{direction}_rule", []):
        peers = tuple(sorted(r.get("source_tags", []) + r.get("destination_tags", [])))
        addrs = tuple(sorted(r.get("source_addresses", []) + r.get("destination_addresses", [])))
        lbs = tuple(r.get("source_load_balancer_uids", []))
        out.add((r["protocol"], r["port_range"], peers, addrs, lbs))
    return out


def test_firewalls_follow_the_service_graph(synthesized):
    fws = resources(synthesized("production"), "digitalocean_firewall")
    assert set(fws) == {f"firewalls_{r}" for r in ROLES}
    admin = ("198.51.100.16/28", "203.0.113.0/24")
    lb = ("${digitalocean_loadbalancer.ingress_lb.id}",)
    assert _rules(fws["firewalls_db"], "inbound") == {
        ("tcp", "5432", ("hub:production:app",), (), ()),
        ("tcp", "9100", ("hub:production:monitoring",), (), ()),
        ("tcp", "22", (), admin, ()),
    }
    assert _rules(fws["firewalls_app"], "inbound") == {
        ("tcp", "8080", (), (), lb),
        ("tcp", "8080", ("hub:production:monitoring",), (), ()),
        ("tcp", "9100", ("hub:production:monitoring",), (), ()),
        ("tcp", "22", (), admin, ()),
    }
    app_out = _rules(fws["firewalls_app"], "outbound")
    assert ("tcp", "5432", ("hub:production:db",), (), ()) in app_out
    assert ("tcp", "6379", ("hub:production:cache",), (), ()) in app_out
    assert ("tcp", "9200", ("hub:production:search",), (), ()) in app_out
    for fw in fws.values():
        assert fw["tags"] == [f"hub:production:{fw['name'].rsplit('-', 1)[1]}"]


def test_no_rule_opens_anything_but_web_ports_to_the_world(synthesized):
    for env in ("development", "staging", "production"):
        for fw in resources(synthesized(env), "digitalocean_firewall").values():
            for rule in fw.get("inbound_rule", []):
                assert not {"0.0.0.0/0", "::/0"} & set(rule.get("source_addresses", [])), rule
            for rule in fw.get("outbound_rule", []):
                if {"0.0.0.0/0", "::/0"} & set(rule.get("destination_addresses", [])):
                    assert rule["port_range"] in {"53", "123", "80", "443"}, rule


def test_edge_in_the_owning_stack(synthesized):
    doc = synthesized("production")
    records = resources(doc, "cloudflare_dns_record")
    assert {r["name"] for r in records.values()} == {"communityhub.org", "www.communityhub.org"}
    for r in records.values():
        assert r["proxied"] is True and r["ttl"] == 1 and r["content"] == "${digitalocean_loadbalancer.ingress_lb.ip}"
    settings = {s["setting_id"]: s["value"] for s in resources(doc, "cloudflare_zone_setting").values()}
    assert settings == {"ssl": "strict", "always_use_https": "on", "min_tls_version": "1.2", "tls_1_3": "on"}
    assert doc["data"]["cloudflare_zone"]["edge_zone"]["filter"] == {"name": "communityhub.org"}


def test_security_headers_reach_the_json(synthesized):
    """The headers must survive jsii: a plain dict would be dropped silently."""
    ruleset = resources(synthesized("production"), "cloudflare_ruleset")["edge_security_headers"]
    assert ruleset["kind"] == "zone" and ruleset["phase"] == "http_response_headers_transform"
    (rule,) = ruleset["rules"]
    assert rule["expression"] == "true" and rule["action"] == "rewrite"
    headers = {k: v["value"] for k, v in rule["action_parameters"]["headers"].items()}
    csp = checked_in_config().zones["communityhub.org"].content_security_policy
    assert headers == required_headers(csp)
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_non_owner_stack_adds_only_records(synthesized):
    doc = synthesized("development")
    assert not resources(doc, "cloudflare_ruleset") and not resources(doc, "cloudflare_zone_setting")
    assert [r["name"] for r in resources(doc, "cloudflare_dns_record").values()] == ["dev.communityhub.dev"]


def test_created_zone():
    config = checked_in_config()
    zones = dict(config.zones)
    zones["communityhub.org"] = zones["communityhub.org"].model_copy(update={"create": True, "account_id": "0" * 32})
    doc = synth_env("production", config.model_copy(update={"zones": zones}))
    zone = resources(doc, "cloudflare_zone")["edge_zone"]
    assert zone == {**zone, "name": "communityhub.org", "account": {"id": "0" * 32}, "type": "full"}
    assert "data" not in doc or "cloudflare_zone" not in doc["data"]


def test_alerts_from_thresholds(synthesized):
    doc = synthesized("staging")
    alerts = resources(doc, "digitalocean_monitor_alert")
    by_type = {a["type"]: a for a in alerts.values()}
    assert by_type["v1/insights/droplet/cpu"]["value"] == 80
    assert by_type["v1/insights/droplet/memory_utilization_percent"]["value"] == 85
    assert "v1/insights/droplet/disk_utilization_percent" in by_type
    for a in alerts.values():
        assert a["compare"] == "GreaterThan" and a["tags"] == ["env:staging"]
        assert a["alerts"]["email"] == ["ops@communityhub.org"]
        assert a["alerts"]["slack"] == [{"channel": "#hub-staging-alerts", "url": "${var.slack_webhook_url}"}]
    assert doc["variable"]["slack_webhook_url"]["sensitive"] is True
    uptime = resources(doc, "digitalocean_uptime_alert")
    assert uptime["alerts_latency"]["threshold"] == 200 and uptime["alerts_latency"]["type"] == "latency"
    assert uptime["alerts_down"]["type"] == "down"
    assert resources(doc, "digitalocean_uptime_check")["alerts_uptime"]["target"] == "https://staging.communityhub.dev/health"


def test_project_holds_the_resources(synthesized):
    doc = synthesized("staging")
    project = resources(doc, "digitalocean_project")["project_project"]
    assert project["environment"] == "Staging"
    assert "${digitalocean_droplet.db_1.urn}" in project["resources"]
    assert "${digitalocean_loadbalancer.ingress_lb.urn}" in project["resources"]
    assert "${digitalocean_volume.db_volume_1.urn}" in project["resources"]


def test_outputs(synthesized):
    outputs = synthesized("production")["output"]
    assert set(outputs) == {"load_balancer_ip", "urls", "private_ips", "project_id"}
    assert outputs["private_ips"]["value"]["db"] == ["${digitalocean_droplet.db_1.ipv4_address_private}"]


def test_local_state_uses_a_relative_path(synthesized):
    assert synthesized("staging")["terraform"]["backend"] == {"local": {"path": "terraform.staging.tfstate"}}


def test_remote_state_on_spaces():
    config = checked_in_config()
    state = config.state.model_copy(update={"bucket": "hub-tfstate"})
    doc = synth_env("staging", config.model_copy(update={"state": state}))
    s3 = doc["terraform"]["backend"]["s3"]
    assert s3["bucket"] == "hub-tfstate" and s3["key"] == "community-hub/staging.tfstate"
    assert s3["endpoints"] == {"s3": "https://fra1.digitaloceanspaces.com"}
    assert s3["use_lockfile"] is True
    for flag in ("skip_credentials_validation", "skip_region_validation", "skip_requesting_account_id", "skip_s3_checksum"):
        assert s3[flag] is True
    assert "access_key" not in s3 and "secret_key" not in s3


def test_no_secret_and_no_provider_token_in_output(synthesized):
    for env in ("development", "staging", "production"):
        text = json.dumps(synthesized(env))
        assert "token" not in json.dumps(synthesized(env).get("provider", {}))
        assert "hooks.slack.com" not in text and "PRIVATE KEY" not in text


def test_a_tag_with_a_final_newline_is_refused():
    from constructs_lib import tags

    with pytest.raises(ValueError, match="is not a valid DigitalOcean tag"):
        tags.ttl_tag("7d\n")
