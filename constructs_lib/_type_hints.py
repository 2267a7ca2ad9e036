"""Resolve each jsii type-checking stub's annotations once per process, not on every call.

The generated bindings of cdktf and of the provider packages check the arguments of every
constructor and setter against a stub function's annotations, and resolve those annotations with
`typing.get_type_hints(stub)` each time: about a fifth of the time each extra environment takes to
synthesize. Newer bindings (`constructs`) memoize this per stub with jsii's `cached_type_hints`,
whose contract is that a generated stub's annotations never change; this gives the older bindings'
calls the same memo. The argument checks themselves still run on every call, and any other use of
`get_type_hints` is passed through untouched.
"""

from __future__ import annotations

import typing
from types import FunctionType
from typing import Any

_STUB_PREFIX = "_typecheckingstub__"  # how jsii-pacmak names the stubs it generates


def install() -> None:
    resolve = typing.get_type_hints
    if getattr(resolve, "memoizes_jsii_stubs", False):
        return  # installed already (the module was loaded again)
    hints_of: dict[FunctionType, dict[str, Any]] = {}

    def get_type_hints(obj, globalns=None, localns=None, include_extras=False):
        if type(obj) is FunctionType and obj.__name__.startswith(_STUB_PREFIX) \
                and globalns is None and localns is None and not include_extras:
            hints = hints_of.get(obj)
            if hints is None:
                hints = hints_of[obj] = resolve(obj)
            return hints  # read-only by the contract above: the bindings only look names up
        return resolve(obj, globalns, localns, include_extras)

    get_type_hints.memoizes_jsii_stubs = True  # type: ignore[attr-defined]
    typing.get_type_hints = get_type_hints


install()
