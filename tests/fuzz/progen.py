"""Random well-typed multi-module IR programs for differential testing (seeded).

`generate(seed)` returns a `Program`: IR text modules (module name -> text),
which ones go into an archive, and the knobs it was made with.  Every
program is a WASI command whose `main` calls random functions and prints a
running checksum (`fz.rt`'s `print_ck`, 16 hex digits and a newline) after
each call, and exits with a small status.  What it exercises:

* random CFGs: each function has 2..8 random blocks joined by jumps,
  branches and switches, so loops, irreducible loops and dead blocks all
  occur; every block first spends one unit of the global `fuel` and leaves
  through `out` when it is spent, which bounds the run time and the call
  depth whatever the CFG and the recursion;
* every expression op class of the op table (the generator picks ops from
  `linker.ir.ops`), loads and stores of every width (addresses inside the
  data of the program, near the end of memory, or arbitrary in "trap"
  programs), `memory.size` and `memory.grow`, `select`;
* data with relocations: pointer tables of functions (`addr f`) read back
  with loads and called indirectly, data pointers (`addr d+off`) loaded and
  dereferenced; private symbols with the same name in several modules;
  globals shared with `extern global`; ctors with priorities; exports;
* direct and indirect calls and tail calls across modules, host calls, and in
  "trap" programs (one in five) unguarded division, float-to-int
  conversion, wild addresses and function pointers, `unreachable`, panics and
  calls of a function with a deferred error.

Observing values: stores and the checksum.  NaN bit patterns are
implementation-defined in wasm, so the generator never lets one reach the
output: `reinterpret` operands, float stores and `copysign`'s sign operand
are NaN-free (`T.select(x, c, T.eq(x, x))`), and `mixf32/mixf64` canonicalise.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import attrs

from linker.ir.ops import OPS, OpKind
from linker.ir.types import FuncType, ValType

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
TYPES = (I32, I64, F32, F64)

RT = """module fz.rt

import func "wasi_snapshot_preview1" "fd_write" fd_write(i32, i32, i32, i32) -> i32

data hexbuf align 4 = { zero 20 }
data iov align 4 = { addr hexbuf, i32 17 }
data nwritten align 4 = { zero 4 }
global ck: i64 = 0
global fuel: i32 = FUEL

func mix(v: i64) {
entry:
  ck = i64.xor(i64.mul(i64.rotl(ck, 7), 1099511628211), v)
  return
}

func mix32(v: i32) {
entry:
  call mix(i64.extend_i32_u(v))
  return
}

func mixf32(v: f32) {
entry:
  call mix(i64.extend_i32_u(i32.reinterpret_f32(f32.select(v, 1234.5, f32.eq(v, v)))))
  return
}

func mixf64(v: f64) {
entry:
  call mix(i64.reinterpret_f64(f64.select(v, 1234.5, f64.eq(v, v))))
  return
}

