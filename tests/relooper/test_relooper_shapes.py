"""Named CFG shapes and their exact structured output.

Graphs are written as ``relooper.testing`` specs; payloads name their block
(``"b3"`` statements, ``"c3"`` condition, ``"x3"`` exit, ``("i3", m)``
switch index), so the expected trees read like the graph.
"""

from __future__ import annotations

from typing import Any

from relooper import (
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
    structure,
    uses_dispatch,
)
from relooper.testing import check_depths, spec_to_cfg


def run(spec: list[Any]) -> list[Node]:
    tree = structure(spec_to_cfg(spec))
    check_depths(tree)
    return tree


def code(block: int) -> Code:
    return Code(block, f"b{block}")


def test_single_block() -> None:
    assert run([["exit"]]) == [code(0), Exit("x0")]


def test_straight_line() -> None:
    spec = [["jump", 1], ["jump", 2], ["exit"]]
    assert run(spec) == [code(0), code(1), code(2), Exit("x2")]


def test_diamond_nests_arms_and_falls_into_the_merge() -> None:
    spec = [["branch", 1, 2], ["jump", 3], ["jump", 3], ["exit"]]
    assert run(spec) == [
        code(0),
        If("c0", (code(1),), (code(2),)),
        code(3),
        Exit("x3"),
    ]


def test_if_without_else() -> None:
    spec = [["branch", 1, 2], ["jump", 2], ["exit"]]
    assert run(spec) == [code(0), If("c0", (code(1),), ()), code(2), Exit("x2")]


def test_early_exit_arm_stays_in_place() -> None:
    spec = [["branch", 1, 2], ["exit"], ["exit"]]
    assert run(spec) == [code(0), If("c0", (code(1), Exit("x1")), (code(2), Exit("x2")))]


def test_break_out_of_nested_ifs_falls_through() -> None:
    # 1 skips ahead to the merge 3 past 2: falling out of both ifs gets there.
    spec = [["branch", 1, 3], ["branch", 3, 2], ["jump", 3], ["exit"]]
    assert run(spec) == [
        code(0),
        If("c0", (code(1), If("c1", (), (code(2),))), ()),
        code(3),
        Exit("x3"),
    ]


def test_merge_reached_by_br_gets_a_block() -> None:
    # 0 -> {1, 4}; 1 -> {2, 3}; 2 -> {3, 4}; 3 -> 4.  3 and 4 are merges;
    # only 4 is reached by a branch that cannot fall through (from 2).
    spec = [["branch", 1, 4], ["branch", 2, 3], ["branch", 3, 4], ["jump", 4], ["exit"]]
    assert run(spec) == [
        Block(
            (
                code(0),
                If(
                    "c0",
                    (code(1), If("c1", (code(2), If("c2", (), (Br(3),))), ()), code(3)),
                    (),
                ),
            )
        ),
        code(4),
        Exit("x4"),
    ]


def test_self_loop() -> None:
    spec = [["jump", 1], ["branch", 1, 2], ["exit"]]
    assert run(spec) == [code(0), Loop((code(1), BrIf("c1", 0), code(2), Exit("x2")))]


def test_entry_is_a_loop_header() -> None:
    spec = [["branch", 0, 1], ["exit"]]
    assert run(spec) == [Loop((code(0), BrIf("c0", 0), code(1), Exit("x1")))]


def test_nested_loops() -> None:
    spec = [
        ["jump", 1],
        ["jump", 2],  # outer header
        ["jump", 3],  # inner header
        ["branch", 2, 4],  # inner latch
        ["branch", 1, 5],  # outer latch
        ["exit"],
    ]
    assert run(spec) == [
        code(0),
        Loop((code(1), Loop((code(2), code(3), BrIf("c3", 0), code(4), BrIf("c4", 1), code(5), Exit("x5"))))),
    ]


def test_loop_with_several_exits() -> None:
    spec = [
        ["jump", 1],
        ["branch", 2, 4],  # header; exit to 4
        ["branch", 3, 5],  # exit to 5
        ["jump", 1],  # latch
        ["jump", 6],
        ["jump", 6],
        ["exit"],
    ]
    assert run(spec) == [
        code(0),
        Loop(
            (
                code(1),
                If("c1", (code(2), If("c2", (code(3), Br(2)), (code(5),))), (code(4),)),
                code(6),
                Exit("x6"),
            )
        ),
    ]


def test_while_with_break_and_continue() -> None:
    # while (c1) { b2; if (c2) break; b3; if (c3) continue; b4 }  b5
    spec = [
        ["jump", 1],
        ["branch", 2, 5],
        ["branch", 5, 3],
        ["branch", 1, 4],
        ["jump", 1],
        ["exit"],
    ]
    assert run(spec) == [
        code(0),
        Loop(
            (
                code(1),
                If(
                    "c1",
                    (code(2), If("c2", (), (code(3), BrIf("c3", 2), code(4), Br(2)))),
                    (),
                ),
                code(5),
                Exit("x5"),
            )
        ),
    ]


