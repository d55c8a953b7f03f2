"""`dae`: dead-argument elimination and constant arguments, across modules.

binaryen's `dae` pass (read from its description; no code taken) removes
parameters a function never reads and moves into the function an argument
every call passes as the same constant.  At link time irld sees every call
of a function that nothing outside the IR can call: a live IR function that
is not pinned (exported, an entry, a root, a ctor, referenced by C code or
data) and not address-taken, with no `@f` in any IR body.  For such a
function `g` and its parameter `p`:

* every call passes the same integer constant c (a call of g from g itself
  may also pass `p` on, when g never assigns p): p becomes a local of g, set to c by a new
  entry block (a jump back to the old entry must not set it again), and
  the argument goes from every call;
* g never reads p, and every call passes an argument that cannot trap
  (`walk.is_pure`): p becomes a local (its writes stay) and the argument
  goes.

Arguments are evaluated left to right, and only effect-free ones are
dropped, so the other arguments see the same values in the same order.  The
function's type changes: `Whole.types` is updated, and `Whole.finish`
gives the live function its new type, so code generation declares it and
every call site (direct only: no indirect call or table slot can reach it)
agrees.  `precompute-propagate` afterwards folds the constant into g's code.

A result no call uses (every call drops it, none is a tail call, and g
makes no tail call itself, whose callee's result would be g's) goes too:
`return v` becomes `return`, v kept in a scratch local when it may trap.
"""

from __future__ import annotations

import attrs

from linker.ffi.plan import FFI_CLOSURE_ALLOC, IRLD_CLOSURE_ALLOC, RUNTIME_FUNCS
from linker.ir import model as ir
from linker.ir.types import FuncType, ValType
from linker.lto.walk import func_exprs, is_pure
from linker.lto.whole import Whole

# A parameter's verdict while the call sites are scanned: no call seen yet,
# or the constant every call passed so far; _MIXED: not one constant.
_MIXED = object()


def candidates(whole: Whole) -> set[str]:
    """The functions every caller of which is a direct call in the IR."""
    out = {n for n, f in whole.funcs.items()
           if n not in whole.pinned and n not in whole.address_taken}
    for f in whole.funcs.values():
        for e in func_exprs(f):
            if isinstance(e, ir.SymRef):
                out.discard(e.symbol)
    return out


def _calls(whole: Whole, names: set[str]
           ) -> tuple[dict[str, list[tuple[str, tuple[ir.Expr, ...]]]], set[str]]:
    """By candidate: (caller, args) of every direct call or tail call; and the
    candidates whose result some call uses (a destination or a tail call)."""
    sites: dict[str, list[tuple[str, tuple[ir.Expr, ...]]]] = {n: [] for n in names}
    used: set[str] = set()
    for caller, f in whole.funcs.items():
        for b in f.blocks:
            for s in b.stmts:
                if isinstance(s, ir.Call) and s.callee in sites:
                    sites[s.callee].append((caller, s.args))
                    if s.dest is not None:
                        used.add(s.callee)
            t = b.term
            if isinstance(t, ir.TailCall) and t.callee in sites:
                sites[t.callee].append((caller, t.args))
                used.add(t.callee)
    return sites, used


def drop_result(f: ir.Func) -> ir.Func:
    """`f` returning nothing: each `return v` evaluates v only when it may trap
    (into a scratch local), as the dropped result did."""
    assert f.result is not None
    names = {p.name for p in (*f.params, *f.locals)}
    scratch = "dae$result"
    while scratch in names:
        scratch += "$"
    used = False
    blocks = []
    for b in f.blocks:
        t = b.term
        if isinstance(t, ir.Return) and t.value is not None:
            stmts = b.stmts
            if not is_pure(t.value):
                stmts += (ir.Assign(scratch, t.value, span=t.span),)
                used = True
            b = attrs.evolve(b, stmts=stmts, term=ir.Return(None, span=t.span))
        blocks.append(b)
    locals_ = f.locals + ((ir.Param(scratch, f.result),) if used else ())
    return attrs.evolve(f, result=None, locals=locals_, blocks=tuple(blocks))


def _tail_calls(f: ir.Func) -> bool:
    return any(isinstance(b.term, (ir.TailCall, ir.TailCallIndirect)) for b in f.blocks)


def _reads(f: ir.Func) -> set[str]:
    return {e.name for e in func_exprs(f) if isinstance(e, ir.LocalGet)}


def _writes(f: ir.Func) -> set[str]:
    out: set[str] = set()
    for b in f.blocks:
        for s in b.stmts:
            if isinstance(s, ir.Assign):
                out.add(s.local)
            elif isinstance(s, (ir.Call, ir.CallIndirect)) and s.dest is not None:
                out.add(s.dest)
    return out


# A constant argument `dae` moves into the callee: an integer, or an address (`@d+off`,
# a function's table slot), which precompute-propagate then folds into loads.
_Value = ir.Const | ir.SymRef


def _constant(a: ir.Expr, t: ValType) -> bool:
    if isinstance(a, ir.Const):
        return a.type is t and bool(t.is_int)
    return isinstance(a, ir.SymRef) and t is ValType.I32


