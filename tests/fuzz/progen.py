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
* the dynamic FFI in about one program in five (`FfiGen`, its own random
  stream, so the other programs are unchanged): 1-3 C signatures made to
  lower to the wasm types of generated functions (8/16-bit integers,
  pointers, singleton and by-pointer structs, sret, long double, varargs),
  `ffi_call` of those functions through their table index, closures
  (`ffi_closure_alloc` with small pools, so the host grows the table)
  called directly and through `ffi_call`, freed and reallocated; the
  closure handlers mix their arguments, the argument pointers relative to
  `args` and `args` itself (the FFI stack layout), and write the result;
* code where the LTO passes fire (`LtoGen`, its own random stream): small and
  single-use callees, duplicate functions, constant function pointers,
  self tail calls, globals never written or never read, dead assignments;
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

import os
import random
from collections.abc import Sequence

import attrs

from linker.ir.ctypes import CKind, CScalar, CSig, CStruct, CType, lower, returns_via_sret
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
    ffi: bool = False

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
        self.ffi: FfiGen | None = None
        fr = random.Random(seed * 7919 + 17)   # its own stream: non-FFI programs are unchanged
        if fr.random() < FFI_SHARE:
            self.ffi = FfiGen(self, fr)
            self.nmods = min(self.nmods, 2)   # FFI programs cost no more than the others
        self.lto = LtoGen(self, random.Random(seed * 104729 + 3))

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
        if self.ffi is not None:
            self.ffi.plan()

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
        out.append("  local " + ", ".join(f"{n}: {t.value}" for n, t in locs) + self.ffc())
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

    def ffc(self) -> str:
        """The local that receives closure codes (never read by random expressions: a grown
        slot's index depends on the host and on the table size of the tail-call mode)."""
        return "" if self.ffi is None else ", ffc: i32"

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
        if self.ffi is not None and self.ffi.r.random() < 0.08:
            return self.ffi.stmt()
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
                                  None if _drops_result(callee.name) else callee.type.result)
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
        out += self.lto.decls(m)
        if self.ffi is not None:
            out += self.ffi.decls(m)
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
        self.lto.funcs(m, out)
        ctors = [f for f in self.fns if f.module == m and f.type == FuncType() and not f.deferred
                 and not f.private]
        for f in ctors[:1]:
            out.append(f"ctor {f.name} priority {r.choice([1, 100, 65535])}")
        if r.random() < 0.3:
            f = r.choice([f for f in self.fns if f.module == m and not f.private])
            out.append(f'export "x_{f.name}" {f.name}')
        if m == 0 and self.ffi is not None:
            self.ffi.module0(out)
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
        out.append("  local " + ", ".join(f"{n}: {t.value}" for n, t in self.cur_locals)
                   + self.ffc())
        out.append("entry:")
        callees = [f for f in self.callable_from(0) if not f.deferred or r.random() < 0.3]
        for _ in range(r.randint(3, 6 + self.size)):
            f = r.choice(callees)
            call = f"call {f.name}({self.call_args(f.type)})"
            if f.type.result is not None and not _drops_result(f.name):
                dest = f"l{f.type.result.value}"
                out.append(f"  {dest} = {call}")
                out.append(f"  call {MIX[f.type.result]}({dest})")
            else:
                out.append(f"  {call}")
            out.append("  call print_ck()")
        if self.ffi is not None:
            out += ["  " + self.ffi.stmt(kind) for kind in self.ffi.main_plan()]
            out.append("  call print_ck()")
        for m in range(self.nmods):
            for k in range(0, 64, 8):
                out.append(f"  call mix(i64.load(@m{m}_scr+{k}))")
        for name, t, _m in self.globals:
            out.append(f"  call {MIX[t]}({name})")
        out += self.lto.main_lines()
        out.append("  call print_ck()")
        out.append(f"  return i32.and({self.expr(I32, 2)}, 63)")
        out.append("}")


def _ftype(ft: FuncType) -> str:
    s = "(" + ", ".join(t.value for t in ft.params) + ")"
    return s + (f" -> {ft.result.value}" if ft.result is not None else "")


