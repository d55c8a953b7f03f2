"""Object files (`.o`): WebAssembly relocatable objects carrying irld's index and IR.

An irld object is a standard relocatable object (tool-conventions
`Linking.md`; written by `linker.object_assembly`, read by
`linker.store.wasmobj`) with two custom sections of irld's own:

* `irld.index`: u32 format version, u32 CRC-32 of the rest, then the index
  (msgpack): one record per entity (function, data, global, host import):
  name, kind, visibility, type, the symbols it references with the edge kind
  (computed at compile time, see `linker.ir.refs`), the FFI signature keys it
  uses, a deferred error if any, its IR body's offset, length and CRC-32 in
  `irld.ir`, and the panic-pool texts its code names; plus the module's
  exports, ctors, extern declarations, C signatures and foreign exports, and
  the panic pool's string symbols;
* `irld.ir`: the IR bodies, one msgpack value each.

Opening a file reads the section headers and the index only; the standard
sections (code, relocations, symbol table) are parsed when a live function's
bytes are first asked for (`ObjectFile.wasm`), and an IR body is read,
checked and decoded only when `ObjectFile.body` asks for it.  The shared
`LoadStats` count every decode and every byte read, so tests and reports can
prove the laziness.  An object can also live inside an archive:
`from_buffer` reads one from a slice of a larger (memory-mapped) file.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import msgpack

from linker.store.errors import InputFileError
from linker.store.errors import map_file as _map_file
from linker.ir.ctypes import CSig, parse_key
from linker.ir.edges import EdgeKind
from linker.ir.types import FuncType, ValType
from linker.store.records import EDGE_CODES as EDGE_CODES
from linker.store.records import EDGE_INDEX as EDGE_INDEX
from linker.store.records import EntityKind as EntityKind
from linker.store.records import EntityRecord as EntityRecord
from linker.store.records import KIND_CODES, index_records
from linker.store.shapes import check_index
from linker.store.typecodec import CodecError, decode_functype
from linker.store.lines import LINES_SECTION, LineTable, LinesError, decode_lines
from linker.store.wasmobj import WasmObject, WasmObjectError, read_object
from linker.wasm.leb128 import read_uleb, uleb

if TYPE_CHECKING:
    from linker.ir.model import Data, Func

WASM_MAGIC = b"\0asm\1\0\0\0"
INDEX_SECTION = "irld.index"
IR_SECTION = "irld.ir"
# 4: function bodies in `irld.ir` carry source locations; `irld.lines` may follow.
VERSION = 4
# version, CRC-32 of the msgpack index, CRC-32 of the standard sections (every
# byte of the object before `irld.index`, checked when they are first parsed)
INDEX_HEADER = struct.Struct("<III")

KIND_INDEX: dict[EntityKind, int] = {k: i for i, k in enumerate(KIND_CODES)}


class ObjectError(InputFileError):
    """A binary input that cannot be used: names the file and the reason."""


@attrs.define(slots=True)
class LoadStats:
    """Counters shared by every file of one store."""

    bodies_decoded: int = 0
    bytes_read: int = 0
    indices_read: int = 0


@attrs.define(slots=True, eq=False)
class ObjectFile:
    """An opened object: its index, and access to bodies on demand."""

    name: str                       # for diagnostics: path, or archive(member)
    module: str
    records: list[EntityRecord]
    exports: list[tuple[str, str]]              # (external name, symbol)
    ctors: list[tuple[str, int]]                # (symbol, priority)
    extern_funcs: dict[str, FuncType]
    extern_globals: dict[str, ValType]
    csigs: dict[str, tuple[str, int | None]]    # local name -> (key, closure pool)
    foreign_exports: list[tuple[str, str, CSig]]
    buf: Any = attrs.field(repr=False)          # bytes or mmap holding the file
    bodies_start: int = 0
    stats: LoadStats = attrs.field(factory=LoadStats, repr=False)
    strings: dict[str, str] = attrs.Factory(dict)   # panic-pool data symbol -> text
    span: tuple[int, int] = (0, 0)              # the object's bytes in `buf`
    standard: tuple[int, int] = (0, 0)          # end of the standard sections, their CRC-32
    _wasm: WasmObject | None = attrs.field(default=None, repr=False)
    link_names: list[str] | None = attrs.field(default=None, repr=False)  # C: by symbol
    undefined: list[str] = attrs.Factory(list)   # C: strong undefined symbols (they pull)
    weak_undefined: frozenset[str] = frozenset()  # C: symbols only weakly referenced here
    ffi_signatures: str = ""        # C: text of the "irld.ffi_signatures" section (linker.ffi)
    kept: list[str] = attrs.Factory(list)        # C: `used` (NO_STRIP) symbols: live, not exported
    # C: COMDAT groups, each with the names of the records it holds
    comdats: list[tuple[str, frozenset[str]]] = attrs.Factory(list)
    discarded: frozenset[str] = frozenset()      # C: records of groups another object won
    lines_span: tuple[int, int] = (0, 0)        # the `irld.lines` payload in `buf`, if any
    _lines: dict[int, LineTable] | None = attrs.field(default=None, repr=False)

    @property
    def has_ir(self) -> bool:
        """An irld object (with IR), not a C object."""
        return self.link_names is None

    def set_wasm(self, w: WasmObject) -> None:
        self._wasm = w

    # Set by `linker.store.wasm_input` for C objects: a record's references.
    refs_from_relocs: Callable[["EntityRecord"], list[Any]] | None = None

    def compute_refs(self, rec: "EntityRecord") -> list[Any]:
        assert self.refs_from_relocs is not None, "irld records carry their references"
        return self.refs_from_relocs(rec)

    def symbol_name(self, index: int) -> str:
        """The link-time name of symbol `index` of the standard symbol table."""
        return self.symbol_names()[index]

    def symbol_names(self) -> list[str]:
        """The link-time name of every symbol of the standard symbol table, by index
        (relocation patching indexes it: a call per site cost more than the patching)."""
        return self.link_names if self.link_names is not None else self.wasm().symbol_names()

    def body(self, rec: EntityRecord) -> Func | Data:
        """Read, check and decode one entity's body (functions and data only)."""
        if rec.kind not in (EntityKind.FUNC, EntityKind.DATA):
            raise ValueError(f"{rec.name} has no body")
        if not self.has_ir:
            raise ObjectError(self.name, f"'{rec.name}' has no IR: it comes from a C object")
        start = self.bodies_start + rec.body_offset
        raw = self.buf[start:start + rec.body_length]
        if len(raw) != rec.body_length:
            raise ObjectError(self.name, f"truncated body of '{rec.name}'")
        if zlib.crc32(raw) != rec.body_crc:
            raise ObjectError(self.name, f"checksum mismatch in body of '{rec.name}'")
        self.stats.bodies_decoded += 1
        self.stats.bytes_read += len(raw)
        # Here, not at the top: the IR model is needed only by a link that decodes IR.
        from linker.ir.model import Data
        from linker.store.codec import decode_data_items, decode_func
        try:
            value = msgpack.unpackb(raw, raw=False, strict_map_key=False)
            if rec.kind is EntityKind.FUNC:
                return decode_func(rec.name, rec.private, value)
            size, align, readonly = rec.info
            return Data(rec.name, decode_data_items(value), align, readonly, rec.private)
        except (CodecError, ValueError, TypeError, msgpack.UnpackException) as exc:
            raise ObjectError(self.name, f"corrupt body of '{rec.name}': {exc}") from None

    @staticmethod
    def open(path: str, stats: LoadStats | None = None) -> "ObjectFile":
        """Open an object file, reading its header and index only."""
        buf = map_file(path)
        return ObjectFile.from_buffer(buf, 0, len(buf), path, stats)

    @staticmethod
    def from_buffer(buf: Any, start: int, length: int, name: str,
                    stats: LoadStats | None = None) -> "ObjectFile":
        """Open the object stored at buf[start:start+length]: section headers and
        the irld index only."""
        stats = stats if stats is not None else LoadStats()
        end = start + length
        sections = scan_sections(buf, start, end, name)
        custom = {n: (s0, s1) for sid, n, s0, s1 in sections if sid == 0}
        if INDEX_SECTION not in custom:
            raise ObjectError(name, "not an irld object: a WebAssembly object without an "
                                    f"'{INDEX_SECTION}' section (C objects are not linked yet)")
        istart, iend = custom[INDEX_SECTION]
        if iend - istart < INDEX_HEADER.size:
            raise ObjectError(name, f"truncated '{INDEX_SECTION}' section")
        version, index_crc, code_crc = INDEX_HEADER.unpack(
            buf[istart:istart + INDEX_HEADER.size])
        if version != VERSION:
            newer = "newer" if version > VERSION else "older"
            raise ObjectError(name, f"object format version {version} is {newer} than this "
                                    f"irld supports ({VERSION}); recompile it")
        raw_index = buf[istart + INDEX_HEADER.size:iend]
        if zlib.crc32(raw_index) != index_crc:
            raise ObjectError(name, "checksum mismatch in object index (file corrupted)")
        stats.indices_read += 1
        stats.bytes_read += iend - istart
        bodies_start, bodies_end = custom.get(IR_SECTION, (iend, iend))
        try:
            index = msgpack.unpackb(raw_index, raw=False, strict_map_key=False)
            # Shapes, types and sizes first: nothing below trusts the index unchecked.
            check_index(index, len(KIND_CODES), len(EDGE_CODES), bodies_end - bodies_start)
            obj = _build(index, buf, bodies_start, name, stats)
        except ObjectError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, RecursionError,
                msgpack.UnpackException) as exc:
            raise ObjectError(name, f"corrupt object index: {exc}") from None
        obj.span = (start, end)
        obj.lines_span = custom.get(LINES_SECTION, (0, 0))
        k = [n for _sid, n, _s0, _s1 in sections].index(INDEX_SECTION)
        obj.standard = (start + 8 if k == 0 else sections[k - 1][3], code_crc)
        for rec in obj.records:
            if rec.body_length and obj.bodies_start + rec.body_offset + rec.body_length > bodies_end:
                raise ObjectError(name, f"truncated object file (body of '{rec.name}' "
                                        "runs past the end)")
        return obj

    def line_table(self, chunk: int) -> LineTable:
        """The line table of defined function `chunk` (empty without locations);
        the `irld.lines` section is decoded on first use."""
        if self._lines is None:
            start, end = self.lines_span
            try:
                self._lines = decode_lines(bytes(self.buf[start:end])) if end > start else {}
            except LinesError as exc:
                raise ObjectError(self.name, str(exc)) from None
        return self._lines.get(chunk, [])

    def wasm(self) -> WasmObject:
        """The standard sections (code, relocations, symbols), parsed on first use."""
        if self._wasm is None:
            start, end = self.span
            stop, crc = self.standard
            if zlib.crc32(self.buf[start:stop]) != crc:
                raise ObjectError(self.name, "checksum mismatch in the code, data or linking "
                                             "sections (file corrupted)")
            try:
                self._wasm = read_object(self.buf, self.name, start=start, end=end)
            except WasmObjectError as exc:
                raise ObjectError(self.name, exc.reason) from None
            self.stats.bytes_read += end - start
        return self._wasm


