"""Mark live (lld's MarkLive): which entities the program needs, and why.

Roots, in this order: the entry symbol (`main` unless `--entry`; none with
`--no-entry`), the `--export` symbols, the `--root` symbols, the symbols the
linker's own runtime needs, then every export (plain and `foreign export`)
of every object given on the command line.  Two more kinds of liveness
follow from an object becoming live, so they are edges out of the first
entity of the object that the search reaches:

* the ctors of a module that has a live entity (edge kind `ctor`);
* the exports of an archive member, which are roots only once something
  pulled the member in (edge kind `export`).

Every other edge is one of an entity's symbol references, read from the
object index (`EntityRecord.raw_refs`, computed at compile time): no body is
ever decoded here.  The search is breadth-first, and each live symbol keeps
its first reason (parent symbol, or None for a root, and edge kind), so
following parents gives a shortest chain from a root ("why is this in my
binary?", as lld's `--why-live` and twiggy's `paths`).  Resolving a symbol
may pull an archive member into the store: that lazy loading is the only
effect; the result is an immutable `LiveSet` (walrus's `used.rs`: liveness
computes a value, deletion is a later pass).

Undefined symbols.  A reachable reference to a symbol nothing defines is an
error; `undefined_diagnostics` reports all of them together, each with its
chain from a root (lld: `undefined symbol: foo` / `>>> referenced by ...`).
Unreachable undefined references are not errors.  With `allow_undefined`
(`--allow-undefined`), an undefined symbol a live entity references becomes
an `UndefinedImport`:

* a function (the referencing module declares it with `extern func`) becomes
  a host import `"env" "<symbol>"` with the declared type;
* anything else (data, a function without a declaration) has no type to
  import: emission gives it the address of a stub that panics with
  `undefined symbol: <symbol>` when called (as a function or through the
  table), and loads through it read the null page;
* a symbol accessed as a global stays an error: no address can stand in for it.

Undefined roots (entry, `--export`, `--root`, runtime symbols, object
exports) are errors even with `allow_undefined`: a root must exist.

For the cross-module signature check (done at emission), every live call or
tail call whose callee lies in another object, or is undefined, is recorded
as a `CallEdge` with the caller module's `extern func` declaration.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import attrs

from linker.diagnostics import Diagnostic
from linker.ir.edges import EdgeKind
from linker.ir.types import FuncType
from linker.store.objfile import EDGE_CODES, EDGE_INDEX, EntityRecord, ObjectFile
from linker.store.store import Store, imports_agree

MAX_CHAIN = 32  # lines of a why-chain printed in a diagnostic


class Reason(NamedTuple):
    """Why a symbol is live: the symbol that references it (None for a root)
    and how.  A NamedTuple: one is made per live entity, and they are cheap."""

    parent: str | None
    kind: EdgeKind


@attrs.frozen(slots=True)
class Root:
    """A root of discovery and where it comes from (`--export`, an input name, ...)."""

    symbol: str
    kind: EdgeKind
    origin: str


class CallEdge(NamedTuple):
    """A live call across objects: `declared` is the caller module's `extern func`
    type for the callee (None when it declared none).  A NamedTuple, as `Reason`:
    a C link makes one per cross-object call site (10,500 in the big C link),
    and a frozen attrs instance costs several times as much to build."""

    caller: str
    callee: str
    kind: EdgeKind
    declared: FuncType | None
    caller_input: str


@attrs.frozen(slots=True)
class UndefinedImport:
    """An undefined symbol accepted by `--allow-undefined` (see the module docstring)."""

    symbol: str
    module: str
    field: str
    func_type: FuncType | None   # None: not a function; a panicking stub address
    reason: Reason


@attrs.frozen(slots=True)
class Unresolved:
    """A reachable reference to a symbol nothing defines (an error)."""

    symbol: str
    reason: Reason               # the first (shortest-chain) reference
    count: int                   # how many references in all
    origin: str | None = None    # for an undefined root: where the root comes from


@attrs.frozen(slots=True)
class LiveSet:
    """The result of discovery; an immutable value."""

    live: Mapping[str, tuple[EntityRecord, Reason]]   # BFS order
    sigs: Mapping[str, str]                           # FFI sig key -> first symbol using it
    objects: tuple[ObjectFile, ...]                   # objects with a live entity, load order
    roots: tuple[Root, ...]
    undefined_imports: Mapping[str, UndefinedImport]
    unresolved: tuple[Unresolved, ...]
    call_edges: tuple[CallEdge, ...]
    # Symbols only weak references name and nothing defines -> their declared
    # function type (None: data): address 0, and a call traps (lld's semantics).
    weak_undefined: Mapping[str, FuncType | None] = types.MappingProxyType({})

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(o.module for o in self.objects)

    def is_live(self, rec: EntityRecord) -> bool:
        entry = self.live.get(rec.name)
        return entry is not None and (entry[0] is rec or imports_agree(entry[0], rec))

    def reason(self, symbol: str) -> Reason:
        return self.live[symbol][1]

    def chain(self, symbol: str) -> list[tuple[str, Reason]]:
        """`symbol` and its ancestors up to a root: (symbol, reason) pairs."""
        out = []
        current: str | None = symbol
        while current is not None:
            reason = self.live[current][1]
            out.append((current, reason))
            current = reason.parent
        return out

    def records(self) -> Iterable[EntityRecord]:
        return (rec for rec, _ in self.live.values())


def discover(store: Store, *, entry: str | None = "main", exports: Sequence[str] = (),
             roots: Sequence[str] = (), runtime: Sequence[str] = (),
             after_entry: Sequence[str] = (), allow_undefined: bool = False,
             allowed_undefined: frozenset[str] = frozenset(),
             provided: frozenset[str] = frozenset()) -> LiveSet:
    """Breadth-first search from the roots over the store's symbol references.
    `provided`: undefined symbols the output itself supplies (a side module's
    imported ``__memory_base`` and ``__table_base``); they are not reported."""
    live: dict[str, tuple[EntityRecord, Reason]] = {}
    queue: list[EntityRecord] = []
    unresolved: dict[str, _Pending] = {}
    root_list: list[Root] = []
    resolve = store.resolve

    def add_root(symbol: str, kind: EdgeKind, origin: str) -> None:
        root_list.append(Root(symbol, kind, origin))
        if symbol in live:
            return
        rec = resolve(symbol)
        if rec is None:
            if symbol not in unresolved:
                unresolved[symbol] = _Pending(Reason(None, kind), 0, origin)
            unresolved[symbol].count += 1
            return
        live[symbol] = (rec, Reason(None, kind))
        queue.append(rec)

    if entry is not None:
        add_root(entry, EdgeKind.ENTRY, "--entry")
    for s in exports:
        add_root(s, EdgeKind.EXPORT, "--export")
    for s in roots:
        add_root(s, EdgeKind.ROOT, "--root")
    for s in runtime:
        add_root(s, EdgeKind.RUNTIME, "the linker runtime")
    for s in after_entry:
        add_root(s, EdgeKind.RUNTIME, "called by _start after the entry (wasm-ld's commands)")
    for obj in store.objects[:store.command_line_objects]:
        for ext, s in obj.exports:
            add_root(s, EdgeKind.EXPORT, f'export "{ext}" in {obj.name}')
        for ext, s, _ in obj.foreign_exports:
            add_root(s, EdgeKind.EXPORT, f'foreign export "{ext}" in {obj.name}')
        for s in obj.kept:
            add_root(s, EdgeKind.ROOT, f"used (no-strip) in {obj.name}")

    active: set[ObjectFile] = set()    # objects with a live entity (by identity)
    live_objects: list[ObjectFile] = []
    sigs: dict[str, str] = {}
    call_edges: list[CallEdge] = []
    pulled = store.pulled_by
    CTOR, EXPORT = EdgeKind.CTOR, EdgeKind.EXPORT
    call_code, tail_code = EDGE_INDEX[EdgeKind.CALL], EDGE_INDEX[EdgeKind.TAIL_CALL]
    global_code = EDGE_INDEX[EdgeKind.GLOBAL]
    codes = EDGE_CODES
    defined = store.defined

    def edge(symbol: str, parent: str, kind: EdgeKind) -> EntityRecord | None:
        rec = defined.get(symbol)
        if rec is None:
            rec = resolve(symbol)
        if rec is None:
            u = unresolved.get(symbol)
            if u is None:
                unresolved[symbol] = _Pending(Reason(parent, kind), 1, None)
            else:
                u.count += 1
            return None
        if symbol not in live:
            live[symbol] = (rec, Reason(parent, kind))
            queue.append(rec)
        return rec

    head = 0
    checked = 0            # store.replaced entries already looked at
    scanned = 0            # store.objects already looked at for C init functions

    def c_init_functions() -> bool:
        # As wasm-ld: the init functions of every loaded C object are live,
        # whatever else of it is (--whole-archive plugins register themselves).
        nonlocal scanned
        before = len(queue)
        while scanned < len(store.objects):
            obj = store.objects[scanned]
            scanned += 1
            if not obj.has_ir:
                for s, _prio in obj.ctors:
                    add_root(s, EdgeKind.CTOR, f"init function of {obj.name}")
        return len(queue) > before

    while head < len(queue) or checked < len(store.replaced) or c_init_functions():
        if head == len(queue) and checked == len(store.replaced):
            continue
        if head == len(queue):
            # A member pulled during the search defined a symbol strongly that
            # was live as a weak definition (musl's `__stdio_exit` in `exit.o`
            # versus the one stdio pulls in): the strong one takes its place.
            for symbol in store.replaced[checked:]:
                hit = live.get(symbol)
                if hit is not None and hit[0] is not defined[symbol]:
                    live[symbol] = (defined[symbol], hit[1])
                    queue.append(defined[symbol])
            checked = len(store.replaced)
            continue
        rec = queue[head]
        head += 1
        name = rec.name
        obj = rec.obj
        if obj not in active:
            active.add(obj)
            live_objects.append(obj)
            for s, _prio in obj.ctors:
                edge(s, name, CTOR)
            if id(obj) in pulled:
                for _ext, s in obj.exports:
                    edge(s, name, EXPORT)
                for _ext, s, _k in obj.foreign_exports:
                    edge(s, name, EXPORT)
                for s in obj.kept:
                    edge(s, name, EdgeKind.ROOT)
        raw = rec.raw_refs
        for i in range(0, len(raw), 2):
            symbol = raw[i]
            code = raw[i + 1]
            hit = live.get(symbol)
            target = hit[0] if hit is not None else edge(symbol, name, codes[code])
            if code == call_code or code == tail_code:
                if target is None or target.obj is not obj:
                    call_edges.append(CallEdge(name, symbol, codes[code],
                                               obj.extern_funcs.get(symbol), obj.name))
            if target is None:
                u = unresolved[symbol]
                _note_decl(u, obj, symbol)
                u.strong = u.strong or symbol not in obj.weak_undefined
                u.global_access = u.global_access or code == global_code
        for key in rec.sigs:
            if key not in sigs:
                sigs[key] = name

    errors: list[Unresolved] = []
    undefined_imports: dict[str, UndefinedImport] = {}
    weak: dict[str, FuncType | None] = {}
    for symbol, p in unresolved.items():
        if symbol in provided:
            continue
        if not p.strong and p.reason.parent is not None:
            weak[symbol] = p.decl          # only weak references: null, as in lld
        elif (allow_undefined or symbol in allowed_undefined) and p.reason.parent is not None \
                and not p.global_access:   # a global has no stub: it stays an error
            undefined_imports[symbol] = UndefinedImport(symbol, "env", symbol, p.decl, p.reason)
        else:
            errors.append(Unresolved(symbol, p.reason, p.count, p.origin))
    return LiveSet(
        live=types.MappingProxyType(live),
        sigs=types.MappingProxyType(sigs),
        objects=tuple(live_objects),
        roots=tuple(root_list),
        undefined_imports=types.MappingProxyType(undefined_imports),
        unresolved=tuple(errors),
        call_edges=tuple(call_edges),
        weak_undefined=types.MappingProxyType(weak))


@attrs.define(slots=True)
class _Pending:
    """An undefined symbol while the search runs."""

    reason: Reason
    count: int
    origin: str | None
    decl: FuncType | None = None
    strong: bool = False          # some reference is not weak
    global_access: bool = False   # read or written as a global (no stub can stand in)


def _note_decl(u: _Pending, obj: ObjectFile, symbol: str) -> None:
    # The first `extern func` declaration of an undefined symbol gives its type.
    if u.decl is None:
        u.decl = obj.extern_funcs.get(symbol)


# ---------------------------------------------------------------- reporting


def undefined_diagnostics(ls: LiveSet, entry: str | None = None) -> list[Diagnostic]:
    """One error per unresolved symbol, each with its chain from a root."""
    out = []
    for u in ls.unresolved:
        if u.reason.parent is None and u.reason.kind is EdgeKind.ENTRY:
            out.append(Diagnostic.error(f"entry symbol not defined: {u.symbol}",
                                        notes=[">>> pass --no-entry to link without one"]))
            continue
        notes: list[str] = []
        if u.reason.parent is None:
            notes.append(f">>> referenced by {u.origin}")
        else:
            chain = ls.chain(u.reason.parent)
            for sym, _ in chain[:MAX_CHAIN]:
                notes.append(f">>> referenced by {sym} ({ls.live[sym][0].obj.name})")
            if len(chain) > MAX_CHAIN:
                notes.append(f">>> ... {len(chain) - MAX_CHAIN} more in the chain")
        if u.count > 1:
            notes.append(f">>> referenced {u.count - 1} more times")
        out.append(Diagnostic.error(f"undefined symbol: {u.symbol}", notes=notes))
    return out


def deferred_error_warnings(ls: LiveSet) -> list[Diagnostic]:
    """A warning for each live entity the compiler could not compile (it panics when run)."""
    out = []
    for rec, _ in ls.live.values():
        if rec.deferred_error is not None:
            out.append(Diagnostic.warning(
                f"live {rec.kind.value} '{rec.name}' could not be compiled: "
                f"{rec.deferred_error}; calling it will panic", file=rec.obj.name))
    return out


def dead_entities(store: Store, ls: LiveSet) -> list[EntityRecord]:
    """Entities of loaded objects that are not live, in load order then index order.

    A host import merged with an identical live one is not dead."""
    live = ls.live
    return [rec for obj in store.objects for rec in obj.records if rec.name not in live]


def gc_section_lines(store: Store, ls: LiveSet) -> list[str]:
    """`--print-gc-sections` output: `removing unused <kind> <input>:(<name>)`."""
    return [f"removing unused {rec.kind.value} {rec.obj.name}:({rec.name})"
            for rec in dead_entities(store, ls)]
