"""Copy a compiled function out of its object and patch its relocations (lld's
`InputChunk::relocate`).

A live function's bytes are sliced from the object's code section, never
decoded: each relocation site is a padded 5-byte LEB (or a 4-byte word for
the `*_I32` types), so patching writes a new value of the same width in
place and nothing moves.  The value of each site comes from the link's
resolution of the site's symbol:

* function index (`call`, `return_call`): the output function index;
* table index: the function's slot in the output table;
* memory address: the data symbol's address plus the addend; the object's
  panic-pool strings map to the link's deduplicated pool, and an FFI
  signature symbol (`__irld_ffi_sig:<key>`) to the signature's link-time id;
* global index; type index (the object's type, re-numbered in the output).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Protocol

from linker.conventions import SIG_SYMBOL_PREFIX
from linker.ir.types import FuncType, ValType
from linker.store.lines import LineTable, shifted
from linker.store.objfile import EntityRecord, ObjectError, ObjectFile
from linker.store.wasmobj import SymKind, WasmObject
from linker.wasm.leb128 import read_uleb, sleb, uleb
from linker.wasm.reloc import RelocType

_VALTYPES = {vt.code: vt for vt in ValType}
_LEB = frozenset({RelocType.FUNCTION_INDEX_LEB, RelocType.MEMORY_ADDR_LEB,
                  RelocType.TYPE_INDEX_LEB, RelocType.GLOBAL_INDEX_LEB,
                  RelocType.TABLE_NUMBER_LEB})
_SLEB = frozenset({RelocType.TABLE_INDEX_SLEB, RelocType.MEMORY_ADDR_SLEB})
_I32 = frozenset({RelocType.TABLE_INDEX_I32, RelocType.MEMORY_ADDR_I32,
                  RelocType.GLOBAL_INDEX_I32, RelocType.FUNCTION_INDEX_I32})
_TABLE = frozenset({RelocType.TABLE_INDEX_SLEB, RelocType.TABLE_INDEX_I32})
_MEMORY = frozenset({RelocType.MEMORY_ADDR_LEB, RelocType.MEMORY_ADDR_SLEB,
                     RelocType.MEMORY_ADDR_I32})


class LinkResolver(Protocol):
    """What patching needs from the link's layout and index assignment."""

    def func_index(self, symbol: str) -> int: ...
    def table_index(self, symbol: str) -> int: ...
    def symref(self, symbol: str, offset: int) -> int: ...
    def global_index(self, symbol: str) -> int: ...
    def type_index(self, ft: FuncType) -> int: ...
    def pool_address(self, text: str) -> int: ...
    def direct(self) -> tuple[dict[str, int] | None, dict[str, int]]:
        """(symbol -> function index, or None when calls may be redirected;
        data symbol -> address): patching reads these first, a symbol not in
        them goes through `func_index` and `symref`."""
        ...


def relocate_function(rec: EntityRecord, r: LinkResolver, sig_ids: Mapping[str, int],
                      compress: bool = False, moves: list[tuple[int, int]] | None = None
                      ) -> tuple[list[ValType], bytes]:
    """The locals and the patched code (without the final `end`) of `rec`.

    With `compress`, each LEB site is written at its minimal width (wasm-ld's
    `--compress-relocations`): the code shrinks, and offsets into it move;
    `moves`, if given, receives (site offset in the body, bytes removed) of
    each site, so line tables can follow (`linker.store.lines.shifted`)."""
    obj = rec.obj
    w = obj.wasm()
    fn = w.functions[rec.chunk]
    body = bytearray(w.buf[fn.start:fn.end])
    rows = (w.function_reloc_rows(rec.chunk) if rec.relocs is None
            else w.code_rows_at(*rec.relocs))
    try:
        if compress:
            body = _compressed_relocated(body, fn.code_offset, rows, obj, w, r, sig_ids,
                                         moves)
        else:
            names = obj.symbol_names()
            for rtype, offset, index, addend in zip(rows[0::4], rows[1::4], rows[2::4],
                                                    rows[3::4]):
                _patch(body, offset - fn.code_offset, rtype,
                       _value(rtype, index, addend, obj, w, r, sig_ids, names))
    except KeyError as exc:
        raise _disagree(obj, rec.name, exc) from None
    locals_, pos = _locals(body, obj.name)
    return locals_, bytes(body[pos:-1])


