"""Build the link report from a finished link (`LinkResult`), after `link()` returns.

Everything comes from values the driver already keeps: the live set with
reasons (discovery), the store (loaded objects, archives and their members
never loaded), the emitted module and its layouts, and the wasm bytes.  Byte
counts are read from the encoded file (`linker.report.wasmfile`), so they are
the file's: the code-section entries of all functions plus the section's
vector length add up to the code section, and the data entities, the panic
message pool and the alignment padding make up the memory image that the
data segments carry (less the zero runs the segments skip).

The linker's own code and data (the panic runtime and its message pool,
`_start`, trampoline thunks and drivers, export wrappers, FFI handlers) are
entities of input `<linker>`, with a reason: the first live function that
needs them, or a root of kind `linker runtime`.  The writer's own functions
are known by the records it keeps of them (`EmitResult.synthetic`: kind,
calls, subject), not by their names; any other function the linker adds is
the FFI's.  Edges the linker adds (a module's ctors and a pulled member's
exports, from the first entity of the object that discovery reached, as
`linker.marklive` does; calls to the panic runtime; tail calls through
thunks) are added to the `refs` of the referencing entity, so the reference
graph explains every live entity.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable
from typing import Any

from linker import __version__
from linker.driver import LinkOptions, LinkResult
from linker.ir import model as ir
from linker.ir.edges import EdgeKind
from linker.linker_symbols import LINKER_DATA, is_linker_object
from linker.marklive import LiveSet, dead_entities
from linker.report.model import (LINKER_INPUT, UNDEFINED_INPUT, Entity, Report, RootInfo,
                                 UnloadedMember)
from linker.report.wasmfile import CODE, DATA, SegmentInfo, code_entries, data_segments, sections
from linker.store.objfile import EntityKind, EntityRecord, ObjectFile
from linker.store.store import Store
from linker.writer import PROC_EXIT_SYMBOL, EmitResult, LiveProgram, SyntheticFunc, SyntheticKind

POOL = "__irld_panic_messages"      # the panic message pool, as one data entity
RUNTIME = EdgeKind.RUNTIME.value
CALL = EdgeKind.CALL.value


def input_name(obj: ObjectFile) -> str:
    return LINKER_INPUT if is_linker_object(obj.name) else obj.name


def build_report(result: LinkResult, options: LinkOptions) -> Report:
    """The report of one link (see docs/report.md)."""
    start = time.perf_counter()
    report = _Builder(result, options).run()
    report.timings.append({"phase": "report", "seconds": time.perf_counter() - start,
                           "peak_rss_kb": _peak_rss()})
    return report


def _peak_rss() -> int:
    from linker.driver import peak_rss_kb
    return peak_rss_kb()


class _Builder:
    def __init__(self, result: LinkResult, options: LinkOptions) -> None:
        self.result = result
        self.options = options
        self.live: LiveSet = result.live
        self.store: Store = result.store
        self.em: EmitResult | None = result.emitted
        self.wasm = result.wasm or b""
        self.entities: list[Entity] = []
        self.by_name: dict[str, Entity] = {}
        self.roots = [RootInfo(r.symbol, r.kind.value, r.origin) for r in self.live.roots]
        self.index_owner: dict[int, str] = {}        # function index -> entity name
        self.owners: dict[str, str] = {}             # linked function symbol -> entity name
        self.code: list[tuple[int, int]] = []        # per defined function: (offset, size)
        self.segments: list[SegmentInfo] = []
        self.output_sections: list[dict[str, Any]] = []

    def run(self) -> Report:
        self.read_wasm()
        extra = self.linker_edges()
        self.user_entities(extra)
        self.undefined_entities()
        self.lto_effects()
        if self.em is not None:
            self.linker_functions()
            self.linker_data()
            self.data_bytes()
        # The linker's own unused definitions (its object is a fallback, not an input)
        # are not garbage of the program.
        dead = [self.dead_entity(rec) for rec in dead_entities(self.store, self.live)
                if not is_linker_object(rec.obj.name)]
        return Report(
            output={"path": self.options.output, "bytes": len(self.wasm),
                    "sections": self.output_sections},
            options=self.options_json(), inputs=self.inputs_json(),
            objects=self.objects_json(), roots=self.roots, live=self.entities, dead=dead,
            unloaded=self.unloaded_members(), memory=self.memory_json(),
            table=self.table_json(), panic_pool=self.pool_json(), ffi=self.ffi_json(),
            ffi_totals=self.ffi_totals(),
            counts=self.counts_json(len(dead)), timings=[
                {"phase": t.name, "seconds": t.seconds, "peak_rss_kb": t.peak_rss_kb}
                for t in self.result.timings],
            irld=__version__)

    # ------------------------------------------------------------ the file

    def read_wasm(self) -> None:
        if not self.wasm:
            return
        for s in sections(self.wasm):
            self.output_sections.append({"name": s.name, "id": s.id, "offset": s.offset,
                                         "size": s.size, "total": s.total})
            if s.id == CODE:
                self.code = [(e.offset, e.size) for e in code_entries(self.wasm, s)]
            elif s.id == DATA:
                self.segments = data_segments(self.wasm, s)

    # ------------------------------------------------------------ live entities

    def add(self, e: Entity) -> Entity:
        self.entities.append(e)
        self.by_name[e.name] = e
        if e.func_index is not None:
            self.index_owner.setdefault(e.func_index, e.name)
        return e

    def place_function(self, e: Entity) -> None:
        """Function index, table slot, code entry offset and size."""
        em = self.em
        if em is None:
            return
        idx = em.func_indices.get(e.name)
        if idx is None:
            idx = self.name_index().get(e.name)
        e.func_index = idx
        e.table_index = em.table.slots.get(e.name)
        nimports = len(em.module.imports)
        if idx is not None and idx >= nimports and idx - nimports < len(self.code):
            e.offset, e.bytes = self.code[idx - nimports]
            e.size = em.code_sizes.get(e.name, len(em.module.function(idx).body))

    _name_index: dict[str, int] | None = None

    def name_index(self) -> dict[str, int]:
        if self._name_index is None:
            assert self.em is not None
            m = self.em.module
            self._name_index = {}
            for i in range(m.num_funcs):
                n = m.func_name(i)
                if n is not None:
                    self._name_index.setdefault(n, i)
        return self._name_index

    def user_entities(self, extra: dict[str, list[tuple[str, str]]]) -> None:
        em = self.em
        for sym, (rec, reason) in self.live.live.items():
            refs = [(s, k.value) for s, k in rec.refs]
            refs += extra.get(sym, ())
            e = Entity(sym, rec.kind.value, input_name(rec.obj), True, 0,
                       parent=reason.parent, reason=reason.kind.value, refs=refs)
            match rec.kind:
                case EntityKind.FUNC | EntityKind.IMPORT | EntityKind.FOREIGN_IMPORT:
                    self.place_function(e)
                case EntityKind.DATA if em is not None:
                    e.size = int(rec.info[0])
                    e.address = em.memory.addresses.get(sym)
                    if is_linker_object(rec.obj.name):
                        e.address = em.memory.linker_symbols().get(sym)
            self.add(e)

    def lto_effects(self) -> None:
        """--lto: each entity's `lto` field (inlined into, folded into, removed, ...)."""
        lto = self.result.lto
        if lto is None:
            return
        for sym, effect in lto.effects.items():
            e = self.by_name.get(sym)
            if e is not None:
                e.lto = effect.to_json()
                e.lto["summary"] = effect.summary

    def undefined_entities(self) -> None:
        for sym, u in self.live.undefined_imports.items():
            e = Entity(sym, "import" if u.func_type is not None else "undefined",
                       UNDEFINED_INPUT, True, 0, parent=u.reason.parent,
                       reason=u.reason.kind.value)
            self.place_function(e)
            self.add(e)

    def linker_edges(self) -> dict[str, list[tuple[str, str]]]:
        """Edges discovery follows that are not an entity's own references:
        ctors and pulled members' exports, from the first entity reached of the object."""
        extra: dict[str, list[tuple[str, str]]] = {}
        seen: set[int] = set()
        pulled = self.store.pulled_by
        for sym, (rec, _reason) in self.live.live.items():
            obj = rec.obj
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            edges = [(s, EdgeKind.CTOR.value) for s, _p in obj.ctors]
            if id(obj) in pulled:
                edges += [(s, EdgeKind.EXPORT.value) for _x, s in obj.exports]
                edges += [(s, EdgeKind.EXPORT.value) for _x, s, _k in obj.foreign_exports]
            if edges:
                extra.setdefault(sym, []).extend(edges)
        return extra

    # ------------------------------------------------------------ the linker's own

    def linker_functions(self) -> None:
        em = self.em
        assert em is not None
        m = em.module
        prog = self.result.program
        panickers, tail_callers = _scan(prog) if prog is not None else ([], {})
        for i, imp in enumerate(m.imports):
            if i in self.index_owner:
                continue
            name = imp.name or f"{imp.module}.{imp.field}"
            self.add(Entity(name, "import", LINKER_INPUT, True, 0, func_index=i))
        nimports = len(m.imports)
        exported: dict[int, str] = {x.index: x.name for x in m.exports if x.kind == 0}
        owner = self.index_owner
        self.owners = {sym: owner.get(idx, sym) for sym, idx in em.func_indices.items()}
        pending: list[Entity] = []
        for j, fn in enumerate(m.functions):
            idx = nimports + j
            if idx in owner:
                continue
            name = fn.name or f"func[{idx}]"
            e = Entity(name, "func", LINKER_INPUT, True, len(fn.body), func_index=idx,
                       table_index=None)
            if j < len(self.code):
                e.offset, e.bytes = self.code[j]
            self.add(e)
            pending.append(e)
        for e in pending:
            f = em.synthetic.get(e.name)
            if f is None:   # the FFI's
                self.set_reason(e, None, RUNTIME, "code the linker generates")
            else:
                self.explain_linker_function(e, f, exported, panickers, tail_callers)
        self.explain_by_referrer([e for e in self.entities
                                  if e.input == LINKER_INPUT and e.kind == "import"])

    def explain_by_referrer(self, unexplained: list[Entity]) -> None:
        """A linker import's reason: the first entity referencing it, else a root."""
        wanted = {e.name: e for e in unexplained}
        for ref in self.entities:
            for s, k in ref.refs:
                e = wanted.pop(s, None)
                if e is not None:
                    e.parent, e.reason = ref.name, k
        for e in wanted.values():
            self.set_reason(e, None, RUNTIME, "a host function the linker's code imports")

    def explain_linker_function(self, e: Entity, f: SyntheticFunc, exported: dict[int, str],
                                panickers: list[str], tail_callers: dict[str, str]) -> None:
        """The references and reason of a function the writer generated, from its record."""
        match f.kind:
            case SyntheticKind.PANIC:
                self.explain_panic(e, f, panickers)
            case SyntheticKind.START | SyntheticKind.INITIALIZE:
                e.refs += self.call_refs(self.start_calls(f))
                self.set_reason(e, None, EdgeKind.EXPORT.value, f'export "{f.name}" (WASI)')
            case SyntheticKind.THUNK:
                self.explain_thunk(e, f, tail_callers)
            case SyntheticKind.EXPORT_WRAPPER:
                assert f.subject is not None
                # Its symbol and every driver (its code calls its result type's: `f.calls`).
                e.refs += self.call_refs([f.subject, *self.drivers()])
                ext = exported.get(e.func_index if e.func_index is not None else -1, f.name)
                self.set_reason(e, None, EdgeKind.EXPORT.value, f'export "{ext}"')
            case SyntheticKind.DRIVER:
                self.set_reason(e, None, RUNTIME, "the tail-call trampoline")
            case SyntheticKind.CALL_CTORS:
                e.refs += self.call_refs(f.calls)
                parent, kind = self.live.reason(f.name)
                self.set_reason(e, parent, kind.value, "the ctors, as wasm-ld's")
            case SyntheticKind.SIGNATURE_MISMATCH:
                self.set_reason(e, None, RUNTIME, f"a call of {f.subject} with the wrong "
                                                  "signature: it traps")
            case SyntheticKind.UNDEFINED_WEAK:
                self.set_reason(e, None, RUNTIME, f"a weak function nothing defines "
                                                  f"({f.subject}): it traps")
            case SyntheticKind.CHECK:
                self.set_reason(e, None, RUNTIME, "a check of checked mode (--checked)")

    def explain_panic(self, e: Entity, f: SyntheticFunc, panickers: list[str]) -> None:
        """Called by every live function that can panic; the first is its reason."""
        for caller in panickers:
            self.by_name[caller].refs.append((f.name, CALL))
        self.set_reason(e, panickers[0] if panickers else None, CALL, "the panic runtime")
        # It writes the pool's and the scratch area's addresses as constants.
        e.refs += [(POOL, EdgeKind.ADDRESS.value)]
        e.refs += [(n, EdgeKind.ADDRESS.value) for n in self.linker_data_names()]
        e.refs += self.call_refs(f.calls)

    def explain_thunk(self, e: Entity, f: SyntheticFunc, tail_callers: dict[str, str]) -> None:
        """Tail-called (through the table) by the first tail caller of its target."""
        assert f.subject is not None
        e.refs += self.call_refs(f.calls)
        caller = tail_callers.get(f.subject)
        if caller is not None:
            self.by_name[caller].refs.append((f.name, EdgeKind.TAIL_CALL.value))
        self.set_reason(e, caller, EdgeKind.TAIL_CALL.value, "a trampoline thunk")

    def call_refs(self, calls: Iterable[str]) -> list[tuple[str, str]]:
        """Call edges to `calls`; an import the linker added under its own symbol is
        named by the entity that owns its function index (it may be the program's)."""
        return [(s if s in self.by_name else self.owners.get(s, s), CALL) for s in calls]

    def start_calls(self, f: SyntheticFunc) -> list[str]:
        """`_start`'s or `_initialize`'s edges: the ctors and the entry it calls (the
        drivers are roots of their own), and `proc_exit`, imported for every entry
        (called only for an i32 result)."""
        assert self.em is not None
        synthetic = self.em.synthetic
        calls = [c for c in f.calls
                 if c not in synthetic or synthetic[c].kind is not SyntheticKind.DRIVER]
        if f.kind is SyntheticKind.START and PROC_EXIT_SYMBOL not in calls:
            calls.append(PROC_EXIT_SYMBOL)
        return calls

    def drivers(self) -> list[str]:
        assert self.em is not None
        return [n for n, f in self.em.synthetic.items() if f.kind is SyntheticKind.DRIVER]

    def set_reason(self, e: Entity, parent: str | None, kind: str, origin: str) -> None:
        if parent is not None:
            e.parent, e.reason = parent, kind
            return
        e.parent, e.reason = None, kind
        self.roots.append(RootInfo(e.name, kind, origin))

    def linker_data_names(self) -> list[str]:
        em = self.em
        assert em is not None
        return [n for n in em.memory.addresses if n not in self.live.live]

    def linker_data(self) -> None:
        em = self.em
        assert em is not None
        mem = em.memory
        parent = next((f.name for f in em.synthetic.values() if f.kind is SyntheticKind.PANIC),
                      None)
        if mem.pool:
            e = Entity(POOL, "data", LINKER_INPUT, True, mem.pool_end - mem.pool_start,
                       address=mem.pool_start)
            self.set_reason(e, parent, EdgeKind.ADDRESS.value, "the panic message pool")
            self.add(e)
        order = {n: i for i, n in enumerate(mem.order)}
        for name in self.linker_data_names():
            if name in order:
                continue   # user data that is not live cannot be laid out; never here
            size = _extent(mem.addresses, name, mem.data_end)
            e = Entity(name, "data", LINKER_INPUT, True, size, address=mem.addresses[name])
            self.set_reason(e, parent if name.startswith("__irld_panic") else None,
                            EdgeKind.ADDRESS.value, "data the linker reserves")
            self.add(e)

    def data_bytes(self) -> None:
        """Each data entity's bytes that the data segments carry, and their file offset."""
        segs = sorted(self.segments, key=lambda s: s.address)
        starts = [s.address for s in segs]
        for e in self.entities:
            if e.kind != "data" or e.address is None or e.size == 0:
                continue
            lo, hi = e.address, e.address + e.size
            k = max(bisect.bisect_right(starts, lo) - 1, 0)
            total = 0
            while k < len(segs) and segs[k].address < hi:
                s = segs[k]
                a, b = max(lo, s.address), min(hi, s.address + s.size)
                if a < b:
                    if total == 0:
                        e.offset = s.offset + (a - s.address)
                    total += b - a
                k += 1
            e.bytes = total

    # ------------------------------------------------------------ dead and unloaded

    def dead_entity(self, rec: EntityRecord) -> Entity:
        size = rec.body_length if rec.kind is EntityKind.FUNC else 0
        if rec.kind is EntityKind.FUNC and not rec.obj.has_ir and rec.alias is None:
            size = rec.obj.wasm().functions[rec.chunk].size   # C: its compiled code
        if rec.kind is EntityKind.DATA:
            size = int(rec.info[0])
        return Entity(rec.name, rec.kind.value, input_name(rec.obj), False, size,
                      refs=[(s, k.value) for s, k in rec.refs])

    def unloaded_members(self) -> list[UnloadedMember]:
        out = []
        for ar in self.store.archives:
            symbols: dict[int, list[str]] = {}
            for s, o in ar.symbol_entries():
                symbols.setdefault(o, []).append(s)
            for i, m in enumerate(ar.members):
                if not ar.is_loaded(i):
                    out.append(UnloadedMember(ar.name, m.name, m.length,
                                              tuple(symbols.get(i, ()))))
        return out

    # ------------------------------------------------------------ descriptive parts

    def options_json(self) -> dict[str, Any]:
        o = self.options
        return {"entry": o.entry, "exports": list(o.exports), "roots": list(o.roots),
                "allow_undefined": o.allow_undefined, "tail_calls": o.tail_calls.value,
                "data_base": o.data_base, "libraries": list(o.libraries)}

    def inputs_json(self) -> list[dict[str, Any]]:
        store = self.store
        out: list[dict[str, Any]] = [{"path": o.name, "kind": "object"}
                                     for o in store.objects[:store.command_line_objects]]
        out += [{"path": ar.name, "kind": "archive", "members": len(ar.members),
                 "members_loaded": ar.loaded_count} for ar in store.archives]
        return out

    def objects_json(self) -> list[dict[str, Any]]:
        store = self.store
        out = []
        for i, o in enumerate(store.objects):
            pulled = store.pulled_by.get(id(o))
            out.append({"name": input_name(o), "module": o.module,
                        "command_line": i < store.command_line_objects, "pulled_by": pulled,
                        "pulled_for": store.pulled_for.get(id(o)),
                        "entities": len(o.records), "ir": o.has_ir})
        return out

    def memory_json(self) -> dict[str, Any]:
        em = self.em
        if em is None:
            return {}
        mem = em.memory
        image = mem.data_end - mem.data_base
        data_size = sum(e.size for e in self.entities if e.kind == "data"
                        and e.address is not None and mem.data_base <= e.address < mem.data_end)
        shipped = sum(s.size for s in self.segments)
        return {
            "data_base": mem.data_base, "readonly_end": mem.readonly_end,
            "data_end": mem.data_end, "heap_base": mem.heap_base,
            "pool_start": mem.pool_start, "pool_end": mem.pool_end,
            "initial_pages": mem.initial_pages, "max_pages": mem.max_pages,
            "image_bytes": image, "data_bytes": data_size, "padding": image - data_size,
            "segment_bytes": shipped, "zero_bytes_skipped": image - shipped,
            "segments": [{"address": s.address, "size": s.size, "offset": s.offset,
                          "header": s.header} for s in self.segments],
        }

    def table_json(self) -> dict[str, Any]:
        em = self.em
        if em is None:
            return {}
        t = em.table
        size = em.module.table.min if em.module.table is not None else t.size
        return {"size": size, "address_taken": len(t.order),
                "trampoline_slots": size - t.size,
                "slots": [{"index": t.slots[s], "symbol": s} for s in t.order]}

    def pool_json(self) -> list[dict[str, Any]]:
        if self.em is None:
            return []
        return [{"address": a, "size": len(s.encode()), "text": s}
                for s, a in sorted(self.em.memory.pool.items(), key=lambda x: x[1])]

    def ffi_json(self) -> list[dict[str, Any]]:
        """Live FFI signatures, with what the FFI phase generated for each when the link
        result carries it (`EmitResult.ffi`, a `linker.ffi.gen.FfiReport`: per signature
        its handler and closure-pool bytes; see `ffi_entries`)."""
        ids = {key: i + 1 for i, key in enumerate(self.live.sigs)}
        entries = {key: {"id": ids[key], "signature": key, "first_user": user, "bytes": 0}
                   for key, user in self.live.sigs.items()}
        for key, fields in ffi_entries(getattr(self.em, "ffi", None)):
            row = entries.setdefault(key, {"id": ids.get(key), "signature": key,
                                           "first_user": None, "bytes": 0})
            row.update(fields)
            row["bytes"] = int(fields.get("handler_bytes", 0)) + int(fields.get("pool_bytes", 0))
        return list(entries.values())

    def ffi_totals(self) -> dict[str, Any]:
        generated = getattr(self.em, "ffi", None)
        to_json = getattr(generated, "to_json", None)
        if to_json is None:
            return {}
        totals = dict(to_json())
        totals.pop("signatures", None)
        return totals

    def counts_json(self, dead: int) -> dict[str, Any]:
        c = self.store.counts()
        st = self.store.stats
        return {"objects": c.objects, "archives": c.archives, "members": c.members,
                "members_loaded": c.members_loaded, "in_store": c.in_store,
                "loaded": c.loaded, "live": len(self.live.live),
                "live_entities": len(self.entities), "dead": dead,
                "bodies_decoded": st.bodies_decoded, "indices_read": st.indices_read,
                "bytes_read": st.bytes_read, "ffi_signatures": len(self.live.sigs)}


