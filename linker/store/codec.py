"""Flat encoding of entity bodies for object files.

msgpack nests at most 1,024 levels, and generated code can nest expressions
deeper than that, so a function body is encoded as one flat list in
post-order: each expression's operands come before it, exactly as wasm's
stack order (a decoder keeps a value stack, an encoder an explicit work
stack: neither recurses).  Statement and terminator tags pop their operands.
A function's statements and terminators keep their source location
(file, line, column; not the end) in an optional sixth element, a file table
and one flat (file, line, col) triple per statement and terminator in body
order, so code generated again from the IR (trampoline mode, LTO, checked
mode) still maps back to the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from linker.diagnostics import Span
from linker.ir.model import (AddrItem, Assign, BasicBlock, Branch, BytesItem, Call, CallIndirect,
                             Const, Data, DataItem, Expr, FloatItem, Func, GlobalGet, GlobalSet,
                             IntItem, Jump, Load, LocalGet, OpExpr, Panic, Param, Return, SigRef,
                             Stmt, Store, Switch, SymRef, TailCall, TailCallIndirect, Terminator,
                             Unreachable, ZeroItem)
from linker.ir.ops import OPS_BY_NAME
from linker.ir.refs import EdgeKind, RefCollector
from linker.ir.types import FuncType, ValType
# The type encodings live apart, so an object index can be read without the IR model.
from linker.store.typecodec import CodecError as CodecError, _short, _vt
from linker.store.typecodec import decode_functype as decode_functype
from linker.store.typecodec import encode_functype as encode_functype

# Expression tags.
CONST, LOCAL, GLOBAL, OP, LOAD, SYMREF, SIGREF = range(7)
# Statement tags.
ASSIGN, STORE, CALL, CALLIND, GSET = range(10, 15)
# Terminator tags.
JUMP, BRANCH, SWITCH, RETURN, TAILCALL, TAILCALLIND, UNREACHABLE, PANIC = range(20, 28)
BLOCK = 30

# Every leaf the decoder keeps is checked for its type and range here (value
# types in `typecodec`): a body with a valid checksum may still come from a
# hostile or broken writer, and later phases (printer, codegen, layout) trust
# the IR they are given.

def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise CodecError(f"expected a name or text, got {_short(v)}")
    return v


# msgpack makes a new string for every occurrence of a name, and the decoded bodies
# of a big program name the same locals, labels and symbols a million times (1.1
# million strings, 30,000 distinct, 63 MB of the 228 MB of IR the `--lto` link of
# the 100,000-function program decodes).  Names are kept once here; bounded, so a
# process that decodes many programs keeps only the first names it saw.
_NAMES: dict[str, str] = {}
_NAMES_LIMIT = 1 << 17


def _name(v: Any) -> str:
    """A checked name (a local, label or symbol), the one instance of its value."""
    hit = _NAMES.get(_str(v))
    if hit is None:
        hit = v
        if len(_NAMES) < _NAMES_LIMIT:
            _NAMES[v] = v
    return hit


def _int(v: Any, lo: int, hi: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise CodecError(f"expected an integer in [{lo}, {hi}], got {_short(v)}")
    return v


_U32 = (1 << 32) - 1
_RANGES = {ValType.I32: (-(1 << 31), _U32), ValType.I64: (-(1 << 63), (1 << 64) - 1)}


def _const(t: ValType, v: Any) -> int | float:
    if t in _RANGES:
        return _int(v, *_RANGES[t])
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise CodecError(f"expected a {t.value} constant, got {_short(v)}")
    return float(v)


_OPS_SEEN: set[tuple[str, str | None]] = set()   # (op, kind) pairs `_op` accepted


def _op(v: Any, kind: str | None = None) -> str:
    """An op of the op table; a load or store where `kind` says so, else neither."""
    if type(v) is str and (v, kind) in _OPS_SEEN:
        return str(v)
    op_ = _checked_op(v, kind)
    _OPS_SEEN.add((op_, kind))
    return op_


def _checked_op(v: Any, kind: str | None) -> str:
    from linker.ir.ops import OPS_BY_NAME
    op = OPS_BY_NAME.get(v) if isinstance(v, str) else None
    if op is None or (op.kind.value in ("load", "store")) != (kind is not None) or \
            (kind is not None and op.kind.value != kind):
        raise CodecError(f"not a{'n' if kind is None else ' ' + kind} operation here: "
                         f"{_short(v)}")
    return str(v)


# ---------------------------------------------------------------- encoding


_POST = object()  # work-stack mark: the node below it has its operands encoded
_CALL_EDGE, _TAIL_CALL_EDGE = EdgeKind.CALL, EdgeKind.TAIL_CALL
_ADDRESS_EDGE, _GLOBAL_EDGE = EdgeKind.ADDRESS, EdgeKind.GLOBAL
_NO_NAMES: Mapping[str, str] = {}


def _encode_expr(e: Expr, out: list[Any], names: Mapping[str, str], refs: RefCollector) -> None:
    # Post-order with an explicit stack; isinstance chains are faster than
    # `match` class patterns on this hot path.  Leaves are met left to right,
    # as `RefCollector.expr` meets them, so references keep its order.
    if e.__class__ is LocalGet:  # a leaf, the most common operand: no stack
        out += (LOCAL, e.name)
        return
    stack: list[Expr | object] = [e]
    while stack:
        node = stack.pop()
        cls: type = node.__class__
        if cls is LocalGet:  # the exact classes first: cheaper than isinstance
            out += (LOCAL, node.name)  # type: ignore[attr-defined]
        elif cls is OpExpr:
            stack += (node, _POST)
            stack.extend(reversed(node.args))  # type: ignore[attr-defined]
        elif node is _POST:
            node = stack.pop()
            if isinstance(node, OpExpr):
                out += (OP, node.op, len(node.args))
            elif isinstance(node, Load):
                out += (LOAD, node.op, node.offset)
        elif isinstance(node, LocalGet):
            out += (LOCAL, node.name)
        elif isinstance(node, Const):
            # `_value_`, not `value`: the enum property is a Python-level call.
            out += (CONST, node.type._value_, node.value)
        elif isinstance(node, OpExpr):
            stack += (node, _POST)
            stack.extend(reversed(node.args))
        elif isinstance(node, Load):
            stack += (node, _POST, node.addr)
        elif isinstance(node, GlobalGet):
            refs.add(node.name, _GLOBAL_EDGE)
            out += (GLOBAL, names.get(node.name, node.name))
        elif isinstance(node, SymRef):
            refs.add(node.symbol, _ADDRESS_EDGE)
            out += (SYMREF, names.get(node.symbol, node.symbol), node.offset)
        elif isinstance(node, SigRef):
            refs.sig_names.setdefault(node.name, None)
            out += (SIGREF, node.name)
        else:
            raise TypeError(f"not an expression: {node!r}")


def _encode_stmt(s: Stmt, out: list[Any], names: Mapping[str, str], refs: RefCollector) -> None:
    # References in `RefCollector.stmt`'s order: a callee or a stored global
    # before the operands.
    match s:
        case Assign(local=l, value=v):
            _encode_expr(v, out, names, refs)
            out += (ASSIGN, l)
        case Store(op=op, addr=a, value=v, offset=o):
            _encode_expr(a, out, names, refs)
            _encode_expr(v, out, names, refs)
            out += (STORE, op, o)
        case Call(dest=d, callee=c, args=args):
            refs.add(c, _CALL_EDGE)
            for a in args:
                _encode_expr(a, out, names, refs)
            out += (CALL, d, names.get(c, c), len(args))
        case CallIndirect(dest=d, type=t, target=tg, args=args):
            _encode_expr(tg, out, names, refs)
            for a in args:
                _encode_expr(a, out, names, refs)
            out += (CALLIND, d, encode_functype(t), len(args))
        case GlobalSet(name=n, value=v):
            refs.add(n, _GLOBAL_EDGE)
            _encode_expr(v, out, names, refs)
            out += (GSET, names.get(n, n))


def _encode_term(t: Terminator, out: list[Any], names: Mapping[str, str],
                 refs: RefCollector) -> None:
    match t:
        case Jump(target=l):
            out += (JUMP, l)
        case Branch(cond=c, then=a, else_=b):
            _encode_expr(c, out, names, refs)
            out += (BRANCH, a, b)
        case Switch(index=i, targets=ts, default=d):
            _encode_expr(i, out, names, refs)
            out += (SWITCH, list(ts), d)
        case Return(value=v):
            if v is not None:
                _encode_expr(v, out, names, refs)
            out += (RETURN, v is not None)
        case TailCall(callee=c, args=args):
            refs.add(c, _TAIL_CALL_EDGE)
            for arg in args:
                _encode_expr(arg, out, names, refs)
            out += (TAILCALL, names.get(c, c), len(args))
        case TailCallIndirect(type=ty, target=tg, args=args):
            _encode_expr(tg, out, names, refs)
            for arg in args:
                _encode_expr(arg, out, names, refs)
            out += (TAILCALLIND, encode_functype(ty), len(args))
        case Unreachable():
            out.append(UNREACHABLE)
        case Panic(message=m):
            out += (PANIC, m)


def encode_func(f: Func, names: Mapping[str, str] = _NO_NAMES,
                refs: RefCollector | None = None) -> list[Any]:
    """A function as [params, result, locals, deferred_error, flat code].

    `names` renames the symbols the body references (the compiler's private
    renaming, done here so the body is not rebuilt just to be encoded).
    `refs`, when given, collects the body's references in the same walk,
    exactly as `linker.ir.refs.func_refs` does (names before renaming)."""
    if refs is None:
        refs = RefCollector()
    code: list[Any] = []
    # The locations, [files, flat (file index, line, col) per statement and
    # terminator in body order, then the function's own], are gathered in
    # the same loop; none at all (a body built by the Python API) is None.
    files: dict[str, int] = {}
    flat: list[int] = []
    span: Span | None
    for b in f.blocks:
        code += (BLOCK, b.label, len(b.stmts))
        for s in b.stmts:
            _encode_stmt(s, code, names, refs)
            span = s.span
            if span is not None and span.file in files:     # `_locate`, inlined
                flat += (files[span.file], span.line, span.col)
            else:
                _locate(span, files, flat)
        _encode_term(b.term, code, names, refs)
        _locate(b.term.span, files, flat)
    if f.span is not None:
        _locate(f.span, files, flat)
    out = [[[p.name, p.type.value] for p in f.params],
           None if f.result is None else f.result.value,
           [[p.name, p.type.value] for p in f.locals],
           f.deferred_error, code]
    if files:
        out.append([list(files), flat])
    return out


def _locate(span: Span | None, files: dict[str, int], flat: list[int]) -> None:
    if span is None:
        flat += (-1, 0, 0)
        return
    k = files.get(span.file)
    if k is None:
        k = files[span.file] = len(files)
    flat += (k, span.line, span.col)


def encode_data(d: Data) -> list[Any]:
    """Data items as one flat list."""
    out: list[Any] = []
    for item in d.items:
        match item:
            case IntItem(width=w, value=v):
                out += ("i", w, v)
            case FloatItem(width=w, value=v):
                out += ("f", w, v)
            case BytesItem(value=v):
                out += ("b", v)
            case ZeroItem(size=n):
                out += ("z", n)
            case AddrItem(symbol=s, offset=o):
                out += ("a", s, o)
    return out


# ---------------------------------------------------------------- decoding


def decode_func(name: str, private: bool, raw: Any) -> Func:
    """Inverse of `encode_func`; raises CodecError on malformed input."""
    try:
        params, result, locals_, deferred, code = raw[:5]
        blocks = _decode_blocks(code)
        if deferred is not None:
            _str(deferred)
        span = None
        if len(raw) > 5:
            blocks, span = _attach_locations(blocks, raw[5])
        return Func(name, tuple(Param(_name(n), _vt(t)) for n, t in params),
                    None if result is None else _vt(result),
                    tuple(Param(_name(n), _vt(t)) for n, t in locals_), tuple(blocks), private,
                    deferred, span=span)
    except CodecError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise CodecError(f"malformed function body for '{name}': {exc}") from None


def _attach_locations(blocks: list[BasicBlock], raw: Any) -> tuple[list[BasicBlock], Span | None]:
    """The blocks with the spans `encode_func` records on their statements and
    terminators, and the function's own span (its declaration)."""
    files, flat = raw
    spans = [None if flat[i] < 0 else Span(files[flat[i]], flat[i + 1], flat[i + 2],
                                            flat[i + 1], flat[i + 2])
             for i in range(0, len(flat), 3)]
    count = sum(len(b.stmts) + 1 for b in blocks)
    if len(spans) not in (count, count + 1):
        raise CodecError(f"{len(spans)} locations for {count} statements and terminators")
    it = iter(spans)
    # The statements and terminators were made by `_decode_blocks` a moment ago and
    # nothing else refers to them yet: their spans are set in place (as attrs' own
    # __init__ sets the fields of a frozen class) instead of copying every one.
    for b in blocks:
        for s in b.stmts:
            _set_span(s, next(it))
        _set_span(b.term, next(it))
    return blocks, next(it, None)


