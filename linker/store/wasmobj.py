"""WebAssembly relocatable object files: a fast, lazy reader and a writer.

Format (WebAssembly tool-conventions, ``Linking.md``, linking metadata version
2, as written by clang/LLVM 14+ and read by wasm-ld; details checked against
LLVM's ``WasmObjectFile.cpp`` and lld's ``InputFiles.cpp``):

* An object is an ordinary wasm module (magic ``\\0asm``, version 1) whose
  imports include ``env.__linear_memory`` (and ``env.__stack_pointer``,
  ``env.__indirect_function_table`` when used), plus custom sections:

  - ``linking``: ``u32 version`` (2), then subsections ``u8 id, u32 size,
    payload``: 5 segment info (name, log2 alignment, flags per data
    segment), 6 init funcs (priority, *symbol* index), 7 comdats, 8 symbol
    table.  A symbol is ``u8 kind, u32 flags`` then, for functions, globals,
    tags and tables, ``u32 index`` (into that index space, imports first;
    an import iff UNDEFINED) and a name unless it is an import without
    EXPLICIT_NAME (then the import's field is the name); for data a name
    and, when defined, ``segment, offset, size``; for sections the section
    index (named after the section).
  - ``reloc.*``: ``u32 target section index, u32 count`` then entries
    ``u32 type, u32 offset, u32 index`` and, for the types in
    `RELOC_HAS_ADDEND`, an ``s32/s64 addend``.  `index` is a symbol index
    (a type index for TYPE_INDEX_LEB).  `offset` is relative to the target
    section's *contents*: just after the section's id and size for code
    and data (so the code section's function count is included), and just
    after the *name* for custom sections.
  - ``target_features``: ``(prefix byte, name)`` pairs.

* Relocated LEBs in code are padded to their maximal width (5 bytes, 10 for
  64-bit), so a linker patches them in place.

Every offset this module stores is an absolute offset into the caller's
buffer (an archive member lives inside a larger mmap); bytes are sliced out
only on demand.  `sections` and `custom_sections` give payload bounds, for a
custom section *after* its name (which is what its relocations are relative
to).

`read_object` parses eagerly what a linker needs to resolve symbols and lay
out an object: type, import, function, table, tag, global, export, data
count sections; the code section only as body boundaries (one size LEB per
function); the data section only as segment boundaries; the linking
section whole.  Relocations are parsed on first use: `function_relocs(i)`
decodes only function `i`'s entries, after one scan of ``reloc.CODE`` that
reads just the offsets to find where each function's entries start (a link
uses a fifth of a library's functions; see `function_relocs` for which
errors a dead function's entries can hide); code and data ones whole on the
first access of `code_relocs`, `data_relocs` or `segment_relocs`,
custom-section (DWARF) ones separately on the first access of
`custom_relocs`; a malformed reloc section raises `WasmObjectError` then
(`WasmObject.load_relocs()` forces all).  Malformed input of any kind
raises `WasmObjectError(file, reason)` and nothing else.

Value types are `linker.ir.types.ValType` (i32, i64, f32, f64) and function
types `FuncType` (at most one result): an object using v128 or reference
types in a signature or global, or a multi-value result, is refused with a
`WasmObjectError` naming the type, since the rest of irld cannot represent
them (clang's wasm32 C objects have them only when vector code passes
v128 values between functions, or with reference-types builtins).

`WasmObject.snapshot` turns what was parsed (and the relocations decoded
so far) into plain values, and `WasmObject.restore` turns them back into an
object for the same bytes, whose functions and segments are built when
indexed and whose symbol table is read again only if asked for: the object
index cache (`linker.store.objcache`).

`ObjectWriter` writes objects laid out as clang lays them out (see its
docstring), with relocated sites holding object-local values so that each
object also validates as a module.
"""

from __future__ import annotations

import array
import bisect
import collections
import enum
import mmap
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Generic, TypeVar, overload

import attrs

from linker.store.errors import InputFileError
from linker.ir.types import FuncType, ValType, canonical
from linker.wasm.encode import encode_functype, encode_name
from linker.wasm.leb128 import write_sleb, write_uleb
from linker.wasm.reloc import RELOC_HAS_ADDEND, RelocType

__all__ = [
    "WasmObjectError", "RelocType", "RELOC_HAS_ADDEND", "RELOC_SIZE", "SymKind",
    "WASM_SYM_BINDING_WEAK", "WASM_SYM_BINDING_LOCAL", "WASM_SYM_VISIBILITY_HIDDEN",
    "WASM_SYM_UNDEFINED", "WASM_SYM_EXPORTED", "WASM_SYM_EXPLICIT_NAME", "WASM_SYM_NO_STRIP",
    "WASM_SYM_TLS", "WASM_SYM_ABSOLUTE",
    "WASM_SEG_FLAG_STRINGS", "WASM_SEG_FLAG_TLS", "WASM_SEG_FLAG_RETAIN",
    "WASM_COMDAT_DATA", "WASM_COMDAT_FUNCTION", "WASM_COMDAT_SECTION",
    "Reloc", "Import", "Symbol", "Segment", "Function", "Global", "WasmObject",
    "read_object", "is_wasm_object", "ObjectWriter", "reloc_rows", "padded_uleb", "padded_sleb",
    "Buffer",
]

Buffer = bytes | bytearray | memoryview | mmap.mmap

MAGIC_VERSION = b"\x00asm\x01\x00\x00\x00"
LINKING_VERSION = 2


class WasmObjectError(InputFileError):
    """A file is not a well-formed wasm relocatable object."""


R = RelocType


# Addends of 64-bit relocations are s64, the rest s32.
_ADDEND64: frozenset[int] = frozenset({
    R.MEMORY_ADDR_LEB64, R.MEMORY_ADDR_SLEB64, R.MEMORY_ADDR_I64, R.MEMORY_ADDR_REL_SLEB64,
    R.MEMORY_ADDR_TLS_SLEB64, R.FUNCTION_OFFSET_I64,
})
_I32 = {R.TABLE_INDEX_I32, R.MEMORY_ADDR_I32, R.FUNCTION_OFFSET_I32, R.SECTION_OFFSET_I32,
        R.GLOBAL_INDEX_I32, R.MEMORY_ADDR_LOCREL_I32, R.FUNCTION_INDEX_I32}
_I64 = {R.MEMORY_ADDR_I64, R.TABLE_INDEX_I64, R.FUNCTION_OFFSET_I64}
_LEB64 = {R.MEMORY_ADDR_LEB64, R.MEMORY_ADDR_SLEB64, R.MEMORY_ADDR_REL_SLEB64,
          R.TABLE_INDEX_SLEB64, R.TABLE_INDEX_REL_SLEB64, R.MEMORY_ADDR_TLS_SLEB64}
_SIGNED_LEB = {R.TABLE_INDEX_SLEB, R.MEMORY_ADDR_SLEB, R.MEMORY_ADDR_REL_SLEB,
               R.TABLE_INDEX_REL_SLEB, R.MEMORY_ADDR_SLEB64, R.MEMORY_ADDR_REL_SLEB64,
               R.TABLE_INDEX_SLEB64, R.MEMORY_ADDR_TLS_SLEB, R.TABLE_INDEX_REL_SLEB64,
               R.MEMORY_ADDR_TLS_SLEB64}
_INDEX_RELOCS = {R.FUNCTION_INDEX_LEB, R.FUNCTION_INDEX_I32, R.GLOBAL_INDEX_LEB,
                 R.GLOBAL_INDEX_I32, R.TAG_INDEX_LEB, R.TABLE_NUMBER_LEB}
RELOC_SIZE: dict[int, int] = {
    t: 4 if t in _I32 else 8 if t in _I64 else 10 if t in _LEB64 else 5 for t in RelocType}


class SymKind(enum.IntEnum):
    FUNCTION = 0
    DATA = 1
    GLOBAL = 2
    SECTION = 3
    TAG = 4
    TABLE = 5


WASM_SYM_BINDING_WEAK: Final = 0x1
WASM_SYM_BINDING_LOCAL: Final = 0x2
WASM_SYM_VISIBILITY_HIDDEN: Final = 0x4
WASM_SYM_UNDEFINED: Final = 0x10
WASM_SYM_EXPORTED: Final = 0x20
WASM_SYM_EXPLICIT_NAME: Final = 0x40
WASM_SYM_NO_STRIP: Final = 0x80
WASM_SYM_TLS: Final = 0x100
WASM_SYM_ABSOLUTE: Final = 0x200

WASM_SEG_FLAG_STRINGS = 0x1
WASM_SEG_FLAG_TLS = 0x2
WASM_SEG_FLAG_RETAIN = 0x4

WASM_COMDAT_DATA = 0
WASM_COMDAT_FUNCTION = 1
WASM_COMDAT_SECTION = 5

# Which symbol kinds each relocation type may name, as a bit mask over SymKind
# (Linking.md "Object file validation rules"; GLOBAL_INDEX_LEB may also name
# data and function symbols, meaning their GOT entries, as LLVM accepts).
_FN, _DATA, _GLOB, _SEC, _TAG, _TAB = (1 << k for k in SymKind)
_RELOC_KINDS: dict[int, int] = {t: _FN for t in (
    R.FUNCTION_INDEX_LEB, R.TABLE_INDEX_SLEB, R.TABLE_INDEX_I32, R.FUNCTION_OFFSET_I32,
    R.TABLE_INDEX_REL_SLEB, R.TABLE_INDEX_SLEB64, R.TABLE_INDEX_I64, R.FUNCTION_OFFSET_I64,
    R.TABLE_INDEX_REL_SLEB64, R.FUNCTION_INDEX_I32)}
_RELOC_KINDS.update({t: _DATA for t in (
    R.MEMORY_ADDR_LEB, R.MEMORY_ADDR_SLEB, R.MEMORY_ADDR_I32, R.MEMORY_ADDR_REL_SLEB,
    R.MEMORY_ADDR_LEB64, R.MEMORY_ADDR_SLEB64, R.MEMORY_ADDR_I64, R.MEMORY_ADDR_REL_SLEB64,
    R.MEMORY_ADDR_TLS_SLEB, R.MEMORY_ADDR_LOCREL_I32, R.MEMORY_ADDR_TLS_SLEB64)})
_RELOC_KINDS.update({R.GLOBAL_INDEX_LEB: _GLOB | _DATA | _FN, R.GLOBAL_INDEX_I32: _GLOB,
                     R.SECTION_OFFSET_I32: _SEC, R.TAG_INDEX_LEB: _TAG,
                     R.TABLE_NUMBER_LEB: _TAB, R.TYPE_INDEX_LEB: 0})

_VALTYPES: dict[int, ValType] = {t.code: t for t in ValType}
_SECTION_NAMES = ("custom", "type", "import", "function", "table", "memory", "global", "export",
                  "start", "element", "code", "data", "datacount", "tag")
# Position of each known section id in the order the spec requires (tags, id
# 13, sit between memory and global; data count, id 12, before code).
_SECTION_RANK = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12,
                 11: 13}
_SEC_CODE, _SEC_DATA = 10, 11
_KIND_FUNC, _KIND_TABLE, _KIND_MEMORY, _KIND_GLOBAL, _KIND_TAG = 0, 1, 2, 3, 4
_SYMKINDS: Final[tuple[SymKind, ...]] = tuple(SymKind)


# ---------------------------------------------------------------- records


# Plain classes, not attrs ones: compiled (`make native`) they are native
# classes, built and read from the compiled reader without a Python call,
# and there is one of each per symbol, segment, function and decoded
# relocation of every object read.  Treat them as immutable (they are hashed,
# and shared between the reader's caches and their callers).
class Reloc:
    """One relocation; `offset` is as in the file (see the module docstring)."""

    __slots__ = ("type", "offset", "index", "addend")

    def __init__(self, type: int, offset: int, index: int, addend: int = 0) -> None:
        self.type = type
        self.offset = offset
        self.index = index
        self.addend = addend

    def _key(self) -> tuple[int, int, int, int]:
        return (self.type, self.offset, self.index, self.addend)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reloc) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Reloc(type={self.type!r}, offset={self.offset!r}, index={self.index!r}, "
                f"addend={self.addend!r})")