def plan(name: str, f: ir.Func, calls: list[tuple[str, tuple[ir.Expr, ...]]]
         ) -> dict[int, _Value | None]:
    """Parameter index -> the constant it takes (None: unread, just dropped)."""
    read, written = _reads(f), _writes(f)
    out: dict[int, _Value | None] = {}
    for i, p in enumerate(f.params):
        const: object = None
        pure = True
        for caller, args in calls:
            if len(args) != len(f.params):
                const, pure = _MIXED, False
                break
            a = args[i]
            pure = pure and is_pure(a)
            if (caller == name and isinstance(a, ir.LocalGet) and a.name == p.name
                    and p.name not in written):
                continue            # passed on unchanged by a recursive call
            if (_constant(a, p.type) and (const is None or const == a)):
                const = a
            else:
                const = _MIXED
        if isinstance(const, (ir.Const, ir.SymRef)):
            out[i] = const
        elif p.name not in read and pure and calls:
            out[i] = None
    return out


def rewrite_callee(f: ir.Func, drop: dict[int, _Value | None]) -> ir.Func:
    params = tuple(p for i, p in enumerate(f.params) if i not in drop)
    moved = tuple(p for i, p in enumerate(f.params) if i in drop)
    sets = tuple(ir.Assign(f.params[i].name, c, span=f.span)
                 for i, c in sorted(drop.items()) if c is not None)
    blocks = f.blocks
    if sets:
        labels = {b.label for b in blocks}
        label = "dae$entry"
        while label in labels:
            label += "$"
        blocks = (ir.BasicBlock(label, sets, ir.Jump(blocks[0].label, span=f.span)),
                  *blocks)
    return attrs.evolve(f, params=params, locals=moved + f.locals, blocks=blocks)


def rewrite_calls(f: ir.Func, retyped: dict[str, dict[int, _Value | None]]) -> ir.Func:
    def args_of(callee: str, args: tuple[ir.Expr, ...]) -> tuple[ir.Expr, ...]:
        drop = retyped[callee]
        return tuple(a for i, a in enumerate(args) if i not in drop)

    changed = False
    blocks = []
    for b in f.blocks:
        stmts = b.stmts
        if any(isinstance(s, ir.Call) and s.callee in retyped for s in stmts):
            stmts = tuple(attrs.evolve(s, args=args_of(s.callee, s.args))
                          if isinstance(s, ir.Call) and s.callee in retyped else s
                          for s in stmts)
        t = b.term
        if isinstance(t, ir.TailCall) and t.callee in retyped:
            t = attrs.evolve(t, args=args_of(t.callee, t.args))
        if stmts is not b.stmts or t is not b.term:
            changed = True
            b = attrs.evolve(b, stmts=stmts, term=t)
        blocks.append(b)
    return attrs.evolve(f, blocks=tuple(blocks)) if changed else f


def ffi_runtime(whole: Whole) -> None:
    """`ffi_closure_alloc`, which the linker generates after LTO: the arguments every
    call passes as the same constant (`Whole.constant_args`: every call is a direct
    IR call) leave the calls, and `Whole.moved_args` tells the FFI emitter to put
    the constants in the function's code (`linker.ffi.plan.FfiLto`)."""
    name = FFI_CLOSURE_ALLOC
    if name not in whole.linker_ffi or name in whole.moved_args:
        return
    args = whole.constant_args(name, (IRLD_CLOSURE_ALLOC,))
    ft = whole.types.get(name, dict(RUNTIME_FUNCS)[name])
    if args is None or len(args) != len(ft.params) or all(a is None for a in args):
        return
    drop: dict[int, _Value | None] = {i: a for i, a in enumerate(args) if a is not None}
    whole.moved_args[name] = args
    whole.types[name] = FuncType(tuple(t for i, t in enumerate(ft.params) if i not in drop),
                                 ft.result)
    whole.effect(name).dropped_params.extend(_ALLOC_PARAMS[i] for i in sorted(drop))
    for caller in list(whole.funcs):
        whole.update(caller, rewrite_calls(whole.funcs[caller], {name: drop}))


_ALLOC_PARAMS = ("sig", "fun", "user_data")


def run(whole: Whole) -> None:
    ffi_runtime(whole)
    names = candidates(whole)
    if not names:
        return
    sites, used = _calls(whole, names)
    retyped: dict[str, dict[int, _Value | None]] = {}
    unused: list[str] = []
    for n in sorted(names):
        f = whole.funcs[n]
        drop = plan(n, f, sites[n])
        if drop:
            retyped[n] = drop
        if f.result is not None and n not in used and not _tail_calls(f):
            unused.append(n)
    if not retyped and not unused:
        return
    for n, drop in retyped.items():
        f = whole.funcs[n]
        whole.effect(n).dropped_params.extend(f.params[i].name for i in sorted(drop))
        whole.update(n, rewrite_callee(f, drop))
    for n in unused:
        whole.effect(n).dropped_result = True
        whole.update(n, drop_result(whole.funcs[n]))
    if retyped:
        for caller in list(whole.funcs):
            whole.update(caller, rewrite_calls(whole.funcs[caller], retyped))
    for n in (*retyped, *unused):
        g = whole.funcs[n]
        whole.types[n] = FuncType(tuple(p.type for p in g.params), g.result)