def test_loop_exit_skipping_code_after_the_loop() -> None:
    # do { b1; if (c1) goto out; b2 } while (c2); b3; out: b4
    spec = [["jump", 1], ["branch", 4, 2], ["branch", 1, 3], ["jump", 4], ["exit"]]
    assert run(spec) == [
        code(0),
        Loop((code(1), If("c1", (), (code(2), BrIf("c2", 1), code(3))), code(4), Exit("x4"))),
    ]


def test_switch_with_shared_targets_and_fallthrough() -> None:
    # switch (i0 % 4) { case 0, 2: b1 (falls into b2); case 1: b2; default: b3 }
    spec = [
        ["switch", [[1, [0, 2]], [2, [1]]], 3, 4],
        ["jump", 2],
        ["jump", 4],
        ["jump", 4],
        ["exit"],
    ]
    assert run(spec) == [
        Block(
            (
                Block(
                    (
                        Block((Block((code(0), BrTable(("i0", 4), (0, 1, 0), 2))), code(1))),
                        code(2),
                        Br(1),
                    )
                ),
                code(3),
            )
        ),
        code(4),
        Exit("x4"),
    ]


def test_switch_in_a_loop_gaps_take_the_default() -> None:
    # loop { switch (i1 % 5) { case 1: b2 (falls into b3); case 3: continue;
    #        default: b3 } }  ... b3 exits
    spec = [["jump", 1], ["switch", [[1, [3]], [2, [1]]], 3, 5], ["jump", 3], ["exit"]]
    assert run(spec) == [
        code(0),
        Loop(
            (
                Block((Block((code(1), BrTable(("i1", 5), (1, 0, 1, 2), 1))), code(2))),
                code(3),
                Exit("x3"),
            )
        ),
    ]


def test_branch_with_equal_arms_still_evaluates_the_condition() -> None:
    spec = [["branch", 1, 1], ["exit"]]
    assert run(spec) == [code(0), If("c0", (), ()), code(1), Exit("x1")]


def test_unreachable_blocks_are_dropped() -> None:
    spec = [["jump", 2], ["jump", 2], ["exit"], ["branch", 0, 1]]
    assert run(spec) == [code(0), code(2), Exit("x2")]


def test_unreachable_blocks_do_not_make_a_loop_irreducible() -> None:
    # Block 3 is unreachable; its edge into the loop body must not count as
    # a second entry.
    spec = [["jump", 1], ["branch", 2, 4], ["jump", 1], ["jump", 2], ["exit"]]
    tree = run(spec)
    assert not uses_dispatch(tree)
    assert tree == [code(0), Loop((code(1), If("c1", (code(2), Br(1)), (code(4), Exit("x4")))))]

def test_two_entry_irreducible_loop() -> None:
    # 0 enters the cycle 1 <-> 2 at either node.
    spec = [["branch", 1, 2], ["branch", 2, 3], ["jump", 1], ["exit"]]
    tree = run(spec)
    assert uses_dispatch(tree)
    assert tree == [
        code(0),
        If("c0", (SetDispatch(0),), (SetDispatch(1),)),
        Loop(
            (
                Block(
                    (
                        Block((BrTable(DISPATCH, (0,), 1),)),
                        code(1),
                        # 1 -> 2 goes straight to 2, which follows this block.
                        If("c1", (), (code(3), Exit("x3"))),
                    )
                ),
                code(2),
                SetDispatch(0),
                Br(0),
            )
        ),
    ]


def test_back_edges_to_the_entry_are_reducible() -> None:
    spec = [["branch", 1, 2], ["jump", 0], ["branch", 0, 3], ["exit"]]
    assert run(spec) == [
        Loop(
            (
                code(0),
                If("c0", (code(1), Br(1)), (code(2), BrIf("c2", 1), code(3), Exit("x3"))),
            )
        )
    ]


def test_irreducible_loop_inside_a_reducible_loop() -> None:
    # Outer loop headed by 1; inside it 2 and 3 form a cycle entered at both.
    spec = [
        ["jump", 1],
        ["branch", 2, 3],
        ["branch", 3, 4],
        ["branch", 2, 4],
        ["branch", 1, 5],
        ["exit"],
    ]
    tree = run(spec)
    assert uses_dispatch(tree)
    assert tree == [
        code(0),
        Loop(
            (
                code(1),
                If("c1", (SetDispatch(0),), (SetDispatch(1),)),
                Loop(
                    (
                        Block(
                            (
                                Block(
                                    (
                                        Block((BrTable(DISPATCH, (0,), 1),)),
                                        code(2),
                                        # 2 -> 3 falls into 3, which follows.
                                        If("c2", (), (Br(2),)),
                                    )
                                ),
                                code(3),
                                # 3 -> 2 goes round through the dispatch.
                                If("c3", (SetDispatch(0), Br(2)), ()),
                            )
                        ),
                        code(4),
                        BrIf("c4", 1),
                        code(5),
                        Exit("x5"),
                    )
                ),
            )
        ),
    ]

def test_reducible_graphs_need_no_dispatch() -> None:
    spec = [["jump", 1], ["branch", 2, 3], ["jump", 1], ["branch", 1, 4], ["exit"]]
    assert not uses_dispatch(run(spec))
