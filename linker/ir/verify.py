"""The IR verifier: every static rule a module must satisfy before it is compiled.

`verify_module` returns every problem it finds (it never stops at the first),
each with the span of the offending node, or of its nearest enclosing node
that has one.  Modules built with the Python API have no spans; their
diagnostics name the module and say where in it the problem is.

Rules (see docs/ir.md for the language they belong to):

* module level: one namespace for functions, data, globals, host imports and
  extern declarations (an extern may repeat a definition's name only with the
  same type); C signature, C type and export names are unique; exports, ctors
  and foreign exports name a function of the module or a declared extern;
  ctors take no parameters and return nothing; a foreign export's function
  has the lowered type of its C signature;
* data: integer widths 8/16/32/64 with the value in range (signed or
  unsigned spelling), float widths 32/64, power-of-two alignment, zero fill
  sizes >= 0, a relocation to a function has offset 0;
* functions: a deferred error and blocks exclude each other; params and
  locals are defined once; labels are defined once and every jump target
  exists; every operand, load, store, assignment, global access, call
  argument and call destination has the type the op table or the callee's
  signature requires; a return matches the function's result; a tail call's
  callee returns what the caller returns (wasm's `return_call` rule);
  switch tables are not empty.

Speed matters (it runs on multi-megabyte inputs): one pass per function,
dict lookups keyed by name, expression types computed bottom-up with an
explicit stack (generated code nests deeper than Python's recursion limit),
and no work beyond a type comparison on the error-free path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from linker.diagnostics import Diagnostic, Span
from linker.ir.ctypes import CStruct, is_empty, lower
from linker.ir.model import (AddrItem, Assign, BasicBlock, Branch, BytesItem, Call, CallIndirect,
                             Const, Ctor, CSigDecl, CTypeDecl, Data, Export, Expr, ExternFunc,
                             ExternGlobal, FloatItem, ForeignExport, ForeignImport, Func, Global,
                             GlobalGet, GlobalSet, ImportFunc, IntItem, Item, Jump, Load, LocalGet,
                             Module, OpExpr, Panic, Return, SigRef, Stmt, Store, Switch, SymRef,
                             TailCall, TailCallIndirect, Terminator, Unreachable, ZeroItem)
from linker.ir.ops import OPS_BY_NAME, Op, OpKind
from linker.ir.types import FuncType, ValType

if TYPE_CHECKING:
    from linker.ir.parser import ParsedBodies

I32, I64 = ValType.I32, ValType.I64

# Accepted integer constants per type: the signed or the unsigned spelling.
_INT_RANGE: dict[ValType, tuple[int, int]] = {
    I32: (-(1 << 31), 1 << 32),
    I64: (-(1 << 63), 1 << 64),
}
_U32_END = 1 << 32
# A symbol offset is added to an i32 address: either spelling of an i32.
_OFF_MIN, _OFF_END = -(1 << 31), 1 << 32

# Ops valid in an expression (loads and stores have their own nodes).
_EXPR_KINDS = frozenset({OpKind.UNARY, OpKind.BINARY, OpKind.TEST, OpKind.COMPARE,
                         OpKind.CONVERT, OpKind.MEMORY, OpKind.SELECT})

# Expression ops by name: (op, operand types as a list, result type).
_EXPR_OPS: dict[str, tuple[Op, list[ValType], ValType | None]] = {
    op.name: (op, list(op.params), op.result) for op in OPS_BY_NAME.values()
    if op.kind in _EXPR_KINDS}

# Marks, on the expression work stack, that the node below it has its operands done.
_POST = object()


def verify_module(m: Module, parsed: ParsedBodies | None = None) -> list[Diagnostic]:
    """Every error of `m`, in source order per item; empty when `m` is valid.

    `parsed` is what `linker.ir.parser.parse_module_checked` proved about the
    function bodies of `m` (its builder types each body by the rules below and
    reports every break as its own diagnostic): such a body is not typed
    again, only its `@sym` operands are checked (a function's takes no offset,
    a global has no address), which the parser leaves to this pass.  Every
    other function (built with the Python API, or not in `parsed`) and every
    module-level and data rule is checked in full."""
    v = _Verifier(m)
    v.module_items()
    for item in m.items:
        if type(item) is Func:
            done = None if parsed is None else parsed.get(id(item))
            if done is not None and done[0] is item:
                v.parsed_func(item, done[1])
            else:
                v.func(item)
        elif type(item) is Data:
            v.data(item)
    return v.diags


def _int_ok(v: object, lo: int, end: int) -> bool:
    return type(v) is int and lo <= v < end


def _pow2(n: object) -> bool:
    return type(n) is int and n > 0 and n & (n - 1) == 0


RESERVED_PREFIX = "__irld_"


def _ftype(item: Func | ImportFunc | ExternFunc | ForeignImport) -> FuncType | None:
    if isinstance(item, ForeignImport):
        try:
            return lower(item.sig)
        except (ValueError, AssertionError):
            return None
    return item.type


# Items that define or declare a symbol (one namespace for all of them).
_Symbol = Func | ImportFunc | ExternFunc | ForeignImport | Data | Global | ExternGlobal

_KIND_NAMES: dict[type, str] = {
    Func: "function", ImportFunc: "imported function", ExternFunc: "extern function",
    ForeignImport: "foreign import", Data: "data", Global: "global",
    ExternGlobal: "extern global",
}


class _Verifier:
    def __init__(self, m: Module) -> None:
        self.m = m
        self.diags: list[Diagnostic] = []
        # One namespace for symbols: name -> the item defining (or declaring) it.
        self.symbols: dict[str, Item] = {}
        self.funcs: dict[str, FuncType | None] = {}   # callable symbols -> wasm type
        self.globals: dict[str, ValType] = {}
        self.csigs: set[str] = set()
        # Per function and per statement context, for locations and messages.
        self.fn: Func | None = None
        self.block: BasicBlock | None = None
        self.here: Span | None = None
        self.locals: dict[str, ValType] = {}
        self.result: ValType | None = None

    # ------------------------------------------------------------ reporting

    def error(self, message: str, span: Span | None = None) -> None:
        if span is None:
            span = self.here
        if span is not None:
            self.diags.append(Diagnostic.error(message, span))
            return
        where = []
        if self.fn is not None:
            where.append(f"function '{self.fn.name}'")
        if self.block is not None:
            where.append(f"block '{self.block.label}'")
        prefix = f"in {', '.join(where)}: " if where else ""
        self.diags.append(Diagnostic.error(prefix + message, file=self.m.name))

    def item_error(self, message: str, item: object) -> None:
        self.error(message, getattr(item, "span", None))

    def expect(self, got: ValType | None, want: ValType | None, what: str,
               span: Span | None) -> None:
        if got is None or got is want:
            return
        self.error(f"{what} has type {got}, expected {'no value' if want is None else want}",
                   span)

    # ------------------------------------------------------------ module level

    def c_signatures(self) -> None:
        """Empty structs cannot be passed or returned by value (libffi refuses
        zero-sized types, and BasicCABI drops them, so caller and callee would
        disagree on the arguments)."""
        for item in self.m.items:
            if isinstance(item, (CSigDecl, ForeignImport, ForeignExport)):
                sig = item.sig
                for t in (sig.ret, *sig.params):
                    if isinstance(t, CStruct) and is_empty(t):
                        self.item_error(f"struct with no fields used by value in C signature "
                                        f"of '{item.name}': {sig}", item)
                        break

    def module_items(self) -> None:
        self.c_signatures()
        self.here = None
        csig_names: set[str] = set()
        ctype_names: set[str] = set()
        for item in self.m.items:
            if isinstance(item, (Func, ImportFunc, ExternFunc, ForeignImport, Data, Global,
                                 ExternGlobal)):
                self.declare(item)
            elif isinstance(item, CSigDecl):
                if item.name in csig_names:
                    self.item_error(f"duplicate C signature '{item.name}'", item)
                csig_names.add(item.name)
                if item.closure_pool is not None and not _int_ok(item.closure_pool, 0, 1 << 32):
                    self.item_error(f"closure pool size of '{item.name}' must be a "
                                    f"non-negative integer, got {item.closure_pool!r}", item)
            elif isinstance(item, CTypeDecl):
                if item.name in ctype_names:
                    self.item_error(f"duplicate C type '{item.name}'", item)
                ctype_names.add(item.name)
        self.csigs = csig_names
        export_names: set[str] = set()
        for item in self.m.items:
            match item:
                case Global():
                    self.global_init(item)
                case Export(name=n, symbol=s):
                    if n in export_names:
                        self.item_error(f"duplicate export name '{n}'", item)
                    export_names.add(n)
                    self.func_target("export", s, item)
                case ForeignImport(name=n, sig=sig) if _ftype(item) is None:
                    self.item_error(f"C signature {sig} of '{n}' cannot be lowered to wasm "
                                    f"(void is not a parameter type)", item)
                case ForeignExport(name=n, symbol=s, sig=sig):
                    if n in export_names:
                        self.item_error(f"duplicate export name '{n}'", item)
                    export_names.add(n)
                    t = self.func_target("foreign export", s, item)
                    try:
                        want = lower(sig)
                    except (ValueError, AssertionError):
                        self.item_error(f"C signature {sig} of foreign export '{n}' cannot be "
                                        f"lowered to wasm (void is not a parameter type)", item)
                        continue
                    if t is not None and t != want:
                        self.item_error(f"foreign export '{n}': function '{s}' has type {t}, "
                                        f"but C signature {sig} lowers to {want}", item)
                case Ctor(symbol=s):
                    t = self.func_target("ctor", s, item)
                    if t is not None and (t.params or t.result is not None):
                        self.item_error(f"ctor '{s}' must take no parameters and return "
                                        f"nothing, but has type {t}", item)

    def declare(self, item: _Symbol) -> None:
        name = item.name
        is_extern = type(item) in (ExternFunc, ExternGlobal)
        if not is_extern and name.startswith(RESERVED_PREFIX):
            # The linker names its own functions and globals this way.
            self.item_error(f"symbol '{name}' uses the prefix '{RESERVED_PREFIX}', "
                            "which is reserved for the linker", item)
        prev = self.symbols.get(name)
        if prev is None:
            self.symbols[name] = item
            self.record(item)
            return
        prev_extern = type(prev) in (ExternFunc, ExternGlobal)
        if not (is_extern or prev_extern):
            self.item_error(f"duplicate definition of '{name}' (first defined as "
                            f"{_KIND_NAMES[type(prev)]})", item)
            return
        if self.sym_type(prev) != self.sym_type(item):
            self.item_error(f"'{name}' declared with type {self.sym_desc(item)}, "
                            f"but it is {_KIND_NAMES[type(prev)]} {self.sym_desc(prev)}", item)
            return
        if prev_extern and not is_extern:
            # The definition is what calls and accesses resolve to.
            self.symbols[name] = item

    def record(self, item: Item) -> None:
        match item:
            case Func() | ImportFunc() | ExternFunc() | ForeignImport():
                self.funcs[item.name] = _ftype(item)
            case Global() | ExternGlobal():
                self.globals[item.name] = item.type

    @staticmethod
    def sym_type(item: Item) -> object:
        match item:
            case Func() | ImportFunc() | ExternFunc() | ForeignImport():
                return ("func", _ftype(item))
            case Global() | ExternGlobal():
                return ("global", item.type)
        return ("data",)

    @staticmethod
    def sym_desc(item: Item) -> str:
        match item:
            case Func() | ImportFunc() | ExternFunc() | ForeignImport():
                return str(_ftype(item))
            case Global() | ExternGlobal():
                return str(item.type)
        return "(data)"

    def func_target(self, what: str, symbol: str, item: Item) -> FuncType | None:
        if symbol not in self.symbols:
            self.item_error(f"{what} of undefined function '{symbol}' (define it or declare "
                            f"it extern)", item)
            return None
        if symbol not in self.funcs:
            kind = _KIND_NAMES[type(self.symbols[symbol])]
            self.item_error(f"{what} of '{symbol}', which is {kind}, not a function", item)
            return None
        return self.funcs[symbol]

    def global_init(self, g: Global) -> None:
        v = g.init
        if g.type.is_int:
            lo, end = _INT_RANGE[g.type]
            if not _int_ok(v, lo, end):
                self.item_error(f"initial value {v!r} of global '{g.name}' is not a valid "
                                f"{g.type} constant", g)
        elif type(v) not in (int, float):
            self.item_error(f"initial value {v!r} of global '{g.name}' is not a number", g)

    # ------------------------------------------------------------ data

    def data(self, d: Data) -> None:
        self.fn, self.block, self.here = None, None, d.span
        if not _pow2(d.align):
            self.error(f"alignment {d.align} of data '{d.name}' is not a power of two")
        for item in d.items:
            if isinstance(item, IntItem):
                w = item.width
                if w not in (8, 16, 32, 64):
                    self.error(f"integer width {w} in data '{d.name}' is not 8, 16, 32 or 64",
                               item.span)
                elif not _int_ok(item.value, -(1 << (w - 1)), 1 << w):
                    self.error(f"value {item.value!r} does not fit in {w} bits "
                               f"(data '{d.name}')", item.span)
            elif isinstance(item, FloatItem):
                if item.width not in (32, 64):
                    self.error(f"float width {item.width} in data '{d.name}' is not 32 or 64",
                               item.span)
                if type(item.value) not in (int, float):
                    self.error(f"float value {item.value!r} in data '{d.name}' is not a number",
                               item.span)
            elif isinstance(item, ZeroItem):
                if type(item.size) is not int or item.size < 0:
                    self.error(f"zero fill size {item.size!r} in data '{d.name}' is negative",
                               item.span)
            elif isinstance(item, AddrItem):
                self.symref(item.symbol, item.offset, item.span)
            elif not isinstance(item, BytesItem):
                self.error(f"unknown data item {item!r} in data '{d.name}'")

    def symref(self, symbol: str, offset: int, span: Span | None) -> None:
        if not _int_ok(offset, _OFF_MIN, _OFF_END):
            self.error(f"offset {offset!r} of '@{symbol}' is out of the i32 range", span)
        if offset != 0 and symbol in self.funcs:
            self.error(f"'@{symbol}' is a function's table index and takes no offset "
                       f"(got {offset})", span)
        elif symbol in self.globals:
            self.error(f"'@{symbol}': global '{symbol}' has no address", span)

    # ------------------------------------------------------------ functions

    def func(self, f: Func) -> None:
        self.fn, self.block, self.here = f, None, f.span
        self.result = f.result
        locals_: dict[str, ValType] = {}
        for p in f.params + f.locals:
            if p.name in locals_:
                self.error(f"duplicate local or parameter '{p.name}' in function '{f.name}'",
                           p.span)
            else:
                locals_[p.name] = p.type
        self.locals = locals_
        if f.deferred_error is not None:
            if f.blocks:
                self.error(f"function '{f.name}' has a deferred error, so it must have no "
                           f"blocks")
            return
        if not f.blocks:
            self.error(f"function '{f.name}' has no blocks (a body needs at least an entry "
                       f"block)")
            return
        labels: set[str] = set()
        for b in f.blocks:
            if b.label in labels:
                self.error(f"duplicate label '{b.label}' in function '{f.name}'",
                           b.span if b.span is not None else f.span)
            labels.add(b.label)
        for b in f.blocks:
            self.block = b
            for s in b.stmts:
                self.here = s.span if s.span is not None else b.span
                self.stmt(s)
            t = b.term
            self.here = t.span if t.span is not None else b.span
            self.term(t, labels)
        self.block = None

    def parsed_func(self, f: Func, symrefs: list[SymRef]) -> None:
        """What `func` checks of a body the parser built and typed: its `@sym`s."""
        self.fn, self.block, self.here = f, None, f.span
        for r in symrefs:
            self.symref(r.symbol, r.offset, r.span)

    def stmt(self, s: Stmt) -> None:
        if isinstance(s, Assign):
            t = self.expr(s.value)
            want = self.locals.get(s.local)
            if want is None:
                self.error(f"assignment to undefined local '{s.local}'")
            else:
                self.expect(t, want, f"value assigned to '{s.local}'", s.value.span)
        elif isinstance(s, Store):
            self.store(s)
        elif isinstance(s, Call):
            ft = self.callee(s.callee, "call")
            self.args(s.args, ft, f"'{s.callee}'")
            if ft is not None:
                self.dest(s.dest, ft.result, f"'{s.callee}'")
        elif isinstance(s, CallIndirect):
            self.expect(self.expr(s.target), I32, "indirect call target", s.target.span)
            self.args(s.args, s.type, "indirect call")
            self.dest(s.dest, s.type.result, "indirect call")
        elif isinstance(s, GlobalSet):
            t = self.expr(s.value)
            want = self.global_type(s.name, None)
            if want is not None:
                self.expect(t, want, f"value stored to global '{s.name}'", s.value.span)
        else:
            self.error(f"unknown statement {s!r}")

    def store(self, s: Store) -> None:
        op = OPS_BY_NAME.get(s.op)
        addr_t = self.expr(s.addr)
        val_t = self.expr(s.value)
        if op is None or op.kind is not OpKind.STORE:
            self.error(f"'{s.op}' is not a store op")
            return
        self.expect(addr_t, I32, f"address of {s.op}", s.addr.span)
        self.expect(val_t, op.params[1], f"value of {s.op}", s.value.span)
        if not _int_ok(s.offset, 0, _U32_END):
            self.error(f"offset {s.offset!r} of {s.op} is not in 0..4294967295")

    def term(self, t: Terminator, labels: set[str]) -> None:
        if isinstance(t, Jump):
            self.label(t.target, labels)
        elif isinstance(t, Branch):
            self.expect(self.expr(t.cond), I32, "branch condition", t.cond.span)
            self.label(t.then, labels)
            self.label(t.else_, labels)
        elif isinstance(t, Return):
            self.ret(t)
        elif isinstance(t, TailCall):
            ft = self.callee(t.callee, "tail call")
            self.args(t.args, ft, f"'{t.callee}'")
            if ft is not None and ft.result is not self.result:
                self.error(f"tail call to '{t.callee}' returns {_res(ft.result)}, but the "
                           f"caller returns {_res(self.result)}")
        elif isinstance(t, TailCallIndirect):
            self.expect(self.expr(t.target), I32, "indirect tail call target", t.target.span)
            self.args(t.args, t.type, "indirect tail call")
            if t.type.result is not self.result:
                self.error(f"indirect tail call returns {_res(t.type.result)}, but the caller "
                           f"returns {_res(self.result)}")
        elif isinstance(t, Switch):
            self.expect(self.expr(t.index), I32, "switch index", t.index.span)
            if not t.targets:
                self.error("switch has an empty jump table")
            for target in t.targets:
                self.label(target, labels)
            self.label(t.default, labels)
        elif not isinstance(t, (Unreachable, Panic)):
            self.error(f"unknown terminator {t!r}")

    def ret(self, t: Return) -> None:
        if t.value is None:
            if self.result is not None:
                self.error(f"return without a value in a function returning {self.result}")
            return
        got = self.expr(t.value)
        if self.result is None:
            self.error("return with a value in a function that returns nothing",
                       t.value.span)
            return
        self.expect(got, self.result, "returned value", t.value.span)

    def label(self, target: str, labels: set[str]) -> None:
        if target not in labels:
            self.error(f"jump to undefined label '{target}'")

    def callee(self, name: str, what: str) -> FuncType | None:
        if name in self.funcs:
            return self.funcs[name]
        item = self.symbols.get(name)
        if item is None:
            self.error(f"{what} to undeclared function '{name}' (define it, import it or "
                       f"declare it extern)")
        else:
            self.error(f"{what} to '{name}', which is {_KIND_NAMES[type(item)]}, "
                       f"not a function")
        return None

    def args(self, args: Sequence[Expr], ft: FuncType | None, what: str) -> None:
        types = [self.expr(a) for a in args]
        if ft is None:
            return
        if len(args) != len(ft.params):
            self.error(f"call to {what} with {len(args)} argument"
                       f"{'' if len(args) == 1 else 's'}, expected {len(ft.params)}")
            return
        for i, (got, want) in enumerate(zip(types, ft.params)):
            if got is not None and got is not want:
                self.error(f"argument {i + 1} of call to {what} has type {got}, "
                           f"expected {want}", args[i].span)

    def dest(self, dest: str | None, result: ValType | None, what: str) -> None:
        if dest is None:
            return
        want = self.locals.get(dest)
        if want is None:
            self.error(f"result of {what} assigned to undefined local '{dest}'")
        elif result is None:
            self.error(f"{what} returns nothing, but its result is assigned to '{dest}'")
        elif result is not want:
            self.error(f"{what} returns {result}, but local '{dest}' has type {want}")

    def global_type(self, name: str, span: Span | None) -> ValType | None:
        t = self.globals.get(name)
        if t is not None:
            return t
        item = self.symbols.get(name)
        if item is None:
            self.error(f"undefined global '{name}' (define it or declare it extern)", span)
        else:
            self.error(f"'{name}' is {_KIND_NAMES[type(item)]}, not a global", span)
        return None

    # ------------------------------------------------------------ expressions

    def expr(self, e: Expr) -> ValType | None:
        """The type of `e`, or None when an error in it was reported."""
        if isinstance(e, (OpExpr, Load)):
            return self.tree(e)
        return self.leaf(e)  # leaves, the common case, need no work stack

    def leaf(self, e: Expr) -> ValType | None:
        if isinstance(e, LocalGet):
            t = self.locals.get(e.name)
            if t is None:
                self.error(f"undefined local '{e.name}'", e.span)
            return t
        if isinstance(e, Const):
            return self.const(e)
        if isinstance(e, GlobalGet):
            return self.global_type(e.name, e.span)
        if isinstance(e, SymRef):
            self.symref(e.symbol, e.offset, e.span)
            return I32
        if isinstance(e, SigRef):
            if e.name not in self.csigs:
                self.error(f"undeclared C signature '{e.name}'", e.span)
            return I32
        self.error(f"unknown expression {e!r}")
        return None

    def const(self, e: Const) -> ValType:
        # Identity tests, not a dict keyed by ValType: enum hashing is a
        # Python-level call and this runs once per constant.
        t, v = e.type, e.value
        if t is I32 or t is I64:
            lo, end = _INT_RANGE[t]
            if type(v) is not int or not lo <= v < end:
                self.error(f"constant {v!r} is not a valid {t} (ints must fit in {t.bits} "
                           f"bits, signed or unsigned)", e.span)
        elif type(v) is not float and type(v) is not int:
            self.error(f"constant {v!r} is not a valid {t}", e.span)
        return t

    def tree(self, root: OpExpr | Load) -> ValType | None:
        # Post-order over the tree with an explicit stack; `vals` holds the
        # operand types computed so far (None after an error, to avoid cascades).
        vals: list[ValType | None] = []
        stack: list[Expr | object] = [root]
        expr_ops = _EXPR_OPS
        locals_ = self.locals
        while stack:
            node = stack.pop()
            if node is _POST:
                node = stack.pop()
                if isinstance(node, OpExpr):
                    sig = expr_ops.get(node.op)
                    n = len(node.args)
                    if sig is not None and n == len(sig[1]):
                        if n:
                            got = vals[-n:]
                            del vals[-n:]
                            if got != sig[1]:
                                self.operand_errors(node, sig[1], got)
                        vals.append(sig[2])
                    else:
                        vals.append(self.bad_op(node, vals))
                elif isinstance(node, Load):
                    vals.append(self.finish_load(node, vals.pop()))
            elif isinstance(node, LocalGet):
                t = locals_.get(node.name)
                if t is None:
                    self.error(f"undefined local '{node.name}'", node.span)
                vals.append(t)
            elif isinstance(node, OpExpr):
                stack += (node, _POST)
                stack.extend(reversed(node.args))
            elif isinstance(node, Const):
                vals.append(self.const(node))
            elif isinstance(node, Load):
                stack += (node, _POST, node.addr)
            else:
                vals.append(self.leaf(cast(Expr, node)))
        return vals[0]

    def operand_errors(self, e: OpExpr, params: list[ValType],
                       got: list[ValType | None]) -> None:
        for i, (g, want) in enumerate(zip(got, params)):
            if g is not want and g is not None:
                a = e.args[i]
                self.error(f"operand {i + 1} of {e.op} has type {g}, expected {want}",
                           a.span if a.span is not None else e.span)

    def bad_op(self, e: OpExpr, vals: list[ValType | None]) -> ValType | None:
        """Report an unknown op, a load/store used as an op, or a wrong operand count."""
        n = len(e.args)
        del vals[len(vals) - n:]
        op = OPS_BY_NAME.get(e.op)
        if op is None:
            self.error(f"unknown op '{e.op}'", e.span)
            return None
        if op.kind not in _EXPR_KINDS:
            self.error(f"'{e.op}' is a {op.kind.value} op; write it as a "
                       f"{op.kind.value}, not as an expression op", e.span)
            return None
        k = len(op.params)
        self.error(f"{e.op} takes {k} operand{'' if k == 1 else 's'}, got {n}", e.span)
        return op.result

    def finish_load(self, e: Load, addr_t: ValType | None) -> ValType | None:
        op = OPS_BY_NAME.get(e.op)
        if op is None or op.kind is not OpKind.LOAD:
            self.error(f"'{e.op}' is not a load op", e.span)
            return None
        self.expect(addr_t, I32, f"address of {e.op}",
                    e.addr.span if e.addr.span is not None else e.span)
        if not _int_ok(e.offset, 0, _U32_END):
            self.error(f"offset {e.offset!r} of {e.op} is not in 0..4294967295", e.span)
        return op.result


def _res(t: ValType | None) -> str:
    return "nothing" if t is None else str(t)
