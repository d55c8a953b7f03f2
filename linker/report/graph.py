"""The live reference graph of a report, and the graph algorithms the commands use.

Nodes are the live entities; an edge `a -> b` (labelled with its kind) is a
reference of `a` to the live symbol `b`.  A meta-root has an edge to every
root, as in twiggy, so the graph has one entry.

* Shortest chains (`why`): a breadth-first search from all roots at once
  gives each node's distance from the nearest root; a best-first search
  backwards from the symbol, ordered by chain length so far plus that
  distance (A*, the distance being exact), yields the shortest chain first
  and then further distinct chains in order of length (lld's `--why-live`
  prints one chain; twiggy's `paths` lists callers up to the roots).
* Dominators (`dominators`): the iterative algorithm of Cooper, Harvey and
  Kennedy, "A Simple, Fast Dominance Algorithm" (2001): number the nodes in
  reverse postorder from the meta-root, then repeat `idom(b) = intersect of
  b's processed predecessors` (walking up by postorder number) until nothing
  changes.  A node's retained size is its own bytes plus the retained sizes
  of its children in the dominator tree: what would leave the output if
  nothing but it kept them alive (twiggy's "retained size").
* Neighbourhoods (`graph SYMBOL --depth N`): nodes within N edges of the
  symbol, in either direction.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator, Sequence

import attrs

from linker.report.model import Report

META_ROOT = "<meta root>"


@attrs.define(slots=True, eq=False)
class Graph:
    """Nodes 0..n-1 and their out-edges; `roots` are node numbers."""

    names: list[str]
    sizes: list[int]
    succ: list[list[tuple[int, str]]]
    roots: list[int]
    index: dict[str, int] = attrs.Factory(dict)

    def __attrs_post_init__(self) -> None:
        if not self.index:
            self.index = {n: i for i, n in enumerate(self.names)}

    def preds(self) -> list[list[tuple[int, str]]]:
        out: list[list[tuple[int, str]]] = [[] for _ in self.names]
        for a, edges in enumerate(self.succ):
            for b, kind in edges:
                out[b].append((a, kind))
        return out


def live_graph(report: Report) -> Graph:
    names = [e.name for e in report.live]
    index = {n: i for i, n in enumerate(names)}
    succ: list[list[tuple[int, str]]] = []
    for e in report.live:
        edges: list[tuple[int, str]] = []
        seen: set[int] = set()
        for s, k in e.refs:
            j = index.get(s)
            if j is not None and j not in seen:   # one edge per target: its first kind
                seen.add(j)
                edges.append((j, k))
        succ.append(edges)
    roots: dict[int, None] = {}
    for r in report.roots:
        j = index.get(r.symbol)
        if j is not None:
            roots.setdefault(j, None)
    for i, e in enumerate(report.live):
        if e.parent is None:
            roots.setdefault(i, None)
    return Graph(names, [e.bytes for e in report.live], succ, list(roots), index)


# ---------------------------------------------------------------- chains


def distances(g: Graph) -> list[int]:
    """Edges from the nearest root (-1: unreachable)."""
    return bfs(g)[0]


def bfs(g: Graph) -> tuple[list[int], list[tuple[int, str] | None]]:
    """Breadth-first search from all roots at once: each node's distance from the
    nearest root (-1: unreachable) and the (node, edge kind) that reached it first."""
    dist = [-1] * len(g.names)
    via: list[tuple[int, str] | None] = [None] * len(g.names)
    queue: deque[int] = deque()
    for r in g.roots:
        if dist[r] < 0:
            dist[r] = 0
            queue.append(r)
    while queue:
        a = queue.popleft()
        for b, k in g.succ[a]:
            if dist[b] < 0:
                dist[b] = dist[a] + 1
                via[b] = (a, k)
                queue.append(b)
    return dist, via


Chain = list[tuple[int, str | None]]   # (node, kind of the edge to the previous node)


def shortest_chain(g: Graph, target: int,
                   search: tuple[list[int], list[tuple[int, str] | None]] | None = None
                   ) -> Chain | None:
    """A shortest chain from a root to `target` (see `chains`), None if unreachable."""
    dist, via = search if search is not None else bfs(g)
    if dist[target] < 0:
        return None
    out: Chain = [(target, None)]
    step = via[target]
    while step is not None:
        out.append((step[0], step[1]))
        step = via[step[0]]
    return out


# A partial chain of the best-first search: (node, edge kind, rest), innermost first.
_Path = tuple[int, "str | None", "_Path | None"]


def chains(g: Graph, target: int, limit: int = 1, max_expansions: int = 100_000,
           preds: Sequence[Sequence[tuple[int, str]]] | None = None,
           search: tuple[list[int], list[tuple[int, str] | None]] | None = None
           ) -> list[Chain]:
    """Up to `limit` distinct simple chains from a root to `target`, shortest first.

    Each chain starts at `target`: [(target, None), (referrer, kind), ..., (root, kind)],
    where `kind` is the kind of the edge from that node to the one before it.  The
    first is the breadth-first one; more come from a best-first search bounded by
    `max_expansions` (so it may return fewer than `limit` on a huge graph)."""
    search = search if search is not None else bfs(g)
    first = shortest_chain(g, target, search)
    if first is None:
        return []
    if limit <= 1:
        return [first]
    dist = search[0]
    preds = preds if preds is not None else g.preds()
    roots = set(g.roots)
    out: list[Chain] = []
    seen: set[tuple[int, ...]] = set()
    counter = 0
    start: _Path = (target, None, None)
    heap: list[tuple[int, int, int, _Path]] = [(dist[target], 0, 1, start)]
    expansions = 0
    while heap and len(out) < limit and expansions < max_expansions:
        _prio, _c, length, path = heapq.heappop(heap)
        node = path[0]
        if node in roots:
            chain = _unwind(path)
            key = tuple(v for v, _k in chain)
            if key not in seen:
                seen.add(key)
                out.append(chain)
            continue
        expansions += 1
        on_path = {v for v, _k in _unwind(path)}
        for p, kind in preds[node]:
            if p in on_path or dist[p] < 0:
                continue
            counter += 1
            heapq.heappush(heap, (length + dist[p], counter, length + 1, (p, kind, path)))
    return out if out else [first]


def _unwind(path: _Path) -> Chain:
    """The chain of a partial path, target first."""
    out: Chain = []
    cur: _Path | None = path
    while cur is not None:
        out.append((cur[0], cur[1]))
        cur = cur[2]
    out.reverse()
    return out


# ---------------------------------------------------------------- dominators


@attrs.frozen(slots=True)
class DominatorTree:
    """`idom[v]`: v's immediate dominator (`meta` for the meta-root's children, -1
    for unreachable nodes); node `meta` (= number of nodes) is the meta-root."""

    idom: list[int]
    retained: list[int]          # indexed like idom; retained[meta] = all reachable bytes
    meta: int

    def children(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.idom]
        for v, d in enumerate(self.idom):
            if d >= 0 and v != self.meta:
                out[d].append(v)
        return out


def dominator_tree(g: Graph) -> DominatorTree:
    """Cooper-Harvey-Kennedy over the graph plus a meta-root linked to every root."""
    n = len(g.names)
    meta = n
    succ = g.succ

    def successors(v: int) -> list[int]:
        return g.roots if v == meta else [b for b, _k in succ[v]]

    # Iterative DFS postorder from the meta-root.
    post: list[int] = []
    visited = bytearray(n + 1)
    visited[meta] = 1
    stack: list[tuple[int, Iterator[int]]] = [(meta, iter(successors(meta)))]
    while stack:
        v, it = stack[-1]
        for w in it:
            if not visited[w]:
                visited[w] = 1
                stack.append((w, iter(successors(w))))
                break
        else:
            stack.pop()
            post.append(v)
    po = [-1] * (n + 1)
    for i, v in enumerate(post):
        po[v] = i
    preds: list[list[int]] = [[] for _ in range(n + 1)]
    for v in post:
        for w in successors(v):
            preds[w].append(v)
    idom = [-1] * (n + 1)
    idom[meta] = meta
    rpo = post[::-1]
    changed = True
    while changed:
        changed = False
        for b in rpo:
            if b == meta:
                continue
            new = -1
            for p in preds[b]:
                if idom[p] < 0:
                    continue
                if new < 0:
                    new = p
                    continue
                f1, f2 = p, new        # intersect: walk up until the fingers meet
                while f1 != f2:
                    while po[f1] < po[f2]:
                        f1 = idom[f1]
                    while po[f2] < po[f1]:
                        f2 = idom[f2]
                new = f1
            if idom[b] != new:
                idom[b] = new
                changed = True
    retained = [0] * (n + 1)
    for v in post:                     # children before parents
        if v != meta:
            retained[v] += g.sizes[v]
            retained[idom[v]] += retained[v]
    return DominatorTree(idom, retained, meta)


# ---------------------------------------------------------------- neighbourhoods


def neighbourhood(g: Graph, center: int, depth: int) -> list[int]:
    """Nodes within `depth` edges of `center`, either direction, in BFS order."""
    preds = g.preds()
    seen = {center: 0}
    order = [center]
    queue: deque[int] = deque([center])
    while queue:
        a = queue.popleft()
        if seen[a] >= depth:
            continue
        for b, _k in (*g.succ[a], *preds[a]):
            if b not in seen:
                seen[b] = seen[a] + 1
                order.append(b)
                queue.append(b)
    return order
