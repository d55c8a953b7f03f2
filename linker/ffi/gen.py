"""Code generation of the FFI: call handlers, closure pools, the runtime, adapters.

The writer (`linker.writer`) drives one `FfiEmitter` through the steps of a link:
`func_types` (before the bodies are scanned), `extra_imports`, `declare`
(function indices and globals, after the program's own functions),
`memory_areas` and `table_slots` (layout), `generate` (every body, once the
layout and, in trampoline mode, the drivers are known), `data`, `elements`
and `exports`.  `report` gives the bytes of each piece.

Generated functions (see docs/ffi.md for the memory layout and the ABI):

* `ffi_call(sig, fn, rvalue, avalue)`: a `br_table` on the signature id to
  one call handler per signature; signatures whose marshalling is identical
  (say `sint32(pointer)` and `uint32(sint32)`) share one handler;
* a handler `(fn, rvalue, avalue)` loads each argument through `avalue[i]`
  with its C type's width and extension, copies non-singleton structs to
  the FFI stack (BasicCABI passes them by pointer to a copy), builds the
  variadic buffer, passes `rvalue` as the sret pointer when the result is a
  struct or long double, does one `call_indirect` with the lowered type and
  stores the result into `rvalue` (8/16-bit integers widened to 4 bytes);
* per signature with closures: a shared implementation
  `impl(record, params...)` that stores the arguments on the FFI stack,
  builds the `args` array, calls `fun(sig, ret, args, user_data)` (read
  from the closure record) and loads the result; and a pool of trampolines,
  each `i32.const record; local.get 0..n-1; call impl` (in
  `--ffi=exhaustive` mode each trampoline is instead a complete copy of the
  implementation, as libffi-wasm's generated C is);
* `ffi_closure_alloc(sig, fun, user_data)`: takes a free pool slot of the
  signature, else a freed grown slot of the same wasm type, else asks the
  host for a new table slot (`irld.closure_table_grow`, docs/runtime.md);
  returns the slot's table index, or 0 when nothing is left;
* `ffi_closure_free(code)`: marks the slot's record free;
* `__irld_closure_dispatch_<type>` exports (the growth protocol's
  dispatchers): the implementation itself when one signature has that wasm
  type, else a small function choosing by the record's signature id.

A side module (`linker.shared`) drives the same emitter through `FfiModule`
with a `Pic`: addresses and table slots become offsets from its
``__memory_base`` / ``__table_base``, the stack bounds and the addresses in
the data are set at instantiation (`based_globals`, `data_relocs`), and the
FFI stack goes last in the area so the module's image can omit it.  In an
instrumented link (`linker.tracehooks`) each closure implementation reports
its invocation and result to the ``irld_trace`` closure hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import attrs

from linker.ffi.abi import (EXTEND, Kind, Place, SigLayout, access, handler_frame, impl_frame,
                            sig_layout, small_int)
from linker.ffi.plan import (FALLBACK, FFI_CALL, FFI_CLOSURE_ALLOC, FFI_CLOSURE_FREE, HOST_CALL,
                             IRLD_CALL, IRLD_CLOSURE_ALLOC, IRLD_CLOSURE_FREE, NSIGS,
                             RUNTIME_FUNCS, SIGTAB, TABLE_COPY, TABLE_GROW, FfiPlan, SigPlan,
                             sig_ids_of)
from linker.ir import model as ir
from linker.ir.ctypes import CScalar, CSig, lower
from linker.ir.types import FuncType, ValType
from linker.tracehooks import CLOSURE_HOOK, CLOSURE_RETURN_HOOK
from linker.wasm.instr import FloatBits, InstrBuilder
from linker.wasm.leb128 import uleb
from linker.wasm.module import Export, ExternKind, Function, WasmModule

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64

AREA = "__irld_ffi"                 # the FFI memory area (records, descriptors, stack)
FFI_STACK_SIZE = 65536              # FFI stack + grown closure records, shared
RECORD = 16                         # pool record: sig (0 = free), fun, user_data, unused
GROWN_RECORD = 24                   # grown record: sig, fun, user_data, code, type class, next
DESC = 16                           # descriptor: first record, pool size, type class, template
GROW_MODULE, GROW_FIELD = "irld", "closure_table_grow"
GROW_SYMBOL = "__irld_closure_table_grow"
GROW_TYPE = FuncType((I32, I32), I32)
FUN_TYPE = FuncType((I32, I32, I32, I32), None)       # fun(sig, ret, args, user_data)
HANDLER_TYPE = FuncType((I32, I32, I32), None)        # handler(fn, rvalue, avalue)
DISPATCH_PREFIX = "__irld_closure_dispatch"
HOST_CALL_MODULE, HOST_CALL_FIELD = "irld", "ffi_call_dynamic"
HOST_CALL_SYMBOL = "__irld_ffi_call_dynamic"
HOST_CALL_TYPE = FuncType((I32, I32, I32, I32), None)   # (fn, types, values, key)
SIGTAB_ENTRY = 8                    # (key address, id), sorted by key bytes
# The runtime functions under both of their names (IR's, and irld's libffi's).
_ALIASES = ((FFI_CALL, IRLD_CALL), (FFI_CLOSURE_ALLOC, IRLD_CLOSURE_ALLOC),
            (FFI_CLOSURE_FREE, IRLD_CLOSURE_FREE))
_LETTERS = {I32: "i", I64: "j", F32: "f", F64: "d"}


def dispatch_export(ft: FuncType) -> str:
    """The growth dispatcher's export name (`linker.host.closure_dispatch_export`)."""
    result = "v" if ft.result is None else _LETTERS[ft.result]
    return f"{DISPATCH_PREFIX}_{result}{''.join(_LETTERS[p] for p in ft.params)}"


class FfiModule(Protocol):
    """What the emitter needs of the module it adds functions to: the static
    writer's `WasmModule`, or a side module's index spaces (`linker.shared`)."""

    def type_index(self, ft: FuncType) -> int: ...

    def add_function(self, ft: FuncType, locals: Sequence[ValType] = (), body: bytes = b"",
                     name: str | None = None) -> int: ...

    def function(self, func_index: int) -> Function: ...

    def add_global(self, type: ValType, mutable: bool, init: int | float | FloatBits = 0,
                   name: str | None = None) -> int: ...


@attrs.frozen(slots=True)
class Pic:
    """Position-independent output (a side module): the globals holding
    ``__memory_base`` and ``__table_base``.  Every address the emitter writes is
    then an offset from one of them, added at run time."""

    memory_base: int
    table_base: int


