"""The wasm binary encoder (wasm spec chapter 5, "Binary Format").

`encode_module` writes the preamble (5.5.16: magic ``\\0asm``, version 1),
then each non-empty section in the order the spec requires: type (1),
import (2), function (3), table (4), memory (5), global (6), export (7),
start (8), element (9), data count (12), code (10), data (11).  Custom
sections (0) follow the data section, the ``name`` section (spec appendix
7.4, with the extended subsections 7 "global names" and 9 "data segment
names") last.

Every section is ``id, u32 size, contents``; vectors are ``u32 length,
elements``; names are ``u32 length, UTF-8 bytes`` (5.2.4).  Output depends
only on the module's lists, which are ordered, so the bytes are identical for
identical inputs whatever the hash seed; name maps are written by ascending
index, as the name section requires.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Sequence

from linker.ir.types import FuncType, ValType
from linker.wasm.instr import FloatBits, f32_bits, f64_bits
from linker.wasm.leb128 import write_sleb, write_uleb
from linker.wasm.module import ExternKind, Global, WasmModule

__all__ = ["encode_module", "EncodeError", "SECTION_IDS", "MAGIC", "VERSION",
           "encode_functype", "encode_name"]

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"

SECTION_IDS: dict[str, int] = {
    "custom": 0, "type": 1, "import": 2, "function": 3, "table": 4, "memory": 5,
    "global": 6, "export": 7, "start": 8, "element": 9, "code": 10, "data": 11,
    "datacount": 12,
}

_FUNCTYPE = 0x60
_FUNCREF = 0x70
_END = 0x0B
_I32_CONST = 0x41

# Name subsection ids (spec 7.4.1 and the extended-name-section proposal).
_NAME_MODULE, _NAME_FUNCS, _NAME_LOCALS, _NAME_GLOBALS, _NAME_DATA = 0, 1, 2, 7, 9


class EncodeError(ValueError):
    """The module cannot be encoded (a dangling index, a duplicate export, ...)."""


def encode_name(buf: bytearray, name: str) -> None:
    data = name.encode("utf-8")
    write_uleb(buf, len(data))
    buf += data


def encode_functype(buf: bytearray, ft: FuncType) -> None:
    buf.append(_FUNCTYPE)
    write_uleb(buf, len(ft.params))
    for p in ft.params:
        buf.append(p.code)
    results = ft.results
    write_uleb(buf, len(results))
    for r in results:
        buf.append(r.code)


def _limits(buf: bytearray, lo: int, hi: int | None) -> None:
    if hi is None:
        buf.append(0x00)
        write_uleb(buf, lo)
        return
    buf.append(0x01)
    write_uleb(buf, lo)
    write_uleb(buf, hi)


def _offset_expr(buf: bytearray, offset: int) -> None:
    if not -(1 << 31) <= offset <= (1 << 32) - 1:
        raise EncodeError(f"segment offset out of i32 range: {offset}")
    buf.append(_I32_CONST)
    write_sleb(buf, offset - (1 << 32) if offset > 0x7FFF_FFFF else offset)
    buf.append(_END)


def global_init_expr(vt: ValType, init: int | float | FloatBits) -> bytes:
    """The constant initializer expression of a global (ending in `end`)."""
    buf = bytearray()
    _global_init(buf, Global(vt, False, init))
    return bytes(buf)


def _global_init(buf: bytearray, g: Global) -> None:
    init = g.init
    t = g.type
    if t is ValType.F32 or t is ValType.F64:
        if isinstance(init, int) and not isinstance(init, bool):
            init = float(init)
        if t is ValType.F32:
            buf.append(0x43)
            buf += struct.pack("<I", f32_bits(init))
        else:
            buf.append(0x44)
            buf += struct.pack("<Q", f64_bits(init))
        buf.append(_END)
        return
    if isinstance(init, (float, FloatBits)):
        raise EncodeError(f"{t} global initialized with a float: {init!r}")
    bits = 32 if t is ValType.I32 else 64
    if not -(1 << (bits - 1)) <= init < (1 << bits):
        raise EncodeError(f"{t} global initializer out of range: {init}")
    if init >= 1 << (bits - 1):
        init -= 1 << bits
    buf.append(_I32_CONST if t is ValType.I32 else 0x42)
    write_sleb(buf, init)
    buf.append(_END)


def _section(out: bytearray, sid: int, content: bytearray | bytes) -> None:
    out.append(sid)
    write_uleb(out, len(content))
    out += content


def _vec_header(n: int) -> bytearray:
    buf = bytearray()
    write_uleb(buf, n)
    return buf


def encode_locals(buf: bytearray, locals_: Sequence[ValType]) -> None:
    """A function body's locals vector, run-length compressed."""
    _locals(buf, locals_)


