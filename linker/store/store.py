"""The lazy store: the symbol table over object files and archives (lld's SymbolTable).

Inputs merge as lld merges them: the object files named on the command line
are loaded first, in order; archives follow, in order, and contribute *lazy*
symbols: an archive member is loaded only when `resolve` is asked for a
symbol nothing loaded defines and the member's symbol index entry offers it
(the first archive, then the first member, that lists the symbol wins).

Precedence is one rule: the first definition of a name wins the table;
every later one is a duplicate, except that host imports (`import func`,
`foreign import`) of one symbol with the same module, field and type merge
(two modules may both import `fd_write`).  Loading never stops at a
duplicate: all of them are collected (`duplicates`) and reported together,
lld style, by `duplicate_diagnostics`, naming every input involved.
Private symbols were renamed `module$name` by the compiler, so here they are
ordinary names.

Opening reads indices only; `body` reads, checks and decodes one body when a
later phase asks, and the shared `LoadStats` count every index read, body
decoded and byte read so tests and reports can prove the laziness.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from linker.diagnostics import Diagnostic, DiagnosticError
from linker.store.archive import Archive
from linker.store.wasm_input import open_object
from linker.store.objfile import EntityKind, EntityRecord, LoadStats, ObjectError, ObjectFile

if TYPE_CHECKING:
    from linker.ir.model import Data, Func
    from linker.store.objcache import IndexCache


_IMPORT_KINDS = (EntityKind.IMPORT, EntityKind.FOREIGN_IMPORT)
_NAME = operator.attrgetter("name")


@attrs.frozen(slots=True)
class Duplicate:
    """A symbol defined by two inputs: `first` holds the table, `second` was refused."""

    name: str
    first: EntityRecord
    second: EntityRecord

    @property
    def conflicting_imports(self) -> bool:
        return self.first.kind in _IMPORT_KINDS and self.second.kind in _IMPORT_KINDS


@attrs.frozen(slots=True)
class StoreCounts:
    """Entity counts: `in_store` = entities of loaded objects + index symbols of
    archive members not loaded; `loaded` = entities of loaded objects."""

    objects: int
    archives: int
    members: int
    members_loaded: int
    loaded: int
    in_store: int


def imports_agree(a: EntityRecord, b: EntityRecord) -> bool:
    """Two host imports of one symbol that are the same import (module, field, type)."""
    return a.kind is b.kind and a.kind in _IMPORT_KINDS and a.info == b.info


class Store:
    """Loaded objects, lazy archives and the table of defined symbols."""

    def __init__(self, stats: LoadStats | None = None,
                 cache: IndexCache | None = None) -> None:
        self.stats = stats if stats is not None else LoadStats()
        self.cache = cache      # C objects' index cache (linker.store.objcache), if any
        self.objects: list[ObjectFile] = []         # load order: command line, then pulls
        self.archives: list[Archive] = []
        # Linker-provided definitions (`__heap_base`, the FFI runtime, ...):
        # searched after every input, so a user definition always wins.
        self.fallbacks: list[Archive] = []
        self.command_line_objects = 0
        self.defined: dict[str, EntityRecord] = {}
        self.duplicates: list[Duplicate] = []
        # Symbols whose weak definition a later strong one replaced, in order.
        self.replaced: list[str] = []
        # Strong undefined symbols of loaded C objects, and how many were looked up.
        self.pending_undefined: list[str] = []
        self._extracted = 0
        self._counted = 0           # pending_undefined entries counted for `Archive.expect`
        # Objects pulled from archives, and the symbol that pulled each.
        self.pulled_by: dict[int, str] = {}          # id(ObjectFile) -> symbol
        # The first object naming each strong undefined symbol (C objects), and for
        # each member extraction pulled, that object: why a libc member came in.
        self.wanted_by: dict[str, str] = {}
        self.pulled_for: dict[int, str] = {}         # id(ObjectFile) -> object name
        # COMDAT group name -> the object whose group was kept (the first loaded).
        self.comdats: dict[str, ObjectFile] = {}

    # ------------------------------------------------------------ opening

    @staticmethod
    def open(inputs: Sequence[str], stats: LoadStats | None = None,
             whole_archives: Sequence[str] = (), cache: IndexCache | None = None) -> "Store":
        """Open `.o` objects and `.a` archives (indices only).

        Objects load first in the order given, then archives in the order
        given, wherever they appear in `inputs`.  Every unreadable or
        unsupported input is reported in one DiagnosticError.  C objects are
        read through `cache` when given (`Store.cache`; the caller flushes it)."""
        store = Store(stats, cache)
        errors: list[Diagnostic] = []
        objects: list[ObjectFile] = []
        for path in inputs:
            try:
                kind = input_kind(path)
                if kind == "object":
                    objects.append(open_object(path, store.stats, cache))
                elif kind == "archive":
                    store.archives.append(Archive.open(path, store.stats, cache))
                else:
                    errors.append(_unsupported(path))
            except ObjectError as exc:
                errors.append(Diagnostic.error(exc.reason, file=exc.file))
        for path in whole_archives:   # --whole-archive: every member, as an object
            try:
                ar = Archive.open(path, store.stats, cache)
                objects += [ar.load(i) for i in range(len(ar.members))]
            except ObjectError as exc:
                errors.append(Diagnostic.error(exc.reason, file=exc.file))
        if errors:
            raise DiagnosticError(errors)
        for obj in objects:
            store.add_object(obj)
        store.command_line_objects = len(objects)
        store.extract_undefined()
        return store

    def add_object(self, obj: ObjectFile) -> None:
        """Load an object's definitions into the table (duplicates are collected)."""
        self.objects.append(obj)
        if obj.comdats:
            self._select_comdats(obj)
        self.pending_undefined.extend(obj.undefined)
        for symbol in obj.undefined:
            self.wanted_by.setdefault(symbol, obj.name)
        defined = self.defined
        # Nearly always no name of the object is defined yet (and each is
        # once in it): then the table takes them all in one C-level update.
        records = obj.records
        mine = dict(zip(map(_NAME, records), records))
        if len(mine) == len(records) and defined.keys().isdisjoint(mine):
            defined.update(mine)
            return
        for rec in obj.records:
            old = defined.get(rec.name)
            if old is None:
                defined[rec.name] = rec
            elif rec.weak:
                continue                    # the first definition stays
            elif old.weak:
                defined[rec.name] = rec     # a strong definition replaces a weak one
                self.replaced.append(rec.name)
            elif not imports_agree(old, rec):
                self.duplicates.append(Duplicate(rec.name, old, rec))

    def _select_comdats(self, obj: ObjectFile) -> None:
        """lld's COMDAT rule: the first object to bring a group of a given name
        keeps it; a later group of that name is dropped whole (its functions,
        data, init functions and exports), and the object's references to
        those symbols resolve to the kept group's definitions."""
        dropped: set[str] = set()
        for name, members in obj.comdats:
            if self.comdats.setdefault(name, obj) is not obj:
                dropped |= members
        if not dropped:
            return
        obj.discarded = frozenset(dropped)
        obj.records = [r for r in obj.records if r.name not in dropped]
        obj.ctors = [(s, p) for s, p in obj.ctors if s not in dropped]
        obj.exports = [(e, s) for e, s in obj.exports if s not in dropped]
        obj.kept = [s for s in obj.kept if s not in dropped]

    # ------------------------------------------------------------ lookup

    def lookup(self, symbol: str) -> EntityRecord | None:
        """The loaded definition of `symbol`; never loads anything."""
        return self.defined.get(symbol)

    def resolve(self, symbol: str) -> EntityRecord | None:
        """The definition of `symbol`, pulling the archive member that offers it
        if nothing loaded defines it; None when nothing does."""
        rec = self.defined.get(symbol)
        if rec is not None:
            return rec
        if self._pull(symbol, (*self.archives, *self.fallbacks)):
            self.extract_undefined()
        return self.defined.get(symbol)

    def _pull(self, symbol: str, archives: Sequence[Archive]) -> bool:
        for ar in archives:
            i = ar.find(symbol)
            if i is None or ar.is_loaded(i):
                continue
            obj = ar.load(i)
            self.pulled_by[id(obj)] = symbol
            self.add_object(obj)
            return True
        return False

    def extract_undefined(self) -> None:
        """lld's archive extraction for C objects: every strong undefined symbol of
        a loaded C object pulls the member that defines it, live or not, as
        wasm-ld does.  C libraries rely on it: musl's `exit.o` has a weak dummy
        `__stdio_exit`, and the real one comes in only because `__towrite.o`,
        loaded for `printf`, names `__stdio_exit_needed` in a function nothing
        calls.  (An irld object pulls only for its live references.)"""
        pending = self.pending_undefined
        while self._extracted < len(pending):
            if self._counted < len(pending):
                self._expect_lookups()
            symbol = pending[self._extracted]
            self._extracted += 1
            if symbol not in self.defined and self._pull(symbol, self.archives):
                self.pulled_for[id(self.objects[-1])] = self.wanted_by[symbol]

    def _expect_lookups(self) -> None:
        # The symbols a loaded object added that nothing defines yet are the
        # lookups coming: a batch bigger than an archive's scans left makes it
        # index its table at once (the big C link: 16 scans, 14 ms, saved).
        defined = self.defined
        coming = sum(1 for s in self.pending_undefined[self._counted:] if s not in defined)
        self._counted = len(self.pending_undefined)
        for ar in self.archives:
            ar.expect(coming)

    def is_lazy(self, symbol: str) -> bool:
        """True if an archive member not yet loaded offers `symbol`."""
        return any((i := ar.find(symbol)) is not None and not ar.is_loaded(i)
                   for ar in self.archives)

    def from_command_line(self, obj: ObjectFile) -> bool:
        return id(obj) not in self.pulled_by

    # ------------------------------------------------------------ bodies

    def body(self, what: str | EntityRecord) -> Func | Data:
        """Decode the body of a symbol's definition (or of a record) on demand."""
        rec = self.defined.get(what) if isinstance(what, str) else what
        if rec is None:
            raise KeyError(f"symbol not defined: {what}")
        return rec.obj.body(rec)

    # ------------------------------------------------------------ reporting

    def counts(self) -> StoreCounts:
        loaded = sum(len(o.records) for o in self.objects)
        lazy = 0
        members = 0
        members_loaded = 0
        for ar in self.archives:
            members += len(ar.members)
            members_loaded += ar.loaded_count
            lazy += sum(1 for o in ar.entry_members() if not ar.is_loaded(o))
        return StoreCounts(self.command_line_objects, len(self.archives), members,
                           members_loaded, loaded, loaded + lazy)

    def duplicate_diagnostics(self) -> list[Diagnostic]:
        """One error per duplicated symbol, naming every input that defines it."""
        return duplicate_diagnostics(self.duplicates)


