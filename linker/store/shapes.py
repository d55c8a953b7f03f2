"""Checking decoded input against its expected shape before anything uses it.

A checksum says a file is what its writer wrote, not that the writer was
irld: a hostile or buggy producer can write a valid checksum over any
msgpack tree.  So every decoded structure (an object's `irld.index`, an IR
body, a report) is checked here for types, ranges and sizes first, and a
mismatch becomes one `ShapeError` naming the place (`entities[3][7]`) and
what was expected; the readers turn it into their own diagnostic with the
file name.  The checks are plain functions over the decoded value (no
schema library: the shapes are few, and each check is one line), iterative
where input decides the depth.

The index shapes follow `linker.store.objfile.encode_index`; declared sizes
are bounded by what wasm32 can hold (4 GiB), and body offsets and lengths by
the real size of the `irld.ir` section.  A link checks every loaded object's
index, so the index has a second, fast check (`index_ok`: a yes or no, plain
loops, no paths) and the combinators run only on an index it refuses, to say
what is wrong; a test holds the two to the same verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

U32 = (1 << 32) - 1
MAX_ALIGN = 1 << 16          # larger than any alignment a wasm32 item can use
VALTYPES = frozenset({"i32", "i64", "f32", "f64"})


class ShapeError(ValueError):
    """A decoded value of the wrong type, range or size: `where` is its path."""

    def __init__(self, where: str, expected: str, got: Any) -> None:
        self.where = where
        super().__init__(f"{where}: expected {expected}, got {_show(got)}")


def _show(v: Any) -> str:
    text = repr(v) if not isinstance(v, (list, dict)) else type(v).__name__
    return text if len(text) <= 40 else text[:37] + "..."


Check = Callable[[Any, str], None]


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


MISSING = _Missing()


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def integer(lo: int, hi: int) -> Check:
    def check(v: Any, where: str) -> None:
        if not is_int(v) or not lo <= v <= hi:
            raise ShapeError(where, f"an integer in [{lo}, {hi}]", v)
    return check


def text(v: Any, where: str) -> None:
    if not isinstance(v, str):
        raise ShapeError(where, "a string", v)


def boolean(v: Any, where: str) -> None:
    if not isinstance(v, bool):
        raise ShapeError(where, "a boolean", v)


def valtype(v: Any, where: str) -> None:
    if v not in VALTYPES or not isinstance(v, str):
        raise ShapeError(where, "a value type (i32, i64, f32, f64)", v)


def optional(check: Check) -> Check:
    def opt(v: Any, where: str) -> None:
        if v is not None:
            check(v, where)
    return opt


def number(v: Any, where: str) -> None:
    """A finite int or float (JSON may hold NaN and Infinity)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or \
            (isinstance(v, float) and not math.isfinite(v)):
        raise ShapeError(where, "a finite number", v)


def list_of(check: Check, *, min_len: int = 0, max_len: int | None = None) -> Check:
    def each(v: Any, where: str) -> None:
        if not isinstance(v, list):
            raise ShapeError(where, "a list", v)
        if len(v) < min_len or (max_len is not None and len(v) > max_len):
            size = f"{min_len}" if max_len == min_len else f"{min_len} to {max_len}"
            raise ShapeError(where, f"a list of {size} items", f"{len(v)} items")
        for i, x in enumerate(v):
            check(x, f"{where}[{i}]")
    return each


def tuple_of(*checks: Check) -> Check:
    def fixed(v: Any, where: str) -> None:
        if not isinstance(v, list) or len(v) != len(checks):
            raise ShapeError(where, f"a list of {len(checks)} items", v)
        for i, (x, check) in enumerate(zip(v, checks)):
            check(x, f"{where}[{i}]")
    return fixed


def record(**fields: Check) -> Check:
    def keyed(v: Any, where: str) -> None:
        if not isinstance(v, dict):
            raise ShapeError(where, "a map", v)
        for key, check in fields.items():
            if key not in v:
                raise ShapeError(f"{where}.{key}" if where else key, "a value", MISSING)
            check(v[key], f"{where}.{key}" if where else key)
    return keyed


# ---------------------------------------------------------------- the object index


functype = tuple_of(list_of(valtype), optional(valtype))


def _power_of_two(v: Any, where: str) -> None:
    integer(1, MAX_ALIGN)(v, where)
    if v & (v - 1):
        raise ShapeError(where, "a power of two", v)


def _info(kind: int) -> Check:
    """The `info` field of an entity by kind (see `objfile.EntityRecord`)."""
    return (functype,                                            # FUNC
            tuple_of(text, text, functype),                      # IMPORT
            tuple_of(text, text, text),                          # FOREIGN_IMPORT
            tuple_of(integer(0, U32), _power_of_two, boolean),   # DATA
            tuple_of(valtype, _global_init))[kind]               # GLOBAL