class Import:
    """An import of the object (a plain class for the reason Reloc is one)."""

    __slots__ = ("module", "field", "kind", "type_index", "global_type", "limits")

    def __init__(self, module: str, field: str, kind: int, type_index: int = -1,
                 global_type: tuple[ValType, bool] | None = None,
                 limits: tuple[int, int | None] | None = None) -> None:
        self.module = module
        self.field = field
        self.kind = kind                # 0 func, 1 table, 2 memory, 3 global, 4 tag
        self.type_index = type_index    # functions and tags
        self.global_type = global_type  # (type, mutable)
        self.limits = limits            # tables and memories: (min, max)

    def _key(self) -> tuple[str, str, int, int, tuple[ValType, bool] | None,
                            tuple[int, int | None] | None]:
        return (self.module, self.field, self.kind, self.type_index, self.global_type,
                self.limits)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Import) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Import(module={self.module!r}, field={self.field!r}, kind={self.kind!r}, "
                f"type_index={self.type_index!r}, global_type={self.global_type!r}, "
                f"limits={self.limits!r})")


class Symbol:
    """A symbol table entry (see the module docstring for `name` and `index`).

    `index` is -1 for an undefined data symbol.  `import_module` and
    `import_name` are the module and field of the import an undefined
    function, global, table or tag symbol refers to.
    """

    __slots__ = ("kind", "flags", "name", "index", "offset", "size", "import_module",
                 "import_name")

    def __init__(self, kind: SymKind, flags: int, name: str, index: int, offset: int = 0,
                 size: int = 0, import_module: str | None = None,
                 import_name: str | None = None) -> None:
        self.kind = kind
        self.flags = flags
        self.name = name
        self.index = index
        self.offset = offset
        self.size = size
        self.import_module = import_module
        self.import_name = import_name

    def _key(self) -> tuple[SymKind, int, str, int, int, int, str | None, str | None]:
        return (self.kind, self.flags, self.name, self.index, self.offset, self.size,
                self.import_module, self.import_name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Symbol) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Symbol(kind={self.kind!r}, flags={self.flags!r}, name={self.name!r}, "
                f"index={self.index!r}, offset={self.offset!r}, size={self.size!r}, "
                f"import_module={self.import_module!r}, import_name={self.import_name!r})")

    @property
    def undefined(self) -> bool:
        return bool(self.flags & WASM_SYM_UNDEFINED)

    @property
    def weak(self) -> bool:
        return bool(self.flags & WASM_SYM_BINDING_WEAK)

    @property
    def local(self) -> bool:
        return bool(self.flags & WASM_SYM_BINDING_LOCAL)

    @property
    def hidden(self) -> bool:
        return bool(self.flags & WASM_SYM_VISIBILITY_HIDDEN)

    @property
    def exported(self) -> bool:
        return bool(self.flags & WASM_SYM_EXPORTED)

    @property
    def no_strip(self) -> bool:
        return bool(self.flags & WASM_SYM_NO_STRIP)

    @property
    def explicit_name(self) -> bool:
        return bool(self.flags & WASM_SYM_EXPLICIT_NAME)

    @property
    def tls(self) -> bool:
        return bool(self.flags & WASM_SYM_TLS)

    @property
    def absolute(self) -> bool:
        return bool(self.flags & WASM_SYM_ABSOLUTE)


class Segment:
    """A data segment: linking metadata plus where its bytes are.

    `start`/`end` bound the data in the buffer; `data_offset_in_section` is
    the data's offset in the data section's contents (what DATA relocation
    offsets are relative to).  `address` is the segment's ``i32.const``
    offset in the object's own memory (0 for a passive segment) and
    `init_flags` its data-section flags (0 active, 1 passive, 2 active with
    a memory index).
    """

    __slots__ = ("name", "alignment", "flags", "start", "end", "data_offset_in_section",
                 "address", "init_flags")

    def __init__(self, name: str, alignment: int, flags: int, start: int, end: int,
                 data_offset_in_section: int, address: int = 0, init_flags: int = 0) -> None:
        self.name = name
        self.alignment = alignment      # log2
        self.flags = flags              # WASM_SEG_FLAG_*
        self.start = start
        self.end = end
        self.data_offset_in_section = data_offset_in_section
        self.address = address
        self.init_flags = init_flags

    def _key(self) -> tuple[str, int, int, int, int, int, int, int]:
        return (self.name, self.alignment, self.flags, self.start, self.end,
                self.data_offset_in_section, self.address, self.init_flags)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Segment) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Segment(name={self.name!r}, alignment={self.alignment!r}, "
                f"flags={self.flags!r}, start={self.start!r}, end={self.end!r}, "
                f"data_offset_in_section={self.data_offset_in_section!r}, "
                f"address={self.address!r}, init_flags={self.init_flags!r})")

    @property
    def size(self) -> int:
        return self.end - self.start


class Function:
    """A defined function: `start`/`end` bound its body (locals and code, no size)."""

    __slots__ = ("type_index", "start", "end", "code_offset")

    def __init__(self, type_index: int, start: int, end: int, code_offset: int) -> None:
        self.type_index = type_index
        self.start = start
        self.end = end
        self.code_offset = code_offset  # start - code section contents start

    def _key(self) -> tuple[int, int, int, int]:
        return (self.type_index, self.start, self.end, self.code_offset)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Function) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Function(type_index={self.type_index!r}, start={self.start!r}, "
                f"end={self.end!r}, code_offset={self.code_offset!r})")

    @property
    def size(self) -> int:
        return self.end - self.start


@attrs.frozen(slots=True)
class Global:
    type: ValType
    mutable: bool
    init: bytes  # the constant expression, final `end` included


# ---------------------------------------------------------------- LEB reading


class _Fail(Exception):
    """A malformed-input finding; turned into WasmObjectError with the file name."""


def _uleb(d: bytes, p: int) -> tuple[int, int]:
    # Nearly all LEBs in an object (counts, flags, symbol and segment indices,
    # offsets in small sections) take one or two bytes; only longer ones pay
    # for the general loop.
    b = d[p]
    if b < 0x80:
        return b, p + 1
    c = d[p + 1]
    if c < 0x80:
        return (b & 0x7F) | (c << 7), p + 2
    return _leb(d, p, False)


def _sleb(d: bytes, p: int) -> tuple[int, int]:
    b = d[p]
    if b < 0x40:
        return b, p + 1
    c = d[p + 1]
    if b >= 0x80 and c < 0x40:  # two bytes, non-negative
        return (b & 0x7F) | (c << 7), p + 2
    return _leb(d, p, True)


def _leb(d: bytes, p: int, signed: bool) -> tuple[int, int]:
    """Any LEB128 of at most 10 bytes (u64/s64, the widest the format uses).

    The cap matters for corrupt input: an unbounded run of continuation
    bytes would build ever larger integers, quadratic in its length.
    """
    stop = p + 10
    result = shift = 0
    while p < stop:
        b = d[p]
        p += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if signed and b & 0x40:
                result -= 1 << shift
            return result, p
    raise _Fail("LEB128 longer than 10 bytes")


def _name(d: bytes, p: int) -> tuple[str, int]:
    # No bounds check: a name cut short by the end of `d` leaves the position
    # past the end, which every caller's final "ends where its size says"
    # check refuses.
    n = d[p]
    if n < 0x80:
        q = p + 1 + n
        return d[p + 1:q].decode("utf-8"), q
    n, p = _leb(d, p, False)
    return d[p:p + n].decode("utf-8"), p + n


_CONST_OPS_LEB = frozenset({0x41, 0x42, 0x23, 0xD2})  # i32/i64.const, global.get, ref.func
_CONST_OPS_PLAIN = frozenset({0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E})  # extended-const arithmetic


def _skip_const_expr(d: bytes, p: int) -> int:
    """The position after a constant expression's `end` (extended-const allowed)."""
    while True:
        op = d[p]
        p += 1
        if op == 0x0B:
            return p
        if op in _CONST_OPS_LEB:
            p = _leb(d, p, False)[1]  # sign does not matter for skipping
        elif op == 0x43:
            p += 4
        elif op == 0x44:
            p += 8
        elif op == 0xD0:
            p += 1  # ref.null heap type
        elif op not in _CONST_OPS_PLAIN:
            raise _Fail(f"opcode 0x{op:02x} in a constant expression")


# ---------------------------------------------------------------- the reader


_CAUGHT = (IndexError, ValueError, UnicodeDecodeError, KeyError, OverflowError, _Fail)


def _fail_reason(where: str, exc: BaseException) -> str:
    if isinstance(exc, _Fail):
        return f"{where}: {exc}"
    if isinstance(exc, IndexError):
        return f"{where}: truncated (read past its end)"
    if isinstance(exc, UnicodeDecodeError):
        return f"{where}: name is not valid UTF-8"
    return f"{where}: malformed ({exc})"


