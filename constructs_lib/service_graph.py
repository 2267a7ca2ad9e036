"""Who may talk to whom, on which port: the one declaration that produces the firewalls and the
firewall policy's expectations.

This module is plain data and has no provider imports, so the policy gate can use it too.
"""

from __future__ import annotations

from dataclasses import dataclass

PUBLIC = "public"  # the internet, 0.0.0.0/0 and ::/0
ADMIN = "admin"  # the environment's admin CIDRs
LOAD_BALANCER = "loadbalancer"
INTERNET = "internet"  # outbound destination: anywhere
ROLES = ("app", "db", "search", "cache", "monitoring")
ALL_ROLES = "*"

WORLD = ("0.0.0.0/0", "::/0")


@dataclass(frozen=True)
class Edge:
    source: str  # PUBLIC, ADMIN, LOAD_BALANCER or a role
    target: str  # a role, ALL_ROLES, LOAD_BALANCER or INTERNET
    ports: str  # a port or "from-to" range, as the firewall writes it
    protocol: str = "tcp"
    why: str = ""


def service_graph(app_port: int) -> tuple[Edge, ...]:
    return (
        Edge(PUBLIC, LOAD_BALANCER, "80", why="HTTP, redirected to HTTPS"),
        Edge(PUBLIC, LOAD_BALANCER, "443", why="HTTPS"),
        Edge(LOAD_BALANCER, "app", str(app_port), why="load balancer to the app"),
        Edge("app", "db", "5432", why="PostgreSQL"),
        Edge("app", "cache", "6379", why="Redis sessions and cache"),
        Edge("app", "search", "9200", why="Elasticsearch"),
        Edge("monitoring", ALL_ROLES, "9100", why="Prometheus scrapes node exporter"),
        Edge("monitoring", "app", str(app_port), why="Prometheus scrapes the app's /metrics"),
        Edge(ADMIN, ALL_ROLES, "22", why="SSH from admin networks"),
        # Outbound to the internet: name resolution, time, packages and outside APIs (Mailgun, Twilio).
        Edge(ALL_ROLES, INTERNET, "53", "udp", why="DNS"),
        Edge(ALL_ROLES, INTERNET, "53", "tcp", why="DNS over TCP"),
        Edge(ALL_ROLES, INTERNET, "123", "udp", why="NTP"),
        Edge(ALL_ROLES, INTERNET, "80", why="package mirrors"),
        Edge(ALL_ROLES, INTERNET, "443", why="package mirrors and outside APIs"),
    )


def _covers(pattern: str, role: str) -> bool:
    return pattern == ALL_ROLES or pattern == role


@dataclass(frozen=True)
class RoleRules:
    inbound: tuple[Edge, ...]  # edges whose target is this role
    outbound: tuple[Edge, ...]  # edges whose source is this role (to other roles or the internet)


def rules_for(role: str, graph: tuple[Edge, ...]) -> RoleRules:
    inbound = tuple(e for e in graph if e.target != INTERNET and _covers(e.target, role))
    outbound = tuple(
        e for e in graph if e.source in ROLES + (ALL_ROLES,) and _covers(e.source, role) and e.target != LOAD_BALANCER
    )
    return RoleRules(inbound=inbound, outbound=outbound)


def as_context(graph: tuple[Edge, ...]) -> list[dict[str, str]]:
    """The graph as written into each stack for the policy gate."""
    return [{"from": e.source, "to": e.target, "ports": e.ports, "protocol": e.protocol, "why": e.why} for e in graph]
