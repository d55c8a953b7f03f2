"""`simplify-globals`: globals never written become constants; globals never read lose their writes.

A global that no live IR function sets and that nothing outside the IR
refers to (C code, an export) keeps its initial value for the whole run,
so every read becomes that constant (binaryen's `simplify-globals`) when the
constant's instruction is no bigger than the `global.get` (2 bytes).  A
global that no live IR function reads, and nothing outside refers to, is
write-only: its sets with pure values are dropped (a value that may trap
is kept).  Either way the global may end up unreferenced, and then the
second discovery drops it.
"""

from __future__ import annotations

import attrs

from linker.ir import model as ir
from linker.lto.precompute import const_bytes
from linker.lto.walk import func_exprs, is_pure, map_block
from linker.lto.whole import Whole


def run(whole: Whole) -> None:
    written: set[str] = set()
    read: set[str] = set()
    uses: dict[str, set[str]] = {}      # function -> the globals it reads or writes
    for name, f in whole.funcs.items():
        sets = {s.name for b in f.blocks for s in b.stmts if isinstance(s, ir.GlobalSet)}
        gets = {e.name for e in func_exprs(f) if isinstance(e, ir.GlobalGet)}
        written |= sets
        read |= gets
        if sets or gets:
            uses[name] = sets | gets
    free = {g for g in whole.globals if g not in whole.pinned}
    consts = {g: ir.Const(*whole.globals[g]) for g in free - written}
    # A `global.get` is 2 bytes: only constants as small as that replace it.
    consts = {g: c for g, c in consts.items() if const_bytes(c) <= 2}
    unread = free - read
    for g in consts:
        whole.effect(g).constant = True

    def expr(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.GlobalGet) and e.name in consts:
            return consts[e.name]
        return e

    touched = set(consts) | unread
    for name, used in uses.items():
        if touched.isdisjoint(used):
            continue
        f = whole.funcs[name]
        blocks = []
        for b in f.blocks:
            if consts:
                b = map_block(b, expr)
            if unread:
                stmts = tuple(s for s in b.stmts if not (isinstance(s, ir.GlobalSet)
                              and s.name in unread and is_pure(s.value)))
                if len(stmts) != len(b.stmts):
                    b = attrs.evolve(b, stmts=stmts)
            blocks.append(b)
        whole.update(name, attrs.evolve(f, blocks=tuple(blocks)))