class WasmObject:
    """A parsed relocatable object; see `read_object` and the module docstring.

    Index spaces are the module's: function index ``num_imported_funcs + i``
    is `functions[i]`, and likewise for globals.  `sections` lists every
    section as ``(id, custom name or "", contents start, contents end)``;
    `code_section`/`data_section` index it.  `symbols`, `init_funcs`
    (priority, symbol index), `comdats` (name, [(kind, index)]) and
    `segments` (names, alignment and flags) come from the linking section.
    """

    def __init__(self, name: str, buf: Buffer, start: int, end: int) -> None:
        self.name = name
        self.buf = buf
        self.start = start
        self.end = end
        self.types: list[FuncType] = []
        self.imports: Sequence[Import] = []
        self.num_imported_funcs = 0
        self.num_imported_globals = 0
        self.num_imported_tables = 0
        self.num_imported_tags = 0
        self.num_defined_tables = 0
        self.num_defined_tags = 0
        # Lists, or `_Lazy` views of a cache snapshot (`WasmObject.restore`).
        self.functions: Sequence[Function] = []
        self.globals: list[Global] = []
        self.exports: list[tuple[str, int, int]] = []
        self.segments: Sequence[Segment] = []
        self.symbols: Sequence[Symbol] = []
        self._symbol_kinds: bytes | None = None
        self._symbol_names: list[str] | None = None
        self.init_funcs: list[tuple[int, int]] = []
        self.comdats: list[tuple[str, list[tuple[int, int]]]] = []
        self.target_features: list[tuple[str, str]] = []
        self.custom_sections: dict[str, tuple[int, int]] = {}
        self.sections: list[tuple[int, str, int, int]] = []
        self.code_section: int | None = None  # index into `sections`
        self.data_section: int | None = None
        self.data_count: int | None = None
        self._reloc_sections: list[int] = []  # indices into `sections`
        self._relocs: dict[int, list[Reloc]] | None = None  # code and data, by section
        self._custom_relocs: dict[int, list[Reloc]] | None = None
        self._data_only: list[Reloc] | None = None      # data relocations parsed alone
        # A snapshot's data relocations, flat (`restore`): Relocs made per segment.
        self._data_rows: tuple[int, ...] | None = None
        self._code_reloc_bytes: tuple[bytes, int] | None = None   # reloc.CODE, code size
        # Per defined function, where its entries start in reloc.CODE and how
        # many there are (`_scan_code_relocs`); None until scanned, () when
        # the section cannot be scanned (everything is then decoded at once).
        self._code_ranges: tuple[Sequence[int], Sequence[int]] | tuple[()] | None = None
        # Per function decoded here, its relocations flat (`function_reloc_rows`),
        # and as Reloc objects once some caller asks for them (`function_relocs`).
        self._function_rows: dict[int, tuple[int, ...]] = {}
        self._function_relocs: dict[int, list[Reloc]] = {}
        # A cache snapshot's decoded relocations per function (`restore`).
        self._cached_relocs: dict[int, tuple[int, ...]] = {}
        self._reloc_parser: _RelocParser | None = None
        self._code: list[Reloc] = []
        self._data: list[Reloc] = []
        self._code_offsets: list[int] = []
        self._data_offsets: list[int] = []
        self._symbol_index: dict[str, int] | None = None
        self._import_func_types: list[int] | None = None

    def __repr__(self) -> str:
        return (f"<WasmObject {self.name}: {len(self.functions)} functions, "
                f"{len(self.segments)} segments, {len(self.symbols)} symbols>")

    # -- bytes on demand

    def bytes_at(self, start: int, end: int) -> bytes:
        return bytes(self.buf[start:end])

    def function_body(self, i: int) -> bytes:
        """Defined function `i`'s body: locals vector, code and final `end`."""
        f = self.functions[i]
        return self.bytes_at(f.start, f.end)

    def segment_data(self, i: int) -> bytes:
        s = self.segments[i]
        return self.bytes_at(s.start, s.end)

    def custom_section(self, name: str) -> bytes | None:
        bounds = self.custom_sections.get(name)
        return None if bounds is None else self.bytes_at(*bounds)

    # -- relocations (lazy)

    @property
    def code_relocs(self) -> list[Reloc]:
        """Code section relocations, by offset (relative to the section's contents)."""
        self._load()
        return self._code

    @property
    def data_relocs(self) -> list[Reloc]:
        """Data section relocations, by offset (relative to the section's contents)."""
        if self._data_rows is not None and self._data_only is None:
            self._data_only = _relocs_from_rows(self._data_rows)
        if self._relocs is None and self._data_only is None:
            # Data alone (a link that copies code by indexed ranges) parses no
            # code relocation.
            only = self.data_section
            relocs = self._parser().parse(custom=False, only=only) if only is not None else {}
            self._data_only = relocs.get(only, []) if only is not None else []
            self._data_offsets = [r.offset for r in self._data_only]
        if self._relocs is None:
            assert self._data_only is not None
            return self._data_only
        return self._data

    @property
    def custom_relocs(self) -> dict[int, list[Reloc]]:
        """Custom section index -> its relocations (offsets relative to after its name)."""
        if self._custom_relocs is None:
            self._custom_relocs = _RelocParser(self).parse(custom=True)
        return self._custom_relocs

    def load_relocs(self) -> None:
        """Parse every relocation section now (raises WasmObjectError if one is malformed)."""
        self._load()
        _ = self.custom_relocs

    def code_relocs_at(self, position: int, count: int) -> list[Reloc]:
        """`count` entries of `reloc.CODE` from byte `position` of its payload,
        decoding no other entry (a producer's index says where a function's
        relocations start: see `ObjectWriter.function_reloc_ranges`)."""
        return _relocs_from_rows(self.code_rows_at(position, count))

    def code_rows_at(self, position: int, count: int) -> tuple[int, ...]:
        """`code_relocs_at` flat, ``type, offset, index, addend`` each (no
        Reloc objects: what discovery and patching read)."""
        if count == 0:
            return ()
        if self._code_reloc_bytes is None:
            index = self._code_reloc_section()
            if index is None or self.code_section is None:
                raise WasmObjectError(self.name,
                                      "no reloc.CODE section for the indexed relocations")
            self._code_reloc_bytes = self._code_reloc_payload(index)
        data, limit = self._code_reloc_bytes
        dest: list[int] = []
        try:
            self._parser().entries(data, position, limit, dest, count, flat=True)
        except _CAUGHT as exc:
            raise WasmObjectError(self.name, _fail_reason("reloc.CODE section", exc)) from None
        return tuple(dest)

    def _parser(self) -> _RelocParser:
        if self._reloc_parser is None:
            self._reloc_parser = _RelocParser(self)
        return self._reloc_parser

    def _reloc_target(self, index: int) -> int:
        _, _, start, stop = self.sections[index]
        return _header_uleb(self.buf, start, stop)[0]

    def _code_reloc_section(self) -> int | None:
        """The index (into `sections`) of the first reloc section for code."""
        return next((i for i in self._reloc_sections
                     if self._reloc_target(i) == self.code_section), None)

    def _code_reloc_payload(self, index: int) -> tuple[bytes, int]:
        """Reloc section `index`'s payload (target and count included) and the
        size of the code section's contents, the bound its offsets must keep."""
        assert self.code_section is not None
        _, _, start, stop = self.sections[index]
        code_start, code_stop = self.sections[self.code_section][2:]
        return bytes(self.buf[start:stop]), code_stop - code_start

    def function_relocs(self, i: int) -> list[Reloc]:
        """Relocations inside defined function `i`'s body (offsets relative to the
        code section's contents).

        Only this function's entries are decoded and checked: the first call
        scans `reloc.CODE` once for where each function's entries start
        (`_scan_code_relocs`), so the relocations of functions a link never
        reaches are not decoded, like lld, which patches only live chunks.
        A section whose structure is broken (unknown type, truncation, offsets
        out of order, bytes left over) is refused here whatever the function;
        an entry that is well formed but wrong (a symbol of the wrong kind,
        a site past the section) only when its function is used."""
        if self._relocs is None:
            found = self._function_relocs.get(i)
            if found is None:
                rows = self._decoded_rows(i)
                if rows is not None:
                    found = self._function_relocs[i] = _relocs_from_rows(rows)
            if found is not None:
                return found
        f = self.functions[i]
        return self._slice(self.code_relocs, self._code_offsets, f.code_offset, f.size)

    def function_reloc_rows(self, i: int) -> tuple[int, ...]:
        """`function_relocs(i)` flat, ``type, offset, index, addend`` per
        relocation: what discovery and patching read (a snapshot holds them
        this way too, so neither makes Reloc objects for them)."""
        if self._relocs is None:
            rows = self._decoded_rows(i)
            if rows is not None:
                return rows
        return reloc_rows(self.function_relocs(i))

    def _decoded_rows(self, i: int) -> tuple[int, ...] | None:
        """Function `i`'s relocation rows from the snapshot or decoded alone
        (once), or None when reloc.CODE must be decoded whole."""
        rows = self._cached_relocs.get(i) if self._cached_relocs else None
        if rows is None:
            rows = self._function_rows.get(i)
        if rows is None:
            ranges = self._code_ranges if self._code_ranges is not None else self._scan()
            if not ranges:
                return None
            starts, counts = ranges
            rows = self._function_rows[i] = self.code_rows_at(starts[i], counts[i])
        return rows

    def _scan(self) -> tuple[list[int], list[int]] | tuple[()]:
        """Scan reloc.CODE for each function's entries (see `function_relocs`);
        () when everything must be decoded at once: no code relocations, two
        sections for the code, or a section the scan does not follow, which
        the full decoder then refuses with its precise reason."""
        ranges: tuple[list[int], list[int]] | tuple[()] = ()
        index = self._code_reloc_section()
        if index is not None and sum(self._reloc_target(i) == self.code_section
                                     for i in self._reloc_sections) == 1:
            self._code_reloc_bytes = self._code_reloc_payload(index)
            bounds: list[int] = []
            for f in self.functions:
                bounds += (f.code_offset, f.code_offset + f.size)
            try:
                ranges = _scan_code_relocs(self._code_reloc_bytes[0], bounds)
            except _CAUGHT:
                ranges = ()
        self._code_ranges = ranges
        return ranges

    def segment_relocs(self, i: int) -> list[Reloc]:
        """Relocations inside data segment `i`'s data (file offsets)."""
        rows = self._segment_rows(i)
        if rows is not None:
            return _relocs_from_rows(rows)
        s = self.segments[i]
        return self._slice(self.data_relocs, self._data_offsets, s.data_offset_in_section, s.size)

    def _segment_rows(self, i: int) -> tuple[int, ...] | None:
        """Segment `i`'s rows out of `_data_rows` (None when the data relocations
        are held as Reloc objects instead, or not decoded)."""
        rows = self._data_rows
        if rows is None or self._data_only is not None:
            return None
        s = self.segments[i]
        lo = s.data_offset_in_section
        a = bisect.bisect_left(self._data_offsets, lo)
        b = bisect.bisect_left(self._data_offsets, lo + s.size, a)
        return rows[4 * a:4 * b]

    def segment_reloc_rows(self, i: int) -> tuple[int, ...]:
        """`segment_relocs(i)` flat (`reloc_rows`): what discovery and patching
        read.  The first call decodes a lone reloc.DATA section flat, making no
        Reloc objects (a C link patches 6,000 live segments of its 146 objects)."""
        if self._data_rows is None and self._relocs is None and self._data_only is None:
            self._decode_data_rows()
        rows = self._segment_rows(i)
        return rows if rows is not None else reloc_rows(self.segment_relocs(i))

    def _decode_data_rows(self) -> None:
        """reloc.DATA into `_data_rows`, when it is one section (else left to `data_relocs`)."""
        if self.data_section is None:
            return
        found = [i for i in self._reloc_sections if self._reloc_target(i) == self.data_section]
        if len(found) != 1:
            return              # none (no relocations) or two, which `parse` merges
        _, name, start, stop = self.sections[found[0]]
        dest: list[int] = []
        try:
            parser = self._parser()
            target, p = _header_uleb(self.buf, start, stop)
            parser.target_id(target, found[0])
            d = bytes(self.buf[p:stop])
            _, _, dstart, dstop = self.sections[target]
            _check_end(parser.entries(d, 0, dstop - dstart, dest, flat=True), len(d))
        except _CAUGHT as exc:
            raise WasmObjectError(self.name, _fail_reason(f"{name} section", exc)) from None
        self._data_rows = tuple(dest)
        self._data_offsets = dest[1::4]

    @staticmethod
    def _slice(relocs: list[Reloc], offsets: list[int], lo: int, size: int) -> list[Reloc]:
        a = bisect.bisect_left(offsets, lo)
        b = bisect.bisect_left(offsets, lo + size, a)
        return relocs[a:b]

    def _load(self) -> None:
        if self._relocs is None:
            relocs = self._parser().parse(custom=False)
            self._code = relocs.get(self.code_section, []) if self.code_section is not None else []
            self._data = relocs.get(self.data_section, []) if self.data_section is not None else []
            self._code_offsets = [r.offset for r in self._code]
            self._data_offsets = [r.offset for r in self._data]
            self._relocs = relocs

    # -- symbols

    def symbol_kinds(self) -> bytes:
        """Each symbol's kind as a plain int (what the hot loops index)."""
        if self._symbol_kinds is None:
            self._symbol_kinds = bytes(int(s.kind) for s in self.symbols)
        return self._symbol_kinds

    def symbol_names(self) -> list[str]:
        """Each symbol's name, by symbol index (what relocation patching indexes)."""
        if self._symbol_names is None:
            self._symbol_names = [s.name for s in self.symbols]
        return self._symbol_names

    # -- cache snapshots (linker.store.objcache)

    def snapshot(self) -> dict[str, Any]:
        """Everything `read_object` parsed, plus the relocations decoded so far,
        as plain values (`marshal` writes them) with offsets relative to the
        object's start, so the same bytes elsewhere (another archive) reuse it."""
        b = self.start
        return {
            "types": [(tuple(t.code for t in ft.params),
                       None if ft.result is None else ft.result.code) for ft in self.types],
            "imports": _rows(self.imports, lambda i: (
                i.module, i.field, i.kind, i.type_index,
                None if i.global_type is None else (i.global_type[0].code, i.global_type[1]),
                i.limits)),
            "import_func_types": [i.type_index for i in self.imports if i.kind == _KIND_FUNC]
            if self._import_func_types is None else self._import_func_types,
            "counts": (self.num_imported_funcs, self.num_imported_globals,
                       self.num_imported_tables, self.num_imported_tags,
                       self.num_defined_tables, self.num_defined_tags),
            "functions": _flat_rows(self.functions, lambda f: (
                f.type_index, f.start - b, f.end - b, f.code_offset)),
            "globals": [(g.type.code, g.mutable, g.init) for g in self.globals],
            "exports": self.exports,
            "segments": _rows(self.segments, lambda g: (
                g.name, g.alignment, g.flags, g.start - b, g.end - b,
                g.data_offset_in_section, g.address, g.init_flags)),
            "symbol_kinds": bytes(self.symbol_kinds()),
            "init_funcs": self.init_funcs, "comdats": self.comdats,
            "target_features": self.target_features,
            "custom_sections": {k: (s0 - b, s1 - b)
                                for k, (s0, s1) in self.custom_sections.items()},
            "sections": [(i, n, s0 - b, s1 - b) for i, n, s0, s1 in self.sections],
            "code_section": self.code_section, "data_section": self.data_section,
            "data_count": self.data_count, "reloc_sections": self._reloc_sections,
            "code_ranges": None if self._relocs is not None or self._code_ranges is None else
            tuple(array.array("i", part) for part in self._code_ranges),
            "function_relocs": {**self._cached_relocs, **self._function_rows},
            "data_relocs": self._data_rows if self._data_rows is not None else
            None if self._data_only is None else reloc_rows(self._data_only),
        }

    @property
    def code_ranges_known(self) -> int:
        """1 once reloc.CODE was scanned for each function's entries (or fully decoded)."""
        return int(self._code_ranges is not None or self._relocs is not None)

    @property
    def data_relocs_known(self) -> int:
        return int(self._data_only is not None or self._data_rows is not None)

    def newly_decoded_functions(self) -> int:
        """How many functions' relocations were decoded that a snapshot did not hold."""
        cached = self._cached_relocs
        return sum(1 for i in self._function_rows if i not in cached)

    @staticmethod
    def restore(name: str, buf: Buffer, start: int, end: int,
                snap: dict[str, Any]) -> "WasmObject":
        """The object `snapshot` described, for the same bytes at buf[start:end];
        functions, symbols and segments are built only when one is indexed."""
        w = WasmObject(name, buf, start, end)
        b = start
        vt = _VALTYPES
        w.types = [canonical(FuncType(tuple(vt[c] for c in ps), None if r is None else vt[r]))
                   for ps, r in snap["types"]]
        w.imports = _Lazy(snap["imports"], lambda r: Import(
            r[0], r[1], r[2], r[3], None if r[4] is None else (vt[r[4][0]], r[4][1]),
            None if r[5] is None else (r[5][0], r[5][1])))
        w._import_func_types = snap["import_func_types"]
        (w.num_imported_funcs, w.num_imported_globals, w.num_imported_tables,
         w.num_imported_tags, w.num_defined_tables, w.num_defined_tags) = snap["counts"]
        w.functions = _Lazy(array.array("i", snap["functions"]),
                            lambda r: Function(r[0], r[1] + b, r[2] + b, r[3]), width=4)
        w.globals = [Global(vt[c], m, i) for c, m, i in snap["globals"]]
        w.exports = [(n, k, i) for n, k, i in snap["exports"]]
        w.segments = _Lazy(snap["segments"], lambda r: Segment(
            r[0], r[1], r[2], r[3] + b, r[4] + b, r[5], r[6], r[7]))
        # Symbols are wanted on a warm link's rare paths only (DWARF, errors):
        # they are read again from the object then; their kinds are at hand.
        w.symbols = _SymbolsOnDemand(w)
        w._symbol_kinds = snap["symbol_kinds"]
        w.init_funcs = [(p, i) for p, i in snap["init_funcs"]]
        w.comdats = [(n, [(k, i) for k, i in es]) for n, es in snap["comdats"]]
        w.target_features = [(p, f) for p, f in snap["target_features"]]
        w.custom_sections = {k: (s0 + b, s1 + b) for k, (s0, s1) in snap["custom_sections"].items()}
        w.sections = [(i, n, s0 + b, s1 + b) for i, n, s0, s1 in snap["sections"]]
        w.code_section, w.data_section = snap["code_section"], snap["data_section"]
        w.data_count = snap["data_count"]
        w._reloc_sections = list(snap["reloc_sections"])
        ranges = snap["code_ranges"]
        w._code_ranges = (None if ranges is None else
                          (array.array("i", ranges[0]), array.array("i", ranges[1])) if ranges
                          else ())
        w._cached_relocs = dict(snap["function_relocs"])
        data = snap["data_relocs"]
        if data is not None:
            w._data_rows = data
            w._data_offsets = list(data[1::4])
        return w

    def symbol_index(self) -> dict[str, int]:
        """Name -> symbol index of every defined, non-local symbol."""
        if self._symbol_index is None:
            mask = WASM_SYM_UNDEFINED | WASM_SYM_BINDING_LOCAL
            self._symbol_index = {s.name: i for i, s in enumerate(self.symbols)
                                  if not s.flags & mask}
        return self._symbol_index

    def func_type(self, func_index: int) -> FuncType:
        """The signature of a function (imports first)."""
        if func_index < self.num_imported_funcs:
            if self._import_func_types is None:
                self._import_func_types = [
                    i.type_index for i in self.imports if i.kind == _KIND_FUNC]
            return self.types[self._import_func_types[func_index]]
        return self.types[self.functions[func_index - self.num_imported_funcs].type_index]