def duplicate_diagnostics(dups: Iterable[Duplicate]) -> list[Diagnostic]:
    by_name: dict[str, list[Duplicate]] = {}
    for d in dups:
        by_name.setdefault(d.name, []).append(d)
    out = []
    for name, group in by_name.items():
        recs = [group[0].first] + [d.second for d in group]
        if all(r.kind in _IMPORT_KINDS for r in recs):
            notes = [f">>> imported as {_import_desc(r)} in {r.obj.name}" for r in recs]
            out.append(Diagnostic.error(f"conflicting imports for symbol: {name}", notes=notes))
        else:
            notes = [f">>> defined in {r.obj.name}" for r in recs]
            out.append(Diagnostic.error(f"duplicate symbol: {name}", notes=notes))
    return out


def _import_desc(rec: EntityRecord) -> str:
    module, field, typ = rec.info
    return f'"{module}" "{field}" {typ}'


def input_kind(path: str) -> str:
    """"object", "archive" or "other", by the file's magic (as linkers do), not its name."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ObjectError(path, f"cannot open: {exc.strerror or exc}") from None
    if head.startswith(b"\0asm"):
        return "object"
    if head.startswith((b"!<arch>\n", b"!<thin>\n")):
        return "archive"
    return "other"


def _unsupported(path: str) -> Diagnostic:
    hint = "; compile it with `irld compile` first" if path.endswith(".ir") else ""
    return Diagnostic.error(
        "unknown file type: expected a WebAssembly object file or an archive"
        f"{hint}", file=path)


def check_loaded(store: Store) -> None:
    """Raise the duplicate-symbol errors collected so far, all at once."""
    diags = store.duplicate_diagnostics()
    if diags:
        raise DiagnosticError(diags)
