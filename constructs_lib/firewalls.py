"""One firewall per role, derived from the service graph: what the graph does not declare,
the firewall does not open."""

from __future__ import annotations

from constructs_lib import _bindings  # noqa: F401  - before any provider import: load only what we use
from cdktf_cdktf_provider_digitalocean.firewall import Firewall, FirewallInboundRule, FirewallOutboundRule
from constructs import Construct

from constructs_lib.naming import Part

from constructs_lib import tags
from constructs_lib.service_graph import (
    ADMIN,
    ALL_ROLES,
    INTERNET,
    LOAD_BALANCER,
    PUBLIC,
    ROLES,
    WORLD,
    Edge,
    rules_for,
)


def _peer_tags(env: str, pattern: str) -> list[str]:
    roles = ROLES if pattern == ALL_ROLES else (pattern,)
    return [tags.scope_tag(env, r) for r in roles]


class RoleFirewalls(Part):
    """Firewalls for the Droplet roles of one environment."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        env: str,
        project: str,
        graph: tuple[Edge, ...],
        admin_cidrs: list[str],
        load_balancer_id: str,
    ):
        super().__init__(scope, id_)
        self.firewalls: dict[str, Firewall] = {}
        for role in ROLES:
            rules = rules_for(role, graph)
            inbound = [self._inbound(e, env, admin_cidrs, load_balancer_id) for e in rules.inbound]
            outbound = [self._outbound(e, env) for e in rules.outbound]
            self.firewalls[role] = self.add(
                Firewall,
                role,
                name=f"{project}-{env}-{role}",
                tags=[tags.scope_tag(env, role)],
                inbound_rule=inbound,
                outbound_rule=outbound,
            )

    @staticmethod
    def _inbound(edge: Edge, env: str, admin_cidrs: list[str], load_balancer_id: str) -> FirewallInboundRule:
        if edge.source == ADMIN:
            return FirewallInboundRule(
                protocol=edge.protocol, port_range=edge.ports, source_addresses=list(admin_cidrs)
            )
        if edge.source == LOAD_BALANCER:
            return FirewallInboundRule(
                protocol=edge.protocol, port_range=edge.ports, source_load_balancer_uids=[load_balancer_id]
            )
        if edge.source == PUBLIC:
            raise ValueError(f"the service graph opens port {edge.ports} of {edge.target} to the internet")
        return FirewallInboundRule(
            protocol=edge.protocol, port_range=edge.ports, source_tags=_peer_tags(env, edge.source)
        )

    @staticmethod
    def _outbound(edge: Edge, env: str) -> FirewallOutboundRule:
        if edge.target == INTERNET:
            return FirewallOutboundRule(
                protocol=edge.protocol, port_range=edge.ports, destination_addresses=list(WORLD)
            )
        return FirewallOutboundRule(
            protocol=edge.protocol, port_range=edge.ports, destination_tags=_peer_tags(env, edge.target)
        )
