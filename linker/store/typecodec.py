"""Value and function types as object indices and bodies encode them.

A function type is ``[[param, ...], result or None]`` with value types as
their names (``"i32"``); decoding checks every leaf.  Apart from
`linker.store.codec` (entity bodies), which needs the whole IR model: an
object's index needs only these, and a link of C objects reads the linker's
own synthetic object (`linker.linker_symbols`) without ever decoding a body.
"""

from __future__ import annotations

from typing import Any

from linker.ir.types import FuncType, ValType, canonical

_VT = {"i32": ValType.I32, "i64": ValType.I64, "f32": ValType.F32, "f64": ValType.F64}


class CodecError(ValueError):
    """A body that does not decode (corrupt or from an incompatible writer)."""


def encode_functype(t: FuncType) -> list[Any]:
    """`t` as its index encoding."""
    return [[p.value for p in t.params], None if t.result is None else t.result.value]


# The canonical instance (`linker.ir.types.canonical`) by encoding: a hit builds
# no FuncType (a 100,000-function link decodes 92,000).  Bounded as that table is.
_INTERNED: dict[tuple[Any, Any], FuncType] = {}
_INTERN_LIMIT = 4096


def decode_functype(raw: Any) -> FuncType:
    """The FuncType of an index encoding (CodecError if it is not one)."""
    params, result = raw
    key = (tuple(params), result)
    try:
        hit = _INTERNED.get(key)
    except TypeError:       # an unhashable leaf: not a type, which `_vt` reports
        return _functype(params, result)
    if hit is None:
        hit = canonical(_functype(params, result))
        if len(_INTERNED) < _INTERN_LIMIT:
            _INTERNED[key] = hit
    return hit


def _functype(params: Any, result: Any) -> FuncType:
    return FuncType(tuple(_vt(p) for p in params), None if result is None else _vt(result))


def _vt(v: Any) -> ValType:
    if not isinstance(v, str) or v not in _VT:
        raise CodecError(f"not a value type: {_short(v)}")
    return _VT[v]


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."