# Encoded locals vectors by their types: a link's functions repeat a few
# hundred shapes (13,836 functions, 232 shapes in the 100,000-function C
# benchmark), so most functions cost a tuple and a lookup.  Bounded.
_LOCALS_MEMO: dict[tuple[ValType, ...], bytes] = {}


def _locals(buf: bytearray, locals_: Sequence[ValType]) -> None:
    key = tuple(locals_)
    enc = _LOCALS_MEMO.get(key)
    if enc is None:
        # Run-length compress consecutive locals of one type (spec 5.5.13);
        # groupby finds the runs in C.
        runs = [(t, len(list(group))) for t, group in itertools.groupby(locals_)]
        out = bytearray()
        write_uleb(out, len(runs))
        for t, count in runs:
            write_uleb(out, count)
            out.append(t.code)
        enc = bytes(out)
        if len(_LOCALS_MEMO) < 4096:
            _LOCALS_MEMO[key] = enc
    buf += enc


def _check(m: WasmModule) -> None:
    ntypes = len(m.types)
    for imp in m.imports:
        if not 0 <= imp.type_index < ntypes:
            raise EncodeError(f"import {imp.module}.{imp.field}: no type {imp.type_index}")
    for i, f in enumerate(m.functions):
        if not 0 <= f.type_index < ntypes:
            raise EncodeError(f"function {len(m.imports) + i}: no type {f.type_index}")
    nfuncs = m.num_funcs
    limits = {ExternKind.FUNC: nfuncs, ExternKind.TABLE: int(m.table is not None),
              ExternKind.MEMORY: int(m.memory is not None), ExternKind.GLOBAL: len(m.globals)}
    seen: set[str] = set()
    for e in m.exports:
        if e.name in seen:
            raise EncodeError(f"duplicate export name {e.name!r}")
        seen.add(e.name)
        if not 0 <= e.index < limits[e.kind]:
            raise EncodeError(f"export {e.name!r}: no {e.kind.name.lower()} {e.index}")
    if m.start is not None:
        if not 0 <= m.start < nfuncs:
            raise EncodeError(f"start function {m.start} does not exist")
        if m.func_type(m.start) != FuncType():
            raise EncodeError(f"start function {m.start} must have type () -> ()")
    if m.elements and m.table is None:
        raise EncodeError("element segments without a table")
    for seg in m.elements:
        for fi in seg.func_indices:
            if not 0 <= fi < nfuncs:
                raise EncodeError(f"element segment at {seg.offset}: no function {fi}")
    if m.data and m.memory is None:
        raise EncodeError("data segments without a memory")