def ffi_entries(generated: Any) -> list[tuple[str, dict[str, Any]]]:
    """(signature key, the FFI phase's numbers for it) from `EmitResult.ffi`.

    Reads any object with `sigs` whose items have a `key`; every other public
    scalar or tuple attribute of an item (handler_bytes, pool_bytes, ...) is copied."""
    if generated is None:
        return []
    out = []
    for item in getattr(generated, "sigs", ()):
        key = getattr(item, "key", None)
        if key is None:
            continue
        fields: dict[str, Any] = {}
        for name in getattr(type(item), "__slots__", ()):
            if name.startswith("_") or name in ("key", "id"):
                continue
            value = getattr(item, name, None)
            if isinstance(value, (int, str, float, tuple)):
                fields[name] = list(value) if isinstance(value, tuple) else value
        out.append((str(key), fields))
    return out


def _scan(prog: LiveProgram) -> tuple[list[str], dict[str, str]]:
    """Live functions that can panic (link order), and the first tail caller of
    each target: from the index, so no body is decoded for the report."""
    panickers: list[str] = []
    tail_callers: dict[str, str] = {}
    for lf in prog.funcs:
        for sym, kind in lf.rec.refs:
            if kind is EdgeKind.TAIL_CALL:
                tail_callers.setdefault(sym, lf.symbol)
        if lf.rec.texts:
            panickers.append(lf.symbol)
    return panickers, tail_callers


def _extent(addresses: dict[str, int], name: str, end: int) -> int:
    """Size of a linker-reserved area: up to the next address above it (or the data end)."""
    a = addresses[name]
    above = [v for v in addresses.values() if v > a]
    return (min(above) if above else end) - a


__all__ = ["build_report", "input_name", "LINKER_DATA"]