_FUNC_LEB: Final = int(RelocType.FUNCTION_INDEX_LEB)
_TABLE_INTS: Final = frozenset(int(t) for t in _TABLE)
_MEMORY_INTS: Final = frozenset(int(t) for t in _MEMORY)
# Plain ints: comparing with an enum member looks it up on the class each time.
_TYPE_LEB: Final = int(RelocType.TYPE_INDEX_LEB)
_TABLE_NUMBER: Final = int(RelocType.TABLE_NUMBER_LEB)
_FUNC_I32: Final = int(RelocType.FUNCTION_INDEX_I32)
_GLOBAL_LEB: Final = int(RelocType.GLOBAL_INDEX_LEB)
_GLOBAL_I32: Final = int(RelocType.GLOBAL_INDEX_I32)
# Per relocation type (the types are 0..len(RelocType) - 1), what its site is,
# for the patching loop to index instead of testing set membership per site.
_SITE_LEB: Final = 0
_SITE_SLEB: Final = 1
_SITE_I32: Final = 2
_SITE: Final[bytes] = bytes(_SITE_I32 if t in _I32 else _SITE_SLEB if t in _SLEB else _SITE_LEB
                     for t in RelocType)
_IS_MEMORY: Final[bytes] = bytes(t in _MEMORY for t in RelocType)
# Minimal-width LEBs of the small values sites get (function and global
# indices repeat across a link's functions), made on first use.
_SMALL_ULEB: Final[list[bytes | None]] = [None] * 0x4000


def _compressed_relocated(body: bytearray, base: int, rows: tuple[int, ...],
                          obj: ObjectFile, w: WasmObject, r: LinkResolver,
                          sig_ids: Mapping[str, int],
                          moves: list[tuple[int, int]] | None) -> bytearray:
    """`body` (code offsets from `base`) with each relocation's site rewritten
    (`rows`: ``type, offset, index, addend`` per relocation),
    LEBs at minimal width.  Every relocation of every live C function goes
    through this loop, so calls and memory addresses (nearly all sites) of a
    C object resolve inline, as `_value` would, and LEB encodings are reused."""
    out = bytearray()
    prev = 0
    small = _SMALL_ULEB
    names = obj.symbol_names()
    strings = obj.strings               # an irld object's panic-pool texts, by symbol
    func_index, symref = r.func_index, r.symref
    # Dictionaries, not the resolver's methods: a call into Python per site
    # cost more than the rest of the loop.
    funcs, data = r.direct()
    site, is_memory = _SITE, _IS_MEMORY
    for k in range(0, len(rows), 4):
        rtype, index, addend = rows[k], rows[k + 2], rows[k + 3]
        pos = rows[k + 1] - base
        if rtype == _FUNC_LEB:
            name = names[index]
            known = None if funcs is None else funcs.get(name)
            value = func_index(name) if known is None else known
        elif (is_memory[rtype] and (name := names[index]) not in strings
              and not name.startswith(SIG_SYMBOL_PREFIX)):
            known = data.get(name)
            value = symref(name, addend) if known is None else (known + addend) & 0xFFFFFFFF
        else:
            value = _value(rtype, index, addend, obj, w, r, sig_ids, names)
        out += body[prev:pos]
        kind = site[rtype]
        if kind == _SITE_I32:
            out += (value & 0xFFFFFFFF).to_bytes(4, "little")
            prev = pos + 4
            continue
        if kind == _SITE_SLEB:
            leb = sleb(value - (1 << 32) if value >= 1 << 31 else value)
        elif 0 <= value < 0x4000:       # indices: one or two bytes, reused
            found = small[value]
            if found is None:
                found = small[value] = uleb(value)
            leb = found
        elif value < 0x200000:          # addresses: mostly distinct, three bytes
            leb = bytes(((value & 0x7F) | 0x80, ((value >> 7) & 0x7F) | 0x80, value >> 14))
        else:
            leb = uleb(value)
        out += leb
        if moves is not None:
            moves.append((pos, 5 - len(leb)))
        prev = pos + 5
    out += body[prev:]
    return out


