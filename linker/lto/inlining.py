"""`inlining`: copy small or single-use callees into their callers, across modules.

Whom to inline (binaryen's `inlining` heuristics, by size and call count):
a callee is a live IR function, not the caller itself, without a panic or a
deferred error (a panic prints its function's name, which inlining would
change) and with no FFI signature reference left (`Whole.build` resolves
them), of at most `ONE_USE` nodes; it is inlined when inlining all its
calls leaves the code no bigger by the byte estimate of
`linker.lto.estimate` (`Inliner._worth`: tiny callees everywhere, a callee
called once when nothing outside the IR keeps it).  A caller stops
growing at `MAX_CALLER` nodes.

How, on the CFG (no recursion on the IR's structure):

* `call` site `d = g(args)` in block B: B is split at the call; the
  arguments are assigned, in order, to fresh copies of g's parameters, the
  locals of g that may be read before written (`linker.lto.cfg`) are reset
  to zero (a loop may enter the copy twice), and B jumps to the copy of g's
  entry; each `return v` of the copy assigns `d = v` (or evaluates v into a
  scratch local when it may trap) and jumps to the rest of B.  A tail call
  `tail call h(args)` of the copy becomes `d = h(args)` and the same jump:
  the stack is as deep as it was (g's frame, which the tail call replaced,
  is gone; h's sits where it sat), so a chain of tail calls still runs in
  constant stack;
* `tail call g(args)` terminating B: the same prologue, and the copy's
  `return`s and tail calls stay as they are, since the caller returns
  whatever g returns.

Fresh names are `lto$N$name` (N unique in the caller), labels alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import attrs

from linker.ir import model as ir
from linker.ir.types import ValType
from linker.lto.cfg import maybe_uninit, stmt_writes
from linker.codegen import initial_zeros
from linker.lto.estimate import func_bytes, stmt_bytes
from linker.lto.walk import callees, func_exprs, map_block, retarget, subexprs, is_pure, \
    successors
from linker.lto.whole import Whole

ONE_USE = 200
MAX_CALLER = 4000


def size(f: ir.Func) -> int:
    return len(func_exprs(f)) + sum(len(b.stmts) + 1 for b in f.blocks)


def zero(t: ValType) -> ir.Const:
    return ir.Const(t, 0.0 if t.is_float else 0)


def inlinable(f: ir.Func) -> bool:
    if f.deferred_error is not None or not f.blocks:
        return False
    return not any(isinstance(e, ir.SigRef) for e in func_exprs(f))


class _Renamer:
    """Fresh names for one inlined copy."""

    def __init__(self, prefix: str, callee: ir.Func, shared: dict[str, str]) -> None:
        self.prefix = prefix
        self.callee = callee.name
        self.locals = {p.name: prefix + p.name for p in (*callee.params, *callee.locals)}
        self.locals.update(shared)

    def label(self, l: str) -> str:
        return self.prefix + l

    def expr(self, e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.LocalGet):
            return ir.LocalGet(self.locals[e.name])
        return e

    def block(self, b: ir.BasicBlock) -> ir.BasicBlock:
        b = map_block(b, self.expr)
        stmts = tuple(self._stmt(s) for s in b.stmts)
        term = retarget(b.term, self.label)
        if isinstance(term, ir.Panic) and term.function is None:
            term = attrs.evolve(term, function=self.callee)     # the message names it
        return ir.BasicBlock(self.label(b.label), stmts, term)

    def _stmt(self, s: ir.Stmt) -> ir.Stmt:
        match s:
            case ir.Assign(local=n):
                return attrs.evolve(s, local=self.locals[n])
            case ir.Call(dest=d) | ir.CallIndirect(dest=d) if d is not None:
                return attrs.evolve(s, dest=self.locals[d])
        return s


class Inliner:
    def __init__(self, whole: Whole) -> None:
        self.whole = whole
        uses: dict[str, int] = {}
        for f in whole.funcs.values():
            for c, _tail in callees(f):
                uses[c] = uses.get(c, 0) + 1
        self.uses = uses
        self.sizes: dict[str, int] = {}      # computed when first needed
        self.worth: dict[str, bool] = {}

    def size_of(self, name: str) -> int:
        s = self.sizes.get(name)
        if s is None:
            s = self.sizes[name] = size(self.whole.funcs[name])
        return s

    def wanted(self, caller: str, callee: str) -> bool:
        if callee == caller or callee not in self.whole.funcs:
            return False
        w = self.worth.get(callee)
        if w is None:
            w = self.worth[callee] = (inlinable(self.whole.funcs[callee])
                                      and self._worth(callee))
        return w

    def _worth(self, callee: str) -> bool:
        """Whether inlining every call of `callee` leaves the code no bigger: a copy
        costs the body, a `local.set` per parameter, a `br` out (and a
        `local.set` and `br` for each return from the fourth on), minus the call;
        when every call is inlined and nothing else refers to it, the function's
        own body and header (about 4 bytes) go."""
        if self.size_of(callee) > ONE_USE:
            return False
        g = self.whole.funcs[callee]
        body = func_bytes(g)
        returns = sum(1 for b in g.blocks if isinstance(b.term, ir.Return))
        if _straight(g):
            # One block ending in `return`: the copy falls through to the rest
            # of the caller (no `br`, no `return`), and a parameter read once,
            # in order, is stackified: its argument stands where its
            # `local.get` was.
            once = _read_once_in_order(g)
            growth = body - 1 + 2 * (len(g.params) - once) - 2 * once - 4
        else:
            # A single `return` falls through into the continuation: no `br` out.
            growth = body + 2 * _kept_params(g) + (2 if returns > 1 else 0) - 4
        if growth <= 0:
            return True
        # A copy's `return v` becomes `local.set dest` and a `br` out, 3 bytes
        # more than `return` now that code generation leaves values on the
        # stack; counted from the fourth return on (the first few usually merge
        # with the continuation: a threshold measured on the examples).
        growth += 3 * max(returns - 3, 0)
        n = self.uses.get(callee, 0)
        # Code generation leaves out the callee's own entry assignments of the
        # zero a local starts with; a copy inlined into a loop must keep them.
        entry = g.blocks[0].stmts if g.blocks else ()
        own = body - sum(stmt_bytes(entry[i]) for i in initial_zeros(g)) if g.blocks else body
        saved = 0 if callee in self.whole.pinned else own + 4
        return n * growth <= saved

    def moves(self, caller: str, callee: str, looped: Callable[[], bool]) -> bool:
        """Whether to inline a callee with one call, which nothing outside the IR keeps,
        whatever its size: its code moves (binaryen inlines such a function too, `main`
        into `_start` included), and the header and call go.  Not when the call is
        in a loop of the caller (`looped`): the copy would keep the zero resets a
        fresh function gets for free (`linker.lto.dce` drops them elsewhere)."""
        if callee == caller or callee not in self.whole.funcs or self.uses.get(callee, 0) != 1:
            return False
        if callee in self.whole.pinned or not inlinable(self.whole.funcs[callee]):
            return False
        return not looped()

    def bottom_up(self) -> list[str]:
        """Every function after its callees (post-order of the call graph, iterative;
        a cycle is broken where the walk first meets it), so a caller copies callees
        that already hold their own inlined calls, and the copied-from function is
        left unused."""
        funcs = self.whole.funcs
        order: list[str] = []
        seen: set[str] = set()
        for root in funcs:
            if root in seen:
                continue
            seen.add(root)
            stack = [(root, iter([c for c, _t in callees(funcs[root])]))]
            while stack:
                name, it = stack[-1]
                nxt = next((c for c in it if c in funcs and c not in seen), None)
                if nxt is None:
                    stack.pop()
                    order.append(name)
                    continue
                seen.add(nxt)
                stack.append((nxt, iter([c for c, _t in callees(funcs[nxt])])))
        return order

    def run(self) -> None:
        for name in self.bottom_up():
            f = self.whole.funcs[name]
            new = self.inline_into(name, f)
            if new is not f:
                self.whole.update(name, new)
                self.sizes.pop(name, None)

    def inline_into(self, name: str, f: ir.Func) -> ir.Func:
        if not any(self._site(name, f, b, partial(in_cycle, f.blocks, b)) is not None
                   for b in f.blocks):
            return f
        counter = [0]
        taken = {p.name for p in (*f.params, *f.locals)} | {b.label for b in f.blocks}
        budget = MAX_CALLER - self.size_of(name)
        blocks = list(f.blocks)
        new_locals = list(f.locals)
        out: list[ir.BasicBlock] = []
        while blocks:
            b = blocks.pop(0)

            def looped(b: ir.BasicBlock = b) -> bool:   # asked rarely: built when asked
                return in_cycle([*out, b, *blocks], b)
            site = self._site(name, f, b, looped) if budget > 0 else None
            if site is None:
                out.append(b)
                continue
            index, callee_name = site
            callee = self.whole.funcs[callee_name]
            prefix = _fresh(taken, counter)
            pieces, locals_ = self._expand(b, index, callee, prefix, f)
            budget -= self.size_of(callee_name)
            new_locals += locals_
            # The continuation (last piece) may hold more call sites: look again.
            out += pieces[:-1]
            blocks.insert(0, pieces[-1])
            self.whole.effect(callee_name).inlined_into.append(name)
        if len(out) == len(f.blocks) and all(a is b for a, b in zip(out, f.blocks)):
            return f
        return attrs.evolve(f, blocks=tuple(out), locals=tuple(new_locals))

    def _site(self, name: str, f: ir.Func, b: ir.BasicBlock,
              looped: Callable[[], bool]) -> tuple[int, str] | None:
        """(statement index, callee) of the first call in `b` to inline; index
        len(stmts) for the terminator's tail call.  `looped`: whether `b` is in a
        cycle of the caller."""
        for i, s in enumerate(b.stmts):
            if isinstance(s, ir.Call) and self._take(name, s.callee, looped):
                return i, s.callee
        t = b.term
        if isinstance(t, ir.TailCall) and self._take(name, t.callee, looped):
            if self.whole.funcs[t.callee].result == f.result:
                return len(b.stmts), t.callee
        return None

    def _take(self, caller: str, callee: str, looped: Callable[[], bool]) -> bool:
        return self.wanted(caller, callee) or self.moves(caller, callee, looped)

    def _expand(self, b: ir.BasicBlock, index: int, g: ir.Func, prefix: str,
                caller: ir.Func) -> tuple[list[ir.BasicBlock], list[ir.Param]]:
        tail = index == len(b.stmts)
        call = b.term if tail else b.stmts[index]
        assert isinstance(call, (ir.Call, ir.TailCall))
        shared = _shared_params(g, call.args)
        rn = _Renamer(prefix, g, shared)
        locals_ = [ir.Param(rn.locals[p.name], p.type) for p in (*g.params, *g.locals)
                   if p.name not in shared]
        # The code an inlined call leaves behind keeps a location (the call's, the
        # callee's return's), so a trap in it still has its IR line under --lto.
        prologue: list[ir.Stmt] = [ir.Assign(rn.locals[p.name], a, span=call.span)
                                   for p, a in zip(g.params, call.args)
                                   if p.name not in shared]
        unset = maybe_uninit(g)
        prologue += [ir.Assign(rn.locals[p.name], zero(p.type), span=call.span)
                     for p in g.locals if p.name in unset]
        body = [rn.block(x) for x in g.blocks]
        head = ir.BasicBlock(b.label, b.stmts[:index] + tuple(prologue),
                             ir.Jump(body[0].label, span=call.span), span=b.span)
        if tail:
            return [head, *body[:-1], body[-1]], locals_
        assert isinstance(call, ir.Call)
        cont = ir.BasicBlock(prefix + "cont", b.stmts[index + 1:], b.term)
        scratch: list[ir.Param] = []
        body = [self._returns_to(x, call.dest, cont.label, g, prefix, scratch) for x in body]
        return [head, *body, cont], locals_ + scratch

    def _returns_to(self, b: ir.BasicBlock, dest: str | None, cont: str, g: ir.Func,
                    prefix: str, scratch: list[ir.Param]) -> ir.BasicBlock:
        t = b.term
        if isinstance(t, (ir.TailCall, ir.TailCallIndirect)):
            return attrs.evolve(b, stmts=b.stmts + (_plain_call(t, dest),),
                                term=ir.Jump(cont, span=t.span))
        if not isinstance(t, ir.Return):
            return b
        stmts = b.stmts
        if t.value is not None:
            if dest is not None:
                stmts += (ir.Assign(dest, t.value, span=t.span),)
            elif not is_pure(t.value):
                assert g.result is not None
                if not scratch:
                    scratch.append(ir.Param(prefix + "drop", g.result))
                stmts += (ir.Assign(scratch[0].name, t.value, span=t.span),)
        return attrs.evolve(b, stmts=stmts, term=ir.Jump(cont, span=t.span))


def _plain_call(t: ir.TailCall | ir.TailCallIndirect, dest: str | None) -> ir.Stmt:
    """A copy's tail call at a plain call site: a call whose result is the call
    site's.  The stack is as deep as before: the callee's frame, which the tail
    call replaced, is gone, and its callee's frame sits where it sat."""
    if isinstance(t, ir.TailCall):
        return ir.Call(dest, t.callee, t.args, span=t.span)
    return ir.CallIndirect(dest, t.type, t.target, t.args, span=t.span)


