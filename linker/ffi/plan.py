"""The FFI phase: from the live set to what the linker must generate.

Only what live code references is generated:

* the runtime functions `ffi_call`, `ffi_closure_alloc`, `ffi_closure_free`
  are defined by the linker's synthetic `<linker>` object
  (`linker.linker_symbols`); one is generated only when discovery made it
  live (a program that defines its own wins, as with any fallback symbol);
* the live C signatures are the keys live entities reference through
  `sig NAME` (`LiveSet.sigs`), numbered 1..n by `linker.program.sig_ids`;
  each gets a call handler when `ffi_call` is live and a closure pool when
  `ffi_closure_alloc` is live;
* `foreign import ccall` and `foreign export ccall` get an adapter only
  where the ABI needs one: an 8/16-bit integer result is re-extended.

With `--ffi=exhaustive:N` the signature set is widened to what GHC's
libffi-wasm pre-generates (every wasm-typed signature of 0..N arguments,
`exhaustive_sigs`), so its cost can be measured on the same program.

The phase also checks what only the linker can see: a foreign export whose
function (possibly defined in another object) does not have the lowered
type of its C signature, and C signatures passing an empty struct by value.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from linker.diagnostics import Diagnostic
from linker.ffi.abi import empty_by_value, small_int
from linker.ffi.sigtext import parse_lines
from linker.ir.ctypes import CKind, CScalar, CSig, lower, parse_key
from linker.ir.types import FuncType, ValType
from linker.linker_symbols import is_linker_object
from linker.marklive import LiveSet
from linker.store.objfile import EntityKind

if TYPE_CHECKING:       # the IR model: only for links that generate FFI code (17 ms to import)
    from linker.ir.model import Expr

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64

FFI_CALL = "ffi_call"
FFI_CLOSURE_ALLOC = "ffi_closure_alloc"
FFI_CLOSURE_FREE = "ffi_closure_free"
# The same three under the names irld's libffi (`clib/ffi.c`) calls, since
# its own `ffi_call` and closure functions are libffi's and take their names.
IRLD_CALL = "__irld_ffi_call"
IRLD_CLOSURE_ALLOC = "__irld_ffi_closure_alloc"
IRLD_CLOSURE_FREE = "__irld_ffi_closure_free"
# What else irld's libffi needs of the linker (docs/ffi.md, "libffi's C API").
SIGTAB = "__irld_ffi_sigtab"          # () -> address of the sorted (key, id) table
NSIGS = "__irld_ffi_nsigs"            # () -> its length
TABLE_COPY = "__irld_table_copy"      # (dst, src): table.set dst (table.get src)
TABLE_GROW = "__irld_table_grow"      # (n) -> first new slot, or -1
FALLBACK = "__irld_ffi_fallback"      # () -> 1 with --ffi-fallback=host, else 0
HOST_CALL = "__irld_ffi_host_call"    # (fn, types, values, key): the host's dynamic call
# The runtime functions the linker defines, with their wasm types.
RUNTIME_FUNCS: tuple[tuple[str, FuncType], ...] = (
    (FFI_CALL, FuncType((I32, I32, I32, I32), None)),
    (FFI_CLOSURE_ALLOC, FuncType((I32, I32, I32), I32)),
    (FFI_CLOSURE_FREE, FuncType((I32,), None)),
    (IRLD_CALL, FuncType((I32, I32, I32, I32), None)),
    (IRLD_CLOSURE_ALLOC, FuncType((I32, I32, I32), I32)),
    (IRLD_CLOSURE_FREE, FuncType((I32,), None)),
    (SIGTAB, FuncType((), I32)),
    (NSIGS, FuncType((), I32)),
    (TABLE_COPY, FuncType((I32, I32), None)),
    (TABLE_GROW, FuncType((I32,), I32)),
    (FALLBACK, FuncType((), I32)),
    (HOST_CALL, FuncType((I32, I32, I32, I32), None)),
)

DEFAULT_CLOSURE_POOL = 16
LIBFFI_WASM_POOL = 16       # closure pool of every signature in libffi-wasm


@attrs.frozen(slots=True)
class FfiOptions:
    """`exhaustive`: N of `--ffi=exhaustive:N` (None: specialized);
    `closure_pool`: `--ffi-closure-pool`, the default pool size of a signature;
    `closure_growth`: `--closure-growth=host`, an exhausted pool asks the host for
    a table slot (`irld.closure_table_grow`); off, the output stays plain WASI
    and an exhausted pool gives NULL."""

    exhaustive: int | None = None
    closure_pool: int = DEFAULT_CLOSURE_POOL
    closure_growth: bool = False
    signature_files: tuple[str, ...] = ()   # --ffi-signatures FILE (linker.ffi.sigtext)
    fallback_host: bool = False             # --ffi-fallback=host


@attrs.frozen(slots=True)
class SigPlan:
    """One signature to generate code for: its link-time id, key, pool size and users."""

    id: int
    key: str
    sig: CSig
    pool: int
    users: tuple[str, ...]     # live symbols that reference it (empty: exhaustive extra)

    @property
    def lowered(self) -> FuncType:
        return lower(self.sig)


@attrs.frozen(slots=True)
class FfiLto:
    """What `--lto` lets the generated FFI code assume (docs/ffi.md, "Under LTO").

    The whole program's code is known, so the call handlers are branches of
    `ffi_call` rather than functions of their own, `__irld_ffi_alloca` is
    expanded where it is used, and without pool growth the FFI stack's lower
    bound is a constant.  `alloc_sig`: the signature id every call of
    `ffi_closure_alloc` passes, when every call is a direct IR call with that
    constant (`linker.lto.whole.Whole.constant_args`); `ffi_closure_alloc`
    then skips its signature test."""

    alloc_sig: int | None = None
    # Per parameter of ffi_closure_alloc (sig, fun, user_data): the constant `dae`
    # moved out of every call (`linker.lto.dae.ffi_runtime`), None for a parameter
    # kept; empty when none moved.  The function is generated with the rest as its
    # parameters and the constants in its code.
    alloc_args: tuple[Expr | None, ...] = ()

    def alloc_type(self) -> FuncType:
        return FuncType(tuple(I32 for a in self.alloc_args if a is None), I32)


@attrs.frozen(slots=True)
class FfiPlan:
    sigs: tuple[SigPlan, ...]                       # by id
    call: bool                                      # generate ffi_call and handlers
    alloc: bool                                     # generate ffi_closure_alloc and pools
    free: bool                                      # generate ffi_closure_free
    growth: bool                                    # pools grow through the host
    self_contained_pools: bool                      # libffi-wasm style trampolines
    import_adapters: tuple[tuple[str, CSig], ...]   # foreign import symbol, signature
    export_adapters: tuple[tuple[str, str, CSig], ...]   # export name, symbol, signature
    exhaustive: int | None = None
    linker_funcs: frozenset[str] = frozenset()   # live RUNTIME_FUNCS the linker defines
    fallback_host: bool = False             # --ffi-fallback=host
    lto: FfiLto | None = None               # set by the lto phase (linker.lto.whole)

    @property
    def runtime_live(self) -> bool:
        return bool(self.linker_funcs)

    @property
    def empty(self) -> bool:
        return not (self.runtime_live or self.import_adapters or self.export_adapters)


def exhaustive_sigs(n: int) -> Iterator[CSig]:
    """libffi-wasm's signature set: 0..n arguments over i32/i64/f32/f64, 5 results."""
    scalars = [CScalar(CKind.SINT32), CScalar(CKind.SINT64), CScalar(CKind.FLOAT),
               CScalar(CKind.DOUBLE)]
    results = [CScalar(CKind.VOID), *scalars]
    for arity in range(n + 1):
        for params in itertools.product(scalars, repeat=arity):
            for ret in results:
                yield CSig(ret, tuple(params))


