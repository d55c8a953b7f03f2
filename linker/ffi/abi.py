"""How each C argument and result of a signature sits in wasm values and in memory.

The lowering itself (`linker.ir.ctypes.lower`) gives the wasm function type
under the WebAssembly tool-conventions BasicCABI; this module adds what the
marshalling code needs to move values between that type and libffi's
memory conventions (`avalue[i]` points to argument i, `rvalue` receives the
result):

* a **scalar** parameter (a C scalar, or a struct that collapses to one
  scalar, at byte `offset` inside the struct) is one wasm value, loaded and
  stored with the width and signedness of its C type;
* a **long double** parameter (or a struct collapsing to one) is two i64
  (low half first);
* an **indirect** parameter (any other struct) is an i32 pointer to a copy
  the caller makes;
* an **empty** struct occupies no wasm value.

Results: nothing (void, empty struct), one scalar, or **sret** (a non
singleton struct or long double: the caller passes a pointer to the result
memory as the first wasm parameter).  Integer results narrower than 32 bits
are widened to libffi's `ffi_arg` (4 bytes on wasm32), sign- or
zero-extended by their C type.

Variadic arguments go in a buffer whose address is the last wasm parameter
(clang's wasm32 `va_arg`): each value at its natural alignment and at least
4 bytes; `float` is promoted to `double` and 8/16-bit integers to `int`;
a struct that is not a singleton is stored as a pointer to a copy.
"""

from __future__ import annotations

import enum

import attrs

from linker.ir.ctypes import (CKind, CScalar, CSig, CStruct, CType, is_empty, returns_via_sret,
                              singleton_scalar)
from linker.ir.types import ValType

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64


@attrs.frozen(slots=True)
class ScalarAccess:
    """How one C scalar kind is read and written in memory and extended as a wasm value."""

    vt: ValType
    load: str            # op-table name of the load that reads it (extending small ints)
    store: str           # op-table name of the store that writes its bytes
    size: int


_ACCESS: dict[CKind, ScalarAccess] = {
    CKind.SINT8: ScalarAccess(I32, "i32.load8_s", "i32.store8", 1),
    CKind.UINT8: ScalarAccess(I32, "i32.load8_u", "i32.store8", 1),
    CKind.SINT16: ScalarAccess(I32, "i32.load16_s", "i32.store16", 2),
    CKind.UINT16: ScalarAccess(I32, "i32.load16_u", "i32.store16", 2),
    CKind.SINT32: ScalarAccess(I32, "i32.load", "i32.store", 4),
    CKind.UINT32: ScalarAccess(I32, "i32.load", "i32.store", 4),
    CKind.POINTER: ScalarAccess(I32, "i32.load", "i32.store", 4),
    CKind.SINT64: ScalarAccess(I64, "i64.load", "i64.store", 8),
    CKind.UINT64: ScalarAccess(I64, "i64.load", "i64.store", 8),
    CKind.FLOAT: ScalarAccess(F32, "f32.load", "f32.store", 4),
    CKind.DOUBLE: ScalarAccess(F64, "f64.load", "f64.store", 8),
}


def access(kind: CKind) -> ScalarAccess:
    """Load/store ops of a scalar kind (not void, not long double)."""
    return _ACCESS[kind]


def small_int(kind: CKind) -> bool:
    """8/16-bit integers: extended to 32 bits when passed or returned."""
    return kind in (CKind.SINT8, CKind.UINT8, CKind.SINT16, CKind.UINT16)


# How an i32 holding a small integer is brought to its C type's extension:
# (op, mask) -- an op-table op, or an `i32.and` with a mask.
EXTEND: dict[CKind, tuple[str | None, int]] = {
    CKind.SINT8: ("i32.extend8_s", 0),
    CKind.SINT16: ("i32.extend16_s", 0),
    CKind.UINT8: (None, 0xFF),
    CKind.UINT16: (None, 0xFFFF),
}


class Kind(enum.Enum):
    EMPTY = "empty"
    SCALAR = "scalar"
    LONGDOUBLE = "longdouble"
    INDIRECT = "indirect"


@attrs.frozen(slots=True)
class Place:
    """One C value as a parameter (or result): its class and what marshalling needs.

    `scalar`/`offset`: the collapsed scalar and its byte offset in the value
    (SCALAR, LONGDOUBLE); `size`/`align`: the C value's own size and alignment."""

    kind: Kind
    ctype: CType
    scalar: CKind | None
    offset: int
    size: int
    align: int

    @property
    def wasm(self) -> tuple[ValType, ...]:
        match self.kind:
            case Kind.EMPTY:
                return ()
            case Kind.SCALAR:
                assert self.scalar is not None
                return (_ACCESS[self.scalar].vt,)
            case Kind.LONGDOUBLE:
                return (I64, I64)
        return (I32,)


def collapse(t: CType) -> tuple[CScalar, int] | None:
    """The scalar a singleton struct collapses to and its byte offset, or None."""
    s = singleton_scalar(t)
    if s is None:
        return None
    offset = 0
    while isinstance(t, CStruct):
        for off, f in zip(t.offsets(), t.fields):
            if not is_empty(f):
                offset += off
                t = f
                break
    return s, offset


