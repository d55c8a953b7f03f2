"""C types and C signatures for the FFI, with canonical keys and lowering to wasm.

Lowering follows the WebAssembly tool-conventions BasicCABI (wasm32):

* char/short/int/long/pointer -> i32 (8/16-bit values sign- or zero-extended),
  long long -> i64, float -> f32, double -> f64;
* long double is two i64 (low half first) as a parameter and returned via sret;
* a struct holding a single scalar (recursively) is passed and returned as
  that scalar; empty structs are ignored; other structs are passed as a pointer
  to a caller-made copy and returned through a pointer prepended to the
  parameters (sret);
* variadic arguments are stored in a buffer, each at its natural alignment
  (at least 4 bytes, floats promoted to double, small ints to int); the
  buffer's address is the last parameter.

Signature keys are canonical strings from a prefix-free grammar, so two
different signatures never share a key and there is no arity cap (unlike
libffi-wasm's base-5 `unsigned`, which wraps from 13 arguments on).
"""

from __future__ import annotations

import enum

import attrs

from linker.ir.types import FuncType, ValType


class CKind(enum.Enum):
    VOID = "void"
    SINT8 = "sint8"
    UINT8 = "uint8"
    SINT16 = "sint16"
    UINT16 = "uint16"
    SINT32 = "sint32"
    UINT32 = "uint32"
    SINT64 = "sint64"
    UINT64 = "uint64"
    FLOAT = "float"
    DOUBLE = "double"
    POINTER = "pointer"
    LONGDOUBLE = "longdouble"


# kind -> (key letter, size, alignment, wasm type of one value or None)
_SCALARS: dict[CKind, tuple[str, int, int, ValType | None]] = {
    CKind.VOID: ("v", 0, 1, None),
    CKind.SINT8: ("b", 1, 1, ValType.I32),
    CKind.UINT8: ("B", 1, 1, ValType.I32),
    CKind.SINT16: ("h", 2, 2, ValType.I32),
    CKind.UINT16: ("H", 2, 2, ValType.I32),
    CKind.SINT32: ("i", 4, 4, ValType.I32),
    CKind.UINT32: ("I", 4, 4, ValType.I32),
    CKind.SINT64: ("l", 8, 8, ValType.I64),
    CKind.UINT64: ("L", 8, 8, ValType.I64),
    CKind.FLOAT: ("f", 4, 4, ValType.F32),
    CKind.DOUBLE: ("d", 8, 8, ValType.F64),
    CKind.POINTER: ("p", 4, 4, ValType.I32),
    CKind.LONGDOUBLE: ("D", 16, 16, None),
}
CKIND_NAMES = frozenset(k.value for k in CKind)


@attrs.frozen(slots=True)
class CScalar:
    kind: CKind

    @property
    def size(self) -> int:
        return _SCALARS[self.kind][1]

    @property
    def align(self) -> int:
        return _SCALARS[self.kind][2]

    def key(self) -> str:
        return _SCALARS[self.kind][0]

    def __str__(self) -> str:
        return self.kind.value


@attrs.frozen(slots=True)
class CStruct:
    """A struct by value: fields laid out at natural alignment, size padded to alignment."""

    fields: tuple["CType", ...]

    @property
    def align(self) -> int:
        return max((f.align for f in self.fields), default=1)

    @property
    def size(self) -> int:
        offset = 0
        for off, f in zip(self.offsets(), self.fields):
            offset = off + f.size
        return _round_up(offset, self.align)

    def offsets(self) -> list[int]:
        """Byte offset of each field."""
        out, offset = [], 0
        for f in self.fields:
            offset = _round_up(offset, f.align)
            out.append(offset)
            offset += f.size
        return out

    def key(self) -> str:
        return "{" + ",".join(f.key() for f in self.fields) + "}"

    def __str__(self) -> str:
        return "struct { " + ", ".join(str(f) for f in self.fields) + " }"


CType = CScalar | CStruct

VOID = CScalar(CKind.VOID)


def _round_up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def singleton_scalar(t: CType) -> CScalar | None:
    """The scalar a struct collapses to under BasicCABI (recursively one scalar field), if any."""
    while isinstance(t, CStruct):
        fields = [f for f in t.fields if not is_empty(f)]
        if len(fields) != 1:
            return None
        t = fields[0]
    return t


def is_empty(t: CType) -> bool:
    """An empty struct (recursively no scalar): ignored when passed or returned."""
    return isinstance(t, CStruct) and all(is_empty(f) for f in t.fields)


