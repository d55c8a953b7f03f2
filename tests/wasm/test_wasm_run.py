"""Modules built with the API validate (wasmtime, wabt) and run correctly on wasmtime."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from linker.ir.ops import OPS, OpKind
from linker.ir.types import FuncType, ValType
from linker.wasm import FloatBits, InstrBuilder, WasmModule, encode_module

from wasm_testutil import instantiate, make_engine, validate

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def factorial_module() -> WasmModule:
    m = WasmModule(name="fact")
    f = m.add_function(FuncType((I64,), I64), [I64], name="fact")
    b = InstrBuilder()
    b.i64_const(1)
    b.local_set(1)
    b.block()
    b.loop()
    b.local_get(0)
    b.op("i64.eqz")
    b.br_if(1)
    b.local_get(1)
    b.local_get(0)
    b.op("i64.mul")
    b.local_set(1)
    b.local_get(0)
    b.i64_const(1)
    b.op("i64.sub")
    b.local_set(0)
    b.br(0)
    b.end()
    b.end()
    b.local_get(1)
    m.function(f).body = b.finish()
    m.function(f).local_names = {0: "n", 1: "acc"}
    m.export_func("fact", f)
    return m


def test_factorial_loop() -> None:
    wasm = encode_module(factorial_module())
    validate(wasm)
    store, inst = instantiate(wasm)
    fact = inst.exports(store)["fact"]
    assert isinstance(fact, wasmtime.Func)
    assert fact(store, 0) == 1
    assert fact(store, 5) == 120
    assert fact(store, 20) == 2432902008176640000


def even_odd_module() -> WasmModule:
    """is_even/is_odd by mutual tail recursion, direct and through the table."""
    m = WasmModule(name="evenodd")
    sig = FuncType((I32,), I32)
    even = m.add_function(sig, name="is_even")
    odd = m.add_function(sig, name="is_odd")
    even_ind = m.add_function(sig, name="is_even_indirect")
    odd_ind = m.add_function(sig, name="is_odd_indirect")
    for me, other, indirect in ((even, odd, False), (odd, even, False),
                                (even_ind, odd_ind, True), (odd_ind, even_ind, True)):
        b = InstrBuilder()
        b.local_get(0)
        b.op("i32.eqz")
        b.if_()
        b.i32_const(1 if me in (even, even_ind) else 0)
        b.return_()
        b.end()
        b.local_get(0)
        b.i32_const(1)
        b.op("i32.sub")
        if indirect:
            b.i32_const(1 if other == odd_ind else 0)  # table slot
            b.return_call_indirect(m.type_index(sig))
        else:
            b.return_call(other)
        m.function(me).body = b.finish()
    m.set_table(2, 2)
    m.add_elements(0, [even_ind, odd_ind])
    m.export_func("is_even", even)
    m.export_func("is_even_indirect", even_ind)
    return m


def test_return_call_million_deep_mutual_recursion() -> None:
    wasm = encode_module(even_odd_module())
    validate(wasm)
    store, inst = instantiate(wasm)
    exports = inst.exports(store)
    for name in ("is_even", "is_even_indirect"):
        f = exports[name]
        assert isinstance(f, wasmtime.Func)
        assert f(store, 1_000_000) == 1
        assert f(store, 1_000_001) == 0


def table_module() -> WasmModule:
    m = WasmModule()
    binop = FuncType((I32, I32), I32)
    fns = []
    for name in ("add", "sub", "mul"):
        b = InstrBuilder()
        b.local_get(0)
        b.local_get(1)
        b.op(f"i32.{name}")
        fns.append(m.add_function(binop, body=b.finish(), name=name))
    other = m.add_function(FuncType((I32,), I32), body=bytes([0x20, 0x00]), name="ident")
    dispatch = m.add_function(FuncType((I32, I32, I32), I32), name="dispatch")
    b = InstrBuilder()
    b.local_get(1)
    b.local_get(2)
    b.local_get(0)
    b.call_indirect(m.type_index(binop))
    m.function(dispatch).body = b.finish()
    m.set_table(6, export="table")
    m.add_elements(1, fns)  # slot 0 stays null, as irld's layout does
    m.add_elements(4, [other])
    m.export_func("dispatch", dispatch)
    return m


def test_call_indirect_through_table() -> None:
    wasm = encode_module(table_module())
    validate(wasm)
    store, inst = instantiate(wasm)
    dispatch = inst.exports(store)["dispatch"]
    assert isinstance(dispatch, wasmtime.Func)
    assert dispatch(store, 1, 7, 5) == 12
    assert dispatch(store, 2, 7, 5) == 2
    assert dispatch(store, 3, 7, 5) == 35
    for slot, why in ((0, "uninitialized element"), (4, "indirect call type mismatch"),
                      (6, "undefined element")):
        with pytest.raises(wasmtime.Trap, match=why):
            dispatch(store, slot, 1, 2)


def data_globals_module() -> WasmModule:
    m = WasmModule()
    m.set_memory(1, 1)
    m.add_data(1024, b"Hello, wasm!\n", name="hello")
    m.add_data(2048, struct.pack("<iq", -7, 2**40), name="nums")
    m.add_data(0xFFF0, b"\xAB" * 16, name="top")
    m.add_data(4096, bytes(range(150)), name="long")  # several lines in the WAT
    counter = m.add_global(I32, True, 0, name="counter")
    big = m.add_global(I64, False, 2**64 - 1, name="minus_one")
    pi = m.add_global(F64, False, 3.141592653589793, name="pi")
    m.export_global("counter", counter)
    m.export_global("minus_one", big)
    m.export_global("pi", pi)

    b = InstrBuilder()  # bump() -> ++counter
    b.global_get(counter)
    b.i32_const(1)
    b.op("i32.add")
    b.global_set(counter)
    b.global_get(counter)
    m.export_func("bump", m.add_function(FuncType((), I32), body=b.finish(), name="bump"))

    b = InstrBuilder()  # sum() = load i32 at 2048 (as i64) + load i64 at 2052
    b.i32_const(0)
    b.op("i64.load32_s", offset=2048)
    b.i32_const(2048)
    b.op("i64.load", offset=4)
    b.op("i64.add")
    m.export_func("sum", m.add_function(FuncType((), I64), body=b.finish(), name="sum"))

    b = InstrBuilder()  # byte(addr) = load8_u
    b.local_get(0)
    b.op("i32.load8_u")
    m.export_func("byte", m.add_function(FuncType((I32,), I32), body=b.finish()))
    return m


def test_data_segments_and_globals() -> None:
    wasm = encode_module(data_globals_module())
    validate(wasm)
    store, inst = instantiate(wasm)
    ex = inst.exports(store)
    mem = ex["memory"]
    assert isinstance(mem, wasmtime.Memory)
    assert mem.read(store, 1024, 1024 + 13) == b"Hello, wasm!\n"
    assert mem.read(store, 1023, 1024) == b"\x00"
    assert mem.read(store, 0xFFF0, 0x10000) == b"\xAB" * 16
    assert mem.read(store, 4096, 4096 + 150) == bytes(range(150))
    bump, total, byte = ex["bump"], ex["sum"], ex["byte"]
    assert isinstance(bump, wasmtime.Func) and isinstance(total, wasmtime.Func)
    assert isinstance(byte, wasmtime.Func)
    assert bump(store) == 1
    assert bump(store) == 2
    assert total(store) == 2**40 - 7
    assert byte(store, 1024) == ord("H")
    counter_g, big_g, pi_g = ex["counter"], ex["minus_one"], ex["pi"]
    assert isinstance(counter_g, wasmtime.Global)
    assert isinstance(big_g, wasmtime.Global) and isinstance(pi_g, wasmtime.Global)
    assert counter_g.value(store) == 2
    assert big_g.value(store) == -1
    assert pi_g.value(store) == 3.141592653589793


def test_start_function_runs_at_instantiation() -> None:
    m = WasmModule()
    m.set_memory(1)
    g = m.add_global(I32, True, 0, name="ready")
    m.export_global("ready", g)
    b = InstrBuilder()
    b.i32_const(42)
    b.global_set(g)
    b.i32_const(16)
    b.i32_const(0x01020304)
    b.op("i32.store")
    m.start = m.add_function(FuncType(), body=b.finish(), name="init")
    wasm = encode_module(m)
    validate(wasm)
    store, inst = instantiate(wasm)
    ex = inst.exports(store)
    ready, mem = ex["ready"], ex["memory"]
    assert isinstance(ready, wasmtime.Global) and isinstance(mem, wasmtime.Memory)
    assert ready.value(store) == 42
    assert mem.read(store, 16, 20) == bytes([0x04, 0x03, 0x02, 0x01])


F32_PATTERNS = [0x7FA00001, 0xFFC12345, 0x7FC00000, 0x00000001, 0x80000000, 0x7F7FFFFF,
                0xFF800000]
F64_PATTERNS = [0x7FF0000000000001, 0xFFF8DEADBEEF0001, 0x7FF4000000000000,
                0x0000000000000001, 0x8000000000000000, 0x7FEFFFFFFFFFFFFF]


def float_module() -> WasmModule:
    m = WasmModule()
    m.set_memory(1)
    fglobals = [m.add_global(F32, False, FloatBits(bits)) for bits in F32_PATTERNS]
    dglobals = [m.add_global(F64, True, FloatBits(bits)) for bits in F64_PATTERNS]
    b = InstrBuilder()
    addr = 0
    for bits in F32_PATTERNS:
        b.i32_const(addr)
        b.f32_const_bits(bits)
        b.op("f32.store")
        addr += 4
    for bits in F64_PATTERNS:
        b.i32_const(addr)
        b.f64_const(FloatBits(bits))
        b.op("f64.store")
        addr += 8
    for g in fglobals:
        b.i32_const(addr)
        b.global_get(g)
        b.op("f32.store")
        addr += 4
    for g in dglobals:
        b.i32_const(addr)
        b.global_get(g)
        b.op("f64.store")
        addr += 8
    b.i32_const(addr)  # and an i64 const at both ends of its range
    b.i64_const(2**64 - 1)
    b.op("i64.store")
    b.i32_const(addr)
    b.i64_const(-(2**63))
    b.op("i64.store", offset=8)
    m.export_func("run", m.add_function(FuncType(), body=b.finish()))
    return m


def test_float_constants_round_trip_bit_exactly_through_memory() -> None:
    """f32/f64 consts (and globals) with NaN payloads are stored unchanged."""
    wasm = encode_module(float_module())
    validate(wasm)
    store, inst = instantiate(wasm)
    run, mem = inst.exports(store)["run"], inst.exports(store)["memory"]
    assert isinstance(run, wasmtime.Func) and isinstance(mem, wasmtime.Memory)
    run(store)
    expected = (b"".join(struct.pack("<I", x) for x in F32_PATTERNS)
                + b"".join(struct.pack("<Q", x) for x in F64_PATTERNS))
    assert mem.read(store, 0, len(expected) * 2 + 16) == (
        expected * 2 + struct.pack("<Qq", 2**64 - 1, -(2**63)))


def _typed_operand(b: InstrBuilder, t: ValType) -> None:
    match t:
        case ValType.I32:
            b.i32_const(3)
        case ValType.I64:
            b.i64_const(3)
        case ValType.F32:
            b.f32_const(3.0)
        case ValType.F64:
            b.f64_const(3.0)


def every_op_module() -> WasmModule:
    """One function per op: push operands of the op table's types, apply, return."""
    m = WasmModule()
    m.set_memory(1)
    for op in OPS:
        b = InstrBuilder()
        for t in op.params:
            _typed_operand(b, t)
        b.op(op.name, offset=4 if op.is_memory_access else 0)
        m.export_func(op.name, m.add_function(FuncType((), op.result), body=b.finish(),
                                              name=op.name))
    return m


