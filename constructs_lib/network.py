"""The environment's private network."""

from __future__ import annotations

from cdktf_cdktf_provider_digitalocean.vpc import Vpc
from constructs import Construct


class Network(Construct):
    def __init__(self, scope: Construct, id_: str, *, env: str, region: str, cidr: str, project: str):
        super().__init__(scope, id_)
        self.vpc = Vpc(
            self,
            "vpc",
            name=f"{project}-{env}",
            region=region,
            ip_range=cidr,
            description=f"Private network of the {project} {env} environment",
        )
