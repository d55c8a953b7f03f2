"""Random IR modules for the printer/parser round trip, built with the Python API.

`gen_module(seed)` returns a `Module` that the parser accepts (names resolve,
operands have the op table's types, calls match their callee's signature),
covering every construct of the text format and the awkward values: NaNs
with payloads (f32 and f64, both signs), -0.0, infinities, f32-rounded
values, integers at both ends of the signed/unsigned ranges, strings with
every byte value, symbols with '.' and '$', private and read-only flags,
deferred functions, empty data, variadic signatures and nested structs.
Output depends only on the seed and the size arguments.
"""

from __future__ import annotations

import random
import struct

from linker.ir import model as ir
from linker.ir.ctypes import CKind, CScalar, CSig, CStruct, CType, lower
from linker.ir.ops import OPS, Op, OpKind
from linker.ir.types import FuncType, ValType

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
VALTYPES = (I32, I64, F32, F64)

_INT_EDGES = {
    I32: [0, 1, -1, -(1 << 31), (1 << 31) - 1, (1 << 32) - 1, 1 << 31],
    I64: [0, 1, -1, -(1 << 63), (1 << 63) - 1, (1 << 64) - 1, 1 << 63],
}
_EXPR_OPS: dict[ValType, list[Op]] = {t: [] for t in VALTYPES}
_LOADS: dict[ValType, list[Op]] = {t: [] for t in VALTYPES}
_STORES: list[Op] = []
for _op in OPS:
    if _op.kind is OpKind.STORE:
        _STORES.append(_op)
    elif _op.kind is OpKind.LOAD:
        assert _op.result is not None
        _LOADS[_op.result].append(_op)
    elif _op.result is not None:
        _EXPR_OPS[_op.result].append(_op)

_SCALAR_KINDS = [k for k in CKind if k is not CKind.VOID]


def f32(x: float) -> float:
    """`x` rounded to the nearest f32 (as the parser stores f32 constants)."""
    rounded: float = struct.unpack("<f", struct.pack("<f", x))[0]
    return rounded


def _bits_to_float(bits: int) -> float:
    value: float = struct.unpack("<d", struct.pack("<Q", bits))[0]
    return value