_T = TypeVar("_T")


class _Lazy(Sequence[_T], Generic[_T]):
    """A read-only list built item by item from a snapshot's rows (or, with
    `width`, from a flat array of ints, `width` a row): a link touches the
    functions and segments of its live code only."""

    __slots__ = ("rows", "make", "made", "width")

    def __init__(self, rows: Sequence[Any], make: Callable[[Any], _T], width: int = 0) -> None:
        self.rows = rows
        self.make = make
        self.width = width
        self.made: list[_T | None] = [None] * len(self)

    def __len__(self) -> int:
        return len(self.rows) // self.width if self.width else len(self.rows)

    @overload
    def __getitem__(self, i: int) -> _T: ...
    @overload
    def __getitem__(self, i: slice) -> list[_T]: ...

    def __getitem__(self, i: int | slice) -> _T | list[_T]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        x = self.made[i]
        if x is None:
            n = self.width
            if n:
                i %= len(self.made)
                row = self.rows[n * i:n * i + n]
            else:
                row = self.rows[i]
            x = self.made[i] = self.make(row)
        return x


class _SymbolsOnDemand(Sequence[Symbol]):
    """A restored object's symbol table, read from the object at first use."""

    __slots__ = ("w", "symbols")

    def __init__(self, w: "WasmObject") -> None:
        self.w = w
        self.symbols: Sequence[Symbol] | None = None

    def __len__(self) -> int:
        return len(self.w.symbol_kinds())

    @overload
    def __getitem__(self, i: int) -> Symbol: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Symbol]: ...

    def __getitem__(self, i: int | slice) -> Symbol | Sequence[Symbol]:
        if self.symbols is None:
            w = self.w
            self.symbols = read_object(w.buf, w.name, start=w.start, end=w.end).symbols
        return self.symbols[i]


def _rows(items: Sequence[_T], row: Callable[[_T], Any]) -> Sequence[Any]:
    """A sequence's snapshot rows (a `_Lazy` one's are at hand)."""
    if isinstance(items, _Lazy):
        return items.rows
    return [row(x) for x in items]


def _flat_rows(items: Sequence[_T], row: Callable[[_T], tuple[int, ...]]) -> bytes:
    """A sequence's snapshot rows as one array of 32-bit ints, in bytes."""
    if isinstance(items, _Lazy):
        return bytes(items.rows)
    flat = array.array("i")
    for x in items:
        flat.extend(row(x))
    return flat.tobytes()


def reloc_rows(relocs: Sequence[Reloc]) -> tuple[int, ...]:
    """Relocations flat: ``type, offset, index, addend`` each."""
    flat: list[int] = []
    for r in relocs:
        flat += (int(r.type), r.offset, r.index, r.addend)
    return tuple(flat)


def _relocs_from_rows(rows: Sequence[int]) -> list[Reloc]:
    info = _RELOC_INFO
    return [Reloc(info[rows[k]][0], rows[k + 1], rows[k + 2], rows[k + 3])
            for k in range(0, len(rows), 4)]


def is_wasm_object(buf: Buffer, start: int = 0) -> bool:
    """Does `buf` hold a wasm binary (magic and version 1) at `start`?"""
    return bytes(buf[start:start + 8]) == MAGIC_VERSION


def read_object(buf: Buffer, name: str, *, start: int = 0, end: int | None = None) -> WasmObject:
    """Parse the relocatable object in ``buf[start:end]`` (see the module docstring)."""
    if end is None:
        end = len(buf)
    if not 0 <= start <= end <= len(buf):
        raise WasmObjectError(name, f"bad bounds {start}..{end} for a {len(buf)}-byte buffer")
    obj = WasmObject(name, buf, start, end)
    _Parser(obj).parse()
    return obj


