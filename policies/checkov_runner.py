"""Run Checkov (its own checks plus ours) on synthesized stacks and turn its records into
findings with real Terraform addresses.

Checkov on `terraform_json` names resources `resource.<name>` and knows no type; we map each of
its records back to our resource by file and start line, which it does report correctly.

Checkov runs in a service process of its own. Importing Checkov costs about a second; `main.py`
starts the service before it synthesizes, so the import runs on the second core while the first
one synthesizes. When asked, the service forks one worker per core (Checkov's JSON parsing and
graph building are pure Python), and a hung Checkov can be killed with its whole process group.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path

from policies.findings import Finding, Severity, Status, location
from policies.stack_document import YAML_UNREADABLE, Resource, StackDocument, key_lines
from policies.stack_rules._values import exists

# Offline by default: no call to Checkov's platform for its check-id mapping or guidelines.
os.environ.setdefault("BC_SKIP_MAPPING", "TRUE")
os.environ.setdefault("CKV_NO_GUIDELINES", "TRUE")
os.environ.setdefault("BC_SKIP_DOWNLOAD", "TRUE")

TIMEOUT_ENV, DEFAULT_TIMEOUT = "HUB_CHECKOV_TIMEOUT", 120.0


def timeout_from_env() -> float:
    """Seconds Checkov may take: HUB_CHECKOV_TIMEOUT, else 120; ValueError naming the variable."""
    raw = os.environ.get(TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{TIMEOUT_ENV}: expected a number of seconds above 0, found {raw!r}")
    return seconds


_FORK = multiprocessing.get_context("fork")


class CheckovError(Exception):
    """Checkov is missing, crashed, timed out or answered with something unreadable."""


# Checkov's guidelines come from its platform, which the gate does not call: our one-line fixes for
# its checks on this platform's resources, and a fallback built from the check's own title.
_CHECKOV_FIXES = {
    "CKV_DIO_1": "Set versioning { enabled = true } on the Spaces bucket.",
    "CKV_DIO_2": "List at least one SSH key id or fingerprint in the Droplet's ssh_keys.",
    "CKV_DIO_3": "Set the Spaces bucket's acl to \"private\"; serve public files through a CDN or signed URLs.",
    "CKV_DIO_4": "Open inbound rules only to the load balancer, tags or admin networks, never to 0.0.0.0/0 or ::/0.",
}


def _checkov_fix(rec: "_Record") -> str:
    if rec.guideline:
        return rec.guideline
    return _CHECKOV_FIXES.get(rec.check_id) or f"{rec.check_name.rstrip('.')} (Checkov's documentation of {rec.check_id} shows how)."


_CHECKOV_SEVERITY = {"CRITICAL": Severity.CRITICAL, "HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}


@dataclass(frozen=True)
class _Loaded:
    runner_cls: type
    filter_cls: type
    hub_meta: dict[str, tuple[Severity, str, str, tuple[str, ...]]]  # our check id -> severity, fix, title, types
    check_ids: frozenset[str]  # every check id Checkov runs on Terraform, ours included
    covered_types: frozenset[str]  # resource types our checks name
    graph_types: frozenset[str]  # resource types some graph check of Checkov's looks at ("all" for any)


_loaded: _Loaded | None = None


def line_loader_in_c():
    """A YAML loader that gives exactly what Checkov's `SafeLineLoader` gives (mappings with
    `__startline__`/`__endline__`) but parses in libyaml's C code, about 8 times faster.

    Checkov reads Terraform JSON through a pure-Python YAML parser to get line numbers; on our
    stacks that parse is half of Checkov's time. Returns None when PyYAML lacks libyaml.
    """
    import yaml
    from checkov.common.parsers.yaml.loader import SafeLineLoader

    if not getattr(yaml, "__with_libyaml__", False):
        return None

    class CSafeLineLoader(yaml.CSafeLoader):
        bool_values = SafeLineLoader.bool_values

        def construct_mapping(self, node, deep=False):
            mapping = yaml.constructor.SafeConstructor.construct_mapping(self, node, deep=deep)
            mapping["__startline__"] = node.start_mark.line + 1
            mapping["__endline__"] = node.end_mark.line + 1
            return mapping

    return CSafeLineLoader


def _load() -> _Loaded:
    global _loaded
    if _loaded is None:
        from checkov.runner_filter import RunnerFilter
        from checkov.terraform.checks.resource.registry import resource_registry
        from checkov.terraform_json.runner import TerraformJsonRunner

        from checkov.common.parsers.yaml import loader as yaml_loader

        from policies.checks import all_checks, covered_resource_types

        fast = line_loader_in_c()
        if fast is not None:  # only in the gate's own Checkov process; plain `checkov` is untouched
            yaml_loader.SafeLineLoader = fast
        _judge_dynamic_blocks_as_written()
        _record_check_crashes()
        ours = all_checks()  # registers our checks with Checkov's registry
        ids = {c.id for checks in resource_registry.checks.values() for c in checks}
        ids |= {c.id for checks in resource_registry.wildcard_checks.values() for c in checks}
        graph_registry = TerraformJsonRunner().graph_registry
        graph_registry.load_checks()
        ids |= {c.id for c in graph_registry.checks}
        _loaded = _Loaded(
            TerraformJsonRunner,
            RunnerFilter,
            {c.id: (c.hub_severity, c.hub_fix, c.name, tuple(c.supported_resources)) for c in ours},
            frozenset(ids),
            covered_resource_types(),
            frozenset(t for c in graph_registry.checks for t in (c.resource_types or ["all"])),
        )
    return _loaded


@dataclass(frozen=True)
class _Record:
    """What we keep of a Checkov record: plain data, so it can cross a process boundary."""

    check_id: str
    check_name: str
    passed: bool
    file: str
    start_line: int
    resource: str
    details: tuple[str, ...]
    guideline: str
    severity: str
    crash: str = ""  # the check raised this instead of answering


_crashes: list[_Record] = []  # check crashes recorded during the current _scan in this process


def _judge_dynamic_blocks_as_written() -> None:
    """Switch off Checkov's expansion of `dynamic` blocks for its resource checks.

    On Terraform JSON it fails: it crashes on the line numbers inside the block, after it has
    already replaced the written blocks of that name by the dynamic ones (tests show both). Checkov's
    checks then judge the resource as written; ours add the dynamic templates themselves
    (policies/checks/_rules.py: with_dynamic_templates).
    """
    from checkov.terraform.checks.resource import (
        base_resource_check, base_resource_negative_value_check, base_resource_value_check,
    )

    for module in (base_resource_check, base_resource_value_check, base_resource_negative_value_check):
        module.handle_dynamic_values = lambda conf, has_dynamic_block=False: False


def _record_check_crashes() -> None:
    """Keep each check that raises on a resource as a record of its own, to fail closed on.

    Checkov logs the traceback (on the terminal) and drops the check's result, so a crash would
    otherwise read as a pass. Checkov calls `log_check_error` exactly then, with the exception
    being handled; recording it there replaces the traceback with a finding.
    """
    from checkov.common.checks.base_check import BaseCheck

    def record(check, scanned_file, entity_type, entity_name, entity_configuration) -> None:
        error = sys.exc_info()[1]
        start = entity_configuration.get("__startline__") if isinstance(entity_configuration, dict) else None
        _crashes.append(_Record(
            check_id=check.id, check_name=check.name, passed=False, file=str(scanned_file),  # see _scan
            start_line=start if isinstance(start, int) else 0, resource=f"{entity_type}.{entity_name}",
            details=(), guideline=check.guideline or "", severity=str(getattr(check.severity, "name", "") or "").upper(),
            crash=f"{type(error).__name__}: {error}" if error is not None else "an unknown error",
        ))

    BaseCheck.log_check_error = record


@dataclass(frozen=True)
class CheckovResult:
    findings: list[Finding]
    check_ids: frozenset[str]  # for validating suppressions
    covered_types: frozenset[str]  # resource types our per-resource checks know


def _without_graph(runner) -> None:
    """Skip Checkov's graph: it renders every Terraform expression of every stack (three quarters of
    Checkov's time on our stacks) and feeds only graph checks, none of which looks at these stacks."""
    runner.graph_manager.build_graph_from_definitions = lambda definitions: None
    runner.graph_manager.save_graph = lambda graph: None
    runner.add_graph_check_results = lambda report, runner_filter: None


