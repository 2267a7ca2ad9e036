"""Alert thresholds from the platform design: one table feeds the DigitalOcean alerts (and any
Prometheus rules generated from it), so the two can never disagree."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Threshold:
    key: str
    description: str
    value: float
    unit: str
    severity: str  # critical -> PagerDuty, warning -> Slack, info -> email
    do_metric: str | None = None  # DigitalOcean monitor alert type, where DigitalOcean measures it


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("cpu", "CPU above 80 %", 80, "percent", "warning", "v1/insights/droplet/cpu"),
    Threshold(
        "memory", "Memory above 85 %", 85, "percent", "warning", "v1/insights/droplet/memory_utilization_percent"
    ),
    Threshold("disk", "Disk above 85 %", 85, "percent", "warning", "v1/insights/droplet/disk_utilization_percent"),
    Threshold("p95_latency", "p95 response time above 200 ms", 200, "ms", "critical"),
    Threshold("error_rate", "Error rate above 1 %", 1, "percent", "critical"),
    Threshold("db_connections", "Database connections above 80 % of the pool", 80, "percent", "warning"),
    Threshold("queue_depth", "Queue depth above 1000 messages", 1000, "messages", "warning"),
)

ALERT_WINDOW = "5m"
UPTIME_PERIOD = "2m"
UPTIME_REGIONS = ("eu_west", "us_east")


def threshold(key: str) -> Threshold:
    for t in THRESHOLDS:
        if t.key == key:
            return t
    raise KeyError(key)
