"""The IR printer: `print_module(m) -> str`, the canonical text of a module.

The output parses back (`linker.ir.parser.parse_module`) to a module equal to
the input, for every module the parser accepts: floats print exactly
(`repr`, which round-trips a double; NaNs as `nan:0x<payload>` with their
sign, f32 NaNs with their f32 payload), strings escape every byte outside
printable ASCII, and only explicit forms are used (standalone
`export "x" f`, `align` and `priority` always written, C types inline as
`struct { ... }`).

Layout: `module` first, items separated by blank lines, two-space indent for
locals and statements, labels at column 0, one `local` per line, data items
on one line when it stays short (else one per line).  Expressions print
recursively, accepting the parser's nesting limit.
"""

from __future__ import annotations

import math
import struct
import sys

from linker.ir.ctypes import CScalar, CSig, CType
from linker.ir.model import (AddrItem, Assign, BasicBlock, Branch, BytesItem, Call, CallIndirect,
                             Const, Ctor, CSigDecl, CTypeDecl, Data, DataItem, Export, Expr,
                             ExternFunc, ExternGlobal, FloatItem, ForeignExport, ForeignImport,
                             Func, Global, GlobalGet, GlobalSet, ImportFunc, IntItem, Item, Jump,
                             Load, LocalGet, Module, OpExpr, Panic, Return, SigRef, Stmt, Store,
                             Switch, SymRef, TailCall, TailCallIndirect, Terminator, Unreachable,
                             ZeroItem)
from linker.ir.types import FuncType, ValType

__all__ = ["print_module", "format_expr", "format_float", "quote"]


def print_module(m: Module) -> str:
    """The canonical text of `m`; it parses back to an equal module."""
    out: list[str] = [f"module {m.name}"]
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, _RECURSION_LIMIT))
    try:
        for item in m.items:
            out.append("")
            _item(item, out)
    finally:
        sys.setrecursionlimit(old_limit)
    out.append("")
    return "\n".join(out)


# Expressions print recursively; accept the nesting the parser accepts.
_RECURSION_LIMIT = 20000


# ---------------------------------------------------------------- items


def _item(item: Item, out: list[str]) -> None:
    match item:
        case Func():
            _func(item, out)
        case ImportFunc(name=name, module=module, field=field, type=ft):
            out.append(f"import func {quote_text(module)} {quote_text(field)} {name}{_functype(ft)}")
        case ExternFunc(name=name, type=ft):
            out.append(f"extern func {name}{_functype(ft)}")
        case ExternGlobal(name=name, type=t):
            out.append(f"extern global {name}: {t.value}")
        case Global(name=name, type=t, init=init, private=private):
            prefix = "private " if private else ""
            out.append(f"{prefix}global {name}: {t.value} = {_number(t, init)}")
        case Data():
            _data(item, out)
        case Export(name=name, symbol=symbol):
            out.append(f"export {quote_text(name)} {symbol}")
        case Ctor(symbol=symbol, priority=priority):
            out.append(f"ctor {symbol} priority {priority}")
        case CTypeDecl(name=name, type=t):
            out.append(f"ctype {name} = {format_ctype(t)}")
        case CSigDecl(name=name, sig=sig, closure_pool=pool):
            tail = "" if pool is None else f" pool {pool}"
            out.append(f"csig {name} = {format_csig(sig)}{tail}")
        case ForeignImport(name=name, module="", sig=sig):
            out.append(f"foreign import ccall {name}: {format_csig(sig)}")
        case ForeignImport(name=name, module=module, field=field, sig=sig):
            out.append(f"foreign import ccall {quote_text(module)} {quote_text(field)} "
                       f"{name}: {format_csig(sig)}")
        case ForeignExport(name=name, symbol=symbol, sig=sig):
            out.append(f"foreign export ccall {quote_text(name)} {symbol}: {format_csig(sig)}")
        case _:
            raise TypeError(f"not an IR item: {item!r}")


def _functype(ft: FuncType) -> str:
    params = ", ".join(p.value for p in ft.params)
    tail = "" if ft.result is None else f" -> {ft.result.value}"
    return f"({params}){tail}"


def format_ctype(t: CType) -> str:
    if isinstance(t, CScalar):
        return t.kind.value
    if not t.fields:
        return "struct {}"
    return "struct { " + ", ".join(format_ctype(f) for f in t.fields) + " }"


def format_csig(sig: CSig) -> str:
    parts = [format_ctype(p) for p in sig.fixed_params]
    if sig.nfixed is not None:
        parts.append("...")
        parts.extend(format_ctype(p) for p in sig.var_params)
    return f"{format_ctype(sig.ret)}({', '.join(parts)})"


def _data(d: Data, out: list[str]) -> None:
    head = ("private " if d.private else "") + ("readonly " if d.readonly else "")
    head += f"data {d.name} align {d.align} = {{"
    items = [_data_item(i) for i in d.items]
    if not items:
        out.append(head + " }")
        return
    one_line = f"{head} {', '.join(items)} }}"
    if len(one_line) <= 100:
        out.append(one_line)
        return
    out.append(head)
    last = len(items) - 1
    out.extend(f"  {text}{',' if i < last else ''}" for i, text in enumerate(items))
    out.append("}")