@attrs.frozen(slots=True)
class Drive:
    """Trampoline tail-call mode: after a call that may leave a pending tail
    call, run the driver of its result type (`linker.codegen`)."""

    pending: int
    driver: Callable[[ValType | None], int | None]


# ---------------------------------------------------------------- report


@attrs.frozen(slots=True)
class SigReport:
    id: int
    key: str
    c_type: str
    wasm_type: str
    users: tuple[str, ...]
    handler_bytes: int            # 0 when ffi_call is not live
    handler_shared_with: tuple[int, ...]   # other ids using the same handler
    pool_slots: int
    pool_bytes: int               # trampolines + shared implementation (+ template)
    impl_bytes: int = 0           # the shared implementation alone


@attrs.frozen(slots=True)
class FfiReport:
    """Bytes of everything the FFI added to the module (code, names, table entries, data)."""

    mode: str
    sigs: tuple[SigReport, ...]
    runtime_bytes: int            # ffi_call dispatch, alloc, free, helpers, dispatchers
    adapter_bytes: int
    data_bytes: int               # initialized data (closure descriptors)
    import_bytes: int
    total_bytes: int
    memory_bytes: int             # the reserved FFI memory area
    stack_bytes: int
    functions: int
    # "ffi_call" under LTO: the handlers are branches of ffi_call (each signature's
    # `handler_bytes` is its branch; `runtime_bytes` is the rest of ffi_call).
    handlers_in: str | None = None

    @property
    def handler_bytes(self) -> int:
        seen: dict[tuple[int, ...], int] = {}
        for s in self.sigs:
            seen.setdefault(tuple(sorted((s.id, *s.handler_shared_with))), s.handler_bytes)
        return sum(seen.values())

    @property
    def pool_bytes(self) -> int:
        return sum(s.pool_bytes for s in self.sigs)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "mode": self.mode, "total_bytes": self.total_bytes,
            "runtime_bytes": self.runtime_bytes, "adapter_bytes": self.adapter_bytes,
            "data_bytes": self.data_bytes, "import_bytes": self.import_bytes,
            "memory_bytes": self.memory_bytes, "stack_bytes": self.stack_bytes,
            "functions": self.functions,
            "signatures": [attrs.asdict(s) for s in self.sigs],
        }
        if self.handlers_in is not None:
            out["handlers_in"] = self.handlers_in
        return out


# ---------------------------------------------------------------- shapes


def handler_shape(lay: SigLayout) -> tuple[object, ...]:
    """Everything a call handler's code depends on: equal shapes, equal code."""
    def p(pl: Place) -> tuple[object, ...]:
        acc = None if pl.scalar is None or pl.kind is not Kind.SCALAR else access(pl.scalar).load
        return (pl.kind, acc, pl.offset, pl.size, pl.align)
    res: object = None
    if lay.result is not None:
        r = lay.result
        assert r.scalar is not None
        plain = isinstance(r.ctype, CScalar)
        res = (plain, access(r.scalar).store, EXTEND.get(r.scalar) if plain else None, r.offset)
    var = tuple((p(v.place), v.offset, v.promote) for v in lay.var)
    return (lower(lay.sig), lay.sret, res, tuple(p(x) for x in lay.params),
            lay.sig.nfixed is not None, var, lay.var_size)


class _Fn:
    """A generated function: its index and the locals the body uses beyond the params."""

    def __init__(self, nparams: int) -> None:
        self.b = InstrBuilder()
        self.nparams = nparams
        self.locals: list[ValType] = []
        self.frame = -1

    def local(self, t: ValType) -> int:
        self.locals.append(t)
        return self.nparams + len(self.locals) - 1

    def frame_local(self) -> int:
        """The frame pointer's local: one per function, however many frames it has
        (the handlers folded into `ffi_call` each set it before using it)."""
        if self.frame < 0:
            self.frame = self.local(I32)
        return self.frame


# ---------------------------------------------------------------- emitter


