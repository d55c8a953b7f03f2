"""Unix `ar` archives as `llvm-ar` and GNU `ar` write them (GNU/System V format).

Sources: the System V ABI / GNU binutils `ar` format (bfd/archive.c), LLVM's
`llvm/lib/Object/Archive.cpp` and `ArchiveWriter.cpp`, and -- the authority
here -- the bytes `llvm-ar` 14 and GNU `ar` 2.40 actually write (the tests
compare against both).

Layout::

    "!<arch>\\n"                        magic ("!<thin>\\n" thin archives are refused)
    then members, each:
      header, 60 bytes of space-padded ASCII:
        name 16 | mtime 12 | uid 6 | gid 6 | mode 8 (octal) | size 10 (decimal) | "`\\n"
      data, `size` bytes
      "\\n" if `size` is odd, so every header starts at an even offset

Special members (GNU):

* ``/`` -- symbol table, always the first member: big-endian u32 count N,
  N u32 offsets of the defining member's *header* from the file start, then N
  NUL-terminated names, in member order; padded with NULs to an even size.
  ``/SYM64/`` is the same with u64 count and offsets (written when offsets
  need more than 32 bits).  An object without symbols still gets a table
  (llvm-ar writes count 0 plus padding); an archive of non-objects, or one
  made with `ar S`, has none.
* ``//`` -- long-name table: names, each terminated by "/\\n", padded with
  "\\n" to an even size (the padding counts in `size`).  A member named
  ``/123`` has its name at offset 123 of this table.  Names of 16 bytes or
  more, or containing "/", go here (llvm-ar stores each distinct name once).
* other names are stored as ``name/`` (the "/" allows trailing spaces).

The BSD variant (`llvm-ar --format=bsd`) is read too: names ``#1/N`` hold the
name in the first N bytes of the data, and the first member ``__.SYMDEF``
(``__.SYMDEF_64``, optionally `` SORTED``) holds, little-endian: the byte size
of a ranlib array, (name offset, member header offset) pairs, the byte size of
a string table, the string table.

Opening reads the special members at the front only (the symbol table and
the long-name table; the file is memory-mapped), and checks that the member
the table's last entry names lies inside the file, which a truncated archive
fails.  The other members' headers are read, all in one walk that checks
each, the first time something needs a member: a symbol found in the table,
the member list, or the decoded table.  A link that finds nothing in an
archive (a hello world against a 200,000-function library) reads none of its
2,001 headers; as in lld, a defect in a header no phase reaches is not
reported.  Member data is sliced out on demand.  A symbol several members
define maps to the first entry in the symbol table, which is the first member
in file order, as lld's lazy archive symbols do.  Every malformed input raises
`ArchiveError` naming the file and the defect.
"""

from __future__ import annotations

import array
import mmap
import os
import struct
import sys
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

from linker.store.errors import InputFileError, map_file

MAGIC = b"!<arch>\n"
THIN_MAGIC = b"!<thin>\n"
HEADER_SIZE = 60
FMAG = b"`\n"
GNU_SYMTABS = {b"/": 4, b"/SYM64/": 8}
BSD_SYMTABS = {"__.SYMDEF": 4, "__.SYMDEF SORTED": 4, "__.SYMDEF_64": 8, "__.SYMDEF_64 SORTED": 8}
MAX_SIZE = 10**10  # the size field has 10 decimal digits


class ArchiveError(InputFileError):
    """A malformed or unsupported archive: `file: reason`."""


# Plain named tuples, not attrs classes: an archive makes one of each per member
# at open (2,001 for a 200,000-function library), and a frozen attrs instance
# costs about three times as much to build (a hello world's whole archive overhead).
class ArMember(NamedTuple):
    """One ordinary member: its resolved name and where its header and data are."""

    name: str
    header_offset: int
    data_offset: int
    size: int


class _Raw(NamedTuple):
    """A member header as found: name field without trailing spaces, data extent."""

    offset: int
    field: bytes
    data_offset: int
    size: int


