"""Verifier rules, one test (or a few) per rule, on modules built with the Python API;
and the verifier on parsed modules, whose bodies the parser already typed."""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import pytest

from linker.diagnostics import Diagnostic, DiagnosticError, Severity, Span
from linker.ir import model as ir
from linker.ir.ctypes import CKind, CScalar, CSig
from linker.ir.parser import parse_module_checked
from linker.ir.types import FuncType, ValType
from linker.ir.verify import verify_module

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64


def c32(v: int) -> ir.Const:
    return ir.Const(I32, v)


def fn(name: str = "f", blocks: tuple[ir.BasicBlock, ...] | None = None, *,
       params: tuple[ir.Param, ...] = (), result: ValType | None = None,
       locals_: tuple[ir.Param, ...] = (), stmts: tuple[ir.Stmt, ...] = (),
       term: ir.Terminator | None = None, **kw: object) -> ir.Func:
    if blocks is None:
        if term is None:
            term = ir.Return(None if result is None else ir.Const(result, 0))
        blocks = (ir.BasicBlock("entry", stmts, term),)
    return ir.Func(name, params, result, locals_, blocks, **kw)  # type: ignore[arg-type]


def mod(*items: ir.Item) -> ir.Module:
    return ir.Module("t.mod", items)


def messages(m: ir.Module) -> list[str]:
    diags = verify_module(m)
    assert all(d.severity is Severity.ERROR for d in diags)
    return [d.message for d in diags]


def one(m: ir.Module) -> str:
    msgs = messages(m)
    assert len(msgs) == 1, msgs
    return msgs[0]


L = (ir.Param("x", I32), ir.Param("y", I64), ir.Param("z", F64))


# ---------------------------------------------------------------- valid modules


def test_valid_module_has_no_errors() -> None:
    sig = CSig(CScalar(CKind.SINT32), (CScalar(CKind.POINTER),))
    m = mod(
        ir.ImportFunc("fd_write", "wasi", "fd_write", FuncType((I32, I32, I32, I32), I32)),
        ir.ExternFunc("ext", FuncType((I64,), I64)),
        ir.ExternGlobal("eg", F64),
        ir.ForeignImport("puts", "env", "puts", sig),
        ir.CSigDecl("s1", sig),
        ir.Global("g", I32, -5),
        ir.Data("msg", (ir.BytesItem(b"hi"), ir.IntItem(8, 255), ir.IntItem(8, -128),
                        ir.IntItem(64, (1 << 64) - 1), ir.FloatItem(32, 1.5), ir.ZeroItem(0),
                        ir.AddrItem("msg", 4), ir.AddrItem("main"), ir.AddrItem("elsewhere", 8)),
                align=8),
        fn("main", result=I32, locals_=L, stmts=(
            ir.Assign("x", ir.OpExpr("i32.add", (ir.LocalGet("x"), c32(0xFFFFFFFF)))),
            ir.Assign("y", ir.Const(I64, -(1 << 63))),
            ir.Assign("z", ir.Const(F64, 2)),
            ir.Store("i64.store32", ir.SymRef("msg", 2), ir.LocalGet("y"), 4),
            ir.Call("x", "fd_write", (c32(1), ir.SymRef("msg"), c32(1), c32(0))),
            ir.Call(None, "fd_write", (c32(1), c32(2), c32(3), c32(4))),
            ir.Call("y", "ext", (ir.Load("i64.load8_s", ir.GlobalGet("g"), 0xFFFFFFFF),)),
            ir.Call("x", "puts", (ir.SigRef("s1"),)),
            ir.CallIndirect("z", FuncType((F64,), F64), ir.SymRef("main"), (ir.GlobalGet("eg"),)),
            ir.GlobalSet("g", ir.OpExpr("i32.select", (c32(1), c32(2), c32(0)))),
            ir.GlobalSet("eg", ir.OpExpr("f64.convert_i64_s", (ir.LocalGet("y"),))),
            ir.Assign("x", ir.OpExpr("memory.grow", (ir.OpExpr("memory.size", ()),))),
        ), term=ir.Return(ir.LocalGet("x"))),
        fn("ctor_fn"),
        ir.Ctor("ctor_fn"),
        ir.Export("main", "main"),
        ir.Export("ext_export", "ext"),
        fn("deferred", result=I32, blocks=(), deferred_error="cannot compile"),
    )
    assert messages(m) == []