def _drops_result(name: str) -> bool:
    """Whether every direct call of function `name` drops its result (about one
    in five, by name, using no randomness): LTO's `dae` then drops the result."""
    return sum(name.encode()) % 5 == 0


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
    return Program(seed, modules, archived, g.trap_mode, g.fuel, g.ffi is not None)


def _names(seq: Sequence[str]) -> str:
    return ", ".join(seq)


# ---------------------------------------------------------------- the dynamic FFI

# programs that use the dynamic FFI (IRLD_FUZZ_FFI_SHARE overrides, e.g. 1 for campaigns)
FFI_SHARE = float(os.environ.get("IRLD_FUZZ_FFI_SHARE") or 0.2)
FFA_SIZE = 128            # the argument buffer
NAN_FREE_MASK = -1073741825   # 0xBFFFFFFF: no word of the buffer is a NaN as f32, f64 high half
_K = CKind
_I32_KINDS = (_K.SINT8, _K.UINT8, _K.SINT16, _K.UINT16, _K.SINT32, _K.UINT32, _K.POINTER)
_BY_POINTER = (
    CStruct((CScalar(_K.SINT32), CScalar(_K.DOUBLE), CScalar(_K.UINT8))),
    CStruct((CScalar(_K.UINT8), CScalar(_K.SINT16))),
    CStruct((CScalar(_K.FLOAT), CScalar(_K.FLOAT), CScalar(_K.FLOAT))),
    CStruct((CStruct((CScalar(_K.SINT16), CScalar(_K.UINT8))), CScalar(_K.DOUBLE))),
)
_VAR = (_K.SINT8, _K.UINT16, _K.SINT32, _K.SINT64, _K.FLOAT, _K.DOUBLE, _K.LONGDOUBLE)
_LOAD = {_K.SINT8: "i32.load8_s", _K.UINT8: "i32.load8_u", _K.SINT16: "i32.load16_s",
         _K.UINT16: "i32.load16_u", _K.SINT32: "i32.load", _K.UINT32: "i32.load",
         _K.POINTER: "i32.load", _K.SINT64: "i64.load", _K.UINT64: "i64.load",
         _K.FLOAT: "f32.load", _K.DOUBLE: "f64.load"}
_VT = {"i32": I32, "i64": I64, "f32": F32, "f64": F64}


def ctype_text(t: CType) -> str:
    if isinstance(t, CStruct):
        return "struct { " + ", ".join(ctype_text(f) for f in t.fields) + " }"
    return t.kind.value


def zero_result(t: CType, ret: str) -> list[str]:
    """Stores of zero over a closure result of type `t` (small integers: a whole ffi_arg)."""
    sc = _scalar_of(t)
    if sc is not None and sc.kind is _K.VOID:
        return []
    size = t.size if sc is None or sc.kind is _K.LONGDOUBLE else max(t.size, 4)
    lines, off = [], 0
    for width, op in ((8, "i64.store"), (4, "i32.store"), (2, "i32.store16"), (1, "i32.store8")):
        while size - off >= width:
            lines.append(f"{op}({ret}, 0, offset={off})")
            off += width
    return lines


def _scalar_of(t: CType) -> CScalar | None:
    """The scalar of a scalar or a `struct { T }` the generator makes, else None."""
    while isinstance(t, CStruct):
        if len(t.fields) != 1:
            return None
        t = t.fields[0]
    return t


@attrs.define
class FSig:
    name: str
    sig: CSig
    ft: FuncType
    target: str            # a generated function with the lowered type
    pool: int | None
    offsets: list[int]     # where each argument lives in the argument buffer


