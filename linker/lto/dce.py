"""`dce`: dead code and dead locals within each function.

* blocks no path from the entry reaches are dropped;
* an assignment whose local is dead after it (backward liveness,
  `linker.lto.cfg.live_out`) and whose value is pure (`walk.is_pure`: no
  load, no trapping op) is dropped; a call keeps running but loses a dead
  destination;
* locals no statement mentions any more are no longer declared.

Stores are never dropped: any store may trap, and memory is observable.
"""

from __future__ import annotations

import attrs

from linker.ir import model as ir
from linker.lto.cfg import live_out, stmt_reads, stmt_writes, term_reads
from linker.lto.walk import is_pure, reachable_labels
from linker.lto.whole import Whole


def dce_function(f: ir.Func) -> ir.Func:
    if not f.blocks:
        return f
    keep = set(reachable_labels(f))
    if len(keep) != len(f.blocks):
        f = attrs.evolve(f, blocks=tuple(b for b in f.blocks if b.label in keep))
    live = live_out(f)
    blocks = tuple(_dead_stores(b, live[b.label]) for b in f.blocks)
    f = attrs.evolve(f, blocks=blocks)
    used: set[str] = set()
    for b in f.blocks:
        for s in b.stmts:
            used |= stmt_reads(s)
            w = stmt_writes(s)
            if w is not None:
                used.add(w)
        used |= term_reads(b.term)
    locals_ = tuple(p for p in f.locals if p.name in used)
    return f if len(locals_) == len(f.locals) else attrs.evolve(f, locals=locals_)


def _dead_stores(b: ir.BasicBlock, out: set[str]) -> ir.BasicBlock:
    live = set(out) | term_reads(b.term)
    kept: list[ir.Stmt] = []
    changed = False
    for s in reversed(b.stmts):
        w = stmt_writes(s)
        if isinstance(s, ir.Assign) and s.local not in live and is_pure(s.value):
            changed = True
            continue
        if isinstance(s, (ir.Call, ir.CallIndirect)) and w is not None and w not in live:
            s = attrs.evolve(s, dest=None)
            changed = True
            w = None
        if w is not None:
            live.discard(w)
        live |= stmt_reads(s)
        kept.append(s)
    if not changed:
        return b
    kept.reverse()
    return attrs.evolve(b, stmts=tuple(kept))


def run(whole: Whole) -> None:
    for name in whole.todo("dce", everything=whole.thorough):
        whole.update(name, dce_function(whole.funcs[name]))