def _scan(files: list[str], resource_types: frozenset[str] = frozenset({"all"})) -> list[_Record]:
    loaded = _load()
    _crashes.clear()
    runner = loaded.runner_cls()
    unknown_types = "all" in resource_types
    if not unknown_types and not loaded.graph_types & (resource_types | {"all", "*"}):
        _without_graph(runner)
    report = runner.run(
        root_folder=None,
        files=files,
        runner_filter=loaded.filter_cls(framework=["terraform_json"], show_progress_bar=False),
    )
    if isinstance(report, list):  # Checkov returns a list when it splits by framework
        report = report[0] if len(report) == 1 else None
    if report is None or not hasattr(report, "failed_checks") or not hasattr(report, "passed_checks"):
        raise CheckovError(f"Checkov returned something unreadable: {type(report).__name__}")
    return [
        _Record(
            check_id=rec.check_id,
            check_name=rec.check_name,
            passed=passed,
            file=str(rec.file_abs_path),
            start_line=rec.file_line_range[0],
            resource=rec.resource,
            details=tuple(str(d) for d in (rec.details or [])),
            guideline=rec.guideline or "",
            severity=str(getattr(rec.severity, "name", "") or "").upper(),
        )
        for passed, records in ((False, report.failed_checks), (True, report.passed_checks))
        for rec in records
    ] + [_with_scanned_file(crash, files) for crash in _crashes]


