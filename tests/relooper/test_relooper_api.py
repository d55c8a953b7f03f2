"""The CFG builder's contract, the tree utilities and the naive dispatcher."""

from __future__ import annotations

from typing import Any

import pytest

from relooper import (
    CFG,
    DISPATCH,
    Block,
    BlockStart,
    Br,
    BrIf,
    BrTable,
    Code,
    Else,
    End,
    Exit,
    If,
    IfStart,
    Loop,
    LoopStart,
    SetDispatch,
    Switch,
    instructions,
    max_nesting,
    structure,
    structure_naive,
    uses_dispatch,
)
from relooper.testing import check_depths, control_bytes, is_reducible, spec_to_cfg, uleb128_size


def test_interface_contract_example() -> None:
    cfg = CFG()
    b0 = cfg.add_block("p0")
    b1 = cfg.add_block("p1")
    b2 = cfg.add_block("p2")
    b3 = cfg.add_block("p3")
    assert (b0, b1, b2, b3) == (0, 1, 2, 3)
    cfg.set_switch(b0, "idx", {b1: [0, 2], b2: [1]}, default=b3)
    cfg.set_jump(b1, b3)
    cfg.set_branch(b2, "cond", b1, b3)
    cfg.set_exit(b3, "ret")
    assert cfg.terminator(b0) == Switch("idx", (b1, b2, b1), b3)
    tree = structure(cfg)
    check_depths(tree)
    assert tree == [
        Block(
            (
                Block((Block((Code(0, "p0"), BrTable("idx", (1, 0, 1), 2))), Code(2, "p2"), If("cond", (), (Br(2),)))),
                Code(1, "p1"),
            )
        ),
        Code(3, "p3"),
        Exit("ret"),
    ]


def test_missing_terminator_is_a_value_error() -> None:
    cfg = CFG()
    cfg.add_block(None)
    cfg.add_block(None)
    cfg.set_jump(0, 1)
    with pytest.raises(ValueError, match="blocks without a terminator: 1"):
        structure(cfg)
    with pytest.raises(ValueError, match="without a terminator"):
        structure_naive(cfg)


def test_unreachable_block_without_terminator_is_still_an_error() -> None:
    cfg = CFG()
    cfg.add_block(None)
    cfg.add_block(None)
    cfg.set_exit(0, None)
    with pytest.raises(ValueError, match="terminator"):
        structure(cfg)


def test_empty_cfg_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no blocks"):
        structure(CFG())


def test_second_terminator_is_a_value_error() -> None:
    cfg = CFG()
    cfg.add_block(None)
    cfg.set_exit(0, None)
    with pytest.raises(ValueError, match="already has a terminator"):
        cfg.set_jump(0, 0)


@pytest.mark.parametrize("target", [-1, 2, True, "1"])
def test_unknown_targets_are_value_errors(target: object) -> None:
    cfg = CFG()
    cfg.add_block(None)
    cfg.add_block(None)
    with pytest.raises(ValueError, match="unknown block"):
        cfg.set_jump(0, target)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown block"):
        cfg.set_switch(0, None, {1: [0]}, default=target)  # type: ignore[arg-type]


def test_bad_case_values_are_value_errors() -> None:
    cfg = CFG()
    for _ in range(3):
        cfg.add_block(None)
    with pytest.raises(ValueError, match="not a non-negative int"):
        cfg.set_switch(0, None, {1: [-1]}, default=2)
    with pytest.raises(ValueError, match="listed for blocks 1 and 2"):
        cfg.set_switch(0, None, {1: [0, 1], 2: [1]}, default=2)
    with pytest.raises(ValueError, match="no block 7"):
        cfg.set_exit(7, None)


def test_switch_with_no_cases_is_all_default() -> None:
    cfg = CFG()
    cfg.add_block("a")
    cfg.add_block("b")
    cfg.set_switch(0, "i", {}, default=1)
    cfg.set_exit(1, "r")
    assert structure(cfg) == [Block((Code(0, "a"), BrTable("i", (), 0))), Code(1, "b"), Exit("r")]


def test_instructions_stream_and_depth() -> None:
    tree = [Loop((Code(0, "a"), If("c", (Br(1),), (Code(1, "b"),)), Block((BrIf("d", 0),))))]
    assert list(instructions(tree)) == [
        LoopStart(),
        Code(0, "a"),
        IfStart("c"),
        Br(1),
        Else(),
        Code(1, "b"),
        End(),
        BlockStart(),
        BrIf("d", 0),
        End(),
        End(),
    ]
    assert max_nesting(tree) == 2
    assert list(instructions([If("c", (Br(0),), ())])) == [IfStart("c"), Br(0), End()]


def test_tree_equality_hash_and_repr() -> None:
    a = If("c", (Code(1, "x"),), ())
    b = If("c", (Code(1, "x"),), ())
    assert a == b and hash(a) == hash(b)
    assert a != If("c", (), (Code(1, "x"),))
    assert Block(()) != Loop(())
    assert repr(a) == "If(cond='c', then=(Code(block_id=1, payload='x'),), else_=())"
    assert repr(Loop((Br(0), Br(1)))) == "Loop(body=(Br(depth=0), Br(depth=1)))"
    assert repr(If("c", (), (Br(0),))) == "If(cond='c', then=(), else_=(Br(depth=0),))"
    assert repr(DISPATCH) == "DISPATCH"


def test_uses_dispatch() -> None:
    assert not uses_dispatch([Code(0, None), Exit(None)])
    assert uses_dispatch([Loop((SetDispatch(1),))])
    assert uses_dispatch([BrTable(DISPATCH, (), 0)])
    assert not uses_dispatch([Block((BrTable("i", (), 0),))])


def test_control_bytes_counts_leb128_immediates() -> None:
    assert uleb128_size(127) == 1 and uleb128_size(128) == 2
    # block(2) br 0 (2) end(1); payload size 0
    assert control_bytes([Block((Br(0),))], payload_size=0) == 5
    # i32.const 200 (1+2) local.set (2)
    assert control_bytes([SetDispatch(200)], payload_size=0) == 5


def test_t1_t2_reducibility() -> None:
    assert is_reducible([["jump", 1], ["branch", 1, 2], ["exit"]])
    assert not is_reducible([["branch", 1, 2], ["branch", 2, 3], ["jump", 1], ["exit"]])
    # unreachable edges do not count
    assert is_reducible([["jump", 1], ["branch", 2, 4], ["jump", 1], ["jump", 2], ["exit"]])


def test_naive_dispatcher_shape() -> None:
    spec: list[Any] = [["branch", 1, 2], ["jump", 3], ["switch", [[3, [1]]], 1, 2], ["exit"]]
    tree = structure_naive(spec_to_cfg(spec))
    check_depths(tree)
    assert tree == [
        SetDispatch(0),
        Loop(
            (
                Block(
                    (
                        Block(
                            (
                                Block(
                                    (
                                        Block((BrTable(DISPATCH, (0, 1, 2), 3),)),
                                        Code(0, "b0"),
                                        If("c0", (SetDispatch(1),), (SetDispatch(2),)),
                                        Br(3),
                                    )
                                ),
                                Code(1, "b1"),
                                SetDispatch(3),
                                Br(2),
                            )
                        ),
                        Code(2, "b2"),
                        Block((Block((BrTable(("i2", 2), (0, 1), 0),)), SetDispatch(1), Br(2))),
                        SetDispatch(3),
                        Br(1),
                    )
                ),
                Code(3, "b3"),
                Exit("x3"),
            )
        ),
    ]
