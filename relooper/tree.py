"""The structured output of the relooper: a tree of wasm control constructs.

A function body is a ``list[Node]``.  Nodes mirror wasm's structured control
instructions one for one, so a code generator emits each node where it stands
and never has to compute a label itself:

* branch depths are relative label indices, exactly the immediate of wasm's
  ``br N``: 0 is the innermost enclosing ``Block``/``Loop``/``If``, and an
  ``If`` counts as a label, as it does in wasm;
* every condition or index payload sits in exactly one node and is evaluated
  exactly once each time control reaches that node.

Trees can be 10,000 constructs deep, so nothing here recurses: equality,
hashing and ``repr`` of the container nodes walk the flat instruction stream
of ``instructions()`` with an explicit stack, and so should any printer or
encoder built on top (the codegen can consume ``instructions()`` directly).
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterator, Sequence
from typing import Union, cast

from attrs import frozen


class _Dispatch(enum.Enum):
    DISPATCH = "DISPATCH"

    def __repr__(self) -> str:
        return "DISPATCH"


DISPATCH = _Dispatch.DISPATCH
"""``BrTable.index`` value meaning "read the dispatch variable" (see
``SetDispatch``) instead of evaluating a switch payload."""

DispatchIndex = _Dispatch


@frozen
class Code:
    """The statements of CFG block ``block_id``: emit ``payload`` here.

    Control then continues with the next node in the same body."""

    block_id: int
    payload: object


@frozen
class Br:
    """Unconditional ``br depth``."""

    depth: int


@frozen
class BrIf:
    """Evaluate ``cond`` (an i32) once; ``br_if depth`` if it is nonzero,
    otherwise continue with the next node."""

    cond: object
    depth: int


@frozen
class BrTable:
    """Evaluate ``index`` once (or read the dispatch variable when ``index``
    is ``DISPATCH``) and ``br_table depths... default``: value ``i`` branches
    to ``depths[i]`` when ``i < len(depths)``, every other value to
    ``default``."""

    index: object
    depths: tuple[int, ...]
    default: int


@frozen
class Exit:
    """The CFG's exit terminator payload (return, tail call, unreachable).

    The code generator emits it; control never continues after it, so what
    follows in the same body (nothing, as the relooper emits it) is dead."""

    payload: object


@frozen
class SetDispatch:
    """Store the constant ``value`` into the dispatch variable, an i32 local
    that the code generator creates once per function (only when
    ``uses_dispatch`` says so).  Every read of the variable (a ``BrTable``
    with index ``DISPATCH``) is preceded by a write on every path, so the
    local needs no particular initial value."""

    value: int


def _same_stream(a: Node, b: Node) -> bool:
    sentinel = object()
    pairs = itertools.zip_longest(instructions(a), instructions(b), fillvalue=sentinel)
    return all(x == y for x, y in pairs)


def _tree_hash(node: Node) -> int:
    return hash(tuple(instructions(node)))


class _Construct:
    """Equality, hashing and repr of the container nodes, through the flat
    instruction stream: trees can be deeper than Python's recursion limit,
    which attrs' generated methods would hit."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _same_stream(cast(Node, self), cast(Node, other))

    def __hash__(self) -> int:
        return _tree_hash(cast(Node, self))

    def __repr__(self) -> str:
        return tree_repr(cast(Node, self))


@frozen(eq=False, repr=False)
class Block(_Construct):
    """wasm ``block``: a label at its *end*; ``br`` to it leaves the block."""

    body: tuple[Node, ...]


@frozen(eq=False, repr=False)
class Loop(_Construct):
    """wasm ``loop``: a label at its *start*; ``br`` to it runs the body
    again.  Falling off the end of the body leaves the loop."""

    body: tuple[Node, ...]


@frozen(eq=False, repr=False)
class If(_Construct):
    """wasm ``if``/``else``: evaluate ``cond`` once; run ``then`` when it is
    nonzero, ``else_`` otherwise (either may be empty; emit no ``else`` when
    ``else_`` is empty).  A label at its end, like ``Block``."""

    cond: object
    then: tuple[Node, ...]
    else_: tuple[Node, ...]


Node = Union[Code, Block, Loop, If, Br, BrIf, BrTable, Exit, SetDispatch]


