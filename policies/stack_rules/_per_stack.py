"""Values derived from one loaded stack, computed once however many rules ask for them.

Several rules need the same facts of a stack (its validated `"//".hub` context, its firewall
rules, its header rulesets), and the header rule asks for every other stack's context for each
proxied record; deriving them again on every call made the rules quadratic in the number of
stacks. The gate loads each stack once and never edits it, so a value derived from a document
stays true for that document's lifetime.

StackDocument is a mutable dataclass, hence unhashable: entries are keyed by the document's
identity and dropped when it is garbage-collected, so a new document never sees an old one's
values. Only successful results are kept; a derivation that raises (bad input) raises again.
Values must not hold other documents (that would keep them alive).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import TypeVar

from policies.stack_document import StackDocument

T = TypeVar("T")

_memos: dict[int, tuple[weakref.ref, dict[Hashable, object]]] = {}


def _forget(key: int) -> Callable[[weakref.ref], None]:
    def callback(ref: weakref.ref) -> None:
        entry = _memos.get(key)
        if entry is not None and entry[0] is ref:
            del _memos[key]

    return callback


def _values(doc: StackDocument) -> dict[Hashable, object]:
    key = id(doc)
    entry = _memos.get(key)
    if entry is not None and entry[0]() is doc:
        return entry[1]
    values: dict[Hashable, object] = {}
    _memos[key] = (weakref.ref(doc, _forget(key)), values)
    return values


def once(doc: StackDocument, key: Hashable, derive: Callable[[], T]) -> T:
    """`derive()` the first time `key` is asked for on `doc`; the same value afterwards."""
    values = _values(doc)
    try:
        return values[key]  # type: ignore[return-value]
    except KeyError:
        value = values[key] = derive()
        return value


# What was derived from the stacks of the latest run (the `all_docs` every rule is given) together:
# which stack owns a zone, the index of a service graph that many stacks share. One run at a time
# is kept, and it ends when one of its documents is garbage-collected. Its values must not hold
# the documents themselves (refer to them by position in `all_docs`), so they die on time.
_run: tuple[tuple[int, ...], tuple[weakref.ref, ...], dict[Hashable, object]] | None = None


def _end_run(ref: weakref.ref) -> None:
    global _run
    if _run is not None and any(r is ref for r in _run[1]):
        _run = None


def once_per_run(all_docs: list[StackDocument], key: Hashable, derive: Callable[[], T]) -> T:
    """`derive()` the first time `key` is asked for in a run over exactly these stacks, in this order."""
    global _run
    ids = tuple(map(id, all_docs))
    run = _run  # one read: another thread may start another run meanwhile, and this one keeps its own
    if run is None or run[0] != ids:
        # While every document of the run is alive, no other object can have one of these ids.
        run = _run = (ids, tuple(weakref.ref(doc, _end_run) for doc in all_docs), {})
    values = run[2]
    try:
        return values[key]  # type: ignore[return-value]
    except KeyError:
        value = values[key] = derive()
        return value