class _Gen:
    def __init__(self, rng: random.Random, n_funcs: int) -> None:
        self.rng = rng
        self.n_funcs = n_funcs
        self.counter = 0
        self.callables: dict[str, FuncType] = {}
        self.globals: dict[str, ValType] = {}
        self.symbols: list[str] = []
        self.csigs: list[str] = []
        self.ctypes: list[CType] = []
        self.export_names: set[str] = set()

    # -------------------------------------------------------- names and values

    def symbol(self, prefix: str) -> str:
        """A fresh symbol; some look like compiler output (`mod.name`, `mod$name`)."""
        self.counter += 1
        r = self.rng.random()
        base = f"{prefix}{self.counter}"
        if r < 0.15:
            return f"demo.m{self.rng.randrange(3)}.{base}"
        if r < 0.3:
            return f"demo$m$_{base}"
        return base

    def text(self) -> str:
        pool = ["hello", "x y", 'quote"d', "back\\slash", "tab\there", "nl\n", "nul\0",
                "é", "日本", "\x7f", "\x01"]
        return "".join(self.rng.choice(pool) for _ in range(self.rng.randrange(0, 4)))

    def raw_bytes(self) -> bytes:
        r = self.rng
        if r.random() < 0.3:
            return bytes(range(256))[r.randrange(256):]
        return bytes(r.randrange(256) for _ in range(r.randrange(0, 20)))

    def int_value(self, t: ValType) -> int:
        r = self.rng
        if r.random() < 0.4:
            return r.choice(_INT_EDGES[t])
        bits = t.bits
        return r.randrange(-(1 << (bits - 1)), 1 << bits)

    def float_value(self, t: ValType) -> float:
        r = self.rng
        choice = r.random()
        if choice < 0.12:  # NaN with a payload and a sign
            sign = r.randrange(2) << 63
            if t is F32:
                payload = r.randrange(1, 1 << 23) << 29
            else:
                payload = r.randrange(1, 1 << 52)
            return _bits_to_float(sign | (0x7FF << 52) | payload)
        if choice < 0.2:
            return r.choice([0.0, -0.0, float("inf"), float("-inf")])
        if choice < 0.5:
            v = r.uniform(-1e6, 1e6)
        elif choice < 0.7:
            v = r.choice([1.5, -2.25, 0.1, 1e-300, 5e-324, 1.7976931348623157e308])
        else:
            v = _bits_to_float(r.getrandbits(64))
            if v != v:
                v = 0.5
        if t is F32:
            try:
                return f32(v)
            except OverflowError:
                return f32(1.0e38)
        return v

    def value(self, t: ValType) -> int | float:
        return self.int_value(t) if t.is_int else self.float_value(t)

    def valtype(self) -> ValType:
        return self.rng.choice(VALTYPES)

    def functype(self, max_params: int = 4) -> FuncType:
        params = tuple(self.valtype() for _ in range(self.rng.randrange(max_params + 1)))
        result = None if self.rng.random() < 0.3 else self.valtype()
        return FuncType(params, result)

    # -------------------------------------------------------- C types

    def ctype(self, depth: int = 0) -> CType:
        r = self.rng
        if self.ctypes and r.random() < 0.2:
            return r.choice(self.ctypes)
        if depth < 2 and r.random() < 0.25:
            return CStruct(tuple(self.ctype(depth + 1) for _ in range(r.randrange(0, 4))))
        return CScalar(r.choice(_SCALAR_KINDS))

    def csig(self) -> CSig:
        r = self.rng
        ret = CScalar(CKind.VOID) if r.random() < 0.2 else self.ctype()
        params = tuple(self.ctype() for _ in range(r.randrange(0, 5)))
        nfixed = None if r.random() < 0.7 else r.randrange(len(params) + 1)
        return CSig(ret, params, nfixed)

    # -------------------------------------------------------- module

    def module(self) -> ir.Module:
        r = self.rng
        items: list[ir.Item] = []
        deferred_bodies: list[tuple[int, str, FuncType, bool]] = []
        for _ in range(r.randrange(0, 3)):
            name = self.symbol("ct")
            t = self.ctype()
            self.ctypes.append(t)
            items.append(ir.CTypeDecl(name, t))
        for _ in range(r.randrange(0, 4)):
            name = self.symbol("sig")
            self.csigs.append(name)
            pool = None if r.random() < 0.5 else r.randrange(0, 64)
            items.append(ir.CSigDecl(name, self.csig(), pool))
        for _ in range(r.randrange(0, 3)):
            name = self.symbol("imp")
            ft = self.functype()
            self.callables[name] = ft
            items.append(ir.ImportFunc(name, self.text() or "env", self.text() or "f", ft))
        for _ in range(r.randrange(0, 3)):
            name = self.symbol("ext")
            ft = self.functype()
            self.callables[name] = ft
            items.append(ir.ExternFunc(name, ft))
        for _ in range(r.randrange(0, 3)):
            name = self.symbol("fimp")
            sig = self.csig()
            self.callables[name] = lower(sig)
            items.append(ir.ForeignImport(name, self.text() or "env", self.text() or "c", sig))
        for _ in range(r.randrange(0, 3)):
            name = self.symbol("eg")
            t = self.valtype()
            self.globals[name] = t
            items.append(ir.ExternGlobal(name, t))
        for _ in range(r.randrange(0, 4)):
            name = self.symbol("g")
            t = self.valtype()
            self.globals[name] = t
            items.append(ir.Global(name, t, self.value(t), private=r.random() < 0.3))
        # Functions are declared up front (calls may point forward); bodies later.
        for i in range(self.n_funcs):
            name = self.symbol("f")
            ft = self.functype()
            self.callables[name] = ft
            deferred_bodies.append((len(items), name, ft, r.random() < 0.3))
            items.append(ir.Unreachable())  # placeholder, replaced below
        self.symbols = list(self.callables) + list(self.globals)
        for _ in range(r.randrange(0, 4)):
            name = self.symbol("d")
            self.symbols.append(name)
            items.append(self.data(name))
        for _ in range(r.randrange(0, 3)):
            items.append(ir.Export(self.export_name(), r.choice(self.symbols)))
        for _ in range(r.randrange(0, 2)):
            items.append(ir.Ctor(r.choice(self.symbols), r.randrange(0, 65536)))
        for _ in range(r.randrange(0, 2)):
            items.append(ir.ForeignExport(self.export_name(), r.choice(self.symbols), self.csig()))
        for index, name, ft, private in deferred_bodies:
            items[index] = self.func(name, ft, private)
        r.shuffle(items)
        # C types must be declared before use: keep CTypeDecls first, in order.
        ctypes = [i for i in items if isinstance(i, ir.CTypeDecl)]
        rest = [i for i in items if not isinstance(i, ir.CTypeDecl)]
        ctypes.sort(key=lambda i: int(i.name.rsplit("ct", 1)[1]))
        return ir.Module(f"gen.m{r.randrange(100)}", tuple(ctypes + rest))

    def export_name(self) -> str:
        while True:
            name = self.text() + str(self.rng.randrange(10**6))
            if name not in self.export_names:
                self.export_names.add(name)
                return name

    def data(self, name: str) -> ir.Data:
        r = self.rng
        items: list[ir.DataItem] = []
        for _ in range(r.randrange(0, 6)):
            kind = r.randrange(5)
            if kind == 0:
                width = r.choice([8, 16, 32, 64])
                lo, hi = -(1 << (width - 1)), (1 << width) - 1
                items.append(ir.IntItem(width, r.choice([lo, hi, 0, r.randrange(lo, hi + 1)])))
            elif kind == 1:
                width = r.choice([32, 64])
                items.append(ir.FloatItem(width, self.float_value(F32 if width == 32 else F64)))
            elif kind == 2:
                items.append(ir.BytesItem(self.raw_bytes()))
            elif kind == 3:
                items.append(ir.ZeroItem(r.randrange(0, 100)))
            else:
                off = r.choice([0, 0, 4, -8, r.randrange(-(1 << 31), 1 << 32)])
                items.append(ir.AddrItem(r.choice(self.symbols), off))
        return ir.Data(name, tuple(items), align=1 << r.randrange(0, 5),
                       readonly=r.random() < 0.3, private=r.random() < 0.3)

    # -------------------------------------------------------- functions

    def func(self, name: str, ft: FuncType, private: bool) -> ir.Func:
        r = self.rng
        params = tuple(ir.Param(f"p{i}", t) for i, t in enumerate(ft.params))
        if r.random() < 0.1:
            return ir.Func(name, params, ft.result, private=private,
                           deferred_error="could not compile: " + self.text())
        local_list = tuple(ir.Param(f"l{i}", self.valtype()) for i in range(r.randrange(0, 6)))
        fg = _FuncGen(self, ft, params + local_list)
        labels = ["entry"] + [f"L{i}" for i in range(r.randrange(0, 6))]
        blocks = tuple(ir.BasicBlock(label, fg.stmts(), fg.term(labels)) for label in labels)
        return ir.Func(name, params, ft.result, local_list, blocks, private=private)


