"""`dce`: dead code and dead locals within each function.

* blocks no path from the entry reaches are dropped;
* an assignment whose local is dead after it (backward liveness,
  `linker.lto.cfg.live_out`) and whose value is pure (`walk.is_pure`: no
  load, no trapping op) is dropped; a call keeps running but loses a dead
  destination;
* locals no statement mentions any more are no longer declared;
* an assignment of a constant to a local that already holds that constant
  on every path (`redundant_consts`) is dropped.  A declared local starts
  at zero (docs/ir.md), so this removes the zero resets an inlined copy
  brings (`linker.lto.inlining`: its prologue's and its callee's own entry
  zeros) wherever the copy runs once per call of its caller, and keeps
  them inside a loop, where the local may hold a value from the previous
  round.  Forward "must hold constant c" data flow over the CFG, the meet
  keeping the locals whose constants agree on every predecessor, solved
  optimistically (a predecessor not yet visited does not count) to the
  greatest fixed point.

Stores are never dropped: any store may trap, and memory is observable.
"""

from __future__ import annotations

import struct

import attrs

from linker.ir import model as ir
from linker.ir.types import ValType
from linker.lto.cfg import live_out, preds, reverse_postorder, stmt_reads, stmt_writes, \
    term_reads
from linker.lto.walk import is_pure, reachable_labels
from linker.lto.whole import Whole


def dce_function(f: ir.Func) -> ir.Func:
    if not f.blocks:
        return f
    keep = set(reachable_labels(f))
    if len(keep) != len(f.blocks):
        f = attrs.evolve(f, blocks=tuple(b for b in f.blocks if b.label in keep))
    f = redundant_consts(f)
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


# A constant's identity: its type and its bits (integers wrapped to the type's width,
# so -1 and 0xffffffff agree; floats by their bits, so -0.0 is not 0.0).
_Key = tuple[ValType, object]
_MASK = {ValType.I32: 0xFFFFFFFF, ValType.I64: 0xFFFFFFFFFFFFFFFF}


def _key(c: ir.Const) -> _Key:
    if c.type.is_float:
        return (c.type, struct.pack("<d", float(c.value)))
    return (c.type, int(c.value) & _MASK[c.type])


def _const_assign(s: ir.Stmt) -> tuple[str, _Key] | None:
    if type(s) is ir.Assign and type(s.value) is ir.Const:
        return s.local, _key(s.value)
    return None


def _transfer(state: dict[str, _Key], s: ir.Stmt) -> None:
    hit = _const_assign(s)
    if hit is not None:
        state[hit[0]] = hit[1]
        return
    w = stmt_writes(s)
    if w is not None:
        state.pop(w, None)


def known_consts(f: ir.Func, tracked: set[str]) -> dict[str, dict[str, _Key]]:
    """Of the `tracked` locals (those some statement assigns a constant: no other
    local's state is ever asked, and inlined bodies bring hundreds of locals), the
    ones holding a known constant at the start of each reachable block."""
    by = {b.label: b for b in f.blocks}
    pr = preds(f)
    rpo = reverse_postorder(f)
    start = {p.name: _key(ir.Const(p.type, 0.0 if p.type.is_float else 0))
             for p in f.locals if p.name in tracked}
    ins: dict[str, dict[str, _Key]] = {}
    outs: dict[str, dict[str, _Key]] = {}
    changed = True
    while changed:
        changed = False
        for l in rpo:
            seen = [outs[p] for p in pr[l] if p in outs]
            if l == rpo[0]:
                seen.append(start)
            cur = _meet(seen)
            ins[l] = dict(cur)
            for s in by[l].stmts:
                _transfer(cur, s)
            if outs.get(l) != cur:
                outs[l] = cur
                changed = True
    return ins


def _meet(states: list[dict[str, _Key]]) -> dict[str, _Key]:
    if not states:
        return {}
    first, rest = states[0], states[1:]
    return {n: k for n, k in first.items() if all(o.get(n) == k for o in rest)}


def redundant_consts(f: ir.Func) -> ir.Func:
    """`f` without the assignments of a constant a local already holds (see above)."""
    tracked = {hit[0] for b in f.blocks for s in b.stmts
               if (hit := _const_assign(s)) is not None}
    if not tracked:
        return f
    ins = known_consts(f, tracked)
    blocks: list[ir.BasicBlock] = []
    for b in f.blocks:
        state = ins.get(b.label)
        if state is None:
            blocks.append(b)
            continue
        kept: list[ir.Stmt] = []
        for s in b.stmts:
            hit = _const_assign(s)
            if hit is None or state.get(hit[0]) != hit[1]:
                kept.append(s)
            _transfer(state, s)
        blocks.append(b if len(kept) == len(b.stmts) else attrs.evolve(b, stmts=tuple(kept)))
    if all(x is y for x, y in zip(blocks, f.blocks)):
        return f
    return attrs.evolve(f, blocks=tuple(blocks))


def run(whole: Whole) -> None:
    for name in whole.todo("dce", everything=whole.thorough):
        whole.update(name, dce_function(whole.funcs[name]))
