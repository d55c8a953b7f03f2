"""Symbol references of an entity, with the kind of each edge.

Computed once at compile time and stored in the object index, so live-code
discovery never decodes a body (Asterius computed dependencies at link time
until PR #585; it had made gc-sections a third of link time, issue #568).
An entity references a symbol through a call, a tail call, taking its
address (`@f`, `call_indirect` targets are values, not edges), a data
relocation, or a global access; FFI signature uses are collected separately
as canonical signature keys.
"""

from __future__ import annotations

from collections.abc import Iterable

# Re-exported: `linker.ir.refs.EdgeKind` is where IR-side code has always found it.
from linker.ir.edges import EdgeKind as EdgeKind
from linker.ir.model import (AddrItem, Assign, Branch, Call, CallIndirect, Const, Data, Expr,
                             Func, GlobalGet, GlobalSet, Load, LocalGet, OpExpr, Return, SigRef,
                             Stmt, Store, Switch, SymRef, TailCall, TailCallIndirect, Terminator)


class RefCollector:
    """Accumulates (symbol, edge kind) pairs in first-seen order, without duplicates."""

    def __init__(self) -> None:
        self.refs: dict[tuple[str, EdgeKind], None] = {}
        self.sig_names: dict[str, None] = {}

    def add(self, symbol: str, kind: EdgeKind) -> None:
        self.refs.setdefault((symbol, kind), None)

    def expr(self, e: Expr) -> None:
        # Explicit stack: expression trees from generated code can be deep.
        # Dispatch on the exact class first (`match` class patterns cost an
        # isinstance and an attribute fetch per case); subclasses fall through.
        stack: list[Expr] = [e]
        while stack:
            node = stack.pop()
            cls = node.__class__
            if cls is LocalGet or cls is Const:
                continue
            if cls is OpExpr:
                stack.extend(reversed(node.args))  # type: ignore[union-attr]
                continue
            if cls is Load:
                stack.append(node.addr)  # type: ignore[union-attr]
                continue
            match node:
                case SymRef(symbol=s):
                    self.add(s, EdgeKind.ADDRESS)
                case GlobalGet(name=n):
                    self.add(n, EdgeKind.GLOBAL)
                case OpExpr(args=args):
                    stack.extend(reversed(args))
                case Load(addr=a):
                    stack.append(a)
                case SigRef(name=n):
                    self.sig_names.setdefault(n, None)
                case Const() | LocalGet():
                    pass

    def exprs(self, es: Iterable[Expr]) -> None:
        for e in es:
            self.expr(e)

    def stmt(self, s: Stmt) -> None:
        match s:
            case Assign(value=v):
                self.expr(v)
            case Store(addr=a, value=v):
                self.expr(a)
                self.expr(v)
            case Call(callee=c, args=args):
                self.add(c, EdgeKind.CALL)
                self.exprs(args)
            case CallIndirect(target=t, args=args):
                self.expr(t)
                self.exprs(args)
            case GlobalSet(name=n, value=v):
                self.add(n, EdgeKind.GLOBAL)
                self.expr(v)

    def term(self, t: Terminator) -> None:
        match t:
            case Branch(cond=c):
                self.expr(c)
            case Switch(index=i):
                self.expr(i)
            case Return(value=v) if v is not None:
                self.expr(v)
            case TailCall(callee=c, args=args):
                self.add(c, EdgeKind.TAIL_CALL)
                self.exprs(args)
            case TailCallIndirect(target=t2, args=args):
                self.expr(t2)
                self.exprs(args)


def func_refs(f: Func) -> RefCollector:
    """References of a function body (locals are not symbols)."""
    c = RefCollector()
    for b in f.blocks:
        for s in b.stmts:
            c.stmt(s)
        c.term(b.term)
    return c


def data_refs(d: Data) -> RefCollector:
    c = RefCollector()
    for item in d.items:
        if isinstance(item, AddrItem):
            c.add(item.symbol, EdgeKind.DATA_REF)
    return c