def test_cfg_with_loops_switch_and_tail_calls_is_valid() -> None:
    blocks = (
        ir.BasicBlock("entry", (), ir.Jump("loop")),
        ir.BasicBlock("loop", (ir.Assign("n", ir.OpExpr("i32.sub", (ir.LocalGet("n"), c32(1)))),),
                      ir.Branch(ir.LocalGet("n"), "loop", "sw")),
        ir.BasicBlock("sw", (), ir.Switch(ir.LocalGet("n"), ("a", "b", "a"), "dead")),
        ir.BasicBlock("a", (), ir.TailCall("f", (ir.LocalGet("n"),))),
        ir.BasicBlock("b", (), ir.TailCallIndirect(FuncType((I32,), I32), c32(1), (c32(2),))),
        ir.BasicBlock("dead", (), ir.Unreachable()),
        ir.BasicBlock("unreached", (), ir.Panic("never")),
    )
    m = mod(fn("f", blocks, params=(ir.Param("n", I32),), result=I32))
    assert messages(m) == []


# ---------------------------------------------------------------- ops and types


def test_op_operand_type_mismatch() -> None:
    m = mod(fn(locals_=L, stmts=(ir.Assign("x", ir.OpExpr("i32.add", (c32(1), ir.LocalGet("y")))),)))
    assert one(m) == "in function 'f', block 'entry': operand 2 of i32.add has type i64, expected i32"


def test_op_arity_and_unknown_op() -> None:
    m = mod(fn(locals_=L, stmts=(
        ir.Assign("x", ir.OpExpr("i32.add", (c32(1),))),
        ir.Assign("x", ir.OpExpr("i32.addd", (c32(1), c32(2)))),
        ir.Assign("x", ir.OpExpr("i32.load", (c32(1),))),
    )))
    msgs = messages(m)
    assert len(msgs) == 3
    assert "i32.add takes 2 operands, got 1" in msgs[0]
    assert "unknown op 'i32.addd'" in msgs[1]
    assert "'i32.load' is a load op" in msgs[2]


def test_assign_type_must_match_local() -> None:
    m = mod(fn(locals_=L, stmts=(ir.Assign("x", ir.OpExpr("i64.eqz", (ir.LocalGet("y"),))),
                                 ir.Assign("y", ir.OpExpr("i32.eqz", (ir.LocalGet("x"),))))))
    assert one(m).endswith("value assigned to 'y' has type i32, expected i64")


def test_unknown_local_read_and_write() -> None:
    m = mod(fn(locals_=L, stmts=(ir.Assign("nope", c32(1)), ir.Assign("x", ir.LocalGet("ghost")))))
    msgs = messages(m)
    assert len(msgs) == 2
    assert "assignment to undefined local 'nope'" in msgs[0]
    assert "undefined local 'ghost'" in msgs[1]


def test_duplicate_params_and_locals() -> None:
    m = mod(fn(params=(ir.Param("a", I32), ir.Param("a", I64)), locals_=(ir.Param("x", I32),
                                                                         ir.Param("x", I32))))
    msgs = messages(m)
    assert len(msgs) == 2
    assert all("duplicate local or parameter" in s for s in msgs)


