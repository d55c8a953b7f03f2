"""Wasm semantics of every op of the op table, as Python expression templates.

The interpreter compiles IR to Python source (`linker.interp.machine`); each
op becomes one assignment whose right-hand side is the op's template with the
operands substituted (`{0}`, `{1}`, `{2}`: temporaries, locals or
constants, never expressions with side effects).  `template(op)` derives the
template from the op table entry (`linker.ir.ops`): its kind, value types and
base name, so a new op in the table without semantics here is an error
(`missing_semantics()` lists them; a test keeps it empty).

Value representation (wasm spec 4.2.1):
* i32 / i64: Python ints in [0, 2**32) / [0, 2**64) (unsigned spelling);
  signed views are computed on demand by `(x ^ SIGN) - SIGN`;
* f32: Python floats that are exactly representable as binary32; every f32
  result is rounded to nearest-even with `fround` (add, sub, mul, div and
  sqrt computed in binary64 and rounded once are correctly rounded, since
  53 >= 2*24 + 2: Figueroa, "When is double rounding innocuous?", 1995);
* f64: Python floats.
NaN results are whatever Python produces (the payload is not specified,
like the wasm spec's nondeterministic NaN rule allows); the harness never
compares NaN bits.

Traps raise `Trap` with wasmtime's wording of the reason.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

from linker.ir.ops import OPS, Op, OpKind
from linker.ir.types import ValType

M32 = 0xFFFF_FFFF
M64 = 0xFFFF_FFFF_FFFF_FFFF
S32 = 0x8000_0000
S64 = 0x8000_0000_0000_0000

# Trap reasons: the words `linker.host.backtrace` gives wasmtime's trap codes
# (`trap_category` maps them along with V8's).
UNREACHABLE = "unreachable instruction executed"
DIV_ZERO = "integer divide by zero"
INT_OVERFLOW = "integer overflow"
BAD_CONVERSION = "invalid conversion to integer"
OUT_OF_BOUNDS = "out of bounds memory access"
BAD_SIGNATURE = "indirect call type mismatch"
NULL_ELEMENT = "indirect call to a null function pointer"
TABLE_BOUNDS = "indirect call past the end of the function table"
STACK_EXHAUSTED = "call stack exhausted"


class Trap(Exception):
    """A wasm trap; `reason` is one of the constants above (or a host's message)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_U64 = struct.Struct("<Q")
_INF = math.inf
_NAN = math.nan


def fround(x: float) -> float:
    """`x` rounded to the nearest binary32 (ties to even), overflowing to infinity."""
    try:
        v: float = _F32.unpack(_F32.pack(x))[0]
        return v
    except OverflowError:
        return math.copysign(_INF, x)


def int_to_f32(n: int) -> float:
    """The integer `n` rounded once (nearest, ties to even) to binary32."""
    if -(1 << 53) <= n <= 1 << 53:
        return fround(float(n))  # exact in binary64, then one rounding
    m = -n if n < 0 else n
    shift = m.bit_length() - 24
    q, r = divmod(m, 1 << shift)
    half = 1 << (shift - 1)
    if r > half or (r == half and q & 1):
        q += 1
    v = float(q << shift)
    return -v if n < 0 else v


def fdiv(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0.0:
            return _NAN
        return math.copysign(_INF, math.copysign(1.0, a) * math.copysign(1.0, b))


def fmin(a: float, b: float) -> float:
    if a != a or b != b:
        return _NAN
    if a == b:  # -0.0 and 0.0: the negative one
        return a if math.copysign(1.0, a) < 0 else b
    return a if a < b else b


def fmax(a: float, b: float) -> float:
    if a != a or b != b:
        return _NAN
    if a == b:
        return b if math.copysign(1.0, a) < 0 else a
    return a if a > b else b


def _integral(x: float) -> bool:
    """NaN, infinities, zeros and |x| >= 2**52 are their own ceil/floor/trunc/nearest."""
    return x != x or x == 0.0 or abs(x) >= 4503599627370496.0


def fceil(x: float) -> float:
    return x if _integral(x) else math.copysign(float(math.ceil(x)), x)


def ffloor(x: float) -> float:
    return x if _integral(x) else math.copysign(float(math.floor(x)), x)


def ftrunc(x: float) -> float:
    return x if _integral(x) else math.copysign(float(math.trunc(x)), x)


def fnearest(x: float) -> float:
    return x if _integral(x) else math.copysign(float(round(x)), x)  # round(): ties to even


def fsqrt(x: float) -> float:
    if x != x or x < 0.0:
        return _NAN
    return math.sqrt(x)


def trunc_checked(x: float, lo: int, hi: int, mask: int) -> int:
    """Trapping float-to-int conversion: the integer part of `x` must lie in [lo, hi]."""
    if x != x:
        raise Trap(BAD_CONVERSION)
    if x in (_INF, -_INF):
        raise Trap(INT_OVERFLOW)
    t = math.trunc(x)
    if not lo <= t <= hi:
        raise Trap(INT_OVERFLOW)
    return t & mask


def trunc_sat(x: float, lo: int, hi: int, mask: int) -> int:
    if x != x:
        return 0
    if x == _INF:
        return hi & mask
    if x == -_INF:
        return lo & mask
    t = math.trunc(x)
    return (lo if t < lo else hi if t > hi else t) & mask


def div_s(a: int, b: int, sign: int, mask: int) -> int:
    if b == 0:
        raise Trap(DIV_ZERO)
    sa, sb = (a ^ sign) - sign, (b ^ sign) - sign
    if sa == -sign and sb == -1:
        raise Trap(INT_OVERFLOW)
    q = abs(sa) // abs(sb)
    return (-q if (sa < 0) != (sb < 0) else q) & mask


def div_u(a: int, b: int) -> int:
    if b == 0:
        raise Trap(DIV_ZERO)
    return a // b


def rem_s(a: int, b: int, sign: int, mask: int) -> int:
    if b == 0:
        raise Trap(DIV_ZERO)
    sa, sb = (a ^ sign) - sign, (b ^ sign) - sign
    r = abs(sa) % abs(sb)
    return (-r if sa < 0 else r) & mask


def rem_u(a: int, b: int) -> int:
    if b == 0:
        raise Trap(DIV_ZERO)
    return a % b


def ctz(a: int, bits: int) -> int:
    return bits if a == 0 else (a & -a).bit_length() - 1


def rotl(a: int, b: int, bits: int, mask: int) -> int:
    k = b & (bits - 1)
    return ((a << k) | (a >> (bits - k))) & mask


def rotr(a: int, b: int, bits: int, mask: int) -> int:
    k = b & (bits - 1)
    return ((a >> k) | (a << (bits - k))) & mask


def f32_bits(x: float) -> int:
    v: int = _U32.unpack(_F32.pack(x))[0]
    return v


def f32_from_bits(b: int) -> float:
    v: float = _F32.unpack(_U32.pack(b))[0]
    return v


def f64_bits(x: float) -> int:
    v: int = _U64.unpack(_F64.pack(x))[0]
    return v


def f64_from_bits(b: int) -> float:
    v: float = _F64.unpack(_U64.pack(b))[0]
    return v


# Names the templates may use; the machine puts them in the generated code's namespace.
HELPERS: dict[str, Any] = {
    "fround": fround, "int_to_f32": int_to_f32, "fdiv": fdiv, "fmin": fmin, "fmax": fmax,
    "fceil": fceil, "ffloor": ffloor, "ftrunc": ftrunc, "fnearest": fnearest, "fsqrt": fsqrt,
    "fabs": math.fabs, "copysign": math.copysign, "trunc_checked": trunc_checked,
    "trunc_sat": trunc_sat, "div_s": div_s, "div_u": div_u, "rem_s": rem_s, "rem_u": rem_u,
    "ctz": ctz, "rotl": rotl, "rotr": rotr, "f32_bits": f32_bits, "f32_from_bits": f32_from_bits,
    "f64_bits": f64_bits, "f64_from_bits": f64_from_bits,
}

_INT_PARAMS = {ValType.I32: (32, M32, S32), ValType.I64: (64, M64, S64)}
# Integer ranges accepted by float-to-int conversions, by result type and signedness.
_RANGE = {(ValType.I32, "s"): (-(1 << 31), (1 << 31) - 1), (ValType.I32, "u"): (0, M32),
          (ValType.I64, "s"): (-(1 << 63), (1 << 63) - 1), (ValType.I64, "u"): (0, M64)}


def _int_template(op: Op, t: ValType, base: str) -> str | None:
    bits, mask, sign = _INT_PARAMS[t]
    s0 = f"(({{0}} ^ {sign}) - {sign})"
    simple = {
        "add": f"({{0}} + {{1}}) & {mask}", "sub": f"({{0}} - {{1}}) & {mask}",
        "mul": f"({{0}} * {{1}}) & {mask}", "and": "{0} & {1}", "or": "{0} | {1}",
        "xor": "{0} ^ {1}", "shl": f"({{0}} << ({{1}} & {bits - 1})) & {mask}",
        "shr_u": f"{{0}} >> ({{1}} & {bits - 1})",
        "shr_s": f"({s0} >> ({{1}} & {bits - 1})) & {mask}",
        "div_s": f"div_s({{0}}, {{1}}, {sign}, {mask})", "div_u": "div_u({0}, {1})",
        "rem_s": f"rem_s({{0}}, {{1}}, {sign}, {mask})", "rem_u": "rem_u({0}, {1})",
        "rotl": f"rotl({{0}}, {{1}}, {bits}, {mask})", "rotr": f"rotr({{0}}, {{1}}, {bits}, {mask})",
        "clz": f"{bits} - {{0}}.bit_length()", "ctz": f"ctz({{0}}, {bits})",
        "popcnt": "{0}.bit_count()", "eqz": "1 if {0} == 0 else 0",
        "eq": "1 if {0} == {1} else 0", "ne": "1 if {0} != {1} else 0",
        # XOR with the sign bit maps signed order onto unsigned order.
        "lt_s": f"1 if ({{0}} ^ {sign}) < ({{1}} ^ {sign}) else 0",
        "gt_s": f"1 if ({{0}} ^ {sign}) > ({{1}} ^ {sign}) else 0",
        "le_s": f"1 if ({{0}} ^ {sign}) <= ({{1}} ^ {sign}) else 0",
        "ge_s": f"1 if ({{0}} ^ {sign}) >= ({{1}} ^ {sign}) else 0",
        "lt_u": "1 if {0} < {1} else 0", "gt_u": "1 if {0} > {1} else 0",
        "le_u": "1 if {0} <= {1} else 0", "ge_u": "1 if {0} >= {1} else 0",
        "extend8_s": f"((({{0}} & 0xFF) ^ 0x80) - 0x80) & {mask}",
        "extend16_s": f"((({{0}} & 0xFFFF) ^ 0x8000) - 0x8000) & {mask}",
        "extend32_s": f"((({{0}} & {M32}) ^ {S32}) - {S32}) & {mask}",
        "wrap_i64": f"{{0}} & {M32}",
        "extend_i32_s": f"(({{0}} ^ {S32}) - {S32}) & {M64}", "extend_i32_u": "{0}",
        "reinterpret_f32": "f32_bits({0})", "reinterpret_f64": "f64_bits({0})",
    }
    if base in simple:
        return simple[base]
    if base.startswith(("trunc_", "trunc_sat_")):
        signed = base[-1]
        lo, hi = _RANGE[t, signed]
        fn = "trunc_sat" if base.startswith("trunc_sat_") else "trunc_checked"
        return f"{fn}({{0}}, {lo}, {hi}, {mask})"
    return None


def _float_template(op: Op, t: ValType, base: str) -> str | None:
    f32 = t is ValType.F32

    def rounded(expr: str) -> str:
        return f"fround({expr})" if f32 else expr

    simple = {
        "add": rounded("{0} + {1}"), "sub": rounded("{0} - {1}"), "mul": rounded("{0} * {1}"),
        "div": rounded("fdiv({0}, {1})"), "sqrt": rounded("fsqrt({0})"),
        "min": "fmin({0}, {1})", "max": "fmax({0}, {1})", "copysign": "copysign({0}, {1})",
        "abs": "fabs({0})", "neg": "-{0}", "ceil": "fceil({0})", "floor": "ffloor({0})",
        "trunc": "ftrunc({0})", "nearest": "fnearest({0})",
        "eq": "1 if {0} == {1} else 0", "ne": "1 if {0} != {1} else 0",
        "lt": "1 if {0} < {1} else 0", "gt": "1 if {0} > {1} else 0",
        "le": "1 if {0} <= {1} else 0", "ge": "1 if {0} >= {1} else 0",
        "demote_f64": "fround({0})", "promote_f32": "{0}",
        "reinterpret_i32": "f32_from_bits({0})", "reinterpret_i64": "f64_from_bits({0})",
    }
    if base in simple:
        return simple[base]
    if base.startswith("convert_i"):
        src_bits, signed = base[len("convert_i"):].split("_")
        sign = S32 if src_bits == "32" else S64
        value = f"(({{0}} ^ {sign}) - {sign})" if signed == "s" else "{0}"
        # Integers below 2**53 convert to binary64 exactly (then one f32 rounding).
        if not f32:
            return f"float({value})"
        return f"int_to_f32({value})" if src_bits == "64" else f"fround(float({value}))"
    return None


def template(op: Op) -> str | None:
    """The Python expression computing `op` from operands `{0}`.. (None: not an expression op)."""
    if op.kind in (OpKind.LOAD, OpKind.STORE, OpKind.MEMORY):
        return None
    if op.kind is OpKind.SELECT:
        return "{0} if {2} else {1}"
    type_name, _, base = op.name.partition(".")
    t = ValType.parse(type_name)
    if t.is_int:
        return _int_template(op, t, base)
    return _float_template(op, t, base)


# Loads and stores: (struct format, post-processing of a loaded value / masking of a stored one).
_LOADS = {
    "i32.load": ("<I", ""), "i64.load": ("<Q", ""), "f32.load": ("<f", ""),
    "f64.load": ("<d", ""), "i32.load8_s": ("<b", f" & {M32}"), "i32.load8_u": ("<B", ""),
    "i32.load16_s": ("<h", f" & {M32}"), "i32.load16_u": ("<H", ""),
    "i64.load8_s": ("<b", f" & {M64}"), "i64.load8_u": ("<B", ""),
    "i64.load16_s": ("<h", f" & {M64}"), "i64.load16_u": ("<H", ""),
    "i64.load32_s": ("<i", f" & {M64}"), "i64.load32_u": ("<I", ""),
}
_STORES = {
    "i32.store": ("<I", ""), "i64.store": ("<Q", ""), "f32.store": ("<f", ""),
    "f64.store": ("<d", ""), "i32.store8": ("<B", " & 0xFF"), "i32.store16": ("<H", " & 0xFFFF"),
    "i64.store8": ("<B", " & 0xFF"), "i64.store16": ("<H", " & 0xFFFF"),
    "i64.store32": ("<I", f" & {M32}"),
}


def load_format(name: str) -> tuple[str, str]:
    """(struct format, suffix applied to the unpacked value) of load op `name`."""
    return _LOADS[name]


def store_format(name: str) -> tuple[str, str]:
    """(struct format, suffix applied to the value before packing) of store op `name`."""
    return _STORES[name]


def missing_semantics() -> list[str]:
    """Ops of the op table the interpreter cannot execute (kept empty by a test)."""
    missing = []
    for op in OPS:
        if op.kind is OpKind.LOAD:
            ok = op.name in _LOADS and struct.calcsize(_LOADS[op.name][0]) == op.mem_bytes
        elif op.kind is OpKind.STORE:
            ok = op.name in _STORES and struct.calcsize(_STORES[op.name][0]) == op.mem_bytes
        elif op.kind is OpKind.MEMORY:
            ok = op.name in ("memory.size", "memory.grow")
        else:
            ok = template(op) is not None
        if not ok:
            missing.append(op.name)
    return missing


def evaluate(op: Op, *args: Any) -> Any:
    """Apply expression op `op` to operands (slow path for tests and constant folding)."""
    tmpl = template(op)
    if tmpl is None:
        raise ValueError(f"{op.name} is not an expression op")
    names = [f"_a{i}" for i in range(len(args))]
    fn: Callable[..., Any] = eval(  # noqa: S307 - our own template, our own operands
        f"lambda {', '.join(names)}: {tmpl.format(*names)}", dict(HELPERS))
    return fn(*args)
