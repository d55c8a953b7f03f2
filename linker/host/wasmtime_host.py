"""Run a linked program: wasmtime-py host with WASI preview 1, irld's host functions and limits.

The output of `irld link` is a WASI command: `_start` runs the ctors and the
entry, then returns (exit status 0) or calls WASI `proc_exit(n)`.  `run`
instantiates it with wasmtime-py and maps every way a run can end onto an exit
status, the way wasmtime's own CLI does:

* `proc_exit(n)` surfaces as `wasmtime.ExitTrap` with `.code == n`;
* `_start` returning normally is status 0;
* a trap (including running out of fuel or time) is status 134 (128 + SIGABRT)
  with ``error: wasm trap: <reason>`` and a backtrace of function names on
  stderr (wasmtime reads the names from the module's name section);
* a file that is not wasm, or a module importing something nobody provides,
  raises `RunError` before anything runs (the CLI turns it into status 1).

Host functions (`HostFunctions`) are a registry of extra imports, each a
Python callable that receives a `HostContext` (memory, table and exports of
the calling instance) followed by the wasm arguments.  The default registry
holds the debugging helpers in module ``env`` and the FFI closure growth hook
``irld.closure_table_grow``; the protocol is written down in docs/runtime.md.

Fuel bounds the number of executed instructions (wasmtime's
``consume_fuel``); a time limit uses epoch interruption: a timer thread
increments the engine epoch, and the store traps at its next epoch check.
"""

from __future__ import annotations

import contextlib
import decimal
import math
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import wasmtime

from linker.host import ffi_fallback
from linker.host.backtrace import PANIC, in_ir_terms, is_panic, trap_words
from linker.sourcemap import SourceMap, load_for

from linker.host.common import (
    EXIT_TRAP,
    HostImportError,
    HostTrap,
    InvalidModuleError,
    RunError,
    RunResult,
    TrapFrame,
    Wasm,
    render_trap,
)
from linker.host.loader import DynamicLoader, define_dl_functions, is_dynamic_main
from linker.ir.types import FuncType, ValType

__all__ = [
    "CLOSURE_DISPATCH_EXPORT",
    "TABLE_EXPORT",
    "HostContext",
    "HostFunction",
    "HostFunctions",
    "closure_dispatch_export",
    "format_f64",
    "run",
]

# The function table the linker exports, and the closure dispatch export prefix.
TABLE_EXPORT = "__indirect_function_table"
CLOSURE_DISPATCH_EXPORT = "__irld_closure_dispatch"


# --------------------------------------------------------------------------- host functions


class _Output:
    """Where a run's stdout and stderr go: files in `directory` when capturing, else this process's.

    Captured output goes to files (wasmtime's custom output callbacks can run
    Python on a runtime thread during interpreter shutdown, which aborts).
    Host functions write to stderr as well; to keep their lines in program
    order, each host write is recorded with the length of WASI's stderr file at
    that moment (WASI writes are synchronous) and spliced in by `captured`.
    """

    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self.stdout_path = os.path.join(directory, "stdout") if directory is not None else ""
        self.stderr_path = os.path.join(directory, "stderr") if directory is not None else ""
        self._inserts: list[tuple[int, bytes]] = []
        self.state: dict[str, Any] = {}     # per-run state of host functions

    def configure(self, wasi: wasmtime.WasiConfig) -> None:
        if self.directory is None:
            wasi.inherit_stdout()
            wasi.inherit_stderr()
            return
        wasi.stdout_file = self.stdout_path
        wasi.stderr_file = self.stderr_path

    def write_stderr(self, data: bytes) -> None:
        if self.directory is None:
            sys.stderr.flush()
            sys.stderr.buffer.write(data)
            sys.stderr.buffer.flush()
            return
        try:
            offset = os.stat(self.stderr_path).st_size
        except OSError:
            offset = 0
        self._inserts.append((offset, data))

    def captured(self) -> tuple[bytes, bytes]:
        """(stdout, stderr) with host writes spliced into stderr; empty when not capturing."""
        if self.directory is None:
            return b"", b""
        stdout = _read_if_exists(self.stdout_path)
        program = _read_if_exists(self.stderr_path)
        stderr = bytearray()
        done = 0
        for offset, data in self._inserts:
            offset = min(max(offset, done), len(program))
            stderr += program[done:offset] + data
            done = offset
        stderr += program[done:]
        return stdout, bytes(stderr)