def test_loads_and_stores() -> None:
    m = mod(fn(locals_=L, stmts=(
        ir.Assign("x", ir.Load("i32.load", ir.LocalGet("y"))),           # i64 address
        ir.Assign("x", ir.Load("i32.load", c32(0), 1 << 32)),            # offset too big
        ir.Assign("x", ir.Load("i32.load", c32(0), -1)),                 # negative offset
        ir.Assign("x", ir.Load("i32.add", c32(0))),                      # not a load
        ir.Store("i32.store", c32(0), ir.LocalGet("y")),                 # value i64
        ir.Store("f64.store", ir.LocalGet("z"), ir.LocalGet("z")),       # f64 address
        ir.Store("i32.load", c32(0), c32(0)),                            # not a store
        ir.Store("i32.store8", c32(0), c32(0), 1 << 32),                 # offset too big
        ir.Assign("y", ir.Load("i64.load32_u", c32(0), (1 << 32) - 1)),  # fine
    )))
    msgs = messages(m)
    assert len(msgs) == 8, msgs
    assert "address of i32.load has type i64, expected i32" in msgs[0]
    assert "offset 4294967296 of i32.load is not in 0..4294967295" in msgs[1]
    assert "offset -1 of i32.load" in msgs[2]
    assert "'i32.add' is not a load op" in msgs[3]
    assert "value of i32.store has type i64, expected i32" in msgs[4]
    assert "address of f64.store has type f64, expected i32" in msgs[5]
    assert "'i32.load' is not a store op" in msgs[6]
    assert "offset 4294967296 of i32.store8" in msgs[7]


@pytest.mark.parametrize("t, value, ok", [
    (I32, -(1 << 31), True), (I32, (1 << 32) - 1, True), (I32, 1 << 32, False),
    (I32, -(1 << 31) - 1, False), (I64, -(1 << 63), True), (I64, (1 << 64) - 1, True),
    (I64, 1 << 64, False), (I64, -(1 << 63) - 1, False), (I32, 1.5, False),
    (F32, 1e30, True), (F64, float("nan"), True), (F64, 3, True), (F32, float("-inf"), True),
])
def test_constant_ranges(t: ValType, value: int | float, ok: bool) -> None:
    local = ir.Param("v", t)
    m = mod(fn(locals_=(local,), stmts=(ir.Assign("v", ir.Const(t, value)),)))
    msgs = messages(m)
    if ok:
        assert msgs == []
    else:
        assert len(msgs) == 1 and f"is not a valid {t}" in msgs[0]


def test_global_init_range() -> None:
    m = mod(ir.Global("a", I32, 1 << 32), ir.Global("b", I64, (1 << 64) - 1), ir.Global("c", I32, 1.0))
    msgs = messages(m)
    assert len(msgs) == 2
    assert "initial value 4294967296 of global 'a'" in msgs[0]
    assert "initial value 1.0 of global 'c'" in msgs[1]


# ---------------------------------------------------------------- labels and control flow


def test_labels_defined_once_and_targets_defined() -> None:
    blocks = (
        ir.BasicBlock("entry", (), ir.Branch(c32(1), "a", "missing1")),
        ir.BasicBlock("a", (), ir.Switch(c32(0), ("a", "missing2"), "missing3")),
        ir.BasicBlock("a", (), ir.Jump("missing4")),
    )
    msgs = messages(mod(fn("f", blocks)))
    assert len(msgs) == 5
    assert "duplicate label 'a' in function 'f'" in msgs[0]
    for i, name in enumerate(["missing1", "missing2", "missing3", "missing4"]):
        assert f"jump to undefined label '{name}'" in msgs[i + 1]


def test_branch_condition_and_switch_index_are_i32() -> None:
    blocks = (ir.BasicBlock("entry", (), ir.Branch(ir.Const(I64, 1), "b", "b")),
              ir.BasicBlock("b", (), ir.Switch(ir.Const(F32, 1.0), ("b",), "b")))
    msgs = messages(mod(fn("f", blocks)))
    assert len(msgs) == 2
    assert "branch condition has type i64, expected i32" in msgs[0]
    assert "switch index has type f32, expected i32" in msgs[1]


def test_switch_table_non_empty() -> None:
    m = mod(fn(term=ir.Switch(c32(0), (), "entry")))
    assert "switch has an empty jump table" in one(m)


def test_returns() -> None:
    m = mod(fn("a", result=I32, term=ir.Return()),
            fn("b", term=ir.Return(c32(1))),
            fn("c", result=I64, term=ir.Return(c32(1))))
    msgs = messages(m)
    assert len(msgs) == 3
    assert "return without a value in a function returning i32" in msgs[0]
    assert "return with a value in a function that returns nothing" in msgs[1]
    assert "returned value has type i32, expected i64" in msgs[2]


