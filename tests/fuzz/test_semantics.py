"""Every expression op of the op table, interpreter semantics vs wasmtime, on edge values.

One wasm module (written as WAT) exports a function per op; each is called
with every combination of the edge values of its operand types (a sample
for three-operand ops) and must give the interpreter's result: the same bits
(so -0.0 differs from 0.0), any NaN for a NaN, or a trap of the same category.
"""

from __future__ import annotations

import itertools
import math
import random
import struct
from typing import Any

import pytest
import wasmtime

from linker.interp import semantics as sem
from linker.interp import trap_category
from linker.ir.ops import OPS, Op, OpKind
from linker.ir.types import ValType

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64

EDGES: dict[ValType, list[Any]] = {
    I32: [0, 1, 2, 31, 32, 33, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
          0x80000001, 0xFFFFFFFE, 0xFFFFFFFF, 0x12345678],
    I64: [0, 1, 2, 63, 64, 0x80, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000,
          0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0x123456789ABCDEF0,
          (1 << 53) + 1, (1 << 24) + 1],
    F64: [0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1.0, -1.0, 0.49999999999999994, 1e-310,
          2147483647.0, 2147483647.5, 2147483648.0, -2147483648.0, -2147483648.5,
          -2147483649.0, 4294967295.0, 4294967296.0, -1.0, 9.223372036854775e18,
          9.2233720368547758e18, 1.8446744073709552e19, -9.2233720368547758e18,
          4503599627370497.0, 3.4028235677973366e38, 1e300, math.inf, -math.inf, math.nan],
    F32: [0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1.0, 1e-40, 2147483520.0, 2147483648.0,
          -2147483648.0, -2147483904.0, 4294967040.0, 4294967296.0, 9.223371487098962e18,
          9.223372036854776e18, 1.8446742974197924e19, 1.8446744073709552e19,
          3.4028234663852886e38, 8388609.0, 16777217.0, math.inf, -math.inf, math.nan],
}
EDGES[F32] = [sem.fround(v) for v in EDGES[F32]]   # f32 operands are binary32 values


def _wat(ops: list[Op]) -> str:
    funcs = []
    for i, op in enumerate(ops):
        params = " ".join(f"(param {p.value})" for p in op.params)
        gets = " ".join(f"local.get {k}" for k in range(len(op.params)))
        result = f"(result {op.result.value})" if op.result is not None else ""
        body = f"{gets} {op.name}" if op.kind is not OpKind.SELECT else \
            f"{gets} select (result {op.result.value})" if op.result is not None else ""
        funcs.append(f'(func (export "f{i}") {params} {result} {body})')
    return "(module " + "\n".join(funcs) + ")"


def _to_wasm(t: ValType, v: Any) -> Any:
    if t is I32:
        return v - (1 << 32) if v >> 31 else v
    if t is I64:
        return v - (1 << 64) if v >> 63 else v
    return v


def _from_wasm(t: ValType, v: Any) -> Any:
    if t is I32:
        return v & sem.M32
    if t is I64:
        return v & sem.M64
    return v


def _same(t: ValType, a: Any, b: Any) -> bool:
    if t.is_float:
        if a != a or b != b:
            return a != a and b != b
        return struct.pack("<d", a) == struct.pack("<d", b)
    return bool(a == b)


EXPR_OPS = [op for op in OPS if op.kind not in (OpKind.LOAD, OpKind.STORE, OpKind.MEMORY)]


def test_every_op_has_semantics() -> None:
    assert sem.missing_semantics() == []


@pytest.fixture(scope="module")
def wasm_ops() -> tuple[wasmtime.Store, Any]:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, _wat(EXPR_OPS))
    instance = wasmtime.Instance(store, module, [])
    return store, instance.exports(store)


@pytest.mark.parametrize("index", range(len(EXPR_OPS)), ids=[op.name for op in EXPR_OPS])
def test_op_matches_wasmtime(wasm_ops: tuple[wasmtime.Store, Any], index: int) -> None:
    store, exports = wasm_ops
    op = EXPR_OPS[index]
    fn = exports[f"f{index}"]
    combos = list(itertools.product(*(EDGES[p] for p in op.params)))
    if len(combos) > 2000:
        combos = random.Random(index).sample(combos, 2000)
    assert op.result is not None
    for args in combos:
        try:
            want: Any = _from_wasm(op.result, fn(store, *(_to_wasm(p, a)
                                                         for p, a in zip(op.params, args))))
            want_trap = None
        except wasmtime.Trap as exc:
            want, want_trap = None, trap_category(str(exc))
        try:
            got: Any = sem.evaluate(op, *args)
            got_trap = None
        except sem.Trap as exc:
            got, got_trap = None, trap_category(exc.reason)
        assert got_trap == want_trap, f"{op.name}{args}: interp {got_trap}, wasmtime {want_trap}"
        if want_trap is None:
            assert _same(op.result, got, want), f"{op.name}{args}: interp {got!r}, wasmtime {want!r}"


def test_f32_rounding_helpers() -> None:
    assert sem.fround(3.4028235677973366e38) == math.inf
    assert sem.fround(3.4028235e38) == 3.4028234663852886e38
    assert sem.int_to_f32((1 << 63) + (1 << 39)) == float(1 << 63)          # tie: to even
    assert sem.int_to_f32((1 << 63) + (1 << 39) + 1) == float((1 << 63) + (1 << 40))
    assert sem.int_to_f32(-((1 << 40) + 1)) == -float(1 << 40)
