"""An independent model of C values on wasm32 for the FFI tests.

Sample values per C type, their bytes in memory (C layout), and how they
travel as wasm values under BasicCABI -- written from the ABI documents, not
from `linker.ffi`, so the tests check the linker against the spec.
"""

from __future__ import annotations

import struct
from typing import Any

from linker.ir.ctypes import CKind, CScalar, CStruct, CType

K = CKind
INT_BITS = {K.SINT8: 8, K.UINT8: 8, K.SINT16: 16, K.UINT16: 16, K.SINT32: 32, K.UINT32: 32,
            K.SINT64: 64, K.UINT64: 64, K.POINTER: 32}
SIGNED = {K.SINT8, K.SINT16, K.SINT32, K.SINT64}
SMALL = {K.SINT8, K.UINT8, K.SINT16, K.UINT16}
_SAMPLES: dict[CKind, list[Any]] = {
    K.SINT8: [-100, 77, -1, -128, 127, -3],
    K.UINT8: [200, 1, 255, 128, 99],
    K.SINT16: [-30000, 1234, -1, 32767, -32768],
    K.UINT16: [60000, 7, 65535, 32768],
    K.SINT32: [-2000000000, 123456789, -1, 7, 2147483647],
    K.UINT32: [4000000000, 3, 2147483648, 65536],
    K.SINT64: [-(2 ** 62) - 5, 2 ** 40 + 3, -1, 9],
    K.UINT64: [2 ** 64 - 2, 2 ** 63 + 11, 5],
    K.FLOAT: [1.5, -2.25, struct.unpack("<f", struct.pack("<f", 0.1))[0], 3.0e10, 7.0, -0.5],
    K.DOUBLE: [-1234.5678, 3.141592653589793, 1e300, 2.5, -7.25e-5],
    K.POINTER: [0x1234, 0xFFFFFFF0, 4096],
}


def S(kind: CKind) -> CScalar:
    return CScalar(kind)


def sample(t: CType, seed: int) -> Any:
    """A deterministic sample value of type `t` (structs: tuples of field values)."""
    if isinstance(t, CStruct):
        return tuple(sample(f, seed * 7 + i + 1) for i, f in enumerate(t.fields))
    if t.kind is K.LONGDOUBLE:
        return (0x0123456789ABCDEF + seed, 0x4000_8000_0000_0000 + seed * 3)
    if t.kind is K.VOID:
        return None
    vals = _SAMPLES[t.kind]
    return vals[seed % len(vals)]


def _round(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def to_bytes(t: CType, v: Any) -> bytes:
    """The C object representation (padding zero)."""
    if isinstance(t, CStruct):
        out = bytearray(t.size)
        for off, f, fv in zip(t.offsets(), t.fields, v):
            raw = to_bytes(f, fv)
            out[off:off + len(raw)] = raw
        return bytes(out)
    k = t.kind
    if k is K.FLOAT:
        return struct.pack("<f", v)
    if k is K.DOUBLE:
        return struct.pack("<d", v)
    if k is K.LONGDOUBLE:
        return v[0].to_bytes(8, "little") + v[1].to_bytes(8, "little")
    bits = INT_BITS[k]
    return (v & ((1 << bits) - 1)).to_bytes(bits // 8, "little")


def is_empty(t: CType) -> bool:
    return isinstance(t, CStruct) and all(is_empty(f) for f in t.fields)


def collapse(t: CType, v: Any) -> tuple[CScalar, Any] | None:
    """BasicCABI's singleton rule: the one scalar a struct holds (recursively), with its value."""
    while isinstance(t, CStruct):
        live = [(f, fv) for f, fv in zip(t.fields, v) if not is_empty(f)]
        if len(live) != 1:
            return None
        t, v = live[0]
    return t, v


def signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def wasm_scalar(s: CScalar, v: Any) -> tuple[str, Any]:
    """(wasm type, value) of one scalar as passed or returned: small ints extended."""
    k = s.kind
    if k is K.FLOAT:
        return "f32", v
    if k is K.DOUBLE:
        return "f64", v
    if k in (K.SINT64, K.UINT64):
        return "i64", signed(v, 64)
    return "i32", signed(v, 32) if k not in SMALL else v


def indirect(t: CType) -> bool:
    """Passed by pointer to a copy (a struct that is not a singleton)."""
    return isinstance(t, CStruct) and collapse(t, sample(t, 0)) is None


def sret(t: CType) -> bool:
    if indirect(t):
        return True
    c = collapse(t, sample(t, 0))
    return c is not None and c[0].kind is K.LONGDOUBLE


def wasm_param(t: CType, v: Any) -> list[tuple[str, Any]]:
    """Wasm values of a directly passed argument (not indirect)."""
    c = collapse(t, v)
    assert c is not None
    s, sv = c
    if s.kind is K.LONGDOUBLE:
        return [("i64", signed(sv[0], 64)), ("i64", signed(sv[1], 64))]
    return [wasm_scalar(s, sv)]


def ffi_ret_bytes(t: CType, v: Any) -> bytes:
    """What rvalue holds after ffi_call: ffi_arg (4 bytes, extended) for small integers."""
    if isinstance(t, CScalar) and t.kind in SMALL:
        return (signed(v, 32) & 0xFFFFFFFF).to_bytes(4, "little")
    return to_bytes(t, v)


def var_layout(types: list[CType]) -> list[tuple[int, int, str]]:
    """Variadic buffer: (offset, size, how) per argument; how is 'double' (promoted
    float), 'int' (small int widened), 'ptr' (pointer to a struct copy) or 'raw'."""
    out = []
    off = 0
    for t in types:
        c = collapse(t, sample(t, 0))
        if c is None:
            size, how = 4, "ptr"
        elif c[0].kind is K.FLOAT:
            size, how = 8, "double"
        elif c[0].kind in SMALL:
            size, how = 4, "int"
        elif c[0].kind is K.LONGDOUBLE:
            size, how = 16, "raw"
        else:
            size, how = max(4, c[0].size), "raw"
        off = _round(off, size)
        out.append((off, size, how))
        off += size
    return out


def var_slot_bytes(t: CType, v: Any, how: str) -> bytes:
    c = collapse(t, v)
    if how == "double":
        assert c is not None
        return struct.pack("<d", c[1])
    if how == "int":
        assert c is not None
        return (signed(c[1], 32) & 0xFFFFFFFF).to_bytes(4, "little")
    assert c is not None
    return to_bytes(c[0], c[1])