def _read_if_exists(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return b""


class HostContext:
    """What a host function sees of the instance that called it; valid only during the call."""

    def __init__(self, store: wasmtime.Store, caller: wasmtime.Caller, output: _Output) -> None:
        self.store = store
        self.caller = caller
        self._output = output
        self.state = output.state

    def export(self, name: str) -> Any:
        """The calling instance's export `name` (a Func, Memory, Table or Global), or None."""
        return self.caller.get(name)

    def memory(self) -> wasmtime.Memory:
        memory = self.caller.get("memory")
        if not isinstance(memory, wasmtime.Memory):
            raise HostTrap("the module exports no memory named 'memory'")
        return memory

    def table(self) -> wasmtime.Table | None:
        """The exported function table, or None when the module exports none."""
        table = self.caller.get(TABLE_EXPORT)
        return table if isinstance(table, wasmtime.Table) else None

    def read(self, address: int, size: int) -> bytes:
        """`size` bytes of linear memory at `address` (an i32, taken unsigned)."""
        memory = self.memory()
        start = address & 0xFFFFFFFF
        if size < 0 or start + size > memory.data_len(self.caller):
            raise HostTrap(f"host read of {size} bytes at {start:#x} is out of bounds")
        return bytes(memory.read(self.caller, start, start + size))

    def write(self, address: int, data: bytes) -> None:
        memory = self.memory()
        start = address & 0xFFFFFFFF
        if start + len(data) > memory.data_len(self.caller):
            raise HostTrap(f"host write of {len(data)} bytes at {start:#x} is out of bounds")
        memory.write(self.caller, data, start)

    def write_stderr(self, text: str | bytes) -> None:
        """Write to the program's stderr (captured with the program's own output)."""
        data = text.encode() if isinstance(text, str) else text
        self._output.write_stderr(data)


HostImpl = Callable[..., Any]


@attrs.frozen(slots=True)
class HostFunction:
    """One import the host provides: ``impl(ctx: HostContext, *args)`` returns the result or None."""

    module: str
    name: str
    type: FuncType
    impl: HostImpl
    doc: str = ""


class HostFunctions:
    """A registry of host functions keyed by (module, name); a later `add` replaces an earlier one."""

    def __init__(self, functions: Iterable[HostFunction] = ()) -> None:
        self._functions: dict[tuple[str, str], HostFunction] = {}
        for function in functions:
            self._functions[function.module, function.name] = function

    @classmethod
    def default(cls) -> HostFunctions:
        """The documented default set: env.irld_trace_*, env.irld_clock_ms, irld.closure_table_grow."""
        return cls(_DEFAULT_FUNCTIONS)

    def add(self, module: str, name: str, type: FuncType, impl: HostImpl, doc: str = "") -> None:
        self._functions[module, name] = HostFunction(module, name, type, impl, doc)

    def define(self, module: str, name: str, type: FuncType,
               doc: str = "") -> Callable[[HostImpl], HostImpl]:
        """Decorator form of `add`."""
        def register(impl: HostImpl) -> HostImpl:
            self.add(module, name, type, impl, doc)
            return impl
        return register

    def get(self, module: str, name: str) -> HostFunction | None:
        return self._functions.get((module, name))

    def copy(self) -> HostFunctions:
        return HostFunctions(self._functions.values())

    def __iter__(self) -> Iterator[HostFunction]:
        return iter(sorted(self._functions.values(), key=lambda f: (f.module, f.name)))

    def __len__(self) -> int:
        return len(self._functions)

    def __contains__(self, key: object) -> bool:
        return key in self._functions


def format_f64(value: float) -> str:
    """Format a double as JavaScript's Number::toString does (ECMA-262 §6.1.6.1.20).

    Both engines' trace output must match byte for byte, and Python's `repr`
    differs from JavaScript in the exponent thresholds (1e16 vs 10000000000000000),
    so we take the shortest round-trip digits from `repr` and lay them out by
    the ECMAScript rules.
    """
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "0"
    if value < 0:
        return "-" + format_f64(-value)
    if math.isinf(value):
        return "Infinity"
    digits_tuple = decimal.Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(str(d) for d in digits_tuple.digits)
    exponent = digits_tuple.exponent
    assert isinstance(exponent, int)
    k = len(digits)
    n = exponent + k  # value = 0.digits * 10**n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    sign = "+" if n - 1 >= 0 else "-"
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{sign}{abs(n - 1)}"


def _trace(kind: str, render: Callable[[Any], str]) -> HostImpl:
    def impl(ctx: HostContext, value: Any) -> None:
        ctx.write_stderr(f"trace {kind}: {render(value)}\n")
    return impl


def _clock_ms(ctx: HostContext) -> float:
    return time.perf_counter() * 1000.0


def closure_dispatch_export(type: FuncType) -> str:
    """The export name of the dispatcher for closures of wasm type `type`.

    The suffix is the signature in Emscripten's dynCall letters: the result
    first (``v`` for none), then the parameters; i=i32, j=i64, f=f32, d=f64.
    ``(i32, f64) -> i64`` is ``__irld_closure_dispatch_jid``.
    """
    letters = {ValType.I32: "i", ValType.I64: "j", ValType.F32: "f", ValType.F64: "d"}
    result = "v" if type.result is None else letters[type.result]
    return f"{CLOSURE_DISPATCH_EXPORT}_{result}{''.join(letters[p] for p in type.params)}"


def _from_wasmtime_type(ty: wasmtime.FuncType) -> FuncType | None:
    """The IR FuncType of a wasmtime one, or None if it uses types the IR lacks."""
    names = {"i32": ValType.I32, "i64": ValType.I64, "f32": ValType.F32, "f64": ValType.F64}
    params = [names.get(str(p)) for p in ty.params]
    results = [names.get(str(r)) for r in ty.results]
    if len(results) > 1 or any(v is None for v in params + results):
        return None
    return FuncType(tuple(p for p in params if p is not None), results[0] if results else None)


def _closure_table_grow(ctx: HostContext, template_index: int, closure_ctx: int) -> int:
    """FFI host hook: add a table slot that calls the closure dispatcher with `closure_ctx`.

    Returns the new slot's table index, or 0 (the null slot) when it cannot:
    no exported table, a template slot that is out of range or empty, no
    dispatcher export of the matching type, or a table at its maximum size.
    """
    table = ctx.table()
    if table is None:
        return 0
    template = table.get(ctx.store, template_index & 0xFFFFFFFF)
    if not isinstance(template, wasmtime.Func):
        return 0
    wt_type = template.type(ctx.caller)
    dispatch = _find_dispatch(ctx, wt_type)
    if dispatch is None:
        return 0

    def call_closure(caller: wasmtime.Caller, *args: Any) -> Any:
        return dispatch(caller, closure_ctx, *args)

    slot = wasmtime.Func(ctx.store, wt_type, call_closure, access_caller=True)
    try:
        index = table.grow(ctx.caller, 1, slot)
    except wasmtime.WasmtimeError:
        return 0
    return index if index < 2**31 else 0


def _find_dispatch(ctx: HostContext, wt_type: wasmtime.FuncType) -> wasmtime.Func | None:
    """The dispatcher export for `wt_type`: the typed name first, then the generic one."""
    names = []
    ir_type = _from_wasmtime_type(wt_type)
    if ir_type is not None:
        names.append(closure_dispatch_export(ir_type))
    names.append(CLOSURE_DISPATCH_EXPORT)
    want_params = ["i32"] + [str(p) for p in wt_type.params]
    want_results = [str(r) for r in wt_type.results]
    for name in names:
        candidate = ctx.export(name)
        if not isinstance(candidate, wasmtime.Func):
            continue
        ty = candidate.type(ctx.caller)
        if [str(p) for p in ty.params] == want_params and [str(r) for r in ty.results] == want_results:
            return candidate
    return None


_I32, _I64, _F64 = ValType.I32, ValType.I64, ValType.F64
_DEFAULT_FUNCTIONS = (
    HostFunction("env", "irld_trace_i32", FuncType((_I32,)), _trace("i32", str),
                 "print `trace i32: <signed value>` on stderr"),
    HostFunction("env", "irld_trace_i64", FuncType((_I64,)), _trace("i64", str),
                 "print `trace i64: <signed value>` on stderr"),
    HostFunction("env", "irld_trace_f64", FuncType((_F64,)), _trace("f64", format_f64),
                 "print `trace f64: <value>` on stderr (JavaScript number formatting)"),
    HostFunction("env", "irld_clock_ms", FuncType((), _F64), _clock_ms,
                 "a monotonic clock in milliseconds; only differences are meaningful"),
    HostFunction("irld", "closure_table_grow", FuncType((_I32, _I32), _I32), _closure_table_grow,
                 "FFI: grow the function table by a host closure slot; 0 if impossible"),
    HostFunction(ffi_fallback.MODULE, ffi_fallback.FIELD, FuncType((_I32, _I32, _I32, _I32)),
                 ffi_fallback.ffi_call_dynamic,
                 "FFI: call a table function of any signature (--ffi-fallback=host)"),
)


# --------------------------------------------------------------------------- wasmtime run


def _to_wasmtime_type(ty: FuncType) -> wasmtime.FuncType:
    make = {ValType.I32: wasmtime.ValType.i32, ValType.I64: wasmtime.ValType.i64,
            ValType.F32: wasmtime.ValType.f32, ValType.F64: wasmtime.ValType.f64}
    return wasmtime.FuncType([make[p]() for p in ty.params], [make[r]() for r in ty.results])


def _describe_type(ty: Any) -> str:
    """An import's type as irld writes it: ``(i32) -> i32``, ``memory``, ``global i32``."""
    if isinstance(ty, wasmtime.FuncType):
        params = ", ".join(str(p) for p in ty.params)
        results = [str(r) for r in ty.results]
        if not results:
            return f"({params})"
        if len(results) == 1:
            return f"({params}) -> {results[0]}"
        return f"({params}) -> ({', '.join(results)})"
    if isinstance(ty, wasmtime.GlobalType):
        return f"global {'mut ' if ty.mutable else ''}{ty.content}"
    if isinstance(ty, wasmtime.MemoryType):
        return "memory"
    if isinstance(ty, wasmtime.TableType):
        return f"table {ty.element}"
    return "item"


def _load(wasm: Wasm, name: str | None) -> tuple[bytes, str]:
    if isinstance(wasm, (bytes, bytearray, memoryview)):
        return bytes(wasm), name if name is not None else "<wasm>"
    label = name if name is not None else os.fspath(wasm)
    try:
        return Path(wasm).read_bytes(), label
    except OSError as exc:
        raise RunError(label, f"cannot read: {exc.strerror or exc}") from None


def _cause(message: str) -> str:
    """The innermost cause of a wasmtime error message, on one line."""
    _, found, tail = message.rpartition("Caused by:")
    text = tail if found else message.split("\n", 1)[0]
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # Drop anyhow's numbering ("0: ...") of cause chains, keep the last cause.
    reason = " ".join((lines[-1] if lines else message).split())
    head, sep, rest = reason.partition(": ")
    return rest if sep and head.isdigit() else reason


def _compile(engine: wasmtime.Engine, data: bytes, label: str) -> wasmtime.Module:
    # wasmtime.Module also accepts WAT text; irld run takes binaries only.
    if not data.startswith(b"\0asm"):
        raise InvalidModuleError(label, "not a valid wasm module: missing the \\0asm magic header")
    try:
        return wasmtime.Module(engine, data)
    except wasmtime.WasmtimeError as exc:
        raise InvalidModuleError(label, f"not a valid wasm module: {_cause(str(exc))}") from None


def _config(fuel: int | None, epochs: bool) -> wasmtime.Config:
    config = wasmtime.Config()
    if hasattr(config, "wasm_tail_call"):
        config.wasm_tail_call = True
    if fuel is not None:
        config.consume_fuel = True
    if epochs:
        config.epoch_interruption = True
    return config


def _define_host(linker: wasmtime.Linker, store: wasmtime.Store, host: HostFunctions,
                 output: _Output) -> None:
    for function in host:
        def call(caller: wasmtime.Caller, *args: Any, impl: HostImpl = function.impl) -> Any:
            return impl(HostContext(store, caller, output), *args)
        linker.define_func(function.module, function.name, _to_wasmtime_type(function.type),
                           call, access_caller=True)


class _ProcExit(Exception):
    """WASI `proc_exit(code)`, taken over from wasmtime's so that a status it refuses
    (outside [0, 126)) is reported with its value."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _define_proc_exit(linker: wasmtime.Linker) -> None:
    def proc_exit(code: int) -> None:
        raise _ProcExit(code & 0xFFFFFFFF)
    linker.define_func("wasi_snapshot_preview1", "proc_exit",
                       wasmtime.FuncType([wasmtime.ValType.i32()], []), proc_exit)


def _check_imports(linker: wasmtime.Linker, store: wasmtime.Store, module: wasmtime.Module,
                   label: str) -> None:
    problems = []
    for imp in module.imports:
        want = _describe_type(imp.type)
        try:
            item = linker.get(store, imp.module, imp.name or "")
        except wasmtime.WasmtimeError:
            problems.append(f"unknown import {imp.module}.{imp.name} {want}")
            continue
        if isinstance(imp.type, wasmtime.FuncType) and isinstance(item, wasmtime.Func):
            have = _describe_type(item.type(store))
            if have != want:
                problems.append(f"import {imp.module}.{imp.name} has type {want}, "
                                f"but the host provides {have}")
    if problems:
        raise HostImportError(label, problems)


def _frames(trap: wasmtime.Trap) -> tuple[TrapFrame, ...]:
    frames = []
    for frame in trap.frames:
        name = frame.func_name
        if name is None:
            name = f"<wasm function {frame.func_index}>"
        # wasmtime reports an unknown offset (a stack overflow at a function's
        # entry) as 2**64 - 1.
        offset = frame.module_offset if frame.module_offset < 1 << 63 else -1
        frames.append(TrapFrame(name, frame.func_index, offset))
    return tuple(frames)


def _trap_message(trap: wasmtime.Trap, fuel: int | None, timeout: float | None) -> str:
    code = trap.trap_code
    if code == wasmtime.TrapCode.OUT_OF_FUEL:
        return f"out of fuel (limit {fuel})"
    if code == wasmtime.TrapCode.INTERRUPT and timeout is not None:
        return f"timed out after {timeout:g}s"
    engine = _cause(trap.message).removeprefix('wasm trap: ')
    return f"wasm trap: {trap_words(None if code is None else code.name, engine)}"


def _stdin_file(stdin: bytes | os.PathLike[str], directory: str) -> str:
    if isinstance(stdin, bytes):
        path = os.path.join(directory, "stdin")
        Path(path).write_bytes(stdin)
        return path
    path = os.fspath(stdin)
    # Not isfile: a FIFO or /dev/stdin is a fine stdin.
    if os.path.isdir(path) or not os.access(path, os.R_OK):
        raise RunError(path, "cannot read: not a readable file")
    return path


@contextlib.contextmanager
def _interrupt_on_sigint(engine: wasmtime.Engine) -> Iterator[None]:
    """Make SIGINT interrupt wasm code as well as Python.

    Python runs its SIGINT handler only between bytecodes, never while wasm
    runs.  But its C-level handler writes the signal number to the wakeup fd at
    once, so a watcher thread reading that fd bumps the engine epoch, the wasm
    code traps at its next epoch check, and the pending KeyboardInterrupt is
    raised as soon as control is back in Python.
    """
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:  # not the main thread after all
        os.close(read_fd)
        os.close(write_fd)
        yield
        return

    def watch() -> None:
        while True:
            data = os.read(read_fd, 64)
            if not data:
                return
            if signal.SIGINT in data:
                engine.increment_epoch()

    watcher = threading.Thread(target=watch, name="irld-sigint-watcher", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        os.close(write_fd)  # the watcher reads end-of-file and returns
        watcher.join()
        os.close(read_fd)


def run(wasm: Wasm, argv: Sequence[str], *,
        stdin: bytes | os.PathLike[str] | None = None, fuel: int | None = None,
        timeout: float | None = None, host: HostFunctions | None = None,
        capture: bool = False, name: str | None = None,
        interruptible: bool = False,
        library_path: Sequence[str | os.PathLike[str]] = ()) -> RunResult:
    """Run a WASI command with wasmtime and report how it ended.

    `argv` is the program's full argument vector, `argv[0]` its name (the file
    name if `argv` is empty).  The environment is empty.  `stdin` is bytes fed
    to the program, a path to a file, or None to inherit this process's stdin.
    With `capture`, stdout and stderr (including host traces and the trap
    message) are returned in the result; otherwise they go to this process's.
    `name` labels diagnostics when `wasm` is bytes.  With `interruptible`
    (the CLI sets it), SIGINT stops the wasm code too, so Ctrl-C raises
    KeyboardInterrupt even in an infinite loop (main thread only).
    `library_path` lists directories searched for shared libraries after the
    program's own directory (`linker.host.loader`, docs/dynamic.md).

    Raises `RunError` (`InvalidModuleError`, `HostImportError`) when the
    program cannot start; everything after that is reported in the result.
    """
    data, label = _load(wasm, name)
    interruptible = interruptible and threading.current_thread() is threading.main_thread()
    engine = wasmtime.Engine(_config(fuel, timeout is not None or interruptible))
    module = _compile(engine, data, label)
    # A module on disk may name its source map (`irld link --source-map`).
    path = None if isinstance(wasm, (bytes, bytearray, memoryview)) else os.fspath(wasm)
    smap = load_for(path, data) if path is not None else None
    with tempfile.TemporaryDirectory(prefix="irld-run-") as directory:
        output = _Output(directory if capture else None)
        store = wasmtime.Store(engine)
        if timeout is not None or interruptible:
            store.set_epoch_deadline(1)
        try:
            if interruptible:
                with _interrupt_on_sigint(engine):
                    return _run_in_store(engine, store, module, label, argv, stdin, directory,
                                         fuel, timeout, host, output, smap,
                                         _Dynamic(data, _search_path(wasm, library_path)))
            return _run_in_store(engine, store, module, label, argv, stdin, directory, fuel,
                                 timeout, host, output, smap,
                                 _Dynamic(data, _search_path(wasm, library_path)))
        finally:
            # Release wasmtime's handles on the files before the directory goes.
            store.close()


def _run_in_store(engine: wasmtime.Engine, store: wasmtime.Store, module: wasmtime.Module,
                  label: str, argv: Sequence[str], stdin: bytes | os.PathLike[str] | None,
                  directory: str, fuel: int | None, timeout: float | None,
                  host: HostFunctions | None, output: _Output,
                  smap: SourceMap | None = None,
                  dynamic: _Dynamic | None = None) -> RunResult:
    if fuel is not None:
        store.set_fuel(fuel)
    wasi = wasmtime.WasiConfig()
    wasi.argv = list(argv) if argv else [label]
    wasi.env = []
    if stdin is not None:
        wasi.stdin_file = _stdin_file(stdin, directory)
    else:
        wasi.inherit_stdin()
    output.configure(wasi)
    store.set_wasi(wasi)

    linker = wasmtime.Linker(engine)
    linker.allow_shadowing = True
    linker.define_wasi()
    _define_proc_exit(linker)
    loaders: list[DynamicLoader] = []
    define_dl_functions(linker, lambda: loaders[0] if loaders else None)
    _define_host(linker, store, host if host is not None else HostFunctions.default(), output)
    dynamic_main = dynamic is not None and is_dynamic_main(dynamic.data)
    if not dynamic_main:
        _check_imports(linker, store, module, label)
    start_type = next((e.type for e in module.exports if e.name == "_start"), None)
    if not isinstance(start_type, wasmtime.FuncType) or start_type.params or start_type.results:
        raise RunError(label, "not a WASI command: no exported function _start: () -> ()")
    instantiate: Callable[[], wasmtime.Instance] | None = None
    if dynamic is not None:
        loader = DynamicLoader(store, engine, linker, dynamic.search_path)
        loaders.append(loader)
        instantiate = _dynamic_instantiate(loader, linker, module, dynamic, label, dynamic_main)
    return _execute(engine, store, linker, module, fuel, timeout, output, smap, instantiate)


@attrs.frozen(slots=True)
class _Dynamic:
    """What the dynamic loader needs of a run: the main module's bytes, the library search path."""

    data: bytes
    search_path: tuple[Path, ...]


