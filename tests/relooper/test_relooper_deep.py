"""10,000-block graphs: no recursion anywhere (structuring, dominators, DFS,
equality, repr, the WAT printer), at Python's default recursion limit."""

from __future__ import annotations

import sys
import time
from typing import Any

from relooper import (
    BrIf,
    Code,
    Exit,
    If,
    Loop,
    LoopStart,
    Node,
    instructions,
    max_nesting,
    structure,
    structure_naive,
    tree_repr,
    uses_dispatch,
)
from relooper.testing import check_depths, control_bytes, spec_to_cfg, wat_function

Spec = list[list[Any]]


def code(block: int) -> Code:
    return Code(block, f"b{block}")


def test_recursion_limit_is_the_default() -> None:
    assert sys.getrecursionlimit() <= 1000


def test_chain_of_10000_blocks_is_flat() -> None:
    size = 10_000
    spec: Spec = [["jump", b + 1] for b in range(size - 1)] + [["exit"]]
    tree = structure(spec_to_cfg(spec))
    assert tree == [code(b) for b in range(size)] + [Exit(f"x{size - 1}")]


def nested_loops(depth: int) -> Spec:
    """Headers 0..depth-1 nest; latch L(k) = 2*depth-1-k closes loop k and
    continues to the latch of the next outer loop; the last block exits."""
    spec: Spec = [["jump", k + 1] for k in range(depth)]  # header depth-1 -> L(depth-1)
    for k in range(depth - 1, -1, -1):
        spec.append(["branch", k, 2 * depth - k])
    spec.append(["exit"])
    return spec


def test_5000_nested_loops_in_10001_blocks() -> None:
    depth = 5000
    spec = nested_loops(depth)
    assert len(spec) == 2 * depth + 1
    began = time.process_time()
    tree = structure(spec_to_cfg(spec))
    elapsed = time.process_time() - began  # CPU time: immune to machine load
    # Innermost loop body: every latch, each a br_if to its own loop.
    body: list[Node] = [code(depth - 1)]
    for k in range(depth - 1, -1, -1):
        latch = 2 * depth - 1 - k
        body += [code(latch), _br_if(latch, depth - 1 - k)]
    body += [code(2 * depth), Exit(f"x{2 * depth}")]
    node: Node = Loop(tuple(body))
    for k in range(depth - 2, -1, -1):
        node = Loop((code(k), node))
    assert tree == [node]
    assert max_nesting(tree) == depth
    check_depths(tree)
    assert elapsed < 10


def _br_if(block: int, depth: int) -> Node:
    return BrIf(f"c{block}", depth)


def nested_ifs(depth: int) -> Spec:
    """Block i < depth tests c_i: true goes deeper, false to the join J(i) =
    2*depth - i; the core block depth jumps to J(depth-1); each join jumps
    to the next outer join; J(0) exits."""
    spec: Spec = [["branch", i + 1, 2 * depth - i] for i in range(depth)]
    spec.append(["jump", depth + 1])
    for join in range(depth + 1, 2 * depth):
        spec.append(["jump", join + 1])
    spec.append(["exit"])
    return spec


def test_5000_nested_ifs_in_10001_blocks() -> None:
    depth = 5000
    spec = nested_ifs(depth)
    tree = structure(spec_to_cfg(spec))
    inner: tuple[Node, ...] = (code(depth),)
    for i in range(depth - 1, -1, -1):
        inner = (code(i), If(f"c{i}", inner, ()), code(2 * depth - i))
    assert tree == [*inner, Exit(f"x{2 * depth}")]
    assert max_nesting(tree) == depth


def test_deep_trees_print_hash_and_encode_without_recursion() -> None:
    tree = structure(spec_to_cfg(nested_loops(5000)))
    text = tree_repr(tree)
    assert text.startswith("[Loop(body=(Code(block_id=0, payload='b0'), Loop(body=(")
    assert repr(tree[0]) == text[1:-1]
    assert hash(tree[0]) == hash(structure(spec_to_cfg(nested_loops(5000)))[0])
    assert control_bytes(tree) > 0
    assert wat_function(tree, "f").count("loop") == 5000


def test_deep_irreducible_graph() -> None:
    # 3000 two-entry cycles in a row: fork f enters `first` or `second`;
    # first -> second or the next fork; second -> first.  Each next fork is
    # reached from inside the previous cycle, so the loops nest.
    count = 3000
    spec: Spec = []
    for i in range(count):
        first, second, following = 3 * i + 1, 3 * i + 2, 3 * i + 3
        spec += [["branch", first, second], ["branch", second, following], ["jump", first]]
    spec.append(["exit"])
    tree = structure(spec_to_cfg(spec))
    check_depths(tree)
    loops = [i for i in instructions(tree) if isinstance(i, LoopStart)]
    assert len(loops) == count
    assert max_nesting(tree) >= count
    assert uses_dispatch(tree)


def test_naive_dispatcher_on_10000_blocks() -> None:
    size = 10_000
    spec: Spec = [["jump", b + 1] for b in range(size - 1)] + [["exit"]]
    tree = structure_naive(spec_to_cfg(spec))
    check_depths(tree)
    assert max_nesting(tree) == size + 1