def _with_scanned_file(crash: _Record, files: list[str]) -> _Record:
    """The crash with the file as given to Checkov, which checks see as "/" + its path relative to the
    working directory (Checkov's own formula); its records carry the file as given."""
    given = [f for f in files if f"/{os.path.relpath(f)}" == crash.file]
    return replace(crash, file=given[0]) if given else crash


@dataclass(frozen=True)
class _Input:
    """The file Checkov reads for one stack, and where it sees each block of the stack."""

    doc: StackDocument
    file: str
    lines: dict[tuple[str, ...], int] | None = None  # the block lines of a clean copy; None: the stack's own

    def line_of(self, block: Resource) -> int:
        return block.line if self.lines is None else self.lines.get(block.key_path, 1)


def _needs_copy(doc: StackDocument) -> bool:
    """Whether Checkov must read a clean copy of the stack instead of its file.

    Checkov reads only files named *.tf.json; it misreads some valid JSON (stack_document.misread_by_checkov);
    and it tells blocks apart by the line they start on, which minified JSON shares.
    """
    lines = [block.line for block in doc.blocks()]
    return not doc.path.name.endswith(".tf.json") or doc.misread_by_checkov or len(set(lines)) < len(lines)


# In the copy: characters YAML would take for line breaks or refuses, escaped (JSON allows it; they sit in strings).
_ESCAPE_YAML_UNREADABLE = {ord(c): f"\\u{ord(c):04x}" for c in YAML_UNREADABLE}


def _inputs(docs: list[StackDocument], copies: Path) -> list[_Input]:
    def copy_of(index: int, data: bytes) -> str:
        copy = copies / str(index) / "cdk.tf.json"  # a directory each: Checkov reads a directory as one module
        copy.parent.mkdir()
        copy.write_bytes(data)
        return str(copy)

    inputs = []
    for index, doc in enumerate(docs):
        if not _needs_copy(doc):
            if doc.data:  # the bytes the other policies judged, not the file again: it may have changed since
                inputs.append(_Input(doc, copy_of(index, doc.data)))
            else:  # a document made in memory (tests) has no bytes read from disk
                inputs.append(_Input(doc, str(doc.path)))
            continue
        # The same document, one key per line, characters as UTF-8: read as the stack itself is. A
        # top-level null (`"locals": null`, which Terraform reads as no block) is left out: Checkov crashes on it.
        clean = {key: value for key, value in doc.raw.items() if value is not None}
        text = json.dumps(clean, indent=2, ensure_ascii=False).translate(_ESCAPE_YAML_UNREADABLE)
        inputs.append(_Input(doc, copy_of(index, text.encode("utf-8")), key_lines(text)))
    return inputs


_Chunk = tuple[list[str], frozenset[str]]  # stack files, and the resource types in them