def test_deferred_error_and_blocks_exclude_each_other() -> None:
    m = mod(fn("a", deferred_error="reason"), fn("b", blocks=()))
    msgs = messages(m)
    assert len(msgs) == 2
    assert "function 'a' has a deferred error, so it must have no blocks" in msgs[0]
    assert "function 'b' has no blocks" in msgs[1]


# ---------------------------------------------------------------- calls


def _callees() -> tuple[ir.Item, ...]:
    return (fn("g", params=(ir.Param("a", I32), ir.Param("b", I64)), result=I64),
            fn("v", params=()),
            ir.ImportFunc("imp", "env", "imp", FuncType((F32,), None)),
            ir.ExternFunc("ext", FuncType((), F64)),
            ir.ForeignImport("cf", "env", "cf", CSig(CScalar(CKind.UINT8),
                                                      (CScalar(CKind.DOUBLE),))),
            ir.Data("d", ()), ir.Global("gl", I32))


def test_call_arity_argument_types_and_dest() -> None:
    m = mod(*_callees(), fn("f", locals_=L, stmts=(
        ir.Call("y", "g", (c32(1),)),                                   # arity
        ir.Call("y", "g", (c32(1), c32(2))),                            # arg 2 type
        ir.Call("x", "g", (c32(1), ir.Const(I64, 2))),                  # dest type
        ir.Call("x", "v", ()),                                          # dest of void callee
        ir.Call(None, "imp", (ir.Const(F64, 1.0),)),                    # import arg type
        ir.Call("x", "ext", ()),                                        # extern result type
        ir.Call("x", "cf", (ir.Const(F64, 1.0),)),                      # foreign import: ok
        ir.Call("x", "cf", (c32(1),)),                                  # lowered param f64
        ir.Call("ghost", "v", ()),                                      # unknown dest local
    )))
    msgs = messages(m)
    assert len(msgs) == 8, msgs
    assert "call to 'g' with 1 argument, expected 2" in msgs[0]
    assert "argument 2 of call to 'g' has type i32, expected i64" in msgs[1]
    assert "'g' returns i64, but local 'x' has type i32" in msgs[2]
    assert "'v' returns nothing, but its result is assigned to 'x'" in msgs[3]
    assert "argument 1 of call to 'imp' has type f64, expected f32" in msgs[4]
    assert "'ext' returns f64, but local 'x' has type i32" in msgs[5]
    assert "argument 1 of call to 'cf' has type i32, expected f64" in msgs[6]
    assert "result of 'v' assigned to undefined local 'ghost'" in msgs[7]


def test_call_to_unknown_or_non_function() -> None:
    m = mod(*_callees(), fn("f", stmts=(ir.Call(None, "nowhere", (c32(1),)),
                                        ir.Call(None, "d", ()), ir.Call(None, "gl", ()))))
    msgs = messages(m)
    assert len(msgs) == 3
    assert "call to undeclared function 'nowhere'" in msgs[0]
    assert "call to 'd', which is data, not a function" in msgs[1]
    assert "call to 'gl', which is global, not a function" in msgs[2]


def test_tail_call_result_must_equal_callers() -> None:
    m = mod(*_callees(),
            fn("ok", result=I64, term=ir.TailCall("g", (c32(1), ir.Const(I64, 2)))),
            fn("bad", result=I32, term=ir.TailCall("g", (c32(1), ir.Const(I64, 2)))),
            fn("bad2", term=ir.TailCall("ext", ())),
            fn("bad3", result=I32, term=ir.TailCall("v", ())),
            fn("bad4", term=ir.TailCall("missing", ())))
    msgs = messages(m)
    assert len(msgs) == 4
    assert "tail call to 'g' returns i64, but the caller returns i32" in msgs[0]
    assert "tail call to 'ext' returns f64, but the caller returns nothing" in msgs[1]
    assert "tail call to 'v' returns nothing, but the caller returns i32" in msgs[2]
    assert "tail call to undeclared function 'missing'" in msgs[3]


