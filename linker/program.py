"""From the live set to the program emission works on: decode live bodies, check signatures.

`build_program` walks the objects with a live entity in load order and each
object's entities in declaration order (so output order follows link order
and is independent of hashing), decodes only live function and data bodies,
and collects host imports, globals, exports, ctors (sorted by priority, then
link order) and the address-taken functions (targets of `@f` and of data
relocations, which get table slots).

`signature_diagnostics` checks every call that crosses objects: the caller's
`extern func` declaration must match the definition, lld style::

    error: function signature mismatch: foo
    >>> defined as (i32) -> i32 in b.o
    >>> called as (i64) -> i32 by main in a.o
"""

from __future__ import annotations

from typing import Final

from linker.diagnostics import Diagnostic
from linker.ffi.plan import FfiPlan, sig_ids_of
from linker.ir.edges import EdgeKind
from linker.ir.types import FuncType, ValType
from linker.linker_symbols import CALL_CTORS, CALL_DTORS, STACK_POINTER, is_linker_object
from linker.marklive import LiveSet
from linker.store.objfile import EDGE_INDEX, EntityKind, EntityRecord
from linker.store.store import Store
from linker.live import LiveData, LiveFunc, LiveProgram

_FUNC_KINDS: Final = (EntityKind.FUNC, EntityKind.IMPORT, EntityKind.FOREIGN_IMPORT)
_HOST_IMPORTS: Final = (EntityKind.IMPORT, EntityKind.FOREIGN_IMPORT)
_TAKEN_CODES: Final = frozenset({EDGE_INDEX[EdgeKind.ADDRESS], EDGE_INDEX[EdgeKind.DATA_REF]})


def build_program(store: Store, live: LiveSet, ffi: FfiPlan, entry: str | None,
                  extra_exports: tuple[str, ...] = ()) -> LiveProgram:
    """Collect everything emission needs; the FFI plan owns the signature ids."""
    ids = sig_ids_of(ffi)
    funcs: list[LiveFunc] = []
    imports: list[tuple[str, str, str, FuncType]] = []
    datas: list[LiveData] = []
    aliases: list[tuple[str, str, int]] = []
    func_aliases: dict[str, str] = {}
    globals_: list[tuple[str, ValType, int | float]] = []
    exports: list[tuple[str, str]] = []
    ctors: list[tuple[int, int, str]] = []
    taken: dict[str, None] = {}
    # One pass over every record of every live object: the live ones by
    # identity first (a set lookup), `is_live` only for a merged host import.
    # (Records compare and hash by identity: no id() number made per record.)
    live_recs = set(live.records())
    # What an address reference can make a table entry: a live function or import.
    live_funcs = {s for s, (rec, _why) in live.live.items() if rec.kind in _FUNC_KINDS}
    for obj in live.objects:
        if is_linker_object(obj.name):
            continue
        local_ids = {name: ids[key] for name, (key, _pool) in obj.csigs.items() if key in ids}
        for rec in obj.records:
            if rec not in live_recs and (rec.kind not in _HOST_IMPORTS
                                            or not live.is_live(rec)):
                continue
            _collect_taken(rec, live_funcs, taken)
            match rec.kind:
                case EntityKind.FUNC if rec.alias is not None:
                    func_aliases[rec.name] = rec.alias[0]
                case EntityKind.FUNC:
                    funcs.append(LiveFunc(rec.name, rec, local_ids, obj.name))
                case EntityKind.IMPORT:
                    module, field, ft = rec.info
                    imports.append((rec.name, module, field, ft))
                case EntityKind.FOREIGN_IMPORT:
                    module, field, _sig = rec.info
                    ft = rec.func_type
                    assert ft is not None
                    imports.append((rec.name, module, field, ft))
                case EntityKind.DATA if rec.alias is not None:
                    aliases.append((rec.name, *rec.alias))
                case EntityKind.DATA:
                    datas.append(LiveData(rec))
                case EntityKind.GLOBAL:
                    vt, init = rec.info
                    globals_.append((rec.name, vt, init))
        # Exports of every object with a live entity (discovery made them roots).
        exports.extend(obj.exports)
        exports.extend((name, sym) for name, sym, _sig in obj.foreign_exports)
        order = len(ctors)
        for i, (sym, prio) in enumerate(obj.ctors):
            ctors.append((prio, order + i, sym))
    exports.extend((s, s) for s in extra_exports)
    undefined_data: list[str] = []
    for sym, u in live.undefined_imports.items():
        if u.func_type is not None:
            imports.append((sym, u.module, u.field, u.func_type))
        else:
            undefined_data.append(sym)
    weak_funcs = [(s, ft) for s, ft in live.weak_undefined.items() if ft is not None]
    weak_data = [s for s, ft in live.weak_undefined.items() if ft is None]
    uses = {s for s in (STACK_POINTER, "__stack_low", "__stack_high")
            if s in live.live and is_linker_object(live.live[s][0].obj.name)}
    call_ctors = live.live.get(CALL_CTORS)
    # An alias's table slot is its function's: one pointer value per function.
    taken_funcs = list(dict.fromkeys(func_aliases.get(s, s) for s in taken))
    return LiveProgram(funcs, imports, datas, globals_, _dedupe(exports),
                       [s for _p, _o, s in sorted(ctors)], entry, taken_funcs, undefined_data,
                       ids, aliases, bool(uses), STACK_POINTER in uses,
                       weak_funcs=weak_funcs, weak_data=weak_data, ffi=ffi,
                       mismatches=signature_mismatches(live),
                       call_ctors=call_ctors is not None
                       and is_linker_object(call_ctors[0].obj.name),
                       call_dtors=_calls_dtors(live, entry, call_ctors is not None),
                       func_aliases=func_aliases)