class _Parser:
    """Eager parse of everything but relocations, into a WasmObject."""

    def __init__(self, obj: WasmObject) -> None:
        self.obj = obj
        self.where = "header"
        self.func_types: list[int] = []  # function section
        self.raw_segments: list[tuple[int, int, int, int, int]] = []  # start, end, off, addr, flags
        self._symbol_imports: dict[int, list[Import]] | None = None

    def parse(self) -> None:
        try:
            self.scan_sections()
            self.parse_sections()
        except _CAUGHT as exc:
            raise WasmObjectError(self.obj.name, _fail_reason(self.where, exc)) from None

    # -- section headers

    def scan_sections(self) -> None:
        """Record every section's id, name and contents bounds; check their order."""
        obj = self.obj
        buf, p, end = obj.buf, obj.start, obj.end
        if end - p < 8 or bytes(buf[p:p + 8]) != MAGIC_VERSION:
            bad_magic = bytes(buf[p:p + 4]) != MAGIC_VERSION[:4]
            raise _Fail("not a wasm binary (bad magic)" if bad_magic
                        else "unsupported wasm binary version")
        p += 8
        last_rank = 0
        while p < end:
            index = len(obj.sections)
            self.where = f"section {index} at offset {p - obj.start}"
            sid = buf[p]
            size, p = _header_uleb(buf, p + 1, end)
            if size > end - p:
                raise _Fail(f"size {size} runs past the end of the file")
            payload, stop = p, p + size
            name = ""
            if sid == 0:
                name, payload = self.custom_name(payload, stop)
                self.note_custom(index, name, payload, stop)
            elif sid not in _SECTION_RANK:
                raise _Fail(f"unknown section id {sid}")
            elif _SECTION_RANK[sid] <= last_rank:
                raise _Fail(f"{_SECTION_NAMES[sid]} section out of order or repeated")
            else:
                last_rank = _SECTION_RANK[sid]
            obj.sections.append((sid, name, payload, stop))
            p = stop

    def custom_name(self, p: int, stop: int) -> tuple[str, int]:
        n, p = _header_uleb(self.obj.buf, p, stop)
        if n > stop - p:
            raise _Fail("custom section name runs past the section")
        return bytes(self.obj.buf[p:p + n]).decode("utf-8"), p + n

    def note_custom(self, index: int, name: str, start: int, stop: int) -> None:
        obj = self.obj
        if name.startswith("reloc."):
            obj._reloc_sections.append(index)
        elif name not in ("linking", "target_features"):
            obj.custom_sections.setdefault(name, (start, stop))

    # -- section contents

    def parse_sections(self) -> None:
        obj = self.obj
        handlers: dict[int, Callable[[bytes, int], int]] = {
            1: self.parse_types, 2: self.parse_imports, 3: self.parse_function_section,
            4: self.parse_tables, 13: self.parse_tags, 6: self.parse_globals,
            7: self.parse_exports, 12: self.parse_data_count, 10: self.parse_code,
            11: self.parse_data}
        specials: dict[str, int] = {}
        for index, (sid, name, start, stop) in enumerate(obj.sections):
            if sid == 0:
                if name in ("linking", "target_features"):
                    if name in specials:
                        raise _Fail(f"two {name!r} sections")
                    specials[name] = index
                continue
            if sid == _SEC_CODE:
                obj.code_section = index
            elif sid == _SEC_DATA:
                obj.data_section = index
            handler = handlers.get(sid)
            if handler is not None:
                self.run(handler, index, f"{_SECTION_NAMES[sid]} section")
        self.where = "code section"
        if len(obj.functions) != len(self.func_types):
            raise _Fail(f"{len(self.func_types)} functions declared, "
                        f"{len(obj.functions)} bodies")
        if "linking" not in specials:
            self.where = "object"
            raise _Fail("no 'linking' section: not a relocatable object")
        self.run(self.parse_linking, specials["linking"], "linking section")
        self.build_segments()
        if "target_features" in specials:
            self.run(self.parse_features, specials["target_features"], "target_features section")

    def run(self, handler: Callable[[bytes, int], int], index: int, where: str) -> None:
        """Parse section `index` from a private copy of its contents.

        The copy bounds every read to the section (reading past it raises
        IndexError) and indexing `bytes` is the fastest way Python has.
        """
        _, _, start, stop = self.obj.sections[index]
        self.where = where
        data = bytes(self.obj.buf[start:stop])
        p = handler(data, start)
        self.where = where
        _check_end(p, len(data))

    @staticmethod
    def count(d: bytes, p: int) -> tuple[int, int]:
        # Every vector element takes at least one byte: a larger count is
        # corrupt, and refusing it early keeps loops and lists bounded.
        n, p = _uleb(d, p)
        if n > len(d) - p:
            raise _Fail(f"count {n} is larger than the rest of the section")
        return n, p

    @staticmethod
    def valtype(code: int, what: str) -> ValType:
        t = _VALTYPES.get(code)
        if t is None:
            raise _Fail(f"{what}: value type 0x{code:02x} is not supported "
                        "(only i32, i64, f32 and f64 are)")
        return t

    def parse_types(self, d: bytes, base: int) -> int:
        n, p = self.count(d, 0)
        types = self.obj.types
        for i in range(n):
            if d[p] != 0x60:
                raise _Fail(f"type {i} is not a function type (form 0x{d[p]:02x})")
            nparams, p = _uleb(d, p + 1)
            params = tuple(self.valtype(c, f"type {i}") for c in d[p:p + nparams])
            if len(params) != nparams:
                raise IndexError
            nresults, p = _uleb(d, p + nparams)
            if nresults > 1:
                raise _Fail(f"type {i} has {nresults} results (multi-value is not supported)")
            result = self.valtype(d[p], f"type {i}") if nresults else None
            p += nresults
            types.append(canonical(FuncType(params, result)))
        return p

    def check_type(self, ti: int, what: str) -> None:
        if ti >= len(self.obj.types):
            raise _Fail(f"{what}: type index {ti} out of range")

    def parse_imports(self, d: bytes, base: int) -> int:
        n, p = self.count(d, 0)
        obj = self.obj
        imports: list[Import] = []
        obj.imports = imports
        for i in range(n):
            module, p = _name(d, p)
            field, p = _name(d, p)
            imp, p = self.import_desc(d, p, module, field, f"import {i} ({module}.{field})")
            imports.append(imp)
        return p

    def import_desc(self, d: bytes, p: int, module: str, field: str,
                    what: str) -> tuple[Import, int]:
        obj = self.obj
        kind = d[p]
        p += 1
        if kind == _KIND_FUNC or kind == _KIND_TAG:
            if kind == _KIND_TAG:
                if d[p] != 0:
                    raise _Fail(f"{what}: tag attribute {d[p]} is not 0")
                p += 1
            ti, p = _uleb(d, p)
            self.check_type(ti, what)
            if kind == _KIND_FUNC:
                obj.num_imported_funcs += 1
            else:
                obj.num_imported_tags += 1
            return Import(module, field, kind, ti), p
        if kind == _KIND_GLOBAL:
            vt = self.valtype(d[p], what)
            if d[p + 1] > 1:
                raise _Fail(f"{what}: mutability {d[p + 1]} is not 0 or 1")
            obj.num_imported_globals += 1
            return Import(module, field, kind, global_type=(vt, d[p + 1] == 1)), p + 2
        if kind == _KIND_TABLE:
            if d[p] not in (0x70, 0x6F):
                raise _Fail(f"{what}: table element type 0x{d[p]:02x} is not a reference type")
            limits, p = self.limits(d, p + 1, what)
            obj.num_imported_tables += 1
            return Import(module, field, kind, limits=limits), p
        if kind == _KIND_MEMORY:
            limits, p = self.limits(d, p, what)
            return Import(module, field, kind, limits=limits), p
        raise _Fail(f"{what}: unknown import kind {kind}")

    @staticmethod
    def limits(d: bytes, p: int, what: str) -> tuple[tuple[int, int | None], int]:
        flags, p = _uleb(d, p)
        if flags > 7:  # has-max, shared, 64-bit
            raise _Fail(f"{what}: limits flags 0x{flags:x} unknown")
        lo, p = _uleb(d, p)
        hi: int | None = None
        if flags & 1:
            hi, p = _uleb(d, p)
        return (lo, hi), p

    def parse_function_section(self, d: bytes, base: int) -> int:
        n, p = self.count(d, 0)
        ntypes = len(self.obj.types)
        for i in range(n):
            ti, p = _uleb(d, p)
            if ti >= ntypes:
                raise _Fail(f"function {i}: type index {ti} out of range")
            self.func_types.append(ti)
        return p

    def parse_tables(self, d: bytes, base: int) -> int:
        n, p = self.count(d, 0)
        for i in range(n):
            if d[p] not in (0x70, 0x6F):
                raise _Fail(f"table {i}: element type 0x{d[p]:02x} is not a reference type")
            _, p = self.limits(d, p + 1, f"table {i}")
        self.obj.num_defined_tables = n
        return p

    def parse_tags(self, d: bytes, base: int) -> int:
        n, p = self.count(d, 0)
        for i in range(n):
            if d[p] != 0:
                raise _Fail(f"tag {i}: attribute {d[p]} is not 0")
            ti, p = _uleb(d, p + 1)
            self.check_type(ti, f"tag {i}")
        self.obj.num_defined_tags = n
        return p

    def parse_globals(self, d: bytes, base: int) -> int:
        n, p = self.count(d, 0)
        for i in range(n):
            vt = self.valtype(d[p], f"global {i}")
            mutable = d[p + 1]
            if mutable > 1:
                raise _Fail(f"global {i}: mutability {mutable} is not 0 or 1")
            start = p + 2
            p = _skip_const_expr(d, start)
            self.obj.globals.append(Global(vt, mutable == 1, d[start:p]))
        return p

    def parse_exports(self, d: bytes, base: int) -> int:
        n, p = self.count(d, 0)
        obj = self.obj
        nfuncs = obj.num_imported_funcs + len(self.func_types)
        nglobals = obj.num_imported_globals + len(obj.globals)
        for i in range(n):
            name, p = _name(d, p)
            kind = d[p]
            index, p = _uleb(d, p + 1)
            if kind > _KIND_TAG:
                raise _Fail(f"export {name!r}: unknown kind {kind}")
            if (kind == _KIND_FUNC and index >= nfuncs) or (
                    kind == _KIND_GLOBAL and index >= nglobals):
                raise _Fail(f"export {name!r}: index {index} out of range")
            obj.exports.append((name, kind, index))
        return p

    def parse_data_count(self, d: bytes, base: int) -> int:
        self.obj.data_count, p = _uleb(d, 0)
        return p

    def parse_code(self, d: bytes, base: int) -> int:
        n, p = self.count(d, 0)
        if n != len(self.func_types):
            raise _Fail(f"{n} bodies for {len(self.func_types)} declared functions")
        functions: list[Function] = []
        self.obj.functions = functions
        append = functions.append
        func_types = self.func_types
        size_limit = len(d)
        for i in range(n):
            # Only each body's size is read: bodies are decoded by whoever needs them.
            size = d[p]
            p += 1
            if size >= 0x80:
                size, p = _leb(d, p - 1, False)
            q = p + size
            if q > size_limit:
                raise _Fail(f"body of function {i} runs past the section")
            append(Function(func_types[i], base + p, base + q, p))
            p = q
        return p

    def parse_data(self, d: bytes, base: int) -> int:
        n, p = self.count(d, 0)
        count = self.obj.data_count
        if count is not None and n != count:
            raise _Fail(f"{n} segments but the data count section says {count}")
        append = self.raw_segments.append
        limit = len(d)
        for i in range(n):
            if d[p] == 0 and d[p + 1] == 0x41:  # what clang writes: active, i32.const
                address, p = _sleb(d, p + 2)
                if d[p] != 0x0B:
                    raise _Fail(f"segment {i}: offset expression is not a constant")
                flags = 0
                p += 1
            else:
                flags, address, p = self.segment_header(d, p, i)
            size, p = _uleb(d, p)
            q = p + size
            if q > limit:
                raise _Fail(f"segment {i} runs past the section")
            append((base + p, base + q, p, address, flags))
            p = q
        return p

    @staticmethod
    def segment_header(d: bytes, p: int, i: int) -> tuple[int, int, int]:
        """Any segment header: (flags, address or 0, position after it)."""
        flags, p = _uleb(d, p)
        if flags == 1:  # passive
            return flags, 0, p
        if flags == 2:
            _, p = _uleb(d, p)  # memory index
        elif flags != 0:
            raise _Fail(f"segment {i}: unknown flags {flags}")
        address, p = _segment_address(d, p)
        return flags, address, p

    # -- linking metadata

    def parse_linking(self, d: bytes, base: int) -> int:
        version, p = _uleb(d, 0)
        if version != LINKING_VERSION:
            raise _Fail(f"version {version}, expected {LINKING_VERSION}")
        subsections: dict[int, Callable[[bytes, int], int]] = {
            8: self.parse_symtab, 5: self.parse_segment_info, 6: self.parse_init_funcs,
            7: self.parse_comdats}
        while p < len(d):
            sub = d[p]
            size, p = _uleb(d, p + 1)
            stop = p + size
            if stop > len(d):
                raise _Fail(f"subsection {sub} runs past the section")
            self.where = f"linking subsection {sub}"
            parse = subsections.get(sub)
            end = parse(d, p) if parse is not None else stop  # unknown ones are skipped
            _check_end(end, stop)
            p = stop
        return p

    def symbol_imports(self) -> dict[int, list[Import]]:
        if self._symbol_imports is not None:
            return self._symbol_imports
        by_kind: dict[int, list[Import]] = {_KIND_FUNC: [], _KIND_GLOBAL: [], _KIND_TAG: [],
                                            _KIND_TABLE: []}
        for imp in self.obj.imports:
            if imp.kind in by_kind:
                by_kind[imp.kind].append(imp)
        self._symbol_imports = {
            SymKind.FUNCTION: by_kind[_KIND_FUNC], SymKind.GLOBAL: by_kind[_KIND_GLOBAL],
            SymKind.TAG: by_kind[_KIND_TAG], SymKind.TABLE: by_kind[_KIND_TABLE]}
        return self._symbol_imports

    def index_spaces(self) -> dict[int, tuple[int, int]]:
        """(imported, total) per symbol kind with an index space."""
        o = self.obj
        return {SymKind.FUNCTION: (o.num_imported_funcs, o.num_imported_funcs + len(o.functions)),
                SymKind.GLOBAL: (o.num_imported_globals, o.num_imported_globals + len(o.globals)),
                SymKind.TAG: (o.num_imported_tags, o.num_imported_tags + o.num_defined_tags),
                SymKind.TABLE: (o.num_imported_tables,
                                o.num_imported_tables + o.num_defined_tables)}

    def parse_symtab(self, d: bytes, p: int) -> int:
        obj = self.obj
        if obj.symbols:
            raise _Fail("a second symbol table")
        n, p = self.count(d, p)
        # The hottest loop of the reader (one pass per symbol of every loaded
        # object): plain int constants, LEB and name fast paths inline, and
        # the rare cases (imports, sections, errors) in helpers.
        spaces = self.index_spaces()
        seg_sizes = [e - s for s, e, _, _, _ in self.raw_segments]
        nsegs = len(seg_sizes)
        symbols: list[Symbol] = []
        obj.symbols = symbols
        append = symbols.append
        kinds = _SYMKINDS
        data_kind = SymKind.DATA
        # Each symbol's kind byte, for `symbol_kinds` (an unknown kind is refused below).
        kind_bytes = bytearray(n)
        for i in range(n):
            kind = d[p]
            kind_bytes[i] = kind
            flags = d[p + 1]
            p += 2
            if flags >= 0x80:
                flags, p = _leb(d, p - 1, False)
            if kind == 1:  # data: name, then segment, offset, size when defined
                ln = d[p]
                if ln < 0x80:
                    q = p + 1 + ln
                    name = d[p + 1:q].decode("utf-8")
                    p = q
                else:
                    name, p = _name(d, p)
                if flags & WASM_SYM_UNDEFINED:
                    append(Symbol(data_kind, flags, name, -1))
                    continue
                seg, p = _uleb(d, p)
                offset, p = _uleb(d, p)
                size, p = _uleb(d, p)
                if not flags & WASM_SYM_ABSOLUTE and (seg >= nsegs or offset > seg_sizes[seg]):
                    raise _Fail(f"symbol {i} ({name}): segment {seg} offset {offset} "
                                "out of range")
                append(Symbol(data_kind, flags, name, seg, offset, size))
            elif kind in spaces:  # function, global, tag, table
                index = d[p]
                p += 1
                if index >= 0x80:
                    index, p = _uleb(d, p - 1)
                nimported, total = spaces[kind]
                if flags & WASM_SYM_UNDEFINED:
                    sym, p = self.import_symbol(d, p, i, kind, flags, index)
                    append(sym)
                    continue
                if not nimported <= index < total:
                    raise _Fail(f"symbol {i}: defined {kinds[kind].name.lower()} "
                                f"index {index} out of range")
                ln = d[p]
                if ln < 0x80:
                    q = p + 1 + ln
                    name = d[p + 1:q].decode("utf-8")
                    p = q
                else:
                    name, p = _name(d, p)
                append(Symbol(kinds[kind], flags, name, index))
            elif kind == 3:
                index, p = _uleb(d, p)
                append(self.section_symbol(i, flags, index))
            else:
                raise _Fail(f"symbol {i}: unknown kind {kind}")
        obj._symbol_kinds = bytes(kind_bytes)
        self.check_unique_names()
        return p

    def import_symbol(self, d: bytes, p: int, i: int, kind: int, flags: int,
                      index: int) -> tuple[Symbol, int]:
        """An undefined function/global/tag/table symbol: it names an import."""
        what = _SYMKINDS[kind].name.lower()
        imports = self.symbol_imports()[kind]
        if index >= len(imports):
            raise _Fail(f"symbol {i}: undefined {what} index {index} is not an import")
        if kind != SymKind.FUNCTION and flags & WASM_SYM_BINDING_WEAK:
            raise _Fail(f"symbol {i}: undefined weak {what}")
        imp = imports[index]
        name = imp.field
        if flags & WASM_SYM_EXPLICIT_NAME:
            name, p = _name(d, p)
        return Symbol(_SYMKINDS[kind], flags, name, index, 0, 0, imp.module, imp.field), p

    def section_symbol(self, i: int, flags: int, index: int) -> Symbol:
        sections = self.obj.sections
        if not flags & WASM_SYM_BINDING_LOCAL:
            raise _Fail(f"symbol {i}: section symbols must be local")
        if index >= len(sections) or sections[index][0] not in (0, _SEC_CODE, _SEC_DATA):
            raise _Fail(f"symbol {i}: section {index} is not a code, data or custom section")
        sid, name = sections[index][:2]
        return Symbol(SymKind.SECTION, flags, name or _SECTION_NAMES[sid], index)

    def check_unique_names(self) -> None:
        names = [s.name for s in self.obj.symbols if not s.flags & WASM_SYM_BINDING_LOCAL]
        if len(set(names)) != len(names):
            dup = next(n for n, count in collections.Counter(names).items() if count > 1)
            raise _Fail(f"two non-local symbols named {dup!r}")

    def parse_segment_info(self, d: bytes, p: int) -> int:
        n, p = self.count(d, p)
        raw = self.raw_segments
        if n > len(raw):
            raise _Fail(f"{n} segment infos for {len(raw)} segments")
        if self.obj.segments:
            raise _Fail("a second segment info subsection")
        segments: list[Segment] = []
        self.obj.segments = segments
        append = segments.append
        for i in range(n):
            name, p = _name(d, p)
            alignment, p = _uleb(d, p)
            flags, p = _uleb(d, p)
            start, end, offset, address, init_flags = raw[i]
            append(Segment(name, alignment, flags, start, end, offset, address, init_flags))
        return p

    def parse_init_funcs(self, d: bytes, p: int) -> int:
        n, p = self.count(d, p)
        symbols = self.obj.symbols
        for _ in range(n):
            priority, p = _uleb(d, p)
            sym, p = _uleb(d, p)
            if sym >= len(symbols) or symbols[sym].kind != SymKind.FUNCTION:
                raise _Fail(f"init function symbol {sym} is not a function symbol")
            self.obj.init_funcs.append((priority, sym))
        return p

    def parse_comdats(self, d: bytes, p: int) -> int:
        n, p = self.count(d, p)
        names: set[str] = set()
        for _ in range(n):
            name, p = _name(d, p)
            if not name or name in names:
                raise _Fail(f"empty or repeated comdat name {name!r}")
            names.add(name)
            flags, p = _uleb(d, p)
            if flags:
                raise _Fail(f"comdat {name!r}: unknown flags {flags}")
            count, p = self.count(d, p)
            entries: list[tuple[int, int]] = []
            for _ in range(count):
                kind, p = _uleb(d, p)
                index, p = _uleb(d, p)
                self.check_comdat_entry(name, kind, index)
                entries.append((kind, index))
            self.obj.comdats.append((name, entries))
        return p

    def check_comdat_entry(self, name: str, kind: int, index: int) -> None:
        obj = self.obj
        spaces = self.index_spaces()
        # Comdat kinds: 0 data, 1 function, 2 global, 3 tag, 4 table, 5 section.
        space = {1: SymKind.FUNCTION, 2: SymKind.GLOBAL, 3: SymKind.TAG, 4: SymKind.TABLE}
        if kind == WASM_COMDAT_DATA:
            ok = index < len(self.raw_segments)
        elif kind == WASM_COMDAT_SECTION:
            ok = index < len(obj.sections) and obj.sections[index][0] == 0
        elif kind in space:
            lo, hi = spaces[space[kind]]
            ok = lo <= index < hi
        else:
            raise _Fail(f"comdat {name!r}: unknown entry kind {kind}")
        if not ok:
            raise _Fail(f"comdat {name!r}: entry ({kind}, {index}) out of range")

    def build_segments(self) -> None:
        """Segments the linking section gave no info for: no name, byte aligned."""
        segments = list(self.obj.segments)
        self.obj.segments = segments
        for start, end, offset, address, flags in self.raw_segments[len(segments):]:
            segments.append(Segment("", 0, 0, start, end, offset, address, flags))

    def parse_features(self, d: bytes, base: int) -> int:
        n, p = self.count(d, 0)
        for _ in range(n):
            prefix = chr(d[p])
            if prefix not in "+-=":
                raise _Fail(f"unknown feature prefix {prefix!r}")
            feature, p = _name(d, p + 1)
            self.obj.target_features.append((prefix, feature))
        return p


