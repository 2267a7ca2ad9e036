"""Monitoring alerts of one environment, from the shared threshold table."""

from __future__ import annotations

from constructs_lib import _bindings  # noqa: F401  - before any provider import: load only what we use
from cdktf_cdktf_provider_digitalocean.monitor_alert import MonitorAlert, MonitorAlertAlerts, MonitorAlertAlertsSlack
from cdktf_cdktf_provider_digitalocean.uptime_alert import (
    UptimeAlert,
    UptimeAlertNotifications,
    UptimeAlertNotificationsSlack,
)
from cdktf_cdktf_provider_digitalocean.uptime_check import UptimeCheck
from constructs import Construct

from constructs_lib.naming import Part

from constructs_lib.thresholds import ALERT_WINDOW, THRESHOLDS, UPTIME_PERIOD, UPTIME_REGIONS, threshold


class Alerts(Part):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: str,
        project: str,
        droplet_tags: list[str],
        url: str,
        emails: list[str],
        slack_channel: str | None,
        slack_webhook_url: str | None,  # a reference to a sensitive variable, never a literal
    ):
        super().__init__(scope, id_)
        slack = [MonitorAlertAlertsSlack(channel=slack_channel, url=slack_webhook_url)] if slack_channel else None
        self.monitor_alerts = [
            self.add(
                MonitorAlert,
                t.key,
                description=f"{project} {env}: {t.description}",
                type=t.do_metric,
                compare="GreaterThan",
                value=t.value,
                window=ALERT_WINDOW,
                enabled=True,
                tags=list(droplet_tags),
                alerts=MonitorAlertAlerts(email=list(emails), slack=slack),
            )
            for t in THRESHOLDS
            if t.do_metric
        ]
        self.uptime_check = self.add(
            UptimeCheck,
            "uptime",
            name=f"{project}-{env}",
            target=url,
            type="https",
            regions=list(UPTIME_REGIONS),
            enabled=True,
        )
        notify = [
            UptimeAlertNotifications(
                email=list(emails),
                slack=[UptimeAlertNotificationsSlack(channel=slack_channel, url=slack_webhook_url)]
                if slack_channel
                else None,
            )
        ]
        latency = threshold("p95_latency")
        self.uptime_alerts = [
            self.add(
                UptimeAlert,
                "latency",
                check_id=self.uptime_check.id,
                name=f"{project}-{env}: {latency.description}",
                type="latency",
                comparison="greater_than",
                threshold=int(latency.value),
                period=UPTIME_PERIOD,
                notifications=notify,
            ),
            self.add(
                UptimeAlert,
                "down",
                check_id=self.uptime_check.id,
                name=f"{project}-{env}: site is down",
                type="down",
                period=UPTIME_PERIOD,
                notifications=notify,
            ),
        ]