def scan_sections(buf: Any, start: int, end: int, name: str) -> list[tuple[int, str, int, int]]:
    """(id, custom name or '', payload start, payload end) of each section of the
    wasm module at buf[start:end]: headers only, no payload is read."""
    if end - start < 8 or bytes(buf[start:start + 8]) != WASM_MAGIC:
        reason = "bad magic" if end - start >= 8 else "too short"
        raise ObjectError(name, f"not a WebAssembly object file ({reason})")
    out: list[tuple[int, str, int, int]] = []
    pos = start + 8
    try:
        while pos < end:
            sid = buf[pos]
            size, p = read_uleb(buf, pos + 1)
            if p + size > end:
                raise ObjectError(name, f"truncated object file (section {sid} runs past the end)")
            cname = ""
            if sid == 0:
                n, q = read_uleb(buf, p)
                if q + n > p + size:
                    raise ObjectError(name, "corrupt custom section name")
                cname = bytes(buf[q:q + n]).decode()
                out.append((sid, cname, q + n, p + size))
            else:
                out.append((sid, cname, p, p + size))
            pos = p + size
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise ObjectError(name, f"corrupt section header: {exc}") from None
    return out


def map_file(path: str) -> Any:
    """The file's bytes, memory-mapped (`linker.store.errors.map_file`)."""
    return _map_file(path, ObjectError)


