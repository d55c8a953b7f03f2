"""Traversals of IR function bodies shared by the LTO passes.

Expressions are immutable trees (`linker.ir.model`), so a rewrite rebuilds
the path from a changed leaf to the root and shares everything else
(`map_expr`, bottom-up, iterative so that deep expressions cannot overflow
Python's stack).  Statements and terminators are rewritten through the
expressions they hold (`map_stmt`, `map_term`); `exprs_of` lists them for
analyses.  `successors` is the CFG edge list of a terminator; `is_pure`
says whether an expression can be dropped or duplicated without a
difference a program could observe (no load, no trapping op, no
`memory.grow`; binaryen's `EffectAnalyzer` makes the same distinction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import attrs

from linker.ir import model as ir
from linker.ir.ops import OPS_BY_NAME, OpKind

ExprFn = Callable[[ir.Expr], ir.Expr]
T = TypeVar("T")
U = TypeVar("U")

# Ops that can trap: integer division and remainder, float-to-int truncation
# (the saturating ones cannot); memory.grow changes the memory.
_TRAPPING_BASES = ("div_s", "div_u", "rem_s", "rem_u")


def op_may_trap(name: str) -> bool:
    op = OPS_BY_NAME[name]
    if op.kind in (OpKind.LOAD, OpKind.STORE, OpKind.MEMORY):
        return True
    base = name.partition(".")[2]
    if op.params and op.params[0].is_int and base in _TRAPPING_BASES:
        return True
    return base.startswith("trunc_f")


# Beyond this depth the recursive rewrite falls back to the iterative one: Python's
# stack is limited, and the recursive one is the faster for the usual shallow trees.
_MAX_DEPTH = 150


class _TooDeep(Exception):
    pass


def nodes(e: ir.Expr) -> list[ir.Expr]:
    """Every node of `e`, pre-order, as a list (the walkers' hot path)."""
    if type(e) is not ir.OpExpr and type(e) is not ir.Load:
        return [e]
    out: list[ir.Expr] = []
    stack: list[ir.Expr] = [e]
    while stack:
        n = stack.pop()
        out.append(n)
        if type(n) is ir.OpExpr:
            stack.extend(reversed(n.args))
        elif type(n) is ir.Load:
            stack.append(n.addr)
    return out


def subexprs(e: ir.Expr) -> Iterator[ir.Expr]:
    """Every node of `e`, pre-order."""
    return iter(nodes(e))


def local_reads(e: ir.Expr) -> set[str]:
    """The locals `e` reads."""
    if type(e) is ir.LocalGet:
        return {e.name}
    if type(e) is not ir.OpExpr and type(e) is not ir.Load:
        return set()
    return {n.name for n in nodes(e) if type(n) is ir.LocalGet}


def is_pure(e: ir.Expr) -> bool:
    """No trap, no effect, no read of memory: safe to drop, move or duplicate
    while the locals and globals it reads keep their values."""
    for n in nodes(e):
        if type(n) is ir.Load:
            return False
        if type(n) is ir.OpExpr and _may_trap(n.op):
            return False
    return True


_TRAPS: dict[str, bool] = {}


def _may_trap(name: str) -> bool:
    hit = _TRAPS.get(name)
    if hit is None:
        hit = _TRAPS[name] = op_may_trap(name)
    return hit


def map_expr(e: ir.Expr, fn: ExprFn, leaves: bool = True) -> ir.Expr:
    """Rebuild `e` bottom-up, applying `fn` to every node after its operands
    (post-order, operands left to right).  `fn` must be a pure function of the
    node: on a very deep tree the rewrite starts over iteratively.  With
    `leaves=False` the caller promises `fn` returns every leaf (constant,
    local, global, `@sym`, `sig`) unchanged, and it is applied to inner nodes only."""
    if type(e) is not ir.OpExpr and type(e) is not ir.Load:
        return fn(e) if leaves else e
    try:
        return _map_rec(e, fn, 0) if leaves else _map_inner(e, fn, 0)
    except _TooDeep:
        return _map_iter(e, fn)


def _map_rec(e: ir.Expr, fn: ExprFn, depth: int) -> ir.Expr:
    if depth > _MAX_DEPTH:
        raise _TooDeep
    if type(e) is ir.OpExpr:
        old = e.args
        args = [fn(a) if type(a) is not ir.OpExpr and type(a) is not ir.Load
                else _map_rec(a, fn, depth + 1) for a in old]
        # identity, not equality: comparing rebuilt operands would walk whole subtrees
        for a, b in zip(args, old):
            if a is not b:
                return fn(ir.OpExpr(e.op, tuple(args), span=e.span))
        return fn(e)
    assert type(e) is ir.Load
    addr = e.addr
    na = (fn(addr) if type(addr) is not ir.OpExpr and type(addr) is not ir.Load
          else _map_rec(addr, fn, depth + 1))
    return fn(e if na is addr else ir.Load(e.op, na, e.offset, span=e.span))


def _map_inner(e: ir.Expr, fn: ExprFn, depth: int) -> ir.Expr:
    """`_map_rec` for an `fn` that keeps leaves: it is not called on them."""
    if depth > _MAX_DEPTH:
        raise _TooDeep
    if type(e) is ir.OpExpr:
        old = e.args
        args = [a if type(a) is not ir.OpExpr and type(a) is not ir.Load
                else _map_inner(a, fn, depth + 1) for a in old]
        for a, b in zip(args, old):
            if a is not b:
                return fn(ir.OpExpr(e.op, tuple(args), span=e.span))
        return fn(e)
    assert type(e) is ir.Load
    addr = e.addr
    na = (addr if type(addr) is not ir.OpExpr and type(addr) is not ir.Load
          else _map_inner(addr, fn, depth + 1))
    return fn(e if na is addr else ir.Load(e.op, na, e.offset, span=e.span))


def _map_iter(e: ir.Expr, fn: ExprFn) -> ir.Expr:
    # Post-order with an explicit stack: (node, children already done?).
    stack: list[tuple[ir.Expr, bool]] = [(e, False)]
    done: list[ir.Expr] = []
    while stack:
        node, expanded = stack.pop()
        if isinstance(node, ir.OpExpr):
            if not expanded:
                stack.append((node, True))
                stack.extend((a, False) for a in reversed(node.args))
                continue
            n = len(node.args)
            args = tuple(done[len(done) - n:]) if n else ()
            del done[len(done) - n:]
            if any(a is not b for a, b in zip(args, node.args)):
                node = attrs.evolve(node, args=args)
        elif isinstance(node, ir.Load):
            if not expanded:
                stack.append((node, True))
                stack.append((node.addr, False))
                continue
            addr = done.pop()
            if addr is not node.addr:
                node = attrs.evolve(node, addr=addr)
        done.append(fn(node))
    return done[0]


def _map_all(es: tuple[ir.Expr, ...], fn: ExprFn, leaves: bool) -> tuple[ir.Expr, ...]:
    out = tuple([map_expr(e, fn, leaves) for e in es])
    return es if all(a is b for a, b in zip(out, es)) else out


# The rewrites below return their argument itself when nothing in it changed, so a
# pass that changed nothing rebuilds nothing (and `Whole.update` sees the same body).


def map_stmt(s: ir.Stmt, fn: ExprFn, leaves: bool = True) -> ir.Stmt:
    match s:
        case ir.Assign(value=v) | ir.GlobalSet(value=v):
            nv = map_expr(v, fn, leaves)
            return s if nv is v else attrs.evolve(s, value=nv)
        case ir.Store(addr=a, value=v):
            na, nv = map_expr(a, fn, leaves), map_expr(v, fn, leaves)
            return s if na is a and nv is v else attrs.evolve(s, addr=na, value=nv)
        case ir.Call(args=args):
            nargs = _map_all(args, fn, leaves)
            return s if nargs is args else attrs.evolve(s, args=nargs)
        case ir.CallIndirect(target=t, args=args):
            nargs, nt = _map_all(args, fn, leaves), map_expr(t, fn, leaves)
            return s if nargs is args and nt is t else attrs.evolve(s, args=nargs, target=nt)
    raise TypeError(s)


def map_term(t: ir.Terminator, fn: ExprFn, leaves: bool = True) -> ir.Terminator:
    match t:
        case ir.Branch(cond=c):
            nc = map_expr(c, fn, leaves)
            return t if nc is c else attrs.evolve(t, cond=nc)
        case ir.Switch(index=i):
            ni = map_expr(i, fn, leaves)
            return t if ni is i else attrs.evolve(t, index=ni)
        case ir.Return(value=v) if v is not None:
            nv = map_expr(v, fn, leaves)
            return t if nv is v else attrs.evolve(t, value=nv)
        case ir.TailCall(args=args):
            nargs = _map_all(args, fn, leaves)
            return t if nargs is args else attrs.evolve(t, args=nargs)
        case ir.TailCallIndirect(target=tg, args=args):
            nargs, ntg = _map_all(args, fn, leaves), map_expr(tg, fn, leaves)
            return t if nargs is args and ntg is tg else attrs.evolve(t, args=nargs, target=ntg)
    return t


def map_block(b: ir.BasicBlock, fn: ExprFn, leaves: bool = True) -> ir.BasicBlock:
    stmts = tuple([map_stmt(s, fn, leaves) for s in b.stmts])
    term = map_term(b.term, fn, leaves)
    if term is b.term and all(x is y for x, y in zip(stmts, b.stmts)):
        return b
    return attrs.evolve(b, stmts=stmts, term=term)


def stmt_exprs(s: ir.Stmt) -> tuple[ir.Expr, ...]:
    """The expressions of a statement in evaluation order."""
    if type(s) is ir.Assign or type(s) is ir.GlobalSet:
        return (s.value,)
    if type(s) is ir.Call:
        return s.args
    if type(s) is ir.Store:
        return (s.addr, s.value)
    if type(s) is ir.CallIndirect:
        return (*s.args, s.target)
    raise TypeError(s)


def term_exprs(t: ir.Terminator) -> tuple[ir.Expr, ...]:
    if type(t) is ir.Branch:
        return (t.cond,)
    if type(t) is ir.Return:
        return () if t.value is None else (t.value,)
    if type(t) is ir.Switch:
        return (t.index,)
    if type(t) is ir.TailCall:
        return t.args
    if type(t) is ir.TailCallIndirect:
        return (*t.args, t.target)
    return ()


def func_exprs(f: ir.Func) -> tuple[ir.Expr, ...]:
    """Every expression node of a function body (remembered per body inside `memoized`)."""
    return per_func("exprs", f, _func_exprs)


def _func_exprs(f: ir.Func) -> tuple[ir.Expr, ...]:
    out: list[ir.Expr] = []
    for b in f.blocks:
        for s in b.stmts:
            for e in stmt_exprs(s):
                if type(e) is ir.OpExpr or type(e) is ir.Load:
                    out += nodes(e)
                else:
                    out.append(e)
        for e in term_exprs(b.term):
            out += nodes(e)
    return tuple(out)


# Function bodies are immutable and a pass that changes nothing returns the same object,
# so an analysis of a body can be kept for as long as the body lives.  The LTO phase
# asks several passes' analyses of the same bodies (node lists, byte estimates); inside
# `memoized()` they are computed once per body object.  The memo holds the bodies, so
# an id is not reused while it is in the memo; it is dropped when the block ends.
_memo: dict[tuple[str, int], tuple[object, Any]] | None = None
# Equal sets of names kept as one object inside `memoized()` (`shared`).
_sets: dict[frozenset[str], frozenset[str]] | None = None


@contextmanager
def memoized() -> Iterator[None]:
    global _memo, _sets
    outer, _memo = _memo, ({} if _memo is None else _memo)
    outer_sets, _sets = _sets, ({} if _sets is None else _sets)
    try:
        yield
    finally:
        _memo, _sets = outer, outer_sets


def shared(names: frozenset[str]) -> frozenset[str]:
    """`names`, or the equal set remembered before it inside `memoized()`.  The
    memo keeps a set of locals per statement, and most statements read one or two
    of a function's few locals (`x`, `t1`): 365,000 sets, 79 MB, in the LTO phase
    of the 100,000-function program, nearly all equal to another."""
    table = _sets
    if table is None:
        return names
    return table.setdefault(names, names)


def per_func(kind: str, f: U, compute: Callable[[U], T]) -> T:
    """`compute(f)`, remembered per object `f` (a body, a statement) and `kind` inside
    `memoized()`."""
    memo = _memo
    if memo is None:
        return compute(f)
    key = (kind, id(f))
    hit = memo.get(key)
    if hit is not None and hit[0] is f:
        return cast(T, hit[1])
    value = compute(f)
    memo[key] = (f, value)
    return value


successors = ir.successors         # the passes' name for it (`linker.ir.model` owns it)


def retarget(t: ir.Terminator, fn: Callable[[str], str]) -> ir.Terminator:
    """`t` with every successor label passed through `fn`."""
    match t:
        case ir.Jump(target=x):
            return attrs.evolve(t, target=fn(x))
        case ir.Branch(then=a, else_=b):
            return attrs.evolve(t, then=fn(a), else_=fn(b))
        case ir.Switch(targets=ts, default=d):
            return attrs.evolve(t, targets=tuple(fn(x) for x in ts), default=fn(d))
    return t


def reachable_labels(f: ir.Func) -> list[str]:
    """Labels reachable from the entry, in block order."""
    if not f.blocks:
        return []
    by = {b.label: b for b in f.blocks}
    seen = {f.blocks[0].label}
    work = [f.blocks[0].label]
    while work:
        for s in successors(by[work.pop()].term):
            if s not in seen:
                seen.add(s)
                work.append(s)
    return [b.label for b in f.blocks if b.label in seen]


def callees(f: ir.Func) -> Iterator[tuple[str, bool]]:
    """(callee, is a tail call) of every direct call in `f`."""
    for b in f.blocks:
        for s in b.stmts:
            if isinstance(s, ir.Call):
                yield s.callee, False
        if isinstance(b.term, ir.TailCall):
            yield b.term.callee, True


def symbols_of(f: ir.Func) -> Iterator[str]:
    """Every symbol `f` refers to: callees, `@sym`s and globals."""
    for callee, _tail in callees(f):
        yield callee
    for e in func_exprs(f):
        if isinstance(e, ir.SymRef):
            yield e.symbol
        elif isinstance(e, ir.GlobalGet):
            yield e.name
    for b in f.blocks:
        for s in b.stmts:
            if isinstance(s, ir.GlobalSet):
                yield s.name
