"""The memo for the jsii bindings' type-checking stubs: same hints, checks still run, nothing else changed."""

from __future__ import annotations

import typing

import pytest
from cdktf import App, TerraformStack

import constructs_lib._bindings  # noqa: F401  - installs the memo, as every construct module does
from cdktf_cdktf_provider_digitalocean.vpc import Vpc


def _typecheckingstub__example(scope: "App", count: typing.Optional[int] = None) -> None:  # named as jsii names them
    ...


def test_stub_hints_are_resolved_once_and_equal_to_typing():
    first = typing.get_type_hints(_typecheckingstub__example)
    assert first == {"scope": App, "count": typing.Optional[int], "return": type(None)}
    assert typing.get_type_hints(_typecheckingstub__example) is first


def test_other_calls_pass_through_with_their_arguments():
    def annotated(x: "Missing") -> None:  # noqa: F821 - resolved only through localns
        ...

    assert typing.get_type_hints(annotated, localns={"Missing": int}) == {"x": int, "return": type(None)}
    assert typing.get_type_hints(annotated, localns={"Missing": str})["x"] is str  # not memoized
    with pytest.raises(NameError):
        typing.get_type_hints(annotated)


def test_the_bindings_still_check_argument_types():
    stack = TerraformStack(App(), "typecheck")
    Vpc(stack, "ok", name="hub", region="fra1", ip_range="10.10.0.0/24")
    with pytest.raises(TypeError, match="ip_range"):
        Vpc(stack, "bad", name="hub", region="fra1", ip_range=1024)
