"""Archives (`.ira`): many object files behind one symbol index, loaded member by member.

Layout (all integers little-endian)::

    magic  b"IRLDARC\\n"            8 bytes
    u32    format version
    u32    index length N
    u32    CRC-32 of the index
    N      index (msgpack map):
             "members": [[name, offset, length], ...]   offsets from the file start
             "symbols": [symbol, ...]                   in member order
             "owners":  [member number, ...]            parallel to "symbols"
    ...    the member object files, verbatim

The symbol index is the classic `ar` symbol table (System V `/`, BSD
`__.SYMDEF`): every non-private symbol a member defines (functions, data,
globals, host imports) with the member that defines it.  A symbol several
members define is listed for each; lookups take the first member, as
lld's lazy archive symbols do.

Opening an archive memory-maps the file and reads the header and the symbol
index only; a member's own object index is read (`ObjectFile.from_buffer` on
the map) the first time something pulls it, and its bodies only when a later
phase asks.  Diagnostics name the archive, or the member as `lib.ira(b.iro)`.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import msgpack

from linker.store.objfile import EntityKind, LoadStats, ObjectError, ObjectFile, map_file

MAGIC = b"IRLDARC\n"
VERSION = 1
HEADER = struct.Struct("<8sIII")

# Entity kinds that go into the symbol index (everything an object defines).
INDEXED_KINDS = frozenset({EntityKind.FUNC, EntityKind.DATA, EntityKind.GLOBAL,
                           EntityKind.IMPORT, EntityKind.FOREIGN_IMPORT})


@attrs.frozen(slots=True)
class Member:
    """One member of an archive: its name and where its object file lies."""

    name: str
    offset: int
    length: int


@attrs.define(slots=True, eq=False)
class Archive:
    """An opened archive: the member table and symbol index, members loaded on demand."""

    name: str
    members: tuple[Member, ...]
    symbol_names: list[str]          # the index, in member order (may repeat a symbol)
    symbol_owners: list[int]         # member number of each entry of symbol_names
    buf: Any = attrs.field(repr=False)
    stats: LoadStats = attrs.field(factory=LoadStats, repr=False)
    _lookup: dict[str, int] = attrs.field(factory=dict, repr=False)
    _loaded: dict[int, ObjectFile] = attrs.field(factory=dict, repr=False)

    def find(self, symbol: str) -> int | None:
        """The number of the first member defining `symbol`, or None."""
        return self._lookup.get(symbol)

    def member_label(self, i: int) -> str:
        """`lib.ira(b.iro)`: how diagnostics name member `i`."""
        return f"{self.name}({self.members[i].name})"

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
        obj = ObjectFile.from_buffer(self.buf, m.offset, m.length, self.member_label(i),
                                     self.stats)
        self._loaded[i] = obj
        return obj

    def member_symbols(self, i: int) -> list[str]:
        """Symbols member `i` contributes to the index, in index order."""
        return [s for s, o in zip(self.symbol_names, self.symbol_owners) if o == i]

    def member_bytes(self, i: int) -> bytes:
        m = self.members[i]
        return bytes(self.buf[m.offset:m.offset + m.length])

    @staticmethod
    def open(path: str, stats: LoadStats | None = None) -> "Archive":
        """Open an archive, reading (and checking) its header and symbol index only."""
        return Archive.from_buffer(map_file(path), path, stats)

    @staticmethod
    def from_buffer(buf: Any, name: str, stats: LoadStats | None = None) -> "Archive":
        stats = stats if stats is not None else LoadStats()
        size = len(buf)
        if size < HEADER.size:
            raise ObjectError(name, "not an irld archive (too short)")
        magic, version, index_len, index_crc = HEADER.unpack(buf[:HEADER.size])
        if magic != MAGIC:
            raise ObjectError(name, "not an irld archive (bad magic)")
        if version != VERSION:
            newer = "newer" if version > VERSION else "older"
            raise ObjectError(name, f"archive format version {version} is {newer} than this "
                                    f"irld supports ({VERSION}); rebuild it with `irld ar`")
        if HEADER.size + index_len > size:
            raise ObjectError(name, "truncated archive (symbol index runs past the end)")
        raw = buf[HEADER.size:HEADER.size + index_len]
        if zlib.crc32(raw) != index_crc:
            raise ObjectError(name, "checksum mismatch in archive symbol index (file corrupted)")
        stats.indices_read += 1
        stats.bytes_read += HEADER.size + index_len
        try:
            index = msgpack.unpackb(raw, raw=False, strict_map_key=False)
            members = tuple(Member(str(n), int(o), int(ln)) for n, o, ln in index["members"])
            names: list[str] = index["symbols"]
            owners: list[int] = index["owners"]
        except (ValueError, TypeError, KeyError, msgpack.UnpackException) as exc:
            raise ObjectError(name, f"corrupt archive symbol index: {exc}") from None
        data_start = HEADER.size + index_len
        for m in members:
            if m.offset < data_start or m.length < 0 or m.offset + m.length > size:
                raise ObjectError(f"{name}({m.name})",
                                  "truncated archive (member runs past the end)")
        if len(names) != len(owners) or any(not 0 <= o < len(members) for o in owners):
            raise ObjectError(name, "corrupt archive symbol index (bad member number)")
        # Reversed so the first member defining a symbol wins.
        lookup = dict(zip(reversed(names), reversed(owners)))
        return Archive(name, members, names, owners, buf, stats, lookup)


# ---------------------------------------------------------------- writing


def archive_bytes(members: Sequence[tuple[str, bytes]]) -> bytes:
    """Serialize an archive from (member name, object file bytes) pairs.

    Each member is opened (index only) to list its symbols; a member that is
    not a valid object raises ObjectError naming it."""
    names: list[str] = []
    owners: list[int] = []
    for i, (mname, data) in enumerate(members):
        obj = ObjectFile.from_buffer(data, 0, len(data), mname)
        for rec in obj.records:
            if rec.kind in INDEXED_KINDS and not rec.private:
                names.append(rec.name)
                owners.append(i)
    table: list[list[Any]] = []

    def index_bytes(table: list[list[Any]]) -> bytes:
        packed: bytes = msgpack.packb({"members": table, "symbols": names, "owners": owners},
                                      use_bin_type=True)
        return packed

    # Offsets depend on the index length, which depends on the offsets'
    # encoded widths: iterate until stable (twice at most in practice).
    offsets = [0] * len(members)
    while True:
        table = [[mname, off, len(data)] for (mname, data), off in zip(members, offsets)]
        index = index_bytes(table)
        pos = HEADER.size + len(index)
        new_offsets = []
        for _, data in members:
            new_offsets.append(pos)
            pos += len(data)
        if new_offsets == offsets:
            break
        offsets = new_offsets
    header = HEADER.pack(MAGIC, VERSION, len(index), zlib.crc32(index))
    return b"".join([header, index, *(data for _, data in members)])


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