def _calls_dtors(live: LiveSet, entry: str | None, crt1_runs_ctors: bool) -> bool:
    """Whether `_start` calls libc's `__wasm_call_dtors` after the entry: when it is
    live, takes and returns nothing, and no crt1 runs the ctors (a crt1 that
    calls `__wasm_call_ctors` calls the dtors too, as wasm-ld assumes)."""
    hit = live.live.get(CALL_DTORS)
    if entry is None or entry == CALL_DTORS or hit is None or crt1_runs_ctors:
        return False
    ft = hit[0].func_type
    return ft is not None and not ft.params and ft.result is None


def _collect_taken(rec: EntityRecord, live_funcs: set[str] | frozenset[str],
                   taken: dict[str, None]) -> None:
    """Add the live functions whose address `rec` takes to `taken` (in order)."""
    raw = rec.raw_refs              # flat (symbol, edge code) pairs
    for sym, code in zip(raw[0::2], raw[1::2]):
        if code in _TAKEN_CODES and sym in live_funcs:
            taken.setdefault(sym, None)


def _dedupe(exports: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for name, sym in exports:
        seen.setdefault(name, sym)
    return list(seen.items())


def _same_type(a: FuncType, b: FuncType) -> bool:
    # `==` runs attrs' `__eq__` even on one object; the object reader hands out
    # one FuncType per distinct type, so identity settles nearly every call edge.
    return a is b or a == b


def signature_mismatches(live: LiveSet) -> list[tuple[str, str, FuncType]]:
    """(caller's input, callee, declared type) of each call from a C object whose
    declaration differs from the definition: wasm-ld links such a call to a stub
    that traps, and warns."""
    out: dict[tuple[str, str], FuncType] = {}
    c_inputs = {o.name for o in live.objects if not o.has_ir}
    for e in live.call_edges:
        hit = live.live.get(e.callee)
        if (e.caller_input not in c_inputs or hit is None or e.declared is None
                or hit[0].func_type is None or _same_type(hit[0].func_type, e.declared)):
            continue
        out.setdefault((e.caller_input, e.callee), e.declared)
    return [(caller, callee, ft) for (caller, callee), ft in out.items()]


def signature_diagnostics(live: LiveSet) -> list[Diagnostic]:
    """One error per cross-object call whose declaration differs from the definition
    (a warning when the caller is C: see `signature_mismatches`)."""
    errors: list[Diagnostic] = []
    seen: set[tuple[str, str]] = set()
    c_inputs = {o.name for o in live.objects if not o.has_ir}
    for e in live.call_edges:
        hit = live.live.get(e.callee)
        if hit is None or e.declared is None:
            continue
        rec = hit[0]
        actual = rec.func_type
        if actual is None:
            errors.append(Diagnostic.error(
                f"call to non-function symbol: {e.callee}",
                notes=[f">>> defined as {rec.kind.value} in {rec.obj.name}",
                       f">>> called by {e.caller} in {e.caller_input}"]))
            continue
        if _same_type(actual, e.declared) or (e.caller_input, e.callee) in seen:
            continue
        seen.add((e.caller_input, e.callee))
        report = Diagnostic.warning if e.caller_input in c_inputs else Diagnostic.error
        errors.append(report(
            f"function signature mismatch: {e.callee}",
            notes=[f">>> defined as {actual} in {rec.obj.name}",
                   f">>> called as {e.declared} by {e.caller} in {e.caller_input}"]))
    return errors + _global_type_diagnostics(live)


def _global_type_diagnostics(live: LiveSet) -> list[Diagnostic]:
    """One error per object whose `extern global` declaration, used by a live entity,
    differs from the definition's type (or names something that is not a global)."""
    errors: list[Diagnostic] = []
    for obj in live.objects:
        if not obj.extern_globals:
            continue
        users: dict[str, str] = {}
        for rec in obj.records:
            if live.is_live(rec):
                for sym, kind in rec.refs:
                    if kind is EdgeKind.GLOBAL and sym in obj.extern_globals:
                        users.setdefault(sym, rec.name)
        for sym, user in users.items():
            hit = live.live.get(sym)
            if hit is None:
                continue
            rec, declared = hit[0], obj.extern_globals[sym]
            if rec.kind is not EntityKind.GLOBAL:
                errors.append(Diagnostic.error(
                    f"global access to non-global symbol: {sym}",
                    notes=[f">>> defined as {rec.kind.value} in {rec.obj.name}",
                           f">>> used by {user} in {obj.name}"]))
            elif rec.info[0] != declared:
                errors.append(Diagnostic.error(
                    f"global type mismatch: {sym}",
                    notes=[f">>> defined as {rec.info[0].value} in {rec.obj.name}",
                           f">>> declared as {declared.value} by {user} in {obj.name}"]))
    return errors


# Export names the linker itself gives to the output (`linker.writer`, `linker.ffi`).
RESERVED_EXPORTS = ("memory", "__indirect_function_table", "_start", "_initialize")
RESERVED_EXPORT_PREFIX = "__irld_"


def export_diagnostics(live: LiveSet, extra_exports: tuple[str, ...] = ()) -> list[Diagnostic]:
    """An export name must name one symbol, and not one the linker uses itself."""
    where: dict[str, list[tuple[str, str]]] = {}
    for obj in live.objects:
        if is_linker_object(obj.name):
            continue
        named = [*obj.exports, *((n, s) for n, s, _sig in obj.foreign_exports)]
        for name, sym in named:
            where.setdefault(name, []).append((sym, obj.name))
    for sym in extra_exports:
        where.setdefault(sym, []).append((sym, "--export"))
    errors: list[Diagnostic] = []
    for name, uses in where.items():
        if name in RESERVED_EXPORTS or name.startswith(RESERVED_EXPORT_PREFIX):
            errors.append(Diagnostic.error(
                f"export name '{name}' is reserved by the linker",
                notes=[f">>> exported as {sym} by {src}" for sym, src in uses]))
        elif len({sym for sym, _src in uses}) > 1:
            errors.append(Diagnostic.error(
                f"duplicate export name: {name}",
                notes=[f">>> exported as {sym} by {src}" for sym, src in uses]))
    return errors


def entry_diagnostics(live: LiveSet, entry: str | None) -> list[Diagnostic]:
    """The entry must be a function taking nothing and returning i32 or nothing."""
    if entry is None or entry not in live.live:
        return []
    rec = live.live[entry][0]
    ft = rec.func_type
    if rec.kind is not EntityKind.FUNC or ft is None:
        return [Diagnostic.error(f"entry symbol is not a function: {entry}",
                                 notes=[f">>> defined as {rec.kind.value} in {rec.obj.name}"])]
    if ft.params or ft.result not in (None, ValType.I32):
        return [Diagnostic.error(f"entry function {entry} has type {ft}; expected () -> i32 "
                                 "or ()", notes=[f">>> defined in {rec.obj.name}"])]
    return []
