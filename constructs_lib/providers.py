"""Provider blocks. Tokens are read by the providers from DIGITALOCEAN_TOKEN and
CLOUDFLARE_API_TOKEN at deploy time, so they never appear in the synthesized output."""

from __future__ import annotations

from constructs_lib import _bindings  # noqa: F401  - before any provider import: load only what we use
from cdktf_cdktf_provider_cloudflare.provider import CloudflareProvider
from cdktf_cdktf_provider_digitalocean.provider import DigitaloceanProvider
from constructs import Construct


def configure_providers(scope: Construct) -> None:
    DigitaloceanProvider(scope, "digitalocean")
    CloudflareProvider(scope, "cloudflare")