def _runtime_live(live: LiveSet, name: str) -> bool:
    hit = live.live.get(name)
    return hit is not None and is_linker_object(hit[0].obj.name)


def sig_ids_of(plan: FfiPlan) -> dict[str, int]:
    """FFI signature key -> its link-time id, for every signature of `plan`."""
    return {s.key: s.id for s in plan.sigs}


def plan_ffi(live: LiveSet, options: FfiOptions) -> tuple[FfiPlan, list[Diagnostic]]:
    """What the FFI needs to generate for this live set, and any errors found."""
    errors: list[Diagnostic] = []
    users: dict[str, list[str]] = {key: [] for key in live.sigs}
    # Discovery listed every live record's keys in live.sigs: none, no user.
    for rec, _reason in live.live.values() if users else ():
        for key in rec.sigs:
            if rec.name not in users[key]:
                users[key].append(rec.name)
    pools: dict[str, int] = {}
    for obj in live.objects:
        for _name, (key, pool) in obj.csigs.items():
            if pool is not None and key in users:
                pools[key] = max(pools.get(key, 0), pool)
    funcs = frozenset(n for n, _t in RUNTIME_FUNCS if _runtime_live(live, n))
    call = bool(funcs & {FFI_CALL, IRLD_CALL})
    alloc = bool(funcs & {FFI_CLOSURE_ALLOC, IRLD_CLOSURE_ALLOC})
    free = bool(funcs & {FFI_CLOSURE_FREE, IRLD_CLOSURE_FREE})
    sigs: list[SigPlan] = []
    for i, key in enumerate(live.sigs):
        sig = parse_key(key)
        first = live.live[live.sigs[key]][0]
        for t in empty_by_value(sig):
            errors.append(Diagnostic.error(
                f"C signature {sig} passes an empty struct ({t}) by value",
                file=first.obj.name,
                notes=[f">>> used by {', '.join(users[key])}"]))
        sigs.append(SigPlan(i + 1, key, sig, pools.get(key, options.closure_pool),
                            tuple(users[key])))
    known = set(live.sigs)
    if SIGTAB in funcs or NSIGS in funcs:
        declared = list(declared_sigs(live, options.signature_files, errors))
        explicit: dict[str, int] = {}
        for key, _sig, pool, _user in declared:
            if pool is not None:
                explicit[key] = max(pool, explicit.get(key, 0))
        for key, sig, pool, user in declared:
            if key not in known:
                known.add(key)
                sigs.append(SigPlan(len(sigs) + 1, key, sig,
                                    explicit.get(key, options.closure_pool), (user,)))
                continue
            # Declared again, or for C and used by IR too: one handler, all users;
            # an explicit `pool N` can only enlarge a pool IR asked for.
            i = next(i for i, s in enumerate(sigs) if s.key == key)
            who = sigs[i].users if user in sigs[i].users else (*sigs[i].users, user)
            size = max(sigs[i].pool, pool) if pool is not None and i < len(live.sigs) \
                else sigs[i].pool
            sigs[i] = attrs.evolve(sigs[i], users=who, pool=size)
    if options.exhaustive is not None and (call or alloc):
        for sig in exhaustive_sigs(options.exhaustive):
            key = sig.key()
            if key not in known:
                known.add(key)
                sigs.append(SigPlan(len(sigs) + 1, key, sig, LIBFFI_WASM_POOL, ()))
    errors.extend(_ir_calls_to_libffi(live))
    import_adapters: list[tuple[str, CSig]] = []
    for rec, _reason in live.live.values():
        if rec.kind is not EntityKind.FOREIGN_IMPORT:
            continue
        sig = rec.info[2]
        for t in empty_by_value(sig):
            errors.append(Diagnostic.error(
                f"foreign import '{rec.name}': C signature {sig} passes an empty struct "
                f"({t}) by value", file=rec.obj.name))
        if _needs_extension(sig):
            import_adapters.append((rec.name, sig))
    export_adapters: list[tuple[str, str, CSig]] = []
    for obj in live.objects:
        if is_linker_object(obj.name):
            continue
        for name, sym, sig in obj.foreign_exports:
            errors.extend(_check_export(live, obj.name, name, sym, sig))
            if _needs_extension(sig):
                export_adapters.append((name, sym, sig))
    exhaustive = options.exhaustive is not None
    plan = FfiPlan(tuple(sigs), call, alloc, free,
                   growth=alloc and not exhaustive and options.closure_growth,
                   self_contained_pools=exhaustive,
                   import_adapters=tuple(import_adapters),
                   export_adapters=tuple(export_adapters), exhaustive=options.exhaustive,
                   linker_funcs=funcs, fallback_host=options.fallback_host)
    return plan, errors


