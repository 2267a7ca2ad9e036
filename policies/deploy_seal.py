"""The seal the gate leaves beside each stack it passed, so a stack edited afterwards cannot be
deployed.

`cdktf deploy --skip-synth` runs no app and so no gate: it plans whatever `cdktf.out` holds. When
the gate passes (or an override is logged), `policy-gate.tf.json` is written next to each stack's
`cdk.tf.json`. Terraform loads it with the stack: an output whose preconditions compare the
SHA-256 of the stack file with that of the bytes the gate read, and require that no other
Terraform file (`*.tf`, `*_override.tf.json`, `*.tfvars`...) has been put beside them, so
`terraform plan` stops on an edited stack. A fresh synth replaces the whole output, seals
included. Standard library only (main.py).
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
# Every file Terraform reads as configuration or variable values in a stack's directory.
_TERRAFORM_FILES = "*.{tf,tf.json,tfvars,tfvars.json}"
_DIGEST = re.compile(rb'== \\"([0-9a-f]{64})\\"')
_BY = {True: "as the policy gate passed it", False: "as synthesized under a logged override of the policy gate"}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seal_document(digest: str, gated: bool = True) -> bytes:
    others = f'setsubtract(fileset(path.module, "{_TERRAFORM_FILES}"), {json.dumps([STACK_FILE, SEAL_FILE])})'
    synthesize_again = "Synthesize again (make check, cdktf synth or cdktf deploy without --skip-synth), which runs the gate."
    return json.dumps({
        "output": {
            "hub_policy_gate": {
                "value": f"{STACK_FILE} sha256 {digest}, {_BY[gated]}",
                "precondition": [
                    {
                        "condition": f'${{filesha256("${{path.module}}/{STACK_FILE}") == "{digest}"}}',
                        "error_message": f"{STACK_FILE} was changed after the policy gate passed it. {synthesize_again}",
                    },
                    {
                        "condition": f"${{length({others}) == 0}}",
                        "error_message": (
                            f"Terraform files were put beside {STACK_FILE} after the policy gate passed it: "
                            f'${{join(", ", sort({others}))}}. Remove them, or synthesize what they say into '
                            "the stack; the gate reads only the stack."
                        ),
                    },
                ],
            }
        }
    }, indent=2).encode() + b"\n"


def seal(stack: Path, digest: str, gated: bool = True) -> None:
    """Write the seal beside `stack` for the stack bytes whose SHA-256 is `digest` (atomically)."""
    fd, tmp = tempfile.mkstemp(dir=stack.parent, prefix=f".{SEAL_FILE}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(seal_document(digest, gated))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # readable as the stack beside it is, by a deploy run as another user
    os.replace(tmp, stack.parent / SEAL_FILE)


def is_seal(path: Path) -> bool:
    """Whether `path` is exactly a seal this module writes (anything else beside a stack is config
    Terraform would load unchecked)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    match = _DIGEST.search(data)
    return match is not None and any(data == seal_document(match.group(1).decode(), gated) for gated in _BY)