def _check_end(p: int, end: int) -> None:
    """A section or subsection must end exactly where its size says."""
    if p > end:
        raise _Fail(f"its contents run {p - end} bytes past its end")
    if p < end:
        raise _Fail(f"{end - p} unexpected bytes at its end")


def _header_uleb(buf: Buffer, p: int, end: int) -> tuple[int, int]:
    """An unsigned LEB read straight from the caller's buffer, bounded by `end`."""
    result = shift = 0
    while True:
        if p >= end:
            raise _Fail("truncated section header")
        b = buf[p]
        p += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, p
        shift += 7
        if shift > 28:
            raise _Fail("section header LEB longer than 5 bytes")


def _segment_address(d: bytes, p: int) -> tuple[int, int]:
    """A segment's offset expression: its value if a plain constant, else 0."""
    if d[p] in (0x41, 0x42):
        value, q = _sleb(d, p + 1)
        if d[q] == 0x0B:
            return value, q + 1
    return 0, _skip_const_expr(d, p)


class _RelocParser:
    """Parse an object's reloc.* sections for code and data, or for custom sections.

    The two groups load separately because DWARF relocations (reloc..debug_*)
    often outnumber the others and a linker that drops debug info never
    needs them.
    """

    def __init__(self, obj: WasmObject) -> None:
        self.obj = obj
        self.where = "relocations"
        self.kinds = obj.symbol_kinds()

    def parse(self, custom: bool, only: int | None = None) -> dict[int, list[Reloc]]:
        """Target section index -> its relocations, for custom or code/data targets
        (or for target section `only`)."""
        obj = self.obj
        out: dict[int, list[Reloc]] = {}
        try:
            for index in obj._reloc_sections:
                _, name, start, stop = obj.sections[index]
                self.where = f"{name} section"
                target, p = _header_uleb(obj.buf, start, stop)
                sid = self.target_id(target, index)
                if only is not None and target != only:
                    continue
                if (sid == 0) == custom:
                    dest = out.setdefault(target, [])
                    merge = bool(dest)
                    self.section(bytes(obj.buf[p:stop]), target, dest)
                    if merge:  # two reloc sections for one target: keep the offset order
                        dest.sort(key=lambda r: r.offset)
        except _CAUGHT as exc:
            raise WasmObjectError(obj.name, _fail_reason(self.where, exc)) from None
        return out

    def target_id(self, target: int, index: int) -> int:
        sections = self.obj.sections
        if target >= index:
            raise _Fail(f"target section {target} does not precede it")
        sid = sections[target][0]
        if sid not in (0, _SEC_CODE, _SEC_DATA):
            raise _Fail(f"target section {target} is not code, data or custom")
        return sid

    def section(self, d: bytes, target: int, dest: list[Reloc]) -> None:
        _, _, start, stop = self.obj.sections[target]
        _check_end(self.entries(d, 0, stop - start, dest), len(d))

    def entries(self, d: bytes, p: int, limit: int, dest: list[Any],
                count: int | None = None, flat: bool = False) -> int:
        """Parse `count` entries from `p` (by default the count stored at `p`)
        into `dest`: Relocs, or with `flat` four ints each (`reloc_rows`)."""
        if count is None:
            n, p = _Parser.count(d, p)
        else:
            n = count
        kinds = self.kinds
        nsyms = len(kinds)
        ntypes = len(self.obj.types)
        append = dest.append
        info = _RELOC_INFO
        prev = 0
        # Hot loop (one pass per relocation): LEB fast paths inline, one
        # table lookup per type for everything the checks need.
        for _ in range(n):
            t = d[p]
            if t >= len(info):  # includes a padded (multi-byte) type
                t, p = _uleb(d, p)
                if t >= len(info):
                    raise _Fail(f"unknown relocation type {t}")
            else:
                p += 1
            # Offsets and symbol indices of up to 3 bytes (sections under 2 MB,
            # objects under 2M symbols) decode inline; longer ones in `_leb`.
            offset = d[p]
            if offset < 0x80:
                p += 1
            else:
                b = d[p + 1]
                if b < 0x80:
                    offset = (offset & 0x7F) | (b << 7)
                    p += 2
                elif d[p + 2] < 0x80:
                    offset = (offset & 0x7F) | ((b & 0x7F) << 7) | (d[p + 2] << 14)
                    p += 3
                else:
                    offset, p = _leb(d, p, False)
            index = d[p]
            if index < 0x80:
                p += 1
            else:
                b = d[p + 1]
                if b < 0x80:
                    index = (index & 0x7F) | (b << 7)
                    p += 2
                elif d[p + 2] < 0x80:
                    index = (index & 0x7F) | ((b & 0x7F) << 7) | (d[p + 2] << 14)
                    p += 3
                else:
                    index, p = _leb(d, p, False)
            rtype, mask, size, has_addend = info[t]
            if mask:
                if index >= nsyms or not (mask >> kinds[index]) & 1:
                    raise _Fail(f"{rtype.name} at {offset}: symbol {index} missing or of "
                                "the wrong kind")
            elif index >= ntypes:
                raise _Fail(f"TYPE_INDEX_LEB at {offset}: type {index} out of range")
            if offset < prev:
                raise _Fail(f"relocation at {offset} follows one at {prev}: not in offset order")
            if offset + size > limit:
                raise _Fail(f"{rtype.name} at {offset} runs past its target section")
            prev = offset
            addend = 0
            if has_addend:
                addend = d[p]
                if addend < 0x40:       # 0..63, one byte: nearly every addend
                    p += 1
                else:
                    addend, p = _sleb(d, p)
            if flat:
                append(t)
                append(offset)
                append(index)
                append(addend)
            else:
                append(Reloc(rtype, offset, index, addend))
        return p


