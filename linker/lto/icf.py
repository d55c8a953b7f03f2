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
`duplicate-function-elimination` iterates the same way); a round
canonicalizes (and hashes) again only the bodies the previous one changed,
and rewrites only the functions that call a folded one.
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


@attrs.frozen(slots=True, eq=False)
class _Key:
    """A canonical form with its hash computed once (hashing a body walks all of it)."""

    form: ir.Func
    hashed: int

    def __hash__(self) -> int:
        return self.hashed

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _Key) and self.hashed == other.hashed
                and self.form == other.form)


def fold_round(whole: Whole, memo: dict[str, tuple[ir.Func, _Key]] | None = None
               ) -> dict[str, str]:
    """One round: duplicate -> the first function of its class.  `memo` keeps each
    canonical form across rounds while its body stays the same object (a round
    rewrites only the callers of the functions it folded)."""
    memo = {} if memo is None else memo
    first: dict[_Key, str] = {}
    replace: dict[str, str] = {}
    shapes: dict[tuple[object, ...], list[str]] = {}
    for name, f in whole.funcs.items():
        if _foldable(whole, name, f):
            shapes.setdefault(shape(f), []).append(name)
    for name in [n for group in shapes.values() if len(group) > 1 for n in group]:
        f = whole.funcs[name]
        hit = memo.get(name)
        if hit is not None and hit[0] is f:
            key = hit[1]
        else:
            form = canonical(name, f)
            key = _Key(form, hash(form))
            memo[name] = (f, key)
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
    memo: dict[str, tuple[ir.Func, _Key]] = {}
    for _round in range(4):
        replace = fold_round(whole, memo)
        if not replace:
            return
        for dup, rep in replace.items():
            whole.effect(dup).folded_into = rep
        for name, f in list(whole.funcs.items()):
            if _calls_any(f, replace):
                whole.update(name, redirect(f, replace))


def _calls_any(f: ir.Func, replace: dict[str, str]) -> bool:
    """Whether `f` calls a duplicate directly: the quick scan before `redirect`
    rebuilds anything (most functions of a large program call none)."""
    for b in f.blocks:
        t = b.term
        if isinstance(t, ir.TailCall) and t.callee in replace:
            return True
        for s in b.stmts:
            if isinstance(s, ir.Call) and s.callee in replace:
                return True
    return False