class FfiEmitter:
    def __init__(self, plan: FfiPlan, mod: FfiModule, funcs: dict[str, int],
                 pic: Pic | None = None) -> None:
        self.plan = plan
        self.mod = mod
        self.pic = pic
        # PIC: global index -> its memory offset; the side module sets it to base + offset.
        self.based_globals: dict[int, int] = {}
        self.funcs = funcs          # the emitter's symbol -> function index map
        self.layouts = {s.id: sig_layout(s.sig) for s in plan.sigs}
        self.closure_sigs: list[SigPlan] = list(plan.sigs) if plan.alloc else []
        self.handler_of: dict[int, int] = {}          # sig id -> handler function index
        self.handler_ids: dict[int, list[int]] = {}   # handler index -> sig ids
        self.impl_of: dict[int, int] = {}
        self.tramps: dict[int, list[int]] = {}        # sig id -> trampoline function indices
        self.template_of: dict[int, int] = {}         # sig id -> template function (pool 0)
        self.dispatchers: dict[FuncType, int] = {}
        self.tclass: dict[FuncType, int] = {}
        self.export_override: dict[str, int] = {}
        self.adapters: list[int] = []
        self.runtime: list[int] = []
        self.globals: dict[str, int] = {}
        self.table_funcs: list[int] = []
        self.table_base = 0
        self.area = 0
        self.drive: Drive | None = None
        self.records = 0
        self._pending_adapters: list[tuple[int, int, FuncType, CSig]] = []
        self._export_targets: dict[int, str] = {}
        self.grow_import = -1
        self.host_import = -1
        self.entry: dict[str, int] = {}   # runtime function (IR's name) -> its index
        self.alloca = -1
        self.copy = -1
        self.lto = plan.lto
        # Under LTO the handlers are branches of ffi_call: handler "indices" are then
        # -1, -2, ... and their bytes (in ffi_call's body) are in `folded_bytes`.
        self.fold = plan.lto is not None
        self.folded_bytes: dict[int, int] = {}
        self.symref: Callable[[str, int], int] | None = None
        total = sum(s.pool for s in self.closure_sigs)
        self.total_pool = total
        self.needs_stack = bool(self.closure_sigs) or (plan.call and any(
            handler_frame(self.layouts[s.id])[0] > 0 for s in plan.sigs))
        self.needs_copy = any(
            any(p.kind is Kind.INDIRECT for p in lay.params)
            or any(v.place.kind is Kind.INDIRECT for v in lay.var)
            for lay in self.layouts.values()) and plan.call

    # ------------------------------------------------------------ steps

    def func_types(self) -> dict[str, FuncType]:
        """Types of the runtime functions the program can call."""
        return {name: ft for name, ft in self._runtime_types().items()
                if name in self.plan.linker_funcs}

    def _runtime_types(self) -> dict[str, FuncType]:
        types = dict(RUNTIME_FUNCS)
        if self.lto is not None and self.lto.alloc_args:     # LTO moved constants in
            types[FFI_CLOSURE_ALLOC] = self.lto.alloc_type()
        return types

    def extra_imports(self) -> list[tuple[str, str, str, FuncType]]:
        out = []
        if self.plan.growth:
            out.append((GROW_SYMBOL, GROW_MODULE, GROW_FIELD, GROW_TYPE))
        if self.plan.fallback_host and HOST_CALL in self.plan.linker_funcs:
            out.append((HOST_CALL_SYMBOL, HOST_CALL_MODULE, HOST_CALL_FIELD, HOST_CALL_TYPE))
        return out

    def declare(self) -> None:
        """Add every FFI function (bodies come in `generate`) and the FFI globals."""
        mod, plan = self.mod, self.plan
        if plan.growth:
            self.grow_import = self.funcs[GROW_SYMBOL]
        if plan.fallback_host and HOST_CALL in plan.linker_funcs:
            self.host_import = self.funcs[HOST_CALL_SYMBOL]
        for sym, sig in plan.import_adapters:
            ft = lower(sig)
            raw = self.funcs[sym]
            idx = mod.add_function(ft, name=f"__irld_ffi_adapter:{sym}")
            self.adapters.append(idx)
            self.funcs[sym] = idx
            self._pending_adapters.append((idx, raw, ft, sig))
        for name, sym, sig in plan.export_adapters:
            ft = lower(sig)
            idx = mod.add_function(ft, name=f"__irld_ffi_export:{name}")
            self.adapters.append(idx)
            self.export_override[name] = idx
            self._pending_adapters.append((idx, -1, ft, sig))
            self._export_targets[idx] = sym
        if not plan.runtime_live:
            return
        if self.needs_stack:
            self.globals["sp"] = mod.add_global(I32, True, 0, name="__irld_ffi_sp")
            if self.lto is None or plan.growth:     # else the bound is a constant
                self.globals["lo"] = mod.add_global(I32, True, 0, name="__irld_ffi_lo")
            if self.lto is None:                     # else expanded where used
                self.alloca = self._add_runtime(FuncType((I32,), I32), "__irld_ffi_alloca")
        if plan.growth:
            self.globals["grown"] = mod.add_global(I32, True, 0, name="__irld_ffi_grown")
        if self.needs_copy:
            self.copy = self._add_runtime(FuncType((I32, I32, I32), I32), "__irld_ffi_copy")
        types = self._runtime_types()
        for names in _ALIASES:
            live = [n for n in names if n in plan.linker_funcs]
            if live:
                idx = self._add_runtime(types[live[0]], live[0])
                self.entry[names[0]] = idx
                for n in live:
                    self.funcs[n] = idx
        for name in (SIGTAB, NSIGS, TABLE_COPY, TABLE_GROW, FALLBACK, HOST_CALL):
            if name in plan.linker_funcs:
                self.funcs[name] = self.entry[name] = self._add_runtime(types[name], name)
        if plan.call:
            shapes: dict[tuple[object, ...], int] = {}
            for s in plan.sigs:
                shape = handler_shape(self.layouts[s.id])
                hidx = shapes.get(shape)
                if hidx is None and self.fold:
                    hidx = -1 - len(shapes)
                elif hidx is None:
                    hidx = mod.add_function(HANDLER_TYPE, name=f"__irld_ffi_call:{s.key}")
                if hidx not in self.handler_ids:
                    shapes[shape] = hidx
                    self.handler_ids[hidx] = []
                self.handler_of[s.id] = hidx
                self.handler_ids[hidx].append(s.id)
        for s in self.closure_sigs:
            ft = s.lowered
            self.tclass.setdefault(ft, len(self.tclass) + 1)
            # A pool of 0 that cannot grow never runs the implementation.
            if not plan.self_contained_pools and (s.pool > 0 or plan.growth):
                impl_t = FuncType((I32, *ft.params), ft.result)
                self.impl_of[s.id] = mod.add_function(impl_t, name=f"__irld_closure:{s.key}")
            self.tramps[s.id] = [mod.add_function(ft, name=f"__irld_closure:{s.id}.{k}")
                                 for k in range(s.pool)]
        for s in self.closure_sigs:
            if s.pool == 0 and plan.growth:
                self.template_of[s.id] = mod.add_function(
                    s.lowered, name=f"__irld_closure_template:{s.id}")
        self.table_funcs = [f for s in self.closure_sigs for f in self.tramps[s.id]]
        self.table_funcs += [self.template_of[s.id] for s in self.closure_sigs
                             if s.id in self.template_of]
        if plan.growth:
            groups: dict[FuncType, list[SigPlan]] = {}
            for s in self.closure_sigs:
                groups.setdefault(s.lowered, []).append(s)
            for ft, group in groups.items():
                if len(group) == 1:
                    self.dispatchers[ft] = self.impl_of[group[0].id]
                else:
                    self.dispatchers[ft] = self._add_runtime(
                        FuncType((I32, *ft.params), ft.result), dispatch_export(ft))

    def _add_runtime(self, ft: FuncType, name: str) -> int:
        idx = self.mod.add_function(ft, name=name)
        self.runtime.append(idx)
        return idx

    @property
    def table_slots(self) -> int:
        return len(self.table_funcs)

    def memory_areas(self) -> list[tuple[str, int, int]]:
        if not self.needs_stack and not self.closure_sigs and not self.sigtab_size:
            return []
        return [(AREA, self.area_size, 16)]

    @property
    def sigtab_size(self) -> int:
        """The sorted (key, id) table irld's libffi searches, and the keys."""
        if SIGTAB not in self.plan.linker_funcs:
            return 0
        return sum(SIGTAB_ENTRY + len(s.key) + 1 for s in self.plan.sigs)

    @property
    def sigtab_offset(self) -> int:
        if self.pic is not None:       # PIC: the stack last (`stack_offset`)
            return self.desc_size + RECORD * self.total_pool
        return self.desc_size + RECORD * self.total_pool + (FFI_STACK_SIZE if self.needs_stack
                                                            else 0)

    @property
    def stack_offset(self) -> int:
        """Where the FFI region (grown records, the stack) starts in the area.  A side
        module puts it last, so its data image can leave those 64 KiB out: nothing
        there is read before it is written."""
        if self.pic is not None:
            return self.desc_size + RECORD * self.total_pool + self.sigtab_size
        return self.desc_size + RECORD * self.total_pool

    def stack_range(self) -> tuple[int, int] | None:
        """The FFI region's [start, end) in memory, once `generate` ran; None without one."""
        if not self.needs_stack:
            return None
        start = self.area + self.stack_offset
        return start, start + FFI_STACK_SIZE

    def sigtab_bytes(self) -> bytes:
        base = self.area + self.sigtab_offset
        ordered = sorted(self.plan.sigs, key=lambda s: s.key.encode())
        keys = base + SIGTAB_ENTRY * len(ordered)
        table, strings = bytearray(), bytearray()
        for s in ordered:
            table += (keys + len(strings)).to_bytes(4, "little") + s.id.to_bytes(4, "little")
            strings += s.key.encode() + b"\0"
        return bytes(table + strings)

    @property
    def desc_size(self) -> int:
        return DESC * len(self.plan.sigs) if self.closure_sigs else 0

    @property
    def area_size(self) -> int:
        if self.pic is not None:
            return self.stack_offset + (FFI_STACK_SIZE if self.needs_stack else 0)
        return self.sigtab_offset + self.sigtab_size

    # ------------------------------------------------------------ generation

    def generate(self, addresses: Mapping[str, int], table_base: int,
                 drive: Drive | None, symref: Callable[[str, int], int] | None = None
                 ) -> None:
        """Write every body; `table_base` is the table index of the first FFI slot;
        `symref` resolves the `@sym` constants LTO moved into ffi_closure_alloc."""
        self.table_base = table_base
        self.symref = symref
        self.drive = drive
        self.area = addresses.get(AREA, 0)
        self.records = self.area + self.desc_size
        region = self.area + self.stack_offset
        if self.needs_stack:
            self._init_address(self.globals["sp"], region + FFI_STACK_SIZE)
            if "lo" in self.globals:
                self._init_address(self.globals["lo"], region)
        for idx, raw, ft, sig in self._pending_adapters:
            target = raw if raw >= 0 else self.funcs[self._export_targets[idx]]
            self._set(idx, *self._adapter(ft, sig, target))
        if not self.plan.runtime_live:
            return
        if self.alloca >= 0:
            self._set(self.alloca, *self._gen_alloca())
        if self.copy >= 0:
            self._set(self.copy, *self._gen_copy())
        self._gen_libffi_support()
        if self.plan.call and self.fold:
            self._set(self.entry[FFI_CALL], *self._gen_ffi_call_folded())
        elif self.plan.call:
            self._set(self.entry[FFI_CALL], *self._gen_ffi_call())
            for idx, ids in self.handler_ids.items():
                self._set(idx, *self._gen_handler(self.layouts[ids[0]]))
        slot = 0
        for s in self.closure_sigs:
            lay = self.layouts[s.id]
            if s.id in self.impl_of:
                self._set(self.impl_of[s.id], *self._gen_impl(s, lay, None))
            for k, fidx in enumerate(self.tramps[s.id]):
                rec = self.records + RECORD * (slot + k)
                if self.plan.self_contained_pools:
                    self._set(fidx, *self._gen_impl(s, lay, rec))
                else:
                    self._set(fidx, *self._gen_trampoline(s, rec))
            slot += s.pool
            if s.id in self.template_of:
                b = InstrBuilder()
                b.unreachable()
                self._set(self.template_of[s.id], [], b.finish())
        for ft, idx in self.dispatchers.items():
            if idx in self.runtime:
                self._set(idx, *self._gen_dispatcher(ft))
        if self.plan.alloc:
            self._set(self.entry[FFI_CLOSURE_ALLOC], *self._gen_alloc())
        if self.plan.free:
            self._set(self.entry[FFI_CLOSURE_FREE], *self._gen_free())

    def _init_address(self, idx: int, address: int) -> None:
        if self.pic is not None:
            self.based_globals[idx] = address
        else:
            assert isinstance(self.mod, WasmModule)
            self.mod.globals[idx].init = address

    def _mem(self, b: InstrBuilder, address: int) -> None:
        """Push a memory address: a constant, or PIC's ``__memory_base + address``."""
        self._based(b, address, None if self.pic is None else self.pic.memory_base)

    def _slot(self, b: InstrBuilder, index: int) -> None:
        """Push a table index: a constant, or PIC's ``__table_base + index``."""
        self._based(b, index, None if self.pic is None else self.pic.table_base)

    @staticmethod
    def _based(b: InstrBuilder, value: int, base: int | None) -> None:
        if base is None:
            b.i32_const(value)
            return
        b.global_get(base)
        if value:
            b.i32_const(value)
            b.op("i32.add")

    def _set(self, idx: int, locals_: list[ValType], body: bytes) -> None:
        fn = self.mod.function(idx)
        fn.locals = list(locals_)
        fn.body = body

    def _gen_libffi_support(self) -> None:
        """What irld's libffi calls besides the dispatchers (docs/ffi.md)."""
        for name, idx in self.entry.items():
            b = InstrBuilder()
            match name:
                case "__irld_ffi_sigtab":
                    self._mem(b, self.area + self.sigtab_offset)
                case "__irld_ffi_nsigs":
                    b.i32_const(len(self.plan.sigs))
                case "__irld_ffi_fallback":
                    b.i32_const(1 if self.host_import >= 0 else 0)
                case "__irld_table_copy":
                    b.local_get(0)
                    b.local_get(1)
                    b.raw(bytes((0x25, 0)))              # table.get 0
                    b.raw(bytes((0x26, 0)))              # table.set 0
                case "__irld_table_grow":
                    b.raw(bytes((0xD0, 0x70)))           # ref.null func
                    b.local_get(0)
                    b.raw(bytes((0xFC, 15, 0)))          # table.grow 0
                case "__irld_ffi_host_call":
                    if self.host_import < 0:
                        b.unreachable()                  # no --ffi-fallback=host
                    else:
                        for i in range(4):
                            b.local_get(i)
                        b.call(self.host_import)
                case _:
                    continue
            self._set(idx, [], b.finish())

    def data(self) -> list[tuple[int, bytes]]:
        """Initialized FFI memory: the closure descriptors and the signature
        table (address, bytes)."""
        out_tab = [(self.area + self.sigtab_offset, self.sigtab_bytes())] if self.sigtab_size \
            else []
        return self._descriptors() + out_tab

    def _descriptors(self) -> list[tuple[int, bytes]]:
        if not self.closure_sigs:
            return []
        out = bytearray()
        slot, tslot = 0, self.total_pool
        for s in self.plan.sigs:
            template = 0
            if s.pool > 0:
                template = self.table_base + slot
            elif s.id in self.template_of:
                template = self.table_base + tslot
                tslot += 1
            for v in (self.records + RECORD * slot, s.pool, self.tclass[s.lowered], template):
                out += (v & 0xFFFFFFFF).to_bytes(4, "little")
            slot += s.pool
        return [(self.area, bytes(out))]

    def data_relocs(self) -> list[tuple[int, bool]]:
        """The words of `data` that hold an address: (address, is a table index).
        A side module adds its ``__memory_base`` or ``__table_base`` to each."""
        out: list[tuple[int, bool]] = []
        if self.closure_sigs:
            for i, s in enumerate(self.plan.sigs):
                out.append((self.area + DESC * i, False))
                if s.pool > 0 or s.id in self.template_of:
                    out.append((self.area + DESC * i + 12, True))
        if self.sigtab_size:
            base = self.area + self.sigtab_offset
            out += [(base + SIGTAB_ENTRY * k, False) for k in range(len(self.plan.sigs))]
        return out

    def exports(self) -> list[Export]:
        return [Export(dispatch_export(ft), ExternKind.FUNC, idx)
                for ft, idx in self.dispatchers.items()]

    # ------------------------------------------------------------ pieces

    def _adapter(self, ft: FuncType, sig: CSig, target: int) -> tuple[list[ValType], bytes]:
        b = InstrBuilder()
        for i in range(len(ft.params)):
            b.local_get(i)
        b.call(target)
        assert isinstance(sig.ret, CScalar)
        _extend(b, EXTEND[sig.ret.kind])
        return [], b.finish()

    def _gen_alloca(self) -> tuple[list[ValType], bytes]:
        # (n) -> p: sp -= n; trap when the stack would run into the grown records.
        sp, lo = self.globals["sp"], self.globals["lo"]
        b = InstrBuilder()
        b.global_get(sp)
        b.local_get(0)
        b.op("i32.sub")
        b.local_tee(1)
        b.global_get(lo)
        b.op("i32.lt_u")
        b.if_()
        b.unreachable()
        b.end()
        b.local_get(1)
        b.global_set(sp)
        b.local_get(1)
        return [I32], b.finish()

    def _gen_copy(self) -> tuple[list[ValType], bytes]:
        # (dst, src, n) -> dst, byte by byte from the end.
        b = InstrBuilder()
        b.block()
        b.loop()
        b.local_get(2)
        b.op("i32.eqz")
        b.br_if(1)
        b.local_get(2)
        b.i32_const(1)
        b.op("i32.sub")
        b.local_set(2)
        b.local_get(0)
        b.local_get(2)
        b.op("i32.add")
        b.local_get(1)
        b.local_get(2)
        b.op("i32.add")
        b.op("i32.load8_u")
        b.op("i32.store8")
        b.br(0)
        b.end()
        b.end()
        b.local_get(0)
        return [], b.finish()

    def _gen_ffi_call(self) -> tuple[list[ValType], bytes]:
        handlers = list(self.handler_ids)
        m = len(handlers)
        depth = {h: i for i, h in enumerate(handlers)}
        b = InstrBuilder()
        for _ in range(m + 1):
            b.block()
        b.local_get(0)
        table = [m] + [depth[self.handler_of[s.id]] for s in self.plan.sigs]
        b.br_table(table, m)
        b.end()
        for h in handlers:
            b.local_get(1)
            b.local_get(2)
            b.local_get(3)
            b.call(h)
            b.return_()
            b.end()
        b.unreachable()   # an unknown signature id
        return [], b.finish()

    def _gen_ffi_call_folded(self) -> tuple[list[ValType], bytes]:
        """LTO's `ffi_call`: a `br_table` on the signature id to the handlers'
        code inlined as its branches.  An unknown id lands on the innermost branch,
        `unreachable`, and the last handler needs no `return`."""
        handlers = list(self.handler_ids)
        m = len(handlers)
        depth = {h: i + 1 for i, h in enumerate(handlers)}
        fn = _Fn(4)
        b = fn.b
        for _ in range(m + 1):
            b.block()
        b.local_get(0)
        b.br_table([0] + [depth[self.handler_of[s.id]] for s in self.plan.sigs], 0)
        b.end()
        b.unreachable()
        for k, h in enumerate(handlers):
            b.end()
            start = len(b)
            self._handler_body(fn, self.layouts[self.handler_ids[h][0]], 1)
            if k < m - 1:
                b.return_()
            self.folded_bytes[h] = len(b) - start + 1       # and its `end`
        return fn.locals, b.finish()

    def _alloca(self, fn: _Fn, size: int, dest: int) -> None:
        """dest := the FFI stack pointer lowered by `size`, trapping when the stack
        would run into the grown records: a call of `__irld_ffi_alloca`, or under
        LTO its code."""
        b = fn.b
        if self.alloca >= 0:
            b.i32_const(size)
            b.call(self.alloca)
            b.local_set(dest)
            return
        sp = self.globals["sp"]
        b.global_get(sp)
        b.i32_const(size)
        b.op("i32.sub")
        b.local_tee(dest)
        b.global_set(sp)
        b.local_get(dest)
        self._stack_lo(b)
        b.op("i32.lt_u")
        b.if_()
        b.unreachable()
        b.end()

    def _stack_lo(self, b: InstrBuilder) -> None:
        lo = self.globals.get("lo")
        if lo is not None:
            b.global_get(lo)
        else:
            self._mem(b, self.area + self.stack_offset)

    def _gen_handler(self, lay: SigLayout) -> tuple[list[ValType], bytes]:
        fn = _Fn(3)
        self._handler_body(fn, lay, 0)
        return fn.locals, fn.b.finish()

    def _handler_body(self, fn: _Fn, lay: SigLayout, p0: int) -> None:
        """A handler's code; its parameters (fn, rvalue, avalue) are locals p0..p0+2."""
        b = fn.b
        frame, copies, vbase, vcopies = handler_frame(lay)
        F = fn.frame_local() if frame else -1
        if frame:
            self._alloca(fn, frame, F)
        if lay.result is not None:
            b.local_get(p0 + 1)
        if lay.sret:
            b.local_get(p0 + 1)

        def arg_ptr(i: int) -> None:
            b.local_get(p0 + 2)
            b.op("i32.load", 4 * i)

        def frame_addr(off: int) -> None:
            b.local_get(F)
            if off:
                b.i32_const(off)
                b.op("i32.add")

        for i, p in enumerate(lay.params):
            match p.kind:
                case Kind.SCALAR:
                    assert p.scalar is not None
                    arg_ptr(i)
                    b.op(access(p.scalar).load, p.offset)
                case Kind.LONGDOUBLE:
                    arg_ptr(i)
                    b.op("i64.load", p.offset)
                    arg_ptr(i)
                    b.op("i64.load", p.offset + 8)
                case Kind.INDIRECT:
                    frame_addr(copies[i])
                    arg_ptr(i)
                    b.i32_const(p.size)
                    b.call(self.copy)
                case Kind.EMPTY:
                    pass
        if lay.sig.nfixed is not None:
            nfixed = lay.sig.nfixed
            for j, v in enumerate(lay.var):
                p, so = v.place, vbase + v.offset
                i = nfixed + j
                match p.kind:
                    case Kind.SCALAR:
                        assert p.scalar is not None
                        acc = access(p.scalar)
                        b.local_get(F)
                        arg_ptr(i)
                        b.op(acc.load, p.offset)
                        if v.promote:
                            b.op("f64.promote_f32")
                            b.op("f64.store", so)
                        elif small_int(p.scalar):
                            b.op("i32.store", so)
                        else:
                            b.op(acc.store, so)
                    case Kind.LONGDOUBLE:
                        for half in (0, 8):
                            b.local_get(F)
                            arg_ptr(i)
                            b.op("i64.load", p.offset + half)
                            b.op("i64.store", so + half)
                    case Kind.INDIRECT:
                        b.local_get(F)
                        frame_addr(vcopies[j])
                        arg_ptr(i)
                        b.i32_const(p.size)
                        b.call(self.copy)
                        b.op("i32.store", so)
                    case Kind.EMPTY:
                        pass
            frame_addr(vbase)
        ft = lower(lay.sig)
        b.local_get(p0)
        b.call_indirect(self.mod.type_index(ft))
        self._after_call(fn, ft.result)
        if lay.result is not None:
            r = lay.result
            assert r.scalar is not None
            if isinstance(r.ctype, CScalar) and small_int(r.scalar):
                _extend(b, EXTEND[r.scalar])
                b.op("i32.store")
            else:
                b.op(access(r.scalar).store, r.offset)
        if frame:
            b.local_get(F)
            b.i32_const(frame)
            b.op("i32.add")
            b.global_set(self.globals["sp"])

    def _after_call(self, fn: _Fn, result: ValType | None) -> None:
        """Trampoline mode: finish a tail call the callee left pending."""
        d = self.drive
        if d is None:
            return
        driver = d.driver(result)
        if driver is None:
            return
        b = fn.b
        if result is None:
            b.global_get(d.pending)
            b.if_()
            b.call(driver)
            b.end()
            return
        tmp = fn.local(result)
        b.local_set(tmp)
        b.global_get(d.pending)
        b.if_()
        b.call(driver)
        b.local_set(tmp)
        b.end()
        b.local_get(tmp)

    def _gen_impl(self, s: SigPlan, lay: SigLayout,
                  rec: int | None) -> tuple[list[ValType], bytes]:
        """The closure implementation; `rec` None: shared, the record is param 0;
        else a self-contained trampoline for the record at `rec`."""
        ft = s.lowered
        n = len(ft.params)
        if rec is None:
            fn = _Fn(n + 1)
            R, base = 0, 1
        else:
            fn = _Fn(n)
            R, base = fn.local(I32), 0
        b = fn.b
        F = fn.local(I32)
        frame, roff, slots, dslots = impl_frame(lay)
        if rec is not None:
            self._mem(b, rec)
            b.local_set(R)
        self._alloca(fn, frame, F)

        def set_arg(i: int, off: int) -> None:
            # args[i] = F + off
            b.local_get(F)
            b.local_get(F)
            if off:
                b.i32_const(off)
                b.op("i32.add")
            b.op("i32.store", 4 * i)

        wp = base + (1 if lay.sret else 0)
        for i, p in enumerate(lay.params):
            match p.kind:
                case Kind.SCALAR:
                    assert p.scalar is not None
                    b.local_get(F)
                    b.local_get(wp)
                    b.op(access(p.scalar).store, slots[i] + p.offset)
                    set_arg(i, slots[i])
                    wp += 1
                case Kind.LONGDOUBLE:
                    for half in (0, 8):
                        b.local_get(F)
                        b.local_get(wp)
                        b.op("i64.store", slots[i] + p.offset + half)
                        wp += 1
                    set_arg(i, slots[i])
                case Kind.INDIRECT:
                    b.local_get(F)
                    b.local_get(wp)
                    b.op("i32.store", 4 * i)
                    wp += 1
                case Kind.EMPTY:
                    set_arg(i, 0)
        if lay.sig.nfixed is not None:
            vb = wp
            nfixed = lay.sig.nfixed
            for j, v in enumerate(lay.var):
                i = nfixed + j
                b.local_get(F)
                if v.place.kind is Kind.INDIRECT:
                    b.local_get(vb)
                    b.op("i32.load", v.offset)
                elif v.promote:
                    b.local_get(F)
                    b.local_get(vb)
                    b.op("f64.load", v.offset)
                    b.op("f32.demote_f64")
                    b.op("f32.store", dslots[j])
                    b.local_get(F)
                    b.i32_const(dslots[j])
                    b.op("i32.add")
                else:
                    b.local_get(vb)
                    if v.offset:
                        b.i32_const(v.offset)
                        b.op("i32.add")
                b.op("i32.store", 4 * i)
        def ret_pointer() -> None:
            # where the handler writes its result: the caller's sret buffer, or the frame
            if lay.sret:
                b.local_get(base)
            else:
                b.local_get(F)
                if roff > 0:
                    b.i32_const(roff)
                    b.op("i32.add")

        b.i32_const(s.id)
        ret_pointer()
        b.local_get(F)
        b.local_get(R)
        b.op("i32.load", 8)
        b.local_get(R)
        b.op("i32.load", 4)
        hook = self.funcs.get(CLOSURE_HOOK)
        if hook is not None:      # --instrument: closure(sig, fun, args, user_data)
            b.i32_const(s.id)
            b.local_get(R)
            b.op("i32.load", 4)
            b.local_get(F)
            b.local_get(R)
            b.op("i32.load", 8)
            b.call(hook)
        b.call_indirect(self.mod.type_index(FUN_TYPE))
        self._after_call(fn, None)
        hook = self.funcs.get(CLOSURE_RETURN_HOOK)
        if hook is not None:      # closure_return(sig, ret)
            b.i32_const(s.id)
            ret_pointer()
            b.call(hook)
        if lay.result is not None:
            r = lay.result
            assert r.scalar is not None
            b.local_get(F)
            if isinstance(r.ctype, CScalar) and small_int(r.scalar):
                b.op("i32.load", roff)
                _extend(b, EXTEND[r.scalar])
            else:
                b.op(access(r.scalar).load, roff + r.offset)
        b.local_get(F)
        b.i32_const(frame)
        b.op("i32.add")
        b.global_set(self.globals["sp"])
        return fn.locals, b.finish()

    def _gen_trampoline(self, s: SigPlan, rec: int) -> tuple[list[ValType], bytes]:
        b = InstrBuilder()
        self._mem(b, rec)
        for i in range(len(s.lowered.params)):
            b.local_get(i)
        b.call(self.impl_of[s.id])
        return [], b.finish()

    def _gen_dispatcher(self, ft: FuncType) -> tuple[list[ValType], bytes]:
        group = [s for s in self.closure_sigs if s.lowered == ft]
        b = InstrBuilder()
        n = len(ft.params) + 1
        for s in group[:-1]:
            b.local_get(0)
            b.op("i32.load")
            b.i32_const(s.id)
            b.op("i32.eq")
            b.if_()
            for i in range(n):
                b.local_get(i)
            b.call(self.impl_of[s.id])
            b.return_()
            b.end()
        for i in range(n):
            b.local_get(i)
        b.call(self.impl_of[group[-1].id])
        return [], b.finish()

    def _claim(self, b: InstrBuilder, r: int) -> None:
        # record r := (sig, fun, user_data)
        for off, param in ((0, 0), (4, 1), (8, 2)):
            b.local_get(r)
            self._alloc_arg(b, param)
            b.op("i32.store", off)

    def _alloc_arg(self, b: InstrBuilder, k: int) -> None:
        """Push ffi_closure_alloc's argument k: its parameter, or the constant LTO
        moved in (`FfiLto.alloc_args`)."""
        moved = self.lto.alloc_args if self.lto is not None else ()
        if not moved:
            b.local_get(k)
            return
        c = moved[k]
        if c is None:
            b.local_get(sum(1 for a in moved[:k] if a is None))
        elif isinstance(c, ir.Const):
            b.i32_const(int(c.value))
        else:
            assert isinstance(c, ir.SymRef) and self.symref is not None
            b.i32_const(self.symref(c.symbol, c.offset))

    def _alloc_params(self) -> int:
        moved = self.lto.alloc_args if self.lto is not None else ()
        return sum(1 for a in moved if a is None) if moved else 3

    def _alloc_sig_test(self, b: InstrBuilder, nsigs: int) -> None:
        """Return 0 for an id outside 1..nsigs, else push its descriptor's address.
        With one signature (the common case) the test is `sig != 1` and its
        descriptor a constant."""
        self._alloc_arg(b, 0)
        b.i32_const(1)
        if nsigs == 1:
            b.op("i32.ne")
        else:
            b.op("i32.sub")
            b.i32_const(nsigs)
            b.op("i32.ge_u")
        b.if_()
        b.i32_const(0)
        b.return_()
        b.end()
        if nsigs == 1:
            self._mem(b, self.area)
        else:
            self._alloc_arg(b, 0)
            b.i32_const(4)
            b.op("i32.shl")
            self._mem(b, self.area - DESC)
            b.op("i32.add")

    def _gen_alloc(self) -> tuple[list[ValType], bytes]:
        # (sig, fun, user_data) -> code; locals: d (descriptor), r (record), e (end / code)
        n = self._alloc_params()
        d, r, e = n, n + 1, n + 2
        b = InstrBuilder()
        nsigs = len(self.plan.sigs)
        known = self.lto.alloc_sig if self.lto is not None else None
        if known is not None and 1 <= known <= nsigs:
            # Every call passes this valid id: no test, its descriptor a constant.
            self._mem(b, self.area + DESC * (known - 1))
        else:
            self._alloc_sig_test(b, nsigs)
        b.local_tee(d)
        b.op("i32.load")
        b.local_tee(r)
        b.local_get(d)
        b.op("i32.load", 4)
        b.i32_const(4)
        b.op("i32.shl")
        b.op("i32.add")
        b.local_set(e)
        # A free pool slot of this signature.
        b.block()
        b.loop()
        b.local_get(r)
        b.local_get(e)
        b.op("i32.ge_u")
        b.br_if(1)
        b.local_get(r)
        b.op("i32.load")
        b.op("i32.eqz")
        b.if_()
        self._claim(b, r)
        b.local_get(r)
        self._mem(b, self.records)
        b.op("i32.sub")
        b.i32_const(4)
        b.op("i32.shr_u")
        self._slot(b, self.table_base)
        b.op("i32.add")
        b.return_()
        b.end()
        b.local_get(r)
        b.i32_const(RECORD)
        b.op("i32.add")
        b.local_set(r)
        b.br(0)
        b.end()
        b.end()
        if not self.plan.growth:
            b.i32_const(0)
            return [I32, I32, I32], b.finish()
        grown, sp, lo = self.globals["grown"], self.globals["sp"], self.globals["lo"]
        # A freed grown slot of the same wasm type (type class).
        b.global_get(grown)
        b.local_set(r)
        b.block()
        b.loop()
        b.local_get(r)
        b.op("i32.eqz")
        b.br_if(1)
        b.local_get(r)
        b.op("i32.load")
        b.op("i32.eqz")
        b.if_()
        b.local_get(r)
        b.op("i32.load", 16)
        b.local_get(d)
        b.op("i32.load", 8)
        b.op("i32.eq")
        b.if_()
        self._claim(b, r)
        b.local_get(r)
        b.op("i32.load", 12)
        b.return_()
        b.end()
        b.end()
        b.local_get(r)
        b.op("i32.load", 20)
        b.local_set(r)
        b.br(0)
        b.end()
        b.end()
        # A new record below the FFI stack, and a new table slot from the host.
        b.global_get(lo)
        b.local_tee(r)
        b.i32_const(GROWN_RECORD)
        b.op("i32.add")
        b.global_get(sp)
        b.op("i32.gt_u")
        b.if_()
        b.i32_const(0)
        b.return_()
        b.end()
        b.local_get(d)
        b.op("i32.load", 12)
        b.local_get(r)
        b.call(self.grow_import)
        b.local_tee(e)
        b.op("i32.eqz")
        b.if_()
        b.i32_const(0)
        b.return_()
        b.end()
        b.local_get(r)
        b.i32_const(GROWN_RECORD)
        b.op("i32.add")
        b.global_set(lo)
        b.local_get(r)
        b.local_get(e)
        b.op("i32.store", 12)
        b.local_get(r)
        b.local_get(d)
        b.op("i32.load", 8)
        b.op("i32.store", 16)
        b.local_get(r)
        b.global_get(grown)
        b.op("i32.store", 20)
        b.local_get(r)
        b.global_set(grown)
        self._claim(b, r)
        b.local_get(e)
        return [I32, I32, I32], b.finish()

    def _gen_free(self) -> tuple[list[ValType], bytes]:
        # (code): mark its record free and forget fun, so a stale call traps.
        b = InstrBuilder()
        # Under LTO without growth the pool test is all there is: `code` itself
        # holds the record, and nothing follows the test to return from.
        last = self.lto is not None and not self.plan.growth
        r = 0 if last else 1
        if self.total_pool:
            b.local_get(0)
            self._slot(b, self.table_base)
            b.op("i32.sub")
            b.local_tee(r)
            b.i32_const(self.total_pool)
            b.op("i32.lt_u")
            b.if_()
            b.local_get(r)
            b.i32_const(4)
            b.op("i32.shl")
            self._mem(b, self.records)
            b.op("i32.add")
            b.local_tee(r)
            b.i32_const(0)
            b.op("i32.store")
            b.local_get(r)
            b.i32_const(0)
            b.op("i32.store", 4)
            if not last:
                b.return_()
            b.end()
        if self.plan.growth:
            b.global_get(self.globals["grown"])
            b.local_set(r)
            b.block()
            b.loop()
            b.local_get(r)
            b.op("i32.eqz")
            b.br_if(1)
            b.local_get(r)
            b.op("i32.load", 12)
            b.local_get(0)
            b.op("i32.eq")
            b.if_()
            b.local_get(r)
            b.i32_const(0)
            b.op("i32.store")
            b.local_get(r)
            b.i32_const(0)
            b.op("i32.store", 4)
            b.return_()
            b.end()
            b.local_get(r)
            b.op("i32.load", 20)
            b.local_set(r)
            b.br(0)
            b.end()
            b.end()
        return ([] if last else [I32]), b.finish()

    # ------------------------------------------------------------ report

    def report(self) -> FfiReport:
        mod = self.mod
        assert isinstance(mod, WasmModule), "reports read a static module"
        in_table = set(self.table_funcs)
        exported = {e.index: e.name for e in self.exports()}
        exported.update({idx: name for name, idx in self.export_override.items()})

        def cost(idx: int) -> int:
            if idx < 0:         # a handler folded into ffi_call: its branch's bytes
                return self.folded_bytes[idx]
            return function_bytes(mod, idx, idx in in_table, exported.get(idx))

        sigs = []
        for s in self.plan.sigs:
            h = self.handler_of.get(s.id)
            hbytes = cost(h) if h is not None else 0
            shared = tuple(i for i in self.handler_ids.get(h, []) if i != s.id) if h is not None else ()
            pool = sum(cost(f) for f in self.tramps.get(s.id, []))
            impl_bytes = 0
            if s.id in self.impl_of:
                impl_bytes = cost(self.impl_of[s.id])
                pool += impl_bytes
            if s.id in self.template_of:
                pool += cost(self.template_of[s.id])
            sigs.append(SigReport(s.id, s.key, str(s.sig), str(s.lowered), s.users, hbytes,
                                  shared, s.pool if s.id in self.tramps else 0, pool,
                                  impl_bytes))
        impls = set(self.impl_of.values())
        # Folded handlers are counted as handlers, not as part of ffi_call.
        runtime = sum(cost(f) for f in self.runtime if f not in impls) \
            - sum(self.folded_bytes.values())
        adapters = sum(cost(f) for f in self.adapters)
        data = sum(len(raw) for _a, raw in self.data())
        imports = 0
        if self.grow_import >= 0:
            imports = 1 + len(uleb(len(GROW_MODULE))) + len(GROW_MODULE) + 1 + len(GROW_FIELD) \
                + 1 + _name_entry(mod, self.grow_import)
        handlers = sum(cost(h) for h in self.handler_ids)
        pools = sum(s.pool_bytes for s in sigs)
        nfuncs = len(self.runtime) + len(self.adapters) + len(self.handler_ids) \
            - len(self.folded_bytes) + sum(
            len(t) for t in self.tramps.values()) + len(self.template_of) + len(
            [i for i in self.impl_of.values() if i not in self.runtime])
        mode = "exhaustive" if self.plan.exhaustive is not None else "specialized"
        if self.plan.exhaustive is not None:
            mode = f"exhaustive:{self.plan.exhaustive}"
        if self.host_import >= 0:
            mode += "+fallback:host"
            imports += 1 + len(uleb(len(HOST_CALL_MODULE))) + len(HOST_CALL_MODULE) + 1 + \
                len(HOST_CALL_FIELD) + 1 + _name_entry(mod, self.host_import)
        return FfiReport(mode, tuple(sigs), runtime, adapters, data, imports,
                         runtime + adapters + handlers + pools + data + imports,
                         self.area_size if self.memory_areas() else 0,
                         FFI_STACK_SIZE if self.needs_stack else 0, nfuncs,
                         FFI_CALL if self.folded_bytes else None)


