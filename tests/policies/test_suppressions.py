"""Loading, validating and applying the suppressions file."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from policies.findings import Finding, Severity, Status
from policies.suppressions import (
    EXPIRED,
    UNKNOWN_CHECK,
    UNUSED,
    SuppressionError,
    apply_suppressions,
    load_suppressions,
    split_target,
)

EXAMPLE = Path(__file__).parent / "data" / "suppressions.toml"
TODAY = date(2026, 1, 15)
KNOWN = {"CKV_DIO_2", "CKV_DIO_4", "HUB_DROPLET_BACKUPS", "HUB_FW_001"}


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "suppressions.toml"
    path.write_text(textwrap.dedent(body))
    return path


def _entry(check="HUB_FW_001", target="production/firewalls/*", reason="Reached only through the bastion host",
           expires="2026-06-30") -> str:
    return f'[[suppression]]\ncheck = "{check}"\ntarget = "{target}"\nreason = "{reason}"\nexpires = {expires}\n\n'


def _finding(check_id="HUB_FW_001", stack="production", address="digitalocean_firewall.production_admin_fw",
             construct_path="production/firewalls/admin", status=Status.FAILED, source="hub") -> Finding:
    return Finding(
        check_id=check_id, title="t", severity=Severity.HIGH, stack=stack, address=address,
        construct_path=construct_path, file=f"cdktf.out/stacks/{stack}/cdk.tf.json", line=5,
        message="m", status=status, source=source,
    )


def _suppressions(tmp_path: Path, *entries: str):
    return load_suppressions(_write(tmp_path, "".join(entries)))


# --- loading --------------------------------------------------------------------------------------


def test_the_example_file_loads_with_positions_and_stack_prefixes():
    suppressions = load_suppressions(EXAMPLE)
    assert [(s.index, s.check, s.expires) for s in suppressions] == [
        (1, "CKV_DIO_4", date(2026, 6, 30)),
        (2, "HUB_DROPLET_BACKUPS", date(2026, 3, 31)),
        (3, "CKV_DIO_2", date(2026, 12, 31)),
    ]
    lines = EXAMPLE.read_text().splitlines()
    assert all(lines[s.line - 1] == "[[suppression]]" for s in suppressions)
    assert [(s.stack_pattern, s.pattern) for s in suppressions] == [
        (None, "production/firewalls/admin*"),
        ("staging", "digitalocean_droplet.staging_cache_*"),
        ("pr-*", "*"),
    ]


def test_split_target():
    assert split_target("staging:digitalocean_droplet.*") == ("staging", "digitalocean_droplet.*")
    assert split_target("production/firewalls/*") == (None, "production/firewalls/*")


def test_the_default_file_may_be_absent_but_a_named_one_may_not(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_suppressions() == []
    with pytest.raises(SuppressionError, match="missing.toml: suppressions file not found"):
        load_suppressions(Path("missing.toml"))


def test_the_default_file_is_read_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, _entry())
    [suppression] = load_suppressions()
    assert suppression.file == "suppressions.toml"


def test_a_missing_reason_names_file_entry_check_and_field(tmp_path):
    path = _write(tmp_path, _entry() + '[[suppression]]\ncheck = "CKV_DIO_4"\ntarget = "x.y"\nexpires = 2026-01-01\n')
    with pytest.raises(SuppressionError) as error:
        load_suppressions(path)
    assert str(error.value) == f"{path.as_posix()}: entry 2 (check CKV_DIO_4): field 'reason' is required"


@pytest.mark.parametrize("reason", ["", "   ", "temporary", "see ticket"])
def test_a_reason_needs_a_few_words(tmp_path, reason):
    with pytest.raises(SuppressionError, match=r"entry 1 \(check HUB_FW_001\): field 'reason' must explain"):
        _suppressions(tmp_path, _entry(reason=reason))


@pytest.mark.parametrize(
    ("expires", "problem"),
    [
        ('"2026-13-01"', "is not a real date"),
        ('"30.06.2026"', "must be an ISO date"),
        ("1767225600", "must be an ISO date"),
        ("2026-06-30T12:00:00", r"must be a date \(YYYY-MM-DD\), not a date-time"),
    ],
)
def test_a_bad_date_is_refused(tmp_path, expires, problem):
    with pytest.raises(SuppressionError, match=rf"entry 1 \(check HUB_FW_001\): field 'expires' {problem}"):
        _suppressions(tmp_path, _entry(expires=expires))


def test_expires_is_required(tmp_path):
    body = '[[suppression]]\ncheck = "HUB_FW_001"\ntarget = "a.b"\nreason = "one two three"\n'
    with pytest.raises(SuppressionError, match="field 'expires' is required"):
        load_suppressions(_write(tmp_path, body))


def test_an_unknown_key_is_refused_with_the_allowed_ones(tmp_path):
    body = _entry().replace("expires", 'owner = "ops"\nexpires')
    with pytest.raises(SuppressionError, match=r"entry 1 \(check HUB_FW_001\): unknown key 'owner' \(allowed keys: "
                                                r"check, target, reason, expires\)"):
        _suppressions(tmp_path, body)


def test_a_misspelt_table_name_is_refused(tmp_path):
    with pytest.raises(SuppressionError, match="top level: unknown key 'suppresion'"):
        _suppressions(tmp_path, _entry().replace("[[suppression]]", "[[suppresion]]"))


def test_bad_toml_names_the_line(tmp_path):
    path = _write(tmp_path, '[[suppression]]\ncheck = "HUB_FW_001"\ntarget = production\n')
    with pytest.raises(SuppressionError, match=r"suppressions.toml: not valid TOML: .*line 3"):
        load_suppressions(path)


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(SuppressionError) as error:
        _suppressions(tmp_path, _entry(reason="short"), _entry(check="CKV_DIO_4", expires='"soon"'))
    assert len(str(error.value).splitlines()) == 2


def test_a_target_needs_a_pattern_and_a_named_stack(tmp_path):
    with pytest.raises(SuppressionError, match="field 'target' needs a construct path"):
        _suppressions(tmp_path, _entry(target="staging:"))
    with pytest.raises(SuppressionError, match="field 'target' has an empty stack name"):
        _suppressions(tmp_path, _entry(target=":digitalocean_droplet.*"))


def test_the_suppression_problems_themselves_cannot_be_suppressed(tmp_path):
    with pytest.raises(SuppressionError, match="cannot be suppressed"):
        _suppressions(tmp_path, _entry(check=UNUSED))


def test_a_repeated_entry_is_refused(tmp_path):
    with pytest.raises(SuppressionError, match="entry 2 .*repeats entry 1"):
        _suppressions(tmp_path, _entry(), _entry(reason="the same exception written twice"))


# --- applying -------------------------------------------------------------------------------------


def test_a_construct_path_glob_suppresses_a_failed_finding_with_its_reason(tmp_path):
    suppressions = _suppressions(tmp_path, _entry(target="production/firewalls/*"))
    other_check = _finding(check_id="CKV_DIO_4")
    findings, problems = apply_suppressions([_finding(), other_check], suppressions, KNOWN, TODAY)
    assert problems == []
    assert findings[0].status is Status.SUPPRESSED
    assert findings[0].suppression_reason == "Reached only through the bastion host"
    assert findings[0].extra["suppressed_by"]["entry"] == 1
    assert findings[1] == other_check  # another check on the same resource stays failed


def test_an_address_glob_suppresses_and_checkov_findings_are_treated_alike(tmp_path):
    suppressions = _suppressions(tmp_path, _entry(check="CKV_DIO_4", target="digitalocean_firewall.production_*"))
    checkov = _finding(check_id="CKV_DIO_4", source="checkov", construct_path="")
    findings, problems = apply_suppressions([checkov], suppressions, KNOWN, TODAY)
    assert problems == [] and findings[0].status is Status.SUPPRESSED


def test_brackets_in_a_target_are_literal_so_an_indexed_construct_path_matches_as_written(tmp_path):
    indexed = _finding(address="digitalocean_droplet.pool0_ab12", construct_path="production/pool[0]/droplet")
    other = _finding(address="digitalocean_droplet.pool0_cd34", construct_path="production/pool0/droplet")
    for target in ("production/pool[0]/droplet", "production/pool[0]/*"):
        suppressions = _suppressions(tmp_path, _entry(target=target))
        findings, problems = apply_suppressions([indexed, other], suppressions, KNOWN, TODAY)
        assert [f.status for f in findings] == [Status.SUPPRESSED, Status.FAILED] and problems == []


def test_a_glob_that_misses_leaves_the_finding_failed(tmp_path):
    suppressions = _suppressions(tmp_path, _entry(target="production/firewalls/app"))
    findings, problems = apply_suppressions([_finding()], suppressions, KNOWN, TODAY)
    assert findings[0].status is Status.FAILED
    assert [p.check_id for p in problems] == [UNUSED]


def test_a_stack_prefix_limits_the_suppression_to_that_stack(tmp_path):
    suppressions = _suppressions(tmp_path, _entry(target="staging:digitalocean_firewall.*"))
    production = _finding()
    staging = _finding(stack="staging", address="digitalocean_firewall.staging_admin_fw",
                       construct_path="staging/firewalls/admin")
    findings, problems = apply_suppressions([production, staging], suppressions, KNOWN, TODAY)
    assert [f.status for f in findings] == [Status.FAILED, Status.SUPPRESSED]
    assert problems == []


def test_stack_wide_findings_are_covered_only_by_a_bare_star(tmp_path):
    stack_wide = _finding(address="", construct_path="")
    narrow = _suppressions(tmp_path, _entry(target="production/*"))
    assert apply_suppressions([stack_wide], narrow, KNOWN, TODAY)[0][0].status is Status.FAILED
    whole_stack = _suppressions(tmp_path, _entry(target="production:*"))
    assert apply_suppressions([stack_wide], whole_stack, KNOWN, TODAY)[0][0].status is Status.SUPPRESSED


def test_passed_findings_are_never_touched_and_do_not_count_as_use(tmp_path):
    suppressions = _suppressions(tmp_path, _entry())
    passed = _finding(status=Status.PASSED)
    findings, problems = apply_suppressions([passed], suppressions, KNOWN, TODAY)
    assert findings == [passed]
    assert [p.check_id for p in problems] == [UNUSED]


def test_an_expired_suppression_does_not_suppress_and_is_a_failed_medium_finding(tmp_path):
    suppressions = _suppressions(tmp_path, "# header comment\n\n", _entry(expires="2026-01-14"))
    findings, problems = apply_suppressions([_finding()], suppressions, KNOWN, TODAY)
    assert findings[0].status is Status.FAILED
    [problem] = problems
    assert (problem.check_id, problem.severity, problem.status) == (EXPIRED, Severity.MEDIUM, Status.FAILED)
    assert "entry 1 (HUB_FW_001 on 'production/firewalls/*') expired on 2026-01-14" in problem.message
    assert (problem.file.endswith("suppressions.toml"), problem.line) == (True, 3)


def test_a_suppression_is_valid_through_its_expiry_date(tmp_path):
    suppressions = _suppressions(tmp_path, _entry(expires="2026-01-15"))
    findings, problems = apply_suppressions([_finding()], suppressions, KNOWN, TODAY)
    assert findings[0].status is Status.SUPPRESSED and problems == []


def test_an_unknown_check_id_is_a_problem(tmp_path):
    suppressions = _suppressions(tmp_path, _entry(check="CKV_DIO_44"))
    findings, problems = apply_suppressions([_finding()], suppressions, KNOWN, TODAY)
    assert findings[0].status is Status.FAILED
    [problem] = problems
    assert (problem.check_id, problem.status) == (UNKNOWN_CHECK, Status.FAILED)
    assert "'CKV_DIO_44'" in problem.message


def test_when_some_checks_did_not_run_entries_for_other_checks_are_judged_only_by_expiry(tmp_path):
    suppressions = _suppressions(
        tmp_path,
        _entry(check="CKV_DIO_44"),  # perhaps a check of the part that did not run
        _entry(check="CKV_DIO_45", expires="2026-01-14"),
        _entry(check="HUB_FW_001"),  # a check that ran, and found nothing to cover
    )
    _, problems = apply_suppressions([], suppressions, KNOWN, TODAY, stacks=["production"],
                                     loaded=["production"], all_checks_ran=False)
    assert [(p.check_id, p.extra["entry"]) for p in problems] == [(EXPIRED, 2), (UNUSED, 3)]


def test_unused_is_judged_only_for_stacks_this_run_evaluated(tmp_path):
    suppressions = _suppressions(
        tmp_path,
        _entry(target="production/firewalls/*"),
        _entry(check="CKV_DIO_4", target="production:digitalocean_droplet.*"),
        _entry(check="CKV_DIO_2", target="digitalocean_droplet.*"),  # no stack named: meant for every stack
    )
    staging_only = [_finding(stack="staging", address="a.b", construct_path="staging/a")]
    both = ["staging", "production"]
    # --env staging: production's entries, and the one production may use, are not judged
    _, problems = apply_suppressions(staging_only, suppressions, KNOWN, TODAY, stacks=["staging"], loaded=both)
    assert problems == []
    _, problems = apply_suppressions(staging_only, suppressions, KNOWN, TODAY, stacks=both, loaded=both)
    assert [(p.check_id, p.extra["entry"]) for p in problems] == [(UNUSED, 1), (UNUSED, 2), (UNUSED, 3)]


def test_an_entry_meant_for_no_stack_is_unused_unless_it_may_be_for_previews(tmp_path):
    suppressions = _suppressions(
        tmp_path,
        _entry(target="developmnet:digitalocean_firewall.app"),  # misspelt stack
        _entry(check="CKV_DIO_4", target="prodution/firewalls/*"),  # misspelt first path segment
        _entry(check="CKV_DIO_2", target="preview-*:digitalocean_droplet.*"),  # no preview in this run
    )
    run = [_finding(stack="development", address="a.b", construct_path="development/a")]
    for evaluated in (["development"], ["development", "staging"]):  # with or without --env
        _, problems = apply_suppressions(run, suppressions, KNOWN, TODAY, stacks=evaluated,
                                         loaded=["development", "staging"])
        assert [(p.check_id, p.extra["entry"]) for p in problems] == [(UNUSED, 1), (UNUSED, 2)]
        assert "meant for stacks matching 'developmnet', and no stack of this run matches" in problems[0].message


def test_an_expired_entry_is_reported_unless_meant_only_for_stacks_not_evaluated(tmp_path):
    expired = "2001-01-01"
    suppressions = _suppressions(
        tmp_path,
        _entry(target="prodution/firewalls/*", expires=expired),  # meant for no stack
        _entry(check="CKV_DIO_4", target="staging:*", expires=expired),  # meant for a stack not evaluated
        _entry(check="CKV_DIO_2", target="*", expires=expired),  # meant for every stack
    )
    run = [_finding(stack="development", address="a.b", construct_path="development/a")]
    _, problems = apply_suppressions(run, suppressions, KNOWN, TODAY, stacks=["development"],
                                     loaded=["development", "staging"])
    assert [(p.check_id, p.extra["entry"]) for p in problems] == [(EXPIRED, 1), (EXPIRED, 3)]


def test_findings_keep_their_order(tmp_path):
    suppressions = _suppressions(tmp_path, _entry())
    originals = [_finding(check_id="CKV_DIO_4"), _finding(), _finding(check_id="CKV_DIO_2")]
    findings, _ = apply_suppressions(originals, suppressions, KNOWN, TODAY)
    assert [f.check_id for f in findings] == ["CKV_DIO_4", "HUB_FW_001", "CKV_DIO_2"]
