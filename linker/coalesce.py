"""Copy coalescing of locals, before code generation.

    f = coalesce(f)

Two locals of the same type whose live ranges do not interfere can share one
wasm local: a copy `x = y` between them then assigns the local to itself and
goes (4 bytes: `local.get`, `local.set`), and a declared local that shares a
parameter's slot needs no declaration of its own (a run of declarations of one
type can go).  The classic copy coalescing of a register allocator (Chaitin,
"Register allocation & spilling via graph coloring", 1982; the interference
rule for copies as in Appel, "Modern Compiler Implementation", 11.1), with no
colouring: wasm has as many locals as we like, so only the merges that save
bytes are made.  binaryen's `coalesce-locals` does the same for the same reason
(its description learned from; no code taken).

* Liveness: backward data flow over the CFG, to a fixed point.
* Interference: a statement writing x interferes x with every local live after
  it, except y when the statement is the copy `x = y` (both hold the same
  value).  At the entry every parameter and every declared local some path
  reads before writing (it reads the zero locals start with) is written, so
  they interfere with each other: a local that relies on its zero never shares
  a parameter's slot.
* Merges, greedily in program order (deterministic): the two sides of each
  copy; then each declared local that is read into the first parameter of its
  type it does not interfere with (a dead parameter's slot is reused; a local
  never read has no slot anyway, its writes are `drop`s).  A class holds at
  most one parameter, which names it; otherwise the first declared local does.
  A local whose entry-block zero assignment code generation leaves out
  (`linker.codegen.initial_zeros`) does not join a parameter: the zero would
  then have to be written.

Renaming never changes what the program computes: a merged local is only
written where the others are dead or hold the same value.  Not applied with
`--checked` or `--instrument` (their messages and traces name the locals as
they are); the interpreter runs the IR as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

import attrs

from linker.ir import model as ir


def coalesce(f: ir.Func, skip: Iterable[int] = ()) -> ir.Func:
    """`f` with non-interfering copies and parameters' slots shared.  `skip`: the
    entry block's statements code generation leaves out (zero assignments)."""
    if not f.locals or not f.blocks or not _candidates(f):
        return f
    facts = _facts(f)
    graph, read = _interference(f, facts)
    classes = _Classes(f, graph)
    entry_zeros = {_dest(f.blocks[0].stmts[k]) for k in skip}
    for b in f.blocks:
        for s in b.stmts:
            if type(s) is ir.Assign and type(s.value) is ir.LocalGet:
                classes.union(s.local, s.value.name)
    for p in f.locals:
        if p.name in entry_zeros or p.name not in read or classes.has_param(p.name):
            continue
        for q in f.params:
            if q.type is p.type and classes.union(p.name, q.name):
                break
    rename = classes.renaming()
    if not rename:
        return f
    return _renamed(f, rename, facts)


def _candidates(f: ir.Func) -> bool:
    """Whether anything may merge: a copy, or a local of a parameter's type."""
    ptypes = {p.type for p in f.params}
    if any(p.type in ptypes for p in f.locals):
        return True
    return any(type(s) is ir.Assign and type(s.value) is ir.LocalGet
               for b in f.blocks for s in b.stmts)


