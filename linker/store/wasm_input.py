"""A standard WebAssembly object (clang, LLVM, zig) as the store sees it (lld's `ObjFile`).

An object without irld's index is read whole when it is loaded (from the
command line, or when an archive member is pulled): its symbol table,
segments and relocations become the same entity records an irld object's
index holds, so discovery, the reports and emission treat C and IR alike.

* A defined function symbol is a FUNC record whose references are the
  symbols its code relocations name: `call` sites (FUNCTION_INDEX) are call
  edges, table indices and memory addresses are address-taken edges, global
  indices are global accesses.
* A data segment is one DATA record, named by the symbol at its offset 0;
  any other symbol in the segment is an alias record that keeps the segment
  alive and lives at the segment's address plus its offset (liveness is per
  segment, as in lld).  Its references come from the segment's relocations.
* An undefined function with an import module other than `env` (wasi-libc's
  `__imported_wasi_snapshot_preview1_*`) is a host import, like IR's
  `import func`; other undefined symbols are references only, resolved by
  name, and their declared types feed the signature check.
* A function named by several symbols is one FUNC record; the other
  symbols are alias records that resolve to its index and table slot.
* COMDAT groups are listed with the records they hold; the store keeps the
  first group of each name and drops the others whole (`Store.add_object`).
* Local (`static`) symbols are renamed `<name>@<object>` so two objects may
  each have one; init functions become ctors with their priority; symbols
  marked exported are exports and roots; `used` (NO_STRIP) ones are roots only.

With an index cache (`linker.store.objcache`), `cached_wasm_object` restores
all of this from the object's entry (`restore_object`, the inverse of
`object_snapshot` and `WasmObject.snapshot`) instead of reading it.
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, Any, Final

from linker.ir.edges import EdgeKind
from linker.ir.types import FuncType, ValType
from linker.store.objfile import (EDGE_CODES, EDGE_INDEX, INDEX_SECTION, EntityKind, EntityRecord,
                                  LoadStats, ObjectError, ObjectFile, map_file, scan_sections)
from linker.store.wasmobj import (WASM_SYM_ABSOLUTE, WASM_SYM_BINDING_LOCAL,
                                  WASM_SYM_BINDING_WEAK, WASM_SYM_EXPORTED, WASM_SYM_NO_STRIP,
                                  WASM_SYM_TLS, WASM_SYM_UNDEFINED, WASM_SYM_VISIBILITY_HIDDEN, Symbol, SymKind, WasmObject,
                                  WasmObjectError, read_object)
from linker.wasm.leb128 import read_sleb
from linker.wasm.reloc import RelocType

if TYPE_CHECKING:
    from linker.store.objcache import IndexCache

_R = RelocType
_ADDRESS_CODE: Final = EDGE_INDEX[EdgeKind.ADDRESS]
_DATA_CODE: Final = EDGE_INDEX[EdgeKind.DATA_REF]
# Relocation type (a plain int: no enum hashing in the loop) -> edge code; an
# address edge becomes a data reference when the relocation is in data.
_EDGE_OF: dict[int, int] = {
    **{int(t): EDGE_INDEX[EdgeKind.CALL] for t in (_R.FUNCTION_INDEX_LEB, _R.FUNCTION_INDEX_I32)},
    **{int(t): EDGE_INDEX[EdgeKind.GLOBAL] for t in (_R.GLOBAL_INDEX_LEB, _R.GLOBAL_INDEX_I32)},
    **{int(t): _ADDRESS_CODE for t in (
        _R.TABLE_INDEX_SLEB, _R.TABLE_INDEX_I32, _R.MEMORY_ADDR_LEB, _R.MEMORY_ADDR_SLEB,
        _R.MEMORY_ADDR_I32, _R.MEMORY_ADDR_REL_SLEB, _R.TABLE_INDEX_REL_SLEB,
        _R.MEMORY_ADDR_LOCREL_I32)},
}
_PULLING = frozenset({SymKind.FUNCTION, SymKind.DATA, SymKind.GLOBAL})
FFI_SIGNATURES_SECTION = "irld.ffi_signatures"
ENTRY_NAMES = frozenset({"_start", "_initialize"})
_IGNORED: Final = frozenset({int(_R.TYPE_INDEX_LEB), int(_R.TABLE_NUMBER_LEB)})
_SECTION: Final = int(SymKind.SECTION)
_CODES: Final = len(EDGE_CODES)
# `_EDGE_OF` as a table indexed by relocation type (the reader admits only
# types below len(RelocType)); _NO_EDGE for the others.
_NO_EDGE: Final = 255
_EDGE_TABLE: Final = bytes(_EDGE_OF.get(int(t), _NO_EDGE) for t in _R)


def object_from_buffer(buf: Any, start: int, length: int, name: str,
                       stats: LoadStats | None = None,
                       cache: IndexCache | None = None) -> ObjectFile:
    """Open the object at buf[start:start+length]: an irld object by its index,
    any other WebAssembly object by its symbol table and relocations (through
    `cache` when given: `linker.store.objcache`)."""
    stats = stats if stats is not None else LoadStats()
    end = start + length
    sections = scan_sections(buf, start, end, name)
    if any(n == INDEX_SECTION for _sid, n, _s0, _s1 in sections):
        return ObjectFile.from_buffer(buf, start, length, name, stats)
    if cache is not None:
        return cached_wasm_object(buf, start, end, name, stats, cache)
    return read_wasm_object(buf, start, end, name, stats)


def open_object(path: str, stats: LoadStats | None = None,
                cache: IndexCache | None = None) -> ObjectFile:
    """Open an object file (irld's or any other WebAssembly object)."""
    buf = map_file(path)
    return object_from_buffer(buf, 0, len(buf), path, stats, cache)


def cached_wasm_object(buf: Any, start: int, end: int, name: str, stats: LoadStats,
                       cache: IndexCache) -> ObjectFile:
    """`read_wasm_object` through the index cache: restored from the object's
    entry when there is a good one, else read and remembered for writing."""
    key = cache.key(buf, start, end, name)
    snap = cache.load(key)
    if snap is not None:
        try:
            obj = restore_object(snap, buf, start, end, name, stats)
        except Exception:       # a verified entry of an unexpected shape: read cold
            cache.reject()
        else:
            stats.indices_read += 1
            stats.bytes_read += end - start
            _track(cache, key, obj, fresh=False)
            return obj
    obj = read_wasm_object(buf, start, end, name, stats)
    _track(cache, key, obj, fresh=True)
    return obj


def _track(cache: IndexCache, key: bytes, obj: ObjectFile, fresh: bool) -> None:
    """Register the object's entry, made when the cache is flushed from what
    reading gave: the store may drop COMDAT groups from `obj` meanwhile, by
    replacing its lists, never by changing them."""
    w = obj.wasm()
    read = ObjectFile(name=obj.name, module=obj.module, records=obj.records,
                      exports=obj.exports, ctors=obj.ctors, extern_funcs=obj.extern_funcs,
                      extern_globals=obj.extern_globals, csigs={}, foreign_exports=[],
                      buf=b"", kept=obj.kept, comdats=obj.comdats, undefined=obj.undefined,
                      weak_undefined=obj.weak_undefined, link_names=obj.link_names,
                      ffi_signatures=obj.ffi_signatures)
    reader = obj.refs_from_relocs
    assert isinstance(reader, _ReferenceReader)

    def payload() -> dict[str, Any]:
        return {"object": object_snapshot(read), "wasm": w.snapshot()}

    def progress() -> tuple[int, ...]:
        return (w.newly_decoded_functions(), reader.computed, w.code_ranges_known,
                w.data_relocs_known)

    cache.track(key, payload, progress, fresh)


def read_wasm_object(buf: Any, start: int, end: int, name: str,
                     stats: LoadStats) -> ObjectFile:
    """The records of the standard object at buf[start:end] (see the module docstring)."""
    try:
        w = read_object(buf, name, start=start, end=end)
    except WasmObjectError as exc:
        raise ObjectError(name, exc.reason) from None
    stats.indices_read += 1
    stats.bytes_read += end - start
    names = _link_names(w, name)
    obj = ObjectFile(name=name, module=os.path.basename(name), records=[], exports=[],
                     ctors=[], extern_funcs={}, extern_globals={}, csigs={},
                     foreign_exports=[], buf=buf, stats=stats, span=(start, end))
    obj.link_names = names
    obj.set_wasm(w)
    obj.refs_from_relocs = _ReferenceReader(w, names, name)
    _functions(w, obj, names)
    _data(w, obj, names)
    _globals_and_undefined(w, obj, names)
    obj.ctors = [(names[sym], prio) for prio, sym in w.init_funcs]
    obj.comdats = _comdat_members(w, obj)
    _by_flags(w, obj, names)
    sigs = w.custom_section(FFI_SIGNATURES_SECTION)     # IRLD_FFI_SIGNATURE (irld_ffi.h)
    if sigs is not None:
        obj.ffi_signatures = bytes(sigs).decode("utf-8", "replace")
    return obj


def _by_flags(w: WasmObject, obj: ObjectFile, names: list[str]) -> None:
    """The weak and strong undefined symbols, the exports and the kept symbols,
    in symbol order (one pass over the symbols: a library object has thousands)."""
    weak_undefined: list[str] = []
    undefined: list[str] = []
    exports: list[tuple[str, str]] = []
    kept: list[str] = []
    for i, s in enumerate(w.symbols):
        flags = s.flags
        if flags & WASM_SYM_UNDEFINED:
            if flags & WASM_SYM_BINDING_WEAK:
                weak_undefined.append(names[i])
            elif s.kind in _PULLING and (s.import_module or "env") == "env":
                undefined.append(names[i])
        elif flags & WASM_SYM_EXPORTED:
            # crt1's `_start` is an entry, which the linker's own `_start`
            # calls (after the ctors), not an export of its own.
            if s.kind is SymKind.FUNCTION and s.name not in ENTRY_NAMES:
                exports.append((names[i], names[i]))
        elif flags & WASM_SYM_NO_STRIP and s.kind in (SymKind.FUNCTION, SymKind.DATA):
            # `__attribute__((used))` keeps a symbol alive without exporting it
            # (lld's MarkLive enqueues no-strip symbols; only EXPORTED ones are
            # exports).
            kept.append(names[i])
    obj.weak_undefined = frozenset(weak_undefined)
    obj.undefined = undefined
    obj.exports = exports
    obj.kept = kept


def _link_names(w: WasmObject, where: str) -> list[str]:
    base = os.path.basename(where)
    section = SymKind.SECTION
    return [f"{s.name}@{base}" if s.flags & WASM_SYM_BINDING_LOCAL and s.kind is not section
            else s.name for s in w.symbols]


def _record(obj: ObjectFile, name: str, kind: EntityKind, local: bool, info: Any,
            refs: list[Any] | None, chunk: int = -1, weak: bool = False,
            hidden: bool = False) -> EntityRecord:
    rec = EntityRecord(name, kind, local, info, refs, (), None, 0, 0, 0, obj, (), chunk,
                       weak=weak, hidden=hidden)
    obj.records.append(rec)
    return rec


class _ReferenceReader:
    """A record's references from its relocations, computed when discovery first
    reaches it: most functions of a library are never live, and their
    references are never needed."""

    def __init__(self, w: WasmObject, names: list[str], where: str) -> None:
        self.w, self.names, self.where = w, names, where
        self.computed = 0           # records whose references were computed here
        self.unique: bool | None = None     # no two symbols share a name (once known)

    def __call__(self, rec: EntityRecord) -> list[Any]:
        w = self.w
        self.computed += 1
        try:
            if rec.kind is EntityKind.FUNC:
                return self.refs(w.function_reloc_rows(rec.chunk), _ADDRESS_CODE)
            return self.refs(w.segment_reloc_rows(rec.chunk), _DATA_CODE)
        except WasmObjectError as exc:
            raise ObjectError(self.where, exc.reason) from None

    def refs(self, rows: tuple[int, ...], address_code: int) -> list[Any]:
        """Flat (symbol, edge code) pairs of the relocations (`reloc_rows`),
        first mention first."""
        # Keyed by symbol index and edge code as one int (no tuple per
        # relocation), then by name (two symbols of an object may share one).
        seen: dict[int, None] = {}
        kinds, table = self.w.symbol_kinds(), _EDGE_TABLE
        for k in range(0, len(rows), 4):
            t = rows[k]
            code = table[t] if t < len(table) else _NO_EDGE
            if code == _NO_EDGE:
                if t in _IGNORED:
                    continue
                raise ObjectError(self.where, f"unsupported relocation type "
                                              f"{RelocType(t).name} (position-independent or "
                                              "64-bit code is not linked yet)")
            index = rows[k + 2]
            if kinds[index] == _SECTION:
                continue
            seen[index * _CODES + (address_code if code == _ADDRESS_CODE else code)] = None
        names = self.names
        flat: list[Any] = []
        if self.unique is None:
            self.unique = len(set(names)) == len(names)
        if self.unique:
            for key in seen:
                flat.append(names[key // _CODES])
                flat.append(key % _CODES)
            return flat
        pairs: dict[tuple[str, int], None] = {}
        for key in seen:
            pair = (names[key // _CODES], key % _CODES)
            if pair not in pairs:
                pairs[pair] = None
                flat += pair
        return flat


def _functions(w: WasmObject, obj: ObjectFile, names: list[str]) -> None:
    """One FUNC record per defined function; its other symbols are aliases.

    clang names one function with several symbols (`int main(void)` is both
    `__original_main` and `__main_void`); lld gives them one function index.
    The primary symbol is the first strong global one (else the first local,
    else the first weak one, which a strong definition elsewhere may replace);
    the others reference it and resolve to its index and table slot, so the
    body is copied once and a pointer to either name compares equal."""
    base = w.num_imported_funcs
    by_func: dict[int, list[int]] = {}
    func = SymKind.FUNCTION
    symbols = w.symbols
    for i, s in enumerate(symbols):
        if s.kind is func and not s.flags & WASM_SYM_UNDEFINED:
            group = by_func.get(s.index)
            if group is None:
                by_func[s.index] = [i]
            else:
                group.append(i)
    functions, types = w.functions, w.types
    append = obj.records.append
    FUNC = EntityKind.FUNC
    for index, syms in by_func.items():
        ft = types[functions[index - base].type_index]
        if len(syms) == 1:
            # Nearly every function has one symbol: no ranking to do, and
            # the record made inline (one pass per function of the object).
            first = syms[0]
            f = symbols[first].flags
            append(EntityRecord(names[first], FUNC, bool(f & WASM_SYM_BINDING_LOCAL), ft, None,
                                (), None, 0, 0, 0, obj, (), index - base, None,
                                bool(f & WASM_SYM_BINDING_WEAK),
                                bool(f & WASM_SYM_VISIBILITY_HIDDEN)))
            continue
        first = min(syms, key=lambda i: (symbols[i].weak, symbols[i].local, i))
        s = symbols[first]
        _record(obj, names[first], FUNC, s.local, ft, None, index - base, s.weak, s.hidden)
        for i in syms:
            if i == first:
                continue
            a = w.symbols[i]
            alias = _record(obj, names[i], EntityKind.FUNC, a.local, ft,
                            [names[first], EDGE_INDEX[EdgeKind.CALL]], weak=a.weak,
                            hidden=a.hidden)
            alias.alias = (names[first], 0)


def _data(w: WasmObject, obj: ObjectFile, names: list[str]) -> None:
    by_segment: dict[int, list[tuple[int, Symbol, int]]] = {}
    data = SymKind.DATA
    skip = WASM_SYM_UNDEFINED | WASM_SYM_ABSOLUTE
    for i, s in enumerate(w.symbols):
        if s.kind is data and not s.flags & skip:
            if s.flags & WASM_SYM_TLS:
                raise ObjectError(obj.name, f"thread-local data '{s.name}' is not supported")
            group = by_segment.get(s.index)
            if group is None:
                by_segment[s.index] = [(s.offset, s, i)]
            else:
                group.append((s.offset, s, i))
    append = obj.records.append
    DATA = EntityKind.DATA
    base = os.path.basename(obj.name)
    for seg_index in sorted(by_segment):
        seg = w.segments[seg_index]
        syms = by_segment[seg_index]
        readonly = seg.name.startswith(".rodata")
        info = (seg.end - seg.start, 1 << seg.alignment, readonly)
        first_off, first, first_i = syms[0]
        if len(syms) == 1 and first_off == 0:
            # Nearly every segment (clang's -fdata-sections) holds one symbol.
            f = first.flags
            append(EntityRecord(names[first_i], DATA, bool(f & WASM_SYM_BINDING_LOCAL), info,
                                None, (), None, 0, 0, 0, obj, (), seg_index, None,
                                bool(f & WASM_SYM_BINDING_WEAK),
                                bool(f & WASM_SYM_VISIBILITY_HIDDEN)))
            continue
        syms.sort(key=lambda x: (x[0], x[2]))
        first_off, first, first_i = syms[0]
        primary = names[first_i] if first_off == 0 else f"{seg.name}@{base}"
        _record(obj, primary, DATA, first.local if first_off == 0 else True, info, None,
                seg_index, first.weak and first_off == 0, first.hidden or first_off != 0)
        for off, s, i in syms:
            if names[i] == primary:
                continue
            alias = _record(obj, names[i], DATA, s.local, (0, 1, readonly),
                            [primary, EDGE_INDEX[EdgeKind.DATA_REF]], weak=s.weak,
                            hidden=s.hidden)
            alias.alias = (primary, off)


def _globals_and_undefined(w: WasmObject, obj: ObjectFile, names: list[str]) -> None:
    gbase = w.num_imported_globals
    glob, func = SymKind.GLOBAL, SymKind.FUNCTION
    for i, s in enumerate(w.symbols):
        kind = s.kind
        if kind is not glob and (kind is not func or not s.flags & WASM_SYM_UNDEFINED):
            continue                    # most symbols: defined functions and data
        if s.kind is SymKind.GLOBAL and not s.undefined:
            g = w.globals[s.index - gbase]
            _record(obj, names[i], EntityKind.GLOBAL, s.local, (g.type, _const(g.init, g.type,
                                                                            obj.name)), [])
        elif s.kind is SymKind.GLOBAL:
            obj.extern_globals[names[i]] = _import_global(w, s.index)
        elif s.kind is SymKind.FUNCTION and s.undefined:
            ft = w.func_type(s.index)
            module = s.import_module or "env"
            if module != "env":
                _record(obj, names[i], EntityKind.IMPORT, False,
                        (module, s.import_name or s.name, ft), [])
            else:
                obj.extern_funcs[names[i]] = ft


def _comdat_members(w: WasmObject, obj: ObjectFile) -> list[tuple[str, frozenset[str]]]:
    """Each COMDAT group of the object with the names of the records it holds:
    its functions and data segments, with every alias of them."""
    if not w.comdats:
        return []
    base = w.num_imported_funcs
    key_of: dict[str, tuple[int, int]] = {}
    for rec in obj.records:
        if rec.alias is None and rec.kind is EntityKind.FUNC:
            key_of[rec.name] = (1, rec.chunk + base)
        elif rec.alias is None and rec.kind is EntityKind.DATA:
            key_of[rec.name] = (0, rec.chunk)
    for rec in obj.records:
        if rec.alias is not None and rec.alias[0] in key_of:
            key_of[rec.name] = key_of[rec.alias[0]]
    out = []
    for name, entries in w.comdats:
        keys = set(entries)
        out.append((name, frozenset(n for n, k in key_of.items() if k in keys)))
    return out


def _import_global(w: WasmObject, index: int) -> ValType:
    k = 0
    for imp in w.imports:
        if imp.kind == 3:
            if k == index:
                assert imp.global_type is not None
                return imp.global_type[0]
            k += 1
    raise ObjectError(w.name, f"global {index} is not an import")


def _const(init: bytes, vt: ValType, where: str) -> int | float:
    """The value of a constant initializer expression (`t.const v end`)."""
    op = init[0] if init else -1
    if op in (0x41, 0x42):
        return read_sleb(init, 1)[0]
    if op == 0x43:
        return float(struct.unpack_from("<f", init, 1)[0])
    if op == 0x44:
        return float(struct.unpack_from("<d", init, 1)[0])
    raise ObjectError(where, f"unsupported {vt} global initializer")



# ---------------------------------------------------------------- cache snapshots

_KINDS = tuple(EntityKind)
_KIND_NO = {k: i for i, k in enumerate(_KINDS)}
_VT = {t.code: t for t in ValType}


def _ft(ft: FuncType) -> tuple[tuple[int, ...], int | None]:
    return (tuple(t.code for t in ft.params), None if ft.result is None else ft.result.code)


def object_snapshot(obj: ObjectFile) -> dict[str, Any]:
    """What `read_wasm_object` made of a C object, as plain values, with the
    references of every record computed so far (None: not yet); function
    types are numbers into a list of the object's distinct ones."""
    ftypes: dict[FuncType, int] = {}
    func, data = EntityKind.FUNC, EntityKind.DATA
    records = []
    for r in obj.records:
        kind, info = r.kind, r.info
        if kind is func:
            info = ftypes.setdefault(info, len(ftypes))
        elif kind is EntityKind.IMPORT:
            info = (info[0], info[1], _ft(info[2]))
        elif kind is not data:                      # GLOBAL
            info = (info[0].code, info[1])
        records.append((r.name, _KIND_NO[kind], r.private, info, r._raw_refs, r.chunk,
                        r.weak, r.hidden, r.alias))
    return {
        "records": records, "ftypes": [_ft(t) for t in ftypes],
        "exports": obj.exports, "ctors": obj.ctors,
        "extern_funcs": {n: _ft(t) for n, t in obj.extern_funcs.items()},
        "extern_globals": {n: t.code for n, t in obj.extern_globals.items()},
        "link_names": obj.link_names, "undefined": obj.undefined,
        "weak_undefined": obj.weak_undefined, "kept": obj.kept, "comdats": obj.comdats,
        "ffi_signatures": obj.ffi_signatures,
    }


_FUNCTYPES: dict[Any, FuncType] = {}
_FUNC_NO = _KIND_NO[EntityKind.FUNC]


def _info_of(kind: EntityKind, info: Any) -> Any:
    """A non-function record's `info` from its `object_snapshot` form."""
    if kind is EntityKind.IMPORT:
        return (info[0], info[1], _functype(info[2]))
    if kind is EntityKind.GLOBAL:
        return (_VT[info[0]], info[1])
    return info                                     # DATA: (size, align, readonly)


def _functype(enc: Any) -> FuncType:
    """The FuncType of an `_ft` encoding (one object per signature, as few as
    a program has: every object declares the functions it calls)."""
    ft = _FUNCTYPES.get(enc)
    if ft is None:
        ft = _FUNCTYPES[enc] = FuncType(tuple(_VT[c] for c in enc[0]),
                                        None if enc[1] is None else _VT[enc[1]])
    return ft


def restore_object(snap: dict[str, Any], buf: Any, start: int, end: int, name: str,
                   stats: LoadStats) -> ObjectFile:
    """The ObjectFile an `object_snapshot` (with its `WasmObject.snapshot`)
    describes, for the same bytes at buf[start:end]."""
    static = snap["object"]
    w = WasmObject.restore(name, buf, start, end, snap["wasm"])
    names: list[str] = static["link_names"]
    obj = ObjectFile(name=name, module=os.path.basename(name), records=[],
                     exports=[(a, b) for a, b in static["exports"]],
                     ctors=[(a, b) for a, b in static["ctors"]],
                     extern_funcs={n: _functype(t) for n, t in static["extern_funcs"].items()},
                     extern_globals={n: _VT[c] for n, c in static["extern_globals"].items()},
                     csigs={}, foreign_exports=[], buf=buf, stats=stats, span=(start, end))
    obj.link_names = names
    obj.set_wasm(w)
    obj.refs_from_relocs = _ReferenceReader(w, names, name)
    ftypes = [_functype(t) for t in static["ftypes"]]
    kinds = _KINDS
    # The hot loop of a warm link (one record per function and data segment):
    # marshal gave tuples, lists and strings already in the record's shapes.
    obj.records = [
        EntityRecord(rname, kinds[k], private, ftypes[info] if k == _FUNC_NO else
                     _info_of(kinds[k], info), raw, (), None, 0, 0, 0, obj, (), chunk, alias,
                     weak, hidden)
        for rname, k, private, info, raw, chunk, weak, hidden, alias in static["records"]]
    obj.undefined = list(static["undefined"])
    obj.weak_undefined = frozenset(static["weak_undefined"])
    obj.kept = list(static["kept"])
    obj.comdats = [(n, frozenset(m)) for n, m in static["comdats"]]
    obj.ffi_signatures = static["ffi_signatures"]
    return obj