class ArArchive:
    """An `ar` archive: member list and symbol index, member data read lazily.

    Besides the required fields: `symbol_order` lists the distinct symbols in
    symbol-table order, `symbol_owners(s)` every member the table lists for `s`,
    and `index_bytes` how many bytes opening read (headers and tables).
    """

    __slots__ = ("path", "buf", "has_symbol_table", "index_bytes", "_source", "_table",
                 "_scan", "_index", "_lookup", "_entries", "_symbols", "_lookups", "_owners",
                 "_identity", "_members_of")

    # A link that asks for a few symbols (hello world against a 100,000-symbol
    # library) finds them by scanning the table; a dict is built on the
    # 17th lookup, when all the symbols are asked for, or when the caller says
    # more lookups are coming than the scans left (`expect`).
    SCANS = 16

    def __init__(self, path: str, buf: Any, source: _Parser,
                 table: Callable[[], tuple[list[str], list[int]]], has_symbol_table: bool,
                 index_bytes: int = 0,
                 scan: Callable[[str], int | None] | None = None,
                 identity: Callable[[], bytes] | None = None,
                 index: Callable[[], Callable[[str], int | None] | None] | None = None,
                 members_of: Callable[[], list[int] | None] | None = None) -> None:
        self.path = path
        self.buf = buf
        self._source = source        # reads the member headers when first needed
        self.has_symbol_table = has_symbol_table
        self.index_bytes = index_bytes
        # The table is decoded (and its entries checked) on first need: a link
        # that looks up a few symbols scans the raw table instead (`find`).
        self._table = table
        self._scan = scan
        # After the scans, a plain table is indexed straight from its bytes
        # (`_Parser.gnu_index`), without decoding every entry; `_lookup` is
        # that index once built, or `find` itself when it must use `symbols`.
        self._index = index
        self._lookup: Callable[[str], int | None] | None = None
        self._entries: tuple[list[str], list[int]] | None = None
        self._symbols: dict[str, int] | None = None
        self._lookups = 0
        self._owners: dict[str, list[int]] | None = None
        self._identity = identity
        self._members_of = members_of

    @property
    def members(self) -> list[ArMember]:
        """The ordinary members in file order (every header is read and checked
        the first time this is asked, directly or by a lookup that finds a member)."""
        return self._source.members()

    @property
    def walked(self) -> bool:
        """Whether the member headers have been read (see `members`)."""
        return self._source.walked

    def table_identity(self) -> bytes | None:
        """Bytes that determine the decoded symbol table (its raw bytes, format and
        the members' header offsets), or None without a table: the key under
        which `linker.store.objcache` keeps the decoded table."""
        return None if self._identity is None else self._identity()

    @property
    def table_decoded(self) -> bool:
        return self._entries is not None

    @property
    def table_indexed(self) -> bool:
        """Whether this link went past scanning the table: decoded it, or indexed it."""
        return self._entries is not None or self._lookup is not None

    def decoded_table(self) -> tuple[list[str], list[int]]:
        """The table's entries (decoding and checking them now if not yet done)."""
        return self._decoded()

    def restore_table(self, names: Any, members: Any) -> bool:
        """Take the entries an earlier decoding of the same table gave (a cache
        entry), if they have its shape; then lookups use the dict at once."""
        if not (type(names) is list and type(members) is list and len(names) == len(members)
                and (not members or 0 <= min(members) and max(members) < len(self.members))):
            return False
        self._entries = (names, members)
        self._lookups = self.SCANS
        return True

    @property
    def _names(self) -> list[str]:
        return self._decoded()[0]

    @property
    def _idxs(self) -> list[int]:
        return self._decoded()[1]

    def _decoded(self) -> tuple[list[str], list[int]]:
        if self._entries is None:
            self._entries = self._table()
        return self._entries

    @property
    def symbols(self) -> dict[str, int]:
        """symbol -> index of the first member the table lists for it."""
        if self._symbols is None:
            symbols = dict(zip(self._names, self._idxs))   # later duplicates overwrite...
            if len(symbols) != len(self._names):           # ...so put the first ones back
                symbols.update(zip(reversed(self._names), reversed(self._idxs)))
            self._symbols = symbols
        return self._symbols

    @property
    def symbol_order(self) -> list[str]:
        """The distinct symbols, in table order."""
        return list(dict.fromkeys(self._names))

    def expect(self, lookups: int) -> None:
        """`lookups` more lookups are coming: when that is more than the scans
        left, the next one indexes the table (a scan costs about a thirtieth of
        indexing a big table, so scanning first only pays for a few)."""
        if lookups > self.SCANS - self._lookups:
            self._lookups = self.SCANS

    def find(self, symbol: str) -> int | None:
        """The first member the table lists for `symbol`, or None."""
        if self._symbols is None and self._lookups < self.SCANS:
            self._lookups += 1
            if self._scan is not None and self._entries is None:
                return self._scan(symbol)
            try:
                return self._idxs[self._names.index(symbol)]
            except ValueError:
                return None
        if self._lookup is None:
            index = self._index() if self._index is not None and self._entries is None else None
            self._lookup = index if index is not None else self.symbols.get
        return self._lookup(symbol)

    def symbol_owners(self, symbol: str) -> list[int]:
        """Every member the symbol table lists as defining `symbol`, in table order."""
        if self._owners is None:
            self._owners = {}
            for name, i in zip(self._names, self._idxs):
                self._owners.setdefault(name, []).append(i)
        return list(self._owners.get(symbol, ()))

    def entry_members(self) -> list[int]:
        """The member of every symbol-table entry, in table order: what counting
        the entries of unloaded members needs (`irld link -v`, the report), read
        from a plain table's offsets without decoding its names when it is not
        decoded yet."""
        if self._entries is None and self._members_of is not None:
            members = self._members_of()
            if members is not None:
                return members
        return self._idxs

    def entries(self) -> list[tuple[str, int]]:
        """(symbol, member index) of every symbol-table entry, in table order."""
        return list(zip(self._names, self._idxs))

    @staticmethod
    def open(path: str) -> ArArchive:
        """Memory-map `path` and read its symbol table (see the module docstring)."""
        buf = _map(path)
        try:
            reader = _FileReader(path)
        except OSError as exc:
            if isinstance(buf, mmap.mmap):
                buf.close()
            raise ArchiveError(path, f"cannot read: {exc.strerror or exc}") from None
        try:
            return _Parser(buf, path, reader).parse()
        except OSError as exc:
            reader.close()
            raise ArchiveError(path, f"cannot read: {exc.strerror or exc}") from None
        except ArchiveError:
            reader.close()
            if isinstance(buf, mmap.mmap):
                buf.close()
            raise

    @staticmethod
    def from_bytes(buf: Any, path: str) -> ArArchive:
        """Parse an archive held in `buf` (bytes, mmap or memoryview); `path` names it in
        errors.  Unlike `open`, which reads the member headers and decodes the
        symbol table on first need, this checks every header and entry now."""
        ar = _Parser(buf, path).parse()
        ar._source.members()
        ar._decoded()
        return ar

    def member_data(self, i: int) -> memoryview | bytes:
        """Member `i`'s data: a view of the buffer, not a copy."""
        m = self.members[i]
        return memoryview(self.buf)[m.data_offset:m.data_offset + m.size]

    def label(self, i: int) -> str:
        """`lib.a(member.o)`, as lld names an archive member."""
        return f"{self.path}({self.members[i].name})"

    def __repr__(self) -> str:      # reads nothing more (a repr that fails helps no one)
        members = f"{len(self.members)} members" if self.walked else "headers not read"
        return f"ArArchive({self.path!r}, {members})"


