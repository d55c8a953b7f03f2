"""The store's entity records (`EntityRecord`) and their kinds.

A module of its own, apart from `linker.store.objfile`, so that `make native`
compiles it (`linker.native.COMPILED`): an `EntityRecord` is then a native
class, which the compiled reader builds without a Python call (a big C link
builds one per defined symbol of every object it loads, about 100,000) and
whose fields the compiled relocator reads directly.  The records of an irld
object's checked index are built here too (`index_records`: 105,000 of them
in a 100,000-function link).  `objfile` re-exports everything here.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Final

from linker.ir.edges import EdgeKind
from linker.ir.types import FuncType, ValType
from linker.store.typecodec import decode_functype

if TYPE_CHECKING:
    from linker.store.objfile import ObjectFile

EDGE_CODES: Final[tuple[EdgeKind, ...]] = tuple(EdgeKind)
EDGE_INDEX: Final[dict[EdgeKind, int]] = {k: i for i, k in enumerate(EDGE_CODES)}


class EntityKind(enum.Enum):
    FUNC = "func"
    IMPORT = "import"           # host function with a wasm signature
    FOREIGN_IMPORT = "foreign"  # host function with a C signature
    DATA = "data"
    GLOBAL = "global"


KIND_CODES: Final[tuple[EntityKind, ...]] = tuple(EntityKind)


class EntityRecord:
    """One entity of an object's index; `info` depends on `kind`:
    FUNC: FuncType; IMPORT: (module, field, FuncType); FOREIGN_IMPORT: (module,
    field, CSig); DATA: (size, align, readonly); GLOBAL: (ValType, init).
    Compared and hashed by identity."""

    __slots__ = ("name", "kind", "private", "info", "_raw_refs", "sigs", "deferred_error",
                 "body_offset", "body_length", "body_crc", "obj", "texts", "chunk", "alias",
                 "weak", "hidden", "relocs")

    def __init__(self, name: str, kind: EntityKind, private: bool, info: Any,
                 raw_refs: list[Any] | None, sigs: tuple[str, ...],
                 deferred_error: str | None, body_offset: int, body_length: int,
                 body_crc: int, obj: ObjectFile, texts: tuple[str, ...] = (),
                 chunk: int = -1, alias: tuple[str, int] | None = None, weak: bool = False,
                 hidden: bool = False, relocs: tuple[int, int] | None = None) -> None:
        self.name = name
        self.kind = kind
        self.private = private
        self.info = info
        self._raw_refs = raw_refs       # None: computed on first use (C objects)
        self.sigs = sigs
        self.deferred_error = deferred_error
        self.body_offset = body_offset
        self.body_length = body_length
        self.body_crc = body_crc
        self.obj = obj
        self.texts = texts              # panic-pool texts the compiled code names
        self.chunk = chunk              # FUNC: its defined-function number; DATA: its segment
        # DATA in another symbol's segment: (it, offset); FUNC: another symbol
        # of the function: (it, 0)
        self.alias = alias
        self.weak = weak                # a weak definition: a strong one replaces it
        self.hidden = hidden            # C: hidden visibility (not for --export-dynamic)
        self.relocs = relocs            # FUNC of an irld object: reloc.CODE range

    def __repr__(self) -> str:
        return f"EntityRecord({self.name!r}, {self.kind}, {self.obj.name!r})"

    @property
    def raw_refs(self) -> list[Any]:
        """Flat (symbol, edge code) pairs; a C object's are computed from its
        relocations the first time discovery reaches the entity."""
        raw = self._raw_refs
        if raw is None:
            # The C reader's callable itself: through `compute_refs`, a method
            # of the uncompiled ObjectFile, each live record cost an
            # interpreted frame.
            obj = self.obj
            reader = obj.refs_from_relocs
            raw = self._raw_refs = reader(self) if reader is not None else obj.compute_refs(self)
        return raw

    @property
    def refs(self) -> list[tuple[str, EdgeKind]]:
        """(symbol, edge kind) pairs in the order the body first mentions them."""
        raw = self.raw_refs
        return [(raw[i], EDGE_CODES[raw[i + 1]]) for i in range(0, len(raw), 2)]

    @property
    def func_type(self) -> FuncType | None:
        """The wasm signature of a function or host import (C imports: lowered)."""
        kind = self.kind
        if kind is EntityKind.FUNC:
            return self.info  # type: ignore[no-any-return]
        if kind is EntityKind.IMPORT:
            return self.info[2]  # type: ignore[no-any-return]
        if kind is EntityKind.FOREIGN_IMPORT:
            from linker.ir.ctypes import lower
            return lower(self.info[2])
        return None


def decode_info(kind: EntityKind, raw: Any) -> Any:
    """An entity's `info` from its index encoding (see `EntityRecord`)."""
    if kind is EntityKind.FUNC:
        return decode_functype(raw)
    if kind is EntityKind.IMPORT:
        return (raw[0], raw[1], decode_functype(raw[2]))
    if kind is EntityKind.FOREIGN_IMPORT:
        from linker.ir.ctypes import parse_key
        return (raw[0], raw[1], parse_key(raw[2]))
    if kind is EntityKind.DATA:
        return (int(raw[0]), int(raw[1]), bool(raw[2]))
    if kind is EntityKind.GLOBAL:
        return (ValType.parse(raw[0]), raw[1])
    raise ValueError(kind)


def index_records(entities: list[Any], obj: ObjectFile) -> list[EntityRecord]:
    """The records of an irld object's index entries (checked by
    `linker.store.shapes.check_index`), in order; functions and data numbered
    in order of their kind (`EntityRecord.chunk`)."""
    out: list[EntityRecord] = []
    funcs = datas = 0
    for r in entities:
        kind = KIND_CODES[r[1]]
        chunk = -1
        if kind is EntityKind.FUNC:
            chunk, funcs = funcs, funcs + 1
        elif kind is EntityKind.DATA:
            chunk, datas = datas, datas + 1
        relocs = r[11]
        out.append(EntityRecord(r[0], kind, bool(r[2]), decode_info(kind, r[3]), r[4],
                                tuple(r[5]), r[6], r[7], r[8], r[9], obj, tuple(r[10]), chunk,
                                relocs=(relocs[0], relocs[1])))
    return out
