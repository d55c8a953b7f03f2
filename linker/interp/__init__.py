"""The reference interpreter: run a linked program from its IR (see `linker.interp.machine`).

    result = run_program(link_result, ["prog", "arg"], stdin=b"")

`run_program` takes a `linker.driver.LinkResult` whose emit phase ran and
returns a `linker.host.RunResult` shaped like the engines' results: the
exit status (134 after a trap), stdout, stderr (a panic's message, then
``error: wasm trap: <reason>`` and the backtrace as ``  at <function>``
lines) and the trap message.  The differential tests (tests/fuzz) compare it
with wasmtime and Node; `trap_category` maps the three engines' trap
messages onto the categories they can agree on.

The FFI runtime the linker generates as wasm (`ffi_call`, closure pools and
their growth, the static adapters) is reproduced by `linker.interp.ffi`;
host functions of a `linker.host.HostFunctions` registry (`host=`) run
with an `InterpContext` (`linker.interp.hostctx`).
"""

from __future__ import annotations

from collections.abc import Sequence

from linker.interp.image import build_image, emitted_image, image_mismatches, symbol_addresses
from linker.interp.ffi import ffi_layout
from linker.interp.hostctx import InterpContext, registry_hosts
from linker.interp.machine import DEFAULT_MAX_DEPTH, Exit, InterpError, Machine, OutOfFuel
from linker.interp.semantics import Trap
from linker.interp.wasi import Host
from linker.writer import LiveProgram
from linker.host import EXIT_TRAP, HostFunctions, HostTrap, RunResult, TrapFrame, render_trap

__all__ = ["InterpError", "Trap", "image_mismatches", "run_program", "trap_category"]


def run_program(link_result: object, argv: Sequence[str], stdin: bytes = b"", *,
                max_steps: int | None = None, max_depth: int | None = None,
                image: str = "ir", host: HostFunctions | None = None,
                closure_growth: bool = True, stats: dict[str, int] | None = None) -> RunResult:
    """Interpret a linked program as `_start` would run it.

    `link_result` is a `LinkResult` (anything with `.program` and `.emitted`).
    `max_steps` bounds the number of executed steps (straight-line pieces of
    blocks); running out is reported like wasmtime's fuel (status 134, trap
    ``out of fuel``).  `image`: "ir" (default) computes the initial memory
    from the IR data and the layout (`linker.interp.image`), independently of
    the emitter's relocations; "emitted" copies the emitted data segments.
    `host`: a `HostFunctions` registry as `linker.host.run` takes (its
    functions other than the defaults are called with an `InterpContext`).
    `closure_growth`: the host grows the table for closures as `irld run`
    (wasmtime) does; False models a host that cannot grow, whose
    `irld.closure_table_grow` returns 0.
    `stats`, if given, receives ``closure_slots_grown``: the table slots the
    host added for closures (0: the run does not depend on the host model).
    Raises `InterpError` when the program cannot start.
    """
    prog = getattr(link_result, "program", None)
    emitted = getattr(link_result, "emitted", None)
    if prog is None or emitted is None:
        raise InterpError("the link result has no emitted program (did the link run to emit?)")
    layout = emitted.memory
    memory = emitted_image(link_result) if image == "emitted" else build_image(link_result)
    data = symbol_addresses(link_result)
    wasi = Host(memory, list(argv) if argv else ["prog"], stdin)
    hosts = wasi.functions()
    ctx: list[InterpContext] = []
    if host is not None:
        hosts.update(registry_hosts(host, lambda: ctx[0]))
    try:
        machine = Machine(prog, memory,
                          layout.max_pages if layout.max_pages is not None else 65536,
                          data, emitted.table.slots, emitted.table.size, hosts, wasi.stderr,
                          max_depth if max_depth is not None else DEFAULT_MAX_DEPTH,
                          ffi_layout(link_result), closure_growth)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        # The IR comes from objects whose references were verified only when
        # whoever wrote them compiled them (see linker.writer._compile_from_object).
        raise InterpError(f"the objects' IR does not compile ({type(exc).__name__}: {exc}); "
                          "an object is inconsistent, recompile it") from None
    ctx.append(InterpContext(machine, wasi.stderr))
    fuel = None if max_steps is None else [max_steps]
    message: str | None = None
    exit_code = 0
    try:
        if prog.start is not None:      # LTO's `_start` (linker.lto.start)
            machine.call(machine.funcs[prog.start.name], [], fuel)
        else:
            _start_protocol(machine, prog, wasi, fuel)
    except Exit as exc:
        exit_code = exc.code
        if not 0 <= exit_code < 126:
            message = f"exit with invalid exit status outside of [0..126): {exit_code}"
    except Trap as exc:
        message = f"wasm trap: {exc.reason}"
    except OutOfFuel:
        message = f"out of fuel (limit {max_steps})"
    except HostTrap as exc:
        message = f"host trap: {exc}"
    if stats is not None:
        stats["closure_slots_grown"] = 0 if machine.ffi is None else machine.ffi.grown_slots
    frames: tuple[TrapFrame, ...] = ()
    if message is not None:
        exit_code = EXIT_TRAP
        frames = tuple(TrapFrame(name, -1, -1) for name in getattr(machine, "backtrace", []))
        wasi.stderr += render_trap(message, frames).encode()
    return RunResult(exit_code, bytes(wasi.stdout), bytes(wasi.stderr), message, frames)


def _start_protocol(machine: Machine, prog: LiveProgram, wasi: Host,
                    fuel: list[int] | None) -> None:
    """The writer's `_start`: the ctors in order, the entry, `proc_exit` with its i32 result."""
    for sym in prog.ctors:
        machine.call(machine.funcs[sym], [], fuel)
    if prog.entry is not None:
        fn = machine.funcs[prog.entry]
        result = machine.call(fn, [], fuel)
        if fn.type.result is not None and fn.type.result.value == "i32":
            wasi.proc_exit([result])


# Substrings of the engines' trap messages, by category.  V8 reports a null
# slot and a signature mismatch with one message, and wasmtime one message for
# a division overflow and an out-of-range float conversion, so those share a
# category.
_CATEGORIES = (
    ("unreachable", ("unreachable", "panic")),
    ("arithmetic", ("divide by zero", "remainder by zero", "integer overflow",
                    "invalid conversion", "unrepresentable")),
    ("memory", ("out of bounds memory", "memory access out of bounds")),
    ("indirect call", ("indirect call", "uninitialized element", "undefined element",
                       "function table",
                       "signature mismatch", "table index is out of bounds", "null function")),
    ("stack", ("call stack exhausted", "stack overflow", "Maximum call stack")),
    ("fuel", ("out of fuel", "timed out")),
    ("exit", ("exit status", "exit with invalid")),
)


def trap_category(message: str | None) -> str | None:
    """The engine-independent category of a trap message (None: no trap)."""
    if message is None:
        return None
    for category, needles in _CATEGORIES:
        if any(n in message for n in needles):
            return category
    return "other: " + message