class _Classes:
    """Union-find of locals with the union of their interferences."""

    def __init__(self, f: ir.Func, graph: dict[str, set[str]]) -> None:
        self.order = {p.name: i for i, p in enumerate((*f.params, *f.locals))}
        self.types = {p.name: p.type for p in (*f.params, *f.locals)}
        self.nparams = len(f.params)
        self.root: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        self.graph = graph

    def find(self, x: str) -> str:
        r = self.root.get(x, x)
        while r != self.root.get(r, r):
            r = self.root.get(r, r)
        return r

    def has_param(self, x: str) -> bool:
        return self.order[self.find(x)] < self.nparams

    def union(self, a: str, b: str) -> bool:
        """Merge the classes of a and b when they may share a slot."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.types[ra] is not self.types[rb] or self.has_param(ra) and self.has_param(rb):
            return False
        ma, mb = self.members.get(ra, [ra]), self.members.get(rb, [rb])
        ga, gb = self.graph.get(ra, set()), self.graph.get(rb, set())
        if any(m in ga for m in mb) or any(m in gb for m in ma):
            return False
        graph = ga | gb
        if self.order[rb] < self.order[ra]:
            ra, rb, ma, mb = rb, ra, mb, ma
        self.root[rb] = ra
        self.members[ra] = ma + mb
        self.members.pop(rb, None)
        self.graph[ra] = graph
        return True

    def renaming(self) -> dict[str, str]:
        return {x: r for x in self.root if (r := self.find(x)) != x}


# ------------------------------------------------------------ liveness, interference


# By block: the locals its terminator reads; by statement the local it writes (or
# None), the locals it reads, and the copy's source (`x = y`: y, or None); and the
# block's use (read before any write in it) and def sets, for liveness.
_Stmt = tuple[str | None, set[str], str | None]
_Facts = list[tuple[set[str], list[_Stmt], set[str], set[str]]]


def _facts(f: ir.Func) -> _Facts:
    """One forward walk per block (a local is in `use` when read before the
    block writes it: the same sets a backward walk gives)."""
    out: _Facts = []
    for b in f.blocks:
        stmts: list[_Stmt] = []
        use: set[str] = set()
        defs: set[str] = set()
        for s in b.stmts:
            same = None
            if type(s) is ir.Assign:
                w: str | None = s.local
                v = s.value
                tv = type(v)
                if tv is ir.LocalGet:
                    same = cast(ir.LocalGet, v).name
                    reads = {same}
                else:
                    reads = set() if tv is ir.Const else _reads((v,))
            else:
                w, reads = _dest(s), _reads(_stmt_exprs(s))
            if reads:
                use |= reads - defs if defs else reads
            if w is not None:
                defs.add(w)
            stmts.append((w, reads, same))
        term_reads = _reads(_term_exprs(b.term))
        if term_reads:
            use |= term_reads - defs if defs else term_reads
        out.append((term_reads, stmts, use, defs))
    return out


def _interference(f: ir.Func, facts: _Facts) -> tuple[dict[str, set[str]], set[str]]:
    """By local: locals live where it is written (x and y interfere when y is in
    x's set or x in y's); and the locals read anywhere."""
    graph: dict[str, set[str]] = {}
    read: set[str] = set()
    out = _live_out(f, facts)
    live_in_entry: set[str] = set()
    for i, (term_reads, stmts, _use, _defs) in enumerate(facts):
        live = out[i] | term_reads
        read |= term_reads
        for w, reads, same in reversed(stmts):
            if w is not None:
                g = graph.setdefault(w, set())
                if same is not None and same not in g and same in live:
                    g |= live
                    g.discard(same)
                else:
                    g |= live
                live.discard(w)
            read |= reads
            live |= reads
        if i == 0:
            live_in_entry = live
    defined = [p.name for p in f.params] + [p.name for p in f.locals if p.name in live_in_entry]
    for d in defined:
        graph.setdefault(d, set()).update(live_in_entry)
    return graph, read


def _live_out(f: ir.Func, facts: _Facts) -> list[set[str]]:
    """By block index: the locals live at its end (worklist to a fixed point)."""
    n = len(f.blocks)
    if n == 1 and not ir.successors(f.blocks[0].term):
        return [set()]
    index = {b.label: i for i, b in enumerate(f.blocks)}
    preds: list[list[int]] = [[] for _ in range(n)]
    succ: list[list[int]] = []
    for i, b in enumerate(f.blocks):
        succ.append([index[t] for t in ir.successors(b.term)])
        for t in succ[-1]:
            preds[t].append(i)
    live_in = [set(use) for _t, _s, use, _d in facts]
    out: list[set[str]] = [set() for _ in range(n)]
    work = list(range(n))
    queued = set(work)
    while work:
        i = work.pop()
        queued.discard(i)
        out[i] = set().union(*(live_in[t] for t in succ[i]))
        new = facts[i][2] | (out[i] - facts[i][3])
        if new != live_in[i]:
            live_in[i] = new
            for p in preds[i]:
                if p not in queued:
                    queued.add(p)
                    work.append(p)
    return out


_dest = ir.stmt_dest     # the local a statement writes (`linker.ir.model` owns it)


def _stmt_exprs(s: ir.Stmt) -> tuple[ir.Expr, ...]:
    match s:
        case ir.Assign(value=v) | ir.GlobalSet(value=v):
            return (v,)
        case ir.Store(addr=a, value=v):
            return (a, v)
        case ir.Call(args=args):
            return args
        case ir.CallIndirect(args=args, target=t):
            return (*args, t)
    return ()


def _term_exprs(t: ir.Terminator) -> tuple[ir.Expr, ...]:
    match t:
        case ir.Branch(cond=c):
            return (c,)
        case ir.Switch(index=x):
            return (x,)
        case ir.Return(value=v):
            return () if v is None else (v,)
        case ir.TailCall(args=args):
            return args
        case ir.TailCallIndirect(args=args, target=tg):
            return (*args, tg)
    return ()


def _reads(es: Sequence[ir.Expr]) -> set[str]:
    if len(es) == 1:
        e = es[0]
        if isinstance(e, ir.LocalGet):
            return {e.name}
        if not isinstance(e, (ir.OpExpr, ir.Load)):
            return set()
    out: set[str] = set()
    stack = list(es)
    while stack:
        e = stack.pop()
        t = type(e)
        if t is ir.LocalGet:
            out.add(cast(ir.LocalGet, e).name)
        elif t is ir.Load:
            stack.append(cast(ir.Load, e).addr)
        elif t is ir.OpExpr:
            for a in cast(ir.OpExpr, e).args:
                ta = type(a)
                if ta is ir.LocalGet:
                    out.add(cast(ir.LocalGet, a).name)
                elif ta is ir.OpExpr or ta is ir.Load:
                    stack.append(a)
    return out


# ------------------------------------------------------------ renaming


def _renamed(f: ir.Func, rename: dict[str, str], facts: _Facts) -> ir.Func:
    """`f` with locals renamed; a statement or block that names none of them is
    kept as it is (most are: rebuilding every node was the pass's largest cost)."""
    blocks = []
    for b, (term_reads, stmt_facts, _use, _defs) in zip(f.blocks, facts):
        stmts = []
        changed = False
        for s, (w, reads, same) in zip(b.stmts, stmt_facts):
            if (w is None or w not in rename) and rename.keys().isdisjoint(reads):
                if same is not None and same == w:
                    changed = True      # a copy to itself already
                else:
                    stmts.append(s)
                continue
            changed = True
            s = _rename_stmt(s, rename)
            if type(s) is ir.Assign and type(s.value) is ir.LocalGet and s.value.name == s.local:
                continue        # a copy to itself
            stmts.append(s)
        term = b.term if rename.keys().isdisjoint(term_reads) else _rename_term(b.term, rename)
        if changed or term is not b.term:
            b = attrs.evolve(b, stmts=tuple(stmts), term=term)
        blocks.append(b)
    locals_ = tuple(p for p in f.locals if p.name not in rename)
    return attrs.evolve(f, locals=locals_, blocks=tuple(blocks))


def _rename_stmt(s: ir.Stmt, rn: dict[str, str]) -> ir.Stmt:
    # The constructors, not `attrs.evolve` (a fifth of the renaming's time went to
    # evolve's field introspection).
    match s:
        case ir.Assign(local=x, value=v, span=sp):
            return ir.Assign(rn.get(x, x), _rename(v, rn), span=sp)
        case ir.Store(op=op, addr=a, value=v, offset=off, span=sp):
            return ir.Store(op, _rename(a, rn), _rename(v, rn), off, span=sp)
        case ir.Call(dest=d, callee=c, args=args, span=sp):
            return ir.Call(None if d is None else rn.get(d, d), c, _rename_all(args, rn), span=sp)
        case ir.CallIndirect(dest=d, type=ft, target=t, args=args, span=sp):
            return ir.CallIndirect(None if d is None else rn.get(d, d), ft, _rename(t, rn),
                                   _rename_all(args, rn), span=sp)
        case ir.GlobalSet(name=n, value=v, span=sp):
            return ir.GlobalSet(n, _rename(v, rn), span=sp)
    return s


def _rename_term(t: ir.Terminator, rn: dict[str, str]) -> ir.Terminator:
    match t:
        case ir.Branch(cond=c):
            return attrs.evolve(t, cond=_rename(c, rn))
        case ir.Switch(index=x):
            return attrs.evolve(t, index=_rename(x, rn))
        case ir.Return(value=v) if v is not None:
            return attrs.evolve(t, value=_rename(v, rn))
        case ir.TailCall(args=args):
            return attrs.evolve(t, args=_rename_all(args, rn))
        case ir.TailCallIndirect(args=args, target=tg):
            return attrs.evolve(t, args=_rename_all(args, rn), target=_rename(tg, rn))
    return t


def _rename_all(es: tuple[ir.Expr, ...], rn: dict[str, str]) -> tuple[ir.Expr, ...]:
    return tuple([_rename(e, rn) for e in es])


def _rename(e: ir.Expr, rn: dict[str, str]) -> ir.Expr:
    """`e` with its local reads renamed; a subtree that reads no renamed local is
    kept as it is.  One post-order walk (iterative: expression trees may be
    deeper than Python's recursion limit), each node rebuilt only when one of
    its operands was."""
    cls = type(e)
    if cls is ir.LocalGet:
        new = rn.get(cast(ir.LocalGet, e).name)
        return e if new is None else ir.LocalGet(new, span=cast(ir.LocalGet, e).span)
    if cls is not ir.OpExpr and cls is not ir.Load:
        return e
    done: list[ir.Expr] = []
    stack: list[tuple[ir.Expr, bool]] = [(e, False)]
    while stack:
        node, expanded = stack.pop()
        cls = type(node)
        if cls is ir.LocalGet:
            name = rn.get(cast(ir.LocalGet, node).name)
            done.append(node if name is None else ir.LocalGet(name, span=cast(ir.LocalGet, node).span))
        elif cls is ir.OpExpr:
            op = cast(ir.OpExpr, node)
            if not expanded:
                stack.append((node, True))
                stack.extend([(a, False) for a in reversed(op.args)])
                continue
            n = len(op.args)
            args = tuple(done[len(done) - n:])
            del done[len(done) - n:]
            same = all([a is b for a, b in zip(args, op.args)])
            done.append(node if same else ir.OpExpr(op.op, args, span=op.span))
        elif cls is ir.Load:
            ld = cast(ir.Load, node)
            if not expanded:
                stack.append((node, True))
                stack.append((ld.addr, False))
                continue
            addr = done.pop()
            done.append(node if addr is ld.addr else ir.Load(ld.op, addr, ld.offset, span=ld.span))
        else:
            done.append(node)
    return done[0]
