"""A quick estimate of the wasm bytes an IR function's code takes, without generating it.

The inliner weighs each callee by the bytes a copy would add against the
call it replaces (binaryen's inliner weighs by node counts; bytes are what
irld's size goal counts).  Each IR node is charged what its instruction
usually costs in the output: a `local.get`/`local.set`/`global.get` 2 bytes,
a call 3 (opcode and a 2-byte function index), a constant its LEB, a
`@sym` 3 (an address or table slot below 16,384), a load or store 3 (opcode
and memarg), a branch 4 (`br_if` plus the `block` it needs).  Good to a few
bytes per function, at a tiny fraction of code generation's cost.
"""

from __future__ import annotations

from linker.ir import model as ir
from linker.lto.walk import nodes, per_func, stmt_exprs, term_exprs


def expr_bytes(e: ir.Expr) -> int:
    from linker.lto.precompute import const_bytes
    total = 0
    for n in nodes(e):
        if type(n) is ir.LocalGet or type(n) is ir.GlobalGet:
            total += 2
        elif type(n) is ir.Const:
            total += const_bytes(n)
        elif type(n) is ir.OpExpr:
            total += 2 if "trunc_sat" in n.op else 1
        elif type(n) is ir.Load:
            total += 3 + (n.offset >= 128)
        elif type(n) is ir.SymRef or type(n) is ir.SigRef:
            total += 3
    return total


def stmt_bytes(s: ir.Stmt) -> int:
    base = sum(expr_bytes(e) for e in stmt_exprs(s))
    match s:
        case ir.Assign() | ir.GlobalSet():
            return base + 2
        case ir.Store():
            return base + 3
        case ir.Call(dest=d):
            return base + 3 + (2 if d is not None else 1)
        case ir.CallIndirect(dest=d):
            return base + 3 + (2 if d is not None else 1)
    return base


def term_bytes(t: ir.Terminator) -> int:
    base = sum(expr_bytes(e) for e in term_exprs(t))
    match t:
        case ir.Jump():
            return base + 2
        case ir.Branch():
            return base + 4
        case ir.Switch(targets=ts):
            return base + 3 + len(ts)
        case ir.Return():
            return base + 1
        case ir.TailCall() | ir.TailCallIndirect():
            return base + 3
        case ir.Panic():
            return base + 16
    return base + 1


def func_bytes(f: ir.Func) -> int:
    return per_func("bytes", f, _func_bytes)


def _func_bytes(f: ir.Func) -> int:
    # Per block, remembered: a pass that rewrites a body keeps its untouched blocks.
    return sum(per_func("block-bytes", b, _block_bytes) for b in f.blocks)


def _block_bytes(b: ir.BasicBlock) -> int:
    return sum(stmt_bytes(s) for s in b.stmts) + term_bytes(b.term)
