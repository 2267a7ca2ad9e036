"""A short, readable account of what a synth produced, read back from the synthesized JSON."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from policies.stack_document import StackDocument


def summarize(doc: StackDocument) -> dict:
    by_type = Counter(r.type for r in doc.resources)
    by_role: Counter[str] = Counter()
    for r in doc.of_type("digitalocean_droplet"):
        tags = r.attrs.get("tags") or []
        role = next((t.split(":", 1)[1] for t in tags if isinstance(t, str) and t.startswith("role:")), "?")
        colour = next((t.split(":", 1)[1] for t in tags if isinstance(t, str) and t.startswith("color:")), None)
        by_role[f"{role} ({colour})" if colour else role] += 1
    hostnames = sorted(str(r.attrs.get("name")) for r in doc.of_type("cloudflare_dns_record"))
    return {"resources": dict(sorted(by_type.items())), "droplets": dict(sorted(by_role.items())), "hostnames": hostnames}


def print_summary(docs: list[StackDocument], console: Console) -> None:
    table = Table(title="Synthesized stacks", show_lines=True, expand=True)
    for col in ("stack", "resources", "droplets by role", "hostnames"):
        table.add_column(col, overflow="fold")
    for doc in docs:
        s = summarize(doc)
        # Provider prefixes make the type list three times as long and say nothing here.
        resources = ", ".join(f"{n} {t.removeprefix('digitalocean_').removeprefix('cloudflare_')}" for t, n in s["resources"].items())
        droplets = ", ".join(f"{n} {r}" for r, n in s["droplets"].items())
        table.add_row(doc.name, f"{sum(s['resources'].values())}: {resources}", droplets, "\n".join(s["hostnames"]))
    console.print(table)