def test_indirect_calls() -> None:
    ft = FuncType((I32,), I64)
    m = mod(fn("f", result=I32, locals_=L, stmts=(
        ir.CallIndirect("y", ft, ir.Const(I64, 0), (c32(1),)),          # target i64
        ir.CallIndirect("x", ft, c32(0), (c32(1),)),                    # dest type
        ir.CallIndirect("x", FuncType(), c32(0), ()),                   # void result
        ir.CallIndirect(None, ft, c32(0), (ir.Const(F32, 0.0),)),       # arg type
    ), term=ir.TailCallIndirect(ft, ir.LocalGet("z"), (c32(0), c32(1)))))
    msgs = messages(m)
    assert len(msgs) == 7, msgs
    assert "indirect call target has type i64, expected i32" in msgs[0]
    assert "indirect call returns i64, but local 'x' has type i32" in msgs[1]
    assert "indirect call returns nothing, but its result is assigned to 'x'" in msgs[2]
    assert "argument 1 of call to indirect call has type f32, expected i32" in msgs[3]
    assert "indirect tail call target has type f64, expected i32" in msgs[4]
    assert "call to indirect tail call with 2 arguments, expected 1" in msgs[5]
    assert "indirect tail call returns i64, but the caller returns i32" in msgs[6]


# ---------------------------------------------------------------- globals, symbols, FFI


def test_globals_must_be_defined_or_extern_and_typed() -> None:
    m = mod(ir.Global("g", I32), ir.ExternGlobal("e", I64), ir.Data("d", ()),
            fn(locals_=L, stmts=(
                ir.GlobalSet("g", ir.LocalGet("y")),
                ir.Assign("x", ir.GlobalGet("e")),
                ir.Assign("x", ir.GlobalGet("nope")),
                ir.GlobalSet("nope2", c32(0)),
                ir.Assign("x", ir.GlobalGet("d")),
                ir.GlobalSet("e", ir.LocalGet("y")),
            )))
    msgs = messages(m)
    assert len(msgs) == 5, msgs
    assert "value stored to global 'g' has type i64, expected i32" in msgs[0]
    assert "value assigned to 'x' has type i64, expected i32" in msgs[1]
    assert "undefined global 'nope'" in msgs[2]
    assert "undefined global 'nope2'" in msgs[3]
    assert "'d' is data, not a global" in msgs[4]


def test_symbol_references() -> None:
    m = mod(ir.Global("g", I32), fn("h"),
            ir.Data("d", (ir.AddrItem("h", 4), ir.AddrItem("g"), ir.AddrItem("x", 1 << 32))),
            fn(locals_=L, stmts=(ir.Assign("x", ir.SymRef("h", 8)),
                                 ir.Assign("y", ir.SymRef("d")))))
    msgs = messages(m)
    assert len(msgs) == 5, msgs
    assert "'@h' is a function's table index and takes no offset (got 4)" in msgs[0]
    assert "'@g': global 'g' has no address" in msgs[1]
    assert "offset 4294967296 of '@x' is out of the i32 range" in msgs[2]
    assert "'@h' is a function's table index and takes no offset (got 8)" in msgs[3]
    assert "value assigned to 'y' has type i32, expected i64" in msgs[4]


def test_sigref_must_name_declared_csig() -> None:
    sig = CSig(CScalar(CKind.VOID))
    m = mod(ir.CSigDecl("s", sig), ir.CSigDecl("s", sig),
            fn(locals_=L, stmts=(ir.Assign("x", ir.SigRef("s")), ir.Assign("x", ir.SigRef("t")))))
    msgs = messages(m)
    assert len(msgs) == 2
    assert "duplicate C signature 's'" in msgs[0]
    assert "undeclared C signature 't'" in msgs[1]


# ---------------------------------------------------------------- module items


def test_duplicate_item_names_share_one_namespace() -> None:
    m = mod(fn("a"), ir.Data("a", ()), ir.Global("b", I32), ir.ImportFunc("b", "m", "f", FuncType()),
            ir.ForeignImport("a", "m", "f", CSig(CScalar(CKind.VOID))), fn("c"), fn("c"))
    msgs = messages(m)
    assert len(msgs) == 4
    assert "duplicate definition of 'a' (first defined as function)" in msgs[0]
    assert "duplicate definition of 'b' (first defined as global)" in msgs[1]
    assert "duplicate definition of 'a'" in msgs[2]
    assert "duplicate definition of 'c'" in msgs[3]