def _straight(g: ir.Func) -> bool:
    return len(g.blocks) == 1 and isinstance(g.blocks[0].term, ir.Return)


def _read_once_in_order(g: ir.Func) -> int:
    """How many parameters a copy's code generation can leave on the stack:
    all when each is read once, none is assigned, and the reads come in
    parameter order (otherwise 0: a rough estimate)."""
    index = {p.name: i for i, p in enumerate(g.params)}
    order = [index[e.name] for e in func_exprs(g)
             if isinstance(e, ir.LocalGet) and e.name in index]
    written = any(isinstance(s, ir.Assign) and s.local in index
                  or isinstance(s, (ir.Call, ir.CallIndirect)) and s.dest in index
                  for b in g.blocks for s in b.stmts)
    if written or order != list(range(len(g.params))):
        return 0
    return len(order)


def _shared_params(g: ir.Func, args: Sequence[ir.Expr]) -> dict[str, str]:
    """Copy propagation at the call: a parameter the callee never assigns, whose
    argument is a local of the caller, is that local in the copy (no copy, no new
    local).  The copy assigns no local of the caller before it leaves (a `return`
    assigns the call's destination and jumps out), so the local holds the
    argument's value all through the copy, as the parameter would."""
    written = _written(g)
    return {p.name: a.name for p, a in zip(g.params, args)
            if isinstance(a, ir.LocalGet) and p.name not in written}


