"""The relooper's working graph and the analyses over it.

``Graph`` is the CFG restricted to blocks reachable from the entry, plus the
synthetic nodes that ``irreducible.py`` adds (dispatch headers and the edge
nodes that set the dispatch variable).  Analyses, all with explicit stacks so
that 10,000-block graphs cannot overflow Python's stack:

* depth-first search for reverse postorder, O(N + E);
* dominators by Cooper, Harvey and Kennedy, "A Simple, Fast Dominance
  Algorithm" (Software Practice & Experience, 2001): iterate
  ``idom(b) = intersect(processed preds of b)`` in reverse postorder until
  nothing changes.  We feed it forward edges only (see ``analyse``), where
  one pass reaches the fixed point and a second confirms it; each
  ``intersect`` walks at most the dominator-tree depth D, so the cost is
  O(E * D), O(E) in practice and O(N * E) in the worst case;
* strongly connected components by Tarjan's algorithm, O(N + E).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from attrs import define, frozen

from relooper.cfg import CFG, Branch, Jump, Switch, Terminate, successors

# What a block, condition or switch index carries: opaque to the relooper.  A
# named alias, not `object` itself, on the attrs fields: compiled with mypyc,
# a field annotated with a builtin other than the primitive types fails at import
# (KeyError: 'object').
Payload = object


class Kind(enum.Enum):
    JUMP = "jump"
    BRANCH = "branch"
    SWITCH = "switch"
    EXIT = "exit"
    DISPATCH = "dispatch"  # br_table on the dispatch variable


@define
class GNode:
    """A node of the working graph.

    ``targets`` are the distinct successors; ``table`` maps branch outcomes to
    positions in ``targets`` (BRANCH: ``(true, false)``; SWITCH/DISPATCH: one
    per case value, with ``default`` for the rest), so that rerouting an edge
    is a single write to ``targets``."""

    block: int  # CFG block id; -1 for synthetic nodes
    code: Payload  # the block's payload (statements)
    kind: Kind
    payload: Payload
    targets: list[int]
    table: tuple[int, ...] = ()
    default: int = 0
    set_value: int = -1  # >= 0: a setter node, SetDispatch(set_value) first

    def target_of(self, slot: int) -> int:
        return self.targets[self.table[slot]]


@define
class Graph:
    nodes: list[GNode]
    entry: int
    preds: list[list[int]]  # predecessors among reachable nodes only

    @classmethod
    def from_cfg(cls, cfg: CFG) -> Graph:
        cfg.check()
        nodes = [_node_of(cfg, b) for b in range(len(cfg))]
        graph = cls(nodes, 0, [[] for _ in nodes])
        for node in reverse_postorder(graph):
            for target in nodes[node].targets:
                graph.preds[target].append(node)
        return graph

    def add(self, node: GNode) -> int:
        self.nodes.append(node)
        self.preds.append([])
        return len(self.nodes) - 1


def _node_of(cfg: CFG, block: int) -> GNode:
    term = cfg.terminator(block)
    targets = list(successors(term))
    code = cfg.payload(block)
    match term:
        case Jump():
            return GNode(block, code, Kind.JUMP, None, targets)
        case Branch(cond=cond, if_true=t, if_false=f):
            arms = (targets.index(t), targets.index(f))
            return GNode(block, code, Kind.BRANCH, cond, targets, arms)
        case Switch(index=index, table=cases, default=d):
            table = tuple(targets.index(t) for t in cases)
            return GNode(block, code, Kind.SWITCH, index, targets, table, targets.index(d))
        case Terminate(payload=exit_payload):
            return GNode(block, code, Kind.EXIT, exit_payload, [])
    raise AssertionError(f"block {block}: unknown terminator {term!r}")


def reverse_postorder(graph: Graph) -> list[int]:
    """Nodes reachable from the entry in reverse postorder.

    Successors are explored last-first so that the order follows the
    source's first-mention order (a branch's true side before its false
    side), which keeps the output close to the input's layout."""
    nodes = graph.nodes
    seen = {graph.entry}
    post: list[int] = []
    stack = [(graph.entry, len(nodes[graph.entry].targets))]
    while stack:
        node, left = stack[-1]
        if left == 0:
            stack.pop()
            post.append(node)
            continue
        stack[-1] = (node, left - 1)
        child = nodes[node].targets[left - 1]
        if child not in seen:
            seen.add(child)
            stack.append((child, len(nodes[child].targets)))
    post.reverse()
    return post


