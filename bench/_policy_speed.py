"""Time our own policies in-process on synthesized stacks (used by bench/run.py).

Usage: python bench/_policy_speed.py STACKS_DIR REPEAT   (run with the project root as cwd)

Times the stack rules, the cost estimate and every per-resource check of policies/checks, the
way the gate calls them but without Checkov's runner, and prints JSON. Loading the stacks and
importing the modules happen before the clock starts; one untimed pass warms lazy caches
(the price table, the check registry).

Each timed pass gets freshly loaded stacks and fresh Checkov-form confs, built before its clock
starts, as a gate run gets them: the policies derive some values once per loaded stack (the
validated "//".hub context, parsed firewall rules) or per conf, and timing the same objects
again would time those values already derived. Building the confs is Checkov's work in the gate
(its terraform_json parser hands them to the checks), so it is not timed as ours.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from fnmatch import fnmatchcase
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))

from policies.checks import all_checks  # noqa: E402
from policies.checks._rules import checkov_conf  # noqa: E402
from policies.cost import estimate_many  # noqa: E402
from policies.stack_document import load_stack  # noqa: E402
from policies.stack_rules import run_stack_rules  # noqa: E402


def _applies(check, resource_type: str) -> bool:
    # Checkov's registry matches supported_resources as glob patterns ("*" for every type).
    return any(fnmatchcase(resource_type, pattern) for pattern in check.supported_resources)


def prepare_checks(docs) -> list[tuple[dict, str, list]]:
    """(Checkov-form conf, resource type, the checks that apply) per resource some check applies to."""
    checks = all_checks()
    by_type: dict[str, list] = {}
    prepared = []
    for doc in docs:
        for res in doc.resources:
            applicable = by_type.get(res.type)
            if applicable is None:
                applicable = by_type[res.type] = [c for c in checks if _applies(c, res.type)]
            if applicable:
                prepared.append((checkov_conf(res.attrs), res.type, applicable))
    return prepared


def run_checks(prepared) -> int:
    evaluated = 0
    for conf, resource_type, applicable in prepared:
        for check in applicable:
            check.evaluate(conf, resource_type)
            evaluated += 1
    return evaluated


def main() -> int:
    stacks_dir, repeat = Path(sys.argv[1]), int(sys.argv[2])
    files = sorted(stacks_dir.glob("*/cdk.tf.json"))
    if not files:
        print(f"error: {stacks_dir}: no */cdk.tf.json stack files to time the policies on", file=sys.stderr)
        return 2

    def fresh_inputs():
        docs = [load_stack(f) for f in files]
        return docs, prepare_checks(docs)

    docs, prepared = fresh_inputs()
    resources = sum(len(d.resources) for d in docs)
    evaluations = run_checks(prepared)  # also the warm-up of the checks, untimed
    run_stack_rules(docs), estimate_many(docs)  # warm-up, untimed

    times: dict[str, list[float]] = {name: [] for name in ("stack_rules", "cost", "checks")}
    totals: list[float] = []
    for _ in range(repeat):
        docs, prepared = fresh_inputs()
        parts = (("stack_rules", run_stack_rules, docs), ("cost", estimate_many, docs), ("checks", run_checks, prepared))
        total = 0.0
        for name, part, inputs in parts:
            start = time.perf_counter()
            part(inputs)
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            total += elapsed
        totals.append(total)

    per_k = 1000.0 / resources
    print(json.dumps({
        "stacks": len(docs),
        "resources": resources,
        "check_evaluations_per_pass": evaluations,
        "checks": len(all_checks()),
        "repeat": repeat,
        "total_ms": {"best": min(totals) * 1e3, "median": statistics.median(totals) * 1e3},
        "ms_per_1000_resources": {"best": min(totals) * 1e3 * per_k, "median": statistics.median(totals) * 1e3 * per_k},
        "parts_median_ms": {name: statistics.median(t) * 1e3 for name, t in times.items()},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