def _data_item(item: DataItem) -> str:
    match item:
        case IntItem(width=w, value=v):
            return f"i{w} {v}"
        case FloatItem(width=w, value=v):
            return f"f{w} {format_float(v, w)}"
        case BytesItem(value=v):
            return f"bytes {quote(v)}"
        case ZeroItem(size=n):
            return f"zero {n}"
        case AddrItem(symbol=s, offset=off):
            return f"addr {s}{_offset(off)}"
    raise TypeError(f"not a data item: {item!r}")


def _offset(off: int) -> str:
    if off == 0:
        return ""
    return f"+{off}" if off > 0 else str(off)


# ---------------------------------------------------------------- functions


def _func(f: Func, out: list[str]) -> None:
    params = ", ".join(f"{p.name}: {p.type.value}" for p in f.params)
    tail = "" if f.result is None else f" -> {f.result.value}"
    head = f"{'private ' if f.private else ''}func {f.name}({params}){tail}"
    if f.deferred_error is not None:
        out.append(f"{head} deferred {quote_text(f.deferred_error)}")
        return
    out.append(head + " {")
    out.extend(f"  local {p.name}: {p.type.value}" for p in f.locals)
    for block in f.blocks:
        _block(block, out)
    out.append("}")


def _block(b: BasicBlock, out: list[str]) -> None:
    out.append(f"{b.label}:")
    for s in b.stmts:
        out.append("  " + format_stmt(s))
    out.append("  " + format_term(b.term))


def _args(args: tuple[Expr, ...]) -> str:
    return ", ".join([format_expr(a) for a in args])


def format_stmt(s: Stmt) -> str:
    match s:
        case Assign(local=name, value=v):
            return f"{name} = {format_expr(v)}"
        case Store(op=op, addr=addr, value=v, offset=off):
            tail = f", offset={off}" if off else ""
            return f"{op}({format_expr(addr)}, {format_expr(v)}{tail})"
        case Call(dest=dest, callee=callee, args=args):
            lhs = "" if dest is None else f"{dest} = "
            return f"{lhs}call {callee}({_args(args)})"
        case CallIndirect(dest=dest, type=ft, target=target, args=args):
            lhs = "" if dest is None else f"{dest} = "
            return f"{lhs}call_indirect {_functype(ft)} [{format_expr(target)}]({_args(args)})"
        case GlobalSet(name=name, value=v):
            return f"{name} = {format_expr(v)}"
    raise TypeError(f"not a statement: {s!r}")


def format_term(t: Terminator) -> str:
    match t:
        case Jump(target=target):
            return f"jump {target}"
        case Branch(cond=cond, then=then, else_=else_):
            return f"if {format_expr(cond)} then {then} else {else_}"
        case Switch(index=index, targets=targets, default=default):
            return f"switch {format_expr(index)} [{', '.join(targets)}] else {default}"
        case Return(value=None):
            return "return"
        case Return(value=v) if v is not None:
            return f"return {format_expr(v)}"
        case TailCall(callee=callee, args=args):
            return f"tail call {callee}({_args(args)})"
        case TailCallIndirect(type=ft, target=target, args=args):
            return f"tail call_indirect {_functype(ft)} [{format_expr(target)}]({_args(args)})"
        case Unreachable():
            return "unreachable"
        case Panic(message=msg):
            return f"panic {quote_text(msg)}"
    raise TypeError(f"not a terminator: {t!r}")


def format_expr(e: Expr) -> str:
    if isinstance(e, (LocalGet, GlobalGet)):
        return e.name
    if isinstance(e, Const):
        return _number(e.type, e.value)
    if isinstance(e, OpExpr):
        return f"{e.op}({', '.join([format_expr(a) for a in e.args])})"
    if isinstance(e, Load):
        tail = f", offset={e.offset}" if e.offset else ""
        return f"{e.op}({format_expr(e.addr)}{tail})"
    if isinstance(e, SymRef):
        return f"@{e.symbol}{_offset(e.offset)}"
    if isinstance(e, SigRef):
        return f"sig {e.name}"
    raise TypeError(f"not an expression: {e!r}")


# ---------------------------------------------------------------- literals


def _number(t: ValType, v: int | float) -> str:
    if t is ValType.F32:
        return format_float(v, 32)
    if t is ValType.F64:
        return format_float(v, 64)
    return str(v)


def format_float(v: int | float, bits: int) -> str:
    """A float literal that reads back bit-exactly as a `bits`-wide float."""
    if isinstance(v, int):
        return str(v)
    if v != v:
        raw = struct.unpack("<Q", struct.pack("<d", v))[0]
        sign = "-" if raw >> 63 else ""
        payload = raw & ((1 << 52) - 1)
        if bits == 32:
            payload >>= 29
        return f"{sign}nan:0x{payload:x}"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


_SAFE = frozenset(range(0x20, 0x7F)) - {ord('"'), ord("\\")}
_ESCAPE = {0x0A: "\\n", 0x09: "\\t", 0x0D: "\\r", 0x00: "\\0", 0x22: '\\"', 0x5C: "\\\\"}


def quote(data: bytes) -> str:
    """A string literal denoting exactly `data`."""
    if all(b in _SAFE for b in data):
        return '"' + data.decode("ascii") + '"'
    parts = ['"']
    for b in data:
        if b in _SAFE:
            parts.append(chr(b))
        else:
            parts.append(_ESCAPE.get(b) or f"\\x{b:02x}")
    parts.append('"')
    return "".join(parts)


def quote_text(text: str) -> str:
    """A string literal for a text field (UTF-8)."""
    return quote(text.encode("utf-8", "surrogatepass"))