def _global_init(v: Any, where: str) -> None:
    if isinstance(v, float):
        return
    integer(-(1 << 63), (1 << 64) - 1)(v, where)


def _refs(edge_kinds: int) -> Check:
    edge = integer(0, edge_kinds - 1)

    def flat(v: Any, where: str) -> None:
        if not isinstance(v, list) or len(v) % 2:
            raise ShapeError(where, "a list of (symbol, edge) pairs", v)
        for i in range(0, len(v), 2):
            text(v[i], f"{where}[{i}]")
            edge(v[i + 1], f"{where}[{i + 1}]")
    return flat


def check_index(index: Any, kinds: int, edge_kinds: int, bodies_size: int) -> None:
    """Raise ShapeError unless `index` has the shape `encode_index` writes, with
    every body inside the `bodies_size` bytes of the `irld.ir` section.

    Every loaded irld object's index is checked, a check per field of every
    entity (half of a 100,000-function link when each field went through the
    combinators above), so a well-formed index is recognised by `index_ok`,
    which builds no path and calls nothing per field; only an index it refuses
    is walked again by the combinators, to say where and what is wrong."""
    if not index_ok(index, kinds, edge_kinds, bodies_size):
        _explain_index(index, kinds, edge_kinds, bodies_size)


def _explain_index(index: Any, kinds: int, edge_kinds: int, bodies_size: int) -> None:
    record(module=text, entities=list_of(lambda v, w: None),
           exports=list_of(tuple_of(text, text)),
           ctors=list_of(tuple_of(text, integer(-(1 << 31), U32))),
           extern_funcs=list_of(tuple_of(text, functype)),
           extern_globals=list_of(tuple_of(text, valtype)),
           csigs=list_of(tuple_of(text, text, optional(integer(0, 1 << 16)))),
           foreign_exports=list_of(tuple_of(text, text, text)),
           strings=list_of(tuple_of(text, text)))(index, "")
    kind = integer(0, kinds - 1)
    refs = _refs(edge_kinds)
    offset = integer(0, bodies_size)
    for i, r in enumerate(index["entities"]):
        where = f"entities[{i}]"
        if not isinstance(r, list) or len(r) != 12:
            raise ShapeError(where, "an entity record of 12 fields", r)
        kind(r[1], f"{where}[1]")
        for k, check in ((0, text), (2, boolean), (3, _info(r[1])), (4, refs),
                         (5, list_of(text)), (6, optional(text)), (7, offset), (8, offset),
                         (9, integer(0, U32)), (10, list_of(text)),
                         (11, tuple_of(integer(0, U32), integer(0, U32)))):
            check(r[k], f"{where}[{k}]")
        if r[7] + r[8] > bodies_size:
            raise ShapeError(f"{where}[7]", f"a body inside the {bodies_size}-byte IR "
                                            "section", f"{r[8]} bytes at offset {r[7]}")


# `index_ok` accepts exactly what `_explain_index` accepts, for the values msgpack
# decodes (tests/fuzz/test_structure.py compares the two on every example's index
# and on thousands of random damages).  Plain loops and exact type tests: the
# module is compiled (`linker.native`), where each is a pointer comparison.


def _texts(v: Any) -> bool:
    if type(v) is not list:
        return False
    for x in v:
        if type(x) is not str:
            return False
    return True


def _valtype_ok(v: Any) -> bool:
    return type(v) is str and v in VALTYPES


def _functype(v: Any) -> bool:
    if type(v) is not list or len(v) != 2 or type(v[0]) is not list:
        return False
    for t in v[0]:
        if not _valtype_ok(t):
            return False
    return v[1] is None or _valtype_ok(v[1])


def _u32(v: Any) -> bool:
    return type(v) is int and 0 <= v <= U32


def _info_ok(kind: int, v: Any) -> bool:
    if kind == 0:
        return _functype(v)
    if type(v) is not list:
        return False
    if kind == 1:
        return len(v) == 3 and type(v[0]) is str and type(v[1]) is str and _functype(v[2])
    if kind == 2:
        return len(v) == 3 and type(v[0]) is str and type(v[1]) is str and type(v[2]) is str
    if kind == 3:
        if len(v) != 3 or not _u32(v[0]) or type(v[2]) is not bool:
            return False
        a = v[1]
        return type(a) is int and 1 <= a <= MAX_ALIGN and not a & (a - 1)
    if kind == 4:
        if len(v) != 2 or not _valtype_ok(v[0]):
            return False
        init = v[1]
        return type(init) is float or type(init) is int and -(1 << 63) <= init <= (1 << 64) - 1
    return False


