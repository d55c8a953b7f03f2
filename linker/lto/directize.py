"""`directize`: an indirect call through a table slot known at link time becomes a direct call.

binaryen's pass of the same name does this for constant table offsets; at
link time more targets are constant: `@f` (the table index of function f,
possibly loaded from read-only data by `precompute-propagate`).  A site is
rewritten only when f's type is the call's signature, since otherwise the
indirect call traps and must keep doing so.  Operands keep their order: an
indirect call evaluates the arguments before the target, and `@f` has no
effect.  A tail call becomes a direct tail call only to a live IR function
(the trampoline mode's thunks are made for those).
"""

from __future__ import annotations

import attrs

from linker.ir import model as ir
from linker.lto.whole import Whole


def _target(whole: Whole, e: ir.Expr, ty: object) -> str | None:
    if isinstance(e, ir.SymRef) and e.offset == 0 and whole.types.get(e.symbol) == ty:
        return e.symbol
    return None


def directize(whole: Whole, name: str, f: ir.Func) -> ir.Func:
    if not any(isinstance(s, ir.CallIndirect) and isinstance(s.target, ir.SymRef)
               for b in f.blocks for s in b.stmts) and not any(
            isinstance(b.term, ir.TailCallIndirect) and isinstance(b.term.target, ir.SymRef)
            for b in f.blocks):
        return f
    count = 0
    blocks = []
    for b in f.blocks:
        stmts = list(b.stmts)
        for i, s in enumerate(stmts):
            if isinstance(s, ir.CallIndirect):
                g = _target(whole, s.target, s.type)
                if g is not None:
                    stmts[i] = ir.Call(s.dest, g, s.args, span=s.span)
                    count += 1
        t = b.term
        if isinstance(t, ir.TailCallIndirect):
            g = _target(whole, t.target, t.type)
            if g is not None and g in whole.funcs:
                t = ir.TailCall(g, t.args, span=t.span)
                count += 1
        blocks.append(attrs.evolve(b, stmts=tuple(stmts), term=t))
    if not count:
        return f
    whole.effect(name).devirtualized += count
    return attrs.evolve(f, blocks=tuple(blocks))


def run(whole: Whole) -> None:
    for name in whole.todo("directize", everything=True):
        whole.update(name, directize(whole, name, whole.funcs[name]))
