"""Preview environments: safe slugs, distinct ranges, the smallest sizes."""

from __future__ import annotations

import ipaddress

import pytest

from stacks.config import ConfigError, Kind
from stacks.preview import MAX_SLUG, parse_branches, preview_environments, slugify


@pytest.mark.parametrize(
    "branch,slug",
    [
        ("main", "main"),
        ("feature/Login-Page", "feature-login-page"),
        ("  fix__double--dash  ", "fix-double-dash"),
        ("renovate/cdktf-0.21.x", "renovate-cdktf-0-21-x"),
    ],
)
def test_slugify(branch, slug):
    assert slugify(branch) == slug


def test_long_branch_names_stay_apart():
    a = slugify("feature/" + "x" * 60 + "-one")
    b = slugify("feature/" + "x" * 60 + "-two")
    assert a != b and len(a) <= MAX_SLUG and len(b) <= MAX_SLUG
    assert a.startswith("feature-xxxx")


@pytest.mark.parametrize("branch", ["", "///", "1234", "---"])
def test_unusable_branch_names(branch):
    with pytest.raises(ConfigError) as err:
        slugify(branch)
    assert "HUB_PREVIEW" in err.value.problems[0]


def test_several_branches(config):
    envs = preview_environments(config, parse_branches("feat/a, feat/b ,feat/a"))
    assert sorted(envs) == ["preview-feat-a", "preview-feat-b"]
    nets = [ipaddress.ip_network(e.vpc_cidr) for e in envs.values()]
    assert not nets[0].overlaps(nets[1])
    pool = ipaddress.ip_network(config.preview.cidr_pool)
    assert all(n.subnet_of(pool) and n.prefixlen == 24 for n in nets)
    env = envs["preview-feat-a"]
    assert env.kind is Kind.PREVIEW and env.ttl == "7d" and env.backups == "off"
    assert env.monthly_budget_usd == config.preview.monthly_budget_usd
    assert env.hostnames == ["preview-feat-a.communityhub.dev"] and env.zone == "communityhub.dev"
    assert {getattr(env.pools, r).size for r in ("app", "db", "search", "cache", "monitoring")} == {"s-1vcpu-1gb"}


def test_a_branch_keeps_its_range(config):
    alone = preview_environments(config, ["feat/a"])["preview-feat-a"].vpc_cidr
    together = preview_environments(config, ["feat/a", "feat/zzz"])["preview-feat-a"].vpc_cidr
    assert alone == together


def test_fifty_previews_get_fifty_ranges(config):
    envs = preview_environments(config, [f"feature/{i}-work" for i in range(50)])
    assert len({e.vpc_cidr for e in envs.values()}) == 50


def test_two_branches_that_make_one_slug_are_an_error(config):
    """Each deploy of one would replace the other's preview: say so rather than merge them."""
    with pytest.raises(ConfigError) as err:
        preview_environments(config, parse_branches("feat/a,Feat_A"))
    assert err.value.problems == ["HUB_PREVIEW: branches 'feat/a' and 'Feat_A' both make preview 'preview-feat-a'; "
                                  "preview one of them at a time"]


def test_a_preview_may_not_take_an_environments_hostname(config):
    config = config.model_copy(update={"preview": config.preview.model_copy(update={"hostname_template": "{slug}.communityhub.dev"})})
    with pytest.raises(ConfigError) as err:
        preview_environments(config, ["staging"])
    assert err.value.problems == ["HUB_PREVIEW: preview 'preview-staging' would have hostname "
                                  "'staging.communityhub.dev', which environment 'staging' uses"]


@pytest.mark.parametrize("value", ["feat/a feat/b", "feat/a\nfeat/b", "feat/a\tx"])
def test_branches_separated_by_anything_but_commas(value):
    with pytest.raises(ConfigError) as err:
        parse_branches(value)
    assert err.value.problems == [f"HUB_PREVIEW: {value!r} is not a branch name (it holds whitespace); "
                                  "separate branches with commas"]