def _refs_ok(v: Any, edge_kinds: int) -> bool:
    """(symbol, edge) pairs, flattened."""
    if type(v) is not list or len(v) & 1:
        return False
    for i in range(0, len(v), 2):
        edge = v[i + 1]
        if type(v[i]) is not str or type(edge) is not int or not 0 <= edge < edge_kinds:
            return False
    return True


def _pairs_ok(v: Any, first: Callable[[Any], bool], second: Callable[[Any], bool]) -> bool:
    return type(v) is list and all(type(x) is list and len(x) == 2 and first(x[0])
                                   and second(x[1]) for x in v)


def _triples_ok(v: Any, third: Callable[[Any], bool]) -> bool:
    return type(v) is list and all(type(x) is list and len(x) == 3 and type(x[0]) is str
                                   and type(x[1]) is str and third(x[2]) for x in v)


def _is_text(v: Any) -> bool:
    return type(v) is str


def _ctor_priority(v: Any) -> bool:
    return type(v) is int and -(1 << 31) <= v <= U32


def _csig_size(v: Any) -> bool:
    return v is None or type(v) is int and 0 <= v <= 1 << 16


def _header_ok(index: Any) -> bool:
    """The index's fields other than the entity records."""
    if type(index) is not dict or type(index.get("module")) is not str:
        return False
    return (type(index.get("entities")) is list
            and _pairs_ok(index.get("exports"), _is_text, _is_text)
            and _pairs_ok(index.get("ctors"), _is_text, _ctor_priority)
            and _pairs_ok(index.get("extern_funcs"), _is_text, _functype)
            and _pairs_ok(index.get("extern_globals"), _is_text, _valtype_ok)
            and _pairs_ok(index.get("strings"), _is_text, _is_text)
            and _triples_ok(index.get("csigs"), _csig_size)
            and _triples_ok(index.get("foreign_exports"), _is_text))


def index_ok(index: Any, kinds: int, edge_kinds: int, bodies_size: int) -> bool:
    """Whether `index` passes `check_index`, without saying why not: one loop over
    the entity records, no path strings."""
    if not _header_ok(index):
        return False
    for r in index["entities"]:
        if type(r) is not list or len(r) != 12:
            return False
        name, kind, private, info, refs, sigs, error, off, length, crc, texts, relocs = r
        if (type(name) is not str or type(kind) is not int or not 0 <= kind < kinds
                or type(private) is not bool or not _info_ok(kind, info)
                or not _refs_ok(refs, edge_kinds) or not _texts(sigs)
                or not (error is None or type(error) is str) or not _texts(texts)):
            return False
        if (type(off) is not int or type(length) is not int or off < 0 or length < 0
                or off + length > bodies_size or not _u32(crc)):
            return False
        if (type(relocs) is not list or len(relocs) != 2 or not _u32(relocs[0])
                or not _u32(relocs[1])):
            return False
    return True


# ---------------------------------------------------------------- the link report


def _any(v: Any, where: str) -> None:
    return None


def _map(v: Any, where: str) -> None:
    if not isinstance(v, dict):
        raise ShapeError(where, "a map", v)


def optional_key(**fields: Check) -> Check:
    """A map whose listed keys, where present, pass their checks."""
    def keyed(v: Any, where: str) -> None:
        _map(v, where)
        for key, check in fields.items():
            if key in v:
                check(v[key], f"{where}.{key}")
    return keyed


_size = integer(0, U32)
_index = optional(integer(0, U32))
_pair = tuple_of(text, text)
_entity_required = record(name=text, kind=text, input=text, size=_size)
_entity_optional = optional_key(bytes=_size, reason=optional(optional_key(
    parent=optional(text), kind=optional(text))), func_index=_index, table_index=_index,
    address=_index, offset=_index, refs=list_of(_pair))


def _entity(v: Any, where: str) -> None:
    _entity_required(v, where)
    _entity_optional(v, where)


def check_report(d: Any) -> None:
    """Raise ShapeError unless `d` (a decoded `irld-report/1`) has the types and
    ranges the report tools rely on (docs/report.md)."""
    record(output=optional_key(bytes=_size), roots=list_of(record(
        symbol=text, kind=text, origin=text)), live=list_of(_entity))(d, "")
    optional_key(dead=list_of(_entity), objects=list_of(record(name=text)),
                 unloaded_members=list_of(record(archive=text, member=text, size=_size,
                                                 symbols=list_of(text))),
                 inputs=list_of(_any), options=_map, memory=_map, table=_map,
                 panic_pool=list_of(_any), ffi=list_of(_any), counts=_map, timings=list_of(_any),
                 irld=text, ffi_totals=_map)(d, "")
