"""`duplicate-function-elimination`: identical code folding, lld's safe ICF.

Each live IR function is canonicalized (its name, parameters, locals and
labels renamed by position, calls to itself named `<self>`; spans do not
take part in IR equality) and functions with equal canonical forms share
one body: every direct call of a duplicate calls the first of them in link
order instead, and the duplicate, unreferenced, goes at the second
discovery (unless something outside the IR keeps it).  As lld's
`--icf=safe`, a function whose address is taken is never folded, nor
folded into: `@f == @g` must stay false.  A function that panics is not
folded either (its message names it).  Folding can make callers equal, so
the pass repeats until nothing changes (binaryen's
`duplicate-function-elimination` iterates the same way).
"""

from __future__ import annotations

import attrs

from linker.ir import model as ir
from linker.lto.walk import map_block, retarget
from linker.lto.whole import Whole

SELF = "<self>"


def canonical(name: str, f: ir.Func) -> ir.Func:
    names = {p.name: f"v{i}" for i, p in enumerate((*f.params, *f.locals))}
    labels = {b.label: f"b{i}" for i, b in enumerate(f.blocks)}

    def expr(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.LocalGet):
            return ir.LocalGet(names[e.name])
        return e

    def stmt(s: ir.Stmt) -> ir.Stmt:
        match s:
            case ir.Assign(local=n):
                return attrs.evolve(s, local=names[n])
            case ir.Call(dest=d, callee=c):
                return attrs.evolve(s, dest=None if d is None else names[d],
                                    callee=SELF if c == name else c)
            case ir.CallIndirect(dest=d) if d is not None:
                return attrs.evolve(s, dest=names[d])
        return s

    blocks = []
    for b in f.blocks:
        b = map_block(b, expr)
        t = retarget(b.term, labels.__getitem__)
        if isinstance(t, ir.TailCall) and t.callee == name:
            t = attrs.evolve(t, callee=SELF)
        blocks.append(ir.BasicBlock(labels[b.label], tuple(stmt(s) for s in b.stmts), t))
    return ir.Func("", tuple(ir.Param(names[p.name], p.type) for p in f.params), f.result,
                   tuple(ir.Param(names[p.name], p.type) for p in f.locals), tuple(blocks))


def _foldable(whole: Whole, name: str, f: ir.Func) -> bool:
    # `_start` is the linker's (`linker.lto.start`): exported under its own name.
    return (name not in whole.address_taken and name != whole.start
            and f.deferred_error is None
            and not any(isinstance(b.term, ir.Panic) for b in f.blocks))


def shape(f: ir.Func) -> tuple[object, ...]:
    """A cheap key equal functions share: only functions of one shape are canonicalized."""
    return (f.params and tuple(p.type for p in f.params), f.result, len(f.locals),
            tuple((len(b.stmts), type(b.term)) for b in f.blocks))


def fold_round(whole: Whole) -> dict[str, str]:
    first: dict[ir.Func, str] = {}
    replace: dict[str, str] = {}
    shapes: dict[tuple[object, ...], list[str]] = {}
    for name, f in whole.funcs.items():
        if _foldable(whole, name, f):
            shapes.setdefault(shape(f), []).append(name)
    for name in [n for group in shapes.values() if len(group) > 1 for n in group]:
        f = whole.funcs[name]
        key = canonical(name, f)
        rep = first.setdefault(key, name)
        if rep != name:
            replace[name] = rep
    return replace


def redirect(f: ir.Func, replace: dict[str, str]) -> ir.Func:
    changed = False
    blocks = []
    for b in f.blocks:
        stmts = tuple(attrs.evolve(s, callee=replace[s.callee])
                      if isinstance(s, ir.Call) and s.callee in replace else s for s in b.stmts)
        t = b.term
        if isinstance(t, ir.TailCall) and t.callee in replace:
            t = attrs.evolve(t, callee=replace[t.callee])
        if t is not b.term or any(x is not y for x, y in zip(stmts, b.stmts)):
            changed = True
            b = attrs.evolve(b, stmts=stmts, term=t)
        blocks.append(b)
    return attrs.evolve(f, blocks=tuple(blocks)) if changed else f


def run(whole: Whole) -> None:
    for _round in range(4):
        replace = fold_round(whole)
        if not replace:
            return
        for dup, rep in replace.items():
            whole.effect(dup).folded_into = rep
        for name, f in list(whole.funcs.items()):
            whole.update(name, redirect(f, replace))
