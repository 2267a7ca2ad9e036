"""The policy context our stacks carry in `"//".hub`: the facts Terraform itself does not state
(environment, zone ownership, admin networks, the declared service graph).

Output this project did not make has no context, and rules that need it say so in a finding. A
context that is present but malformed is bad input and raises StackReadError naming the field.
"""

from __future__ import annotations

import ipaddress
import marshal
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from policies.input_files import json_type
from policies.stack_document import StackDocument, StackReadError
from policies.stack_rules._per_stack import once
from policies.ports import PROTOCOLS, PortRange, parse_port_range
from policies.secrets import serialized

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class GraphEdge(BaseModel):
    """One declared opening: `source` may reach `target` on `ports` (see constructs_lib/service_graph.py)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    source: str = Field(alias="from", min_length=1)
    target: str = Field(alias="to", min_length=1)
    ports: str = ""
    protocol: str = "tcp"
    why: str = ""

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, v: str) -> str:
        if v.lower() not in PROTOCOLS:
            raise ValueError(f"{v!r} is not one of {', '.join(PROTOCOLS)}")
        return v.lower()

    @field_validator("ports")
    @classmethod
    def _ports(cls, v: str) -> str:
        if v and parse_port_range(v) is None:
            raise ValueError(f"{v!r} is not a port or a 'low-high' port range")
        return v

    @property
    def port_range(self) -> PortRange | None:
        """None for icmp (no ports); an empty `ports` on tcp/udp means every port."""
        if self.protocol == "icmp":
            return None
        return parse_port_range(self.ports or "all")

    def describe(self) -> str:
        ports = f" {self.ports}" if self.protocol != "icmp" else ""
        return f"{self.source} -> {self.target} {self.protocol}{ports}"


class HubContext(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    environment: str | None = None
    zone: str | None = None
    owns_zone: bool | None = None
    hostnames: list[str] = []
    admin_cidrs: list[str] | None = None
    service_graph: list[GraphEdge] | None = None

    @field_validator("admin_cidrs")
    @classmethod
    def _cidrs(cls, v: list[str] | None) -> list[str] | None:
        for cidr in v or []:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR block") from None
        return v


@lru_cache(maxsize=256)
def networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """The parsed admin CIDRs, once per distinct list: the rules ask for every address they classify."""
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def hub_context(doc: StackDocument) -> HubContext | None:
    """The stack's `"//".hub` context, or None when the stack carries none (foreign output).

    Validated once per loaded stack: every rule asks, and the header rule asks about other stacks.
    """
    return once(doc, "hub_context", lambda: _validated_context(doc))


def _validated_context(doc: StackDocument) -> HubContext | None:
    meta = doc.raw.get("//")
    raw: Any = meta.get("hub") if isinstance(meta, dict) else None
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise StackReadError(f'{doc.display_path}: "//".hub: expected an object, found {json_type(raw)}')
    errors: list[dict[str, Any]] = []
    graph = raw.get("service_graph")
    if graph is not None:
        try:
            raw = {**raw, "service_graph": list(_service_graph(graph))}
        except ValidationError as exc:
            errors = [{**err, "loc": ("service_graph", *err["loc"])} for err in exc.errors(include_url=False)]
            raw = {**raw, "service_graph": None}
    try:
        context = HubContext.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False) + errors  # in field order: the graph is the last field
    if errors:
        problems = []
        for err in errors:
            where = ".".join(str(p) for p in err["loc"])
            problems.append(f'{doc.display_path}: "//".hub.{where}: {err["msg"].removeprefix("Value error, ")}')
        raise StackReadError("\n".join(problems))
    return context


_GRAPH = TypeAdapter(list[GraphEdge])


def _service_graph(raw: Any) -> tuple[GraphEdge, ...]:
    """The validated edges; every stack of a run declares the same graph, so validate each content once."""
    text = serialized(raw)
    return _validated_graph(text) if text is not None else tuple(_GRAPH.validate_python(raw))


@lru_cache(maxsize=16)
def _validated_graph(text: bytes) -> tuple[GraphEdge, ...]:
    # GraphEdge is frozen, so the edges can be shared; a failed validation raises and is not cached.
    return tuple(_GRAPH.validate_python(marshal.loads(text)))