def test_extern_may_repeat_a_definition_with_the_same_type() -> None:
    m = mod(ir.ExternFunc("f", FuncType((I32,), None)), fn("f", params=(ir.Param("p", I32),)),
            ir.ExternGlobal("g", I64), ir.Global("g", I64),
            ir.ExternFunc("h", FuncType((I32,), None)), ir.ExternFunc("h", FuncType((I32,), None)))
    assert messages(m) == []
    bad = mod(fn("f", params=(ir.Param("p", I32),)), ir.ExternFunc("f", FuncType((I64,), None)),
              ir.Global("g", I64), ir.ExternGlobal("g", I32), ir.Data("d", ()),
              ir.ExternFunc("d", FuncType()))
    msgs = messages(bad)
    assert len(msgs) == 3
    assert "'f' declared with type (i64), but it is function (i32)" in msgs[0]
    assert "'g' declared with type i32, but it is global i64" in msgs[1]
    assert "'d' declared with type ()" in msgs[2]


def test_exports_and_ctors() -> None:
    m = mod(fn("f", params=(ir.Param("p", I32),)), fn("g"), ir.ExternFunc("e", FuncType((), I32)),
            ir.Data("d", ()),
            ir.Export("x", "g"), ir.Export("x", "f"), ir.Export("y", "missing"), ir.Export("z", "d"),
            ir.Ctor("g"), ir.Ctor("f"), ir.Ctor("e"), ir.Ctor("nope"))
    msgs = messages(m)
    assert len(msgs) == 6, msgs
    assert "duplicate export name 'x'" in msgs[0]
    assert "export of undefined function 'missing'" in msgs[1]
    assert "export of 'd', which is data, not a function" in msgs[2]
    assert "ctor 'f' must take no parameters and return nothing, but has type (i32)" in msgs[3]
    assert "ctor 'e' must take no parameters and return nothing, but has type () -> i32" in msgs[4]
    assert "ctor of undefined function 'nope'" in msgs[5]


def test_foreign_export_type_matches_lowered_signature() -> None:
    sig = CSig(CScalar(CKind.SINT16), (CScalar(CKind.DOUBLE),))
    m = mod(fn("ok", params=(ir.Param("a", F64),), result=I32),
            fn("bad", params=(ir.Param("a", F32),), result=I32),
            ir.ForeignExport("e1", "ok", sig), ir.ForeignExport("e2", "bad", sig))
    assert "foreign export 'e2': function 'bad' has type (f32) -> i32, but C signature " \
           "sint16(double) lowers to (f64) -> i32" in one(m)


def test_data_items() -> None:
    m = mod(ir.Data("d", (ir.IntItem(7, 0), ir.IntItem(8, 256), ir.IntItem(8, -129),
                          ir.IntItem(16, 65535), ir.FloatItem(16, 0.0), ir.ZeroItem(-1)), align=3),
            ir.Data("e", (), align=0))
    msgs = messages(m)
    assert msgs == [
        "alignment 3 of data 'd' is not a power of two",
        "integer width 7 in data 'd' is not 8, 16, 32 or 64",
        "value 256 does not fit in 8 bits (data 'd')",
        "value -129 does not fit in 8 bits (data 'd')",
        "float width 16 in data 'd' is not 32 or 64",
        "zero fill size -1 in data 'd' is negative",
        "alignment 0 of data 'e' is not a power of two",
    ]


# ---------------------------------------------------------------- locations, all errors, depth


def test_errors_carry_the_nodes_span() -> None:
    sp = Span("a.ir", 4, 12, 4, 16)
    stmt_span = Span("a.ir", 4, 3, 4, 30)
    m = mod(fn(locals_=L, stmts=(
        ir.Assign("x", ir.OpExpr("i32.add", (c32(1), ir.LocalGet("y", span=sp))), span=stmt_span),
        ir.Assign("x", ir.LocalGet("nope"), span=stmt_span),  # no span on the node: the statement's
    )))
    diags = verify_module(m)
    assert [d.span for d in diags] == [sp, stmt_span]
    assert diags[0].render() == "a.ir:4:12: error: operand 2 of i32.add has type i64, expected i32"