def _build(index: Any, buf: Any, bodies_start: int, name: str, stats: LoadStats) -> ObjectFile:
    obj = ObjectFile(
        name=name, module=index["module"], records=[],
        exports=[(e[0], e[1]) for e in index["exports"]],
        ctors=[(c[0], c[1]) for c in index["ctors"]],
        extern_funcs={n: decode_functype(t) for n, t in index["extern_funcs"]},
        extern_globals={n: ValType.parse(t) for n, t in index["extern_globals"]},
        csigs={n: (k, p) for n, k, p in index["csigs"]},
        foreign_exports=[(n, s, parse_key(k)) for n, s, k in index["foreign_exports"]],
        buf=buf, bodies_start=bodies_start, stats=stats,
        strings={sym: text for sym, text in index["strings"]})
    obj.records = index_records(index["entities"], obj)
    return obj


# ---------------------------------------------------------------- writing


@attrs.define(slots=True)
class EntityEntry:
    """What the compiler hands the writer for one entity."""

    name: str
    kind: EntityKind
    private: bool
    info: Any                     # already in index form (see _decode_info)
    refs: Sequence[tuple[str, EdgeKind]]
    sigs: Sequence[str]
    deferred_error: str | None
    body: Any = None              # msgpack-able value, or None (no body)
    texts: Sequence[str] = ()     # FUNC: panic-pool texts its compiled code names
    relocs: tuple[int, int] = (0, 0)   # FUNC: its reloc.CODE entries (position, count)


