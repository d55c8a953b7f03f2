"""CFG analyses for the LTO passes: predecessors, dominators, liveness, uninitialized reads.

* Dominators: Cooper, Harvey and Kennedy, "A Simple, Fast Dominance
  Algorithm" (2001): iterate `idom` over reverse post-order to a fixed point.
* Liveness of locals: the classic backward data-flow problem (Aho, Lam,
  Sethi, Ullman, "Compilers", 2nd ed., 9.2.5), solved with a worklist.
* Locals that may be read before written (`maybe_uninit`): forward "must be
  assigned" data-flow (intersection over predecessors).  A wasm local
  starts at zero; an inlined body or a self tail call turned into a loop
  must reset exactly those locals whose zero a read may observe.
"""

from __future__ import annotations

from linker.ir import model as ir
from linker.lto.walk import local_reads, per_func, shared, stmt_exprs, successors, \
    term_exprs


def preds(f: ir.Func) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {b.label: [] for b in f.blocks}
    for b in f.blocks:
        for s in successors(b.term):
            out[s].append(b.label)
    return out


def reverse_postorder(f: ir.Func) -> list[str]:
    by = {b.label: b for b in f.blocks}
    order: list[str] = []
    seen = {f.blocks[0].label}
    stack: list[tuple[str, int]] = [(f.blocks[0].label, 0)]
    while stack:
        label, i = stack.pop()
        succ = successors(by[label].term)
        if i < len(succ):
            stack.append((label, i + 1))
            s = succ[i]
            if s not in seen:
                seen.add(s)
                stack.append((s, 0))
        else:
            order.append(label)
    order.reverse()
    return order


def idoms(f: ir.Func) -> dict[str, str]:
    """Immediate dominator of each reachable block (the entry maps to itself)."""
    rpo = reverse_postorder(f)
    num = {l: i for i, l in enumerate(rpo)}
    pr = preds(f)
    entry = rpo[0]
    idom: dict[str, str] = {entry: entry}
    changed = True
    while changed:
        changed = False
        for b in rpo[1:]:
            new: str | None = None
            for p in pr[b]:
                if p not in idom:
                    continue
                new = p if new is None else _intersect(p, new, idom, num)
            if new is not None and idom.get(b) != new:
                idom[b] = new
                changed = True
    return idom


def _intersect(a: str, b: str, idom: dict[str, str], num: dict[str, int]) -> str:
    while a != b:
        while num[a] > num[b]:
            a = idom[a]
        while num[b] > num[a]:
            b = idom[b]
    return a


def dominates(a: str, b: str, idom: dict[str, str]) -> bool:
    """Whether block `a` dominates block `b` (both reachable)."""
    while True:
        if a == b:
            return True
        up = idom[b]
        if up == b:
            return False
        b = up


def reads(e: ir.Expr) -> set[str]:
    return local_reads(e)


def stmt_reads(s: ir.Stmt) -> frozenset[str]:
    """The locals `s` reads (remembered per statement during the LTO phase: dce asks
    each statement three times, inlining and propagation again)."""
    return per_func("reads", s, _stmt_reads)


def _stmt_reads(s: ir.Stmt) -> frozenset[str]:
    es = stmt_exprs(s)
    if len(es) == 1:
        return shared(frozenset(local_reads(es[0])))
    out: set[str] = set()
    for e in es:
        out |= local_reads(e)
    return shared(frozenset(out))


def term_reads(t: ir.Terminator) -> set[str]:
    """The locals `t` reads (a new set)."""
    es = term_exprs(t)
    if len(es) == 1:
        return local_reads(es[0])
    out: set[str] = set()
    for e in es:
        out |= local_reads(e)
    return out


stmt_writes = ir.stmt_dest     # the local a statement writes (`linker.ir.model` owns it)


def live_out(f: ir.Func) -> dict[str, set[str]]:
    """Locals live at the end of each block."""
    use: dict[str, set[str]] = {}
    defs: dict[str, set[str]] = {}
    for b in f.blocks:
        u, d = set(term_reads(b.term)), set()
        for s in reversed(b.stmts):
            w = stmt_writes(s)
            if w is not None:
                u.discard(w)
                d.add(w)
            u |= stmt_reads(s)
        use[b.label], defs[b.label] = u, d
    pr = preds(f)
    by = {b.label: b for b in f.blocks}
    out: dict[str, set[str]] = {b.label: set() for b in f.blocks}
    live_in: dict[str, set[str]] = {l: set(use[l]) for l in use}
    work = [b.label for b in f.blocks]
    queued = set(work)
    while work:
        l = work.pop()
        queued.discard(l)
        o: set[str] = set()
        for succ in successors(by[l].term):
            o |= live_in[succ]
        out[l] = o
        new_in = use[l] | (o - defs[l])
        if new_in != live_in[l]:
            live_in[l] = new_in
            for p in pr[l]:
                if p not in queued:
                    queued.add(p)
                    work.append(p)
    return out


def maybe_uninit(f: ir.Func) -> frozenset[str]:
    """Declared locals (not params) that some path reads before any write (remembered
    per body during the LTO phase: a small callee is inlined at many sites)."""
    return per_func("uninit", f, _maybe_uninit)


def _maybe_uninit(f: ir.Func) -> frozenset[str]:
    names = {p.name for p in f.locals}
    if not names or not f.blocks:
        return frozenset()
    by = {b.label: b for b in f.blocks}
    pr = preds(f)
    rpo = reverse_postorder(f)
    entry = rpo[0]
    assigned: dict[str, set[str]] = {}
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for l in rpo:
            ins = [assigned[p] for p in pr[l] if p in assigned]
            cur = set() if l == entry else (set.intersection(*ins) if ins else set(names))
            b = by[l]
            for s in b.stmts:
                found |= (stmt_reads(s) & names) - cur
                w = stmt_writes(s)
                if w is not None:
                    cur.add(w)
            found |= (term_reads(b.term) & names) - cur
            if assigned.get(l) != cur:
                assigned[l] = cur
                changed = True
    return frozenset(found)
