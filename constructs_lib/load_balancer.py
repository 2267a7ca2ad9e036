"""The public entry point: a load balancer in the VPC that sends traffic to the active colour."""

from __future__ import annotations

from constructs_lib import _bindings  # noqa: F401  - before any provider import: load only what we use
from cdktf_cdktf_provider_digitalocean.loadbalancer import (
    Loadbalancer,
    LoadbalancerForwardingRule,
    LoadbalancerHealthcheck,
)
from constructs import Construct

from constructs_lib.naming import Part

HEALTH_PATH = "/health"


class LoadBalancer(Part):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        region: str,
        vpc_id: str,
        target_tag: str,
        app_port: int,
        certificate_name: str,
        size_unit: int,
    ):
        super().__init__(scope, id_)
        self.lb = self.add(
            Loadbalancer,
            "lb",
            name=name,
            region=region,
            vpc_uuid=vpc_id,
            size_unit=size_unit,
            droplet_tag=target_tag,
            redirect_http_to_https=True,
            forwarding_rule=[
                LoadbalancerForwardingRule(
                    entry_protocol="https",
                    entry_port=443,
                    target_protocol="http",
                    target_port=app_port,
                    certificate_name=certificate_name,
                ),
                LoadbalancerForwardingRule(
                    entry_protocol="http", entry_port=80, target_protocol="http", target_port=app_port
                ),
            ],
            healthcheck=LoadbalancerHealthcheck(
                protocol="http",
                port=app_port,
                path=HEALTH_PATH,
                check_interval_seconds=10,
                response_timeout_seconds=5,
                healthy_threshold=3,
                unhealthy_threshold=3,
            ),
        )