def place(t: CType) -> Place:
    """Where a C value of type `t` goes when passed as a (fixed) argument."""
    if is_empty(t):
        return Place(Kind.EMPTY, t, None, 0, t.size, t.align)
    c = collapse(t)
    if c is None:
        return Place(Kind.INDIRECT, t, None, 0, t.size, t.align)
    s, off = c
    if s.kind is CKind.LONGDOUBLE:
        return Place(Kind.LONGDOUBLE, t, s.kind, off, t.size, t.align)
    if s.kind is CKind.VOID:
        raise ValueError("void is not a parameter type")
    return Place(Kind.SCALAR, t, s.kind, off, t.size, t.align)


@attrs.frozen(slots=True)
class VarSlot:
    """One variadic argument in the buffer: where, and how it is stored.

    `promote`: float -> double; `stored`: the scalar kind written to the
    buffer (after promotion), None for a pointer to a copy (INDIRECT) or
    long double (16 bytes)."""

    place: Place
    offset: int
    size: int
    promote: bool


def round_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def var_layout(types: tuple[CType, ...]) -> tuple[list[VarSlot], int]:
    """Slots of the variadic buffer and its size (a multiple of 16)."""
    slots: list[VarSlot] = []
    off = 0
    for t in types:
        p = place(t)
        promote = p.kind is Kind.SCALAR and p.scalar is CKind.FLOAT
        if p.kind is Kind.INDIRECT:
            size, align = 4, 4
        elif p.kind is Kind.LONGDOUBLE:
            size, align = 16, 16
        elif p.kind is Kind.EMPTY:
            size, align = 0, 4
        else:
            assert p.scalar is not None
            size = 8 if promote else max(4, _ACCESS[p.scalar].size)
            align = size
        off = round_up(off, align)
        slots.append(VarSlot(p, off, size, promote))
        off += size
    return slots, round_up(off, 16)


@attrs.frozen(slots=True)
class SigLayout:
    """Everything marshalling code needs about one C signature."""

    sig: CSig
    sret: bool
    result: Place | None          # None: void or empty struct or sret
    params: tuple[Place, ...]     # the fixed parameters
    var: tuple[VarSlot, ...]
    var_size: int

    @property
    def nargs(self) -> int:
        return len(self.sig.params)


def sig_layout(sig: CSig) -> SigLayout:
    sret = returns_via_sret(sig.ret)
    result: Place | None = None
    if not sret and not is_empty(sig.ret) and not (isinstance(sig.ret, CScalar)
                                                   and sig.ret.kind is CKind.VOID):
        result = place(sig.ret)
    var, var_size = var_layout(sig.var_params)
    return SigLayout(sig, sret, result, tuple(place(p) for p in sig.fixed_params),
                     tuple(var), var_size)


def empty_by_value(sig: CSig) -> list[CType]:
    """Empty structs passed or returned by value (libffi refuses zero-sized types)."""
    return [t for t in (sig.ret, *sig.params) if isinstance(t, CStruct) and is_empty(t)]


# ---------------------------------------------------------------- FFI stack frames
# The call handlers and closure implementations keep copies, argument arrays
# and variadic buffers in a frame on the FFI stack.  The emitted code
# (`linker.ffi.gen`) and the reference interpreter (`linker.interp.ffi`) must
# lay frames out identically (memory contents are compared), so both use these.

FRAME_ALIGN = 16


def handler_frame(lay: SigLayout) -> tuple[int, list[int], int, list[int]]:
    """The call handler's FFI stack frame: (size, copy offset per fixed param,
    varargs buffer offset, copy offset per variadic argument)."""
    off = 0
    copies: list[int] = []
    for p in lay.params:
        if p.kind is Kind.INDIRECT:
            off = round_up(off, max(p.align, 1))
            copies.append(off)
            off += p.size
        else:
            copies.append(-1)
    vcopies: list[int] = []
    for v in lay.var:
        if v.place.kind is Kind.INDIRECT:
            off = round_up(off, max(v.place.align, 1))
            vcopies.append(off)
            off += v.place.size
        else:
            vcopies.append(-1)
    vbase = round_up(off, 16)
    if lay.sig.nfixed is not None:
        off = vbase + max(lay.var_size, FRAME_ALIGN)
    return round_up(off, FRAME_ALIGN), copies, vbase, vcopies


def impl_frame(lay: SigLayout) -> tuple[int, int, list[int], list[int]]:
    """The closure implementation's frame: (size, result buffer offset (-1: none),
    value slot per fixed param, demoted-float slot per variadic argument);
    the `args` array is at offset 0."""
    off = 4 * lay.nargs
    roff = -1
    if lay.result is not None:
        off = round_up(off, 8)
        roff = off
        off += max(8, lay.result.size)
    slots: list[int] = []
    for p in lay.params:
        if p.kind in (Kind.SCALAR, Kind.LONGDOUBLE):
            off = round_up(off, max(p.align, 1))
            slots.append(off)
            off += p.size
        else:
            slots.append(-1)
    dslots: list[int] = []
    for v in lay.var:
        if v.promote:
            off = round_up(off, 4)
            dslots.append(off)
            off += 4
        else:
            dslots.append(-1)
    return round_up(max(off, 1), FRAME_ALIGN), roff, slots, dslots