func print_ck() {
  local i: i32, v: i64, d: i32
entry:
  v = ck
  i = 15
  jump loop
loop:
  d = i32.wrap_i64(i64.and(v, 15))
  i32.store8(i32.add(@hexbuf, i), i32.add(d, i32.select(48, 87, i32.lt_u(d, 10))))
  v = i64.shr_u(v, 4)
  if i32.eqz(i) then done else next
next:
  i = i32.sub(i, 1)
  jump loop
done:
  i32.store8(@hexbuf, 10, offset=16)
  call fd_write(1, @iov, 1, @nwritten)
  return
}
"""

MIX = {I32: "mix32", I64: "mix", F32: "mixf32", F64: "mixf64"}
RT_FUNCS = {"mix": FuncType((I64,)), "mix32": FuncType((I32,)), "mixf32": FuncType((F32,)),
            "mixf64": FuncType((F64,)), "print_ck": FuncType()}

INT_EDGES = {
    I32: [0, 1, 2, 7, 31, 32, 127, 128, 255, 256, 32767, 32768, 65535, 0x7FFFFFFF,
          -0x80000000, -1, -2, -128, -129, -32769, 0x12345678],
    I64: [0, 1, 2, 63, 64, 127, 128, 255, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFFFFFFFFFF,
          -0x8000000000000000, -1, -2, -129, -0x80000001, 0x123456789ABCDEF0],
}
FLOAT_EDGES = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, 2.5, -2.5, 3.5, 0.1, 1e-40, 1e-310,
               2147483647.0, 2147483648.0, -2147483648.0, -2147483649.0, 4294967295.0,
               4294967296.0, 9.2e18, -9.3e18, 1.8e19, 3.4e38, 1e300, 123456.789,
               float("inf"), float("-inf"), float("nan")]

# Expression ops by result type (loads, stores and memory ops handled apart).
_EXPR_KINDS = (OpKind.UNARY, OpKind.BINARY, OpKind.TEST, OpKind.COMPARE, OpKind.CONVERT,
               OpKind.SELECT)
OPS_BY_RESULT: dict[ValType, list[str]] = {t: [] for t in TYPES}
OP_PARAMS: dict[str, tuple[ValType, ...]] = {}
for _op in OPS:
    if _op.kind in _EXPR_KINDS and _op.result is not None:
        OPS_BY_RESULT[_op.result].append(_op.name)
        OP_PARAMS[_op.name] = _op.params
LOADS = {t: [op.name for op in OPS if op.kind is OpKind.LOAD and op.result is t] for t in TYPES}
STORES = {t: [op.name for op in OPS if op.kind is OpKind.STORE and op.params[1] is t]
          for t in TYPES}
MASK = {64: 47, 24: 15}   # random offsets into a data item of this size
WIDTH = {op.name: op.mem_bytes for op in OPS}


def fmt_float(v: float) -> str:
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    r = repr(v)
    return r if ("." in r or "e" in r) else r + ".0"


@attrs.define
class Fn:
    name: str
    module: int
    type: FuncType
    private: bool = False
    deferred: bool = False


@attrs.define
class Program:
    seed: int
    modules: dict[str, str]            # module name -> IR text
    archived: list[str]                # module names linked from an archive
    trap_mode: bool
    fuel: int

    def sources(self) -> list[tuple[str, str]]:
        return list(self.modules.items())


class Gen:
    def __init__(self, seed: int, size: int = 1) -> None:
        self.seed = seed
        self.r = random.Random(seed)
        self.size = size
        r = self.r
        self.trap_mode = r.random() < 0.2
        self.fuel = r.choice([20, 60, 150, 300])
        self.nmods = r.randint(1, 3)
        self.fns: list[Fn] = []
        self.globals: list[tuple[str, ValType, int]] = []   # name, type, module
        self.datas: dict[int, list[tuple[str, int, bool]]] = {}  # module -> (name, size, writable)
        self.ftabs: dict[int, list[tuple[str, FuncType, int]]] = {}  # module -> (sym, type, n)
        self.ptrs: dict[int, list[tuple[str, int, list[tuple[str, int]]]]] = {}

    # ------------------------------------------------------------ planning

    def plan(self) -> None:
        r = self.r
        sigs = [self.rand_sig() for _ in range(r.randint(2, 4))]
        for m in range(self.nmods):
            for j in range(r.randint(2, 4 + self.size)):
                ft = r.choice(sigs) if r.random() < 0.7 else self.rand_sig()
                self.fns.append(Fn(f"m{m}_f{j}", m, ft))
            # the same private name in every module
            self.fns.append(Fn("helper", m, FuncType((I32,), I32), private=True))
            if self.trap_mode and r.random() < 0.5:
                self.fns.append(Fn(f"m{m}_broken", m, r.choice(sigs), deferred=True))
            for g in range(r.randint(1, 3)):
                self.globals.append((f"m{m}_g{g}", r.choice(TYPES), m))
            self.datas[m] = [(f"m{m}_scr", 64, True), (f"m{m}_ro", 24, False)]

    def rand_sig(self) -> FuncType:
        r = self.r
        params = tuple(r.choice(TYPES) for _ in range(r.randint(0, 4)))
        result = r.choice((None, I32, I32, I64, F32, F64))
        return FuncType(params, result)

    def callable_from(self, m: int) -> list[Fn]:
        return [f for f in self.fns if not f.private or f.module == m]

    # ------------------------------------------------------------ values

    def const(self, t: ValType) -> str:
        r = self.r
        if t.is_int:
            if r.random() < 0.6:
                return str(r.choice(INT_EDGES[t]))
            bits = t.bits
            return str(r.randrange(-(1 << (bits - 1)), 1 << (bits - 1)))
        if r.random() < 0.5:
            v = r.choice(FLOAT_EDGES)
        else:
            v = r.choice([r.uniform(-100, 100), r.uniform(-1e6, 1e6), float(r.randint(-50, 50))])
        if t is F32 and v == v and abs(v) > 3.4e38 and abs(v) != float("inf"):
            v = 3.0e38
        return fmt_float(v)

    def nan_free(self, t: ValType, e: str) -> str:
        return f"{t.value}.select({e}, {fmt_float(self.r.choice([0.0, -1.5, 7.0]))}, " \
               f"{t.value}.eq({e}, {e}))"

    def expr(self, t: ValType, depth: int) -> str:
        r = self.r
        roll = r.random()
        if depth <= 0 or roll < 0.3:
            return self.leaf(t)
        if roll < 0.4:
            return self.load(t, depth)
        if t is I32 and roll < 0.45:
            return self.memory_op(depth)
        return self.op_expr(t, depth)

    def leaf(self, t: ValType) -> str:
        r = self.r
        locs = [n for n, lt in self.cur_locals if lt is t]
        gl = [n for n, gt, _m in self.visible_globals() if gt is t]
        roll = r.random()
        if locs and roll < 0.55:
            return r.choice(locs)
        if gl and roll < 0.65:
            return r.choice(gl)
        if t is I32 and roll < 0.72:
            return self.symref()
        return self.const(t)

    def symref(self) -> str:
        r = self.r
        if r.random() < 0.3:
            return "@" + r.choice([f.name for f in self.callable_from(self.cur_module)
                                   if not f.private])
        name, size, _w = r.choice(self.all_data())
        return f"@{name}+{r.randrange(size)}"

    def all_data(self) -> list[tuple[str, int, bool]]:
        return [d for m in range(self.nmods) for d in self.datas[m]]

    def visible_globals(self) -> list[tuple[str, ValType, int]]:
        return self.globals

    def address(self, width: int, depth: int, store: bool = False) -> tuple[str, int]:
        """(address expression, constant offset) for an access of `width` bytes."""
        r = self.r
        roll = r.random()
        if self.trap_mode and roll < 0.04:
            return self.expr(I32, depth - 1), r.choice([0, 0, 4, 65536])
        if roll < 0.1 and not store:
            # near the end of memory: a wide access may run off it
            return f"i32.sub(i32.shl(memory.size(), 16), {r.randint(width, 8)})", 0
        datas = [d for d in self.all_data() if d[2] or not store]
        name, size, _w = r.choice(datas)
        if roll < 0.4:
            return f"@{name}", r.randrange(max(1, size - width))
        return f"i32.add(@{name}, i32.and({self.expr(I32, depth - 1)}, {MASK[size]}))", \
            r.choice([0, 0, 1, 3, 4])

    def load(self, t: ValType, depth: int) -> str:
        r = self.r
        if t is I32 and r.random() < 0.3:
            ptrs = self.ptrs.get(self.cur_module)
            if ptrs:
                name, _n, items = r.choice(ptrs)
                k = r.randrange(len(items))
                _target, off = items[k]
                inner = f"i32.load(@{name}+{4 * k})"
                return f"i32.load8_u({inner}, offset={r.randrange(0, 4)})" if r.random() < 0.5 \
                    else inner
        op = r.choice(LOADS[t])
        addr, off = self.address(WIDTH[op], depth)
        return f"{op}({addr}, offset={off})" if off else f"{op}({addr})"

    def memory_op(self, depth: int) -> str:
        r = self.r
        if r.random() < 0.6:
            return "memory.size()"
        delta = r.choice(["0", "0", "70000", "4294967295", "65536", "1"] +
                         (["1"] if self.trap_mode else []))
        return f"memory.grow({delta})"

    def op_expr(self, t: ValType, depth: int) -> str:
        r = self.r
        name = r.choice(OPS_BY_RESULT[t])
        params = OP_PARAMS[name]
        base = name.partition(".")[2]
        args = [self.expr(p, depth - 1) for p in params]
        safe = not self.trap_mode or r.random() < 0.7
        if base in ("div_s", "div_u", "rem_s", "rem_u") and safe:
            mask = "4294967293" if t is I32 else "18446744073709551613"
            args[1] = f"{t.value}.and({t.value}.or({args[1]}, 1), {mask})"
        elif base.startswith("trunc_f") and safe:
            src = params[0]
            lo, hi = {("i32", "s"): (-1e9, 1e9), ("i32", "u"): (-0.5, 4e9),
                      ("i64", "s"): (-9e18, 9e18), ("i64", "u"): (-0.5, 1.8e19)}[
                t.value, base[-1]]
            v = self.nan_free(src, args[0])
            args[0] = f"{src.value}.min({src.value}.max({v}, {fmt_float(lo)}), {fmt_float(hi)})"
        elif base.startswith("reinterpret_f"):
            args[0] = self.nan_free(params[0], args[0])
        elif base == "copysign":
            args[1] = self.nan_free(t, args[1])
        return f"{name}({', '.join(args)})"

    # ------------------------------------------------------------ functions

    def func_text(self, fn: Fn, out: list[str]) -> None:
        r = self.r
        ft = fn.type
        params = [(f"p{i}", t) for i, t in enumerate(ft.params)]
        head = f"{'private ' if fn.private else ''}func {fn.name}(" + \
            ", ".join(f"{n}: {t.value}" for n, t in params) + ")" + \
            (f" -> {ft.result.value}" if ft.result is not None else "")
        if fn.deferred:
            out.append(f'{head} deferred "not compiled: {fn.name} uses an unsupported feature"')
            out.append("")
            return
        locs = [(f"l{t.value}_{k}", t) for t in TYPES for k in range(r.randint(1, 2))]
        self.cur_locals = params + locs
        self.cur_fn = fn
        nblocks = r.randint(2, 5 + self.size)
        out.append(head + " {")
        out.append("  local " + ", ".join(f"{n}: {t.value}" for n, t in locs))
        for b in range(nblocks):
            out.append(f"b{b}:")
            out.append("  fuel = i32.sub(fuel, 1)")
            out.append(f"  if i32.gt_s(fuel, 0) then b{b}_go else out")
            out.append(f"b{b}_go:")
            for _ in range(r.randint(0, 4)):
                out.append("  " + self.stmt(fn))
            out.append("  " + self.term(fn, nblocks))
        out.append("out:")
        res = ft.result
        out.append("  return" + ("" if res is None else " " + self.leaf(res)))
        out.append("}")
        out.append("")

    def call_args(self, ft: FuncType, depth: int = 2) -> str:
        return ", ".join(self.expr(p, depth) for p in ft.params)

    def fn_pointer(self, ft: FuncType) -> str | None:
        """An i32 expression that is a table index of a function of type `ft`, if any."""
        r = self.r
        cands = [f for f in self.fns if f.type == ft and not f.private]
        tabs = [t for t in self.ftabs.get(self.cur_module, []) if t[1] == ft]
        if self.trap_mode and ft.params and r.random() < 0.15:
            return f"i32.and({self.expr(I32, 1)}, 7)"
        if tabs and r.random() < 0.6:
            sym, _t, n = r.choice(tabs)
            return f"i32.load(@{sym}+{4 * r.randrange(n)})"
        if cands:
            return "@" + r.choice(cands).name
        return None

    def stmt(self, fn: Fn) -> str:
        r = self.r
        roll = r.random()
        if roll < 0.3:
            name, t = r.choice(self.cur_locals)
            return f"{name} = {self.expr(t, 3)}"
        if roll < 0.42:
            t = r.choice(TYPES)
            op = r.choice(STORES[t])
            addr, off = self.address(WIDTH[op], 2, store=True)
            value = self.expr(t, 2)
            if t.is_float:
                value = self.nan_free(t, value)
            return f"{op}({addr}, {value}" + (f", offset={off})" if off else ")")
        if roll < 0.5:
            name, t, _m = r.choice(self.visible_globals())
            return f"{name} = {self.expr(t, 2)}"
        if roll < 0.62:
            t = r.choice(TYPES)
            return f"call {MIX[t]}({self.expr(t, 3)})"
        if roll < 0.87:
            callee = r.choice(self.callable_from(fn.module))
            if callee.deferred and r.random() < 0.7:
                callee = r.choice([f for f in self.callable_from(fn.module) if not f.deferred])
            return self.call_stmt(f"call {callee.name}({self.call_args(callee.type)})",
                                  callee.type.result)
        ft = r.choice([f.type for f in self.fns])
        ptr = self.fn_pointer(ft)
        if ptr is None:
            return f"call mix32({self.expr(I32, 2)})"
        args = self.call_args(ft)
        return self.call_stmt(f"call_indirect {_ftype(ft)} [{ptr}]({args})", ft.result)

    def call_stmt(self, call: str, result: ValType | None) -> str:
        r = self.r
        if result is None or r.random() < 0.2:
            return call
        dests = [n for n, t in self.cur_locals if t is result]
        return f"{r.choice(dests)} = {call}"

    def term(self, fn: Fn, nblocks: int) -> str:
        r = self.r
        roll = r.random()
        res = fn.type.result
        label = lambda: f"b{r.randrange(nblocks)}"  # noqa: E731
        if self.trap_mode and roll < 0.02:
            return "unreachable"
        if self.trap_mode and roll < 0.04:
            return f'panic "{fn.name} gave up"'
        if roll < 0.25:
            return f"jump {label()}"
        if roll < 0.5:
            return f"if {self.expr(I32, 2)} then {label()} else {label()}"
        if roll < 0.62:
            n = r.randint(1, 5)
            idx = self.expr(I32, 2)
            if r.random() < 0.7:
                idx = f"i32.and({idx}, 7)"
            return f"switch {idx} [{', '.join(label() for _ in range(n))}] else {label()}"
        if roll < 0.8:
            cands = [f for f in self.callable_from(fn.module)
                     if f.type.result == res and not f.deferred]
            if cands and r.random() < 0.6:
                callee = r.choice(cands)
                return f"tail call {callee.name}({self.call_args(callee.type)})"
            types = [f.type for f in self.fns if f.type.result == res]
            if types:
                ft = r.choice(types)
                ptr = self.fn_pointer(ft)
                if ptr is not None:
                    return f"tail call_indirect {_ftype(ft)} [{ptr}]({self.call_args(ft)})"
        return "return" + ("" if res is None else " " + self.expr(res, 3))

    # ------------------------------------------------------------ modules

    def module_text(self, m: int) -> str:
        r = self.r
        self.cur_module = m
        out = [f"module fz.m{m}", ""]
        used_rt = dict(RT_FUNCS)
        for name, ft in used_rt.items():
            out.append(f"extern func {name}{_ftype(ft)}")
        out.append("extern global fuel: i32")
        for f in self.fns:
            if f.module != m and not f.private:
                out.append(f"extern func {f.name}{_ftype(f.type)}")
        for name, t, gm in self.globals:
            if gm == m:
                out.append(f"global {name}: {t.value} = {self.const(t) if t.is_int else 0.5}")
            else:
                out.append(f"extern global {name}: {t.value}")
        out.append("")
        # data: scratch (writable), read-only bytes, relocations, function pointer tables
        out.append(f"data m{m}_scr align 8 = {{ {self.data_items(64)} }}")
        out.append(f"readonly data m{m}_ro align 4 = {{ {self.data_items(24)} }}")
        out.append(f"private data local_{m} align 2 = {{ i16 {r.randrange(65536)}, "
                   f"bytes \"m{m}\\n\" }}")
        out.append(f"data m{m}_dead = {{ bytes \"never referenced\" }}")
        items = [(d, r.randrange(size)) for d, size, _w in self.all_data()]
        r.shuffle(items)
        items = items[:4]
        ptr_name = f"m{m}_ptrs"
        self.ptrs[m] = [(ptr_name, len(items), items)]
        out.append(f"data {ptr_name} align 4 = {{ " +
                   ", ".join(f"addr {d}+{o}" for d, o in items) + " }")
        tabs = []
        for k, ft in enumerate(sorted({f.type for f in self.fns if not f.private}, key=str)):
            cands = [f for f in self.fns if f.type == ft and not f.private]
            entries = [r.choice(cands).name for _ in range(r.randint(1, 3))]
            sym = f"m{m}_tab{k}"
            tabs.append((sym, ft, len(entries)))
            ro = "readonly " if r.random() < 0.5 else ""
            out.append(f"{ro}data {sym} align 4 = {{ " + ", ".join(f"addr {e}" for e in entries)
                       + " }")
        self.ftabs[m] = tabs
        out.append("")
        for f in self.fns:
            if f.module == m:
                self.func_text(f, out)
        ctors = [f for f in self.fns if f.module == m and f.type == FuncType() and not f.deferred
                 and not f.private]
        for f in ctors[:1]:
            out.append(f"ctor {f.name} priority {r.choice([1, 100, 65535])}")
        if r.random() < 0.3:
            f = r.choice([f for f in self.fns if f.module == m and not f.private])
            out.append(f'export "x_{f.name}" {f.name}')
        if m == 0:
            self.main_text(out)
        return "\n".join(out) + "\n"

    def data_items(self, size: int) -> str:
        r = self.r
        items: list[str] = []
        left = size
        while left > 0:
            roll = r.random()
            if left >= 8 and roll < 0.25:
                items.append(f"i64 {r.choice(INT_EDGES[I64])}")
                left -= 8
            elif left >= 8 and roll < 0.35:
                items.append(f"f64 {fmt_float(r.choice(FLOAT_EDGES[:-1]))}")
                left -= 8
            elif left >= 4 and roll < 0.55:
                items.append(f"i32 {r.choice(INT_EDGES[I32])}")
                left -= 4
            elif left >= 4 and roll < 0.65:
                items.append(f"f32 {fmt_float(r.choice([0.5, -1.25, 3.0e38, 1e-40, 100.0]))}")
                left -= 4
            elif left >= 2 and roll < 0.75:
                items.append(f"i16 {r.randrange(-32768, 65536)}")
                left -= 2
            elif roll < 0.85:
                n = r.randint(1, min(left, 6))
                items.append(f"zero {n}")
                left -= n
            elif left >= 4 and roll < 0.92:
                d, dsize, _w = r.choice(self.all_data())
                items.append(f"addr {d}+{r.randrange(dsize)}")
                left -= 4
            else:
                n = r.randint(1, min(left, 5))
                items.append('bytes "' + "".join(r.choice("abcXYZ!") for _ in range(n)) + '"')
                left -= n
        return ", ".join(items)

    def main_text(self, out: list[str]) -> None:
        r = self.r
        self.cur_locals = [(f"l{t.value}", t) for t in TYPES]
        self.cur_fn = Fn("main", 0, FuncType((), I32))
        out.append("func main() -> i32 {")
        out.append("  local " + ", ".join(f"{n}: {t.value}" for n, t in self.cur_locals))
        out.append("entry:")
        callees = [f for f in self.callable_from(0) if not f.deferred or r.random() < 0.3]
        for _ in range(r.randint(3, 6 + self.size)):
            f = r.choice(callees)
            call = f"call {f.name}({self.call_args(f.type)})"
            if f.type.result is not None:
                dest = f"l{f.type.result.value}"
                out.append(f"  {dest} = {call}")
                out.append(f"  call {MIX[f.type.result]}({dest})")
            else:
                out.append(f"  {call}")
            out.append("  call print_ck()")
        for m in range(self.nmods):
            for k in range(0, 64, 8):
                out.append(f"  call mix(i64.load(@m{m}_scr+{k}))")
        for name, t, _m in self.globals:
            out.append(f"  call {MIX[t]}({name})")
        out.append("  call print_ck()")
        out.append(f"  return i32.and({self.expr(I32, 2)}, 63)")
        out.append("}")


def _ftype(ft: FuncType) -> str:
    s = "(" + ", ".join(t.value for t in ft.params) + ")"
    return s + (f" -> {ft.result.value}" if ft.result is not None else "")


def generate(seed: int, size: int = 1) -> Program:
    """The random program of `seed`; `size` scales the number of functions and blocks."""
    g = Gen(seed, size)
    g.plan()
    modules = {"fz.rt": RT.replace("FUEL", str(g.fuel))}
    for m in range(g.nmods):
        modules[f"fz.m{m}"] = g.module_text(m)
    archived = ["fz.rt"] if g.r.random() < 0.5 else []
    if g.nmods > 1 and g.r.random() < 0.5:
        archived.append(f"fz.m{g.nmods - 1}")
    return Program(seed, modules, archived, g.trap_mode, g.fuel)


def _names(seq: Sequence[str]) -> str:
    return ", ".join(seq)
