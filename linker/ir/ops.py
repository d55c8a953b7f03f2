"""The op table: the one list of every IR operation.

Every numeric, comparison, conversion and sign-extension operation of the
WebAssembly MVP (plus the non-trapping float-to-int conversions), every load
and store width, `memory.size`, `memory.grow` and a typed `select` per value
type.  Each `Op` records its name (the wasm text name), operand types, result
type, binary opcode bytes (spec section 5.4) and kind.  The parser, verifier,
encoder and interpreter all read this table, so an op is added in one place.

Loads and stores carry a memory access width in bytes; the encoder appends a
memarg (natural alignment, offset).  `select` is `T.select(a, b, cond)`:
`a` if `cond` is nonzero, else `b` (wasm's operand order).
"""

from __future__ import annotations

import enum

import attrs

from linker.ir.types import ValType

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64


class OpKind(enum.Enum):
    UNARY = "unary"        # T -> T
    BINARY = "binary"      # T, T -> T
    TEST = "test"          # T -> i32 (eqz)
    COMPARE = "compare"    # T, T -> i32
    CONVERT = "convert"    # A -> B
    LOAD = "load"          # i32 address -> T
    STORE = "store"        # i32 address, T -> (none)
    MEMORY = "memory"      # memory.size / memory.grow
    SELECT = "select"      # T, T, i32 -> T


@attrs.frozen(slots=True)
class Op:
    name: str
    params: tuple[ValType, ...]
    result: ValType | None
    opcode: tuple[int, ...]
    kind: OpKind
    mem_bytes: int = 0  # access width for loads and stores

    @property
    def is_memory_access(self) -> bool:
        return self.kind in (OpKind.LOAD, OpKind.STORE)

    @property
    def align_log2(self) -> int:
        """Natural alignment exponent of a load/store, as the memarg encodes it."""
        return {1: 0, 2: 1, 4: 2, 8: 3}[self.mem_bytes]


