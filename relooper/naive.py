"""The naive dispatcher: Asterius's way of emitting a CFG, as a baseline.

Every block gets a number (the entry 0, then the other reachable blocks in
id order); the body is one loop around a ``br_table`` on the dispatch
variable, and every branch stores its target's number and jumps back to
the loop (Asterius issue #263 asks to replace this with a real relooper):

    SetDispatch(0)
    loop                            ;; depth n-1-i for block i's code
      block ... block block         ;; n blocks, block i innermost-but-i
        br_table DISPATCH 0 1 ... n-1
      end  code 0; set target; br loop
      end  code 1; ...
      ...
    end

A switch first ``br_table``s on its own index to one small block per
distinct target, each of which sets that target's number.  Same output
types as ``structure``, so the linker can use it as a fallback or to
compare.  Linear time; no recursion.
"""

from __future__ import annotations

from relooper.cfg import CFG, Branch, Jump, Switch, Terminate, Terminator, successors
from relooper.tree import DISPATCH, Block, Br, BrTable, Code, Exit, If, Loop, Node, SetDispatch


def structure_naive(cfg: CFG) -> list[Node]:
    """A loop + ``br_table`` dispatcher for ``cfg`` (see the module doc)."""
    cfg.check()
    order = _reachable(cfg)
    number = {block: position for position, block in enumerate(order)}
    count = len(order)
    inner: Node = BrTable(DISPATCH, tuple(range(count - 1)), count - 1)
    body: list[Node] = [inner]
    for position, block in enumerate(order):
        loop_depth = count - 1 - position
        wrapped = Block(tuple(body))
        body = [wrapped, Code(block, cfg.payload(block))]
        body += _leave(cfg.terminator(block), number, loop_depth)
    return [SetDispatch(0), Loop(tuple(body))]


def _leave(term: Terminator, number: dict[int, int], loop_depth: int) -> list[Node]:
    """The terminator as stores to the dispatch variable and a ``br`` back
    to the loop, ``loop_depth`` labels out."""
    match term:
        case Terminate(payload=payload):
            return [Exit(payload)]
        case Jump(target=t):
            return [SetDispatch(number[t]), Br(loop_depth)]
        case Branch(cond=cond, if_true=t, if_false=f):
            arms = If(cond, (SetDispatch(number[t]),), (SetDispatch(number[f]),))
            return [arms, Br(loop_depth)]
        case Switch():
            return _switch(term, number, loop_depth)
    raise AssertionError(f"unknown terminator {term!r}")


def _switch(term: Switch, number: dict[int, int], loop_depth: int) -> list[Node]:
    targets = successors(term)
    slot = {target: position for position, target in enumerate(targets)}
    depths = tuple(slot[t] for t in term.table)
    body: list[Node] = [BrTable(term.index, depths, slot[term.default])]
    for position, target in enumerate(targets):
        outer = len(targets) - 1 - position
        body = [Block(tuple(body)), SetDispatch(number[target]), Br(outer + loop_depth)]
    return body


def _reachable(cfg: CFG) -> list[int]:
    seen = {0}
    stack = [0]
    while stack:
        for target in successors(cfg.terminator(stack.pop())):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return sorted(seen)
