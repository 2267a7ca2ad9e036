"""Port ranges as firewalls write them ("22", "8000-8100", "1-65535", "all"), and what is left of
one range after taking away others, so a rule can say exactly which ports are undeclared.
Shared by the per-resource checks and the stack rules.

Written by hand because the standard library has no integer interval sets; ranges are tiny.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

MAX_PORT = 65535
NEARLY_ALL_PORTS = MAX_PORT - 1023  # every port but the privileged ones: as good as all of them
PROTOCOLS = ("tcp", "udp", "icmp")  # what a DigitalOcean firewall rule takes
_RANGE = re.compile(r"^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$")


@dataclass(frozen=True, order=True)
class PortRange:
    low: int
    high: int

    def contains(self, port: int) -> bool:
        return self.low <= port <= self.high

    @property
    def is_all(self) -> bool:
        return self.low <= 1 and self.high >= MAX_PORT

    @property
    def is_nearly_all(self) -> bool:
        """Every port but at most the privileged ones below 1024 ("2-65535", "1024-65535"): as wide
        open as all ports for what listens on a Droplet."""
        return self.high - self.low + 1 >= NEARLY_ALL_PORTS

    def __str__(self) -> str:
        if self.is_all:
            return "all ports"
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


ALL_PORTS = PortRange(1, MAX_PORT)


def parse_port_range(raw: object) -> PortRange | None:
    """"22", 22, "8000-8100", "all" or "0" (DigitalOcean's "all ports"); None when unreadable."""
    if type(raw) is str:
        return _parse_text(raw)  # the usual case, first: every firewall rule asks
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    return _parse_text(raw)


@lru_cache(maxsize=1024)
def _parse_text(raw: str) -> PortRange | None:
    # Every firewall rule and graph edge asks, with a handful of distinct strings per run.
    text = raw.strip().lower()
    if text in ("all", "0"):
        return ALL_PORTS
    match = _RANGE.match(text)
    if not match:
        return None
    low, high = int(match.group(1)), int(match.group(2) or match.group(1))
    if low > high or high > MAX_PORT:
        return None
    if high == 0:
        # "00" and "0-0" are port 0, which DigitalOcean reads as all ports; clamped to 1 below they
        # would be an empty range that no check sees as open.
        return ALL_PORTS
    return PortRange(max(low, 1), high)


def uncovered(opening: PortRange, declared: Iterable[PortRange]) -> list[PortRange]:
    """The parts of `opening` that no range in `declared` covers, in order."""
    left: list[PortRange] = []
    cursor = opening.low
    for cover in sorted(declared):
        if cover.high < cursor:
            continue
        if cover.low > opening.high:
            break
        if cover.low > cursor:
            left.append(PortRange(cursor, cover.low - 1))
        cursor = max(cursor, cover.high + 1)
        if cursor > opening.high:
            return left
    if cursor <= opening.high:
        left.append(PortRange(cursor, opening.high))
    return left


def describe(ranges: Iterable[PortRange]) -> str:
    return ", ".join(str(r) for r in ranges)
