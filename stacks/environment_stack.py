"""One stack per environment: composes the constructs from the environment's configuration."""

from __future__ import annotations

from cdktf import TerraformOutput, TerraformStack, TerraformVariable
from constructs import Construct

from constructs_lib import tags
from constructs_lib.alerts import Alerts
from constructs_lib.droplet_pool import DropletPool, PoolSpec
from constructs_lib.edge import Edge
from constructs_lib.firewalls import RoleFirewalls
from constructs_lib.load_balancer import LoadBalancer
from constructs_lib.network import Network
from constructs_lib.origin_certificate import OriginCertificate
from constructs_lib.project import HubProject
from constructs_lib.providers import configure_providers
from constructs_lib.security_headers import required_headers
from constructs_lib.service_graph import ROLES, as_context, service_graph
from constructs_lib.state_backend import configure_state_backend
from stacks.config import COLORS, Environment, HubConfig

STATEFUL_ROLES = ("db", "search", "cache")


class EnvironmentStack(TerraformStack):
    def __init__(self, scope: Construct, name: str, env: Environment, config: HubConfig):
        super().__init__(scope, name)
        self.env_name = name
        self.env = env
        project = config.project
        graph = service_graph(env.app_port)
        zone = config.zones[env.zone]

        configure_providers(self)
        state = config.state
        configure_state_backend(
            self,
            env=name,
            bucket=state.bucket,
            endpoint=state.spaces_endpoint,
            key_prefix=state.key_prefix,
        )

        network = Network(self, "network", env=name, region=env.region, cidr=env.vpc_cidr, project=project)
        extra_tags = (tags.ttl_tag(env.ttl),) if env.ttl else ()

        self.pools: list[DropletPool] = []
        for role in ROLES:
            pool = getattr(env.pools, role)
            colours = [(c, getattr(env.releases, c)) for c in COLORS] if role == "app" else [(None, None)]
            for colour, release in colours:
                if role == "app" and release is None:
                    continue  # a colour without a release is decommissioned
                spec = PoolSpec(
                    env=name,
                    project=project,
                    role=role,
                    size=pool.size,
                    count=pool.count,
                    image=pool.image,
                    region=env.region,
                    vpc_id=network.vpc.id,
                    ssh_keys=env.ssh_keys,
                    backups=env.backups,
                    color=colour,
                    release=release,
                    volume_gb=pool.volume_gb,
                    protect_volumes=env.kind.protects_state,
                    extra_tags=extra_tags,
                )
                self.pools.append(DropletPool(self, f"{role}-{colour}" if colour else role, spec))

        certificate = OriginCertificate(self, "origin", name=f"{project}-{name}-origin", hostnames=env.hostnames)
        lb = LoadBalancer(
            self,
            "ingress",
            name=f"{project}-{name}",
            region=env.region,
            vpc_id=network.vpc.id,
            target_tag=tags.pool_tag(name, "app", env.active_color),
            app_port=env.app_port,
            certificate_name=certificate.certificate.name,
            size_unit=env.load_balancer_size_unit,
        )
        RoleFirewalls(
            self,
            "firewalls",
            env=name,
            project=project,
            graph=graph,
            admin_cidrs=env.admin_cidrs,
            load_balancer_id=lb.lb.id,
        )
        Edge(
            self,
            "edge",
            zone_name=env.zone,
            create_zone=zone.create,
            account_id=zone.account_id,
            owns_zone=zone.owner == name,
            hostnames=env.hostnames,
            origin_ip=lb.lb.ip,
            headers=required_headers(zone.content_security_policy),
        )

        webhook = None
        if env.alerts.slack_channel:
            webhook = TerraformVariable(
                self,
                "slack_webhook_url",
                type="string",
                sensitive=True,
                description=f"Slack webhook for alerts; set TF_VAR_slack_webhook_url from ${env.alerts.slack_webhook_env}",
            ).string_value
        Alerts(
            self,
            "alerts",
            env=name,
            project=project,
            droplet_tags=[tags.env_tag(name)],
            url=f"https://{env.hostnames[0]}/health",
            emails=env.alerts.emails,
            slack_channel=env.alerts.slack_channel,
            slack_webhook_url=webhook,
        )

        urns = [urn for p in self.pools for urn in p.urns] + [lb.lb.urn]
        hub_project = HubProject(
            self, "project", name=f"{project}-{name}", environment=env.kind.project_environment, resources=urns
        )

        TerraformOutput(self, "load_balancer_ip", value=lb.lb.ip)
        TerraformOutput(self, "urls", value=[f"https://{h}" for h in env.hostnames])
        TerraformOutput(
            self,
            "private_ips",
            value={role: [ip for p in self.pools if p.spec.role == role for ip in p.private_ips] for role in ROLES},
        )
        TerraformOutput(self, "project_id", value=hub_project.project.id)

        # What the policy gate needs to know that Terraform itself does not say.
        self.add_override(
            "//.hub",
            {
                "environment": name,
                "kind": env.kind.value,
                "budget_usd": env.monthly_budget_usd,
                "admin_cidrs": list(env.admin_cidrs),
                "stateful_roles": list(STATEFUL_ROLES),
                "zone": env.zone,
                "owns_zone": zone.owner == name,
                "hostnames": list(env.hostnames),
                "service_graph": as_context(graph),
            },
        )