def append_irld_sections(standard: bytes, index: bytes, bodies: bytes,
                         lines: bytes | None = None) -> bytes:
    """An irld object: the standard sections, then `irld.index` (with the
    checksum of everything before it), `irld.ir` and, if given, `irld.lines`."""
    header = INDEX_HEADER.pack(VERSION, zlib.crc32(index), zlib.crc32(standard))
    out = standard + _custom_section(INDEX_SECTION, header + index) + _custom_section(
        IR_SECTION, bodies)
    return out if lines is None else out + _custom_section(LINES_SECTION, lines)


def _custom_section(name: str, payload: bytes) -> bytes:
    raw = name.encode()
    content = uleb(len(raw)) + raw + payload
    return b"\0" + uleb(len(content)) + content


def encode_index(module: str, entities: Sequence[EntityEntry], *,
                 exports: Sequence[tuple[str, str]] = (),
                 ctors: Sequence[tuple[str, int]] = (),
                 extern_funcs: Sequence[tuple[str, Any]] = (),
                 extern_globals: Sequence[tuple[str, str]] = (),
                 csigs: Sequence[tuple[str, str, int | None]] = (),
                 foreign_exports: Sequence[tuple[str, str, str]] = (),
                 strings: Sequence[tuple[str, str]] = ()) -> tuple[bytes, bytes]:
    """The payloads of the `irld.index` and `irld.ir` sections: the index (with
    its version and checksum) and each body packed on its own."""
    packer = msgpack.Packer(use_bin_type=True)
    bodies = bytearray()
    records = []
    for e in entities:
        off, length, crc = 0, 0, 0
        if e.body is not None:
            blob = packer.pack(e.body)
            off, length, crc = len(bodies), len(blob), zlib.crc32(blob)
            bodies += blob
        flat_refs: list[Any] = []
        for sym, kind in e.refs:
            flat_refs += (sym, EDGE_INDEX[kind])
        records.append([e.name, KIND_INDEX[e.kind], e.private, e.info, flat_refs,
                        list(e.sigs), e.deferred_error, off, length, crc, list(e.texts),
                        list(e.relocs)])
    index: bytes = packer.pack({
        "module": module, "entities": records,
        "exports": [list(x) for x in exports], "ctors": [list(x) for x in ctors],
        "extern_funcs": [list(x) for x in extern_funcs],
        "extern_globals": [list(x) for x in extern_globals],
        "csigs": [list(x) for x in csigs],
        "foreign_exports": [list(x) for x in foreign_exports],
        "strings": [list(x) for x in strings],
    })
    return index, bytes(bodies)
