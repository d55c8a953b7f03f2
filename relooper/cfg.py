"""The relooper's input: a control-flow graph of blocks with opaque payloads.

Blocks are numbered in the order ``add_block`` creates them; block 0 is the
entry.  Each block gets exactly one terminator, which lists its out-branches:

* ``Jump``: unconditional;
* ``Branch``: two-way on a condition (nonzero -> ``if_true``);
* ``Switch``: ``br_table``-style on an index, with per-target case lists and
  a default;
* ``Terminate``: leaves the function (return, tail call, unreachable).

Payloads (block statements, conditions, indexes, exit payloads) are opaque:
the relooper only moves them into the output tree.  Targets are checked when
a terminator is set; a missing terminator is reported by ``structure()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Union

from attrs import frozen


@frozen
class Jump:
    """Unconditional branch to ``target``."""

    target: int


@frozen
class Branch:
    """Evaluate ``cond``; nonzero goes to ``if_true``, zero to ``if_false``."""

    cond: object
    if_true: int
    if_false: int


@frozen
class Switch:
    """Evaluate ``index``; value ``i`` goes to ``table[i]`` when
    ``i < len(table)``, any other value to ``default``.  ``table`` is the
    user's case lists flattened, gaps filled with ``default``."""

    index: object
    table: tuple[int, ...]
    default: int


@frozen
class Terminate:
    """Leave the function; ``payload`` says how (return, tail call,
    unreachable) and is emitted by the code generator as ``tree.Exit``."""

    payload: object


Terminator = Union[Jump, Branch, Switch, Terminate]


def successors(term: Terminator) -> tuple[int, ...]:
    """The distinct targets of a terminator, in first-mention order
    (``Switch``: table order, then the default)."""
    match term:
        case Jump(target=t):
            return (t,)
        case Branch(if_true=t, if_false=f):
            return (t,) if t == f else (t, f)
        case Switch(table=table, default=d):
            return tuple(dict.fromkeys((*table, d)))
        case Terminate():
            return ()


class CFG:
    """A mutable graph builder (identity equality); see the module doc."""

    def __init__(self) -> None:
        self._payloads: list[object] = []
        self._terms: list[Terminator | None] = []

    def __len__(self) -> int:
        return len(self._payloads)

    def add_block(self, payload: object) -> int:
        """Add a block holding ``payload``; return its id (the first block
        added, id 0, is the entry)."""
        self._payloads.append(payload)
        self._terms.append(None)
        return len(self._payloads) - 1

    def set_jump(self, block: int, target: int) -> None:
        self._set(block, Jump(self._target(target)))

    def set_branch(self, block: int, cond: object, if_true: int, if_false: int) -> None:
        self._set(block, Branch(cond, self._target(if_true), self._target(if_false)))

    def set_switch(
        self,
        block: int,
        index: object,
        cases: Mapping[int, Sequence[int]],
        default: int,
    ) -> None:
        """``cases`` maps each target block to the case values that reach
        it; values are non-negative ints, each listed at most once."""
        by_value: dict[int, int] = {}
        for target, values in cases.items():
            self._target(target)
            for value in values:
                _check_case(value, target, by_value)
                by_value[value] = target
        self._target(default)
        size = max(by_value, default=-1) + 1
        table = tuple(by_value.get(v, default) for v in range(size))
        self._set(block, Switch(index, table, default))

    def set_exit(self, block: int, payload: object) -> None:
        self._set(block, Terminate(payload))

    def payload(self, block: int) -> object:
        return self._payloads[self._block(block)]

    def terminator(self, block: int) -> Terminator:
        """The block's terminator; ValueError when it has none yet."""
        term = self._terms[self._block(block)]
        if term is None:
            raise ValueError(f"block {block} has no terminator")
        return term

    def check(self) -> None:
        """ValueError unless the graph is ready for ``structure()``."""
        if not self._payloads:
            raise ValueError("the CFG has no blocks (block 0 is the entry)")
        missing = [b for b, t in enumerate(self._terms) if t is None]
        if missing:
            shown = ", ".join(map(str, missing[:10]))
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise ValueError(f"blocks without a terminator: {shown}{more}")

    def _set(self, block: int, term: Terminator) -> None:
        if self._terms[self._block(block)] is not None:
            raise ValueError(f"block {block} already has a terminator")
        self._terms[block] = term

    def _block(self, block: int) -> int:
        if not _is_int(block) or not 0 <= block < len(self._payloads):
            raise ValueError(f"no block {block!r} (the CFG has {len(self._payloads)} blocks)")
        return block

    def _target(self, target: int) -> int:
        if not _is_int(target) or not 0 <= target < len(self._payloads):
            raise ValueError(f"branch to unknown block {target!r}")
        return target


def _is_int(value: object) -> bool:
    # bool is an int subclass; True as a block id or case value is a bug.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_case(value: object, target: int, by_value: dict[int, int]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"switch case value {value!r} is not a non-negative int")
    if value in by_value:
        raise ValueError(f"switch case value {value} listed for blocks {by_value[value]} and {target}")
