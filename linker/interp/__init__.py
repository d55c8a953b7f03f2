"""The reference interpreter: run a linked program from its IR (see `linker.interp.machine`).

    result = run_program(link_result, ["prog", "arg"], stdin=b"")

`run_program` takes a `linker.driver.LinkResult` whose emit phase ran and
returns a `linker.runtime.RunResult` shaped like the engines' results: the
exit status (134 after a trap), stdout, stderr (a panic's message, then
``error: wasm trap: <reason>`` and the backtrace as ``  at <function>``
lines) and the trap message.  The differential tests (tests/fuzz) compare it
with wasmtime and Node; `trap_category` maps the three engines' trap
messages onto the categories they can agree on.

Not covered yet: the dynamic FFI runtime (`ffi_call`, closures): the linker
does not provide it yet, and a program calling it fails with `InterpError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from linker.interp.image import build_image, emitted_image, image_mismatches, symbol_addresses
from linker.interp.machine import Exit, InterpError, Machine, OutOfFuel
from linker.interp.semantics import Trap
from linker.interp.wasi import Host
from linker.runtime import EXIT_TRAP, RunResult, TrapFrame, render_trap

__all__ = ["InterpError", "Trap", "image_mismatches", "run_program", "trap_category"]


def run_program(link_result: object, argv: Sequence[str], stdin: bytes = b"", *,
                max_steps: int | None = None, max_depth: int | None = None,
                image: str = "ir") -> RunResult:
    """Interpret a linked program as `_start` would run it.

    `link_result` is a `LinkResult` (anything with `.program` and `.emitted`).
    `max_steps` bounds the number of executed steps (straight-line pieces of
    blocks); running out is reported like wasmtime's fuel (status 134, trap
    ``out of fuel``).  `image`: "ir" (default) computes the initial memory
    from the IR data and the layout (`linker.interp.image`), independently of
    the emitter's relocations; "emitted" copies the emitted data segments.
    Raises `InterpError` when the program cannot start.
    """
    prog = getattr(link_result, "program", None)
    emitted = getattr(link_result, "emitted", None)
    if prog is None or emitted is None:
        raise InterpError("the link result has no emitted program (did the link run to emit?)")
    layout = emitted.memory
    memory = emitted_image(link_result) if image == "emitted" else build_image(link_result)
    data = symbol_addresses(link_result)
    host = Host(memory, list(argv) if argv else ["prog"], stdin)
    kwargs = {} if max_depth is None else {"max_depth": max_depth}
    machine = Machine(prog, memory, layout.max_pages if layout.max_pages is not None else 65536,
                      data, emitted.table.slots, emitted.table.size, host.functions(),
                      host.stderr, **kwargs)
    fuel = None if max_steps is None else [max_steps]
    message: str | None = None
    exit_code = 0
    try:
        for sym in prog.ctors:
            machine.call(machine.funcs[sym], [], fuel)
        if prog.entry is not None:
            fn = machine.funcs[prog.entry]
            result = machine.call(fn, [], fuel)
            if fn.type.result is not None and fn.type.result.value == "i32":
                host.proc_exit([result])
    except Exit as exc:
        exit_code = exc.code
        if not 0 <= exit_code < 126:
            message = f"exit with invalid exit status outside of [0..126): {exit_code}"
    except Trap as exc:
        message = f"wasm trap: {exc.reason}"
    except OutOfFuel:
        message = f"out of fuel (limit {max_steps})"
    frames: tuple[TrapFrame, ...] = ()
    if message is not None:
        exit_code = EXIT_TRAP
        frames = tuple(TrapFrame(name, -1, -1) for name in getattr(machine, "backtrace", []))
        host.stderr += render_trap(message, frames).encode()
    return RunResult(exit_code, bytes(host.stdout), bytes(host.stderr), message, frames)


# Substrings of the engines' trap messages, by category.  V8 reports a null
# slot and a signature mismatch with one message, and wasmtime one message for
# a division overflow and an out-of-range float conversion, so those share a
# category.
_CATEGORIES = (
    ("unreachable", ("unreachable",)),
    ("arithmetic", ("divide by zero", "remainder by zero", "integer overflow",
                    "invalid conversion", "unrepresentable")),
    ("memory", ("out of bounds memory", "memory access out of bounds")),
    ("indirect call", ("indirect call", "uninitialized element", "undefined element",
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
