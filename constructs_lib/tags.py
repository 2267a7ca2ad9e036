"""Tag names shared by Droplets, firewalls, the load balancer and alerts.

DigitalOcean tags are account-wide, so `role:db` alone would join every environment's databases.
Firewalls and the load balancer therefore target the environment-scoped `hub:` tags.
"""

from __future__ import annotations

import re

TAG = re.compile(r"^[a-zA-Z0-9:\-_]{1,255}$")


def _checked(tag: str) -> str:
    if not TAG.fullmatch(tag):  # match() would let a final newline through `$`
        raise ValueError(f"{tag!r} is not a valid DigitalOcean tag")
    return tag


def env_tag(env: str) -> str:
    return _checked(f"env:{env}")


def role_tag(role: str) -> str:
    return _checked(f"role:{role}")


def color_tag(color: str) -> str:
    return _checked(f"color:{color}")


def scope_tag(env: str, role: str) -> str:
    """The tag a role's firewall and alerts target: the role within one environment."""
    return _checked(f"hub:{env}:{role}")


def pool_tag(env: str, role: str, color: str) -> str:
    """The tag of one colour pool; the load balancer targets the active one."""
    return _checked(f"hub:{env}:{role}:{color}")


def ttl_tag(ttl: str) -> str:
    return _checked(f"ttl:{ttl}")