def test_without_spans_the_module_is_named() -> None:
    m = mod(fn("f", locals_=L, stmts=(ir.Assign("x", ir.LocalGet("nope")),)))
    (d,) = verify_module(m)
    assert d.span is None and d.file == "t.mod"
    assert d.render() == "t.mod: error: in function 'f', block 'entry': undefined local 'nope'"


def test_item_errors_use_the_items_span() -> None:
    sp = Span("a.ir", 2, 1, 2, 20)
    (d,) = verify_module(mod(ir.Data("d", (), align=3, span=sp)))
    assert d.span == sp


def test_all_errors_are_reported() -> None:
    m = mod(fn("a", locals_=L, stmts=(ir.Assign("x", ir.LocalGet("y")),),
               term=ir.Jump("nowhere")),
            fn("a"),
            ir.Data("d", (ir.IntItem(8, 1000),)),
            fn("b", result=I32, term=ir.Return()),
            ir.Export("e", "ghost"))
    msgs = messages(m)
    assert len(msgs) == 6, msgs
    joined = "\n".join(msgs)
    for part in ["duplicate definition of 'a'", "export of undefined function 'ghost'",
                 "value assigned to 'x' has type i64", "undefined label 'nowhere'",
                 "value 1000 does not fit in 8 bits", "return without a value"]:
        assert part in joined


def test_errors_in_all_operands_are_reported_without_cascades() -> None:
    bad = ir.OpExpr("i32.add", (ir.LocalGet("u1"), ir.LocalGet("u2")))
    m = mod(fn(locals_=L, stmts=(ir.Assign("x", ir.OpExpr("i32.mul", (bad, ir.LocalGet("y")))),)))
    msgs = messages(m)
    assert len(msgs) == 3
    assert "undefined local 'u1'" in msgs[0]
    assert "undefined local 'u2'" in msgs[1]
    assert "operand 2 of i32.mul has type i64" in msgs[2]


def test_deep_expressions_do_not_recurse() -> None:
    depth = sys.getrecursionlimit() * 3
    e: ir.Expr = ir.LocalGet("x")
    for i in range(depth):
        e = ir.OpExpr("i32.add", (e, c32(i))) if i % 2 else ir.Load("i32.load", e)
    ok = mod(fn(locals_=L, stmts=(ir.Assign("x", e),)))
    assert messages(ok) == []
    bad = mod(fn(locals_=L, stmts=(ir.Assign("y", e),)))
    assert "value assigned to 'y' has type i32, expected i64" in one(bad)


def test_diagnostics_are_errors() -> None:
    d = verify_module(mod(fn(term=ir.Jump("x"))))[0]
    assert isinstance(d, Diagnostic) and d.severity is Severity.ERROR


def test_c_signatures_that_do_not_lower() -> None:
    bad = CSig(CScalar(CKind.VOID), (CScalar(CKind.VOID),))
    m = mod(ir.ForeignImport("h", "env", "h", bad), fn("f"), ir.ForeignExport("fe", "f", bad),
            fn("g", stmts=(ir.Call(None, "h", ()),)))
    msgs = messages(m)
    assert len(msgs) == 2, msgs
    assert "C signature void(void) of 'h' cannot be lowered to wasm" in msgs[0]
    assert "C signature void(void) of foreign export 'fe' cannot be lowered" in msgs[1]


def test_linker_prefix_is_reserved() -> None:
    # The linker names its own functions and globals `__irld_*`.
    f = ir.Func("__irld_fd_write", (), None, (), (ir.BasicBlock("entry", (), ir.Return()),))
    diags = verify_module(ir.Module("t", (f, ir.ExternFunc("__irld_x", FuncType()))))
    assert [d.message for d in diags] == [
        "symbol '__irld_fd_write' uses the prefix '__irld_', which is reserved for the linker"]


# ---------------------------------------------------------------- bodies the parser typed


