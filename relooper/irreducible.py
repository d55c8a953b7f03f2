"""Making an irreducible graph reducible with a dispatch variable.

We follow binaryen's Relooper and LLVM's
``WebAssemblyFixIrreducibleControlFlow``: no node is duplicated; each loop
with several entries gets a new header, a *dispatch* node that
``br_table``s on an i32 local (the dispatch variable) to the real entries.
Every edge into one of those entries, from outside the loop or from inside
it, is rerouted through a *setter* node that stores the entry's number in
the variable and jumps to the dispatch node.  The loop then has a single
entry, its header.  (Node splitting, which GHC uses, would avoid the
variable at the price of duplicated code; we prefer bounded code size.)

Loops are found as a nest of strongly connected regions, as in Ramalingam's
loop-nesting forests: the SCCs of the graph are the outermost loops; a
loop's inner loops are the SCCs of its body once its header is removed.
Each multi-entry SCC is fixed before its body is examined, so nested
irreducible regions are fixed in turn, innermost last.  When every loop of
the nest has one entry, every retreating edge targets a loop header that
dominates its source: the graph is reducible, which ``analyse`` checks
again afterwards.

Cost: O((N + E) * L) for a loop-nest depth L; the structurer only calls
this for graphs that its reducibility test rejected.
"""

from __future__ import annotations

from relooper.graph import GNode, Graph, Kind, strongly_connected


def make_reducible(graph: Graph) -> None:
    """Reroute the entries of every multi-entry loop through a dispatch
    node, in place."""
    reachable = [n for n in range(len(graph.nodes)) if graph.preds[n] or n == graph.entry]
    work: list[list[int]] = [reachable]
    while work:
        region = work.pop()
        for scc in strongly_connected(region, graph):
            if not _is_cycle(scc, graph):
                continue
            members = set(scc)
            entries = sorted(n for n in scc if _enters(n, members, graph))
            if len(entries) == 1:
                work.append([n for n in scc if n != entries[0]])
            else:
                work.append(scc + _add_dispatch(graph, entries, members))


def _is_cycle(scc: list[int], graph: Graph) -> bool:
    return len(scc) > 1 or scc[0] in graph.nodes[scc[0]].targets


def _enters(node: int, members: set[int], graph: Graph) -> bool:
    if node == graph.entry:
        return True  # entered from the function's start
    return any(p not in members for p in graph.preds[node])


def _add_dispatch(graph: Graph, entries: list[int], members: set[int]) -> list[int]:
    """Insert the dispatch header for ``entries``; return the setter nodes
    that lie inside the loop (they are part of its body from now on)."""
    count = len(entries)
    table = tuple(range(count - 1))  # the last entry is the br_table default
    dispatch = graph.add(GNode(-1, None, Kind.DISPATCH, None, list(entries), table, count - 1))
    inner: list[int] = []
    for value, entry in enumerate(entries):
        for pred in graph.preds[entry]:
            setter = _add_setter(graph, value, dispatch)
            graph.preds[setter].append(pred)
            targets = graph.nodes[pred].targets
            targets[targets.index(entry)] = setter
            if pred in members:
                inner.append(setter)
        # The function's entry is never rerouted: every node of an SCC that
        # holds the entry is reached from the entry inside the SCC, so the
        # entry is that SCC's only entry.
        assert entry != graph.entry
        graph.preds[entry] = [dispatch]
    return inner


def _add_setter(graph: Graph, value: int, dispatch: int) -> int:
    setter = graph.add(GNode(-1, None, Kind.JUMP, None, [dispatch], set_value=value))
    graph.preds[dispatch].append(setter)
    return setter
