"""`merge-blocks`: CFG simplification before the relooper.

To a fixed point, per function:

* jump threading: a block other than the entry with no statements that
  only jumps elsewhere is bypassed (every edge to it goes to its final
  target; a cycle of empty blocks is left alone);
* a two-way branch whose targets are the same block, with a pure
  condition, becomes a jump;
* a block that jumps to a block with no other predecessor (and that is not
  the entry) absorbs it;
* unreachable blocks are dropped.

Fewer blocks mean fewer `block`/`br` pairs after structuring (Ramsey,
"Beyond Relooper", 2022, wants the CFG as simple as it can be).
"""

from __future__ import annotations

import attrs

from linker.ir import model as ir
from linker.lto.cfg import preds
from linker.lto.walk import is_pure, reachable_labels, retarget, successors
from linker.lto.whole import Whole


def simplify(f: ir.Func) -> ir.Func:
    if not f.blocks:
        return f
    for _round in range(8):
        new = _merge(_thread(f))
        if new == f:
            return new
        f = new
    return f


def _thread(f: ir.Func) -> ir.Func:
    entry = f.blocks[0].label
    skip = {b.label: b.term.target for b in f.blocks
            if b.label != entry and not b.stmts and isinstance(b.term, ir.Jump)
            and b.term.target != b.label}

    def final(l: str) -> str:
        seen = {l}
        while l in skip:
            l = skip[l]
            if l in seen:
                return l
            seen.add(l)
        return l

    blocks = []
    for b in f.blocks:
        t = retarget(b.term, final)
        if isinstance(t, ir.Branch) and t.then == t.else_ and is_pure(t.cond):
            t = ir.Jump(t.then)
        blocks.append(b if t == b.term else attrs.evolve(b, term=t))
    f = attrs.evolve(f, blocks=tuple(blocks))
    keep = set(reachable_labels(f))
    return attrs.evolve(f, blocks=tuple(b for b in f.blocks if b.label in keep))


def _merge(f: ir.Func) -> ir.Func:
    pr = preds(f)
    cur = {b.label: b for b in f.blocks}
    entry = f.blocks[0].label
    absorbed: set[str] = set()
    for label in list(cur):
        if label in absorbed:
            continue
        b = cur[label]
        while (isinstance(b.term, ir.Jump) and b.term.target != entry
               and b.term.target != label and pr[b.term.target] == [label]
               and b.term.target not in absorbed):
            nxt = cur[b.term.target]
            absorbed.add(nxt.label)
            for succ in successors(nxt.term):      # their edges now leave `label`
                pr[succ] = [label if p == nxt.label else p for p in pr[succ]]
            b = attrs.evolve(b, stmts=b.stmts + nxt.stmts, term=nxt.term)
        cur[label] = b
    return attrs.evolve(f, blocks=tuple(b for l, b in cur.items() if l not in absorbed))


def run(whole: Whole) -> None:
    for name in whole.todo("merge-blocks", everything=whole.thorough):
        whole.update(name, simplify(whole.funcs[name]))