def _scan_code_relocs(d: bytes, bounds: list[int]) -> tuple[list[int], list[int]]:
    """Where each function's entries start in reloc.CODE payload `d`, and how many.

    `bounds` holds each function's first and past-the-end code offset, in
    order.  One pass decodes only the offsets (entries are sorted by offset,
    Linking.md) and skips the rest; the entries before a function's first
    offset up to its end are its own, as `WasmObject._slice` counts them.
    Raises `_Fail` (or IndexError) on anything it does not follow, the
    caller then decodes the section whole."""
    p = _header_uleb(d, 0, len(d))[1]  # the target section, checked by the caller
    n, p = _Parser.count(d, p)
    has_addend = _HAS_ADDEND
    marks_at: list[int] = []   # per bound: byte position of the first entry at or past it
    marks_k: list[int] = []    # per bound: that entry's number
    nb = len(bounds)
    j = 0
    edge = bounds[0] if nb else 1 << 64
    prev = 0
    for k in range(n):
        # Hot loop: offsets of up to 3 bytes (code sections under 2 MB)
        # inline, skipping LEBs by their continuation bits.
        q = p
        t = d[p]
        if t >= 27:
            raise _Fail("relocation type needs the full decoder")
        offset = d[p + 1]
        p += 2
        if offset >= 0x80:
            b = d[p]
            if b < 0x80:
                offset = (offset & 0x7F) | (b << 7)
                p += 1
            elif d[p + 1] < 0x80:
                offset = (offset & 0x7F) | ((b & 0x7F) << 7) | (d[p + 1] << 14)
                p += 2
            else:
                offset, p = _leb(d, q + 1, False)
        if offset < prev:
            raise _Fail("relocations out of offset order")
        prev = offset
        while offset >= edge:
            marks_at.append(q)
            marks_k.append(k)
            j += 1
            edge = bounds[j] if j < nb else 1 << 64
        while d[p] >= 0x80:
            p += 1
        p += 1
        if has_addend[t]:
            while d[p] >= 0x80:
                p += 1
            p += 1
    if p != len(d):
        raise _Fail("bytes after the last relocation")
    while j < nb:
        marks_at.append(p)
        marks_k.append(n)
        j += 1
    return marks_at[0::2], [e - s for s, e in zip(marks_k[0::2], marks_k[1::2])]


_HAS_ADDEND: Final[tuple[bool, ...]] = tuple(t in RELOC_HAS_ADDEND for t in range(27))


# Per relocation type: (enum member, allowed symbol kinds mask, patched bytes, has addend).
_RELOC_INFO: Final[tuple[tuple[RelocType, int, int, bool], ...]] = tuple(
    (t, _RELOC_KINDS[t], RELOC_SIZE[t], t in RELOC_HAS_ADDEND) for t in RelocType)


# ---------------------------------------------------------------- the writer


def padded_uleb(value: int, width: int = 5) -> bytes:
    """`value` as an unsigned LEB of exactly `width` bytes, as relocated sites are written."""
    if not 0 <= value < 1 << (7 * width):
        raise ValueError(f"{value} does not fit a {width}-byte unsigned LEB")
    if width == 5:  # every relocated site but 64-bit ones: no generator
        return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14 & 0x7F | 0x80,
                      value >> 21 & 0x7F | 0x80, value >> 28))
    out = bytearray((value >> (7 * i)) & 0x7F | 0x80 for i in range(width))
    out[-1] &= 0x7F
    return bytes(out)


def padded_sleb(value: int, width: int = 5) -> bytes:
    """`value` as a signed LEB of exactly `width` bytes."""
    bound = 1 << (7 * width - 1)
    if not -bound <= value < bound:
        raise ValueError(f"{value} does not fit a {width}-byte signed LEB")
    out = bytearray((value >> (7 * i)) & 0x7F | 0x80 for i in range(width))
    out[-1] &= 0x7F
    return bytes(out)


def _check_relocs(relocs: Iterable[Reloc], size: int, what: str) -> tuple[Reloc, ...]:
    """The relocations of one body/segment/section, validated and sorted by offset."""
    out = tuple(sorted(relocs, key=lambda r: r.offset))
    for r in out:
        if r.type not in RELOC_SIZE:
            raise ValueError(f"{what}: unknown relocation type {r.type}")
        if r.offset < 0 or r.offset + RELOC_SIZE[r.type] > size:
            raise ValueError(f"{what}: {RelocType(r.type).name} at {r.offset} is outside "
                             f"its {size} bytes")
        if r.addend and r.type not in RELOC_HAS_ADDEND:
            raise ValueError(f"{what}: {RelocType(r.type).name} takes no addend")
    return out


# A body's or segment's relocations and where its bytes start in the section.
_Placed = tuple[int, tuple[Reloc, ...]]
# Sites that hold a 5-byte unsigned LEB (`_site_bytes` of a value below 2**32).
_UNSIGNED_LEB5: frozenset[int] = frozenset(
    t for t in RelocType if RELOC_SIZE[t] == 5 and t not in _SIGNED_LEB)
assert max(RelocType) < 0x80      # a type is one LEB byte (`_reloc_payload`)