def _search_path(wasm: Wasm, library_path: Sequence[str | os.PathLike[str]]) -> tuple[Path, ...]:
    """The program's own directory (the working directory for bytes), then `library_path`."""
    own = Path(".") if isinstance(wasm, (bytes, bytearray, memoryview)) else Path(wasm).parent
    return (own, *(Path(p) for p in library_path))


def _dynamic_instantiate(loader: DynamicLoader, linker: wasmtime.Linker, module: wasmtime.Module,
                         dynamic: _Dynamic, label: str,
                         dynamic_main: bool) -> Callable[[], wasmtime.Instance]:
    """Instantiation through the loader: all needed libraries for a PIC main, else dlopen only."""
    def instantiate() -> wasmtime.Instance:
        if dynamic_main:
            instance = loader.load_main(dynamic.data, label)
        else:
            instance = linker.instantiate(loader.store, module)
            loader.attach_static_main(instance, dynamic.data, label)
            loader.install_split()
        loader.running = True
        return instance
    return instantiate


def _execute(engine: wasmtime.Engine, store: wasmtime.Store, linker: wasmtime.Linker,
             module: wasmtime.Module, fuel: int | None, timeout: float | None,
             output: _Output, smap: SourceMap | None = None,
             instantiate: Callable[[], wasmtime.Instance] | None = None) -> RunResult:
    timer: threading.Timer | None = None
    if timeout is not None:
        timer = threading.Timer(timeout, engine.increment_epoch)
        timer.daemon = True
        timer.start()
    message: str | None = None
    frames: tuple[TrapFrame, ...] = ()
    exit_code = 0
    try:
        instance = instantiate() if instantiate is not None else linker.instantiate(store, module)
        start = instance.exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        start(store)
    except wasmtime.ExitTrap as exc:
        exit_code = exc.code
    except _ProcExit as exc:
        exit_code = exc.code
        if exc.code >= 126:
            message = f"exit with invalid exit status outside of [0..126): {exc.code}"
    except wasmtime.Trap as exc:
        message, frames = _trap_message(exc, fuel, timeout), _frames(exc)
        if is_panic(frames):
            message = PANIC
        frames = in_ir_terms(frames, smap)
    except HostTrap as exc:
        message = f"host trap: {exc}"
    except wasmtime.WasmtimeError as exc:
        # e.g. proc_exit with a status outside [0, 126), or a failed instantiation.
        message = _cause(str(exc))
    finally:
        if timer is not None:
            timer.cancel()
    fallback = ffi_fallback.summary(output.state)
    if fallback:
        output.write_stderr(fallback.encode())
    if message is not None:
        exit_code = EXIT_TRAP
        output.write_stderr(render_trap(message, frames).encode())
    stdout, stderr = output.captured()
    return RunResult(exit_code, stdout, stderr, message, frames)
