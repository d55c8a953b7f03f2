"""`remove-unused-module-elements`: the second discovery, after the passes.

The same breadth-first marking as `linker.marklive`, on what the passes
left: the roots are every symbol referenced from outside the IR code
(`Whole.pinned`: the entry, exports, ctors, address-taken functions, the
references of C code and of data), the edges are the direct calls, `@sym`
references and global accesses of the live IR functions.  IR functions and
globals not reached are dropped (data keeps its layout: addresses are
observable).
"""

from __future__ import annotations

from linker.lto.whole import Whole


def run(whole: Whole) -> None:
    seen = set(whole.pinned)
    work = [s for s in whole.pinned if s in whole.funcs]
    while work:
        for sym in whole.refs_of(work.pop()):
            if sym not in seen:
                seen.add(sym)
                if sym in whole.funcs:
                    work.append(sym)
    for name in [n for n in whole.funcs if n not in seen]:
        del whole.funcs[name]
        whole.effect(name).removed = True
    for g in [g for g in whole.globals if g not in seen]:
        del whole.globals[g]
        whole.effect(g).removed = True
