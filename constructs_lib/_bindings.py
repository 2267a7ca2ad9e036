"""Load only the provider bindings we use.

The prebuilt provider packages import every one of their resource modules from the package's
`__init__` (about 500 for Cloudflare, 1.5 s), though a stack needs a dozen. We register the package
without running that `__init__`, load its jsii assembly, and let each construct import the
resource modules it needs. If the full package was imported already, nothing changes.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

from constructs_lib import _type_hints  # noqa: F401  - the bindings' argument checks resolve their hints once

PROVIDER_PACKAGES = ("cdktf_cdktf_provider_digitalocean", "cdktf_cdktf_provider_cloudflare")


def load_light(package: str) -> None:
    if package in sys.modules:
        return
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"provider bindings {package} are not installed (run `make install`)")
    module = types.ModuleType(package)
    module.__spec__ = spec
    module.__path__ = list(spec.submodule_search_locations)
    module.__file__ = spec.origin
    module.__package__ = package
    sys.modules[package] = module
    try:
        jsii_module = importlib.import_module(f"{package}._jsii")  # loads the jsii assembly
    except BaseException:
        del sys.modules[package]
        raise
    module.__dict__.update({k: v for k, v in vars(jsii_module).items() if not k.startswith("__")})


for _package in PROVIDER_PACKAGES:
    load_light(_package)