def test_every_op_validates_with_its_table_types() -> None:
    wasm = encode_module(every_op_module())
    validate(wasm)
    store, inst = instantiate(wasm)
    ex = inst.exports(store)
    results = {}
    for op in OPS:
        f = ex[op.name]
        assert isinstance(f, wasmtime.Func)
        results[op.name] = f(store)
    assert results["i32.add"] == 6 and results["i64.mul"] == 9
    assert results["f64.div"] == 1.0 and results["i32.eqz"] == 0
    assert results["memory.size"] == 1 and results["i32.select"] == 3
    assert all(op.kind is not OpKind.STORE or results[op.name] is None for op in OPS)


def test_host_import_is_called() -> None:
    m = WasmModule()
    log = m.import_func("host", "log", FuncType((I32,)), name="host_log")
    b = InstrBuilder()
    b.i32_const(7)
    b.call(log)
    b.i32_const(8)
    b.call(log)
    m.export_func("main", m.add_function(FuncType(), body=b.finish(), name="main"))
    wasm = encode_module(m)
    validate(wasm)
    engine = make_engine()
    store = wasmtime.Store(engine)
    seen: list[int] = []
    host = wasmtime.Func(store, wasmtime.FuncType([wasmtime.ValType.i32()], []), seen.append)
    inst = wasmtime.Instance(store, wasmtime.Module(engine, wasm), [host])
    main = inst.exports(store)["main"]
    assert isinstance(main, wasmtime.Func)
    main(store)
    assert seen == [7, 8]