@attrs.frozen(slots=True)
class CSig:
    """A C function signature.  `nfixed` is None for a non-variadic signature;
    otherwise `params[:nfixed]` are the fixed parameters and the rest are the
    (promoted) types of the variadic arguments at this call, as in libffi's
    `ffi_prep_cif_var`."""

    ret: CType
    params: tuple[CType, ...] = ()
    nfixed: int | None = None

    @property
    def variadic(self) -> bool:
        return self.nfixed is not None

    @property
    def fixed_params(self) -> tuple[CType, ...]:
        return self.params if self.nfixed is None else self.params[: self.nfixed]

    @property
    def var_params(self) -> tuple[CType, ...]:
        return () if self.nfixed is None else self.params[self.nfixed:]

    def key(self) -> str:
        """Canonical, collision-free key, e.g. ``i(p,p)`` or ``i(p|d,i)`` for varargs."""
        fixed = ",".join(p.key() for p in self.fixed_params)
        if self.nfixed is None:
            return f"{self.ret.key()}({fixed})"
        var = ",".join(p.key() for p in self.var_params)
        return f"{self.ret.key()}({fixed}|{var})"

    def __str__(self) -> str:
        parts = [str(p) for p in self.fixed_params]
        if self.nfixed is not None:
            parts.append("...")
            parts.extend(str(p) for p in self.var_params)
        return f"{self.ret}({', '.join(parts)})"


def returns_via_sret(t: CType) -> bool:
    """True when a result of type `t` is returned through a prepended pointer."""
    if is_empty(t):
        return False
    s = singleton_scalar(t)
    if s is None:
        return True
    return s.kind is CKind.LONGDOUBLE


def lower_param(t: CType) -> tuple[ValType, ...]:
    """The wasm parameter types one C argument of type `t` occupies."""
    if is_empty(t):
        return ()
    s = singleton_scalar(t)
    if s is None:
        return (ValType.I32,)  # pointer to a caller-made copy
    if s.kind is CKind.LONGDOUBLE:
        return (ValType.I64, ValType.I64)
    vt = _SCALARS[s.kind][3]
    if vt is None:
        raise ValueError("void is not a parameter type")
    return (vt,)


def lower(sig: CSig) -> FuncType:
    """The wasm function type of a C signature under BasicCABI."""
    params: list[ValType] = []
    result: ValType | None = None
    if returns_via_sret(sig.ret):
        params.append(ValType.I32)
    elif not is_empty(sig.ret):
        s = singleton_scalar(sig.ret)
        assert s is not None
        result = _SCALARS[s.kind][3]
    for p in sig.fixed_params:
        params.extend(lower_param(p))
    if sig.nfixed is not None:
        params.append(ValType.I32)  # pointer to the varargs buffer
    return FuncType(tuple(params), result)


_BY_LETTER = {v[0]: k for k, v in _SCALARS.items()}


def parse_key(key: str) -> CSig:
    """Inverse of `CSig.key()`; raises ValueError on a malformed key."""
    pos = 0

    def ctype() -> CType:
        nonlocal pos
        if pos >= len(key):
            raise ValueError(f"truncated signature key {key!r}")
        ch = key[pos]
        pos += 1
        if ch != "{":
            if ch not in _BY_LETTER:
                raise ValueError(f"bad C type letter {ch!r} in signature key {key!r}")
            return CScalar(_BY_LETTER[ch])
        fields: list[CType] = []
        while key[pos:pos + 1] != "}":
            fields.append(ctype())
            if key[pos:pos + 1] == ",":
                pos += 1
        pos += 1
        return CStruct(tuple(fields))

    def type_list(stop: str) -> list[CType]:
        nonlocal pos
        out: list[CType] = []
        while pos < len(key) and key[pos] not in stop:
            out.append(ctype())
            if key[pos:pos + 1] == ",":
                pos += 1
        return out

    ret = ctype()
    if key[pos:pos + 1] != "(":
        raise ValueError(f"malformed signature key {key!r}")
    pos += 1
    fixed = type_list("|)")
    nfixed: int | None = None
    var: list[CType] = []
    if key[pos:pos + 1] == "|":
        pos += 1
        nfixed = len(fixed)
        var = type_list(")")
    if key[pos:] != ")":
        raise ValueError(f"malformed signature key {key!r}")
    sig = CSig(ret, tuple(fixed + var), nfixed)
    if sig.key() != key:   # e.g. "i(i,)" or "i(ii)": keys are canonical, one per signature
        raise ValueError(f"non-canonical signature key {key!r} (canonical: {sig.key()!r})")
    return sig