_ROOT = Path(__file__).resolve().parents[2]
# Tokens a mutation puts in place of one of the file's words: types, ops of
# every kind, symbol references (with offsets, to functions and globals),
# literals out of and in range.
_SWAPS = ["i32", "i64", "f32", "f64", "i32.add", "i64.add", "f64.mul", "i32.eqz",
          "i32.load", "i64.load8_s", "f32.store", "i32.store", "select", "memory.grow",
          "i32.wrap_i64", "x", "n", "entry", "@main", "@main+4", "@d", "@d+8", "@g",
          "0", "-1", "1.5", "0xffffffff", "0x1ffffffff", "offset=4", "offset=-4"]


def _parsed_cases() -> list[str]:
    files = sorted((Path(__file__).parent / "corpus").glob("*.ir")) + sorted(
        (_ROOT / "examples").glob("**/*.ir")) + sorted((_ROOT / "stdlib").glob("*.ir"))
    texts = [p.read_text(encoding="utf-8") for p in files]
    rng = random.Random(1414)
    cases = list(texts)
    for _ in range(1500):
        text = rng.choice(texts)
        # `@f+4` of the file's functions and `@g` of its globals break the
        # rules the verifier checks itself; the rest, rules the parser checks.
        refs = [f"@{n}+4" for n in re.findall(r"^(?:private )?func (\w+)", text, re.M)]
        refs += [f"@{n}" for n in re.findall(r"^(?:private )?global (\w+)", text, re.M)]
        words = list(re.finditer(r"@?[A-Za-z_][A-Za-z0-9_.$]*(?:[+-]\d+)?|-?\d+(?:\.\d+)?", text))
        for _ in range(rng.randint(1, 2)):
            w = rng.choice(words)
            r = rng.random()
            pick = (rng.choice(_SWAPS) if r < 0.5 or r < 0.8 and not refs
                    else rng.choice(refs) if r < 0.8 else rng.choice(words).group())
            text = text[:w.start()] + pick + text[w.end():]
            words = list(re.finditer(r"@?[A-Za-z_][A-Za-z0-9_.$]*|-?\d+", text))
        cases.append(text)
    return cases


def test_bodies_the_parser_typed_are_not_typed_again() -> None:
    """`verify_module` given what the parser proved (it then checks only the
    bodies' `@sym`s) reports exactly what the full verifier reports, on every
    library, example and corpus file and on mutated ones that still parse."""
    parsed_ok = with_errors = 0
    for text in _parsed_cases():
        try:
            m, parsed = parse_module_checked(text, "t.ir")
        except DiagnosticError:
            continue
        parsed_ok += 1
        assert {id(f) for f in m.funcs} == set(parsed)
        full = verify_module(m)
        assert verify_module(m, parsed) == full, text
        with_errors += bool(full)
    assert parsed_ok > 200 and with_errors > 20, (parsed_ok, with_errors)


def test_symrefs_in_parsed_bodies_are_still_checked() -> None:
    text = ("module t\nglobal g: i32 = 0\nfunc h() { entry: return }\n"
            "func f() -> i32 { entry: return i32.add(@h+4, @g) }\n")
    m, parsed = parse_module_checked(text, "t.ir")
    diags = verify_module(m, parsed)
    assert [d.message for d in diags] == [
        "'@h' is a function's table index and takes no offset (got 4)",
        "'@g': global 'g' has no address"]
    assert diags == verify_module(m)
    assert [(d.span.line, d.span.col) for d in diags if d.span] == [(4, 41), (4, 47)]


def test_a_body_the_parser_did_not_build_is_typed() -> None:
    """Facts about other objects (an equal function built with the API) do not apply."""
    text = "module t\nfunc f() -> i32 { entry: return 1 }\n"
    m, parsed = parse_module_checked(text, "t.ir")
    bad = ir.Func("f", (), I32, (), (ir.BasicBlock("entry", (), ir.Return(ir.Const(I64, 1))),))
    other = ir.Module("t", (bad,))
    assert [d.message for d in verify_module(other, parsed)] == [
        d.message for d in verify_module(other)] != []
