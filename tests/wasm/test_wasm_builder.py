"""InstrBuilder checks, decode_body / encode_instrs round trips, module helpers and errors."""

from __future__ import annotations

import pytest

from linker.ir.ops import OPS, OpKind
from linker.ir.types import FuncType, ValType
from linker.wasm import (
    EncodeError, FloatBits, Instr, InstrBuilder, WasmModule, decode_body, encode_instrs, encode_module,
)

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64


def sample_body() -> bytes:
    b = InstrBuilder()
    b.block(I32)
    b.loop()
    b.local_get(0)
    b.if_()
    b.i32_const(-5)
    b.drop()
    b.else_()
    b.nop()
    b.end()
    b.br_table([0, 1], 2)
    b.end()
    b.i64_const(2**64 - 1)
    b.drop()
    b.f32_const_bits(0x7FA00001)
    b.drop()
    b.f64_const(FloatBits(0xFFF8000000000123))
    b.drop()
    b.op("i64.load32_u", offset=12)
    b.op("memory.grow")
    b.op("i32.trunc_sat_f64_u")
    b.call_indirect(4, 1)
    b.return_call_indirect(2)
    b.end()
    b.block(7)
    b.global_get(3)
    b.global_set(3)
    b.local_tee(2)
    b.local_set(2)
    b.call(9)
    b.return_call(10)
    b.br_if(0)
    b.br(1)
    b.select()
    b.unreachable()
    b.return_()
    b.end()
    return b.finish()


def test_decode_body() -> None:
    assert decode_body(sample_body()) == [
        ("block", (I32,)), ("loop", (None,)), ("local.get", (0,)), ("if", (None,)),
        ("i32.const", (-5,)), ("drop", ()), ("else", ()), ("nop", ()), ("end", ()),
        ("br_table", ((0, 1), 2)), ("end", ()),
        ("i64.const", (-1,)), ("drop", ()),
        ("f32.const", (0x7FA00001,)), ("drop", ()),
        ("f64.const", (0xFFF8000000000123,)), ("drop", ()),
        ("i64.load32_u", (2, 12)), ("memory.grow", ()), ("i32.trunc_sat_f64_u", ()),
        ("call_indirect", (4, 1)), ("return_call_indirect", (2, 0)), ("end", ()),
        ("block", (7,)), ("global.get", (3,)), ("global.set", (3,)), ("local.tee", (2,)),
        ("local.set", (2,)), ("call", (9,)), ("return_call", (10,)), ("br_if", (0,)),
        ("br", (1,)), ("select", ()), ("unreachable", ()), ("return", ()), ("end", ()),
    ]


def test_encode_instrs_inverts_decode() -> None:
    body = sample_body()
    assert encode_instrs(decode_body(body)) == body


def test_every_op_round_trips_through_the_decoder() -> None:
    b = InstrBuilder()
    expected: list[Instr] = []
    for op in OPS:
        if op.is_memory_access:
            b.op(op.name, offset=8)
            expected.append((op.name, (op.align_log2, 8)))
        else:
            b.op(op.name)
            expected.append(("select" if op.kind is OpKind.SELECT else op.name, ()))
    body = b.finish()
    assert decode_body(body) == expected
    assert encode_instrs(decode_body(body)) == body


def test_nesting_errors() -> None:
    b = InstrBuilder()
    with pytest.raises(ValueError, match="end without"):
        b.end()
    with pytest.raises(ValueError, match="else outside"):
        b.else_()
    b.block()
    with pytest.raises(ValueError, match="else outside"):
        b.else_()
    with pytest.raises(ValueError, match="branch depth 2"):
        b.br(2)
    b.br(1)  # the function body itself
    with pytest.raises(ValueError, match="left open"):
        b.finish()
    b.if_()
    b.else_()
    with pytest.raises(ValueError, match="else outside"):
        b.else_()
    b.end()
    b.end()
    assert b.depth == 0
    b.finish()


def test_decode_rejects_unknown_opcodes() -> None:
    with pytest.raises(ValueError, match="unknown opcode 0xfd"):
        decode_body(bytes([0xFD, 0x00]))
    with pytest.raises(ValueError, match="unknown opcode 0xFC 99"):
        decode_body(bytes([0xFC, 99]))


def test_type_index_deduplicates() -> None:
    m = WasmModule()
    a = m.type_index(FuncType((I32,), I32))
    b = m.type_index(FuncType())
    assert m.type_index(FuncType((I32,), I32)) == a == 0
    assert b == 1
    m.types.append(FuncType((F64,)))  # appended by hand: the index map catches up
    assert m.type_index(FuncType((F64,))) == 2
    assert len(m.types) == 3


def test_function_indices_count_imports_first() -> None:
    m = WasmModule()
    assert m.import_func("env", "a", FuncType()) == 0
    assert m.import_func("env", "b", FuncType((I32,))) == 1
    assert m.add_function(FuncType(), name="f") == 2
    assert m.function(2).name == "f"
    assert m.func_type(1) == FuncType((I32,))
    with pytest.raises(ValueError):
        m.import_func("env", "c", FuncType())
    with pytest.raises(IndexError):
        m.function(0)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda m: m.export_func("f", 0), "duplicate export"),
    (lambda m: m.export_func("g", 5), "no func 5"),
    (lambda m: setattr(m, "start", 1), "must have type"),
    (lambda m: setattr(m, "start", 9), "does not exist"),
    (lambda m: m.add_elements(0, [0]), "without a table"),
    (lambda m: m.add_data(0, b"x"), "without a memory"),
    (lambda m: m.add_global(I32, False, 2**32), "out of range"),
    (lambda m: m.add_global(I64, False, 1.5), "with a float"),
])
def test_encode_errors(mutate: object, message: str) -> None:
    m = WasmModule()
    m.add_function(FuncType())
    m.add_function(FuncType((I32,)))
    m.export_func("f", 0)
    assert callable(mutate)
    mutate(m)
    with pytest.raises(EncodeError, match=message):
        encode_module(m)


def test_add_functions_is_add_function_for_each() -> None:
    """The batch a link uses gives the module one `add_function` per entry would."""
    i32 = ValType.I32
    types = [FuncType((i32,), i32), FuncType(), FuncType((i32,), i32), FuncType((i32, i32))]
    names: list[str | None] = ["a", None, "c", "d"]
    one, batch = WasmModule(), WasmModule()
    for m in (one, batch):
        m.import_func("env", "f", FuncType((i32, i32)))
    firsts = [one.add_function(ft, name=n) for ft, n in zip(types, names)]
    assert batch.add_functions(types, names) == firsts[0] == 1
    assert batch.functions == one.functions and batch.types == one.types
    assert encode_module(batch) == encode_module(one)
