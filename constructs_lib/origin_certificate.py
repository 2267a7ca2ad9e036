"""The TLS certificate between Cloudflare and the load balancer.

Let's Encrypt on a DigitalOcean load balancer needs DigitalOcean DNS; behind Cloudflare we use a
Cloudflare Origin CA certificate instead, uploaded to DigitalOcean as a custom certificate, with
the zone's SSL mode set to "strict". The key is made by the hashicorp/tls provider, for which no
prebuilt bindings exist, so it is declared as a plain Terraform resource.
"""

from __future__ import annotations

from constructs_lib import _bindings  # noqa: F401  - before any provider import: load only what we use
from cdktf import Fn, TerraformProvider, TerraformProviderGeneratorMetadata, TerraformResource, TerraformResourceLifecycle
from cdktf_cdktf_provider_cloudflare.origin_ca_certificate import OriginCaCertificate
from cdktf_cdktf_provider_digitalocean.certificate import Certificate
from constructs import Construct

from constructs_lib.naming import Part

CERT_DIGEST_CHARS = 10

TLS = TerraformProviderGeneratorMetadata(provider_name="tls", provider_version_constraint="~> 4.0")


class TlsProvider(TerraformProvider):
    def __init__(self, scope: Construct, id_: str):
        super().__init__(
            scope,
            id_,
            terraform_resource_type="tls",
            terraform_provider_source="hashicorp/tls",
            terraform_generator_metadata=TLS,
        )


class OriginCertificate(Part):
    def __init__(self, scope: Construct, id_: str, *, name: str, hostnames: list[str], validity_days: int = 5475):
        super().__init__(scope, id_)
        provider = TlsProvider(self, "tls")
        key = self.add(
            TerraformResource,
            "key",
            terraform_resource_type="tls_private_key",
            terraform_generator_metadata=TLS,
            provider=provider,
        )
        key.add_override("algorithm", "ECDSA")
        key.add_override("ecdsa_curve", "P256")
        csr = self.add(
            TerraformResource,
            "csr",
            terraform_resource_type="tls_cert_request",
            terraform_generator_metadata=TLS,
            provider=provider,
        )
        csr.add_override("private_key_pem", key.get_string_attribute("private_key_pem"))
        csr.add_override("subject", {"common_name": hostnames[0], "organization": "Community Hub"})
        csr.add_override("dns_names", list(hostnames))
        self.origin = self.add(
            OriginCaCertificate,
            "origin-ca",
            csr=csr.get_string_attribute("cert_request_pem"),
            hostnames=list(hostnames),
            request_type="origin-ecc",
            requested_validity=validity_days,
        )
        # DigitalOcean allows one certificate of a name per account, and a replacement is created
        # before the old one goes: so the name carries a digest of the certificate it holds, and a
        # new certificate (renewal, new hostnames, new key) gets a new name.
        digest = Fn.substr(Fn.sha1(self.origin.certificate), 0, CERT_DIGEST_CHARS)
        self.certificate = self.add(
            Certificate,
            "certificate",
            name=f"{name}-{digest}",
            type="custom",
            private_key=key.get_string_attribute("private_key_pem"),
            leaf_certificate=self.origin.certificate,
            # A renewed certificate must exist before the load balancer lets go of the old one.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