class _FuncGen:
    def __init__(self, g: _Gen, ft: FuncType, variables: tuple[ir.Param, ...]) -> None:
        self.g = g
        self.rng = g.rng
        self.ft = ft
        self.vars: dict[ValType, list[str]] = {t: [] for t in VALTYPES}
        for p in variables:
            self.vars[p.type].append(p.name)

    def expr(self, t: ValType, depth: int = 0) -> ir.Expr:
        r = self.rng
        g = self.g
        choice = r.random()
        if depth > 3 or choice < 0.25:
            return ir.Const(t, g.value(t))
        if choice < 0.45 and self.vars[t]:
            return ir.LocalGet(r.choice(self.vars[t]))
        globals_of_t = [n for n, gt in g.globals.items() if gt is t]
        if choice < 0.5 and globals_of_t:
            return ir.GlobalGet(r.choice(globals_of_t))
        if t is I32 and choice < 0.55:
            return ir.SymRef(r.choice(g.symbols) if g.symbols else "undeclared_data",
                             r.choice([0, 0, 8, -4]))
        if t is I32 and choice < 0.58 and g.csigs:
            return ir.SigRef(r.choice(g.csigs))
        if choice < 0.7:
            op = r.choice(_LOADS[t])
            return ir.Load(op.name, self.expr(I32, depth + 1), r.choice([0, 0, 4, (1 << 32) - 1]))
        op = r.choice(_EXPR_OPS[t])
        return ir.OpExpr(op.name, tuple(self.expr(p, depth + 1) for p in op.params))

    def args(self, ft: FuncType) -> tuple[ir.Expr, ...]:
        return tuple(self.expr(p, 1) for p in ft.params)

    def dest(self, result: ValType | None) -> str | None:
        if result is None or not self.vars[result] or self.rng.random() < 0.3:
            return None
        return self.rng.choice(self.vars[result])

    def stmts(self) -> tuple[ir.Stmt, ...]:
        r = self.rng
        g = self.g
        out: list[ir.Stmt] = []
        for _ in range(r.randrange(0, 6)):
            kind = r.randrange(6)
            t = g.valtype()
            if kind == 0 and self.vars[t]:
                out.append(ir.Assign(r.choice(self.vars[t]), self.expr(t)))
            elif kind == 1 and g.globals:
                name = r.choice(list(g.globals))
                out.append(ir.GlobalSet(name, self.expr(g.globals[name])))
            elif kind == 2:
                op = r.choice(_STORES)
                out.append(ir.Store(op.name, self.expr(I32, 1), self.expr(op.params[1], 1),
                                    r.choice([0, 0, 8, 4096])))
            elif kind == 3 and g.callables:
                callee = r.choice(list(g.callables))
                ft = g.callables[callee]
                out.append(ir.Call(self.dest(ft.result), callee, self.args(ft)))
            elif kind == 4:
                ft = g.functype()
                out.append(ir.CallIndirect(self.dest(ft.result), ft, self.expr(I32, 1),
                                           self.args(ft)))
            else:
                out.append(ir.Assign(r.choice(self.vars[t]), self.expr(t)) if self.vars[t]
                           else ir.Store("i32.store", ir.Const(I32, 0), ir.Const(I32, 1)))
        return tuple(out)

    def term(self, labels: list[str]) -> ir.Terminator:
        r = self.rng
        g = self.g
        kind = r.randrange(8)
        if kind == 0:
            return ir.Jump(r.choice(labels))
        if kind == 1:
            return ir.Branch(self.expr(I32), r.choice(labels), r.choice(labels))
        if kind == 2:
            targets = tuple(r.choice(labels) for _ in range(r.randrange(1, 5)))
            return ir.Switch(self.expr(I32), targets, r.choice(labels))
        if kind == 3:
            same = [n for n, ft in g.callables.items() if ft.result is self.ft.result]
            if same:
                callee = r.choice(same)
                return ir.TailCall(callee, self.args(g.callables[callee]))
        if kind == 4:
            ft = FuncType(g.functype().params, self.ft.result)
            return ir.TailCallIndirect(ft, self.expr(I32, 1), self.args(ft))
        if kind == 5:
            return ir.Unreachable()
        if kind == 6:
            return ir.Panic(g.text())
        if self.ft.result is None:
            return ir.Return(None)
        return ir.Return(self.expr(self.ft.result))


def gen_module(seed: int, n_funcs: int | None = None) -> ir.Module:
    """A random module the parser accepts; the same seed gives the same module."""
    rng = random.Random(seed)
    return _Gen(rng, rng.randrange(1, 8) if n_funcs is None else n_funcs).module()