def _map(path: str) -> Any:
    return map_file(path, ArchiveError)


def _size(hdr: bytes) -> int:
    """The size field of a whole, well-formed member header, or -1 (`_Parser.header`
    says what is wrong with it)."""
    size_field = hdr[48:58].rstrip(b" ")
    if len(hdr) != HEADER_SIZE or hdr[58:60] != FMAG or not size_field.isdigit():
        return -1
    return int(size_field)


def _show(raw: bytes) -> str:
    return repr(raw.decode("latin-1"))


class _FileReader:
    """`pread` on the archive's file, kept open until the member headers have been
    read (`_Parser.members`), or until the archive is dropped if they never are."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

    def __call__(self, pos: int, n: int) -> bytes:
        return os.pread(self.fd, n, pos)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class _Parser:
    """The special members at the front when opening; every member header, in one
    pass, when first needed (`members`); the symbol table when first needed."""

    def __init__(self, buf: Any, path: str, read: _FileReader | None = None) -> None:
        self.buf = buf
        self.path = path
        self.end = len(buf)
        self.long_names: bytes | None = None
        self.symtab_data = b""
        self.first = len(MAGIC)           # the first header after the special members
        self._members: list[ArMember] | None = None
        self._index_of: dict[int, int] | None = None
        self._error: ArchiveError | None = None
        # Headers and tables are read through `read`: for a mapped file, `pread`,
        # because touching each member's header through the map faults in the
        # pages around it (about 64 KB each), which a 1,000-member archive of
        # 115 MB turned into 110 MB of resident memory for a hello-world link.
        self.reader = read
        self.read: Callable[[int, int], bytes] = (
            read if read is not None else lambda pos, n: bytes(buf[pos:pos + n]))
        if read is not None:
            weakref.finalize(self, read.close)

    def fail(self, reason: str) -> ArchiveError:
        return ArchiveError(self.path, reason)

    def parse(self) -> ArArchive:
        self.check_magic()
        symtab, headers = self.front()
        read = len(MAGIC) + HEADER_SIZE * headers + len(self.long_names or b"")
        if symtab is None:
            return ArArchive(self.path, self.buf, self, lambda: ([], []), False, read)
        return self.with_symbols(symtab, read + symtab[0].size)

    def front(self) -> tuple[tuple[_Raw, str, int] | None, int]:
        """The special members before the ordinary ones: the symbol table (first),
        the `//` long-name table (first, or after the symbol table).  Returns the
        table and how many headers were read; `first` is where members start."""
        symtab = None
        pos = self.first
        for n in (0, 1):
            if pos >= self.end:
                return symtab, n
            raw = self.header(pos)
            kind = self.special(n, raw)
            if kind is not None:
                symtab = kind
            elif raw.field != b"//":
                return symtab, n + 1
            pos = self.first = raw.data_offset + raw.size + (raw.size & 1)
        return symtab, 2

    @property
    def walked(self) -> bool:
        return self._members is not None

    def members(self) -> list[ArMember]:
        """Every ordinary member, from one walk of the headers after the special
        members (the first call walks and checks them; a defect found is raised
        again by every later call)."""
        if self._members is None:
            if self._error is None:
                try:
                    self._members = self.walk()
                except OSError as exc:
                    self._error = self.fail(f"cannot read: {exc.strerror or exc}")
                except ArchiveError as exc:
                    self._error = exc
                finally:
                    if self.reader is not None:
                        self.reader.close()
            if self._error is not None:
                raise self._error
            assert self._members is not None
        return self._members

    def walk(self) -> list[ArMember]:
        members: list[ArMember] = []
        for raw in self.headers(self.first):
            # Only a name starting with '/' can be special (`special`); the check
            # is skipped for the thousands of others.
            if raw.field[:1] != b"/" or (self.special(-1, raw) is None and raw.field != b"//"):
                members.append(self.member(raw))
        return members

    def index_of(self) -> dict[int, int]:
        """Member header offset -> member number."""
        if self._index_of is None:
            self._index_of = {m.header_offset: i for i, m in enumerate(self.members())}
        return self._index_of

    def with_symbols(self, symtab: tuple[_Raw, str, int], read: int) -> ArArchive:
        raw, flavour, width = symtab
        # Read now: the file may be closed when the table is decoded.
        self.symtab_data = self.read(raw.data_offset, raw.size)
        gnu32 = flavour == "gnu" and width == 4
        scan = self.gnu_scan(raw) if gnu32 else None
        if flavour == "gnu":
            read += self.check_last_entry(raw, width)
        data = self.symtab_data

        def identity() -> bytes:
            offsets = [m.header_offset for m in self.members()]
            head = f"{flavour} {width} {len(offsets)}\0".encode()
            return head + struct.pack(f"<{len(offsets)}Q", *offsets) + data
        index = (lambda: self.gnu_index(raw)) if gnu32 else None
        members_of = (lambda: self.gnu_members(raw)) if gnu32 else None
        return ArArchive(self.path, self.buf, self, lambda: self.symbol_table(symtab), True,
                         read, scan, identity, index, members_of)

    def check_last_entry(self, raw: _Raw, width: int) -> int:
        """Refuse a truncated archive at open, though its headers are read later:
        llvm-ar and GNU ar list the members in file order, so the last entry of
        the table names the last member with symbols, and cutting the file short
        cuts that member.  (A table whose count does not fit is reported when
        it is decoded; an entry at a bad offset when its member is needed.)
        Returns the bytes read."""
        code = ">I" if width == 4 else ">Q"
        if raw.size < width:
            return 0
        (count,) = struct.unpack_from(code, self.symtab_data, 0)
        if count == 0 or width * (count + 1) > raw.size:
            return 0
        (offset,) = struct.unpack_from(code, self.symtab_data, width * count)
        if offset >= self.end:
            raise self.fail(f"symbol table entry {count - 1} points at offset {offset}, past "
                            f"the end of the archive ({self.end} bytes): the file is truncated")
        if _size(self.read(offset, HEADER_SIZE)) >= 0:
            self.header(offset)             # a well-formed header: its data must fit too
        return HEADER_SIZE

    def gnu_scan(self, raw: _Raw) -> Callable[[str], int | None]:
        """A lookup in the raw GNU table: the name's position gives its entry."""
        data = self.symtab_data
        if raw.size < 4:
            raise self.fail(f"symbol table truncated: {raw.size} bytes, too short for its "
                            "4-byte count")
        (count,) = struct.unpack_from(">I", data, 0)
        table = 4 * (count + 1)
        if table > raw.size:
            raise self.fail(f"symbol table truncated: {count} symbols need {table} bytes "
                            f"of count and offsets, the member has {raw.size}")

        def scan(symbol: str) -> int | None:
            # Searched in place (a copy of a 200,000-name table is a millisecond
            # and 3 MB of fresh pages): the first name, then one after a NUL.
            name = symbol.encode()
            if data.startswith(name + b"\0", table):
                pos = table
            else:
                pos = data.find(b"\0" + name + b"\0", table) + 1
                if pos == 0:
                    return None
            k = data.count(b"\0", table, pos)     # names before this one
            if k >= count:
                return None
            (offset,) = struct.unpack_from(">I", data, 4 + 4 * k)
            member = self.index_of().get(offset)
            if member is None:
                raise self.fail(f"symbol table entry {k} ({symbol!r}) points at offset "
                                f"{offset}, which is not the header of a member")
            return member
        return scan

    def gnu_members(self, raw: _Raw) -> list[int] | None:
        """Each GNU table entry's member, from the offsets alone; None (the caller
        then decodes the table, which reports the defect) if the count does not
        fit the table or an offset is not a member's header."""
        offsets = self.gnu_offsets(raw)
        if offsets is None:
            return None
        try:
            index_of = self.index_of()
            return [index_of[o] for o in offsets]
        except KeyError:
            return None

    def gnu_offsets(self, raw: _Raw) -> array.array[int] | None:
        """The member header offsets of a GNU table's entries, or None if its
        count does not fit it."""
        data = self.symtab_data
        if raw.size < 4:
            return None
        (count,) = struct.unpack_from(">I", data, 0)
        offsets = array.array("I")
        if 4 * (count + 1) > raw.size or offsets.itemsize != 4:
            return None
        offsets.frombytes(data[4:4 * (count + 1)])
        if sys.byteorder == "little":
            offsets.byteswap()
        return offsets

    def gnu_index(self, raw: _Raw) -> Callable[[str], int | None] | None:
        """A lookup by a dict made straight from the raw GNU table: its names
        as bytes, each to its member's header offset, which the lookup maps to
        the member.  That is about half the work of decoding every entry to
        text and to its member (`symbol_table`), which only the cache,
        `symbols` and `entries` need.  Every offset is checked here; None
        (the caller then decodes the table, which reports the defect) unless
        the names are plain ASCII and the table is whole and right."""
        offsets = self.gnu_offsets(raw)
        if offsets is None:
            return None
        count = len(offsets)
        blob = self.symtab_data[4 * (count + 1):raw.size]
        if not blob.isascii():
            return None
        names = blob.split(b"\0", count)
        if len(names) <= count:
            return None
        del names[count:]
        index_of = self.index_of()
        if not index_of.keys() >= set(offsets):
            return None
        where = dict(zip(names, offsets))       # later duplicates overwrite...
        if len(where) != count:                 # ...so let the first ones win
            where = dict(zip(reversed(names), reversed(offsets)))

        def lookup(symbol: str) -> int | None:
            offset = where.get(symbol.encode())
            return None if offset is None else index_of[offset]
        return lookup

    def check_magic(self) -> None:
        head = self.read(0, 8)
        if head == MAGIC:
            return
        if head == THIN_MAGIC:
            raise self.fail("thin archive (\"!<thin>\"): its members are separate files "
                            "outside the archive; thin archives are not supported")
        if not head:
            raise self.fail("empty file, not an ar archive")
        if MAGIC.startswith(head):
            raise self.fail(f"truncated archive magic ({len(head)} of 8 bytes)")
        raise self.fail("not an ar archive (bad magic)")

    def headers(self, pos: int) -> list[_Raw]:
        """Every header from `pos` on, in file order.  The loop runs once per member
        (2,001 times for a 200,000-function library): a well-formed header is
        parsed inline, anything else by `header`, which says what is wrong."""
        raws: list[_Raw] = []
        end, read = self.end, self.read
        while pos < end:  # a final odd member may lack its pad byte at end of file
            hdr = read(pos, HEADER_SIZE)
            size = _size(hdr)
            data = pos + HEADER_SIZE
            if 0 <= size <= end - data:
                raws.append(_Raw(pos, hdr[:16].rstrip(b" "), data, size))
            else:
                raws.append(self.header(pos))
                size = raws[-1].size
            pos = data + size + (size & 1)
        return raws

    def header(self, pos: int) -> _Raw:
        hdr = self.read(pos, HEADER_SIZE)
        if len(hdr) < HEADER_SIZE:
            raise self.fail(f"truncated member header at offset {pos} "
                            f"({len(hdr)} of {HEADER_SIZE} bytes)")
        field = hdr[:16].rstrip(b" ")
        if hdr[58:60] != FMAG:
            raise self.fail(f"bad header terminator {hdr[58:60]!r} (expected {FMAG!r}) "
                            f"in member header at offset {pos}")
        size_field = hdr[48:58].rstrip(b" ")
        if not size_field.isdigit():
            raise self.fail(f"bad size field {_show(hdr[48:58])} in member header "
                            f"at offset {pos}")
        size = int(size_field)
        data = pos + HEADER_SIZE
        if data + size > self.end:
            raise self.fail(f"member {_show(field)} at offset {pos}: size {size} extends "
                            f"past the end of the archive ({self.end} bytes)")
        return _Raw(pos, field, data, size)

    def special(self, n: int, raw: _Raw) -> tuple[_Raw, str, int] | None:
        """The symbol table as (raw, flavour, width); records `//`; None for other members."""
        if raw.field in GNU_SYMTABS:
            if n != 0:
                raise self.fail(f"symbol table {_show(raw.field)} at offset {raw.offset} "
                                f"is not the first member")
            return raw, "gnu", GNU_SYMTABS[raw.field]
        if raw.field == b"//":
            if self.long_names is not None:
                raise self.fail(f"second long-name table '//' at offset {raw.offset}")
            self.long_names = self.read(raw.data_offset, raw.size)
            return None
        if n == 0 and raw.field.startswith((b"__.SYMDEF", b"#1/")):
            return self.bsd_symtab(raw)
        return None

    def bsd_symtab(self, raw: _Raw) -> tuple[_Raw, str, int] | None:
        name, data, size = self.bsd_name(raw)
        if name not in BSD_SYMTABS:
            return None
        return raw._replace(data_offset=data, size=size), "bsd", BSD_SYMTABS[name]

    def member(self, raw: _Raw) -> ArMember:
        field = raw.field
        if field.startswith(b"#1/"):
            name, data, size = self.bsd_name(raw)
            return ArMember(name, raw.offset, data, size)
        if field[:1] == b"/" and field[1:].isdigit():
            return ArMember(self.long_name(raw), raw.offset, raw.data_offset, raw.size)
        if field.endswith(b"/"):
            field = field[:-1]
        return ArMember(self.decode_name(field, raw), raw.offset, raw.data_offset, raw.size)

    def long_name(self, raw: _Raw) -> str:
        where = f"long name reference {_show(raw.field)} at offset {raw.offset}"
        if self.long_names is None:
            raise self.fail(f"{where}, but no '//' long-name table precedes it")
        k = int(raw.field[1:])
        if k >= len(self.long_names):
            raise self.fail(f"{where} is past the end of the '//' table "
                            f"({len(self.long_names)} bytes)")
        stop = self.long_names.find(b"/\n", k)
        if stop < 0:
            raise self.fail(f"{where}: the name is not terminated by '/\\n' in the '//' table")
        return self.decode_name(self.long_names[k:stop], raw)

    def bsd_name(self, raw: _Raw) -> tuple[str, int, int]:
        """A BSD `#1/N` name (stored at the start of the data): name, data offset, size."""
        if not raw.field.startswith(b"#1/"):
            return self.decode_name(raw.field, raw), raw.data_offset, raw.size
        digits = raw.field[3:]
        if not digits.isdigit():
            raise self.fail(f"bad BSD long name {_show(raw.field)} at offset {raw.offset}")
        n = int(digits)
        if n > raw.size:
            raise self.fail(f"BSD long name {_show(raw.field)} at offset {raw.offset} is "
                            f"longer than the member ({raw.size} bytes)")
        name = self.read(raw.data_offset, n).rstrip(b"\0")
        return self.decode_name(name, raw), raw.data_offset + n, raw.size - n

    def decode_name(self, name: bytes, raw: _Raw) -> str:
        try:
            return name.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"member name {_show(name)} at offset {raw.offset} "
                            f"is not valid UTF-8") from None

    def symbol_table(self, symtab: tuple[_Raw, str, int]) -> tuple[list[str], list[int]]:
        """The table's entries: symbol names and the index of the member each names."""
        raw, flavour, width = symtab
        if flavour == "gnu":
            names, offsets = self.gnu_symbols(raw, width)
        else:
            names, offsets = self.bsd_symbols(raw, width)
        return self.resolve(names, offsets, self.index_of())

    def gnu_symbols(self, raw: _Raw, width: int) -> tuple[list[str], Sequence[int]]:
        code = "I" if width == 4 else "Q"
        start, size = raw.data_offset, raw.size
        if size < width:
            raise self.fail(f"symbol table truncated: {size} bytes, too short for its "
                            f"{width}-byte count")
        data = self.symtab_data
        (count,) = struct.unpack_from(f">{code}", data, 0)
        table = width * (count + 1)
        if table > size:
            raise self.fail(f"symbol table truncated: {count} symbols need {table} bytes "
                            f"of count and offsets, the member has {size}")
        offsets = struct.unpack_from(f">{count}{code}", data, width)
        blob = data[table:size]
        return self.split_names(blob, count), offsets

    def split_names(self, blob: bytes, count: int) -> list[str]:
        """The first `count` NUL-terminated names of `blob`, decoded in one go."""
        if count == 0:
            return []
        if blob.isascii():
            # Nearly always: ASCII is UTF-8, and one split of the decoded text
            # finds the names without a bytes object per name first.
            names = blob.decode("ascii").split("\0", count)
            if len(names) > count:
                del names[count:]
                return names
        parts = blob.split(b"\0", count)
        if len(parts) <= count:
            raise self.fail(f"symbol table truncated: {count} symbols but only "
                            f"{len(parts) - 1} NUL-terminated names")
        used = blob[:len(blob) - len(parts[-1]) - 1]
        try:
            text = used.decode("utf-8")
        except UnicodeDecodeError as exc:
            which = used.count(b"\0", 0, exc.start)
            raise self.fail(f"symbol table: name {which} "
                            f"{_show(parts[which])} is not valid UTF-8") from None
        return text.split("\0")

    def bsd_symbols(self, raw: _Raw, width: int) -> tuple[list[str], Sequence[int]]:
        code = "I" if width == 4 else "Q"
        start, size = raw.data_offset, raw.size
        if size < width:
            raise self.fail("BSD symbol table truncated: no ranlib array size")
        data = self.symtab_data
        (ranlib,) = struct.unpack_from(f"<{code}", data, 0)
        count = ranlib // (2 * width)
        strsize_at = width + ranlib
        if ranlib % (2 * width) or strsize_at + width > size:
            raise self.fail(f"BSD symbol table truncated or bad: ranlib array of {ranlib} "
                            f"bytes in a {size}-byte member")
        pairs = struct.unpack_from(f"<{2 * count}{code}", data, width)
        (strsize,) = struct.unpack_from(f"<{code}", data, strsize_at)
        strings_at = strsize_at + width
        if strings_at + strsize > size:
            raise self.fail(f"BSD symbol table truncated: string table of {strsize} bytes "
                            f"past the end of the member")
        strings = data[strings_at:strings_at + strsize]
        return [self.bsd_string(strings, x) for x in pairs[0::2]], pairs[1::2]

    def bsd_string(self, strings: bytes, at: int) -> str:
        stop = strings.find(b"\0", at)
        if at >= len(strings) or stop < 0:
            raise self.fail(f"BSD symbol table: name offset {at} is outside the string table "
                            f"or unterminated")
        try:
            return strings[at:stop].decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"BSD symbol table: name at {at} is not valid UTF-8") from None

    def resolve(self, names: list[str], offsets: Sequence[int],
                index_of: dict[int, int]) -> tuple[list[str], list[int]]:
        found = list(map(index_of.get, offsets))
        if None in found:
            j = found.index(None)
            raise self.fail(f"symbol table entry {j} ({names[j]!r}) points at offset "
                            f"{offsets[j]}, which is not the header of a member")
        return names, cast(list[int], found)