class ObjectWriter:
    """Builds a relocatable object the way clang lays one out.

    Index spaces are the module's: imports first, so every import of a kind
    must be added before the first definition of that kind.  Relocation
    offsets passed in are relative to the body, segment data or custom
    payload they belong to; `finish` makes them section-relative.  Sites
    must already hold padded LEBs (`padded_uleb`/`padded_sleb`).

    Section order: type, import, function, global, data count (when there
    are segments), code, data, then custom sections that have relocations or
    a section symbol (LLVM's reader resolves only sections it has already
    seen, so these precede ``linking``, as clang writes DWARF), ``linking``,
    ``reloc.CODE``, ``reloc.DATA``, ``reloc.<custom>``, ``target_features``
    and the other custom sections in the order added.  Segments are packed
    in order at their alignment from address 0; the memory import's minimum
    is the pages they need.

    Differences from "write what was given": each relocated site is filled
    with its object-local value (clang's provisional values: indices,
    addresses in this object's layout, 0 for table slots) so the object
    validates; an undefined function, global or table symbol whose name
    differs from its import's field gets WASM_SYM_EXPLICIT_NAME; a SECTION
    symbol names its custom section by `name` (its `index` is ignored).
    Misuse raises ValueError.
    """

    def __init__(self) -> None:
        self._types: list[FuncType] = []
        self._type_map: dict[FuncType, int] = {}
        self._imports: list[Import] = []
        self._functions: list[tuple[int, bytes, tuple[Reloc, ...]]] = []
        self._globals: list[Global] = []
        self._segments: list[tuple[str, bytes, int, int, tuple[Reloc, ...]]] = []
        self._symbols: list[Symbol] = []
        self._init_funcs: list[tuple[int, int]] = []
        self._comdats: list[tuple[str, list[tuple[int, int]]]] = []
        self._features: list[tuple[str, str]] = []
        self._customs: list[tuple[str, bytes, tuple[Reloc, ...]]] = []
        # reloc section name ("CODE", ...) -> payload position of each entry (`finish`)
        self.reloc_positions: dict[str, list[int]] = {}
        self._addresses: list[int] | None = None

    # -- building

    def add_type(self, ft: FuncType) -> int:
        index = self._type_map.get(ft)
        if index is None:
            index = self._type_map[ft] = len(self._types)
            self._types.append(ft)
        return index

    def _imported(self, kind: int) -> list[Import]:
        return [i for i in self._imports if i.kind == kind]

    def import_function(self, module: str, field: str, ft: FuncType) -> int:
        if self._functions:
            raise ValueError("import functions before defining any")
        self._imports.append(Import(module, field, _KIND_FUNC, self.add_type(ft)))
        return len(self._imported(_KIND_FUNC)) - 1

    def import_global(self, module: str, field: str, vt: ValType, mutable: bool) -> int:
        if self._globals:
            raise ValueError("import globals before defining any")
        self._imports.append(Import(module, field, _KIND_GLOBAL, global_type=(vt, mutable)))
        return len(self._imported(_KIND_GLOBAL)) - 1

    def import_memory(self) -> None:
        """Import ``env.__linear_memory`` (its minimum is set from the data at `finish`)."""
        if self._imported(_KIND_MEMORY):
            raise ValueError("memory already imported")
        self._imports.append(Import("env", "__linear_memory", _KIND_MEMORY, limits=(0, None)))

    def import_table(self) -> int:
        """Import ``env.__indirect_function_table``; returns its table number."""
        self._imports.append(
            Import("env", "__indirect_function_table", _KIND_TABLE, limits=(0, None)))
        return len(self._imported(_KIND_TABLE)) - 1

    def add_function(self, ft: FuncType, body: bytes, relocs: Sequence[Reloc] = ()) -> int:
        """Add a body (locals vector, code, final end); returns its function index."""
        index = len(self._imported(_KIND_FUNC)) + len(self._functions)
        checked = _check_relocs(relocs, len(body), f"function {index}")
        self._functions.append((self.add_type(ft), bytes(body), checked))
        return index

    def add_global(self, vt: ValType, mutable: bool, init: bytes) -> int:
        if not init.endswith(b"\x0b"):
            raise ValueError("a global's init expression must end with `end` (0x0b)")
        self._globals.append(Global(vt, mutable, bytes(init)))
        return len(self._imported(_KIND_GLOBAL)) + len(self._globals) - 1

    def add_segment(self, name: str, data: bytes, alignment_log2: int, flags: int = 0,
                    relocs: Sequence[Reloc] = ()) -> int:
        checked = _check_relocs(relocs, len(data), f"segment {name!r}")
        self._segments.append((name, bytes(data), alignment_log2, flags, checked))
        return len(self._segments) - 1

    def add_symbol(self, sym: Symbol) -> int:
        self._symbols.append(sym)
        return len(self._symbols) - 1

    def add_init_func(self, priority: int, symbol_index: int) -> None:
        self._init_funcs.append((priority, symbol_index))

    def add_comdat(self, name: str, entries: Sequence[tuple[int, int]]) -> None:
        """A comdat of (kind, index) entries (WASM_COMDAT_DATA/FUNCTION/SECTION)."""
        self._comdats.append((name, list(entries)))

    def set_target_features(self, feats: Sequence[tuple[str, str]]) -> None:
        for prefix, _ in feats:
            if prefix not in ("+", "-", "="):
                raise ValueError(f"feature prefix {prefix!r} is not +, - or =")
        self._features = list(feats)

    def add_custom_section(self, name: str, payload: bytes, relocs: Sequence[Reloc] = ()) -> None:
        """A custom section; `relocs` offsets are relative to `payload`."""
        if name == "linking" or name == "target_features" or name.startswith("reloc."):
            raise ValueError(f"{name!r} is written by the writer itself")
        checked = _check_relocs(relocs, len(payload), f"custom section {name!r}")
        self._customs.append((name, bytes(payload), checked))

    # -- writing

    def finish(self) -> bytes:
        """The object file's bytes."""
        if self._segments and not self._imported(_KIND_MEMORY):
            raise ValueError("data segments need import_memory()")
        out = _SectionSink()
        self._standard_sections(out)
        code_relocs = self._code_section(out)
        data_relocs = self._data_section(out)
        early, late = self._split_customs()
        custom_index: dict[str, int] = {}
        for name, payload, relocs in early:
            custom_index.setdefault(name, out.custom(name, self._fill_sites(payload, relocs)))
        out.custom("linking", self._linking(custom_index))
        self._reloc_sections(out, code_relocs, data_relocs, early, custom_index)
        if self._features:
            out.custom("target_features", self._features_payload())
        for name, payload, _ in late:
            out.custom(name, payload)
        return bytes(out.buf)

    def _standard_sections(self, out: _SectionSink) -> None:
        if self._types:
            buf = _vec(len(self._types))
            for ft in self._types:
                encode_functype(buf, ft)
            out.section(1, buf)
        if self._imports:
            out.section(2, self._import_payload())
        if self._functions:
            buf = _vec(len(self._functions))
            for type_index, _, _ in self._functions:
                write_uleb(buf, type_index)
            out.section(3, buf)
        if self._globals:
            buf = _vec(len(self._globals))
            for g in self._globals:
                buf += bytes((g.type.code, int(g.mutable)))
                buf += g.init
            out.section(6, buf)
        if self._segments:
            out.section(12, _vec(len(self._segments)))  # data count

    def _import_payload(self) -> bytearray:
        buf = _vec(len(self._imports))
        pages = (self._data_end() + 0xFFFF) >> 16
        for imp in self._imports:
            encode_name(buf, imp.module)
            encode_name(buf, imp.field)
            buf.append(imp.kind)
            if imp.kind == _KIND_FUNC:
                write_uleb(buf, imp.type_index)
            elif imp.kind == _KIND_GLOBAL:
                assert imp.global_type is not None
                buf += bytes((imp.global_type[0].code, int(imp.global_type[1])))
            else:
                if imp.kind == _KIND_TABLE:
                    buf.append(0x70)  # funcref
                buf += b"\x00"  # limits without a maximum
                write_uleb(buf, pages if imp.kind == _KIND_MEMORY else 0)
        return buf

    def _segment_addresses(self) -> list[int]:
        """Each segment's address in the object's memory: packed in order, aligned
        (computed once per set of segments: every function's sites need them)."""
        if self._addresses is not None and len(self._addresses) == len(self._segments):
            return self._addresses
        addresses = []
        addr = 0
        for _, data, align, _, _ in self._segments:
            unit = 1 << align
            addr = (addr + unit - 1) // unit * unit
            addresses.append(addr)
            addr += len(data)
        self._addresses = addresses
        return addresses

    def _data_end(self) -> int:
        if not self._segments:
            return 0
        return self._segment_addresses()[-1] + len(self._segments[-1][1])

    def function_reloc_ranges(self) -> list[tuple[int, int]]:
        """After `finish`: per defined function, (byte position of its first entry
        in the `reloc.CODE` payload, number of entries); (0, 0) without any."""
        positions = self.reloc_positions.get("CODE", [])
        out: list[tuple[int, int]] = []
        k = 0
        for _, _, body_relocs in self._functions:
            n = len(body_relocs)
            out.append((positions[k], n) if n else (0, 0))
            k += n
        return out

    def _code_section(self, out: _SectionSink) -> list[_Placed]:
        if not self._functions:
            return []
        buf = _vec(len(self._functions))
        relocs: list[_Placed] = []
        for _, body, body_relocs in self._functions:
            write_uleb(buf, len(body))
            if body_relocs:
                relocs.append((len(buf), body_relocs))
            buf += self._fill_sites(body, body_relocs)
        out.code_index = out.section(10, buf)
        return relocs

    def _data_section(self, out: _SectionSink) -> list[_Placed]:
        if not self._segments:
            return []
        buf = _vec(len(self._segments))
        relocs: list[_Placed] = []
        for (_, data, _, _, seg_relocs), addr in zip(self._segments, self._segment_addresses()):
            buf += b"\x00\x41"  # active, memory 0, i32.const addr
            write_sleb(buf, addr)
            buf.append(0x0B)
            write_uleb(buf, len(data))
            if seg_relocs:
                relocs.append((len(buf), seg_relocs))
            buf += self._fill_sites(data, seg_relocs)
        out.data_index = out.section(11, buf)
        return relocs

    def _fill_sites(self, data: bytes, relocs: Sequence[Reloc]) -> bytes:
        """`data` with each relocated site holding its object-local value.

        clang leaves such provisional values (function, global and type
        indices, addresses in the object's own memory layout) so that an
        object is itself a valid module; the linker overwrites them.  Every
        relocation a `reloc.*` section holds passes through here first, so
        this is where each one's symbol (or type) index is checked, once.
        """
        if not relocs:
            return data
        out = bytearray(data)
        addresses = self._segment_addresses()
        provisional = self._provisional
        for r in relocs:
            rtype, offset = r.type, r.offset
            value = provisional(r, addresses)
            if rtype in _UNSIGNED_LEB5:    # most sites: no wrapping needed below 2**32
                if 0 <= value < 0x1_0000_0000:
                    out[offset:offset + 5] = padded_uleb(value)
                    continue
            out[offset:offset + RELOC_SIZE[rtype]] = _site_bytes(rtype, value)
        return bytes(out)

    def _provisional(self, r: Reloc, addresses: list[int]) -> int:
        mask = _RELOC_KINDS[r.type]
        index = r.index
        if not mask:  # TYPE_INDEX_LEB
            if not 0 <= index < len(self._types):
                raise ValueError(f"relocation at {r.offset}: no type {index}")
            return index
        symbols = self._symbols
        # `_check_symbol`, inlined (its message built only on failure).
        if not 0 <= index < len(symbols) or not (mask >> symbols[index].kind) & 1:
            self._check_symbol(index, mask, f"{RelocType(r.type).name} at {r.offset}")
        sym = symbols[index]
        if sym.kind == SymKind.DATA:  # memory addresses (or a GOT entry: 0)
            if sym.undefined or r.type in _INDEX_RELOCS:
                return 0
            base = 0 if sym.absolute else addresses[sym.index]
            return base + sym.offset + r.addend
        if r.type in _INDEX_RELOCS:
            return sym.index if sym.kind != SymKind.FUNCTION or r.type != R.GLOBAL_INDEX_LEB else 0
        return r.addend  # table slots and code/section offsets: only the linker knows

    def _split_customs(self) -> tuple[list[tuple[str, bytes, tuple[Reloc, ...]]],
                                      list[tuple[str, bytes, tuple[Reloc, ...]]]]:
        named = {s.name for s in self._symbols if s.kind == SymKind.SECTION}
        early = [c for c in self._customs if c[2] or c[0] in named]
        late = [c for c in self._customs if not (c[2] or c[0] in named)]
        return early, late

    def _linking(self, custom_index: dict[str, int]) -> bytearray:
        buf = bytearray()
        write_uleb(buf, LINKING_VERSION)
        if self._symbols:
            sub = _vec(len(self._symbols))
            for i, sym in enumerate(self._symbols):
                self._encode_symbol(sub, i, sym, custom_index)
            _subsection(buf, 8, sub)
        if self._segments:
            sub = _vec(len(self._segments))
            for name, _, align, flags, _ in self._segments:
                encode_name(sub, name)
                write_uleb(sub, align)
                write_uleb(sub, flags)
            _subsection(buf, 5, sub)
        if self._init_funcs:
            sub = _vec(len(self._init_funcs))
            for priority, sym_index in self._init_funcs:
                self._check_symbol(sym_index, _FN, "init function")
                write_uleb(sub, priority)
                write_uleb(sub, sym_index)
            _subsection(buf, 6, sub)
        if self._comdats:
            _subsection(buf, 7, self._comdat_payload())
        return buf

    def _index_space(self, kind: SymKind) -> tuple[list[Import], int]:
        """The imports of a symbol kind's index space and its total size."""
        import_kind = {SymKind.FUNCTION: _KIND_FUNC, SymKind.GLOBAL: _KIND_GLOBAL,
                       SymKind.TAG: _KIND_TAG, SymKind.TABLE: _KIND_TABLE}[kind]
        imports = self._imported(import_kind)
        defined = {SymKind.FUNCTION: len(self._functions),
                   SymKind.GLOBAL: len(self._globals)}.get(kind, 0)
        return imports, len(imports) + defined

    def _encode_symbol(self, buf: bytearray, i: int, sym: Symbol,
                       custom_index: dict[str, int]) -> None:
        flags = sym.flags
        buf.append(sym.kind)
        if sym.kind == SymKind.DATA:
            write_uleb(buf, flags)
            encode_name(buf, sym.name)
            if not flags & WASM_SYM_UNDEFINED:
                if not flags & WASM_SYM_ABSOLUTE and not 0 <= sym.index < len(self._segments):
                    raise ValueError(f"symbol {i} ({sym.name}): no segment {sym.index}")
                for value in (sym.index, sym.offset, sym.size):
                    write_uleb(buf, value)
        elif sym.kind == SymKind.SECTION:
            if sym.name not in custom_index:
                raise ValueError(f"symbol {i}: no custom section named {sym.name!r}")
            if not flags & WASM_SYM_BINDING_LOCAL:
                raise ValueError(f"symbol {i}: section symbols must be local")
            write_uleb(buf, flags)
            write_uleb(buf, custom_index[sym.name])
        else:
            self._encode_indexed_symbol(buf, i, sym)

    def _encode_indexed_symbol(self, buf: bytearray, i: int, sym: Symbol) -> None:
        imports, total = self._index_space(sym.kind)
        flags = sym.flags
        undefined = bool(flags & WASM_SYM_UNDEFINED)
        if undefined != (0 <= sym.index < len(imports)) or not 0 <= sym.index < total:
            raise ValueError(f"symbol {i} ({sym.name}): {sym.kind.name.lower()} {sym.index} "
                             f"is {'not ' if undefined else ''}an import or out of range")
        if undefined and sym.name != imports[sym.index].field:
            flags |= WASM_SYM_EXPLICIT_NAME
        write_uleb(buf, flags)
        write_uleb(buf, sym.index)
        if not undefined or flags & WASM_SYM_EXPLICIT_NAME:
            encode_name(buf, sym.name)

    def _check_symbol(self, index: int, mask: int, what: str) -> None:
        if not 0 <= index < len(self._symbols) or not (mask >> self._symbols[index].kind) & 1:
            raise ValueError(f"{what}: symbol {index} missing or of the wrong kind")

    def _comdat_payload(self) -> bytearray:
        sub = _vec(len(self._comdats))
        for name, entries in self._comdats:
            encode_name(sub, name)
            sub.append(0)  # flags
            write_uleb(sub, len(entries))
            for kind, index in entries:
                write_uleb(sub, kind)
                write_uleb(sub, index)
        return sub

    def _reloc_sections(self, out: _SectionSink, code: list[_Placed], data: list[_Placed],
                        early: list[tuple[str, bytes, tuple[Reloc, ...]]],
                        custom_index: dict[str, int]) -> None:
        targets = [("CODE", out.code_index, code), ("DATA", out.data_index, data)]
        targets += [(name, custom_index[name], [(0, relocs)] if relocs else [])
                    for name, _, relocs in early]
        for name, index, placed in targets:
            if placed and index is not None:
                out.custom("reloc." + name, self._reloc_payload(index, placed, name))

    def _reloc_payload(self, target: int, placed: list[_Placed], what: str) -> bytearray:
        """The entries of each group of relocations, their offsets moved by the
        group's base.  `_fill_sites` has checked every one of them already."""
        buf = bytearray()
        write_uleb(buf, target)
        write_uleb(buf, sum(len(relocs) for _, relocs in placed))
        positions = self.reloc_positions.setdefault(what, [])
        mark = positions.append
        append = buf.append
        has_addend = RELOC_HAS_ADDEND
        for base, relocs in placed:
            for r in relocs:
                mark(len(buf))
                rtype, offset, index = r.type, r.offset + base, r.index
                append(rtype)               # every type is below 0x80
                # `write_uleb` of the offset and the index (both >= 0), inlined.
                while offset >= 0x80:
                    append(offset & 0x7F | 0x80)
                    offset >>= 7
                append(offset)
                while index >= 0x80:
                    append(index & 0x7F | 0x80)
                    index >>= 7
                append(index)
                if rtype in has_addend:
                    write_sleb(buf, r.addend)
        return buf

    def _features_payload(self) -> bytearray:
        buf = _vec(len(self._features))
        for prefix, feature in self._features:
            buf.append(ord(prefix))
            encode_name(buf, feature)
        return buf


class _SectionSink:
    """The output buffer and the index of every section written so far."""

    def __init__(self) -> None:
        self.buf = bytearray(MAGIC_VERSION)
        self.count = 0
        self.code_index: int | None = None
        self.data_index: int | None = None

    def section(self, sid: int, payload: bytes | bytearray) -> int:
        self.buf.append(sid)
        write_uleb(self.buf, len(payload))
        self.buf += payload
        self.count += 1
        return self.count - 1

    def custom(self, name: str, payload: bytes | bytearray) -> int:
        head = bytearray()
        encode_name(head, name)
        return self.section(0, head + payload)


def _site_bytes(rtype: int, value: int) -> bytes:
    """`value` encoded the way a relocation of type `rtype` stores it (wrapping)."""
    size = RELOC_SIZE[rtype]
    if size in (4, 8):
        return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    bits = 32 if size == 5 else 64
    value &= (1 << bits) - 1
    if rtype in _SIGNED_LEB:
        if value >= 1 << (bits - 1):
            value -= 1 << bits
        return padded_sleb(value, size)
    return padded_uleb(value, size)


def _vec(n: int) -> bytearray:
    buf = bytearray()
    write_uleb(buf, n)
    return buf


def _subsection(out: bytearray, sid: int, payload: bytearray) -> None:
    out.append(sid)
    write_uleb(out, len(payload))
    out += payload
