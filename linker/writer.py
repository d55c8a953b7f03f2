"""The writer (lld's Writer): assemble a linked program into a wasm module.

Input: the live program after discovery and decoding (`LiveProgram`):
functions, host imports, data, globals, exports, ctors, the entry.  Steps,
in order: assign function indices (host imports, then live functions in
link order, then the linker's own functions), lay out memory and the table
(`linker.layout`), generate every body (`linker.codegen`), write the data
image with relocations resolved, and add `_start`, the panic runtime and,
in trampoline mode, thunks and drivers.

The linker's own functions:
* `__irld_panic(fname, flen, msg, mlen)`: writes `panic in <f>: <msg>\\n` to
  stderr with one WASI `fd_write` of five iovecs, then traps;
* `_start` (WASI command): runs the ctors (by priority, then link order),
  calls the entry and exits with its i32 result through `proc_exit`;
  with no entry, `_initialize` (WASI reactor) runs the ctors;
* trampoline mode: a thunk per tail-call target (loads the argument
  globals, calls the target), a driver per result type and, for an export
  that may leave a pending tail call, a wrapper that finishes it.

Each of them is recorded as it is added, as a `SyntheticFunc` (what it is,
the symbols it calls, the symbol it serves) in `EmitResult.synthetic`, so
the link report knows them without reading their names.  The FFI's
functions are `linker.ffi.gen`'s, reported by `EmitResult.ffi`.

The code generator, the IR model, the FFI generator, checked mode and the
trace hooks are imported where they are used: a link of C objects copies
compiled code and needs none of them, and importing them (with the
relooper) was a tenth of such a link's start-up.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from linker.conventions import PANIC_SYMBOL, TailCallMode
from linker.ir.types import FuncType, ValType
from linker.linker_symbols import CALL_CTORS, CALL_DTORS, STACK_POINTER
from linker.diagnostics import Span
from linker.relocate import LinkResolver, relocate_function, relocate_segment, relocated_lines
from linker.store.lines import LineTable, table_from_spans
from linker.store.objfile import EntityRecord
from linker.live import LiveData as LiveData
from linker.live import LiveFunc as LiveFunc
from linker.live import LiveProgram as LiveProgram
from linker.layout import ZERO_GAP, MemoryLayout, TableLayout, layout_memory, layout_table, \
    segments_of_chunks
from linker.wasm.instr import InstrBuilder
from linker.wasm.module import CustomSection, ElementSegment, Export, ExternKind, WasmModule

if TYPE_CHECKING:
    from linker.checked import Checks
    from linker.codegen import FuncContext, Trampoline
    from linker.ffi.gen import FfiEmitter, FfiReport
    from linker.ffi.plan import FfiPlan
    from linker.ir import model as ir
    from linker.tracehooks import TraceHooks

WASI = "wasi_snapshot_preview1"
FD_WRITE = FuncType((ValType.I32,) * 4, ValType.I32)
PROC_EXIT = FuncType((ValType.I32,), None)
PANIC_TYPE = FuncType((ValType.I32,) * 4, None)
PANIC_SCRATCH = "__irld_panic_iov"
FD_WRITE_SYMBOL = "__irld_fd_write"
PROC_EXIT_SYMBOL = "__irld_proc_exit"
_PREFIX, _SEP, _NL = "panic in ", ": ", "\n"


class LinkError(Exception):
    """A problem found while emitting (the driver turns it into a diagnostic)."""


@attrs.define(slots=True)
class EmitOptions:
    tail_calls: TailCallMode = TailCallMode.NATIVE
    data_base: int = 1024
    initial_memory: int | None = None
    max_memory: int | None = None
    stack_size: int = 65536          # -z stack-size (wasm-ld's default: one page)
    compress_relocations: bool = True   # minimal LEBs at relocation sites
    stack_first: bool = False        # the stack below the data (--stack-first)
    names: bool = True               # the name section (--strip-all: none)
    import_memory: bool = False      # import env.memory instead of defining it
    lines: bool = False              # line tables of the code (for --source-map)
    checked: bool = False            # --checked: IR code checks memory and indirect calls
    instrument: bool = False         # --instrument: IR code reports calls (linker.tracehooks)
    from_ir: bool = False            # IR functions generated from their (LTO'd) IR
    zero_gap: int = ZERO_GAP         # data segments are cut at zero runs this long


class SyntheticKind(enum.Enum):
    """What a function the writer generates itself is."""

    PANIC = "panic runtime"          # __irld_panic
    START = "start"                  # _start: ctors, the entry, proc_exit
    INITIALIZE = "initialize"        # _initialize: the ctors (no entry)
    THUNK = "thunk"                  # trampoline mode: calls one tail-call target
    EXPORT_WRAPPER = "export wrapper"   # trampoline mode: an export finishing tail calls
    DRIVER = "driver"                # trampoline mode: runs pending tail calls
    UNDEFINED_WEAK = "undefined weak"   # stands for a weak function nothing defines: traps
    CALL_CTORS = "call ctors"        # __wasm_call_ctors: the ctors, for crt1's _start
    SIGNATURE_MISMATCH = "signature mismatch"   # a C call of the wrong type: traps
    CHECK = "check"                  # --checked: a memory or function-pointer check


@attrs.frozen(slots=True)
class SyntheticFunc:
    """A function the writer generates itself: its name in the module, its kind,
    the symbols its code calls, in order (a driver's `call_indirect` names
    none), and the symbol it serves (a thunk's target, an export wrapper's
    symbol), if any."""

    name: str
    kind: SyntheticKind
    calls: tuple[str, ...] = ()
    subject: str | None = None


def driver_name(result: ValType | None) -> str:
    """The trampoline driver of a result type."""
    return f"__irld_drive_{result or 'void'}"


@attrs.define(slots=True)
class EmitResult:
    module: WasmModule
    memory: MemoryLayout
    table: TableLayout
    func_indices: dict[str, int]
    code_sizes: dict[str, int]        # symbol -> body bytes
    data_segments: list[tuple[int, int]]
    ffi: FfiReport | None = None      # bytes of the generated FFI (None: no FFI)
    synthetic: dict[str, SyntheticFunc] = attrs.Factory(dict)   # name -> record, in index order
    # EmitOptions.lines: function index -> (offset in its code, IR location) rows
    lines: dict[int, LineTable] = attrs.Factory(dict)


# Undefined data under --allow-undefined: any access traps (out of bounds).
UNDEFINED_DATA_ADDRESS = 0xFFFFFFF0


class _CallsFromC:
    """How a C object's code sees the link: a call declared with another type
    than its callee's goes to the trapping stub (`redirects`); in trampoline
    mode a direct call to an IR function that may leave a pending tail call
    goes to a wrapper that runs the trampoline to the end (as an export does),
    so C gets the final result.  (Through a function pointer C reaches the
    function itself: an IR function that tail-calls must not be called by C
    through a pointer in that mode.)"""

    def __init__(self, r: "_Resolver", tramp: Trampoline | None,
                 wrapper: Callable[[str, Trampoline], int],
                 redirects: dict[str, int]) -> None:
        self.r, self.tramp, self.wrapper, self.redirects = r, tramp, wrapper, redirects

    def func_index(self, symbol: str) -> int:
        stub = self.redirects.get(symbol)
        if stub is not None:
            return stub
        if self.tramp is not None and self.tramp.may_tail(symbol):
            return self.wrapper(symbol, self.tramp)
        return self.r.func_index(symbol)

    def table_index(self, symbol: str) -> int:
        return self.r.table_index(symbol)

    def symref(self, symbol: str, offset: int) -> int:
        return self.r.symref(symbol, offset)

    def global_index(self, symbol: str) -> int:
        return self.r.global_index(symbol)

    def type_index(self, ft: FuncType) -> int:
        return self.r.type_index(ft)

    def pool_address(self, text: str) -> int:
        return self.r.pool_address(text)

    def direct(self) -> tuple[dict[str, int] | None, dict[str, int]]:
        return None, self.r.data          # calls go through `func_index`


class _Resolver:
    """Symbol -> constant or index, for codegen."""

    def __init__(self, mod: WasmModule) -> None:
        self.mod = mod
        self.funcs: dict[str, int] = {}
        self.func_types: dict[str, FuncType] = {}
        self.globals: dict[str, int] = {}
        self.global_types: dict[str, ValType] = {}
        self.data: dict[str, int] = {}
        self.table: dict[str, int] = {}
        self.pool: dict[str, int] = {}
        self.panic_index = -1

    def func_index(self, symbol: str) -> int:
        return self.funcs[symbol]

    def symref(self, symbol: str, offset: int) -> int:
        # One lookup for a data symbol: nearly every relocation of C code is one.
        address = self.data.get(symbol)
        if address is not None:
            return (address + offset) & 0xFFFFFFFF
        if symbol in self.table:
            return self.table[symbol] + offset
        raise LinkError(f"address of '{symbol}' is not available")

    def global_index(self, symbol: str) -> int:
        return self.globals[symbol]

    def table_index(self, symbol: str) -> int:
        return self.table[symbol]

    def pool_address(self, text: str) -> int:
        return self.pool[text]

    def direct(self) -> tuple[dict[str, int] | None, dict[str, int]]:
        """The maps `func_index` and `symref` read first (`LinkResolver.direct`)."""
        return self.funcs, self.data

    def type_index(self, ft: FuncType) -> int:
        return self.mod.type_index(ft)

    def panic_call(self, function: str, message: str) -> tuple[int, int, int, int, int]:
        fname = function.encode()
        msg = message.encode()
        return (self.panic_index, self.pool[function], len(fname), self.pool[message], len(msg))


@attrs.define(slots=True)
class _Scan:
    """What the linker must know about all bodies before generating any."""

    messages: list[str] = attrs.Factory(list)
    tail_targets: list[str] = attrs.Factory(list)
    tail_indirect_types: list[FuncType] = attrs.Factory(list)
    has_tail: set[str] = attrs.Factory(set)
    max_args: dict[ValType, int] = attrs.Factory(dict)


def _scan(funcs: Sequence[LiveFunc], arg_types: Any, from_ir: bool) -> _Scan:
    """Panic texts (from the index) and, when generating from IR, what trampoline
    mode needs: tail-call targets and the widest argument lists."""
    s = _Scan()
    if not from_ir:
        for lf in funcs:
            s.messages += lf.rec.texts
        return s
    from linker.ir import model as ir
    seen_t: dict[str, None] = {}
    seen_ti: dict[FuncType, None] = {}
    for lf in funcs:
        if not lf.rec.obj.has_ir:
            continue                    # C: copied as compiled, no tail calls, no panics
        f = lf.func
        if f.deferred_error is not None:
            s.messages += [f.name, f.deferred_error]
        for b in f.blocks:
            t = b.term
            if isinstance(t, ir.Panic):
                s.messages += [f.name if t.function is None else t.function, t.message]
            elif isinstance(t, ir.TailCall):
                seen_t.setdefault(t.callee, None)
                s.has_tail.add(f.name)
                _count_args(s, arg_types(t.callee))
            elif isinstance(t, ir.TailCallIndirect):
                seen_ti.setdefault(t.type, None)
                s.has_tail.add(f.name)
                _count_args(s, t.type.params)
    s.tail_targets = list(seen_t)
    s.tail_indirect_types = list(seen_ti)
    return s


def _count_args(s: _Scan, params: Sequence[ValType]) -> None:
    counts: dict[ValType, int] = {}
    for p in params:
        counts[p] = counts.get(p, 0) + 1
    for t, n in counts.items():
        s.max_args[t] = max(s.max_args.get(t, 0), n)


def _compile_from_object(lf: LiveFunc, ctx: FuncContext) -> tuple[list[ValType], bytes]:
    """Code generated again from an object's IR.  The body decoded with checked
    types (`linker.store.codec`), but its references were verified only when
    it was compiled, by whoever wrote the object: an inconsistent body (an
    undefined local, a label that is not there) is an error naming the object."""
    from linker.codegen import compile_function
    try:
        return compile_function(lf.func, ctx)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise LinkError(f"{lf.rec.obj.name}: the IR of '{lf.symbol}' does not compile "
                        f"({type(exc).__name__}: {exc}); the object is inconsistent, "
                        "recompile it") from None


def emit_program(prog: LiveProgram, opts: EmitOptions) -> EmitResult:
    """Build the wasm module of a live program."""
    return _Emitter(prog, opts).run()


class _Emitter:
    def __init__(self, prog: LiveProgram, opts: EmitOptions) -> None:
        self.prog = prog
        self.opts = opts
        self.mod = WasmModule(name=None)
        self.mod.emit_names = opts.names
        self.r = _Resolver(self.mod)
        self.trampoline = opts.tail_calls is TailCallMode.TRAMPOLINE
        # Objects hold code compiled for native tail calls; any other mode
        # generates code again from the IR.
        self.from_ir = self.trampoline or opts.checked or opts.instrument or opts.from_ir
        # Only LTO asks for IR: a function it left unchanged keeps its compiled code.
        self.copy_unchanged = opts.from_ir and not (self.trampoline or opts.checked
                                                    or opts.instrument)
        self.checks: Checks | None = None
        self.synthetic: dict[str, SyntheticFunc] = {}
        self.wrappers: dict[str, int] = {}      # symbol -> its tail-call-finishing wrapper
        self.redirects: dict[str, dict[str, int]] = {}   # C input -> callee -> mismatch stub
        self.lines: dict[int, LineTable] = {}

    def add_synthetic(self, ft: FuncType, f: SyntheticFunc, locals_: Sequence[ValType] = (),
                      body: bytes = b"") -> int:
        """Add a function the writer generates, and its record; its function index."""
        self.synthetic[f.name] = f
        return self.mod.add_function(ft, locals_, body, name=f.name)

    def run(self) -> EmitResult:
        prog, r = self.prog, self.r
        types = [lf.type for lf in prog.funcs]      # each a property chain: once
        for lf, ft in zip(prog.funcs, types):
            r.func_types[lf.symbol] = ft
        for sym, _m, _f, ft in prog.imports:
            r.func_types[sym] = ft
        ffi = prog.ffi
        self.ffi: FfiEmitter | None = None
        if ffi is not None and not ffi.empty:
            from linker.ffi.gen import FfiEmitter
            self.ffi = FfiEmitter(ffi, self.mod, r.funcs)
        if self.ffi is not None:
            r.func_types.update(self.ffi.func_types())
        scan = _scan(prog.funcs, lambda c: r.func_types[c].params, self.from_ir)
        if prog.panic_texts is not None:
            scan.messages = list(prog.panic_texts)
        self.scan = scan
        need_panic = bool(scan.messages) or self.opts.checked
        self.add_imports(need_panic)
        symbols = [lf.symbol for lf in prog.funcs]
        first = self.mod.add_functions(types, symbols)
        r.funcs.update(zip(symbols, range(first, first + len(symbols))))
        for alias, primary in prog.func_aliases.items():
            r.funcs[alias], r.func_types[alias] = r.funcs[primary], r.func_types[primary]
        if need_panic:
            r.panic_index = self.add_synthetic(PANIC_TYPE, SyntheticFunc(
                PANIC_SYMBOL, SyntheticKind.PANIC, (FD_WRITE_SYMBOL,)))
            r.funcs[PANIC_SYMBOL] = r.panic_index
        self.add_weak_stubs()
        self.add_mismatch_stubs()
        if prog.call_ctors:    # its body is written with _start's (`add_start`)
            r.funcs[CALL_CTORS] = self.mod.add_function(FuncType(), name=CALL_CTORS)
        if self.ffi is not None:
            self.ffi.declare()
        self.add_globals()
        self.layout(scan)
        if self.opts.checked:
            self.add_checkers()
        tramp = self.setup_trampoline(scan) if self.trampoline else None
        sizes = self.gen_bodies(tramp)
        if self.ffi is not None:
            from linker.ffi.gen import Drive
            drive = None if tramp is None else Drive(tramp.pending_global, self.drivers.get)
            self.ffi.generate(self.memory.addresses, self.table.size - self.ffi.table_slots,
                              drive, self.r.symref)
        if need_panic:
            self.gen_panic()
        self.add_start(tramp)
        segs = self.write_data()
        self.add_exports(tramp)
        if self.opts.instrument and self.prog.sig_ids:
            from linker.tracehooks import SIGS_SECTION, sigs_section
            self.mod.custom_sections.append(
                CustomSection(SIGS_SECTION, sigs_section(self.prog.sig_ids)))
        return EmitResult(self.mod, self.memory, self.table, dict(r.funcs), sizes, segs,
                          None if self.ffi is None else self.ffi.report(),
                          dict(self.synthetic), self.lines)

    # ------------------------------------------------------------ imports, globals

    def add_imports(self, need_panic: bool) -> None:
        r = self.r
        by_key: dict[tuple[str, str, FuncType], int] = {}
        wanted = list(self.prog.imports)
        if self.ffi is not None:
            wanted += self.ffi.extra_imports()
        if need_panic:
            wanted.append((FD_WRITE_SYMBOL, WASI, "fd_write", FD_WRITE))
        if self.prog.entry is not None:
            wanted.append((PROC_EXIT_SYMBOL, WASI, "proc_exit", PROC_EXIT))
        if self.opts.instrument:
            from linker.tracehooks import hook_imports
            wanted += hook_imports()
        for sym, module, field, ft in wanted:
            key = (module, field, ft)
            if key not in by_key:
                by_key[key] = self.mod.import_func(module, field, ft, name=sym)
            r.funcs[sym] = by_key[key]
            r.func_types[sym] = ft

    def add_mismatch_stubs(self) -> None:
        """As wasm-ld: a C call whose declared type is not the callee's goes to a
        stub of the declared type that traps (one per callee and type)."""
        stubs: dict[tuple[str, FuncType], int] = {}
        for caller, callee, ft in self.prog.mismatches:
            idx = stubs.get((callee, ft))
            if idx is None:
                b = InstrBuilder()
                b.unreachable()
                name = f"signature_mismatch:{callee}"
                if any(k[0] == callee for k in stubs):
                    name += f":{ft}"
                idx = stubs[(callee, ft)] = self.add_synthetic(ft, SyntheticFunc(
                    name, SyntheticKind.SIGNATURE_MISMATCH, (), callee), (), b.finish())
            self.redirects.setdefault(caller, {})[callee] = idx

    def add_weak_stubs(self) -> None:
        """A weak function nothing defines, as in lld: a call traps (a stub whose
        body is `unreachable`), its address is the null pointer (set in `layout`)."""
        r = self.r
        for sym, ft in self.prog.weak_funcs:
            b = InstrBuilder()
            b.unreachable()
            r.funcs[sym] = self.add_synthetic(ft, SyntheticFunc(
                f"undefined_weak:{sym}", SyntheticKind.UNDEFINED_WEAK, (), sym), (), b.finish())
            r.func_types[sym] = ft

    def add_globals(self) -> None:
        if self.prog.stack_pointer:
            # Its value is the top of the stack, known after layout (`layout`).
            self.r.globals[STACK_POINTER] = self.mod.add_global(ValType.I32, True, 0,
                                                                name=STACK_POINTER)
            self.r.global_types[STACK_POINTER] = ValType.I32
        for sym, vt, init in self.prog.globals:
            self.r.globals[sym] = self.mod.add_global(vt, True, init, name=sym)
            self.r.global_types[sym] = vt

    # ------------------------------------------------------------ layout

    def layout(self, scan: _Scan) -> None:
        need_panic = bool(scan.messages) or self.opts.checked
        pool = [_PREFIX, _SEP, _NL] + scan.messages if need_panic else []
        extra = [(PANIC_SCRATCH, 44, 4)] if need_panic else []
        if self.opts.checked:
            from linker.checked import SCRATCH as CHECK_SCRATCH, SCRATCH_SIZE, pool_texts
            pool += pool_texts([lf.func for lf in self.prog.funcs if lf.rec.obj.has_ir],
                               self.null_end())
            extra.append((CHECK_SCRATCH, SCRATCH_SIZE, 4))
        if self.ffi is not None:
            extra += self.ffi.memory_areas()
        self.memory = layout_memory(self.prog.datas, pool, data_base=self.opts.data_base,
                                    extra_rw=extra, initial_memory=self.opts.initial_memory,
                                    max_memory=self.opts.max_memory,
                                    stack_size=self.opts.stack_size if self.prog.stack else 0,
                                    stack_first=self.opts.stack_first)
        r = self.r
        r.data.update(self.memory.addresses)
        for sym, segment, offset in self.prog.aliases:
            r.data[sym] = self.memory.addresses[segment] + offset
        for sym in self.prog.weak_data:
            r.data[sym] = 0                  # an undefined weak object is at address 0
        if self.prog.stack_pointer:
            self.mod.globals[r.globals[STACK_POINTER]].init = self.memory.stack_top
        r.data.update(self.memory.linker_symbols())
        for sym in self.prog.undefined_data:
            r.data[sym] = UNDEFINED_DATA_ADDRESS
        r.pool = self.memory.pool
        self.table = layout_table(self.prog.address_taken,
                                  0 if self.ffi is None else self.ffi.table_slots)
        r.table.update(self.table.slots)
        r.table.update((a, r.table[p]) for a, p in self.prog.func_aliases.items()
                       if p in r.table)
        for sym, _ft in self.prog.weak_funcs:
            r.table[sym] = 0                 # &undefined_weak_function == NULL

    # ------------------------------------------------------------ trampoline

    def setup_trampoline(self, scan: _Scan) -> Trampoline:
        from linker.codegen import Trampoline
        mod, r = self.mod, self.r
        pending = mod.add_global(ValType.I32, True, 0, name="__irld_tc_pending")
        args: dict[ValType, list[int]] = {}
        for t in (ValType.I32, ValType.I64, ValType.F32, ValType.F64):
            args[t] = [mod.add_global(t, True, 0, name=f"__irld_tc_{t.value}_{k}")
                       for k in range(scan.max_args.get(t, 0))]
        base_size = self.table.size
        thunk_slots: dict[str, int] = {}
        extra_slots: list[tuple[int, int]] = []   # (slot, func index)
        next_slot = base_size
        # Direct targets: one thunk each.
        thunk_of: dict[str, int] = {}
        for sym in scan.tail_targets:
            thunk_of[sym] = self.add_thunk(sym, args)
            thunk_slots[sym] = next_slot
            extra_slots.append((next_slot, thunk_of[sym]))
            next_slot += 1
        # Indirect tail-call types: a region mirroring the table, thunks for matching slots.
        regions: dict[FuncType, int] = {}
        for ty in scan.tail_indirect_types:
            regions[ty] = next_slot
            for sym in self.table.order:
                if r.func_types.get(sym) == ty:
                    if sym not in thunk_of:
                        thunk_of[sym] = self.add_thunk(sym, args)
                    extra_slots.append((next_slot + self.table.slots[sym], thunk_of[sym]))
            next_slot += base_size
        self.extra_slots = extra_slots
        self.table_size = next_slot
        # One driver per result type: call_indirect sites may have any result type.
        drivers: dict[ValType | None, int] = {}
        if scan.has_tail:
            for rt in (None, ValType.I32, ValType.I64, ValType.F32, ValType.F64):
                drivers[rt] = self.add_synthetic(FuncType((), rt), SyntheticFunc(
                    driver_name(rt), SyntheticKind.DRIVER))
        self.drivers = drivers
        self.pending = pending
        has_tail = scan.has_tail
        return Trampoline(pending, args, thunk_slots.__getitem__, regions.__getitem__,
                          drivers.__getitem__, lambda c: c in has_tail, bool(has_tail),
                          base_size)

    def add_thunk(self, sym: str, args: dict[ValType, list[int]]) -> int:
        ft = self.r.func_types[sym]
        b = InstrBuilder()
        used: dict[ValType, int] = {}
        for p in ft.params:
            k = used.get(p, 0)
            used[p] = k + 1
            b.global_get(args[p][k])
        b.call(self.r.funcs[sym])
        thunk = SyntheticFunc(f"__irld_thunk:{sym}", SyntheticKind.THUNK, (sym,), sym)
        return self.add_synthetic(FuncType((), ft.result), thunk, body=b.finish())

    def gen_drivers(self) -> None:
        for t, idx in self.drivers.items():
            b = InstrBuilder()
            tmp = 0
            locals_ = [t] if t is not None else []
            b.loop()
            b.global_get(self.pending)
            b.i32_const(0)
            b.global_set(self.pending)
            b.call_indirect(self.mod.type_index(FuncType((), t)))
            if t is not None:
                b.local_set(tmp)
            b.global_get(self.pending)
            b.br_if(0)
            b.end()
            if t is not None:
                b.local_get(tmp)
            fn = self.mod.function(idx)
            fn.locals = list(locals_)
            fn.body = b.finish()

    # ------------------------------------------------------------ bodies

    def gen_bodies(self, tramp: Trampoline | None) -> dict[str, int]:
        sizes: dict[str, int] = {}
        mode = self.opts.tail_calls
        lines = self.opts.lines
        # Every live function comes through here: the per-function settings once.
        funcs, function = self.r.funcs, self.mod.function
        sig_ids, no_redirects = self.prog.sig_ids, not self.redirects
        for lf in self.prog.funcs:
            rows: list[tuple[int, Span]] | None = [] if lines else None
            moves: list[tuple[int, int]] | None = [] if lines else None
            redirects = {} if no_redirects else self.redirects.get(lf.rec.obj.name, {})
            if self.from_ir and lf.rec.obj.has_ir and not self.copies(lf, redirects):
                from linker.codegen import FuncContext
                ctx = FuncContext(self.r, lf.sig_ids, mode, tramp, lines=rows,
                                  checks=self.checks, trace=self.trace_hooks())
                locals_, body = _compile_from_object(lf, ctx)
                moves = None        # generated here: the rows are the table
            else:
                # Compiled code, copied: IR in the objects' own (native) mode, or C.
                r: LinkResolver = self.r
                if tramp is not None or redirects:
                    r = _CallsFromC(self.r, tramp, self.wrapper, redirects)
                # Code LTO left alone is patched at minimal widths, as generated code is.
                compress = self.opts.compress_relocations or (self.copy_unchanged
                                                               and lf.rec.obj.has_ir)
                locals_, body = relocate_function(lf.rec, r, sig_ids, compress, moves)
            if lines:
                self.add_lines(lf, rows, moves)
            fn = function(funcs[lf.symbol])
            fn.locals = locals_
            fn.body = body
            sizes[lf.symbol] = len(body)
        if tramp is not None:
            self.gen_drivers()
        return sizes

    def copies(self, lf: LiveFunc, redirects: dict[str, int]) -> bool:
        """Whether an IR function is copied as compiled although the link generates
        code from IR: LTO (native mode, no checks, no hooks) left it unchanged, so the
        object's code, generated from this very IR by the same code generator in the
        same mode, is the code generation would give again; its relocations resolve
        to this link's indices as in a link without LTO.  (A call redirected to a
        signature-mismatch stub is left to code generation, as without copying.)"""
        return self.copy_unchanged and lf.as_compiled and not redirects

    def trace_hooks(self) -> TraceHooks | None:
        if not self.opts.instrument:
            return None
        from linker.tracehooks import TraceHooks
        return TraceHooks.from_symbols(self.r.funcs)

    def null_end(self) -> int:
        """Checked mode's null region [0, end): below the data, unless the
        stack starts at 0 (--stack-first)."""
        return 0 if self.opts.stack_first and self.prog.stack else self.opts.data_base

    def add_checkers(self) -> None:
        """Checked mode's functions (`linker.checked`), after the layout."""
        from linker.checked import CHECKERS, SCRATCH as CHECK_SCRATCH, CheckBodies, Checks
        mem = self.memory
        funcs = {name: self.add_synthetic(ft, SyntheticFunc(name, SyntheticKind.CHECK))
                 for name, ft in CHECKERS}
        self.checks = Checks(mem.pool, funcs, self.null_end(), (mem.data_base, mem.readonly_end))
        gen = CheckBodies(self.checks, self.null_end(), (mem.data_base, mem.readonly_end),
                          mem.addresses[CHECK_SCRATCH], self.r.funcs[FD_WRITE_SYMBOL])
        for name, (locals_, body) in gen.bodies().items():
            fn = self.mod.function(funcs[name])
            fn.locals, fn.body = locals_, body

    def add_lines(self, lf: LiveFunc, rows: list[tuple[int, Span]] | None,
                  moves: list[tuple[int, int]] | None) -> None:
        """Record `lf`'s line table: codegen's rows, or the object's, moved with
        the relocation sites."""
        if moves is None:
            table = table_from_spans(rows or [])
        elif lf.rec.obj.has_ir:
            table = relocated_lines(lf.rec, moves)
        else:
            return
        if table:
            self.lines[self.r.funcs[lf.symbol]] = table

    def gen_panic(self) -> None:
        """`panic in <f>: <msg>\n` to fd 2, one iovec per fd_write call (a host may
        write only the first iovec of a vector, and stderr must get every piece)."""
        r, mem = self.r, self.memory
        iov = mem.addresses[PANIC_SCRATCH]
        b = InstrBuilder()
        pieces: list[tuple[int | None, int]] = [
            (mem.pool[_PREFIX], len(_PREFIX)), (None, 0), (mem.pool[_SEP], len(_SEP)),
            (None, 2), (mem.pool[_NL], len(_NL))]
        for ptr, arg in pieces:
            # Constant pieces come from the pool; the two variable ones from the params.
            b.i32_const(iov)
            if ptr is None:
                b.local_get(arg)
            else:
                b.i32_const(ptr)
            b.op("i32.store")
            b.i32_const(iov + 4)
            if ptr is None:
                b.local_get(arg + 1)
            else:
                b.i32_const(arg)
            b.op("i32.store")
            b.i32_const(2)
            b.i32_const(iov)
            b.i32_const(1)
            b.i32_const(iov + 40)
            b.call(r.funcs[FD_WRITE_SYMBOL])
            b.drop()
        b.unreachable()
        self.mod.function(r.panic_index).body = b.finish()

    # ------------------------------------------------------------ start

    def add_call_ctors(self, tramp: Trampoline | None) -> None:
        """`__wasm_call_ctors`: every ctor, by priority then link order."""
        b = InstrBuilder()
        locals_: list[ValType] = []
        calls: list[str] = []
        for sym in self.prog.ctors:
            self.call_and_finish(b, sym, tramp, locals_, calls)
        fn = self.mod.function(self.r.funcs[CALL_CTORS])
        fn.locals, fn.body = locals_, b.finish()
        self.synthetic[CALL_CTORS] = SyntheticFunc(CALL_CTORS, SyntheticKind.CALL_CTORS,
                                                   tuple(calls))

    def add_start(self, tramp: Trampoline | None) -> None:
        prog, r = self.prog, self.r
        if prog.call_ctors:
            self.add_call_ctors(tramp)
        if prog.start is not None:
            self.add_ir_start(prog.start, tramp)
            return
        ctors = () if prog.call_ctors else prog.ctors   # else the program runs them
        if prog.entry is None and not ctors:
            return
        b = InstrBuilder()
        locals_: list[ValType] = []
        calls: list[str] = []
        for sym in ctors:
            self.call_and_finish(b, sym, tramp, locals_, calls)
        name, kind = "_initialize", SyntheticKind.INITIALIZE
        if prog.entry is not None:
            name, kind = "_start", SyntheticKind.START
            ft = r.func_types[prog.entry]
            self.call_and_finish(b, prog.entry, tramp, locals_, calls)
            if prog.call_dtors:     # flush stdio before the exit status goes out
                self.call_and_finish(b, CALL_DTORS, tramp, locals_, calls)
            if ft.result is ValType.I32:
                b.call(r.funcs[PROC_EXIT_SYMBOL])
                calls.append(PROC_EXIT_SYMBOL)
            elif ft.result is not None:
                b.drop()
        idx = self.add_synthetic(FuncType(), SyntheticFunc(name, kind, tuple(calls)), locals_,
                                 b.finish())
        self.mod.exports.append(Export(name, ExternKind.FUNC, idx))

    def add_ir_start(self, f: ir.Func, tramp: Trampoline | None) -> None:
        """`_start` generated from its IR (`LiveProgram.start`, made by LTO): code
        generation finishes the pending tail calls of what it calls, as in any IR
        function.  Inlining copies no tail call into it (`linker.lto.inlining`)."""
        from linker.codegen import FuncContext, compile_function
        from linker.ir import model as ir
        assert not any(isinstance(b.term, (ir.TailCall, ir.TailCallIndirect))
                       for b in f.blocks), "_start must not tail call"
        rows: list[tuple[int, Span]] | None = [] if self.opts.lines else None
        ctx = FuncContext(self.r, {}, self.opts.tail_calls, tramp, lines=rows,
                          checks=self.checks)
        locals_, body = compile_function(f, ctx)
        calls = [s.callee for b in f.blocks for s in b.stmts if isinstance(s, ir.Call)]
        if any(isinstance(b.term, ir.Panic) for b in f.blocks):
            calls.append(PANIC_SYMBOL)       # code inlined into it may panic
        if tramp is not None and tramp.any_tail:     # the drivers it may call
            calls += [driver_name(t) for t in self.drivers]
        idx = self.add_synthetic(FuncType(), SyntheticFunc(
            f.name, SyntheticKind.START, tuple(dict.fromkeys(calls))), locals_, body)
        table = table_from_spans(rows or [])
        if table:       # the lines of the code inlined into it
            self.lines[idx] = table
        self.mod.exports.append(Export(f.name, ExternKind.FUNC, idx))

    def call_and_finish(self, b: InstrBuilder, sym: str, tramp: Trampoline | None,
                        locals_: list[ValType], calls: list[str], base: int = 0) -> None:
        """Call `sym` and finish a pending tail call it may leave (`after_call`);
        the symbols called are appended to `calls`."""
        b.call(self.r.funcs[sym])
        calls.append(sym)
        self.after_call(b, sym, tramp, locals_, calls, base)

    def after_call(self, b: InstrBuilder, sym: str, tramp: Trampoline | None,
                   locals_: list[ValType], calls: list[str], base: int = 0) -> None:
        """In trampoline mode, finish a pending tail call left by `sym` (result stays on
        the stack); temporaries are appended to `locals_`, numbered from `base`, and
        the driver called to `calls`."""
        if tramp is None or not tramp.may_tail(sym):
            return
        t = self.r.func_types[sym].result
        tmp = -1
        if t is not None:
            tmp = base + len(locals_)
            locals_.append(t)
            b.local_set(tmp)
        b.global_get(tramp.pending_global)
        b.if_()
        b.call(tramp.driver(t))
        calls.append(driver_name(t))
        if t is not None:
            b.local_set(tmp)
        b.end()
        if t is not None:
            b.local_get(tmp)

    # ------------------------------------------------------------ data, table, exports

    def write_data(self) -> list[tuple[int, int]]:
        mem, r = self.memory, self.r
        base = mem.data_base
        # A sparse image: each item's stored bytes at its address, the rest zero
        # (an object stores no trailing zero fill; layout.segments_of_chunks).
        chunks = [(mem.addresses[d.name], relocate_segment(d.rec, r)[:d.size])
                  for d in self.prog.datas]
        chunks += [(addr, s.encode()) for s, addr in mem.pool.items()]
        chunks += list(self.ffi.data()) if self.ffi is not None else []
        assert all(addr >= base for addr, _ in chunks)
        segs = segments_of_chunks(chunks, self.opts.zero_gap)
        from linker.wasm.module import DataSegment
        for off, raw in segs:
            self.mod.data.append(DataSegment(off, raw, name=f".data@{off}"))
        if self.opts.import_memory:
            # As wasm-ld: imported from env.memory, not exported.
            self.mod.set_memory(mem.initial_pages, mem.max_pages, export=None)
            self.mod.memory_import = ("env", "memory")
        else:
            self.mod.set_memory(mem.initial_pages, mem.max_pages)
        size = getattr(self, "table_size", self.table.size)
        self.mod.set_table(size, None, export="__indirect_function_table")
        if self.table.order:
            self.mod.elements.append(ElementSegment(1, [r.funcs[s] for s in self.table.order]))
        for slot, fidx in getattr(self, "extra_slots", []):
            self.mod.elements.append(ElementSegment(slot, [fidx]))
        if self.ffi is not None and self.ffi.table_funcs:
            self.mod.elements.append(ElementSegment(self.ffi.table_base, self.ffi.table_funcs))
        return [(off, len(raw)) for off, raw in segs]

    def add_exports(self, tramp: Trampoline | None) -> None:
        ffi_override = {} if self.ffi is None else self.ffi.export_override
        for name, sym in self.prog.exports:
            if sym not in self.r.funcs:
                self.export_non_function(name, sym)
                continue
            idx = self.r.funcs[sym]
            if name in ffi_override:
                idx = ffi_override[name]   # a foreign export's adapter (linker.ffi)
            elif tramp is not None and tramp.may_tail(sym):
                # The host must see the final result of a tail-call chain.
                idx = self.wrapper(sym, tramp)
            self.mod.exports.append(Export(name, ExternKind.FUNC, idx))
        if self.ffi is not None:
            self.mod.exports.extend(self.ffi.exports())

    def export_non_function(self, name: str, sym: str) -> None:
        """A global is exported as itself; data (as wasm-ld does) as an immutable
        i32 global holding its address."""
        r = self.r
        if sym in r.globals:
            self.mod.exports.append(Export(name, ExternKind.GLOBAL, r.globals[sym]))
            return
        idx = self.mod.add_global(ValType.I32, False, r.symref(sym, 0), name=f"__export:{sym}")
        self.mod.exports.append(Export(name, ExternKind.GLOBAL, idx))

    def wrapper(self, sym: str, tramp: Trampoline) -> int:
        """The function that calls `sym` and finishes its pending tail calls
        (made once; used by exports and by C code calling such a function)."""
        idx = self.wrappers.get(sym)
        if idx is None:
            idx = self.wrappers[sym] = self.export_wrapper(sym, tramp)
        return idx

    def export_wrapper(self, sym: str, tramp: Trampoline) -> int:
        ft = self.r.func_types[sym]
        b = InstrBuilder()
        for i in range(len(ft.params)):
            b.local_get(i)
        locals_: list[ValType] = []
        calls: list[str] = []
        self.call_and_finish(b, sym, tramp, locals_, calls, base=len(ft.params))
        wrapper = SyntheticFunc(f"__irld_export:{sym}", SyntheticKind.EXPORT_WRAPPER,
                                tuple(calls), sym)
        return self.add_synthetic(ft, wrapper, locals_, b.finish())
