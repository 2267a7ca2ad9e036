"""Cloudflare's `min_tls_version` zone setting, read one way by HUB_CF_3 (each setting) and
HUB_STACK_5 (the zone as a whole), so the two can never disagree on a value."""

from __future__ import annotations

import re
from typing import Any

MINIMUM = (1, 2)
_VERSION = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})")  # Cloudflare's values: "1.0" to "1.3"


def tls_version(raw: Any) -> tuple[int, int] | None:
    """"1.2" -> (1, 2); None for anything else: a `${...}` expression, "1.2.3", non-ASCII digits,
    and a number (Cloudflare takes the version as a string; 1.2 and 1.20 are the same number)."""
    match = _VERSION.fullmatch(raw.strip()) if isinstance(raw, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def is_minimum_or_newer(raw: Any) -> bool:
    version = tls_version(raw)
    return version is not None and version >= MINIMUM