# Markers of the flat instruction stream.  With the leaf nodes they spell a
# tree exactly as the wasm binary does: start ... [else ...] end.
@frozen
class BlockStart:
    """Start of a ``Block`` (wasm ``block``)."""


@frozen
class LoopStart:
    """Start of a ``Loop`` (wasm ``loop``)."""


@frozen
class IfStart:
    """Start of an ``If``: evaluate ``cond``, then wasm ``if``."""

    cond: object


@frozen
class Else:
    """wasm ``else`` of the innermost ``If`` (only when ``else_`` is not
    empty)."""


@frozen
class End:
    """wasm ``end`` of the innermost open construct."""


Leaf = Union[Code, Br, BrIf, BrTable, Exit, SetDispatch]
Instr = Union[Leaf, BlockStart, LoopStart, IfStart, Else, End]

_END = End()
_ELSE = Else()


def instructions(body: Sequence[Node] | Node) -> Iterator[Instr]:
    """The tree as a flat stream of wasm-ordered instructions, without
    recursion: what an encoder or printer walks."""
    stack: list[Instr | Node] = list(reversed(_as_body(body)))
    while stack:
        item = stack.pop()
        match item:
            case Block(body=inner):
                yield BlockStart()
                stack.append(_END)
                stack.extend(reversed(inner))
            case Loop(body=inner):
                yield LoopStart()
                stack.append(_END)
                stack.extend(reversed(inner))
            case If(cond=cond, then=then, else_=else_):
                yield IfStart(cond)
                stack.append(_END)
                stack.extend(reversed(else_))
                if else_:
                    stack.append(_ELSE)
                stack.extend(reversed(then))
            case _:
                yield item


_NODE_TYPES = (Code, Block, Loop, If, Br, BrIf, BrTable, Exit, SetDispatch)


def _as_body(tree: Sequence[Node] | Node) -> Sequence[Node]:
    if isinstance(tree, _NODE_TYPES):
        return (tree,)
    return tree


def uses_dispatch(tree: Sequence[Node] | Node) -> bool:
    """Whether the tree reads or writes the dispatch variable, i.e. whether
    the code generator must create the i32 local for it."""
    for instr in instructions(tree):
        if isinstance(instr, SetDispatch):
            return True
        if isinstance(instr, BrTable) and instr.index is DISPATCH:
            return True
    return False


def max_nesting(tree: Sequence[Node] | Node) -> int:
    """The deepest nesting of Block/Loop/If constructs (0 for a flat body)."""
    depth = deepest = 0
    for instr in instructions(tree):
        if isinstance(instr, (BlockStart, LoopStart, IfStart)):
            depth += 1
            deepest = max(deepest, depth)
        elif isinstance(instr, End):
            depth -= 1
    return deepest


def tree_repr(tree: Sequence[Node] | Node) -> str:
    """``repr`` in attrs style (``Block(body=(Code(...),))``), built without
    recursion so that 10,000-deep trees print."""
    top_level = not isinstance(tree, _NODE_TYPES)
    out: list[str] = ["["] if top_level else []
    # Per open tuple: how many items it holds so far (for commas and the
    # one-element tuple's trailing comma); per open construct: its kind.
    counts: list[int] = [0] if top_level else []
    kinds: list[str] = []
    for instr in instructions(tree):
        if counts and not isinstance(instr, (End, Else)):
            out.append(", " if counts[-1] else "")
            counts[-1] += 1
        match instr:
            case BlockStart():
                out.append("Block(body=(")
                counts.append(0)
                kinds.append("block")
            case LoopStart():
                out.append("Loop(body=(")
                counts.append(0)
                kinds.append("loop")
            case IfStart(cond=cond):
                out.append(f"If(cond={cond!r}, then=(")
                counts.append(0)
                kinds.append("then")
            case Else():
                out.append(_tuple_tail(counts.pop()) + ", else_=(")
                counts.append(0)
                kinds[-1] = "else"
            case End():
                closer = ", else_=())" if kinds.pop() == "then" else ")"
                out.append(_tuple_tail(counts.pop()) + closer)
            case _:
                out.append(repr(instr))
    if top_level:
        out.append("]")
    return "".join(out)


def _tuple_tail(count: int) -> str:
    return ",)" if count == 1 else ")"