# --- writing -------------------------------------------------------------------------------

def _header(name: bytes, size: int, mtime: bytes = b"0", ids: bytes = b"0",
            mode: bytes = b"644") -> bytes:
    if size >= MAX_SIZE:
        raise ValueError(f"ar member {name!r} too large ({size} bytes)")
    return b"".join((name.ljust(16), mtime.ljust(12), ids.ljust(6), ids.ljust(6),
                     mode.ljust(8), str(size).encode().ljust(10), FMAG))


def _pad(data: bytes, fill: bytes) -> bytes:
    return data + fill if len(data) & 1 else data


def _name_fields(names: list[bytes]) -> tuple[list[bytes], bytes]:
    """Each member's 16-byte name field, and the `//` table (b"" if none is needed)."""
    table = bytearray()
    at: dict[bytes, int] = {}
    fields: list[bytes] = []
    for name in names:
        if len(name) < 16 and b"/" not in name:
            fields.append(name + b"/")
            continue
        if name not in at:
            at[name] = len(table)
            table += name + b"/\n"
        fields.append(b"/%d" % at[name])
    return fields, _pad(bytes(table), b"\n")


def _check_member(name: str, symbols: Sequence[str]) -> bytes:
    if not name or "\n" in name or "\0" in name:
        raise ValueError(f"bad ar member name {name!r}")
    bad = [s for s in symbols if not s or "\0" in s]
    if bad:
        raise ValueError(f"bad symbol name {bad[0]!r} in ar member {name!r}")
    return name.encode("utf-8")