def _set_span(node: object, span: Span | None) -> None:
    object.__setattr__(node, "span", span)


def _decode_blocks(code: list[Any]) -> list[BasicBlock]:
    blocks: list[BasicBlock] = []
    vals: list[Expr] = []
    stmts: list[Stmt] = []
    label = ""
    i, n = 0, len(code)
    while i < n:
        tag = code[i]
        if not isinstance(tag, int) or isinstance(tag, bool):
            raise CodecError(f"not a tag: {_short(tag)}")
        if tag < ASSIGN:
            i = _decode_expr(code, i, vals)
        elif tag < JUMP:
            i = _decode_stmt(code, i, vals, stmts)
        elif tag < BLOCK:
            term, i = _decode_term(code, i, vals)
            blocks.append(BasicBlock(label, tuple(stmts), term))
            stmts = []
        elif tag == BLOCK:
            label = _name(code[i + 1])
            i += 3
        else:
            raise CodecError(f"unknown tag {tag}")
    if vals or stmts:
        raise CodecError("dangling values at end of body")
    return blocks


def _pop(vals: list[Expr], n: int) -> tuple[Expr, ...]:
    if n > len(vals) or n < 0:
        raise CodecError("operand stack underflow")
    if n == 0:
        return ()
    args = tuple(vals[-n:])
    del vals[-n:]
    return args


