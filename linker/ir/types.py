"""Wasm value types and function types: the type vocabulary shared by the IR, verifier and encoder."""

from __future__ import annotations

import enum

import attrs


class ValType(enum.Enum):
    """A wasm value type; `.value` is its text name, `code` its binary type code."""

    I32 = "i32"
    I64 = "i64"
    F32 = "f32"
    F64 = "f64"

    # Members are singletons compared by identity: hash them by identity too
    # (C-level), not by name through Enum's Python-level `__hash__` (types key
    # the encoder's locals memo and every function type's hash).
    __hash__ = object.__hash__

    @property
    def code(self) -> int:
        return _CODES[self]

    @property
    def is_int(self) -> bool:
        return self in (ValType.I32, ValType.I64)

    @property
    def is_float(self) -> bool:
        return self in (ValType.F32, ValType.F64)

    @property
    def bits(self) -> int:
        return 32 if self in (ValType.I32, ValType.F32) else 64

    @staticmethod
    def parse(name: str) -> "ValType":
        return _BY_NAME[name]

    def __str__(self) -> str:
        return self.value


# Binary type codes from the wasm spec (section 5.3.1); kept in one place so a
# golden test pins them (a typo like b"\6F" once shipped in ppci).
_CODES = {ValType.I32: 0x7F, ValType.I64: 0x7E, ValType.F32: 0x7D, ValType.F64: 0x7C}
_BY_NAME = {t.value: t for t in ValType}
VALTYPE_NAMES = frozenset(_BY_NAME)


# The hash is cached: a link looks up the type of every function it emits,
# and hashing the parameter tuple hashes each ValType in Python (Enum.__hash__).
@attrs.frozen(slots=True, cache_hash=True)
class FuncType:
    """A function signature: parameter types and at most one result."""

    params: tuple[ValType, ...] = ()
    result: ValType | None = None

    @property
    def results(self) -> tuple[ValType, ...]:
        return () if self.result is None else (self.result,)

    def __str__(self) -> str:
        params = ", ".join(p.value for p in self.params)
        tail = "" if self.result is None else f" -> {self.result.value}"
        return f"({params}){tail}"


# A program has few distinct function types and its objects name them over and over
# (a 100,000-function link reads about 92,000).  The object readers hand out one
# instance per type, so lookups keyed by a type (`WasmModule.type_index`, the
# signature checks) hit by identity: `==` on an attrs class runs `__eq__` in
# Python.  Bounded, in case an input names very many.
_CANONICAL: dict[FuncType, FuncType] = {}
_CANONICAL_LIMIT = 4096


def canonical(ft: FuncType) -> FuncType:
    """The one instance of the type equal to `ft` (`ft` itself the first time)."""
    hit = _CANONICAL.get(ft)
    if hit is None:
        hit = ft
        if len(_CANONICAL) < _CANONICAL_LIMIT:
            _CANONICAL[ft] = ft
    return hit