def dominators(preds: Sequence[Sequence[int]]) -> list[int]:
    """Cooper-Harvey-Kennedy on nodes numbered in reverse postorder (0 is
    the entry); returns the immediate dominator of each (the entry's is
    itself)."""
    count = len(preds)
    idom = [-1] * count
    idom[0] = 0
    changed = True
    while changed:
        changed = False
        for node in range(1, count):
            new = _intersect_all(idom, preds[node])
            if new != idom[node]:
                idom[node] = new
                changed = True
    return idom


def _intersect_all(idom: list[int], preds: Sequence[int]) -> int:
    new = -1
    for pred in preds:
        if idom[pred] < 0:
            continue  # not processed yet in this pass
        new = pred if new < 0 else _intersect(idom, pred, new)
    return new


def _intersect(idom: list[int], a: int, b: int) -> int:
    # In reverse-postorder numbering a dominator has a smaller number, so
    # the larger finger climbs until the two meet.
    while a != b:
        while a > b:
            a = idom[a]
        while b > a:
            b = idom[b]
    return a


def strongly_connected(nodes: Sequence[int], graph: Graph) -> list[list[int]]:
    """Tarjan's SCCs of the subgraph induced by ``nodes`` (edges leaving it
    are ignored), iteratively."""
    inside = set(nodes)
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    result: list[list[int]] = []
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, 0)]
        while work:
            node, next_child = work[-1]
            targets = graph.nodes[node].targets
            if next_child < len(targets):
                work[-1] = (node, next_child + 1)
                child = targets[next_child]
                if child not in inside:
                    continue
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                result.append(_pop_component(stack, on_stack, node))
    return result


def _pop_component(stack: list[int], on_stack: set[int], root: int) -> list[int]:
    component: list[int] = []
    while True:
        node = stack.pop()
        on_stack.discard(node)
        component.append(node)
        if node == root:
            return component


@frozen
class Analysis:
    """What the structurer needs to know about each reachable node; lists are
    indexed by node id (unreachable nodes hold -1 / False / [])."""

    rpo: list[int]
    order: list[int]  # node -> position in rpo
    idom: list[int]
    children: list[list[int]]  # dominator-tree children, in rpo order
    header: list[bool]  # target of a back edge: becomes a Loop
    merge: list[bool]  # >= 2 forward predecessors: becomes a Block's follower
    irreducible: bool  # a retreating edge whose target does not dominate its source


def analyse(graph: Graph) -> Analysis:
    """Reverse postorder, dominators, loop headers and merge nodes.

    Dominators are computed over forward edges (those that go up in reverse
    postorder).  If every retreating edge's target dominates its source in
    that forward graph, the graph is reducible and forward-graph dominance
    equals dominance in the whole graph (a path's retreating edges can be cut
    out one by one).  Otherwise ``irreducible`` is set and the dominators
    must not be used."""
    rpo = reverse_postorder(graph)
    size = len(graph.nodes)
    order = [-1] * size
    for position, node in enumerate(rpo):
        order[node] = position
    forward = [[order[p] for p in graph.preds[n] if order[p] < order[n]] for n in rpo]
    idom_r = dominators(forward)
    idom = [-1] * size
    children: list[list[int]] = [[] for _ in range(size)]
    for position in range(1, len(rpo)):
        parent = rpo[idom_r[position]]
        idom[rpo[position]] = parent
        children[parent].append(rpo[position])
    idom[graph.entry] = graph.entry
    first, last = _dominator_intervals(graph.entry, children, size)
    header = [False] * size
    irreducible = False
    for node in rpo:
        for pred in graph.preds[node]:
            if order[pred] < order[node]:
                continue
            header[node] = True
            if not first[node] <= first[pred] <= last[node]:
                irreducible = True
    merge = [sum(1 for p in graph.preds[n] if order[p] < order[n]) >= 2 for n in range(size)]
    return Analysis(rpo, order, idom, children, header, merge, irreducible)


def _dominator_intervals(
    entry: int, children: list[list[int]], size: int
) -> tuple[list[int], list[int]]:
    """Preorder number of each node and the largest preorder number in its
    dominator subtree: a dominates b iff first[a] <= first[b] <= last[a]."""
    first = [-1] * size
    last = [-1] * size
    counter = 0
    stack = [(entry, False)]
    while stack:
        node, done = stack.pop()
        if done:
            last[node] = counter - 1
            continue
        first[node] = counter
        counter += 1
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children[node]))
    return first, last
