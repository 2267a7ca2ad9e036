"""Readable Terraform addresses: each resource is named by its construct path below the stack
(`digitalocean_firewall.firewalls_app`, not cdktf's `firewalls_app_92ACA65E`).

The name is set from Python as the resource is made. Overriding cdktf's logical-id hook instead
costs three jsii round trips per resource, a third of all synth time for many stacks.
"""

from __future__ import annotations

from typing import Any, TypeVar

from constructs import Construct

T = TypeVar("T")


class Part(Construct):
    """A construct that knows its path below the stack, and names the resources it adds."""

    def __init__(self, scope: Construct, id_: str):
        super().__init__(scope, id_)
        parent = getattr(scope, "hub_path", "")
        self.hub_path = f"{parent}_{id_}" if parent else id_

    def add(self, resource_class: type[T], id_: str, **config: Any) -> T:
        resource = resource_class(self, id_, **config)
        resource.override_logical_id(f"{self.hub_path}_{id_}".replace("-", "_"))  # type: ignore[attr-defined]
        return resource
