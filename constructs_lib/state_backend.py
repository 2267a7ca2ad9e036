"""Where Terraform keeps each environment's state.

Remote: an S3 backend on DigitalOcean Spaces, one key per environment, locked with a lock file.
Credentials come only from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY hold the
Spaces key), never from the configuration. Without a bucket the state stays local, under a
relative path, so the synthesized output is the same on every machine.
"""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, S3BackendEndpointConfig, TerraformStack


def configure_state_backend(
    stack: TerraformStack,
    *,
    env: str,
    bucket: str | None,
    endpoint: str,
    key_prefix: str,
    path_style: bool = False,
) -> None:
    if bucket is None:
        LocalBackend(stack, path=f"terraform.{env}.tfstate")
        return
    backend = S3Backend(
        stack,
        bucket=bucket,
        key=f"{key_prefix}/{env}.tfstate",
        # Spaces ignores the region, but the S3 client needs one that AWS knows.
        region="us-east-1",
        endpoints=S3BackendEndpointConfig(s3=endpoint),
        skip_credentials_validation=True,
        skip_region_validation=True,
        skip_requesting_account_id=True,
        skip_metadata_api_check=True,
        skip_s3_checksum=True,
        use_path_style=path_style,
    )
    # cdktf 0.21 has no typed field for it; Terraform 1.10+ locks S3 state with a lock object.
    backend.add_override("use_lockfile", True)