def test_trap_shows_function_names_from_the_name_section() -> None:
    m = WasmModule(name="traps")
    b = InstrBuilder()
    b.unreachable()
    boom = m.add_function(FuncType(), body=b.finish(), name="demo.boom_here")
    b = InstrBuilder()
    b.call(boom)
    m.export_func("go", m.add_function(FuncType(), body=b.finish(), name="demo.caller"))
    store, inst = instantiate(encode_module(m))
    go = inst.exports(store)["go"]
    assert isinstance(go, wasmtime.Func)
    with pytest.raises(wasmtime.Trap) as info:
        go(store)
    message = str(info.value)
    assert "demo.boom_here" in message and "demo.caller" in message
    frames = info.value.frames
    assert [f.func_name for f in frames[:2]] == ["demo.boom_here", "demo.caller"]
    assert frames[0].module_name == "traps"


def test_names_absent_when_disabled() -> None:
    m = factorial_module()
    m.emit_names = False
    assert b"name" not in encode_module(m)


def test_encoding_is_deterministic() -> None:
    assert encode_module(even_odd_module()) == encode_module(even_odd_module())
    assert encode_module(table_module()) == encode_module(table_module())


_HASH_SCRIPT = """
import hashlib, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from test_wasm_run import even_odd_module, table_module, factorial_module
from test_wasm_golden import full_module
from linker.wasm import encode_module, to_wat
h = hashlib.sha256()
for m in (even_odd_module(), table_module(), factorial_module(), full_module()):
    h.update(encode_module(m))
    h.update(to_wat(m).encode())
print(h.hexdigest())
"""


def test_encoding_is_independent_of_the_hash_seed() -> None:
    digests = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", _HASH_SCRIPT, str(REPO), str(HERE)], env=env,
                             capture_output=True, text=True, check=True, cwd=REPO)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_many_functions() -> None:
    """20,000 small functions with names encode, validate and run."""
    m = WasmModule()
    sig = FuncType((I32,), I32)
    n = 20_000
    for i in range(n):
        b = InstrBuilder()
        b.local_get(0)
        b.i32_const(1)
        b.op("i32.add")
        if i + 1 < n:
            b.return_call(i + 1)
        m.add_function(sig, body=b.finish(), name=f"f{i}")
    m.export_func("f0", 0)
    wasm = encode_module(m)
    assert hashlib.sha256(wasm).digest() == hashlib.sha256(encode_module(m)).digest()
    store, inst = instantiate(wasm)
    f0 = inst.exports(store)["f0"]
    assert isinstance(f0, wasmtime.Func)
    assert f0(store, 5) == 5 + n