def _table() -> list[Op]:
    ops: list[Op] = []

    def add(name: str, params: tuple[ValType, ...], result: ValType | None,
            opcode: int | tuple[int, ...], kind: OpKind, mem_bytes: int = 0) -> None:
        code = (opcode,) if isinstance(opcode, int) else opcode
        ops.append(Op(name, params, result, code, kind, mem_bytes))

    loads = [("i32.load", I32, 4), ("i64.load", I64, 8), ("f32.load", F32, 4),
             ("f64.load", F64, 8), ("i32.load8_s", I32, 1), ("i32.load8_u", I32, 1),
             ("i32.load16_s", I32, 2), ("i32.load16_u", I32, 2), ("i64.load8_s", I64, 1),
             ("i64.load8_u", I64, 1), ("i64.load16_s", I64, 2), ("i64.load16_u", I64, 2),
             ("i64.load32_s", I64, 4), ("i64.load32_u", I64, 4)]
    for i, (name, t, width) in enumerate(loads):
        add(name, (I32,), t, 0x28 + i, OpKind.LOAD, width)
    stores = [("i32.store", I32, 4), ("i64.store", I64, 8), ("f32.store", F32, 4),
              ("f64.store", F64, 8), ("i32.store8", I32, 1), ("i32.store16", I32, 2),
              ("i64.store8", I64, 1), ("i64.store16", I64, 2), ("i64.store32", I64, 4)]
    for i, (name, t, width) in enumerate(stores):
        add(name, (I32, t), None, 0x36 + i, OpKind.STORE, width)
    add("memory.size", (), I32, (0x3F, 0x00), OpKind.MEMORY)
    add("memory.grow", (I32,), I32, (0x40, 0x00), OpKind.MEMORY)
    for t in (I32, I64, F32, F64):
        add(f"{t.value}.select", (t, t, I32), t, 0x1B, OpKind.SELECT)

    int_cmp = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"]
    float_cmp = ["eq", "ne", "lt", "gt", "le", "ge"]
    add("i32.eqz", (I32,), I32, 0x45, OpKind.TEST)
    for i, n in enumerate(int_cmp):
        add(f"i32.{n}", (I32, I32), I32, 0x46 + i, OpKind.COMPARE)
    add("i64.eqz", (I64,), I32, 0x50, OpKind.TEST)
    for i, n in enumerate(int_cmp):
        add(f"i64.{n}", (I64, I64), I32, 0x51 + i, OpKind.COMPARE)
    for base, t in ((0x5B, F32), (0x61, F64)):
        for i, n in enumerate(float_cmp):
            add(f"{t.value}.{n}", (t, t), I32, base + i, OpKind.COMPARE)

    int_un = ["clz", "ctz", "popcnt"]
    int_bin = ["add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or",
               "xor", "shl", "shr_s", "shr_u", "rotl", "rotr"]
    for base, t in ((0x67, I32), (0x79, I64)):
        for i, n in enumerate(int_un):
            add(f"{t.value}.{n}", (t,), t, base + i, OpKind.UNARY)
        for i, n in enumerate(int_bin):
            add(f"{t.value}.{n}", (t, t), t, base + 3 + i, OpKind.BINARY)
    float_un = ["abs", "neg", "ceil", "floor", "trunc", "nearest", "sqrt"]
    float_bin = ["add", "sub", "mul", "div", "min", "max", "copysign"]
    for base, t in ((0x8B, F32), (0x99, F64)):
        for i, n in enumerate(float_un):
            add(f"{t.value}.{n}", (t,), t, base + i, OpKind.UNARY)
        for i, n in enumerate(float_bin):
            add(f"{t.value}.{n}", (t, t), t, base + 7 + i, OpKind.BINARY)

    conversions = [
        ("i32.wrap_i64", I64, I32), ("i32.trunc_f32_s", F32, I32), ("i32.trunc_f32_u", F32, I32),
        ("i32.trunc_f64_s", F64, I32), ("i32.trunc_f64_u", F64, I32),
        ("i64.extend_i32_s", I32, I64), ("i64.extend_i32_u", I32, I64),
        ("i64.trunc_f32_s", F32, I64), ("i64.trunc_f32_u", F32, I64),
        ("i64.trunc_f64_s", F64, I64), ("i64.trunc_f64_u", F64, I64),
        ("f32.convert_i32_s", I32, F32), ("f32.convert_i32_u", I32, F32),
        ("f32.convert_i64_s", I64, F32), ("f32.convert_i64_u", I64, F32),
        ("f32.demote_f64", F64, F32),
        ("f64.convert_i32_s", I32, F64), ("f64.convert_i32_u", I32, F64),
        ("f64.convert_i64_s", I64, F64), ("f64.convert_i64_u", I64, F64),
        ("f64.promote_f32", F32, F64),
        ("i32.reinterpret_f32", F32, I32), ("i64.reinterpret_f64", F64, I64),
        ("f32.reinterpret_i32", I32, F32), ("f64.reinterpret_i64", I64, F64),
    ]
    for i, (name, src, dst) in enumerate(conversions):
        add(name, (src,), dst, 0xA7 + i, OpKind.CONVERT)
    sign_ext = [("i32.extend8_s", I32), ("i32.extend16_s", I32), ("i64.extend8_s", I64),
                ("i64.extend16_s", I64), ("i64.extend32_s", I64)]
    for i, (name, t) in enumerate(sign_ext):
        add(name, (t,), t, 0xC0 + i, OpKind.UNARY)
    sat = [("i32.trunc_sat_f32_s", F32, I32), ("i32.trunc_sat_f32_u", F32, I32),
           ("i32.trunc_sat_f64_s", F64, I32), ("i32.trunc_sat_f64_u", F64, I32),
           ("i64.trunc_sat_f32_s", F32, I64), ("i64.trunc_sat_f32_u", F32, I64),
           ("i64.trunc_sat_f64_s", F64, I64), ("i64.trunc_sat_f64_u", F64, I64)]
    for i, (name, src, dst) in enumerate(sat):
        add(name, (src,), dst, (0xFC, i), OpKind.CONVERT)
    return ops


OPS: tuple[Op, ...] = tuple(_table())
OPS_BY_NAME: dict[str, Op] = {op.name: op for op in OPS}


def lookup(name: str) -> Op | None:
    """The op called `name`, or None."""
    return OPS_BY_NAME.get(name)