def _decode_expr(code: list[Any], i: int, vals: list[Expr]) -> int:
    tag = code[i]
    if tag == CONST:
        t = _vt(code[i + 1])
        vals.append(Const(t, _const(t, code[i + 2])))
        return i + 3
    if tag == LOCAL:
        vals.append(LocalGet(_name(code[i + 1])))
        return i + 2
    if tag == GLOBAL:
        vals.append(GlobalGet(_name(code[i + 1])))
        return i + 2
    if tag == OP:
        op = _op(code[i + 1])
        arity = len(OPS_BY_NAME[op].params)
        vals.append(OpExpr(op, _pop(vals, _int(code[i + 2], arity, arity))))
        return i + 3
    if tag == LOAD:
        (addr,) = _pop(vals, 1)
        vals.append(Load(_op(code[i + 1], "load"), addr, _int(code[i + 2], 0, _U32)))
        return i + 3
    if tag == SYMREF:
        vals.append(SymRef(_name(code[i + 1]), _int(code[i + 2], -(1 << 31), _U32)))
        return i + 3
    if tag == SIGREF:
        vals.append(SigRef(_name(code[i + 1])))
        return i + 2
    raise CodecError(f"unknown expression tag {tag}")


def _decode_stmt(code: list[Any], i: int, vals: list[Expr], out: list[Stmt]) -> int:
    tag = code[i]
    if tag == ASSIGN:
        (v,) = _pop(vals, 1)
        out.append(Assign(_name(code[i + 1]), v))
        return i + 2
    if tag == STORE:
        a, v = _pop(vals, 2)
        out.append(Store(_op(code[i + 1], "store"), a, v, _int(code[i + 2], 0, _U32)))
        return i + 3
    if tag == CALL:
        result = None if code[i + 1] is None else _name(code[i + 1])
        out.append(Call(result, _name(code[i + 2]), _pop(vals, _int(code[i + 3], 0, 1 << 16))))
        return i + 4
    if tag == CALLIND:
        args = _pop(vals, _int(code[i + 3], 0, 1 << 16))
        (target,) = _pop(vals, 1)
        result = None if code[i + 1] is None else _name(code[i + 1])
        out.append(CallIndirect(result, decode_functype(code[i + 2]), target, args))
        return i + 4
    if tag == GSET:
        (v,) = _pop(vals, 1)
        out.append(GlobalSet(_name(code[i + 1]), v))
        return i + 2
    raise CodecError(f"unknown statement tag {tag}")


