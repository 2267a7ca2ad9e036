"""Tests for the hub's Checkov custom checks in policies/checks/.

Checks receive their input the way Checkov presents terraform_json: `checkov_conf` runs Checkov's
own converter over a plain resource body, and one test proves that matches what Checkov's parser
builds from a file. One slow test runs the real `checkov` command over tests/policies/data/checks/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from checkov.common.models.enums import CheckResult

from policies.checks import all_checks, covered_resource_types
from policies.checks._rules import (
    ALL_PORTS,
    PortRange,
    broader_than,
    checkov_conf,
    find_secrets,
    firewall_rules,
    is_world,
    parse_port_range,
    world_open_ports,
)
from policies.findings import Severity

PROJECT = Path(__file__).resolve().parents[2]
CHECKS_DIR = PROJECT / "policies" / "checks"
DATA = Path(__file__).resolve().parent / "data" / "checks"
CHECKS = {check.id: check for check in all_checks()}

PASSED, FAILED = CheckResult.PASSED, CheckResult.FAILED

# Fake secrets are assembled at run time so no secret scanner trips over this file.
FAKE_DO_TOKEN = "dop_v1_" + "0123456789abcdef" * 4
FAKE_PEM = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
FAKE_SLACK = "https://hooks.slack.com/" + "services/T0000/B0000/abcdefABCDEF1234"


def evaluate(check_id: str, resource_type: str, body: dict) -> tuple[CheckResult, list[str]]:
    return CHECKS[check_id].evaluate(checkov_conf(body), resource_type)


def firewall(inbound=(), outbound=()) -> dict:
    return {"name": "fw", "tags": ["role:app"], "inbound_rule": list(inbound), "outbound_rule": list(outbound)}


def rule(protocol="tcp", ports="443", addresses=None, **peers) -> dict:
    body = {"protocol": protocol}
    if ports is not None:
        body["port_range"] = ports
    if addresses is not None:
        body["source_addresses"] = addresses
    body.update(peers)
    return body


def out_rule(protocol="tcp", ports="443", addresses=("0.0.0.0/0", "::/0")) -> dict:
    body = {"protocol": protocol, "destination_addresses": list(addresses)}
    if ports is not None:
        body["port_range"] = ports
    return body


WORLD = ["0.0.0.0/0", "::/0"]
WEB = [rule(ports="443", addresses=WORLD), rule(ports="80", addresses=WORLD)]

GOOD_DROPLET = {
    "name": "db-1",
    "size": "s-2vcpu-4gb",
    "vpc_uuid": "${digitalocean_vpc.vpc.id}",
    "monitoring": True,
    "ssh_keys": ["1234"],
    "tags": ["env:production", "role:db"],
    "backups": True,
}

GOOD_LB = {
    "forwarding_rule": [
        {"entry_port": 443, "entry_protocol": "https", "target_port": 8080, "target_protocol": "http",
         "certificate_name": "${digitalocean_certificate.origin.name}"},
        {"entry_port": 80, "entry_protocol": "http", "target_port": 8080, "target_protocol": "http"},
    ],
    "redirect_http_to_https": True,
    "healthcheck": {"protocol": "http", "port": 8080, "path": "/health"},
}


def droplet(**changes) -> dict:
    body = dict(GOOD_DROPLET, **changes)
    return {key: value for key, value in body.items() if value is not None}


def loadbalancer(**changes) -> dict:
    body = dict(GOOD_LB, **changes)
    return {key: value for key, value in body.items() if value is not None}


def setting(setting_id: str, value) -> dict:
    return {"zone_id": "z", "setting_id": setting_id, "value": value}


def config_rules(parameters: dict, phase: str = "http_config_settings", **rule) -> dict:
    """A cloudflare_ruleset of configuration rules: one rule that sets `parameters` for every request."""
    rules = [{"action": "set_config", "expression": "true", "action_parameters": parameters, **rule}]
    return {"zone_id": "z", "name": "config", "kind": "zone", "phase": phase, "rules": rules}


def override(written: dict | None = None, **template) -> dict:
    """A provider v4 cloudflare_zone_settings_override with a dynamic `settings` block of `template`."""
    body = {"zone_id": "z", "dynamic": {"settings": {"for_each": ["${var.plan}"], "content": template}}}
    return {**body, "settings": written} if written else body


# (check id, resource type, body, expected result, id of the case)
CASES = [
    # HUB_DO_1: nothing inbound from the whole Internet (80/443 belong to the load balancer)
    ("HUB_DO_1", "digitalocean_firewall", firewall([rule(ports="443", source_load_balancer_uids=["${lb.id}"])]),
     PASSED, "web port from the load balancer"),
    ("HUB_DO_1", "digitalocean_firewall", firewall(WEB), FAILED, "web ports from the Internet skip the load balancer"),
    ("HUB_DO_1", "digitalocean_firewall", firewall([rule(protocol="%{if true}tcp%{endif}", ports="22", addresses=WORLD)]),
     FAILED, "a template directive decides the protocol"),
    ("HUB_DO_1", "digitalocean_firewall", firewall([rule(protocol="tcp6", ports="22", addresses=WORLD)]),
     FAILED, "a protocol no firewall knows counts as any"),
    ("HUB_DO_1", "digitalocean_firewall", firewall([rule(ports=443, addresses=WORLD)]), FAILED, "numeric port"),
    ("HUB_DO_1", "digitalocean_firewall", firewall([*WEB, rule(ports="8080", addresses=["::/0"])]), FAILED,
     "IPv6 ::/0 only rule"),
    ("HUB_DO_1", "digitalocean_firewall",
     firewall([*WEB, rule(ports="5432", addresses=["0.0.0.0/0"])]), FAILED, "safe rules then world 5432"),
    ("HUB_DO_1", "digitalocean_firewall",
     firewall([rule(ports="8080", addresses=["0.0.0.0/1", "128.0.0.0/1"])]), FAILED, "two halves in one rule"),
    ("HUB_DO_1", "digitalocean_firewall",
     firewall([rule(ports="8080", addresses=["0.0.0.0/1"]), rule(ports="8000-9000", addresses=["128.0.0.0/1"])]),
     FAILED, "two halves across rules"),
    ("HUB_DO_1", "digitalocean_firewall",
     firewall([rule(ports="8080", addresses=["0.0.0.0/1"])]), FAILED, "half of IPv4 is the Internet at large"),
    ("HUB_DO_1", "digitalocean_firewall",
     firewall([rule(ports="8080", addresses=["1.0.0.0/8", "2001:db8::/32"])]), PASSED, "a /8 is not"),
    ("HUB_DO_1", "digitalocean_firewall",
     firewall([rule(ports="8080", addresses=["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/3"])]), FAILED,
     "all public IPv4 without 0.0.0.0/0"),
    ("HUB_DO_1", "digitalocean_firewall", firewall([rule(ports="8080", addresses=["2000::/3"])]), FAILED,
     "all global IPv6 without ::/0"),
    ("HUB_DO_1", "digitalocean_firewall", firewall([rule(ports="80-443", addresses=WORLD)]), FAILED,
     "80-443 also opens 81-442"),
    ("HUB_DO_1", "digitalocean_firewall", firewall([rule(protocol="udp", ports="443", addresses=WORLD)]), FAILED,
     "udp 443 is not tcp 443"),
    ("HUB_DO_1", "digitalocean_firewall", firewall([rule(protocol="icmp", ports=None, addresses=WORLD)]), FAILED,
     "icmp from the world"),
    ("HUB_DO_1", "digitalocean_firewall", firewall([rule(ports="8080", addresses=["${var.allowed}"])]), FAILED,
     "reference address counts as the world"),
    ("HUB_DO_1", "digitalocean_firewall", firewall([rule(ports="8080", source_tags=["role:lb"])]), PASSED,
     "tags are not the world"),
    # HUB_DO_2: SSH
    ("HUB_DO_2", "digitalocean_firewall", firewall([*WEB, rule(ports="22", addresses=["203.0.113.0/24"])]), PASSED,
     "admin /24"),
    ("HUB_DO_2", "digitalocean_firewall", firewall([rule(ports="22", addresses=["2001:db8::/32", "10.1.0.0/16"])]),
     PASSED, "limits themselves are allowed"),
    ("HUB_DO_2", "digitalocean_firewall",
     firewall([rule(protocol="%{if true}tcp%{endif}", ports="22", addresses=["0.0.0.0/0"])]), FAILED,
     "SSH behind a template directive"),
    ("HUB_DO_2", "digitalocean_firewall", firewall([rule(ports="22", source_tags=["role:bastion"])]), PASSED,
     "from tags"),
    ("HUB_DO_2", "digitalocean_firewall", firewall([*WEB, rule(ports="22", addresses=["0.0.0.0/0"])]), FAILED,
     "SSH from the world as the third rule"),
    ("HUB_DO_2", "digitalocean_firewall", firewall([rule(ports="22", addresses=["10.0.0.0/15"])]), FAILED,
     "IPv4 broader than /16"),
    ("HUB_DO_2", "digitalocean_firewall", firewall([rule(ports="22", addresses=["2001:db8::/31"])]), FAILED,
     "IPv6 broader than /32"),
    ("HUB_DO_2", "digitalocean_firewall", firewall([rule(ports="20-30", addresses=["0.0.0.0/0"])]), FAILED,
     "range containing 22"),
    ("HUB_DO_2", "digitalocean_firewall", firewall([rule(ports="all", addresses=["::/0"])]), FAILED,
     "all ports from ::/0"),
    ("HUB_DO_2", "digitalocean_firewall", firewall([rule(ports="22", addresses="${var.admin_cidrs}")]), FAILED,
     "unreadable reference fails closed"),
    ("HUB_DO_2", "digitalocean_firewall", firewall([rule(protocol="udp", ports="22", addresses=WORLD)]), PASSED,
     "udp 22 is not SSH"),
    # HUB_DO_3: data ports only from peers
    ("HUB_DO_3", "digitalocean_firewall", firewall([*WEB, rule(ports="5432", source_tags=["role:app"])]), PASSED,
     "postgres from tags"),
    ("HUB_DO_3", "digitalocean_firewall",
     firewall([rule(ports="9200", addresses=[], source_droplet_ids=[123])]), PASSED, "empty address list"),
    ("HUB_DO_3", "digitalocean_firewall",
     firewall([rule(ports="443", addresses=WORLD), rule(ports="5432", addresses=["0.0.0.0/0"])]), FAILED,
     "safe first rule then world 5432"),
    ("HUB_DO_3", "digitalocean_firewall", firewall([rule(ports="6379", addresses=["10.10.0.0/24"])]), FAILED,
     "redis from a private range"),
    ("HUB_DO_3", "digitalocean_firewall", firewall([rule(ports="9000-9500", addresses=["203.0.113.7"])]), FAILED,
     "range containing 9100/9200/9300"),
    ("HUB_DO_3", "digitalocean_firewall", firewall([rule(ports="1-65535", addresses=["203.0.113.7"])]), FAILED,
     "all ports from an address"),
    # HUB_DO_4: no all-ports inbound rule
    ("HUB_DO_4", "digitalocean_firewall", firewall([*WEB, rule(ports="8000-8100", source_tags=["x"])]), PASSED,
     "narrow ranges"),
    ("HUB_DO_4", "digitalocean_firewall", firewall([rule(protocol="icmp", ports=None, source_tags=["x"])]), PASSED,
     "icmp has no ports"),
    ("HUB_DO_4", "digitalocean_firewall", firewall([*WEB, rule(ports="1-65535", source_tags=["x"])]), FAILED,
     "1-65535 from tags"),
    ("HUB_DO_4", "digitalocean_firewall", firewall([rule(ports="all", source_tags=["x"])]), FAILED, "all"),
    ("HUB_DO_4", "digitalocean_firewall", firewall([rule(ports="2-65535", source_tags=["x"])]), FAILED, "all but one"),
    ("HUB_DO_4", "digitalocean_firewall", firewall([rule(ports="1024-65535", source_tags=["x"])]), FAILED,
     "every unprivileged port"),
    ("HUB_DO_4", "digitalocean_firewall", firewall([rule(protocol="udp", ports="0", source_tags=["x"])]), FAILED,
     "0 means all"),
    ("HUB_DO_4", "digitalocean_firewall", firewall([rule(ports=None, source_tags=["x"])]), FAILED,
     "tcp without port_range"),
    # HUB_DO_5: outbound not wide open
    ("HUB_DO_5", "digitalocean_firewall",
     firewall(outbound=[out_rule("udp", "53"), out_rule("tcp", "443"), out_rule("icmp", None)]), PASSED,
     "named ports"),
    ("HUB_DO_5", "digitalocean_firewall", firewall(outbound=[out_rule("tcp", "all", ["10.0.0.0/8"])]), PASSED,
     "all ports inside the VPC"),
    ("HUB_DO_5", "digitalocean_firewall",
     firewall(outbound=[out_rule("udp", "53"), out_rule("tcp", "1-65535", ["0.0.0.0/0"])]), FAILED,
     "all tcp to the IPv4 world"),
    ("HUB_DO_5", "digitalocean_firewall", firewall(outbound=[out_rule("tcp", "1-65534", ["0.0.0.0/0"])]), FAILED,
     "all tcp but one port to the world"),
    ("HUB_DO_5", "digitalocean_firewall", firewall(outbound=[out_rule("udp", "all", ["::/0"])]), FAILED,
     "IPv6 ::/0 only"),
    ("HUB_DO_5", "digitalocean_firewall",
     firewall(outbound=[out_rule("tcp", "1-32767"), out_rule("tcp", "32768-65535")]), FAILED, "split all ports"),
    ("HUB_DO_5", "digitalocean_firewall",
     firewall(outbound=[out_rule("tcp", "1-30000"), out_rule("tcp", "30002-65535")]), FAILED,
     "all ports but one, split around it"),
    ("HUB_DO_5", "digitalocean_firewall",
     firewall(outbound=[out_rule("tcp", "1-30000"), out_rule("tcp", "40000-65535")]), PASSED,
     "ten thousand ports shut"),
    # HUB_DO_6: VPC
    ("HUB_DO_6", "digitalocean_droplet", droplet(), PASSED, "reference vpc"),
    ("HUB_DO_6", "digitalocean_droplet", droplet(vpc_uuid=None), FAILED, "no vpc"),
    ("HUB_DO_6", "digitalocean_droplet", droplet(vpc_uuid=""), FAILED, "empty vpc"),
    ("HUB_DO_6", "digitalocean_droplet", droplet(vpc_uuid="%{if false}x%{endif}"), FAILED, "a template directive"),
    # HUB_DO_7: monitoring
    ("HUB_DO_7", "digitalocean_droplet", droplet(), PASSED, "monitoring true"),
    ("HUB_DO_7", "digitalocean_droplet", droplet(monitoring="true"), PASSED, "string true"),
    ("HUB_DO_7", "digitalocean_droplet", droplet(monitoring="1"), PASSED, "Terraform reads the string 1 as true"),
    ("HUB_DO_7", "digitalocean_droplet", droplet(monitoring=False), FAILED, "monitoring false"),
    ("HUB_DO_7", "digitalocean_droplet", droplet(monitoring="0"), FAILED, "the string 0 is false"),
    ("HUB_DO_7", "digitalocean_droplet", droplet(monitoring=None), FAILED, "monitoring missing"),
    ("HUB_DO_7", "digitalocean_droplet", droplet(monitoring="${var.monitoring}"), FAILED, "unknown monitoring"),
    # HUB_DO_8: ssh keys
    ("HUB_DO_8", "digitalocean_droplet", droplet(), PASSED, "one key"),
    ("HUB_DO_8", "digitalocean_droplet", droplet(ssh_keys="${data.digitalocean_ssh_keys.all.ssh_keys.*.id}"),
     PASSED, "whole-list reference"),
    ("HUB_DO_8", "digitalocean_droplet", droplet(ssh_keys=[]), FAILED, "empty list"),
    ("HUB_DO_8", "digitalocean_droplet", droplet(ssh_keys=None), FAILED, "missing"),
    # HUB_DO_9: env and role tags
    ("HUB_DO_9", "digitalocean_droplet", droplet(), PASSED, "env and role"),
    ("HUB_DO_9", "digitalocean_droplet", droplet(tags=["env:staging"]), FAILED, "no role"),
    ("HUB_DO_9", "digitalocean_droplet", droplet(tags=["env:", "role:db"]), FAILED, "empty env value"),
    ("HUB_DO_9", "digitalocean_droplet", droplet(tags=["${var.env_tag}", "role:db"]), FAILED, "reference env tag"),
    # HUB_DO_10: production backups
    ("HUB_DO_10", "digitalocean_droplet", droplet(), PASSED, "production with backups"),
    ("HUB_DO_10", "digitalocean_droplet", droplet(tags=["env:staging", "role:db"], backups=None), PASSED,
     "staging needs none"),
    ("HUB_DO_10", "digitalocean_droplet", droplet(backups=False), FAILED, "production without backups"),
    ("HUB_DO_10", "digitalocean_droplet", droplet(backups="1"), PASSED, "backups given as the string 1"),
    ("HUB_DO_10", "digitalocean_droplet", droplet(tags=["ENV:Production", "role:db"], backups=None), FAILED,
     "tag case does not matter"),
    ("HUB_DO_10", "digitalocean_droplet", droplet(tags=["env:prod", "role:db"], backups=False), FAILED,
     "env:prod is production too"),
    ("HUB_DO_10", "digitalocean_droplet", droplet(tags=["env:production-eu", "role:db"], backups=False), FAILED,
     "a production region"),
    # HUB_DO_11: https listener
    ("HUB_DO_11", "digitalocean_loadbalancer", loadbalancer(), PASSED, "https with certificate"),
    ("HUB_DO_11", "digitalocean_loadbalancer",
     loadbalancer(forwarding_rule=[{"entry_port": "443", "entry_protocol": "https", "target_port": 443,
                                    "target_protocol": "https", "tls_passthrough": True}]), PASSED, "tls passthrough"),
    ("HUB_DO_11", "digitalocean_loadbalancer", loadbalancer(forwarding_rule=[GOOD_LB["forwarding_rule"][1]]), FAILED,
     "http only"),
    ("HUB_DO_11", "digitalocean_loadbalancer",
     loadbalancer(forwarding_rule=[{"entry_port": 443, "entry_protocol": "https", "target_port": 8080,
                                    "target_protocol": "http"}]), FAILED, "https without certificate"),
    ("HUB_DO_11", "digitalocean_loadbalancer",
     loadbalancer(forwarding_rule=[dict(GOOD_LB["forwarding_rule"][0], certificate_name=False)]), FAILED,
     "a certificate name of false"),
    ("HUB_DO_11", "digitalocean_loadbalancer",
     loadbalancer(forwarding_rule=[dict(GOOD_LB["forwarding_rule"][0], entry_port=8443)]), FAILED, "not on 443"),
    ("HUB_DO_11", "digitalocean_loadbalancer",
     loadbalancer(forwarding_rule=[dict(GOOD_LB["forwarding_rule"][0], entry_protocol="tcp")]), FAILED, "tcp 443"),
    # HUB_DO_12: redirect
    ("HUB_DO_12", "digitalocean_loadbalancer", loadbalancer(), PASSED, "redirect on"),
    ("HUB_DO_12", "digitalocean_loadbalancer", loadbalancer(redirect_http_to_https=None), FAILED, "redirect missing"),
    ("HUB_DO_12", "digitalocean_loadbalancer", loadbalancer(redirect_http_to_https=False), FAILED, "redirect off"),
    ("HUB_DO_12", "digitalocean_loadbalancer", loadbalancer(redirect_http_to_https="1"), PASSED, "redirect as 1"),
    ("HUB_DO_12", "digitalocean_loadbalancer",
     loadbalancer(forwarding_rule=[*GOOD_LB["forwarding_rule"], {"entry_port": 8081, "entry_protocol": "http",
                                                                 "target_port": 8080, "target_protocol": "http"}]),
     FAILED, "plain http on a port the redirect does not cover"),
    ("HUB_DO_12", "digitalocean_loadbalancer",
     loadbalancer(forwarding_rule=[*GOOD_LB["forwarding_rule"], {"entry_port": 8080, "entry_protocol": "${var.proto}",
                                                                 "target_port": 8080, "target_protocol": "http"}]),
     FAILED, "a protocol expression on another port"),
    # HUB_DO_13: healthcheck
    ("HUB_DO_13", "digitalocean_loadbalancer", loadbalancer(), PASSED, "http with path"),
    ("HUB_DO_13", "digitalocean_loadbalancer", loadbalancer(healthcheck={"protocol": "tcp", "port": 5432}), PASSED,
     "tcp needs no path"),
    ("HUB_DO_13", "digitalocean_loadbalancer", loadbalancer(healthcheck=None), FAILED, "no healthcheck"),
    ("HUB_DO_13", "digitalocean_loadbalancer", loadbalancer(healthcheck={"protocol": "https", "port": 443}), FAILED,
     "https without path"),
    ("HUB_DO_13", "digitalocean_loadbalancer", loadbalancer(healthcheck={"protocol": "tcp"}), FAILED, "no port"),
    # HUB_CF_1: proxied records
    ("HUB_CF_1", "cloudflare_dns_record", {"name": "www", "type": "A", "content": "1.2.3.4", "proxied": True, "ttl": 1},
     PASSED, "proxied A"),
    ("HUB_CF_1", "cloudflare_dns_record", {"name": "www", "type": "A", "content": "1.2.3.4", "proxied": "1"},
     PASSED, "proxied as the string 1"),
    ("HUB_CF_1", "cloudflare_dns_record", {"name": "x", "type": "TXT", "content": "v=spf1 -all", "ttl": 1}, PASSED,
     "TXT needs no proxy"),
    ("HUB_CF_1", "cloudflare_dns_record", {"name": "www", "type": "AAAA", "content": "::1", "proxied": False, "ttl": 1},
     FAILED, "unproxied AAAA"),
    ("HUB_CF_1", "cloudflare_dns_record", {"name": "www", "type": "CNAME", "content": "lb.example.org", "ttl": 1},
     FAILED, "CNAME without proxied"),
    ("HUB_CF_1", "cloudflare_record", {"name": "www", "type": "A", "value": "1.2.3.4"}, FAILED, "provider v4 record"),
    # HUB_CF_2: ssl strict
    ("HUB_CF_2", "cloudflare_zone_setting", setting("ssl", "strict"), PASSED, "strict"),
    ("HUB_CF_2", "cloudflare_zone_setting", setting("brotli", "off"), PASSED, "other setting"),
    ("HUB_CF_2", "cloudflare_zone_setting",
     dict(setting("${each.key}", "${each.value}"), for_each={"brotli": "on", "http3": "on"}), PASSED,
     "a literal for_each map of other settings"),
    ("HUB_CF_2", "cloudflare_zone_setting",
     dict(setting("${each.key}", "${each.value}"), for_each={"ssl": "strict", "brotli": "on"}), PASSED,
     "a literal for_each map setting ssl strict"),
    ("HUB_CF_2", "cloudflare_zone_setting",
     dict(setting("${each.key}", "${each.value}"), for_each={"ssl": "flexible"}), FAILED,
     "a literal for_each map setting ssl flexible"),
    ("HUB_CF_2", "cloudflare_zone_setting",
     dict(setting("${each.key}", "${each.value}"), for_each="${var.settings}"), FAILED, "a for_each expression"),
    ("HUB_CF_2", "cloudflare_zone_setting", setting("ssl", "full"), FAILED, "full"),
    ("HUB_CF_2", "cloudflare_zone_setting", setting("ssl", "flexible"), FAILED, "flexible"),
    ("HUB_CF_2", "cloudflare_zone_setting", setting("ssl", "off"), FAILED, "off"),
    ("HUB_CF_2", "cloudflare_zone_settings_override", {"zone_id": "z", "settings": {"ssl": "full"}}, FAILED,
     "provider v4 override"),
    # HUB_CF_2: a configuration rule overrides the zone's ssl for the requests it matches
    ("HUB_CF_2", "cloudflare_ruleset", config_rules({"ssl": "strict"}), PASSED, "configuration rule, strict"),
    ("HUB_CF_2", "cloudflare_ruleset", config_rules({"ssl": "off"}), FAILED, "configuration rule, off"),
    ("HUB_CF_2", "cloudflare_ruleset", dict(config_rules({"ssl": "strict"}), rules="${var.rules}"), FAILED,
     "configuration rules as an expression"),
    ("HUB_CF_2", "cloudflare_ruleset", config_rules("${var.params}"), FAILED, "action_parameters as an expression"),
    ("HUB_CF_2", "cloudflare_ruleset", config_rules({"ssl": "flexible"}), FAILED, "configuration rule, flexible"),
    ("HUB_CF_2", "cloudflare_ruleset", config_rules({"ssl": "full"}), FAILED, "configuration rule, full"),
    ("HUB_CF_2", "cloudflare_ruleset", config_rules({"ssl": "${var.ssl}"}), FAILED, "configuration rule, unknown"),
    ("HUB_CF_2", "cloudflare_ruleset", config_rules({"ssl": "off"}, enabled=False), PASSED, "disabled rule"),
    ("HUB_CF_2", "cloudflare_ruleset", config_rules({"ssl": "off"}, enabled=None), FAILED, "enabled null is on"),
    ("HUB_CF_2", "cloudflare_ruleset", config_rules({"ssl": "off"}, enabled="${var.on}"), FAILED, "enabled unknown"),
    ("HUB_CF_2", "cloudflare_ruleset", config_rules({"ssl": "off"}, phase="http_request_origin"), PASSED,
     "another phase"),
    ("HUB_CF_2", "cloudflare_ruleset", config_rules({"ssl": "off"}, phase="${var.phase}"), FAILED, "unknown phase"),
    ("HUB_CF_2", "cloudflare_ruleset", config_rules({"automatic_https_rewrites": False}), PASSED,
     "configuration rule without ssl"),
    # HUB_CF_3: minimum TLS
    ("HUB_CF_3", "cloudflare_zone_setting", setting("min_tls_version", "1.2"), PASSED, "1.2"),
    ("HUB_CF_3", "cloudflare_zone_setting", setting("min_tls_version", "1.3"), PASSED, "1.3"),
    ("HUB_CF_3", "cloudflare_zone_setting", setting("min_tls_version", "1.1"), FAILED, "1.1"),
    ("HUB_CF_3", "cloudflare_zone_setting", setting("min_tls_version", "${var.tls}"), FAILED, "unknown version"),
    # str.isdigit() takes these, int() does not (or reads them): each must fail, never crash or pass
    ("HUB_CF_3", "cloudflare_zone_setting", setting("min_tls_version", "1.\u00b9"), FAILED, "superscript digit"),
    ("HUB_CF_3", "cloudflare_zone_setting", setting("min_tls_version", "\u0663.\u0663"), FAILED, "Arabic-Indic digits"),
    ("HUB_CF_3", "cloudflare_zone_setting", setting("min_tls_version", "1.2.3"), FAILED, "three parts"),
    ("HUB_CF_3", "cloudflare_zone_setting", setting("min_tls_version", 1.2), FAILED, "a number, not the string"),
    # HUB_CF_4: always use https
    ("HUB_CF_4", "cloudflare_zone_setting", setting("always_use_https", "on"), PASSED, "on"),
    ("HUB_CF_4", "cloudflare_zone_setting", setting("always_use_https", "off"), FAILED, "off"),
    # A setting_id from for_each may be any setting: its value is judged as this one's.
    ("HUB_CF_2", "cloudflare_zone_setting", setting("${each.key}", "${each.value}"), FAILED, "for_each setting_id"),
    ("HUB_CF_3", "cloudflare_zone_setting", setting("${each.key}", "${each.value}"), FAILED, "for_each setting_id"),
    ("HUB_CF_4", "cloudflare_zone_setting", setting("${each.key}", "${each.value}"), FAILED, "for_each setting_id"),
    ("HUB_CF_4", "cloudflare_zone_setting", setting("${each.key}", "on"), PASSED, "for_each setting_id, value on"),
    # provider v4: a dynamic settings block's template is judged beside the written blocks
    ("HUB_CF_2", "cloudflare_zone_settings_override", override(ssl="flexible"), FAILED, "v4 dynamic settings"),
    ("HUB_CF_2", "cloudflare_zone_settings_override", override({"ssl": "strict"}, ssl="full"), FAILED,
     "v4 dynamic settings beside written ones"),
    ("HUB_CF_2", "cloudflare_zone_settings_override", override(ssl="strict"), PASSED, "v4 dynamic settings, strict"),
    ("HUB_CF_3", "cloudflare_zone_settings_override", override(min_tls_version="1.0"), FAILED, "v4 dynamic settings"),
    ("HUB_CF_4", "cloudflare_zone_settings_override", override(always_use_https="off"), FAILED, "v4 dynamic settings"),
    # HUB_GEN_1: literal secrets
    ("HUB_GEN_1", "digitalocean_certificate",
     {"name": "origin", "type": "custom", "private_key": "${tls_private_key.origin.private_key_pem}",
      "leaf_certificate": "${cloudflare_origin_ca_certificate.origin.certificate}"}, PASSED, "private key reference"),
    ("HUB_GEN_1", "tls_cert_request", {"private_key_pem": "${tls_private_key.origin.private_key_pem}"}, PASSED,
     "pem reference"),
    ("HUB_GEN_1", "terraform_data", {"input": {"password": ""}}, PASSED, "empty password"),
    ("HUB_GEN_1", "digitalocean_droplet", droplet(name="password-reset-worker"), PASSED, "a name is not a secret"),
    ("HUB_GEN_1", "digitalocean_certificate", {"name": "origin", "type": "custom", "private_key": FAKE_PEM}, FAILED,
     "literal PEM"),
    ("HUB_GEN_1", "terraform_data", {"input": {"db": {"settings": {"admin_password": "hunter2"}}}}, FAILED,
     "secret in a nested attribute"),
    ("HUB_GEN_1", "digitalocean_droplet", droplet(user_data=f"#!/bin/sh\nexport DO_TOKEN={FAKE_DO_TOKEN}\n"), FAILED,
     "token inside user_data"),
    ("HUB_GEN_1", "digitalocean_monitor_alert",
     {"alerts": {"slack": [{"channel": "#ops", "url": FAKE_SLACK}]}, "type": "v1/insights/droplet/cpu"}, FAILED,
     "slack webhook"),
    ("HUB_GEN_1", "cloudflare_ruleset",
     {"rules": [{"action": "rewrite", "action_parameters": {"headers": {"X-Api-Key": {"operation": "set",
                                                                                     "value": "abc123"}}}}]},
     FAILED, "header value under a secret-like header name"),
    ("HUB_GEN_1", "digitalocean_app",
     {"spec": {"env": [{"key": "DATABASE_PASSWORD", "value": "hunter2"}, {"key": "LOG_LEVEL", "value": "info"}]}},
     FAILED, "name/value pair"),
]


@pytest.mark.parametrize(
    ("check_id", "resource_type", "body", "expected"),
    [case[:4] for case in CASES],
    ids=[f"{case[0]}-{case[4]}" for case in CASES],
)
def test_check_verdict(check_id, resource_type, body, expected):
    result, details = evaluate(check_id, resource_type, body)
    assert result == expected, details
    # a failure always says why; a pass carries no leftover reason from an earlier run
    assert bool(details) == (expected == FAILED)


def test_every_check_has_a_passing_and_a_failing_case():
    verdicts = {(case[0], case[3]) for case in CASES}
    for check_id in CHECKS:
        assert (check_id, PASSED) in verdicts, check_id
        assert (check_id, FAILED) in verdicts, check_id


def test_firewall_failure_names_the_offending_rule():
    _, details = evaluate(
        "HUB_DO_2", "digitalocean_firewall", firewall([*WEB, rule(ports="22", addresses=["0.0.0.0/0"])])
    )
    assert details == ["inbound_rule[2]: tcp 22 from 0.0.0.0/0: SSH reachable from 0.0.0.0/0"]


def test_world_open_failure_names_the_exposed_ports_per_protocol():
    body = firewall([rule(ports="1-65535", addresses=WORLD), rule(protocol="udp", ports="53", addresses=["::/0"])])
    _, details = evaluate("HUB_DO_1", "digitalocean_firewall", body)
    assert details == ["tcp all ports is open to the whole Internet", "udp 53 is open to the whole Internet"]


def test_secret_details_locate_the_value_without_repeating_it():
    _, details = evaluate("HUB_GEN_1", "terraform_data", {"input": {"db": {"admin_password": "hunter2"}}})
    assert details == ["input.db.admin_password: literal value under the secret-like key 'admin_password'"]
    assert "hunter2" not in " ".join(details)


def test_a_dynamic_block_does_not_stand_for_a_required_block():
    """for_each may make no block at all: an HTTPS listener or health check must be written out."""
    https = {"entry_port": 443, "entry_protocol": "https", "target_port": 8080, "target_protocol": "http",
             "certificate_name": "origin"}
    body = loadbalancer(forwarding_rule=[{"entry_port": 80, "entry_protocol": "http", "target_port": 8080,
                                          "target_protocol": "http"}], healthcheck=None)
    body["dynamic"] = {"forwarding_rule": {"for_each": [], "content": https},
                       "healthcheck": {"for_each": [], "content": {"protocol": "http", "port": 8080, "path": "/"}}}
    assert evaluate("HUB_DO_11", "digitalocean_loadbalancer", body)[0] == FAILED
    assert evaluate("HUB_DO_13", "digitalocean_loadbalancer", body) == (FAILED, ["no healthcheck block"])


def test_a_dynamic_zone_setting_failure_names_the_template():
    _, details = evaluate("HUB_CF_2", "cloudflare_zone_settings_override", override({"ssl": "off"}, ssl="flexible"))
    assert details == ["ssl is 'off', not 'strict'", "ssl is 'flexible' (in dynamic.settings[0].content), not 'strict'"]


def test_a_configuration_rule_lowering_ssl_is_named():
    body = config_rules({"ssl": "strict"})
    body["rules"].append({"action": "set_config", "expression": 'http.host eq "legacy.example.org"',
                          "action_parameters": {"ssl": "flexible"}})
    body["dynamic"] = {"rules": {"for_each": "${var.hosts}", "content": {"action": "set_config", "expression": "x",
                                                                        "action_parameters": [{"ssl": "off"}]}}}
    assert evaluate("HUB_CF_2", "cloudflare_ruleset", body) == (FAILED, [
        "rules[1] sets ssl to 'flexible' for the requests it matches, not 'strict'",
        "dynamic.rules[0].content sets ssl to 'off' for the requests it matches, not 'strict'",
    ])


def test_secrets_set_inside_a_script_or_url_are_found_and_references_are_not():
    script = "\n".join([
        "#!/bin/sh",
        "export MAILGUN_API_KEY=key-" + "3ax6xnjp29jd6fds",
        "TWILIO_AUTH_TOKEN='" + "abc123def456'",
        "DB_URL=postgres://hub:" + "s3cretpass@db.internal:5432/hub",
        "PASSWORD_FILE=/run/secrets/db",  # names where the secret is, not the secret
        "export API_TOKEN=$API_TOKEN",  # filled in on the machine
        "SECRET_KEY=${var.secret_key}",
        "ssh_authorized_keys: |",
        "  - ssh-ed25519 AAAA ops@example.com",
        "curl https://example.com/health",
    ])
    _, details = evaluate("HUB_GEN_1", "digitalocean_droplet", droplet(user_data=script))
    assert details == [
        "user_data: looks like a URL with a password",
        "user_data: assigns a literal value to 'MAILGUN_API_KEY'",
        "user_data: assigns a literal value to 'TWILIO_AUTH_TOKEN'",
    ]
    headers = {"request_headers": {"Authorization": "Bearer " + "abcdefgh12345678", "Accept": "application/json"}}
    assert find_secrets(headers) == ["request_headers.Authorization: looks like a bearer token"]
    assert find_secrets({"request_headers": {"Authorization": "${var.authorization}"}}) == []
    assert find_secrets({"url": "https://ops:${var.password}@example.com", "email": "ops@example.com"}) == []
    assert find_secrets({"user_data": '{"db_password": "hunter2", "name": "x"}'}) == [
        "user_data: assigns a literal value to 'db_password'"]


@pytest.mark.parametrize("text", [
    "redis://:" + "hunter2@cache:6379/0",  # no user name
    "A=1;DB_PASSWORD=" + "hunter2",
    "mount -o username=u,password=" + "hunter2",
    "docker login --password=" + "hunter2",
    "curl https://x/?api_key=" + "0123abcd",
    '{"db": {"password": "' + 'hunter2"}}',
    'DB_PASSWORD="correct horse ' + 'battery"',
    "curl -H 'X-Api-Key: " + "0123456789abcdef'",
    "dbPassword=" + "x1y2z3",
    "PGPASSWORD=" + "x1y2z3",
    "MYSQL_PWD=" + "x1y2z3",
    "WEBHOOK_URL=https://discord.com/api/webhooks/" + "1/abc",
    "PASSWORD=" + "12345678",  # long numbers are not settings
    "PASSWORD=/x9Kq+" + "Zs8=",  # base64 may start with a slash
    "spring.datasource.password=" + "Sup3rS3cret",
    "git clone https://ghp_" + "abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r",
    "docker login --username ops --password " + "Sup3rS3cret registry.example.com",
    # service configuration and commands that take a password without NAME=value
    "requirepass " + "hunter22",  # redis.conf
    "masterauth '" + "correct horse'",
    "redis-cli CONFIG SET requirepass " + "hunter22",
    "sed -i 's/^# requirepass foobared/requirepass " + "hunter22/' /etc/redis/redis.conf",
    "user default on >" + "hunter22 ~* +@all",  # Redis ACL file
    "redis-cli ACL SETUSER metrics on '>" + "hunter22' +info",  # quoted: a bare >x is a shell redirect
    "redis-cli <<EOF\nACL SETUSER metrics on >" + "hunter22 +info\nEOF",  # a script: bare
    "redis-server --requirepass " + "hunter22",
    "htpasswd -bBC 12 /etc/nginx/.htpasswd grafana " + "hunter22",  # -C takes a value
    "htpasswd -c -b /etc/nginx/.htpasswd grafana " + "hunter22",
    "htpasswd -nbB grafana " + "hunter22 >> /etc/nginx/.htpasswd",
    'chpasswd <<< "root:' + 'hunter22"',
    "mysqladmin -u root password " + "hunter22",
    "db:\n  password: |\n    #" + "hunter22\n",  # in a block scalar "#" is text
    "mariadb -e \"CREATE USER bob IDENTIFIED/**/BY '" + "hunter22'\"",
    "CREATE USER bob IDENTIFIED\u00a0BY '" + "hunter22';",  # a Unicode space
    "ALTER ROLE bob PA\u017fSWORD '" + "hunter22'",  # the long s matches s when case is ignored
    "auth_pass " + "hunter22",  # keepalived
    "psql -c \"ALTER USER hub WITH PASSWORD '" + "hunter22'\"",
    "psql -c \"CREATE ROLE hub LOGIN\n  PASSWORD '" + "hunter22'\"",
    "mysql -e \"CREATE USER 'hub'@'%' IDENTIFIED BY '" + "hunter22'\"",
    "ALTER USER 'hub'@'%' IDENTIFIED WITH caching_sha2 BY '" + "hunter22';",
    "SET PASSWORD FOR 'hub'@'%' = '" + "hunter22'",
    "sshpass -p " + "hunter22 ssh ops@db",
    "mysqldump -uroot -p" + "hunter22 hub > /backup/hub.sql",
    "redis-cli -h cache -a " + "hunter22 ping",
    "htpasswd -bc /etc/nginx/.htpasswd grafana " + "hunter22",
    "echo 'root:" + "hunter22' | chpasswd",
    "db:\n  password: |\n    " + "hunter22\n",  # YAML block scalar
    "- name: hub\n  api_key: >-\n\n    " + "0123abcd\n",
    # the platform's own services and tools
    "curl -fsS -u elastic:" + "hunter22 http://search:9200/_cluster/health",
    "curl -uadmin:" + "hunter22 https://grafana.internal/api/health",
    "curl --user 'admin:" + "hunter22' https://grafana.internal/api/health",
    "curl --user=admin:" + "hunter22 https://grafana.internal/api/health",
    "elasticsearch-users useradd hub -p " + "hunter22 -r superuser",
    "/usr/share/elasticsearch/bin/elasticsearch-users passwd hub -p '" + "hunter22'",
    "grafana-cli admin reset-admin-password " + "hunter22",
    "grafana cli --homepath /usr/share/grafana admin reset-admin-password '" + "hunter22'",
    "openssl pkcs12 -export -in origin.pem -passout pass:" + "hunter22 -out origin.p12",
    "openssl rsa -in origin.key -passin 'pass:" + "hunter22'",
    "echo " + "hunter22 | passwd --stdin hub",
    "echo -e '" + "hunter22\\nhunter22' | sudo passwd hub",
    "printf '%s\\n' " + "hunter22 | docker login -u hub --password-stdin registry.example.com",
    "echo " + "hunter22 | grafana-cli admin reset-admin-password --password-from-stdin",
    'echo "' + 'hunter22" | /usr/share/elasticsearch/bin/elasticsearch-keystore add -x bootstrap.password',
    "echo 'db.internal:5432:hub:hub:" + "hunter22' > /root/.pgpass",
    "write_files:\n  - path: /root/.pgpass\n    content: |\n      db.internal:5432:*:hub:" + "hunter22\n",
    "#cloud-config\nchpasswd:\n  list: |\n    root:" + "hunter22\n    hub:RANDOM\n  expire: false\n",
    "chpasswd:\n  list:\n    - root:" + "hunter22\n",
    "REDISCLI_AUTH=" + "hunter22 redis-cli ping",
    "requirepass: " + "hunter22",
    # hinted only by "acl setuser" (a quoted rule after a quote, not a space) and by a dotless i
    "printf 'ACL SETUSER app on \">" + "Sup3rS3cretRedis\" ~* +@all\\n' | nc -q1 127.0.0.1 6379",
    "echo " + "hunter22 | elasticsearch-keystore add s3.client.default.ap\u0131",
    "echo 'db:5432:hub:hub:" + "hun\\:ter22' > /root/.pgpass",  # a colon in the password is escaped
    "echo -n '" + "hunter22' | sudo -u elasticsearch /usr/share/elasticsearch/bin/elasticsearch-keystore add -x "
    "bootstrap.password",
    "echo " + "hunter22 | docker exec -i es bin/elasticsearch-keystore add -x bootstrap.password",
    "passwd hub <<< '" + "hunter22'",  # here-strings
    "elasticsearch-keystore add -x bootstrap.password <<< '" + "hunter22'",
    "docker login -u hub --password-stdin registry.example.com <<< '" + "hunter22'",
    "yes '" + "hunter22' | passwd hub",
    "docker login -u hub -p " + "hunter22 registry.digitalocean.com",
    "#cloud-config\nchpasswd: {list: [root:" + "hunter22]}\n",  # chpasswd lists on one line
    "#cloud-config\nchpasswd:\n  list: [\"root:" + "hunter22\"]\n",
    "#cloud-config\nchpasswd:\n  list: root:" + "hunter22\n",
    '{"chpasswd": {"list": "root:' + 'hunter22"}}',
    "#cloud-config\r\nchpasswd:\r\n  list: |\r\n    root:" + "hunter22\r\n",  # CRLF line ends
    "db:\r\n  password: |\r\n    " + "hunter22\r\n",
    "export PGPASSFILE=/etc/hub/pgpass\necho 'db:5432:hub:hub:" + "hunter22' > /etc/hub/pgpass",
    "echo '/var/run/postgresql:5432:hub:hub:" + "hunter22' >> ~/.pgpass",  # a socket directory as host
    # names of any length, after any separator a shell or a command line puts before one
    "java -Dspring.cloud.config.server.git.repos.team-a.some.deeply.nested.application.specific.configuration"
    ".datasource.primary.connection.password=" + "hunter2Xyz9 -jar /opt/app.jar",
    "(x-PASSWORD=" + "hunter22)", "[db-password=" + "hunter22]", "app|--db-password=" + "hunter22",
    "---password=" + "hunter22", "/usr/bin/app-password=" + "hunter22", "cmd>/tmp/x-password=" + "hunter22",
    # sudo -S reads the password from standard input
    "echo " + "hunter22 | sudo -S apt-get update",
    "echo '" + "hunter22' | sudo -kS -u root systemctl restart grafana-server",
    "printf '%s\\n' " + "hunter22 | /usr/bin/sudo --stdin true",
    "echo " + "hunter22 | sudo -u root -E -p '' -S true",
    "echo " + "hunter22 | sudo --user root --stdin true",
    "sudo -S -u hub make install <<< " + "hunter22",
    'sh -c "redis-cli ACL SETUSER app on \\">' + 'hunter22\\" ~* +@all"',  # escaped quotes in a quoted command
])
def test_secrets_in_a_text_are_found(text):
    assert find_secrets({"user_data": text}), text


@pytest.mark.parametrize("text", [
    "lock_passwd: true",  # cloud-config
    "password_encryption = scram-sha-256",  # postgresql.conf
    "SESSION_TOKEN_LIFETIME=30",
    "ACCESS_TOKEN_EXPIRY=1h",
    "TOKEN_URL=https://auth.example.com/token",
    "SECRET_STORE=vault",
    "PASSWORD_HASHER=argon2",
    "API_KEY_HEADER=X-Api-Key",
    "PRIVATE_KEY=/etc/ssl/private/origin.key",
    "Authorization: Bearer ${var.token}",
    "DB_PASSWORD=`vault read -field=pw secret/db`",
    "API uses Bearer authentication",
    'POSTGRES_PASSWORD: "{{ pg_password }}"',  # templates filled in later
    "PASSWORD=%(ENV_PW)s",
    "PASSWORD=<your-password>",
    "client_secret: !ENV ${SECRET}",
    'echo "password: see vault"',
    "existingSecret: pg-secret",  # names where a secret is kept
    "adminPasswordKey: postgres-password",
    "AUTHORIZATION=required",
    "app --password-file /run/secrets/pw --token $TOKEN --api-key --verbose",
    "# requirepass foobared",  # redis.conf's commented example
    "sed -i 's/^# requirepass foobared/requirepass ${REDIS_PASSWORD}/' /etc/redis/redis.conf",
    "user default on #e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4 ~* +@all",  # a password's hash
    "psql -c \"CREATE ROLE hub LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2Vydg=='\"",  # a verifier
    "psql -c \"ALTER USER hub WITH PASSWORD '$PGPASS'\"",
    "ALTER ROLE hub VALID UNTIL 'infinity'",
    "The password 'must' be long",  # prose, not a statement
    'sshpass -p "$SSHPASS" ssh ops@db',
    "mysql -uroot -p -e 'select 1'",  # -p alone prompts
    "mysql -uroot -P 3306 -e 'select 1'",  # -P is the port
    "redis-cli -h cache -p 6379 ping",
    "mkdir -p /var/lib/hub && ssh -p 2222 ops@db && docker run -p 80:80 nginx",
    "htpasswd -c /etc/nginx/.htpasswd grafana",  # prompts
    'echo "root:$ROOT_PW" | chpasswd',
    "db:\n  password: >-\n    {{ pg_password }}\n",
    "ssh_authorized_keys: |\n  - ssh-ed25519 AAAA ops@example.com\n",
    'htpasswd -bBC 12 /etc/nginx/.htpasswd grafana "$GRAFANA_PW"',
    "sed -i 's/^# requirepass foobared/requirepass '\"$REDIS_PASSWORD\"'/' /etc/redis/redis.conf",
    "printf 'requirepass %s\\n' \"$REDIS_PASSWORD\" >> /etc/redis/redis.conf",
    "redis-cli ACL SETUSER metrics on nopass +info >>setup.log",  # shell redirects, not ACL passwords
    "redis-cli ACL SETUSER metrics on nopass +info >acl.out",
    "docker run -d --name mysql -p3306:3306 mysql:8",  # mysql is not the command
    "requirepass %{if x}${a}%{endif}",  # Terraform template directives
    'db:\n  password: |\n    %{ if pw != "" }${pw}%{ endif }\n',
    "CREATE ROLE app LOGIN PASSWORD '%{ if x }${a}%{ endif }';",
    "psql -c \"CREATE ROLE grafana LOGIN\"\nlogger \"grafana role made by 'cloud-init'\"",
    'curl -u "$ES_USER:$ES_PASSWORD" http://search:9200',
    "curl -u elastic: http://search:9200",  # an empty password
    "curl -u elastic http://search:9200",  # curl asks for it
    "curl --user-agent hub/1.0 https://example.com",
    "curl -fsSL https://example.com/install.sh | sudo -u hub bash",
    'elasticsearch-users useradd hub -p "$PW" -r superuser',
    "grafana-cli admin reset-admin-password --password-from-stdin < /run/secrets/grafana",
    "openssl rsa -in origin.key -passin env:ORIGIN_KEY_PW",
    "openssl rsa -in origin.key -passin file:/run/secrets/origin",
    'echo "$PW" | passwd --stdin hub',
    'echo "$PW" | docker login -u hub --password-stdin registry.digitalocean.com',  # the safe way
    "echo done | tee /var/log/passwd.log",
    "echo smtp.internal | elasticsearch-keystore add -x xpack.notification.email.account.hub.smtp.host",
    'chmod 600 /root/.pgpass && echo "db:5432:*:hub:$PGPW" > /root/.pgpass',
    "#cloud-config\nchpasswd:\n  list: |\n    root:RANDOM\n    hub:$6$salt$hash\n  expire: false\n",
    "#cloud-config\nchpasswd:\n  list: |\n    # root:hunter22\n",
    "masterauth_timeout: 10",
    # five colon-separated fields only in a .pgpass line: not a MAC address, fingerprint or IPv6 address
    'PGPASSWORD="$DB_PASSWORD" psql -h 10.10.0.5 -c "select 1"\nip link set eth1 address 02:42:ac:11:00:02\n',
    "echo x > ~/.pgpass\nssh-keygen -lf key # 3b:16:bf:e4:8b:00:1a:2b\nip -6 addr add fd00:10:20:30::5/64 dev eth1",
    # a list: elsewhere in a cloud-config that also sets chpasswd
    "#cloud-config\nchpasswd: {expire: false}\napt:\n  sources:\n    es:\n      list:\n        - es-mirror:mirror.internal\n",
    "#cloud-config\nchpasswd: {expire: false}\napt:\n  sources:\n    es:\n      list: es-mirror:mirror.internal\n",
    "#cloud-config\nchpasswd: {list: [root:RANDOM], expire: false}\n",
    "#cloud-config\nchpasswd:\n  # list: root:hunter22\n",
    'docker login -u hub -p "$DOCR_TOKEN" registry.digitalocean.com',
    "docker run -p 80:80 nginx && docker login --password-stdin registry.example.com < /run/secrets/docr",
    "passwd -l hub",
    'echo "$SUDO_PW" | sudo -S true',
    "echo y | sudo ls -S",  # -S is the command's option (sort by size), not sudo's
    "echo y | sudo -u hub ls -S /var/log",
    "echo y | sudo -u -S true",  # -u takes "-S" as the user name
    "cat <<< hello",
    'sh -c "redis-cli ACL SETUSER app on \\">$REDIS_APP_PW\\" ~* +@all"',
])
def test_settings_about_secrets_in_a_text_are_not_secrets(text):
    assert find_secrets({"user_data": text}) == []


def test_checks_treat_cdktf_metadata_and_line_numbers_as_bookkeeping():
    body = droplet()
    body["//"] = {"metadata": {"path": "production/db/password", "uniqueId": "secret_token"}}
    assert evaluate("HUB_GEN_1", "digitalocean_droplet", body)[0] == PASSED


# --- helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("22", PortRange(22, 22)),
        (443, PortRange(443, 443)),
        ("8000-8100", PortRange(8000, 8100)),
        (" 8000 - 8100 ", PortRange(8000, 8100)),
        ("all", ALL_PORTS),
        ("ALL", ALL_PORTS),
        ("0", ALL_PORTS),
        ("00", ALL_PORTS),  # port 0 however written is all ports, never an empty range
        ("0-0", ALL_PORTS),
        ("1-65535", ALL_PORTS),
        ("0-65535", ALL_PORTS),
        ("100-20", None),
        ("70000", None),
        ("${var.port}", None),
        ("80,443", None),
        (True, None),
        (None, None),
    ],
)
def test_parse_port_range(raw, expected):
    assert parse_port_range(raw) == expected


@pytest.mark.parametrize(
    ("addresses", "expected"),
    [
        (["0.0.0.0/0"], True),
        (["::/0"], True),
        (["0.0.0.0/1", "128.0.0.0/1"], True),
        (["::/1", "8000::/1"], True),
        (["0.0.0.0/1"], True),  # half of IPv4 is the Internet at large
        (["0.0.0.0/2", "8000::/1"], False),  # a quarter of IPv4, and the half of IPv6 without global unicast
        (["0.0.0.0/2", "64.0.0.0/3", "96.0.0.0/3"], True),  # quarters and eighths making half
        (["2000::/3"], True),  # all global unicast IPv6
        (["2000::/4"], True),  # half of global unicast, and every block allocated so far: as for IPv4
        (["2000::/5", "2800::/5"], True),
        (["2000::/5"], False),
        (["10.0.0.0/8", "2001:db8::/32"], False),
        (["0.0.0.0"], False),  # a bare address is a /32
        (["::ffff:0.0.0.0/96"], True),  # all of IPv4, written IPv4-mapped
        (["::ffff:10.0.0.0/104"], False),
        (["${var.cidrs}"], True),  # unknown: fail closed
        (["not-an-address"], True),
        ([], False),
    ],
)
def test_is_world(addresses, expected):
    assert is_world(addresses) is expected


def test_broader_than_reports_only_the_wide_entries():
    assert broader_than(["10.0.0.0/16", "10.0.0.0/15", "2001:db8::/32", "2001:db8::/31", "${x}"], 16, 32) == [
        "10.0.0.0/15",
        "2001:db8::/31",
        "${x}",
    ]


def test_broader_than_reads_ipv4_mapped_ranges_as_ipv4():
    assert broader_than(["::ffff:10.0.0.0/112", "::ffff:10.0.0.0/104"], 16, 32) == ["::ffff:10.0.0.0/104"]


def test_firewall_rules_reads_every_rule_with_defaults():
    conf = checkov_conf(firewall([rule(ports=None, source_tags=["a"]), rule("${var.p}", "22", ["1.2.3.4"])]))
    first, second = firewall_rules(conf, "inbound")
    assert (first.protocol, first.ports, first.peers) == ("tcp", ALL_PORTS, ("a",))
    assert (second.index, second.protocol, second.ports, second.addresses) == (1, None, PortRange(22, 22), ("1.2.3.4",))


def test_world_open_ports_combines_rules_per_port():
    rules = firewall_rules(
        checkov_conf(firewall([rule(ports="100-200", addresses=["0.0.0.0/2"]),
                               rule(ports="150-300", addresses=["64.0.0.0/2"])])),
        "inbound",
    )
    assert world_open_ports(rules, "tcp") == [PortRange(150, 200)]
    assert world_open_ports(rules, "udp") == []


def test_world_open_ports_ignores_port_range_on_icmp():
    # DigitalOcean ignores an icmp rule's port_range, so the two halves add up to the world
    rules = firewall_rules(
        checkov_conf(firewall([rule("icmp", ports="1", addresses=["0.0.0.0/2"]),
                               rule("icmp", ports="2", addresses=["64.0.0.0/2"])])),
        "inbound",
    )
    assert world_open_ports(rules, "icmp") == [ALL_PORTS]


def test_find_secrets_works_on_plain_json_too():
    # the gate can run it over provider blocks, which Checkov's resource checks never see
    assert find_secrets({"token": FAKE_DO_TOKEN}) == ["token: looks like a DigitalOcean API token"]
    assert find_secrets({"token": "${var.do_token}"}) == []


def test_checkov_conf_matches_what_checkov_parses_from_a_file():
    from checkov.terraform_json.parser import loads

    def without_lines(node):
        if isinstance(node, dict):
            return {k: without_lines(v) for k, v in node.items() if k not in ("__startline__", "__endline__")}
        if isinstance(node, list):
            return [without_lines(item) for item in node]
        return node

    path = DATA / "secure" / "cdk.tf.json"
    raw = json.loads(path.read_text())
    parsed, _ = loads(path)
    for entry in parsed["resource"]:
        ((resource_type, named),) = entry.items()
        ((name, conf),) = named.items()
        assert without_lines(conf) == without_lines(checkov_conf(raw["resource"][resource_type][name])), name


# --- registry ------------------------------------------------------------------------------------


def test_registry_lists_every_check_file_once():
    files = sorted(path.stem for path in CHECKS_DIR.glob("*.py") if not path.name.startswith("_"))
    assert sorted(type(check).__name__ for check in all_checks()) == files  # Checkov style: file named for the class
    assert len(CHECKS) == len(files) == 18


def test_registry_orders_ids_numerically_and_carries_gate_metadata():
    ids = [check.id for check in all_checks()]
    assert ids.index("HUB_DO_2") < ids.index("HUB_DO_10")
    for check in all_checks():
        assert re.fullmatch(r"HUB_(DO|CF|GEN)_\d+", check.id)
        assert isinstance(check.hub_severity, Severity)
        assert check.hub_fix and "\n" not in check.hub_fix
        assert check.name and check.supported_resources


def test_covered_resource_types_leaves_out_wildcards():
    covered = covered_resource_types()
    assert {"digitalocean_firewall", "digitalocean_droplet", "digitalocean_loadbalancer", "cloudflare_dns_record",
            "cloudflare_zone_setting"} <= covered
    assert not any("*" in resource_type for resource_type in covered)


def test_importing_the_package_does_not_load_checkov():
    code = "import sys, policies.checks; print('checkov' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the real checkov command --------------------------------------------------------------------


def test_plain_checkov_runs_our_checks_on_terraform_json():
    """`checkov --external-checks-dir policies/checks` alone (no PYTHONPATH) finds and runs every hub check."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["BC_SKIP_MAPPING"] = "TRUE"
    checkov = Path(sys.executable).with_name("checkov")
    completed = subprocess.run(
        [str(checkov), "-d", str(DATA), "--framework", "terraform_json", "--external-checks-dir",
         str(CHECKS_DIR), "--skip-download", "--output", "json"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 1, completed.stderr  # failures were found
    results = json.loads(completed.stdout)["results"]
    hub_failed = {(r["check_id"], r["file_path"], r["resource"]) for r in results["failed_checks"]
                  if r["check_id"].startswith("HUB_")}
    hub_passed = {r["check_id"] for r in results["passed_checks"] if r["check_id"].startswith("HUB_")}

    # the secure stack passes every one of our checks, and each of them ran on it
    assert not {failure for failure in hub_failed if failure[1] == "/secure/cdk.tf.json"}
    assert hub_passed == set(CHECKS)

    insecure = "/insecure/cdk.tf.json"
    assert hub_failed == {
        ("HUB_DO_1", insecure, "resource.app_fw"),
        ("HUB_DO_2", insecure, "resource.app_fw"),
        ("HUB_DO_3", insecure, "resource.app_fw"),
        ("HUB_DO_4", insecure, "resource.app_fw"),
        ("HUB_DO_5", insecure, "resource.app_fw"),
        ("HUB_DO_6", insecure, "resource.app"),
        ("HUB_DO_7", insecure, "resource.app"),
        ("HUB_DO_8", insecure, "resource.app"),
        ("HUB_DO_9", insecure, "resource.app"),
        ("HUB_DO_10", insecure, "resource.app"),
        ("HUB_DO_11", insecure, "resource.lb"),
        ("HUB_DO_12", insecure, "resource.lb"),
        ("HUB_DO_13", insecure, "resource.lb"),
        ("HUB_CF_1", insecure, "resource.www"),
        ("HUB_CF_2", insecure, "resource.ssl"),
        ("HUB_CF_3", insecure, "resource.tls"),
        ("HUB_CF_4", insecure, "resource.https"),
        ("HUB_GEN_1", insecure, "resource.seed"),  # terraform_data: only the "*" wildcard reaches it
    }
    ssh = next(r for r in results["failed_checks"] if r["check_id"] == "HUB_DO_2")
    assert ssh["severity"] == "CRITICAL"
    assert ssh["details"] == ["inbound_rule[2]: tcp 22 from 0.0.0.0/0: SSH reachable from 0.0.0.0/0"]
    assert ssh["guideline"] == CHECKS["HUB_DO_2"].hub_fix
