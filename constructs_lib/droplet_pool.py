"""A pool of identical Droplets for one role (and, for the app, one colour)."""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib import _bindings  # noqa: F401  - before any provider import: load only what we use
from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_digitalocean.droplet import Droplet, DropletBackupPolicy
from cdktf_cdktf_provider_digitalocean.volume import Volume
from constructs import Construct

from constructs_lib.naming import Part

from constructs_lib import tags


@dataclass(frozen=True)
class PoolSpec:
    env: str
    project: str
    role: str
    size: str
    count: int
    image: str
    region: str
    vpc_id: str
    ssh_keys: list[str]
    backups: str = "off"  # off | weekly | daily
    color: str | None = None
    release: str | None = None
    volume_gb: int | None = None
    protect_volumes: bool = False
    extra_tags: tuple[str, ...] = ()


def _user_data(spec: PoolSpec) -> str | None:
    # The release an app pool runs is part of its definition: a new release on the idle colour
    # replaces that colour's Droplets and leaves the live colour alone.
    if spec.release is None:
        return None
    return (
        "#cloud-config\n"
        "write_files:\n"
        "  - path: /etc/community-hub/release\n"
        f'    content: "{spec.release}\\n"\n'
        "    permissions: '0644'\n"
    )


def _backup_policy(plan: str) -> DropletBackupPolicy:
    # Backups run at 04:00 UTC, outside the platform's busy hours; weekly ones on Sunday.
    return DropletBackupPolicy(plan=plan, hour=4, weekday="SUN" if plan == "weekly" else None)


class DropletPool(Part):
    def __init__(self, scope: Construct, id_: str, spec: PoolSpec):
        super().__init__(scope, id_)
        self.spec = spec
        self.tags = [tags.env_tag(spec.env), tags.role_tag(spec.role), tags.scope_tag(spec.env, spec.role)]
        if spec.color:
            self.tags += [tags.color_tag(spec.color), tags.pool_tag(spec.env, spec.role, spec.color)]
        self.tags += list(spec.extra_tags)
        base_name = "-".join(p for p in (spec.project, spec.env, spec.role, spec.color) if p)
        self.droplets: list[Droplet] = []
        self.volumes: list[Volume] = []
        for index in range(1, spec.count + 1):
            name = f"{base_name}-{index}"
            volume_ids = None
            if spec.volume_gb:
                volume = self.add(
                    Volume,
                    f"volume-{index}",
                    name=name.replace("_", "-"),
                    region=spec.region,
                    size=spec.volume_gb,
                    initial_filesystem_type="ext4",
                    description=f"{spec.role} data of {name}",
                    lifecycle=TerraformResourceLifecycle(prevent_destroy=spec.protect_volumes),
                    tags=self.tags,
                )
                self.volumes.append(volume)
                volume_ids = [volume.id]
            backups = spec.backups != "off"
            droplet = self.add(
                Droplet,
                str(index),
                name=name,
                image=spec.image,
                size=spec.size,
                region=spec.region,
                vpc_uuid=spec.vpc_id,
                monitoring=True,
                ipv6=True,
                ssh_keys=list(spec.ssh_keys),
                tags=self.tags,
                backups=backups,
                backup_policy=_backup_policy(spec.backups) if backups else None,
                volume_ids=volume_ids,
                user_data=_user_data(spec),
                graceful_shutdown=True,
            )
            self.droplets.append(droplet)

    @property
    def urns(self) -> list[str]:
        return [d.urn for d in self.droplets] + [v.urn for v in self.volumes]

    @property
    def private_ips(self) -> list[str]:
        return [d.ipv4_address_private for d in self.droplets]