def _split(inputs: list[_Input], parts: int) -> list[_Chunk]:
    """Balance stacks over the workers by resource count (Checkov's time grows with it)."""
    bins: list[tuple[int, list[_Input]]] = [(0, []) for _ in range(parts)]
    for item in sorted(inputs, key=lambda i: len(i.doc.resources), reverse=True):
        load, group = min(bins, key=lambda b: b[0])
        bins.remove((load, group))
        group.append(item)
        bins.append((load + len(item.doc.resources) + 1, group))
    return [
        ([i.file for i in group], frozenset(r.type for i in group for r in i.doc.resources))
        for _, group in bins
        if group
    ]


def _answer(conn, work) -> None:
    try:
        conn.send(("ok", work()))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which fails the gate
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _scan_chunks(chunks: list[_Chunk]) -> list[_Record]:
    """In the service: the first chunk here, each other chunk in a forked worker."""
    workers = []
    for chunk in chunks[1:]:
        parent, child = _FORK.Pipe(duplex=False)
        proc = _FORK.Process(target=_answer, args=(child, lambda chunk=chunk: _scan(*chunk)))
        proc.start()
        child.close()
        workers.append((proc, parent))
    records = _scan(*chunks[0])
    for proc, conn in workers:
        try:
            status, payload = conn.recv()
        except EOFError:
            raise CheckovError("a Checkov worker died without an answer") from None
        proc.join()
        if status != "ok":
            raise CheckovError(payload)
        records += payload
    return records


def _serve(conn, callers_end) -> None:
    os.setsid()  # its own process group, so a timeout kills the workers too
    # The caller's end, inherited by the fork, closed: when the caller dies, recv() ends (EOFError)
    # and the service with it, instead of waiting forever for a request.
    callers_end.close()
    try:
        loaded = _load()
    except BaseException as exc:  # noqa: BLE001
        conn.send(("error", f"Checkov could not be loaded: {type(exc).__name__}: {exc}"))
        return
    try:
        chunks = conn.recv()
    except EOFError:
        return  # the caller finished without needing Checkov
    _answer(conn, lambda: (_scan_chunks(chunks), loaded.hub_meta, loaded.check_ids, loaded.covered_types))


class CheckovService:
    """One Checkov process: importing on start, scanning on request."""

    def __init__(self) -> None:
        self._conn, child = _FORK.Pipe()
        self._proc = _FORK.Process(target=_serve, args=(child, self._conn), name="checkov")
        self._proc.start()
        child.close()
        # A caller that stops early (bad input) must not wait at exit for a service it never used.
        atexit.register(self.close)

    def scan(self, inputs: list[_Input], timeout: float) -> tuple:
        chunks = _split(inputs, max(1, min(os.cpu_count() or 1, len(inputs))))
        deadline = time.monotonic() + timeout
        try:
            try:
                self._conn.send(chunks)
            except (BrokenPipeError, OSError):
                pass  # it already failed to start; its answer says why
            if not self._conn.poll(max(0.0, deadline - time.monotonic())):
                raise CheckovError(f"Checkov did not finish within {timeout:.0f} s (HUB_CHECKOV_TIMEOUT)")
            try:
                status, payload = self._conn.recv()
            except EOFError:
                raise CheckovError("Checkov's process died without an answer") from None
            if status != "ok":
                raise CheckovError(payload if payload.startswith("Checkov") else f"Checkov failed: {payload}")
            return payload
        finally:
            self.close()

    def close(self) -> None:
        atexit.unregister(self.close)
        self._conn.close()
        if self._proc.is_alive():
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self._proc.kill()
        self._proc.join()


_service: CheckovService | None = None


def preload() -> None:
    """Start Checkov's service now, so its import overlaps whatever the caller does next."""
    global _service
    if _service is None:
        _service = CheckovService()


def _reported_resource(rec: _Record, on_line: list[tuple[StackDocument, Resource]]) -> tuple[StackDocument, Resource]:
    """The block a Checkov record is about (a resource, data source, module or provider): the one
    starting on its line, told apart by name when several do (minified JSON); Checkov's
    `resource.<name>` and `data.<name>` carry no type."""
    if len(on_line) > 1:
        name = rec.resource.rpartition(".")[2]
        on_line = [(d, r) for d, r in on_line if r.name == name]
    if len(on_line) == 1:
        return on_line[0]
    why = "which matches no resource of that file" if not on_line else (
        "where several resources of that name start; write one resource per line (the file looks minified)")
    raise CheckovError(f"Checkov reported {rec.check_id} on {rec.resource} at {rec.file}:{rec.start_line}, {why}")


