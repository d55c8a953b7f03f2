"""Host functions of a `linker.host.HostFunctions` registry, run by the interpreter.

`linker.host.run` calls each registry function as ``impl(ctx, *args)``
with a `HostContext` of the wasmtime instance; the interpreter gives the
same functions an `InterpContext` with the parts of that interface the
tests use:

* ``read(address, size)`` / ``write(address, data)`` on linear memory
  (`HostTrap` when out of bounds, as `HostContext`);
* ``write_stderr(text)``;
* ``export(name)``: an exported function as a callable ``f(caller, *args)``
  (a `foreign export ccall` with an 8/16-bit result goes through its
  extending adapter, as the linker's export does), or the table for
  ``__indirect_function_table``, else None;
* ``table()``: the function table; ``table.get(store, index)`` is a
  callable ``f(caller, *args)`` for the slot's function, None for a null
  or out-of-range slot;
* ``store`` and ``caller`` are placeholders (passed back, never used).

Arguments are passed as wasmtime-py passes them (i32 and i64 signed) and
results taken back in the interpreter's representation (masked, f32
rounded).  A callable runs the function with `Machine.call`, nested in the
current run: same step budget, same depth limit.
"""

from __future__ import annotations

from typing import Any

from linker.interp import semantics as sem
from linker.interp.ffi import extend, small_result
from linker.interp.machine import Function, Machine
from linker.ir.types import FuncType, ValType
from linker.host import TABLE_EXPORT, HostFunction, HostFunctions, HostTrap

__all__ = ["InterpContext", "registry_hosts"]


def to_interp(t: ValType, v: Any) -> Any:
    if t is ValType.I32:
        return int(v) & sem.M32
    if t is ValType.I64:
        return int(v) & sem.M64
    if t is ValType.F32:
        return sem.fround(float(v))
    return float(v)


def to_host(t: ValType, v: Any) -> Any:
    """wasmtime-py's view: signed integers."""
    if t is ValType.I32:
        return v - (1 << 32) if v >> 31 else v
    if t is ValType.I64:
        return v - (1 << 64) if v >> 63 else v
    return v


class _Callable:
    """A program function as wasmtime-py's `Func`: ``f(caller, *args)``."""

    def __init__(self, machine: Machine, fn: Function, adapt: Any = None) -> None:
        self.machine = machine
        self.fn = fn
        self.adapt = adapt

    def type(self, _caller: Any = None) -> FuncType:
        return self.fn.type

    def __call__(self, _caller: Any, *args: Any) -> Any:
        ft = self.fn.type
        if len(args) != len(ft.params):
            raise HostTrap(f"{self.fn.name}: expected {len(ft.params)} arguments, got {len(args)}")
        values = [to_interp(t, a) for t, a in zip(ft.params, args)]
        m = self.machine
        result = m.call(self.fn, values, m.fuel)
        if ft.result is None:
            return None
        if self.adapt is not None:
            result = extend(self.adapt, result)
        return to_host(ft.result, result)


class InterpTable:
    """The function table as wasmtime-py's `Table` (`get`, `size`)."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def get(self, _store: Any, index: int) -> _Callable | None:
        table = self.machine.table
        if not 0 <= index < len(table):
            return None
        fn = table[index]
        return None if fn is None else _Callable(self.machine, fn)

    def size(self, _store: Any = None) -> int:
        return len(self.machine.table)


class InterpContext:
    """What a registry host function sees of the interpreted instance (see the module doc)."""

    def __init__(self, machine: Machine, stderr: bytearray) -> None:
        self.machine = machine
        self.stderr = stderr
        self.store: Any = None
        self.caller: Any = None

    def export(self, name: str) -> Any:
        m = self.machine
        if name == TABLE_EXPORT:
            return InterpTable(m)
        sym = dict(m.prog.exports).get(name)
        if sym is None or sym not in m.funcs:
            return None
        adapt = None
        plan = m.prog.ffi
        if plan is not None:
            for ename, _sym, sig in plan.export_adapters:
                if ename == name:
                    adapt = small_result(sig)
        return _Callable(m, m.funcs[sym], adapt)

    def table(self) -> InterpTable:
        return InterpTable(self.machine)

    def read(self, address: int, size: int) -> bytes:
        memory = self.machine.memory
        start = address & sem.M32
        if size < 0 or start + size > len(memory):
            raise HostTrap(f"host read of {size} bytes at {start:#x} is out of bounds")
        return bytes(memory[start:start + size])

    def write(self, address: int, data: bytes) -> None:
        memory = self.machine.memory
        start = address & sem.M32
        if start + len(data) > len(memory):
            raise HostTrap(f"host write of {len(data)} bytes at {start:#x} is out of bounds")
        memory[start:start + len(data)] = data

    def write_stderr(self, text: str | bytes) -> None:
        self.stderr += text.encode() if isinstance(text, str) else text


def registry_hosts(registry: HostFunctions, ctx_of: Any
                   ) -> dict[tuple[str, str], tuple[FuncType, Any]]:
    """The registry's functions that are not the runtime's defaults, as interpreter host
    functions; `ctx_of()` gives the `InterpContext` (made once the machine exists).

    The defaults (`HostFunctions.default()`: `env.irld_trace_*`, `env.irld_clock_ms`,
    `irld.closure_table_grow`) are wasmtime implementations; the interpreter has its own."""
    defaults = {(f.module, f.name): f.impl for f in HostFunctions.default()}
    out: dict[tuple[str, str], tuple[FuncType, Any]] = {}
    for f in registry:
        if defaults.get((f.module, f.name)) is f.impl:
            continue
        out[f.module, f.name] = (f.type, _adapt(f, ctx_of))
    return out


def _adapt(f: HostFunction, ctx_of: Any) -> Any:
    ft = f.type
    impl = f.impl

    def call(args: list[Any]) -> Any:
        result = impl(ctx_of(), *[to_host(t, a) for t, a in zip(ft.params, args)])
        if ft.result is None:
            return None
        return to_interp(ft.result, result)
    return call
