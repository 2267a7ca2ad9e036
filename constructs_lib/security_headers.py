"""The HTTP security headers every response carries, set at the edge (Cloudflare) and at the
origin (nginx). The policy gate checks the synthesized ruleset against the same rules."""

from __future__ import annotations

HSTS = "max-age=31536000; includeSubDomains"
MIN_HSTS_MAX_AGE = 31536000


def required_headers(content_security_policy: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Strict-Transport-Security": HSTS,
        "X-XSS-Protection": "1; mode=block",
    }
