"""Bad configuration fails with one clear line per problem, naming the environment and field."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stacks.config import ConfigError, load_config
from tests.conftest import ROOT, run_env, write_config


def edit(text: str, section: str, old: str, new: str) -> str:
    """Replace `old` by `new` inside one [section] of the TOML text (the test's way to break it)."""
    start = text.index(f"[{section}]\n")
    end = text.find("\n[", start + 1)
    end = len(text) if end == -1 else end
    body = text[start:end]
    assert old in body, f"{old!r} not in [{section}]"
    return text[:start] + body.replace(old, new, 1) + text[end:]


CASES = {
    "unknown key": (
        lambda t: edit(t, "environments.staging", 'region = "fra1"', 'region = "fra1"\ncolour = "blue"'),
        "environments.staging.colour: unknown key",
    ),
    "unknown size slug": (
        lambda t: edit(t, "environments.staging.pools", 'db = { size = "s-4vcpu-8gb"', 'db = { size = "s-3vcpu-7gb"'),
        "environments.staging.pools.db.size: unknown Droplet size slug 's-3vcpu-7gb'",
    ),
    "unknown region": (
        lambda t: edit(t, "environments.staging", 'region = "fra1"', 'region = "mars1"'),
        "environments.staging.region: unknown DigitalOcean region 'mars1'",
    ),
    "overlapping vpc": (
        lambda t: edit(t, "environments.staging", 'vpc_cidr = "10.20.0.0/20"', 'vpc_cidr = "10.10.8.0/21"'),
        "environments.staging.vpc_cidr: 10.10.8.0/21 overlaps 10.10.0.0/20 of environment 'development'",
    ),
    "cidr does not parse": (
        lambda t: edit(t, "environments.staging", 'vpc_cidr = "10.20.0.0/20"', 'vpc_cidr = "10.300.0.0/20"'),
        "environments.staging.vpc_cidr: vpc_cidr '10.300.0.0/20' is not a CIDR block",
    ),
    "admin cidr open to the world": (
        lambda t: edit(t, "environments.production", 'admin_cidrs = ["203.0.113.0/24", ', 'admin_cidrs = ["0.0.0.0/0", '),
        "environments.production.admin_cidrs: '0.0.0.0/0' opens SSH to the whole internet",
    ),
    "count below one": (
        lambda t: edit(t, "environments.development.pools", 'cache = { size = "s-1vcpu-1gb", count = 1 }', 'cache = { size = "s-1vcpu-1gb", count = 0 }'),
        "environments.development.pools.cache.count: Input should be greater than or equal to 1",
    ),
    "production app pool below two": (
        lambda t: edit(t, "environments.production.pools", 'app = { size = "s-2vcpu-4gb", count = 2 }', 'app = { size = "s-2vcpu-4gb", count = 1 }'),
        "environments.production: pools.app.count must be at least 2 in production",
    ),
    "active colour without release": (
        lambda t: edit(t, "environments.staging.releases", 'green = "1.8.0"\n', ""),
        "environments.staging: active_color is 'green' but releases.green is not set",
    ),
    "duplicate hostname": (
        lambda t: edit(t, "environments.staging", 'hostnames = ["staging.communityhub.dev"]', 'hostnames = ["dev.communityhub.dev"]'),
        "environments.staging.hostnames: 'dev.communityhub.dev' is also used by environment 'development'",
    ),
    "negative budget": (
        lambda t: edit(t, "environments.development", "monthly_budget_usd = 150", "monthly_budget_usd = -5"),
        "environments.development.monthly_budget_usd: must not be negative (got -5.0)",
    ),
    "webhook url in the file": (
        lambda t: edit(t, "environments.staging.alerts", 'slack_webhook_env = "HUB_SLACK_WEBHOOK_STAGING"', 'slack_webhook_env = "https://hooks.example/T0/B0/x"'),
        "environments.staging.alerts.slack_webhook_env: must name an environment variable, not hold the webhook URL",
    ),
    "toml that does not parse": (
        lambda t: t.replace('[environments.staging]\nkind = "staging"', '[environments.staging]\nkind = "staging\n'),
        "not valid TOML: Illegal character '\\n' (at line 59, column 16)",
    ),
    "budget that is not a number": (
        lambda t: edit(t, "environments.development", "monthly_budget_usd = 150", "monthly_budget_usd = nan"),
        "environments.development.monthly_budget_usd: Input should be a finite number",
    ),
    "count written as true": (
        lambda t: edit(t, "preview", "ttl_days = 7", "ttl_days = true"),
        "preview.ttl_days: Input should be a valid integer",
    ),
    "budget written as true": (
        lambda t: edit(t, "environments.development", "monthly_budget_usd = 150", "monthly_budget_usd = true"),
        "environments.development.monthly_budget_usd: Input should be a valid number",
    ),
    "empty project name": (
        lambda t: t.replace('project = "community-hub"', 'project = ""', 1),
        "project: '' is not a project name",
    ),
    "unknown state region": (
        lambda t: edit(t, "state", 'region = "fra1"', 'region = "mars1"'),
        "state.region: unknown DigitalOcean region 'mars1'",
    ),
    "empty state key prefix": (
        lambda t: edit(t, "state", 'key_prefix = "community-hub"', 'key_prefix = ""'),
        "state.key_prefix: '' is not a state key prefix",
    ),
    # `$` in a pattern also matches before a final newline: a value must match as a whole.
    "release with a trailing newline": (
        lambda t: edit(t, "environments.staging.releases", 'blue = "1.7.3"', 'blue = "1.7.3\\n"'),
        "environments.staging.releases.blue: '1.7.3\\n' is not a release name",
    ),
    "email with a trailing newline": (
        lambda t: edit(t, "environments.staging.alerts", 'emails = ["ops@communityhub.org"]', 'emails = ["ops@communityhub.org\\n"]'),
        "environments.staging.alerts.emails: not an email address: 'ops@communityhub.org\\n'",
    ),
    "environment name with a trailing newline": (
        lambda t: t.replace("[environments.staging", '[environments."staging\\n"'),
        "environments.'staging\\n': name must be lower-case letters",
    ),
    "unknown key with a newline in it": (
        lambda t: edit(t, "environments.staging", 'region = "fra1"', 'region = "fra1"\n"col\\nour" = 1'),
        "environments.staging.'col\\nour': unknown key",
    ),
    # The template is filled in only when a preview is asked for: check it with the file.
    "preview template with another placeholder": (
        lambda t: edit(t, "preview", '"preview-{slug}.communityhub.dev"', '"{slug}.{branch}.communityhub.dev"'),
        "preview.hostname_template: '{slug}.{branch}.communityhub.dev': the only placeholder it may hold is {slug}",
    ),
    "preview template with a lone brace": (
        lambda t: edit(t, "preview", '"preview-{slug}.communityhub.dev"', '"{slug}.preview{.communityhub.dev"'),
        "preview.hostname_template: '{slug}.preview{.communityhub.dev' is not a template",
    ),
    "preview template that makes no hostname": (
        lambda t: edit(t, "preview", '"preview-{slug}.communityhub.dev"', '"{slug}.Preview.communityhub.dev"'),
        "preview.hostname_template: '{slug}.Preview.communityhub.dev' does not make a valid lower-case hostname",
    ),
    "preview template outside the zones": (
        lambda t: edit(t, "preview", '"preview-{slug}.communityhub.dev"', '"{slug}.preview.example.com"'),
        "preview.hostname_template: '{slug}.preview.example.com' is not inside any zone declared under [zones]",
    ),
    # Proxied records need an edge certificate, and Universal SSL covers one label below the zone.
    "preview template two labels below the zone": (
        lambda t: edit(t, "preview", '"preview-{slug}.communityhub.dev"', '"{slug}.preview.communityhub.dev"'),
        "preview.hostname_template: '{slug}.preview.communityhub.dev' is more than one label below zone",
    ),
    "hostname two labels below the zone": (
        lambda t: edit(t, "environments.staging", 'hostnames = ["staging.communityhub.dev"]',
                       'hostnames = ["www.staging.communityhub.dev"]'),
        "environments.staging: hostname 'www.staging.communityhub.dev' is more than one label below zone",
    ),
    "vpc in loopback": (  # ipaddress calls it private; DigitalOcean takes RFC 1918 ranges only
        lambda t: edit(t, "environments.staging", 'vpc_cidr = "10.20.0.0/20"', 'vpc_cidr = "127.0.0.0/20"'),
        "environments.staging.vpc_cidr: '127.0.0.0/20' must be a private IPv4 range inside 10.0.0.0/8",
    ),
    "preview pool in link-local": (
        lambda t: edit(t, "preview", 'cidr_pool = "10.200.0.0/16"', 'cidr_pool = "169.254.0.0/16"'),
        "preview.cidr_pool: '169.254.0.0/16' must be a private IPv4 range (RFC 1918) of /24 or larger",
    ),
    "ttl that makes no tag": (
        lambda t: edit(t, "environments.development", 'backups = "off"', 'backups = "off"\nttl = "7 days"'),
        "environments.development.ttl: '7 days' is not a number of days like '7d'",
    ),
    "ttl on an environment the clean-up job must not touch": (
        lambda t: edit(t, "environments.production", 'backups = "weekly"', 'backups = "weekly"\nttl = "7d"'),
        "environments.production: ttl is for preview environments only, and this one is 'production'",
    ),
    "header value with a newline": (
        lambda t: edit(t, 'zones."communityhub.dev"', "create = false", 'create = false\ncontent_security_policy = "default-src \'self\'\\nX-A: b"'),
        "zones.communityhub.dev.content_security_policy: \"default-src 'self'\\nX-A: b\" is not a header value",
    ),
    "state endpoint without a scheme": (
        lambda t: edit(t, "state", 'region = "fra1"', 'region = "fra1"\nendpoint = "fra1.digitaloceanspaces.com"'),
        "state.endpoint: 'fra1.digitaloceanspaces.com' is not a URL like 'https://fra1.digitaloceanspaces.com'",
    ),
    "zone create written as a string": (
        lambda t: edit(t, 'zones."communityhub.dev"', "create = false", 'create = "no"'),
        "zones.communityhub.dev.create: Input should be a valid boolean",
    ),
    "toml nested past the parser's limit": (
        lambda t: t + "\ndeep = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "nested too deeply to read",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_names_environment_and_field(case, tmp_path, base_toml):
    mutate, expected = CASES[case]
    path = write_config(tmp_path, mutate(base_toml))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert any(expected in line for line in err.value.problems), err.value.problems
    assert all(line.startswith(str(path)) for line in err.value.problems)


def test_checked_in_config_is_valid(config):
    assert set(config.environments) == {"development", "staging", "production"}


def test_every_problem_is_reported_at_once(tmp_path, base_toml):
    text = CASES["unknown region"][0](CASES["negative budget"][0](base_toml))
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, text))
    joined = "\n".join(err.value.problems)
    assert "mars1" in joined and "must not be negative" in joined


def test_a_file_that_is_not_utf8_names_the_line(tmp_path, base_toml):
    path = tmp_path / "environments.toml"
    path.write_bytes(base_toml.replace('"dev-alerts@', '"d\xe9v-alerts@').encode("latin-1"))
    line = next(i for i, text in enumerate(base_toml.splitlines(), 1) if '"dev-alerts@' in text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.problems == [f"{path}: not UTF-8 text: byte 0xe9 at line {line}, column 13 (save the file as UTF-8)"]


def test_a_directory_is_not_a_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert err.value.problems[0].startswith(f"{tmp_path}: cannot be read (")


def test_a_huge_file_is_refused_unread(tmp_path):
    """Bounded like HUB_CONFIG=/dev/zero, which has no end (a sparse file stands in for it)."""
    path = tmp_path / "huge.toml"
    with path.open("wb") as fh:
        fh.truncate(5 * 2**20)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.problems == [f"{path}: larger than 4 MiB; not an environments file"]


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "nope.toml")
    assert err.value.problems == [f"{tmp_path / 'nope.toml'}: file not found"]


@pytest.mark.parametrize(
    "case", ["unknown size slug", "overlapping vpc", "toml that does not parse", "toml nested past the parser's limit"]
)
def test_synth_exits_2_and_keeps_previous_output(case, tmp_path, base_toml):
    """The command a user runs: exit code 2, the problem on stderr, no traceback, and the
    previous cdktf.out exactly as it was."""
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "staging").mkdir(parents=True)
    previous = outdir / "stacks" / "staging" / "cdk.tf.json"
    previous.write_text('{"resource": {}}')
    (outdir / "manifest.json").write_text('{"stacks": {}}')  # a synth output: synth may replace only such a directory
    path = write_config(tmp_path, CASES[case][0](base_toml))
    proc = subprocess.run(
        [sys.executable, "main.py"],
        cwd=ROOT,
        env=run_env(tmp_path, HUB_CONFIG=path, CDKTF_OUTDIR=outdir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert CASES[case][1] in proc.stderr.replace("\n", " ") or CASES[case][1] in proc.stderr
    assert previous.read_text() == '{"resource": {}}'
    # nothing beside the output but the (empty) lock runs on it take turns with
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cdktf.out.lock", "cdktf.out", "environments.toml"]
