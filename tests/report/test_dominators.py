"""Retained sizes (Cooper-Harvey-Kennedy) against a brute force on random graphs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from linker.report.graph import Graph, dominator_tree, live_graph
from linker.report.model import Report


def random_graph(rng: random.Random) -> Graph:
    n = rng.randint(1, 30)
    names = [f"n{i}" for i in range(n)]
    sizes = [rng.randint(0, 100) for _ in range(n)]
    density = rng.random() * 3
    succ: list[list[tuple[int, str]]] = [[] for _ in range(n)]
    for a in range(n):
        targets = {rng.randrange(n) for _ in range(int(rng.random() * density * 2))}
        succ[a] = [(b, "call") for b in sorted(targets)]
    roots = sorted({rng.randrange(n) for _ in range(rng.randint(1, 3))})
    return Graph(names, sizes, succ, roots)


def reachable(g: Graph, removed: int | None) -> set[int]:
    seen = {r for r in g.roots if r != removed}
    stack = list(seen)
    while stack:
        a = stack.pop()
        for b, _k in g.succ[a]:
            if b != removed and b not in seen:
                seen.add(b)
                stack.append(b)
    return seen


def brute_retained(g: Graph) -> dict[int, int]:
    """Remove each node; what becomes unreachable from the meta-root (and the node)."""
    full = reachable(g, None)
    return {v: sum(g.sizes[u] for u in full - reachable(g, v)) for v in full}


@pytest.mark.parametrize("seed", range(200))
def test_retained_sizes_match_brute_force(seed: int) -> None:
    g = random_graph(random.Random(seed))
    tree = dominator_tree(g)
    expected = brute_retained(g)
    got = {v: tree.retained[v] for v in range(len(g.names)) if tree.idom[v] >= 0}
    assert got == expected
    assert tree.retained[tree.meta] == sum(g.sizes[v] for v in expected)


def test_idoms_dominate(prog: Path) -> None:
    """On the program: removing a node's idom makes the node unreachable."""
    g = live_graph(Report.load("prog.json"))
    tree = dominator_tree(g)
    for v in range(len(g.names)):
        d = tree.idom[v]
        assert d >= 0
        if d != tree.meta:
            assert v not in reachable(g, d)
