"""The environment's private network."""

from __future__ import annotations

from constructs_lib import _bindings  # noqa: F401  - before any provider import: load only what we use
from cdktf_cdktf_provider_digitalocean.vpc import Vpc
from constructs import Construct

from constructs_lib.naming import Part


class Network(Part):
    def __init__(self, scope: Construct, id_: str, *, env: str, region: str, cidr: str, project: str):
        super().__init__(scope, id_)
        self.vpc = self.add(
            Vpc,
            "vpc",
            name=f"{project}-{env}",
            region=region,
            ip_range=cidr,
            description=f"Private network of the {project} {env} environment",
        )
