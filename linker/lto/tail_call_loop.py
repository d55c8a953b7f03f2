"""`tail-call-loop`: a function's tail call to itself becomes a jump back to its start.

The arguments are evaluated in order; each goes straight into its
parameter unless a later argument still reads that parameter, in which
case it goes through a fresh temporary first (a parallel assignment).  The
declared locals that some path may read before writing
(`linker.lto.cfg.maybe_uninit`) are reset to zero, as a new call would
find them.  The loop head is a new entry block that jumps to the old one,
so the old entry may have several predecessors.  No stack is involved
either way; the loop saves the call (and, in trampoline mode, the round
trip through the driver).
"""

from __future__ import annotations

import attrs

from linker.ir import model as ir
from linker.lto.cfg import maybe_uninit, reads
from linker.lto.inlining import zero
from linker.lto.whole import Whole

HEAD = "lto$head"


def loopify(whole: Whole, name: str, f: ir.Func) -> ir.Func:
    sites = [b for b in f.blocks if isinstance(b.term, ir.TailCall) and b.term.callee == name]
    if not sites or any(b.label == HEAD for b in f.blocks):
        return f
    unset = maybe_uninit(f)
    old_entry = f.blocks[0].label
    new_locals = list(f.locals)
    blocks = []
    for b in f.blocks:
        t = b.term
        if not (isinstance(t, ir.TailCall) and t.callee == name):
            blocks.append(b)
            continue
        stmts = list(b.stmts)
        later: list[tuple[str, str]] = []
        for k, (p, a) in enumerate(zip(f.params, t.args)):
            if isinstance(a, ir.LocalGet) and a.name == p.name:
                continue
            if any(p.name in reads(x) for x in t.args[k + 1:]):
                tmp = f"lto$arg{len(new_locals)}"
                new_locals.append(ir.Param(tmp, p.type))
                stmts.append(ir.Assign(tmp, a))
                later.append((p.name, tmp))
            else:
                stmts.append(ir.Assign(p.name, a))
        stmts += [ir.Assign(p, ir.LocalGet(tmp)) for p, tmp in later]
        stmts += [ir.Assign(p.name, zero(p.type)) for p in f.locals if p.name in unset]
        blocks.append(attrs.evolve(b, stmts=tuple(stmts), term=ir.Jump(old_entry)))
    whole.effect(name).self_tail_loops += len(sites)
    head = ir.BasicBlock(HEAD, (), ir.Jump(old_entry))
    return attrs.evolve(f, blocks=(head, *blocks), locals=tuple(new_locals))


def run(whole: Whole) -> None:
    for name in whole.todo("tail-call-loop", everything=True):
        whole.update(name, loopify(whole, name, whole.funcs[name]))