def _extend(b: InstrBuilder, ext: tuple[str | None, int]) -> None:
    op, mask = ext
    if op is not None:
        b.op(op)
    else:
        b.i32_const(mask)
        b.op("i32.and")


def _name_entry(mod: WasmModule, idx: int) -> int:
    name = mod.func_name(idx)
    if name is None or not mod.emit_names:
        return 0
    raw = name.encode()
    return len(uleb(idx)) + len(uleb(len(raw))) + len(raw)


def function_bytes(mod: WasmModule, idx: int, in_table: bool = False,
                   export: str | None = None) -> int:
    """Bytes a defined function adds to the binary: its function-section entry,
    its code entry (size, locals, body, end), its name, and table/export entries."""
    fn = mod.function(idx)
    runs = 0
    prev: ValType | None = None
    for t in fn.locals:
        if t is not prev:
            runs += 1
            prev = t
    locals_len = len(uleb(runs)) + runs * 2
    code = locals_len + len(fn.body) + 1
    total = len(uleb(fn.type_index)) + len(uleb(code)) + code + _name_entry(mod, idx)
    if in_table:
        total += len(uleb(idx))
    if export is not None:
        raw = export.encode()
        total += len(uleb(len(raw))) + len(raw) + 1 + len(uleb(idx))
    return total


def empty_report() -> FfiReport:
    return FfiReport("specialized", (), 0, 0, 0, 0, 0, 0, 0, 0)


__all__ = ["FfiEmitter", "FfiModule", "FfiReport", "Pic", "SigReport", "Drive", "dispatch_export", "function_bytes",
           "empty_report", "sig_ids_of", "AREA", "FFI_STACK_SIZE"]
