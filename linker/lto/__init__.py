"""Link-time optimization: whole-program passes on the live IR (`--lto`).

    new_program, report = run_lto(program, passes=DEFAULT_PIPELINE, measure=False)

Runs after discovery and decoding, before emission (`linker.driver`'s
"lto" phase): the IR of every live IR function is decoded
(`linker.lto.whole`), the named passes run on the whole program
(`linker.lto.manager`; one module per pass), and the returned program
carries the optimized bodies, which emission generates code for
(`linker.codegen`, through the relooper), as it does in trampoline mode.
Code from C objects is copied as compiled.  Every pass keeps the semantics
of the reference interpreter (`linker.interp`), which the differential
fuzzer checks with LTO on (tests/fuzz).  docs/lto.md lists the passes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import attrs

from linker.lto.manager import (DEFAULT_PIPELINE, PASSES, PassStat, default_pipeline,
                                run_passes, unknown_passes)
from linker.lto.walk import memoized
from linker.lto.whole import Effect, Whole
from linker.writer import LiveProgram


@attrs.frozen(slots=True)
class LtoReport:
    """What LTO did: per pass its time and (with `measure`) estimated bytes saved;
    per entity its `Effect`; the functions before and after.

    The per-entity byte estimates (`Effect.est_before`, `est_after`) are made on
    the first reading of `effects`: only a report asks for them, and a link that
    writes none saves their code-size walk of every changed body (6% of the LTO
    phase on the 100,000-function program)."""

    passes: tuple[PassStat, ...]
    _effects: dict[str, Effect]
    funcs_before: int
    funcs_after: int
    _pending: list[Callable[[], None]] = attrs.field(factory=list, eq=False, repr=False)

    @property
    def effects(self) -> dict[str, Effect]:
        while self._pending:
            self._pending.pop()()
        return self._effects


def run_lto(prog: LiveProgram, passes: tuple[str, ...] = DEFAULT_PIPELINE,
            measure: bool = False, ir_start: bool = True) -> tuple[LiveProgram, LtoReport]:
    """Optimize the live IR; with `ir_start`, `_start` is made an IR function that takes
    part (`linker.lto.start`: the entry and ctors may be inlined into it)."""
    whole = Whole.build(prog, ir_start)
    extra = 0 if whole.start is None else 1     # `_start` is the linker's, not counted
    before = len(whole.funcs) - extra
    bodies = dict(whole.funcs)
    gtypes = {sym: vt for sym, vt, _init in prog.globals}
    with memoized():
        stats = run_passes(whole, passes, measure, gtypes)
    return whole.finish(prog), LtoReport(tuple(stats), whole.effects, before,
                                       len(whole.funcs) - extra,
                                       [partial(whole.estimate, bodies)])


__all__ = ["DEFAULT_PIPELINE", "PASSES", "default_pipeline", "Effect", "LtoReport", "run_lto", "unknown_passes"]