def _decode_term(code: list[Any], i: int, vals: list[Expr]) -> tuple[Terminator, int]:
    tag = code[i]
    if tag == JUMP:
        return Jump(_name(code[i + 1])), i + 2
    if tag == BRANCH:
        (c,) = _pop(vals, 1)
        return Branch(c, _name(code[i + 1]), _name(code[i + 2])), i + 3
    if tag == SWITCH:
        (x,) = _pop(vals, 1)
        if not isinstance(code[i + 1], list):
            raise CodecError("switch targets are not a list")
        return Switch(x, tuple(_name(t) for t in code[i + 1]), _name(code[i + 2])), i + 3
    if tag == RETURN:
        value = _pop(vals, 1)[0] if code[i + 1] else None
        return Return(value), i + 2
    if tag == TAILCALL:
        return TailCall(_name(code[i + 1]), _pop(vals, _int(code[i + 2], 0, 1 << 16))), i + 3
    if tag == TAILCALLIND:
        args = _pop(vals, _int(code[i + 2], 0, 1 << 16))
        (target,) = _pop(vals, 1)
        return TailCallIndirect(decode_functype(code[i + 1]), target, args), i + 3
    if tag == UNREACHABLE:
        return Unreachable(), i + 1
    if tag == PANIC:
        return Panic(_str(code[i + 1])), i + 2
    raise CodecError(f"unknown terminator tag {tag}")


