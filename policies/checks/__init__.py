"""The hub's per-resource policies as Checkov custom checks, one check per file.

Checkov runs them with `--external-checks-dir policies/checks` (it skips a directory without
this `__init__.py`); the gate gets them from `all_checks()`. Importing this package stays cheap:
the check modules, and Checkov with them, load only when `all_checks()` is first called.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policies.checks._rules import HubResourceCheck

__all__ = ["all_checks", "covered_resource_types"]


def _check_order(check: "HubResourceCheck") -> tuple:
    """HUB_DO_2 before HUB_DO_10: split the id into text and numbers."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", check.id))


@lru_cache(maxsize=1)
def all_checks() -> tuple["HubResourceCheck", ...]:
    """Every check instance of this package, ordered by id.

    Each carries `id`, `name` (title), `supported_resources`, `hub_severity` (policies.findings.Severity)
    and `hub_fix` (a one-line fix), and runs on a Checkov-form conf with `evaluate(conf, entity_type)`.
    """
    checks = []
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_"):
            continue  # helpers, not checks
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        check = getattr(module, "check", None)
        if check is None:
            raise ImportError(f"{module.__file__}: a check module must define a module-level `check` instance")
        checks.append(check)
    return tuple(sorted(checks, key=_check_order))


def covered_resource_types() -> frozenset[str]:
    """The resource types some check names explicitly.

    Wildcard patterns are left out: HUB_GEN_1 (`*`) applies to every resource, so it covers no type in particular.
    """
    return frozenset(
        resource_type
        for check in all_checks()
        for resource_type in check.supported_resources
        if not any(symbol in resource_type for symbol in "*?[")
    )
