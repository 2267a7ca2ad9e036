"""The DigitalOcean project that groups one environment's resources in the control panel."""

from __future__ import annotations

from constructs_lib import _bindings  # noqa: F401  - before any provider import: load only what we use
from cdktf_cdktf_provider_digitalocean.project import Project
from constructs import Construct

from constructs_lib.naming import Part


class HubProject(Part):
    def __init__(self, scope: Construct, id_: str, *, name: str, environment: str, resources: list[str]):
        super().__init__(scope, id_)
        self.project = self.add(
            Project,
            "project",
            name=name,
            environment=environment,
            purpose="Web Application",
            description="Community Hub, managed by Terraform",
            resources=resources,
        )