def relocate_segment(rec: EntityRecord, r: LinkResolver) -> bytes:
    """The patched bytes of data record `rec`'s segment."""
    obj = rec.obj
    w = obj.wasm()
    seg = w.segments[rec.chunk]
    data = bytearray(w.buf[seg.start:seg.end])
    names = obj.symbol_names()
    try:
        rows = w.segment_reloc_rows(rec.chunk)
        base = seg.data_offset_in_section
        for k in range(0, len(rows), 4):
            rtype = rows[k]
            _patch(data, rows[k + 1] - base, rtype,
                   _value(rtype, rows[k + 2], rows[k + 3], obj, w, r, {}, names))
    except KeyError as exc:
        raise _disagree(obj, rec.name, exc) from None
    return bytes(data)


def _disagree(obj: ObjectFile, name: str, exc: KeyError) -> ObjectError:
    """A relocation naming a symbol discovery never met: the object's relocations
    (or symbol table) and its irld index, which discovery read, disagree."""
    return ObjectError(obj.name, f"a relocation in '{name}' refers to {exc}, which its "
                                 "index does not list (the object is inconsistent)")


def _value(rtype: int, index: int, addend: int, obj: ObjectFile, w: WasmObject,
           r: LinkResolver, sig_ids: Mapping[str, int], names: list[str]) -> int:
    """The value a relocation of type `rtype` against symbol (or type) `index`
    with `addend` patches in (`names`: `obj.symbol_names()`)."""
    if rtype == _TYPE_LEB:
        return r.type_index(w.types[index])
    if rtype == _TABLE_NUMBER:
        return 0                          # the one function table
    strings, where = obj.strings, obj.name
    name = names[index]
    if rtype == _FUNC_LEB or rtype == _FUNC_I32:
        return r.func_index(name)
    if rtype in _TABLE_INTS:
        return r.table_index(name)
    if rtype in _MEMORY_INTS:
        text = strings.get(name)
        if text is not None:
            return (r.pool_address(text) + addend) & 0xFFFFFFFF
        if name.startswith(SIG_SYMBOL_PREFIX):
            return sig_ids[name[len(SIG_SYMBOL_PREFIX):]]
        return r.symref(name, addend)
    if rtype == _GLOBAL_LEB or rtype == _GLOBAL_I32:
        if w.symbol_kinds()[index] in (SymKind.DATA, SymKind.FUNCTION):
            # clang -fPIC's GOT access: only a side module has a GOT (linker.shared).
            raise ObjectError(where, f"relocation {RelocType(rtype).name} against '{name}' "
                                     "is a GOT access of position-independent code: link it "
                                     "with --shared, or compile without -fPIC")
        return r.global_index(name)
    raise ObjectError(where, f"unsupported relocation type {RelocType(rtype).name} "
                             f"against '{name}'")


def _patch(body: bytearray, pos: int, rtype: int, value: int) -> None:
    if rtype in _I32:
        body[pos:pos + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")
        return
    if rtype in _SLEB:
        value = value - (1 << 32) if value >= 1 << 31 else value
    v = value
    for k in range(4):
        body[pos + k] = (v & 0x7F) | 0x80
        v >>= 7
    body[pos + 4] = v & 0x7F


def _locals(body: bytearray, where: str) -> tuple[list[ValType], int]:
    n, pos = read_uleb(body, 0)
    out: list[ValType] = []
    for _ in range(n):
        count, pos = read_uleb(body, pos)
        vt = _VALTYPES.get(body[pos])
        if vt is None:
            raise ObjectError(where, f"unsupported local type 0x{body[pos]:02x}")
        out += [vt] * count
        pos += 1
    return out, pos


def relocated_lines(rec: EntityRecord, moves: Sequence[tuple[int, int]]) -> LineTable:
    """`rec`'s line table (`linker.store.lines`) as offsets into the code
    `relocate_function` returned, after the `moves` it reported."""
    table = rec.obj.line_table(rec.chunk)
    if not table:
        return []
    w = rec.obj.wasm()
    fn = w.functions[rec.chunk]
    _types, base = _locals(bytearray(w.buf[fn.start:fn.end]), rec.obj.name)
    return shifted(table, moves, base)
