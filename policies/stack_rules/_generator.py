"""The generator's plain-data modules, which the stack rules share as their source of truth:
the required header values and the names of the service graph's peers. Both import nothing from
cdktf, so the gate stays free of jsii."""

from constructs_lib import security_headers, service_graph

__all__ = ["security_headers", "service_graph"]
