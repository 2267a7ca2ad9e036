"""The seal the gate leaves beside each stack it passed, so a `cdk.tf.json` edited afterwards
cannot be deployed.

`cdktf deploy --skip-synth` runs no app and so no gate: it plans whatever `cdktf.out` holds. When
the gate passes (or an override is logged), `policy-gate.tf.json` is written next to each stack's
`cdk.tf.json`. Terraform loads it with the stack: an output whose precondition compares the
stack file's SHA-256 with the one the gate passed, so `terraform plan` stops on an edited stack.
A fresh synth replaces the whole output, seals included. Standard library only (main.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

SEAL_FILE = "policy-gate.tf.json"
STACK_FILE = "cdk.tf.json"
_DIGEST = re.compile(rb'== \\"([0-9a-f]{64})\\"')


def seal_document(digest: str) -> bytes:
    condition = f'${{filesha256("${{path.module}}/{STACK_FILE}") == "{digest}"}}'
    return json.dumps({
        "output": {
            "hub_policy_gate": {
                "value": f"{STACK_FILE} sha256 {digest}, as the policy gate passed it",
                "precondition": [{
                    "condition": condition,
                    "error_message": (
                        f"{STACK_FILE} was changed after the policy gate passed it. Synthesize again "
                        "(make check, cdktf synth or cdktf deploy without --skip-synth), which runs the gate."
                    ),
                }],
            }
        }
    }, indent=2).encode() + b"\n"


def seal_stacks(outdir: Path) -> None:
    """Write the seal beside every stack of `outdir` (each write atomic)."""
    for stack in sorted((outdir / "stacks").glob(f"*/{STACK_FILE}")):
        data = seal_document(hashlib.sha256(stack.read_bytes()).hexdigest())
        fd, tmp = tempfile.mkstemp(dir=stack.parent, prefix=f".{SEAL_FILE}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, stack.parent / SEAL_FILE)


def is_seal(path: Path) -> bool:
    """Whether `path` is exactly a seal this module writes (anything else beside a stack is config
    Terraform would load unchecked)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    match = _DIGEST.search(data)
    return match is not None and data == seal_document(match.group(1).decode())