class FfiGen:
    """The FFI part of a program (see the module docstring)."""

    def __init__(self, g: Gen, r: random.Random) -> None:
        self.g = g
        self.r = r
        self.sigs: list[FSig] = []

    def plan(self) -> None:
        r, g = self.r, self.g
        cands = [f for f in g.fns if not f.private and not f.deferred]
        r.shuffle(cands)
        for k, f in enumerate(cands[:r.randint(1, 3)]):
            sig = self.csig_for(f.type)
            assert lower(sig) == f.type, (sig, f.type)
            pool = r.choice([None, None, 0, 1, 2, 3])
            offs: list[int] = []
            for t in sig.params:
                a = max(4, t.align)
                offs.append(r.randrange(0, (FFA_SIZE - t.size) // a + 1) * a)
            self.sigs.append(FSig(f"c{k}", sig, f.type, f.name, pool, offs))

    def csig_for(self, ft: FuncType) -> CSig:
        """A random C signature that lowers to `ft`."""
        r = self.r
        params = list(ft.params)
        ret: CType = CScalar(_K.VOID)
        if ft.result is not None:
            ret = self.scalar_type(ft.result)
        elif params and params[0] is I32 and r.random() < 0.35:
            ret = r.choice([*_BY_POINTER, CScalar(_K.LONGDOUBLE)])
            params = params[1:]
        nfixed: int | None = None
        if params and params[-1] is I32 and r.random() < 0.3:
            params = params[:-1]
            nfixed = 0
        out: list[CType] = []
        i = 0
        while i < len(params):
            vt = params[i]
            if vt is I64 and i + 1 < len(params) and params[i + 1] is I64 and r.random() < 0.3:
                out.append(CScalar(_K.LONGDOUBLE))
                i += 2
                continue
            if vt is I32 and r.random() < 0.2:
                out.append(r.choice(_BY_POINTER))
            else:
                out.append(self.scalar_type(vt))
            i += 1
        if nfixed is None:
            return CSig(ret, tuple(out))
        var = [CScalar(r.choice(_VAR)) for _ in range(r.randint(0, 3))]
        if r.random() < 0.15:
            var.append(_BY_POINTER[0])
        return CSig(ret, tuple(out + var), len(out))

    def scalar_type(self, vt: ValType) -> CType:
        r = self.r
        if vt is I32:
            t: CType = CScalar(r.choice(_I32_KINDS))
        elif vt is I64:
            t = CScalar(r.choice((_K.SINT64, _K.UINT64)))
        else:
            t = CScalar(_K.FLOAT if vt is F32 else _K.DOUBLE)
        return CStruct((t,)) if r.random() < 0.15 else t

    def sig_text(self, s: FSig) -> str:
        sig = s.sig
        parts = [ctype_text(p) for p in sig.fixed_params]
        if sig.nfixed is not None:
            parts.append("...")
            parts += [ctype_text(p) for p in sig.var_params]
        pool = "" if s.pool is None else f" pool {s.pool}"
        return f"{ctype_text(sig.ret)}({', '.join(parts)}){pool}"

    # ------------------------------------------------------------ module text

    def decls(self, m: int) -> list[str]:
        out = ["extern func ffi_call(i32, i32, i32, i32)",
               "extern func ffi_closure_alloc(i32, i32, i32) -> i32",
               "extern func ffi_closure_free(i32)"]
        out += [f"csig {s.name} = {self.sig_text(s)}" for s in self.sigs]
        if m != 0:
            out += [f"extern func ffun{k}(i32, i32, i32, i32)" for k in range(len(self.sigs))]
        return out

    def module0(self, out: list[str]) -> None:
        r = self.r
        words = ", ".join(f"i32 {r.randrange(-(1 << 31), 1 << 31) & 0xBFFFFFFF}"
                          for _ in range(FFA_SIZE // 4))
        out.append(f"data ffa align 16 = {{ {words} }}")
        out.append("data ffrv align 16 = { zero 32 }")
        out.append(f"data ffcodes align 4 = {{ zero {4 * len(self.sigs)} }}")
        for k, s in enumerate(self.sigs):
            av = ", ".join(f"addr ffa+{o}" for o in s.offsets) or "zero 4"
            out.append(f"data ffav{k} align 4 = {{ {av} }}")
            self.fun_text(k, s, out)

    def fun_text(self, k: int, s: FSig, out: list[str]) -> None:
        """The closure handler fun(sig, ret, args, user_data) of signature `s`."""
        g, r = self.g, self.r
        out.append(f"func ffun{k}(sg: i32, ret: i32, args: i32, ud: i32) {{")
        out.append("  local li32: i32, li64: i64, lf32: f32, lf64: f64, ffc: i32")
        out.append("entry:")
        out.append("  fuel = i32.sub(fuel, 1)")
        out.append("  if i32.gt_s(fuel, 0) then go else out")
        out.append("go:")
        out.append("  call mix32(i32.add(i32.mul(sg, 1000), ud))")
        if r.random() < 0.5:
            out.append("  call mix32(args)")
        sig = s.sig
        nfixed = len(sig.params) if sig.nfixed is None else sig.nfixed
        for i, t in enumerate(sig.params):
            p = f"i32.load(args, offset={4 * i})"
            if r.random() < 0.5:
                out.append(f"  call mix32(i32.sub({p}, args))")
            sc = _scalar_of(t)
            if i >= nfixed and sc is None:
                continue   # a struct in the varargs: the buffer holds the caller's pointer
            if sc is None:
                out.append(f"  call mix(i64.load({p}))")
                out.append(f"  call mix32(i32.load({p}, offset={t.size - 4}))")
            elif sc.kind is _K.LONGDOUBLE:
                out.append(f"  call mix(i64.load({p}))")
                out.append(f"  call mix(i64.load({p}, offset=8))")
            else:
                op = _LOAD[sc.kind]
                out.append(f"  call {MIX[_VT[op[:3]]]}({op}({p}))")
        # not `ret` and `args`: the random statement must not change them
        g.cur_locals = [("li32", I32), ("sg", I32), ("ud", I32), ("li64", I64), ("lf32", F32),
                        ("lf64", F64)]
        g.cur_fn = Fn(f"ffun{k}", 0, FuncType((I32,) * 4))
        if r.random() < 0.6:
            out.append("  " + g.stmt(g.cur_fn))
        out += ["  " + line for line in self.store_result(sig.ret, "ret")]
        out.append("  return")
        out.append("out:")
        # Out of fuel the result is still written: libffi leaves `ret` as the handler
        # left it, and reading it unwritten shows whatever the FFI stack held before,
        # for example a NaN whose sign the engine chooses (seed 3621).
        out += ["  " + line for line in zero_result(sig.ret, "ret")]
        out.append("  return")
        out.append("}")
        out.append("")

    def store_result(self, t: CType, ret: str) -> list[str]:
        g = self.g
        sc = _scalar_of(t)
        if sc is not None and sc.kind is _K.VOID:
            return []
        if sc is None or sc.kind is _K.LONGDOUBLE:
            lines = [f"i64.store({ret}, {g.expr(I64, 2)})"]
            if t.size >= 16:
                lines.append(f"i64.store({ret}, {g.expr(I64, 1)}, offset=8)")
            return lines
        vt = _VT[_LOAD[sc.kind][:3]]
        value = g.expr(vt, 2)
        if vt.is_float:
            value = g.nan_free(vt, value)
        op = {I32: "i32.store", I64: "i64.store", F32: "f32.store", F64: "f64.store"}[vt]
        if vt is I32 and sc.size < 4 and self.r.random() < 0.5:
            op = "i32.store8" if sc.size == 1 else "i32.store16"   # only the low bytes
        return [f"{op}({ret}, {value})"]

    # ------------------------------------------------------------ statements

    def main_plan(self) -> list[str]:
        r = self.r
        kinds = ["alloc"] * r.randint(1, 4) + ["call", "call", "closure", "closure"]
        kinds += [r.choice(["free", "alloc", "call", "closure"]) for _ in range(r.randint(1, 4))]
        return kinds

    def stmt(self, kind: str | None = None) -> str:
        r, g = self.r, self.g
        k = r.randrange(len(self.sigs))
        s = self.sigs[k]
        kind = kind or r.choice(["call", "call", "closure", "alloc", "free"])
        code = f"i32.load(@ffcodes+{4 * k})"
        lines: list[str] = []
        if kind == "alloc":
            # the code itself is not mixed: grown slots depend on the host and the table size
            d = "ffc"
            return "\n  ".join([f"{d} = call ffi_closure_alloc(sig {s.name}, @ffun{k}, "
                                f"{g.expr(I32, 1)})",
                                f"i32.store(@ffcodes+{4 * k}, {d})",
                                f"call mix32(i32.eqz({d}))"])
        if kind == "free":
            return "\n  ".join([f"call ffi_closure_free({code})",
                                f"i32.store(@ffcodes+{4 * k}, 0)"])
        fallback = f"i32.select({code}, @{s.target}, {code})"
        if kind == "call":
            for _ in range(r.randint(0, 2)):
                lines.append(f"i32.store(@ffa+{4 * r.randrange(FFA_SIZE // 4)}, "
                             f"i32.and({g.expr(I32, 1)}, {NAN_FREE_MASK}))")
            target = fallback if r.random() < 0.4 else f"@{s.target}"
            lines.append(f"call ffi_call(sig {s.name}, {target}, @ffrv, @ffav{k})")
            lines += self.mix_result(s.sig.ret)
            return "\n  ".join(lines)
        # a direct call of the closure (or of the target when there is none)
        args: list[str] = []
        sig = s.sig
        if returns_via_sret(sig.ret):
            args.append("@ffrv")
        for i, t in enumerate(sig.fixed_params):
            sc = _scalar_of(t)
            if sc is None:
                args.append(f"@ffa+{s.offsets[i]}")
            elif sc.kind is _K.LONGDOUBLE:
                args += [g.expr(I64, 1), g.expr(I64, 1)]
            else:
                args.append(g.expr(_VT[_LOAD[sc.kind][:3]], 1))
        if sig.nfixed is not None:
            args.append(f"@ffa+{16 * r.randrange(2)}")
        call = f"call_indirect {_ftype(s.ft)} [{fallback}]({', '.join(args)})"
        if s.ft.result is None:
            return "\n  ".join([call] + self.mix_result(sig.ret))
        dest = self.local(s.ft.result)
        return "\n  ".join([f"{dest} = {call}", f"call {MIX[s.ft.result]}({dest})"])

    def mix_result(self, t: CType) -> list[str]:
        sc = _scalar_of(t)
        if sc is not None and sc.kind is _K.VOID:
            return []
        if sc is None or sc.kind is _K.LONGDOUBLE:
            return ["call mix(i64.load(@ffrv))", "call mix(i64.load(@ffrv, offset=8))"]
        op = _LOAD[sc.kind]
        return [f"call {MIX[_VT[op[:3]]]}({op}(@ffrv))"]

    def local(self, t: ValType) -> str:
        return next(n for n, lt in self.g.cur_locals if lt is t)


# ---------------------------------------------------------------- LTO targets


class LtoGen:
    """Code where the LTO passes fire, on its own random stream (so the rest of a
    program is what it was without it): per module, small leaf functions (inlined;
    one reads locals before writing them, in a loop), three identical functions
    (one address-taken: safe ICF keeps it apart), a self tail-recursive one with
    swapped arguments (tail-call-loop's parallel assignment), a read-only table
    of function pointers and direct `@f` pointers (devirtualized), a global
    never written (a constant) and one never read (its stores dropped); `main`
    calls all of it with constant and variable arguments and mixes the results
    into the checksum.  In trap programs, one indirect call through a constant
    pointer of the wrong type, which must still trap."""

    def __init__(self, g: Gen, r: random.Random) -> None:
        self.g, self.r = g, r
        self.k = {m: r.randint(-9, 9) for m in range(g.nmods)}

    def decls(self, m: int) -> list[str]:
        out = [f"global m{m}_kg: i32 = {self.r.randint(-5, 50)}", f"global m{m}_wo: i64 = 0"]
        if m == 0:
            for n in range(1, self.g.nmods):
                out += [f"extern func m{n}_add{_ftype(FuncType((I32, I32), I32))}",
                        f"extern func m{n}_acc{_ftype(FuncType((I32,), I32))}",
                        f"extern func m{n}_dupA{_ftype(FuncType((I32, I32), I32))}",
                        f"extern func m{n}_dupC{_ftype(FuncType((I32, I32), I32))}",
                        f"extern func m{n}_loop{_ftype(FuncType((I32, I64, I32), I64))}",
                        f"extern func m{n}_run{_ftype(FuncType((I32,), I32))}"]
        return out

    def funcs(self, m: int, out: list[str]) -> None:
        k = self.k[m]
        dup = ["func {name}(a: i32, b: i32) -> i32 {", "  local t: i32", "entry:",
               f"  t = i32.xor(i32.mul(a, {2 * k + 1}), b)",
               "  if i32.lt_s(t, 0) then neg else pos", "neg:",
               "  return i32.sub(0, t)", "pos:", "  return i32.add(t, m{m}_kg)", "}", ""]
        text = "\n".join(dup)
        for name in ("dupA", "dupB", "dupC"):
            out.append(text.replace("{name}", f"m{m}_{name}").replace("{m}", str(m)))
        out += [
            f"func m{m}_add(a: i32, b: i32) -> i32 {{", "entry:",
            f"  return i32.add(i32.mul(a, {k}), b)", "}", "",
            f"func m{m}_acc(n: i32) -> i32 {{", "  local s: i32, i: i32", "entry:",
            "  jump loop", "loop:", "  if i32.lt_s(i, i32.and(n, 7)) then body else done",
            "body:", "  s = i32.add(s, i32.mul(i, n))", "  i = i32.add(i, 1)", "  jump loop",
            "done:", "  return s", "}", "",
            f"func m{m}_loop(n: i32, acc: i64, x: i32) -> i64 {{", "entry:",
            "  if i32.le_s(n, 0) then done else more", "more:",
            f"  m{m}_wo = i64.add(acc, 1)",
            f"  tail call m{m}_loop(i32.sub(n, 1), i64.add(i64.mul(acc, 3), "
            "i64.extend_i32_s(x)), i32.add(i32.wrap_i64(acc), n))",
            "done:", "  return i64.add(acc, i64.extend_i32_u(x))", "}", "",
            f"readonly data m{m}_ktab align 4 = {{ addr m{m}_add, addr m{m}_dupB }}", "",
            f"func m{m}_run(v: i32) -> i32 {{", "  local p: i32, r: i32, t: i32, dead: i32",
            "entry:",
            f"  p = @m{m}_add",
            "  dead = i32.mul(v, 3)",
            "  r = call_indirect (i32, i32) -> i32 [p](v, 2)",
            f"  t = call_indirect (i32, i32) -> i32 [i32.load(@m{m}_ktab+4)](r, v)",
            "  r = i32.add(r, t)",
            f"  t = call_indirect (i32, i32) -> i32 [i32.load(@m{m}_ktab)](v, r)",
            "  r = i32.add(r, t)",
            f"  t = call m{m}_add(m{m}_kg, 4)",
            "  r = i32.add(r, t)",
            f"  if i32.eq(@m{m}_dupA, @m{m}_dupB) then same else differ",
            "same:", "  return 0", "differ:",
            f"  tail call_indirect (i32, i32) -> i32 [@m{m}_dupC](r, p)", "}", "",
        ]

    def main_lines(self) -> list[str]:
        r, g = self.r, self.g
        out: list[str] = []
        for m in range(g.nmods):
            arg = lambda: str(r.randint(-20, 20)) if r.random() < 0.5 else "li32"  # noqa: E731
            out += [f"  li32 = call m{m}_add({arg()}, {arg()})", "  call mix32(li32)",
                    f"  li32 = call m{m}_acc({arg()})", "  call mix32(li32)",
                    f"  li32 = call m{m}_dupA({arg()}, {arg()})", "  call mix32(li32)",
                    f"  li32 = call m{m}_dupC({arg()}, li32)", "  call mix32(li32)",
                    f"  li64 = call m{m}_loop({r.randint(0, 30)}, li64, {arg()})",
                    "  call mix(li64)",
                    f"  li32 = call m{m}_run({arg()})", "  call mix32(li32)"]
        if g.trap_mode and r.random() < 0.2:
            out.append("  lf64 = call_indirect (f64) -> f64 [@m0_add](1.5)")
        return out
