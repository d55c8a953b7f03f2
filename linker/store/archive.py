"""Archives (`.a`): standard `ar` archives of objects, loaded member by member.

The container is the Unix `ar` format with the GNU symbol table that
`llvm-ar` writes (`linker.store.ar`), so `llvm-ar t`, `llvm-nm` and wasm-ld
read irld's archives and irld reads theirs.  The symbol table lists every
symbol a member defines with the member that defines it; a symbol several
members define is listed for each, and lookups take the first member, as
lld's lazy archive symbols do.  `irld ar` lists what the member's irld index
says it defines (functions, data, globals and host imports, not private
ones), which for irld objects is what their wasm symbol table defines plus
their host imports (an irld host import is a definition other modules
resolve against).

Opening an archive memory-maps the file and reads its symbol table only
(the member headers are read when a lookup first finds a member, or the
member list is asked for: `linker.store.ar`); a member's own index is read (`ObjectFile.from_buffer`
on the map) the first time something pulls it, and its bodies only when a
later phase asks.  Diagnostics name the archive, or the member as
`lib.a(b.o)`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from linker.store.ar import ArArchive, ArchiveError, write_archive
from linker.store.objfile import EntityKind, LoadStats, ObjectError, ObjectFile, map_file
from linker.store.wasm_input import object_from_buffer

if TYPE_CHECKING:
    from linker.store.objcache import IndexCache

# Entity kinds that go into the symbol index (everything an object defines).
INDEXED_KINDS = frozenset({EntityKind.FUNC, EntityKind.DATA, EntityKind.GLOBAL,
                           EntityKind.IMPORT, EntityKind.FOREIGN_IMPORT})
C_INDEXED_KINDS = frozenset({EntityKind.FUNC, EntityKind.DATA, EntityKind.GLOBAL})


class Member(NamedTuple):
    """One member of an archive: its name and where its object file lies (a named
    tuple, as `ArMember`: one is made per member when the archive opens)."""

    name: str
    offset: int
    length: int


@attrs.define(slots=True, eq=False)
class Archive:
    """An opened archive: the member table and symbol index, members loaded on demand."""

    name: str
    ar: ArArchive = attrs.field(repr=False)
    stats: LoadStats = attrs.field(factory=LoadStats, repr=False)
    _loaded: dict[int, ObjectFile] = attrs.field(factory=dict, repr=False)
    # The object index cache members are read through (linker.store.objcache).
    cache: IndexCache | None = attrs.field(default=None, repr=False)
    _members: tuple[Member, ...] | None = attrs.field(default=None, repr=False)

    @property
    def buf(self) -> Any:
        return self.ar.buf

    @property
    def members(self) -> tuple[Member, ...]:
        """Every member, in file order (reading the member headers if no lookup has)."""
        if self._members is None:
            try:
                self._members = tuple(Member(m.name, m.data_offset, m.size)
                                      for m in self.ar.members)
            except ArchiveError as exc:
                raise ObjectError(exc.file, exc.reason) from None
        return self._members

    def find(self, symbol: str) -> int | None:
        """The number of the first member defining `symbol`, or None."""
        try:
            return self.ar.find(symbol)
        except ArchiveError as exc:   # the symbol table is checked on first use
            raise ObjectError(exc.file, exc.reason) from None

    def member_label(self, i: int) -> str:
        """`lib.a(b.o)`: how diagnostics name member `i`."""
        return f"{self.name}({self.members[i].name})"

    def expect(self, lookups: int) -> None:
        """Say that about `lookups` lookups are coming (`ArArchive.expect`)."""
        self.ar.expect(lookups)

    def is_loaded(self, i: int) -> bool:
        return i in self._loaded

    @property
    def loaded_count(self) -> int:
        return len(self._loaded)

    def load(self, i: int) -> ObjectFile:
        """Member `i` as an object, reading its index the first time only."""
        obj = self._loaded.get(i)
        if obj is not None:
            return obj
        m = self.members[i]
        obj = object_from_buffer(self.ar.buf, m.offset, m.length, self.member_label(i),
                                 self.stats, self.cache)
        self._loaded[i] = obj
        return obj

    def member_symbols(self, i: int) -> list[str]:
        """Symbols member `i` contributes to the symbol table, in table order."""
        return [s for s, o in self.ar.entries() if o == i]

    def entry_members(self) -> list[int]:
        """The member number of every symbol-table entry, in table order."""
        return self.ar.entry_members()

    def symbol_entries(self) -> list[tuple[str, int]]:
        """(symbol, member number) of every symbol-table entry."""
        return self.ar.entries()

    def member_bytes(self, i: int) -> bytes:
        m = self.members[i]
        return bytes(self.ar.buf[m.offset:m.offset + m.length])

    @staticmethod
    def open(path: str, stats: LoadStats | None = None,
             cache: IndexCache | None = None) -> "Archive":
        """Open an archive, reading its symbol table only;
        members (and the decoded symbol table) go through `cache` if given."""
        try:
            ar = Archive._wrap(ArArchive.open(path), stats)
        except ArchiveError as exc:
            raise ObjectError(exc.file, exc.reason) from None
        if cache is not None:
            ar.cache = cache
            try:
                cache.archive_table(ar.ar)
            except ArchiveError as exc:
                raise ObjectError(exc.file, exc.reason) from None
        return ar

    @staticmethod
    def from_buffer(buf: Any, name: str, stats: LoadStats | None = None) -> "Archive":
        try:
            return Archive._wrap(ArArchive.from_bytes(buf, name), stats)
        except ArchiveError as exc:
            raise ObjectError(exc.file, exc.reason) from None

    @staticmethod
    def _wrap(ar: ArArchive, stats: LoadStats | None) -> "Archive":
        stats = stats if stats is not None else LoadStats()
        name = ar.path
        stats.indices_read += 1
        stats.bytes_read += ar.index_bytes
        return Archive(name, ar, stats)


# ---------------------------------------------------------------- writing


def archive_bytes(members: Sequence[tuple[str, bytes]]) -> bytes:
    """Serialize an archive from (member name, object file bytes) pairs.

    Each member is opened (index only) to list its symbols; a member that is
    not a valid object raises ObjectError naming it."""
    table: list[tuple[str, bytes, list[str]]] = []
    for mname, data in members:
        obj = object_from_buffer(data, 0, len(data), mname)
        # A C object's host imports are not definitions (llvm-ar does not list them).
        kinds = INDEXED_KINDS if obj.has_ir else C_INDEXED_KINDS
        table.append((mname, data, [rec.name for rec in obj.records
                                    if rec.kind in kinds and not rec.private]))
    return write_archive(table)


def update_members(existing: Sequence[tuple[str, bytes]],
                   new: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """`ar r` semantics: a new member replaces the one of the same name in
    place; other new members are appended in the order given."""
    out = list(existing)
    position = {name: i for i, (name, _) in enumerate(out)}
    for name, data in new:
        if name in position:
            out[position[name]] = (name, data)
        else:
            position[name] = len(out)
            out.append((name, data))
    return out


def read_members(archive: Archive) -> Iterator[tuple[str, bytes]]:
    for i, m in enumerate(archive.members):
        yield m.name, archive.member_bytes(i)


def member_name(path: str) -> str:
    return os.path.basename(path)