def encode_module(m: WasmModule) -> bytes:
    """Encode `m` as a wasm binary."""
    _check(m)
    out = bytearray(MAGIC + VERSION)

    if m.types:
        buf = _vec_header(len(m.types))
        for ft in m.types:
            encode_functype(buf, ft)
        _section(out, 1, buf)

    memory_import = m.memory_import if m.memory is not None else None
    if m.imports or memory_import is not None:
        buf = _vec_header(len(m.imports) + (memory_import is not None))
        for imp in m.imports:
            encode_name(buf, imp.module)
            encode_name(buf, imp.field)
            buf.append(ExternKind.FUNC)
            write_uleb(buf, imp.type_index)
        if memory_import is not None and m.memory is not None:
            encode_name(buf, memory_import[0])
            encode_name(buf, memory_import[1])
            buf.append(ExternKind.MEMORY)
            _limits(buf, m.memory.min, m.memory.max)
        _section(out, 2, buf)

    if m.functions:
        buf = _vec_header(len(m.functions))
        for f in m.functions:
            write_uleb(buf, f.type_index)
        _section(out, 3, buf)

    if m.table is not None:
        buf = _vec_header(1)
        buf.append(_FUNCREF)
        _limits(buf, m.table.min, m.table.max)
        _section(out, 4, buf)

    if m.memory is not None and memory_import is None:
        buf = _vec_header(1)
        _limits(buf, m.memory.min, m.memory.max)
        _section(out, 5, buf)

    if m.globals:
        buf = _vec_header(len(m.globals))
        for g in m.globals:
            buf.append(g.type.code)
            buf.append(1 if g.mutable else 0)
            _global_init(buf, g)
        _section(out, 6, buf)

    if m.exports:
        buf = _vec_header(len(m.exports))
        for e in m.exports:
            encode_name(buf, e.name)
            buf.append(e.kind)
            write_uleb(buf, e.index)
        _section(out, 7, buf)

    if m.start is not None:
        buf = bytearray()
        write_uleb(buf, m.start)
        _section(out, 8, buf)

    if m.elements:
        buf = _vec_header(len(m.elements))
        for seg in m.elements:
            buf.append(0x00)  # active, table 0, funcref, vec(funcidx)
            _offset_expr(buf, seg.offset)
            write_uleb(buf, len(seg.func_indices))
            for fi in seg.func_indices:
                write_uleb(buf, fi)
        _section(out, 9, buf)

    if m.data_count:
        buf = bytearray()
        write_uleb(buf, len(m.data))
        _section(out, 12, buf)

    if m.functions:
        buf = _vec_header(len(m.functions))
        entry = bytearray()
        for f in m.functions:
            entry.clear()
            _locals(entry, f.locals)
            entry += f.body
            entry.append(_END)
            write_uleb(buf, len(entry))
            buf += entry
        _section(out, 10, buf)

    if m.data:
        buf = _vec_header(len(m.data))
        for dseg in m.data:
            buf.append(0x00)  # active, memory 0
            _offset_expr(buf, dseg.offset)
            write_uleb(buf, len(dseg.data))
            buf += dseg.data
        _section(out, 11, buf)

    for cs in m.custom_sections:
        buf = bytearray()
        encode_name(buf, cs.name)
        buf += cs.payload
        _section(out, 0, buf)

    if m.emit_names:
        names = _name_section(m)
        if names is not None:
            _section(out, 0, names)
    return bytes(out)


def _name_map(buf: bytearray, entries: Sequence[tuple[int, str]]) -> None:
    write_uleb(buf, len(entries))
    for idx, name in entries:
        write_uleb(buf, idx)
        encode_name(buf, name)


def _subsection(out: bytearray, sid: int, content: bytearray) -> None:
    out.append(sid)
    write_uleb(out, len(content))
    out += content


def _name_section(m: WasmModule) -> bytearray | None:
    """The ``name`` custom section (spec 7.4), or None when nothing is named."""
    nimports = len(m.imports)
    funcs: list[tuple[int, str]] = [
        (i, imp.name) for i, imp in enumerate(m.imports) if imp.name is not None]
    funcs += [(nimports + i, f.name) for i, f in enumerate(m.functions) if f.name is not None]
    locals_: list[tuple[int, list[tuple[int, str]]]] = [
        (nimports + i, sorted(f.local_names.items()))
        for i, f in enumerate(m.functions) if f.local_names]
    globals_ = [(i, g.name) for i, g in enumerate(m.globals) if g.name is not None]
    datas = [(i, d.name) for i, d in enumerate(m.data) if d.name is not None]
    if m.name is None and not funcs and not locals_ and not globals_ and not datas:
        return None

    out = bytearray()
    encode_name(out, "name")
    if m.name is not None:
        sub = bytearray()
        encode_name(sub, m.name)
        _subsection(out, _NAME_MODULE, sub)
    if funcs:
        sub = bytearray()
        _name_map(sub, funcs)
        _subsection(out, _NAME_FUNCS, sub)
    if locals_:
        sub = bytearray()
        write_uleb(sub, len(locals_))
        for fidx, entries in locals_:
            write_uleb(sub, fidx)
            _name_map(sub, entries)
        _subsection(out, _NAME_LOCALS, sub)
    if globals_:
        sub = bytearray()
        _name_map(sub, globals_)
        _subsection(out, _NAME_GLOBALS, sub)
    if datas:
        sub = bytearray()
        _name_map(sub, datas)
        _subsection(out, _NAME_DATA, sub)
    return out
