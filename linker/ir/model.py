"""The IR: attrs frozen, slotted value classes for modules, functions and data.

A low-level typed expression IR in the spirit of binaryen's expressions as
Asterius modelled them, with control-flow-graph function bodies:

* a `Func` body is a tuple of labelled `BasicBlock`s (the first is the entry),
  each a list of statements and one terminator;
* expressions are trees of constants, locals, globals, op applications (from
  the op table in `linker.ir.ops`), loads, symbol references (`@sym+off`: the
  address of data or the table index of a function) and FFI signature
  references (`sig NAME`);
* module items are functions, host imports, extern declarations (prototypes
  of functions defined elsewhere), data, globals, exports, ctors and FFI
  declarations.

Every node carries an optional source `Span` that does not take part in
equality, so a module printed and parsed back compares equal to the original.
Symbols are plain strings; nothing here knows about the store, the linker or
the runtime.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from typing import Union

import attrs

from linker.diagnostics import Span
from linker.ir.ctypes import CSig, CType
from linker.ir.types import FuncType, ValType


def _span() -> Span | None:
    return attrs.field(default=None, eq=False, repr=False, kw_only=True)  # type: ignore[no-any-return]


def _num_key(v: int | float) -> object:
    """Equality key of a numeric constant: NaNs and -0.0 compare by their bits,
    so NaN payloads survive a print/parse round trip check and -0.0 != 0.0;
    other values compare as numbers (1 == 1.0)."""
    if isinstance(v, float) and (v != v or (v == 0.0 and math.copysign(1.0, v) < 0.0)):
        return struct.pack("<d", v)
    return v


# ---------------------------------------------------------------- expressions


@attrs.frozen(slots=True)
class Const:
    """A constant.  Integers are stored as Python ints in the type's range
    (signed or unsigned spelling both accepted, wrapped by the encoder);
    floats as Python floats (f32 values are exactly representable)."""

    type: ValType
    value: int | float = attrs.field(eq=_num_key)
    span: Span | None = _span()


@attrs.frozen(slots=True)
class LocalGet:
    name: str
    span: Span | None = _span()


@attrs.frozen(slots=True)
class GlobalGet:
    name: str
    span: Span | None = _span()


@attrs.frozen(slots=True)
class OpExpr:
    """An op from the op table applied to operands (not a load or store)."""

    op: str
    args: tuple["Expr", ...]
    span: Span | None = _span()


@attrs.frozen(slots=True)
class Load:
    op: str
    addr: "Expr"
    offset: int = 0
    span: Span | None = _span()


@attrs.frozen(slots=True)
class SymRef:
    """`@sym+offset`: an i32, the address of data or the table index of a function."""

    symbol: str
    offset: int = 0
    span: Span | None = _span()


@attrs.frozen(slots=True)
class SigRef:
    """`sig NAME`: an i32 link-time constant naming a C signature declared in this module."""

    name: str
    span: Span | None = _span()


Expr = Union[Const, LocalGet, GlobalGet, OpExpr, Load, SymRef, SigRef]

# ---------------------------------------------------------------- statements


@attrs.frozen(slots=True)
class Assign:
    local: str
    value: Expr
    span: Span | None = _span()


@attrs.frozen(slots=True)
class Store:
    op: str
    addr: Expr
    value: Expr
    offset: int = 0
    span: Span | None = _span()


@attrs.frozen(slots=True)
class Call:
    """A direct call; `dest` receives the result (None drops it or there is none)."""

    dest: str | None
    callee: str
    args: tuple[Expr, ...]
    span: Span | None = _span()


@attrs.frozen(slots=True)
class CallIndirect:
    """A call through a function pointer (table index) with the given signature."""

    dest: str | None
    type: FuncType
    target: Expr
    args: tuple[Expr, ...]
    span: Span | None = _span()


@attrs.frozen(slots=True)
class GlobalSet:
    name: str
    value: Expr
    span: Span | None = _span()


Stmt = Union[Assign, Store, Call, CallIndirect, GlobalSet]

# ---------------------------------------------------------------- terminators


@attrs.frozen(slots=True)
class Jump:
    target: str
    span: Span | None = _span()


@attrs.frozen(slots=True)
class Branch:
    """`if cond then a else b`: to `then` when cond (i32) is nonzero."""

    cond: Expr
    then: str
    else_: str
    span: Span | None = _span()


@attrs.frozen(slots=True)
class Switch:
    """Jump table: index i goes to targets[i], out of range goes to default."""

    index: Expr
    targets: tuple[str, ...]
    default: str
    span: Span | None = _span()


@attrs.frozen(slots=True)
class Return:
    value: Expr | None = None
    span: Span | None = _span()


@attrs.frozen(slots=True)
class TailCall:
    callee: str
    args: tuple[Expr, ...]
    span: Span | None = _span()


@attrs.frozen(slots=True)
class TailCallIndirect:
    type: FuncType
    target: Expr
    args: tuple[Expr, ...]
    span: Span | None = _span()


@attrs.frozen(slots=True)
class Unreachable:
    span: Span | None = _span()


@attrs.frozen(slots=True)
class Panic:
    """Stop with a readable message (Asterius's Barf / EmitErrorMessage).  `function`:
    the function the message names when it is not the one holding the panic (LTO
    inlined it; never written in the text format)."""

    message: str
    function: str | None = None
    span: Span | None = _span()


Terminator = Union[Jump, Branch, Switch, Return, TailCall, TailCallIndirect, Unreachable, Panic]


def stmt_dest(s: Stmt) -> str | None:
    """The local a statement writes, if any (exact classes: this runs per statement
    in liveness, coalescing and code generation)."""
    cls = type(s)
    if cls is Assign:
        return s.local      # type: ignore[union-attr]
    if cls is Call or cls is CallIndirect:
        return s.dest       # type: ignore[union-attr]
    return None


def successors(t: Terminator) -> tuple[str, ...]:
    """The labels a terminator may go to, in the order it names them."""
    match t:
        case Jump(target=x):
            return (x,)
        case Branch(then=a, else_=b):
            return (a, b)
        case Switch(targets=ts, default=d):
            return (*ts, d)
    return ()

# ---------------------------------------------------------------- functions


@attrs.frozen(slots=True)
class Param:
    name: str
    type: ValType
    span: Span | None = _span()


@attrs.frozen(slots=True)
class BasicBlock:
    label: str
    stmts: tuple[Stmt, ...]
    term: Terminator
    span: Span | None = _span()


@attrs.frozen(slots=True)
class Func:
    """A function.  `deferred_error` marks one the compiler could not compile:
    it has no blocks, links fine, and panics with that reason when called."""

    name: str
    params: tuple[Param, ...]
    result: ValType | None
    locals: tuple[Param, ...] = ()
    blocks: tuple[BasicBlock, ...] = ()
    private: bool = False
    deferred_error: str | None = None
    span: Span | None = _span()

    @property
    def type(self) -> FuncType:
        return FuncType(tuple(p.type for p in self.params), self.result)


@attrs.frozen(slots=True)
class ImportFunc:
    """A host function: symbol `name` is wasm import `module`.`field`."""

    name: str
    module: str
    field: str
    type: FuncType
    span: Span | None = _span()


@attrs.frozen(slots=True)
class ExternFunc:
    """A prototype of a function defined in another module (or by the linker)."""

    name: str
    type: FuncType
    span: Span | None = _span()


# ---------------------------------------------------------------- data


@attrs.frozen(slots=True)
class IntItem:
    """An integer of `width` bits (8, 16, 32, 64), little-endian."""

    width: int
    value: int
    span: Span | None = _span()


@attrs.frozen(slots=True)
class FloatItem:
    width: int  # 32 or 64
    value: float = attrs.field(eq=_num_key)
    span: Span | None = _span()


@attrs.frozen(slots=True)
class BytesItem:
    value: bytes
    span: Span | None = _span()


@attrs.frozen(slots=True)
class ZeroItem:
    size: int
    span: Span | None = _span()


@attrs.frozen(slots=True)
class AddrItem:
    """A 4-byte relocation: the address of data `symbol` plus `offset`, or the
    table index of function `symbol` (offset must then be 0)."""

    symbol: str
    offset: int = 0
    span: Span | None = _span()


DataItem = Union[IntItem, FloatItem, BytesItem, ZeroItem, AddrItem]


def item_size(item: DataItem) -> int:
    """Bytes one data item occupies."""
    match item:
        case IntItem(width=w) | FloatItem(width=w):
            return w // 8
        case BytesItem(value=v):
            return len(v)
        case ZeroItem(size=n):
            return n
        case AddrItem():
            return 4
    raise TypeError(item)


@attrs.frozen(slots=True)
class Data:
    name: str
    items: tuple[DataItem, ...]
    align: int = 1
    readonly: bool = False
    private: bool = False
    span: Span | None = _span()

    @property
    def size(self) -> int:
        return sum(item_size(i) for i in self.items)


@attrs.frozen(slots=True)
class Global:
    """A module-level mutable variable with a constant initial value."""

    name: str
    type: ValType
    init: int | float = attrs.field(default=0, eq=_num_key)
    private: bool = False
    span: Span | None = _span()


@attrs.frozen(slots=True)
class ExternGlobal:
    """A declaration of a global defined in another module."""

    name: str
    type: ValType
    span: Span | None = _span()


@attrs.frozen(slots=True)
class Export:
    """Export function `symbol` under `name` (a root of discovery)."""

    name: str
    symbol: str
    span: Span | None = _span()


@attrs.frozen(slots=True)
class Ctor:
    """Run function `symbol` (no params, no result) at start-up when this module
    has a live entity; lower priority runs first, ties in link order."""

    symbol: str
    priority: int = 65535
    span: Span | None = _span()


# ---------------------------------------------------------------- FFI


@attrs.frozen(slots=True)
class CTypeDecl:
    """A named C struct type, usable in later C signatures: `ctype point = struct { ... }`."""

    name: str
    type: CType
    span: Span | None = _span()


@attrs.frozen(slots=True)
class CSigDecl:
    """A named C signature for the dynamic FFI (`sig NAME` refers to it);
    `closure_pool` overrides the default closure trampoline pool size."""

    name: str
    sig: CSig
    closure_pool: int | None = None
    span: Span | None = _span()


@attrs.frozen(slots=True)
class ForeignImport:
    """`foreign import ccall`: symbol `name` is host `module`.`field` with a C signature."""

    name: str
    module: str
    field: str
    sig: CSig
    span: Span | None = _span()


@attrs.frozen(slots=True)
class ForeignExport:
    """`foreign export ccall`: export function `symbol` as `name` with a C signature."""

    name: str
    symbol: str
    sig: CSig
    span: Span | None = _span()


Item = Union[Func, ImportFunc, ExternFunc, Data, Global, ExternGlobal, Export, Ctor,
             CTypeDecl, CSigDecl, ForeignImport, ForeignExport]


@attrs.frozen(slots=True)
class Module:
    """One compilation unit; items keep their source order."""

    name: str
    items: tuple[Item, ...] = ()
    span: Span | None = _span()

    def of_type(self, cls: type) -> Iterator[Item]:
        return (i for i in self.items if isinstance(i, cls))

    @property
    def funcs(self) -> list[Func]:
        return [i for i in self.items if isinstance(i, Func)]

    @property
    def data(self) -> list[Data]:
        return [i for i in self.items if isinstance(i, Data)]

    @property
    def globals(self) -> list[Global]:
        return [i for i in self.items if isinstance(i, Global)]

    @property
    def imports(self) -> list[ImportFunc]:
        return [i for i in self.items if isinstance(i, ImportFunc)]

    @property
    def externs(self) -> list[ExternFunc]:
        return [i for i in self.items if isinstance(i, ExternFunc)]

    @property
    def exports(self) -> list[Export]:
        return [i for i in self.items if isinstance(i, Export)]

    @property
    def ctors(self) -> list[Ctor]:
        return [i for i in self.items if isinstance(i, Ctor)]

    @property
    def csigs(self) -> list[CSigDecl]:
        return [i for i in self.items if isinstance(i, CSigDecl)]

    @property
    def foreign_imports(self) -> list[ForeignImport]:
        return [i for i in self.items if isinstance(i, ForeignImport)]

    @property
    def foreign_exports(self) -> list[ForeignExport]:
        return [i for i in self.items if isinstance(i, ForeignExport)]
