"""Structuring a CFG into wasm control constructs.

The algorithm is Norman Ramsey's, "Beyond Relooper: Recursive Translation of
Unstructured Control Flow to Structured Control Flow" (ICFP 2022), which
walks the dominator tree with nodes ordered by reverse postorder:

* a loop header (target of a back edge) becomes a ``Loop`` around its
  dominator subtree;
* the dominator-tree children of a node X that are merge nodes (two or more
  forward predecessors) are placed *after* X, each following the end of a
  ``Block`` that wraps X; the child with the highest reverse-postorder
  number gets the outermost block;
* every other child has X as its only forward predecessor and is translated
  in place, where X branches to it;
* a branch to an enclosing loop (``continue``) or to an enclosing block's
  follower (``break``) becomes ``br`` with the label's relative depth.

Three refinements over the paper: a ``br`` to the code that falling off the
current construct reaches anyway is left out (we carry that node, the
*fallthrough target*, down the walk); two-way branches use ``br_if`` when an
arm is a ``br``; and the children that a ``br_table`` targets are placed
after blocks too, since ``br_table`` can only jump to labels.  A block that
no branch targets is left out after the walk, when labels are resolved.

The paper's recursion is replaced by an explicit task stack, so graphs of
any size and depth are safe.  The walk emits a flat stream of instructions
with symbolic labels; a second linear pass drops unused blocks, turns
labels into relative depths and builds the tree (``tree.py``).

Irreducible graphs are first made reducible with a dispatch variable (see
``irreducible.py``).  A setter whose entry is already in reach (an enclosing
label, or the fallthrough) branches there directly instead of storing to
the variable and going round through the dispatch ``br_table``.  Reducible graphs get no helper variable, no duplicated
block and no ``br`` where falling through would do.  The whole pipeline is
O(N + E) apart from dominators (O(E * D), see ``graph.py``) and the
irreducible fix-up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Union

from attrs import frozen

from relooper.cfg import CFG
from relooper.graph import Analysis, Graph, Kind, Payload, analyse
from relooper.irreducible import make_reducible
from relooper.tree import (
    DISPATCH,
    Block,
    Br,
    BrIf,
    BrTable,
    Code,
    Exit,
    If,
    Loop,
    Node,
    SetDispatch,
)


def structure(cfg: CFG) -> list[Node]:
    """Translate ``cfg`` into a function body (see the module doc).

    Raises ValueError if the CFG is empty or a block has no terminator.
    Blocks unreachable from the entry (block 0) are dropped.

    Control never falls off the end of the body: every path ends in an
    ``Exit`` or loops.  wasm's validator still types the end of a trailing
    ``Block``/``Loop``/``If`` as reachable, so a function with results
    should end its body with ``unreachable``.  When ``uses_dispatch(tree)``,
    the function needs one i32 local for ``SetDispatch``/``DISPATCH``."""
    graph = Graph.from_cfg(cfg)
    info = analyse(graph)
    if info.irreducible:
        make_reducible(graph)
        info = analyse(graph)
        if info.irreducible:
            raise AssertionError("relooper bug: graph still irreducible after dispatch")
    return _resolve(_Walk(graph, info).run())


# -- Phase 1: the walk, emitting instructions with symbolic labels --------


@frozen
class _Open:
    kind: str  # "block" | "loop" | "if"
    label: int
    cond: Payload = None


@frozen
class _Else:
    pass


@frozen
class _Close:
    pass


@frozen
class _SymBr:
    label: int


@frozen
class _SymBrIf:
    cond: Payload
    label: int


@frozen
class _SymBrTable:
    index: Payload
    labels: tuple[int, ...]
    default: int


_Event = Union[_Open, _Else, _Close, _SymBr, _SymBrIf, _SymBrTable, Code, Exit, SetDispatch]

# Tasks of the walk: (op, node, fall).  fall is the node that falling off
# the end of the code being emitted reaches, or -1 (the function's end).
_TREE = 0  # translate the dominator subtree of node
_BRANCH = 1  # translate an edge to node
_CLOSE = 2  # close the innermost construct; node: its label owner or -1
_EMIT_ELSE = 3
_Task = tuple[int, int, int]

# How a branch to a node is translated from the current position.
_FALL = 0  # nothing: falling through gets there
_BR = 1  # br to an enclosing label
_INLINE = 2  # the node's subtree goes here


class _Walk:
    # A plain class (not attrs with factory defaults, which mypyc cannot compile).
    def __init__(self, graph: Graph, info: Analysis) -> None:
        self.graph = graph
        self.info = info
        self.events: list[_Event] = []
        self.tasks: list[_Task] = []
        self.labels: dict[int, int] = {}  # node -> label of its open construct
        self.next_label = 0

    def run(self) -> list[_Event]:
        self.tasks.append((_TREE, self.graph.entry, -1))
        while self.tasks:
            op, node, fall = self.tasks.pop()
            if op == _TREE:
                self._tree(node, fall)
            elif op == _BRANCH:
                self._branch(node, fall)
            elif op == _CLOSE:
                self.events.append(_Close())
                self.labels.pop(node, None)
            else:
                self.events.append(_Else())
        return self.events

    def _open(self, kind: str, owner: int, cond: object = None) -> None:
        label = self.next_label
        self.next_label += 1
        if owner >= 0:
            self.labels[owner] = label
        self.events.append(_Open(kind, label, cond))

    def _later(self, tasks: Iterable[_Task]) -> None:
        """Schedule tasks to run in the given order, before anything
        scheduled earlier."""
        self.tasks.extend(reversed(list(tasks)))

    def _tree(self, node: int, fall: int) -> None:
        followers = self._followers(node)
        later: list[_Task] = []
        if self.info.header[node]:
            self._open("loop", node)
        for position in range(len(followers) - 1, -1, -1):
            self._open("block", followers[position])
        for position, follower in enumerate(followers):
            after = followers[position + 1] if position + 1 < len(followers) else fall
            later += [(_CLOSE, follower, -1), (_TREE, follower, after)]
        if self.info.header[node]:
            later.append((_CLOSE, node, -1))
        self._later(later)
        self._body(node, followers[0] if followers else fall)

    def _followers(self, node: int) -> list[int]:
        """The dominator-tree children placed after blocks around ``node``,
        in reverse postorder (the first gets the innermost block)."""
        merge = self.info.merge
        targets = self.graph.nodes[node].targets
        tabled = self.graph.nodes[node].kind in (Kind.SWITCH, Kind.DISPATCH)
        return [c for c in self.info.children[node] if merge[c] or (tabled and c in targets)]

    def _body(self, node: int, fall: int) -> None:
        gnode = self.graph.nodes[node]
        if gnode.block >= 0:
            self.events.append(Code(gnode.block, gnode.code))
        if gnode.set_value >= 0:
            entry = self._dispatched_entry(node)
            if entry == fall or entry in self.labels:
                # The entry's code is in reach (a setter on an edge inside
                # the loop, to an entry placed after it): skip the detour
                # through the dispatch node.
                self._branch(entry, fall)
                return
            self.events.append(SetDispatch(gnode.set_value))
        match gnode.kind:
            case Kind.EXIT:
                self.events.append(Exit(gnode.payload))
            case Kind.JUMP:
                self._branch(gnode.targets[0], fall)
            case Kind.BRANCH:
                self._two_way(gnode.payload, gnode.target_of(0), gnode.target_of(1), fall)
            case Kind.SWITCH | Kind.DISPATCH:
                index = DISPATCH if gnode.kind is Kind.DISPATCH else gnode.payload
                labels = tuple(self.labels[gnode.target_of(s)] for s in range(len(gnode.table)))
                default = self.labels[gnode.targets[gnode.default]]
                self.events.append(_SymBrTable(index, labels, default))

    def _dispatched_entry(self, setter: int) -> int:
        """The node that the dispatch node after ``setter`` will choose."""
        value = self.graph.nodes[setter].set_value
        dispatch = self.graph.nodes[self.graph.nodes[setter].targets[0]]
        assert dispatch.kind is Kind.DISPATCH
        if value < len(dispatch.table):
            return dispatch.target_of(value)
        return dispatch.targets[dispatch.default]

    def _classify(self, target: int, fall: int) -> int:
        if target == fall:
            return _FALL
        return _BR if target in self.labels else _INLINE

    def _branch(self, target: int, fall: int) -> None:
        how = self._classify(target, fall)
        if how == _BR:
            self.events.append(_SymBr(self.labels[target]))
        elif how == _INLINE:
            self.tasks.append((_TREE, target, fall))

    def _two_way(self, cond: object, yes: int, no: int, fall: int) -> None:
        if yes == no:
            # Still evaluate the condition once, for its side effects.
            self._open("if", -1, cond)
            self.events.append(_Close())
            self._branch(yes, fall)
            return
        how_yes, how_no = self._classify(yes, fall), self._classify(no, fall)
        if how_yes == _BR:
            self.events.append(_SymBrIf(cond, self.labels[yes]))
            self._branch(no, fall)
            return
        self._open("if", -1, cond)
        later: list[_Task] = []
        if how_yes == _INLINE:
            later.append((_TREE, yes, fall))
        if how_no != _FALL:
            later += [(_EMIT_ELSE, -1, -1), (_BRANCH, no, fall)]
        later.append((_CLOSE, -1, -1))
        self._later(later)


# -- Phase 2: drop unused blocks, resolve labels to depths, build the tree --


class _Builder:
    def __init__(self, kind: str, cond: Payload) -> None:
        self.kind = kind
        self.cond = cond
        self.items: list[Node] = []
        self.then: list[Node] | None = None  # set once an If reaches its else

    def build(self) -> Node:
        if self.kind == "block":
            return Block(tuple(self.items))
        if self.kind == "loop":
            return Loop(tuple(self.items))
        if self.then is None:
            return If(self.cond, tuple(self.items), ())
        return If(self.cond, tuple(self.then), tuple(self.items))


def _used_labels(events: list[_Event]) -> Counter[int]:
    used: Counter[int] = Counter()
    for event in events:
        match event:
            case _SymBr(label=label) | _SymBrIf(label=label):
                used[label] += 1
            case _SymBrTable(labels=labels, default=default):
                used.update(labels)
                used[default] += 1
    return used


def _resolve(events: list[_Event]) -> list[Node]:
    used = _used_labels(events)
    root = _Builder("root", None)
    builders = [root]
    position: dict[int, int] = {}  # label -> index in the stack of kept labels
    kept: list[bool] = []  # per open construct: kept, or spliced into its parent

    def depth(label: int) -> int:
        return len(builders) - 2 - position[label]

    for event in events:
        match event:
            case _Open(kind=kind, label=label, cond=cond):
                keep = kind == "if" or used[label] > 0
                kept.append(keep)
                if keep:
                    position[label] = len(builders) - 1
                    builders.append(_Builder(kind, cond))
            case _Else():
                top = builders[-1]
                top.then, top.items = top.items, []
            case _Close():
                if kept.pop():
                    done = builders.pop()
                    builders[-1].items.append(done.build())
            case _SymBr(label=label):
                builders[-1].items.append(Br(depth(label)))
            case _SymBrIf(cond=cond, label=label):
                builders[-1].items.append(BrIf(cond, depth(label)))
            case _SymBrTable(index=index, labels=labels, default=default):
                depths = tuple(depth(label) for label in labels)
                builders[-1].items.append(BrTable(index, depths, depth(default)))
            case _:
                builders[-1].items.append(event)
    return root.items