def _written(g: ir.Func) -> set[str]:
    return {w for b in g.blocks for s in b.stmts if (w := stmt_writes(s)) is not None}


def _kept_params(g: ir.Func) -> int:
    """The parameters a copy keeps in a local (a `local.set` of the argument): those
    the callee assigns or reads more than once.  A parameter read once takes its
    argument's value where it is read (code generation's stackifying, constant
    propagation); one never read costs nothing."""
    reads: dict[str, int] = {}
    for e in func_exprs(g):
        if isinstance(e, ir.LocalGet):
            reads[e.name] = reads.get(e.name, 0) + 1
    written = _written(g)
    return sum(1 for p in g.params if p.name in written or reads.get(p.name, 0) > 1)


def in_cycle(blocks: Sequence[ir.BasicBlock], b: ir.BasicBlock) -> bool:
    """Whether control can come back to `b` once it leaves it (a search from its
    successors)."""
    by = {x.label: x for x in blocks}
    work = list(successors(b.term))
    seen = set(work)
    while work:
        l = work.pop()
        if l == b.label:
            return True
        for s in successors(by[l].term):
            if s not in seen:
                seen.add(s)
                work.append(s)
    return False


def _fresh(taken: set[str], counter: list[int]) -> str:
    while True:
        counter[0] += 1
        prefix = f"lto${counter[0]}$"
        if not any(n.startswith(prefix) for n in taken):
            return prefix


def run(whole: Whole) -> None:
    Inliner(whole).run()


__all__ = ["Inliner", "run", "size", "subexprs"]
