#!/usr/bin/env python
"""The cdktf app (`cdktf synth`, `cdktf deploy <env>`): synthesize every environment, then run
the policy gate on what was synthesized. A failing gate exits non-zero, which stops
`cdktf deploy` before anything is applied."""

import sys

from stacks.synth import run

if __name__ == "__main__":
    code, docs = run()
    sys.exit(code)
