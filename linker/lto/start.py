"""`_start` as an IR function, so the LTO passes see the program's start.

Without LTO the writer assembles `_start` itself (`linker.writer`'s
`add_start`): the ctors by priority, the entry, libc's dtors, and
`proc_exit` with the entry's i32 result.  Code the linker assembles is
opaque to the passes, so the entry, called once, could never be inlined
into it (binaryen inlines a function with a single caller, `main` into
`_start` included).  Under `--lto` the same calls are written as the body
of an IR function, `START`, which takes part in every pass as a caller
nothing else may call: the entry and the ctors it calls are no longer
roots of their own (unless exported, address-taken or referenced from C
or data), so a single-use entry or ctor is inlined into it and its own
function goes.  The writer generates the optimized body as `_start`
(`LiveProgram.start`); the reference interpreter runs it in place of
its own ctors-then-entry protocol.

Not made (the writer's own `_start` stays) when the program has no entry
(a reactor's `_initialize`), when a symbol of the program is itself named
`_start` (crt1's `_start` as the entry), with `--instrument` (the trace
reports the entry as a function of its own), or with `--checked` (its
messages name functions from a pool built before LTO runs).  When crt1 runs the ctors
(`__wasm_call_ctors` is referenced), `_start` does not call them, and they
stay roots.
"""

from __future__ import annotations

from linker.ir import model as ir
from linker.ir.types import FuncType, ValType
from linker.linker_symbols import CALL_DTORS
from linker.writer import PROC_EXIT, PROC_EXIT_SYMBOL, LiveProgram

START = "_start"
_RESULT = "status"


def wanted(prog: LiveProgram, types: dict[str, FuncType]) -> bool:
    """Whether `_start` can be an IR function for this program."""
    return (prog.entry is not None and START not in types and prog.entry in types
            and not types[prog.entry].params)


def called(prog: LiveProgram) -> list[str]:
    """The program's symbols `_start` calls: the ctors (unless crt1 runs them) and
    the entry; they need not be roots once `_start` is IR."""
    assert prog.entry is not None
    ctors = [] if prog.call_ctors else list(prog.ctors)
    return [*ctors, prog.entry]


def start_func(prog: LiveProgram, types: dict[str, FuncType]) -> ir.Func:
    """The writer's `_start` as IR: ctors, the entry, the dtors, `proc_exit`."""
    assert prog.entry is not None
    stmts: list[ir.Stmt] = [ir.Call(None, s, ()) for s in called(prog)[:-1]]
    result = types[prog.entry].result
    locals_: tuple[ir.Param, ...] = ()
    if result is ValType.I32:
        locals_ = (ir.Param(_RESULT, result),)
        stmts.append(ir.Call(_RESULT, prog.entry, ()))
    else:
        stmts.append(ir.Call(None, prog.entry, ()))   # another result type is dropped
    if prog.call_dtors:     # flush stdio before the exit status goes out
        stmts.append(ir.Call(None, CALL_DTORS, ()))
    if result is ValType.I32:
        stmts.append(ir.Call(None, PROC_EXIT_SYMBOL, (ir.LocalGet(_RESULT),)))
    entry = ir.BasicBlock("entry", tuple(stmts), ir.Return(None))
    return ir.Func(START, (), None, locals_, (entry,))


def start_types() -> dict[str, FuncType]:
    """The types of the linker's symbols `_start` calls (the writer imports `proc_exit`
    for every entry)."""
    return {START: FuncType(), PROC_EXIT_SYMBOL: PROC_EXIT}


__all__ = ["START", "called", "start_func", "start_types", "wanted"]