def _symbol_table(owners: list[int], strings: bytes, starts: list[int], width: int) -> bytes:
    code = "I" if width == 4 else "Q"
    offsets = [starts[i] for i in owners]
    table = struct.pack(f">{len(owners) + 1}{code}", len(owners), *offsets) + strings
    return _header(b"/" if width == 4 else b"/SYM64/", len(_pad(table, b"\0")), mode=b"0") \
        + _pad(table, b"\0")


def _member_starts(first: int, sizes: list[int]) -> list[int]:
    starts = []
    pos = first
    for size in sizes:
        starts.append(pos)
        pos += HEADER_SIZE + size + (size & 1)
    return starts


def write_archive(members: Sequence[tuple[str, bytes, Sequence[str]]]) -> bytes:
    """members: (file name, data, defined global symbols). Writes a GNU archive with a `/` symbol table
    (symbols in member order), a `//` long-name table when a name is longer than 15 chars, deterministic
    headers (mtime 0, uid 0, gid 0, mode 644 as llvm-ar D mode writes), even padding.

    The bytes are those `llvm-ar rcsD` writes for the same members and symbols (an
    empty archive is the bare magic; members without symbols still get an empty
    table); `/SYM64/` replaces `/` if an offset needs 64 bits.  Raises ValueError for a name that cannot
    be stored (empty, or with a newline or NUL) or a symbol that is empty or has a NUL.
    """
    if not members:
        return MAGIC  # what llvm-ar writes for an empty archive: no symbol table
    names = [_check_member(name, syms) for name, _, syms in members]
    fields, long_table = _name_fields(names)
    owners = [i for i, (_, _, syms) in enumerate(members) for _ in syms]
    symbol_names = [s for _, _, syms in members for s in syms]
    strings = b"".join(s.encode("utf-8") + b"\0" for s in symbol_names) or b"\0\0\0"
    long_part = _header(b"//", len(long_table), b"", b"", b"") + long_table if long_table else b""
    sizes = [len(data) for _, data, _ in members]
    for width in (4, 8):
        symtab_size = len(_pad(bytes(width * (len(owners) + 1)) + strings, b"\0"))
        first = len(MAGIC) + HEADER_SIZE + symtab_size + len(long_part)
        starts = _member_starts(first, sizes)
        if starts[-1] < 2**32:
            break
    parts = [MAGIC, _symbol_table(owners, strings, starts, width), long_part]
    for field, (_, data, _) in zip(fields, members):
        parts += (_header(field, len(data)), data, b"\n" if len(data) & 1 else b"")
    return b"".join(parts)
