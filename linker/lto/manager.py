"""The LTO pass manager: passes registered by name, a default pipeline, timings.

As binaryen's `PassRegistry`: each pass has a name (binaryen's name where
binaryen has the same pass) and a help line; `--lto-passes=a,b,c` picks a
pipeline by names, the default is `DEFAULT_PIPELINE`.  `run_passes` runs
them in order on a `Whole`, timing each and, when asked (`-v`), estimating
the code bytes each saved: every live IR function is generated with a
stand-in resolver whose every index is 1,000 (a 2-byte LEB, the typical
width in a large program) and the body sizes summed.  The estimate costs a
code generation per pass, so it is only made for `-v`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs

from linker.codegen import FuncContext, TailCallMode, compile_function
from linker.ir import model as ir
from linker.ir.types import FuncType, ValType
from linker.lto import dae, dce, directize, discovery, globals_, icf, inlining, merge_blocks, \
    precompute, tail_call_loop
from linker.lto.whole import Whole


@attrs.frozen(slots=True)
class Pass:
    name: str
    help: str
    run: Callable[[Whole], None]


PASSES: dict[str, Pass] = {p.name: p for p in (
    Pass("precompute-propagate", "fold constants, link-time ones included (data addresses, "
         "table slots, signature ids, read-only data), and propagate them", precompute.run),
    Pass("directize", "indirect calls through a known table slot become direct calls",
         directize.run),
    Pass("simplify-globals", "globals never written become constants; writes of globals "
         "never read are dropped", globals_.run),
    Pass("inlining", "inline small and single-use functions across modules", inlining.run),
    Pass("dae", "dead-argument elimination: parameters never read, and arguments every "
         "call passes as the same constant, leave functions only direct calls reach", dae.run),
    Pass("tail-call-loop", "a self tail call becomes a loop", tail_call_loop.run),
    Pass("dce", "drop unreachable blocks, dead assignments and unused locals", dce.run),
    Pass("merge-blocks", "jump threading, block merging, empty and unreachable blocks",
         merge_blocks.run),
    Pass("duplicate-function-elimination", "identical code folding (safe: not for "
         "address-taken functions)", icf.run),
    Pass("remove-unused-module-elements", "second discovery: drop functions and globals "
         "the passes made unreachable", discovery.run),
)}

DEFAULT_PIPELINE: tuple[str, ...] = (
    "precompute-propagate", "directize", "simplify-globals", "inlining", "dae", "inlining",
    "tail-call-loop",
    "precompute-propagate", "directize", "dce", "merge-blocks",
    "precompute-propagate", "dce",
    "duplicate-function-elimination", "remove-unused-module-elements",
)


def default_pipeline(trampoline: bool) -> tuple[str, ...]:
    """The pipeline `--lto` runs.  In native mode a self tail call is one
    `return_call`, already a jump in constant stack, and the loop costs a
    `local.set` per argument: `tail-call-loop` runs only in trampoline mode,
    where it saves a thunk and a round trip through the driver per iteration."""
    if trampoline:
        return DEFAULT_PIPELINE
    return tuple(n for n in DEFAULT_PIPELINE if n != "tail-call-loop")


def unknown_passes(names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n not in PASSES]


@attrs.frozen(slots=True)
class PassStat:
    name: str
    seconds: float
    bytes_saved: int | None = None       # estimated; None when not measured


class _SizeResolver:
    """Every index 1,000 and every type index 10: code sizes, not code."""

    def __init__(self, whole: Whole, globals_: dict[str, ValType]) -> None:
        self.func_types: dict[str, FuncType] = whole.types
        self.global_types = globals_

    def func_index(self, symbol: str) -> int:
        return 1000

    def symref(self, symbol: str, offset: int) -> int:
        return 1000 + offset

    def global_index(self, symbol: str) -> int:
        return 100

    def table_index(self, symbol: str) -> int:
        return 100

    def type_index(self, ft: FuncType) -> int:
        return 10

    def pool_address(self, text: str) -> int:
        return 1000

    def panic_call(self, function: str, message: str) -> tuple[int, int, int, int, int]:
        return (1000, 1000, len(function), 1000, len(message))


def code_bytes(whole: Whole, globals_: dict[str, ValType]) -> int:
    r = _SizeResolver(whole, globals_)
    total = 0
    for f in whole.funcs.values():
        _locals, body = compile_function(f, FuncContext(r, {}, TailCallMode.NATIVE))
        total += len(body)
    return total


def run_passes(whole: Whole, names: tuple[str, ...], measure: bool,
               global_types: dict[str, ValType]) -> list[PassStat]:
    stats: list[PassStat] = []
    before = code_bytes(whole, global_types) if measure else 0
    for name in names:
        start = time.perf_counter()
        PASSES[name].run(whole)
        seconds = time.perf_counter() - start
        saved = None
        if measure:
            after = code_bytes(whole, global_types)
            saved, before = before - after, after
        stats.append(PassStat(name, seconds, saved))
    return stats


__all__ = ["DEFAULT_PIPELINE", "default_pipeline", "PASSES", "Pass", "PassStat", "run_passes", "unknown_passes",
           "ir"]
