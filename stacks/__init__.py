"""Configuration, environment stacks and previews of the Community Hub."""

import os

# Node 20 reached end of life; jsii prints a banner on every run without this. Node 22+ is recommended.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