def decode_data_items(raw: list[Any]) -> tuple[DataItem, ...]:
    """Inverse of `encode_data`; raises CodecError on malformed input."""
    items: list[DataItem] = []
    i = 0
    try:
        while i < len(raw):
            tag = raw[i]
            if tag == "i":
                width = raw[i + 1]
                if width not in (8, 16, 32, 64) or isinstance(width, bool):
                    raise CodecError(f"integer item of width {_short(width)}")
                items.append(IntItem(width, _int(raw[i + 2], -(1 << (width - 1)),
                                                  (1 << width) - 1)))
                i += 3
            elif tag == "f":
                width = raw[i + 1]
                if width not in (32, 64) or isinstance(width, bool):
                    raise CodecError(f"float item of width {_short(width)}")
                items.append(FloatItem(width, _const(ValType.F64, raw[i + 2])))
                i += 3
            elif tag == "b":
                if not isinstance(raw[i + 1], bytes):   # bytes(n) would allocate n bytes
                    raise CodecError(f"bytes item holds {_short(raw[i + 1])}")
                items.append(BytesItem(raw[i + 1]))
                i += 2
            elif tag == "z":
                items.append(ZeroItem(_int(raw[i + 1], 0, _U32)))
                i += 2
            elif tag == "a":
                items.append(AddrItem(_name(raw[i + 1]), _int(raw[i + 2], -(1 << 31), _U32)))
                i += 3
            else:
                raise CodecError(f"unknown data item tag {tag!r}")
    except (IndexError, TypeError) as exc:
        raise CodecError(f"malformed data items: {exc}") from None
    return tuple(items)
