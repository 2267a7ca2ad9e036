"""Run Checkov (its own checks plus ours) on synthesized stacks, in-process, and turn its records
into findings with real Terraform addresses.

Checkov on `terraform_json` names resources `resource.<name>` and knows no type; we map each of
its records back to our resource by file and start line, which it does report correctly.
In-process, because a Checkov subprocess costs seconds of start-up on every gate run.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from policies.findings import Finding, Severity, Status
from policies.stack_document import StackDocument

# Offline by default: no call to Checkov's platform for its check-id mapping or guidelines.
os.environ.setdefault("BC_SKIP_MAPPING", "TRUE")
os.environ.setdefault("CKV_NO_GUIDELINES", "TRUE")
os.environ.setdefault("BC_SKIP_DOWNLOAD", "TRUE")

DEFAULT_TIMEOUT = float(os.environ.get("HUB_CHECKOV_TIMEOUT", "120"))


class CheckovError(Exception):
    """Checkov is missing, crashed, timed out or answered with something unreadable."""


_CHECKOV_SEVERITY = {"CRITICAL": Severity.CRITICAL, "HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}


@dataclass(frozen=True)
class _Loaded:
    runner_cls: type
    filter_cls: type


_loaded: _Loaded | None = None
_load_error: BaseException | None = None
_load_lock = threading.Lock()


def preload() -> threading.Thread:
    """Import Checkov in the background (it takes about a second) while the caller synthesizes."""
    thread = threading.Thread(target=_load, name="checkov-import", daemon=True)
    thread.start()
    return thread


def _load() -> _Loaded:
    global _loaded, _load_error
    with _load_lock:
        if _loaded is not None:
            return _loaded
        try:
            from checkov.runner_filter import RunnerFilter
            from checkov.terraform_json.runner import TerraformJsonRunner

            from policies.checks import all_checks

            all_checks()  # registers our checks with Checkov's registry
            _loaded = _Loaded(TerraformJsonRunner, RunnerFilter)
        except BaseException as exc:  # noqa: BLE001 - reported as a gate error, never swallowed
            _load_error = exc
            raise
        return _loaded


def builtin_check_ids() -> set[str]:
    """Ids of every check Checkov would run on Terraform (for validating suppressions)."""
    _load()
    from checkov.terraform.checks.resource.registry import resource_registry

    return {c.id for checks in resource_registry.checks.values() for c in checks} | {
        c.id for c in resource_registry.wildcard_checks.get("*", [])
    }


def _hub_meta(check_id: str) -> tuple[Severity, str, str] | None:
    from policies.checks import all_checks

    for check in all_checks():
        if check.id == check_id:
            return check.hub_severity, check.hub_fix, check.name
    return None


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


def _scan(files: list[str]) -> list[_Record]:
    loaded = _load()
    report = loaded.runner_cls().run(
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
    ]


def _split(docs: list[StackDocument], parts: int) -> list[list[str]]:
    """Balance stacks over the workers by resource count (Checkov's time grows with it)."""
    bins: list[tuple[int, list[str]]] = [(0, []) for _ in range(parts)]
    for doc in sorted(docs, key=lambda d: len(d.resources), reverse=True):
        load, files = min(bins, key=lambda b: b[0])
        bins.remove((load, files))
        files.append(str(doc.path))
        bins.append((load + len(doc.resources) + 1, files))
    return [files for _, files in bins if files]


def _worker(files: list[str], conn) -> None:
    try:
        conn.send(("ok", _scan(files)))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which fails the gate
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _scan_parallel(docs: list[StackDocument], timeout: float) -> list[_Record]:
    """Checkov in one forked worker per core: its JSON parsing and graph building are pure
    Python and dominate the gate's time. The workers inherit Checkov already imported."""
    import multiprocessing
    import time

    ctx = multiprocessing.get_context("fork")
    # Even one chunk goes to a worker: a hung Checkov can then be killed at the timeout.
    chunks = _split(docs, max(1, min(os.cpu_count() or 1, len(docs))))
    workers = []
    for files in chunks:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker, args=(files, child), daemon=True)
        proc.start()
        child.close()
        workers.append((proc, parent))
    deadline = time.monotonic() + timeout
    records: list[_Record] = []
    try:
        for proc, conn in workers:
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                raise CheckovError(f"Checkov did not finish within {timeout:.0f} s (HUB_CHECKOV_TIMEOUT)")
            try:
                status, payload = conn.recv()
            except EOFError:
                raise CheckovError("Checkov's worker died without an answer") from None
            if status != "ok":
                raise CheckovError(f"Checkov failed: {payload}")
            records += payload
    finally:
        for proc, conn in workers:
            conn.close()
            if proc.is_alive():
                proc.kill()
            proc.join()
    return records


def run_checkov(docs: list[StackDocument], timeout: float = DEFAULT_TIMEOUT) -> list[Finding]:
    """Every Checkov result (passed and failed) for the given stacks, as findings."""
    if not docs:
        return []
    try:
        _load()
    except BaseException as exc:  # noqa: BLE001
        raise CheckovError(f"Checkov could not be loaded: {type(exc).__name__}: {exc}") from None
    files = {str(d.path): d for d in docs}
    try:
        records = _scan_parallel(docs, timeout)
    except CheckovError:
        raise
    except BaseException as exc:  # noqa: BLE001
        raise CheckovError(f"Checkov failed: {type(exc).__name__}: {exc}") from None

    by_line = {
        (str(d.path), r.line): (d, r) for d in docs for r in d.resources
    }
    findings: list[Finding] = []
    seen_files: set[str] = set()
    for rec in records:
        doc_res = by_line.get((rec.file, rec.start_line))
        if doc_res is None:
            raise CheckovError(
                f"Checkov reported {rec.check_id} on {rec.resource} at {rec.file}:{rec.start_line}, "
                "which matches no resource of that file"
            )
        doc, res = doc_res
        seen_files.add(rec.file)
        status = Status.PASSED if rec.passed else Status.FAILED
        meta = _hub_meta(rec.check_id)
        severity, fix, title = meta if meta else (
            _CHECKOV_SEVERITY.get(rec.severity, Severity.MEDIUM), rec.guideline, rec.check_name
        )
        details = "; ".join(rec.details)
        message = details or (title if status is Status.FAILED else "passed")
        findings.append(
            Finding(
                check_id=rec.check_id,
                title=title,
                severity=severity,
                stack=doc.name,
                address=res.address,
                construct_path=res.construct_path,
                file=doc.display_path,
                line=res.line,
                message=message,
                fix=fix,
                status=status,
                source="hub" if meta else "checkov",
            )
        )
    # Checkov passes silently on input it could not read; every stack with resources must have results.
    for path, doc in files.items():
        if doc.resources and path not in seen_files:
            raise CheckovError(f"{doc.display_path}: Checkov returned no result for a stack with {len(doc.resources)} resources")
    return findings