def declared_sigs(live: LiveSet, files: tuple[str, ...],
                  errors: list[Diagnostic]) -> Iterator[tuple[str, CSig, int | None, str]]:
    """Signatures declared for libffi's C API: by IRLD_FFI_SIGNATURE in every
    loaded C object (its "irld.ffi_signatures" section), then by each
    `--ffi-signatures` file, in order; (key, signature, pool N or None, where
    declared)."""
    sources: list[tuple[str, str]] = [(obj.name, obj.ffi_signatures) for obj in live.objects
                                      if obj.ffi_signatures]
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                sources.append((path, f.read()))
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            errors.append(Diagnostic.error(f"cannot read --ffi-signatures file: {reason}",
                                           file=path))
    for where, text in sources:
        for no, line, parsed in parse_lines(text):
            if isinstance(parsed, str):
                errors.append(Diagnostic.error(f"bad C signature '{line}': {parsed}",
                                               file=f"{where}:{no}"))
                continue
            sig, pool = parsed
            bad = empty_by_value(sig)
            if bad:
                errors.append(Diagnostic.error(
                    f"C signature {sig} passes an empty struct ({bad[0]}) by value",
                    file=f"{where}:{no}"))
                continue
            yield sig.key(), sig, pool, where


def _ir_calls_to_libffi(live: LiveSet) -> list[Diagnostic]:
    """IR code that passes signature ids to `ffi_call`/`ffi_closure_*` while those
    names are a C library's (libffi's, whose first argument is a cif or a size):
    it would call them with the wrong arguments, so it is an error."""
    out: list[Diagnostic] = []
    for name, irld_name in ((FFI_CALL, IRLD_CALL), (FFI_CLOSURE_ALLOC, IRLD_CLOSURE_ALLOC)):
        hit = live.live.get(name)
        if hit is None or is_linker_object(hit[0].obj.name) or hit[0].obj.has_ir:
            continue
        for rec, _reason in live.live.values():
            if not (rec.obj.has_ir and rec.sigs and rec.kind is EntityKind.FUNC):
                continue
            if any(sym == name for sym, _edge in rec.refs):
                out.append(Diagnostic.error(
                    f"'{rec.name}' calls {name} with a signature id, but {name} is defined "
                    f"by C in {hit[0].obj.name} (libffi's, which takes a cif)",
                    file=rec.obj.name,
                    notes=[f">>> call {irld_name} instead: the linker's {name} under the "
                           "name that libffi does not take"]))
    return out


def _needs_extension(sig: CSig) -> bool:
    return isinstance(sig.ret, CScalar) and small_int(sig.ret.kind)


def _check_export(live: LiveSet, obj_name: str, name: str, sym: str,
                  sig: CSig) -> list[Diagnostic]:
    for t in empty_by_value(sig):
        return [Diagnostic.error(f"foreign export '{name}': C signature {sig} passes an empty "
                                 f"struct ({t}) by value", file=obj_name)]
    hit = live.live.get(sym)
    if hit is None:
        return []
    rec = hit[0]
    actual = rec.func_type
    want = lower(sig)
    if actual is None:
        return [Diagnostic.error(
            f"foreign export '{name}': '{sym}' is not a function",
            notes=[f">>> defined as {rec.kind.value} in {rec.obj.name}",
                   f">>> exported as C signature {sig} by {obj_name}"])]
    if actual == want:
        return []
    return [Diagnostic.error(
        f"foreign export '{name}': type mismatch: {sym}",
        notes=[f">>> defined as {actual} in {rec.obj.name}",
               f">>> exported with C signature {sig}, which lowers to {want}, by {obj_name}"])]
