"""Traps in IR terms: the trap kind in words, and backtrace frames with IR locations.

Engines name the same trap differently (wasmtime: "uninitialized element",
V8: "null function or function signature mismatch"); `trap_words` maps
wasmtime's trap codes and V8's messages onto one vocabulary, so `irld run`
says the same thing on both engines wherever the engine tells the cases
apart.  (`node_runner.mjs` carries the same table for V8, in JavaScript.)

A frame's module offset (wasmtime's `FrameInfo.module_offset`, V8's
`wasm-function[i]:0xOFFSET`) is looked up in the program's source map
(`linker.sourcemap`), which `irld link --source-map` wrote and named in the
module's `sourceMappingURL` section: the frame then shows the IR
`file:line:col` of the statement it was executing.

A panic (the linker's `__irld_panic`, or a failed check of `--checked`, on
top of the stack) is reported as `panic`: the program has already printed ``panic in <f>: <message>``, and
the backtrace starts at the function that panicked.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from linker.host.common import TrapFrame
from linker.sourcemap import SourceMap

PANIC_FUNCTION = "__irld_panic"
CHECK_PREFIX = "__irld_check"        # checked mode's functions (`linker.checked`)
PANIC = "panic"

# wasmtime.TrapCode member name -> words
WASMTIME_WORDS = {
    "STACK_OVERFLOW": "call stack exhausted",
    "MEMORY_OUT_OF_BOUNDS": "out of bounds memory access",
    "HEAP_MISALIGNED": "misaligned memory access",
    "TABLE_OUT_OF_BOUNDS": "indirect call past the end of the function table",
    "INDIRECT_CALL_TO_NULL": "indirect call to a null function pointer",
    "BAD_SIGNATURE": "indirect call type mismatch",
    "INTEGER_OVERFLOW": "integer overflow",
    "INTEGER_DIVISION_BY_ZERO": "integer divide by zero",
    "BAD_CONVERSION_TO_INTEGER": "invalid conversion to integer",
    "UNREACHABLE": "unreachable instruction executed",
}

# V8's RuntimeError / RangeError message -> words (V8 does not tell a null
# slot from a signature mismatch).
V8_WORDS = {
    "Maximum call stack size exceeded": "call stack exhausted",
    "memory access out of bounds": "out of bounds memory access",
    "table index is out of bounds": "indirect call past the end of the function table",
    "null function or function signature mismatch":
        "indirect call to a null function pointer or of the wrong type",
    "divide result unrepresentable": "integer overflow",
    "divide by zero": "integer divide by zero",
    "remainder by zero": "integer divide by zero",
    "float unrepresentable in integer range": "invalid conversion to integer",
    "unreachable": "unreachable instruction executed",
}


def trap_words(engine_kind: str | None, fallback: str) -> str:
    """The words for a wasmtime trap code name or V8 message; `fallback` otherwise."""
    if engine_kind is None:
        return fallback
    return WASMTIME_WORDS.get(engine_kind) or V8_WORDS.get(engine_kind) or fallback


def _runtime(frame: TrapFrame) -> bool:
    return frame.name == PANIC_FUNCTION or frame.name.startswith(CHECK_PREFIX)


def is_panic(frames: Sequence[TrapFrame]) -> bool:
    """Did the program stop in the panic runtime (a panic, or a failed check)?"""
    return bool(frames) and _runtime(frames[0])


def in_ir_terms(frames: Sequence[TrapFrame], smap: SourceMap | None) -> tuple[TrapFrame, ...]:
    """The frames without the panic runtime's, each with its IR location when
    the source map has one; a frame without an offset is taken to be at its
    function's entry (`SourceMap.entries`)."""
    k = 0
    while k < len(frames) and _runtime(frames[k]):
        k += 1
    out = list(frames[k:])
    if smap is None:
        return tuple(out)
    located = []
    for f in out:
        offset = f.module_offset
        if offset < 0:
            offset = smap.entries.get(f.func_index, -1)
        loc = smap.lookup(offset) if offset >= 0 else None
        located.append(f if loc is None else attrs.evolve(f, location=f"{loc[0]}:{loc[1]}:{loc[2]}"))
    return tuple(located)