def run_checkov(docs: list[StackDocument], timeout: float = DEFAULT_TIMEOUT) -> CheckovResult:
    """Every Checkov result (passed and failed) for the given stacks, as findings."""
    global _service
    service, _service = _service or CheckovService(), None
    if not docs:
        service.close()
        return CheckovResult([], frozenset(), frozenset())
    with tempfile.TemporaryDirectory(prefix="hub-checkov-") as copies:
        inputs = _inputs(docs, Path(copies))
        records, hub_meta, check_ids, covered_types = service.scan(inputs, timeout)

    by_line: dict[tuple[str, int], list[tuple[StackDocument, Resource]]] = {}
    for i in inputs:
        for r in i.doc.blocks():
            by_line.setdefault((i.file, i.line_of(r)), []).append((i.doc, r))
    # Checkov names module calls and providers as Terraform does, and puts a provider written as a
    # list of configurations on the line of the first one, not of its name.
    by_address = {(i.file, r.address): [(i.doc, r)] for i in inputs for r in (*i.doc.modules, *i.doc.providers)}
    findings: list[Finding] = []
    seen_files: set[str] = set()
    answered: set[tuple[int, str]] = set()  # (id of the resource, check id)
    for rec in records:
        on_line = by_line.get((rec.file, rec.start_line)) or by_address.get((rec.file, rec.resource), [])
        doc, res = _reported_resource(rec, on_line)
        seen_files.add(rec.file)
        answered.add((id(res), rec.check_id))
        status = Status.PASSED if rec.passed else Status.FAILED
        meta = hub_meta.get(rec.check_id)
        severity, fix, title = meta[:3] if meta else (
            _CHECKOV_SEVERITY.get(rec.severity, Severity.MEDIUM), _checkov_fix(rec), rec.check_name)
        details = "; ".join(rec.details)
        if rec.crash:  # fail closed: a check that could not judge the resource does not pass it
            details = f"not evaluated: the check crashed on this resource ({rec.crash}), so the gate counts it as failed"
            fix = f"Suppress {rec.check_id} for this resource with a reason if it is known to be safe. {fix}".strip()
        findings.append(
            Finding(
                check_id=rec.check_id,
                title=title,
                severity=severity,
                **location(doc, res),
                message=details or (title if status is Status.FAILED else "passed"),
                fix=fix,
                status=status,
                source="hub" if meta else "checkov",
            )
        )
    # Checkov passes silently on input it could not read; every stack with resources must have results.
    for i in inputs:
        if i.doc.resources and i.file not in seen_files:
            raise CheckovError(
                f"{i.doc.display_path}: Checkov returned no result for a stack with {len(i.doc.resources)} resources: "
                "it could not read the file (its log says why)"
            )
    findings += _unanswered(docs, hub_meta, answered)
    return CheckovResult(findings, check_ids, covered_types)


def _unanswered(docs: list[StackDocument], hub_meta: dict, answered: set[tuple[int, str]]) -> list[Finding]:
    """A failed finding for each resource that one of our checks covers but has no answer about.

    Checkov can drop a single result without a word (as it did for every check of a resource with a
    dynamic block); a resource whose `count` is a literal 0 makes nothing and rightly has none.
    """
    ours_for: dict[str, list[str]] = {}
    missing: list[Finding] = []
    for doc in docs:
        for res in doc.resources:
            if not exists(res):
                continue
            check_ids = ours_for.get(res.type)
            if check_ids is None:
                check_ids = ours_for[res.type] = [
                    check_id for check_id, (*_, patterns) in hub_meta.items()
                    if any(fnmatchcase(res.type, pattern) for pattern in patterns)
                ]
            for check_id in check_ids:
                if (id(res), check_id) not in answered:
                    severity, fix, title, _ = hub_meta[check_id]
                    missing.append(Finding(
                        check_id=check_id, title=title, severity=severity, **location(doc, res),
                        message="not evaluated: Checkov returned no result of this check for this resource, "
                                "so the gate counts it as failed",
                        fix=fix, status=Status.FAILED, source="hub",
                    ))
    return missing
