"""Generate realistic, valid IR modules from a seed, for benchmarks and tests.

The shape mimics what a Haskell-like compiler emits: many small functions
that read and write a stack through a global stack pointer, loop, branch,
dispatch through switches, call each other and end in tail calls; data
tables full of relocations (info tables pointing at functions, closures
pointing at data).  Every generated module passes the verifier.

The module is built with the Python API (`linker.ir.model`) and turned into
text by the printer, so the generator never drifts from the grammar.
Output depends only on the seed and the size arguments.

    python benchmarks/genir.py --seed 1 --mb 5 -o big.ir
"""

from __future__ import annotations

import argparse
import random
import sys

from linker.ir import model as ir
from linker.ir.types import FuncType, ValType

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64

_BIN = {I32: ["add", "sub", "mul", "and", "or", "xor", "shl", "shr_u", "shr_s", "rotl"],
        I64: ["add", "sub", "mul", "and", "or", "xor", "shl", "shr_u"],
        F32: ["add", "sub", "mul", "min", "max"],
        F64: ["add", "sub", "mul", "div", "min", "max"]}
_CMP = {I32: ["eq", "ne", "lt_s", "lt_u", "gt_s", "ge_u", "le_s"],
        I64: ["eq", "ne", "lt_s", "gt_u"],
        F32: ["lt", "gt", "eq"], F64: ["lt", "ge", "ne"]}
_LOAD = {I32: ["i32.load", "i32.load8_u", "i32.load16_s"], I64: ["i64.load", "i64.load32_u"],
         F32: ["f32.load"], F64: ["f64.load"]}
_STORE = {I32: ["i32.store", "i32.store8"], I64: ["i64.store", "i64.store32"],
          F32: ["f32.store"], F64: ["f64.store"]}
_CONV_TO = {I32: [("i32.wrap_i64", I64)], I64: [("i64.extend_i32_u", I32), ("i64.extend_i32_s", I32)],
            F32: [("f32.convert_i32_s", I32)], F64: [("f64.promote_f32", F32),
                                                    ("f64.convert_i64_s", I64)]}


class _FuncGen:
    def __init__(self, rng: random.Random, g: "_ModuleGen", f_sig: FuncType) -> None:
        self.rng = rng
        self.g = g
        self.sig = f_sig
        self.vars: dict[ValType, list[str]] = {t: [] for t in (I32, I64, F32, F64)}

    def const(self, t: ValType) -> ir.Expr:
        r = self.rng
        if t is I32:
            return ir.Const(t, r.choice([0, 1, 4, 8, r.randrange(-1000, 100000)]))
        if t is I64:
            return ir.Const(t, r.choice([0, 1, r.randrange(-(1 << 40), 1 << 40)]))
        return ir.Const(t, r.choice([0.0, 1.5, -2.25, float(r.randrange(1000)) / 8]))

    def expr(self, t: ValType, depth: int) -> ir.Expr:
        r = self.rng
        choice = r.random()
        if depth <= 0 or choice < 0.35:
            vs = self.vars[t]
            if vs and r.random() < 0.7:
                return ir.LocalGet(r.choice(vs))
            if t is I32 and r.random() < 0.3:
                return ir.GlobalGet(self.g.sp)
            return self.const(t)
        if choice < 0.7:
            op = r.choice(_BIN[t])
            return ir.OpExpr(f"{t.value}.{op}", (self.expr(t, depth - 1), self.expr(t, depth - 1)))
        if choice < 0.85:
            return ir.Load(r.choice(_LOAD[t]), self.addr(depth - 1), r.choice([0, 4, 8, 16]))
        if t is I32 and choice < 0.92:
            src = r.choice([I32, I64, F64])
            return ir.OpExpr(f"{src.value}.{r.choice(_CMP[src])}",
                             (self.expr(src, depth - 1), self.expr(src, depth - 1)))
        if t is I32 and choice < 0.95:
            return ir.SymRef(r.choice(self.g.data_names), r.choice([0, 4, 8]))
        name, src = r.choice(_CONV_TO[t])
        return ir.OpExpr(name, (self.expr(src, depth - 1),))

    def addr(self, depth: int) -> ir.Expr:
        r = self.rng
        if r.random() < 0.6:
            return ir.GlobalGet(self.g.sp)
        return ir.OpExpr("i32.add", (ir.GlobalGet(self.g.sp), self.expr(I32, max(depth - 1, 0))))

    def cond(self) -> ir.Expr:
        t = self.rng.choice([I32, I32, I64])
        if t is I32 and self.rng.random() < 0.3:
            return ir.OpExpr("i32.eqz", (self.expr(I32, 1),))
        return ir.OpExpr(f"{t.value}.{self.rng.choice(_CMP[t])}", (self.expr(t, 1), self.expr(t, 1)))

    def stmt(self) -> ir.Stmt:
        r = self.rng
        c = r.random()
        if c < 0.45:
            t = r.choice([I32, I32, I32, I64, I64, F64])
            return ir.Assign(r.choice(self.vars[t]), self.expr(t, 3))
        if c < 0.7:
            t = r.choice([I32, I32, I64, F64])
            return ir.Store(r.choice(_STORE[t]), self.addr(1), self.expr(t, 2), r.choice([0, 4, 8]))
        if c < 0.92:
            name, ft = self.g.pick_callee()
            args = tuple(self.expr(p, 1) for p in ft.params)
            dest = None
            if ft.result is not None and r.random() < 0.8:
                dest = r.choice(self.vars[ft.result])
            return ir.Call(dest, name, args)
        return ir.GlobalSet(self.g.sp, ir.OpExpr("i32.add", (ir.GlobalGet(self.g.sp),
                                                             ir.Const(I32, r.choice([-16, 8, 16])))))

    def term(self, i: int, labels: list[str]) -> ir.Terminator:
        r = self.rng
        n = len(labels)
        if i == n - 1:
            return self.exit()
        c = r.random()
        if c < 0.3:
            return ir.Jump(labels[i + 1])
        if c < 0.75:
            # Forward branch, or a back edge to make a loop.
            # (Back edges never target the entry block, as compilers emit them.)
            back = labels[r.randrange(1, i + 1)] if i > 0 and r.random() < 0.3 else labels[i + 1]
            fwd = labels[r.randrange(i + 1, n)]
            return ir.Branch(self.cond(), fwd, back)
        if c < 0.85:
            targets = tuple(labels[r.randrange(i + 1, n)] for _ in range(r.randrange(2, 6)))
            return ir.Switch(ir.OpExpr("i32.and", (self.expr(I32, 1), ir.Const(I32, 7))),
                             targets, labels[n - 1])
        return self.exit()

    def exit(self) -> ir.Terminator:
        r = self.rng
        res = self.sig.result
        c = r.random()
        if c < 0.5:
            picked = self.g.pick_tail_callee(res)
            if picked is not None:
                name, ft = picked
                return ir.TailCall(name, tuple(self.expr(p, 1) for p in ft.params))
        if c < 0.55:
            return ir.Panic(f"impossible case {r.randrange(1000)}")
        if c < 0.6 and res is not None:
            ft = FuncType((I32,), res)
            return ir.TailCallIndirect(ft, ir.Load("i32.load", ir.GlobalGet(self.g.sp)),
                                       (self.expr(I32, 1),))
        return ir.Return(None if res is None else self.expr(res, 2))

    def build(self, name: str, private: bool) -> ir.Func:
        r = self.rng
        params = tuple(ir.Param(f"p{i}", t) for i, t in enumerate(self.sig.params))
        for p in params:
            self.vars[p.type].append(p.name)
        locals_ = []
        for t, count in ((I32, r.randrange(2, 6)), (I64, r.randrange(1, 3)), (F64, 1)):
            for k in range(count):
                lname = f"{t.value}_{k}"
                locals_.append(ir.Param(lname, t))
                self.vars[t].append(lname)
        nblocks = r.randrange(2, 10)
        labels = ["entry"] + [f"L{i}" for i in range(1, nblocks)]
        blocks = []
        for i, label in enumerate(labels):
            stmts = tuple(self.stmt() for _ in range(r.randrange(0, 5)))
            blocks.append(ir.BasicBlock(label, stmts, self.term(i, labels)))
        return ir.Func(name, params, self.sig.result, tuple(locals_), tuple(blocks), private)


class _ModuleGen:
    def __init__(self, seed: int, nfuncs: int, name: str) -> None:
        self.rng = random.Random(seed)
        self.name = name
        self.nfuncs = nfuncs
        self.sp = "Sp"
        self.sigs: dict[str, FuncType] = {}
        self.by_result: dict[ValType | None, list[str]] = {}
        self.data_names: list[str] = []
        self.callees: list[str] = []

    def pick_callee(self) -> tuple[str, FuncType]:
        name = self.rng.choice(self.callees)
        return name, self.sigs[name]

    def pick_tail_callee(self, result: ValType | None) -> tuple[str, FuncType] | None:
        cands = self.by_result.get(result)
        if not cands:
            return None
        name = self.rng.choice(cands)
        return name, self.sigs[name]

    def build(self) -> ir.Module:
        r = self.rng
        items: list[ir.Item] = [
            ir.ImportFunc("fd_write", "wasi_snapshot_preview1", "fd_write",
                          FuncType((I32, I32, I32, I32), I32)),
            ir.ExternFunc("rts_alloc", FuncType((I32,), I32)),
            ir.ExternFunc("rts_gc", FuncType()),
            ir.Global(self.sp, I32, 65536),
            ir.Global("Hp", I32, 0),
            ir.Global("counter", I64, 0, private=True),
        ]
        self.sigs = {"fd_write": FuncType((I32, I32, I32, I32), I32),
                     "rts_alloc": FuncType((I32,), I32), "rts_gc": FuncType()}
        results: list[ValType | None] = [I32, I32, I64, None]
        fnames = [f"{self.name.replace('.', '_')}_f{i}" for i in range(self.nfuncs)]
        for fname in fnames:
            nparams = r.randrange(0, 4)
            params = tuple(r.choice([I32, I32, I64]) for _ in range(nparams))
            self.sigs[fname] = FuncType(params, r.choice(results))
        for fname, ft in self.sigs.items():
            self.by_result.setdefault(ft.result, []).append(fname)
        self.callees = list(self.sigs)
        ndata = max(2, self.nfuncs // 8)
        self.data_names = [f"d{i}" for i in range(ndata)]
        for i, dname in enumerate(self.data_names):
            ditems: list[ir.DataItem] = []
            for _ in range(r.randrange(1, 8)):
                c = r.random()
                if c < 0.3:
                    ditems.append(ir.AddrItem(r.choice(fnames)))
                elif c < 0.5:
                    ditems.append(ir.AddrItem(r.choice(self.data_names), r.choice([0, 4, 8])))
                elif c < 0.7:
                    ditems.append(ir.IntItem(r.choice([8, 16, 32, 64]), r.randrange(0, 128)))
                elif c < 0.8:
                    ditems.append(ir.BytesItem(f"string {i} \"quoted\"\n".encode()))
                elif c < 0.9:
                    ditems.append(ir.FloatItem(64, r.randrange(1000) / 4))
                else:
                    ditems.append(ir.ZeroItem(r.randrange(0, 32)))
            items.append(ir.Data(dname, tuple(ditems), r.choice([1, 4, 8]),
                                 readonly=r.random() < 0.3, private=r.random() < 0.2))
        for fname in fnames:
            items.append(_FuncGen(r, self, self.sigs[fname]).build(fname, r.random() < 0.2))
        init = f"{self.name.replace('.', '_')}_init"
        entry = ir.BasicBlock("entry", (ir.Call(None, "rts_gc", ()),
                                        ir.GlobalSet("Hp", ir.Const(I32, 4096))), ir.Return())
        items.append(ir.Func(init, (), None, (), (entry,)))
        items.append(ir.Ctor(init))
        items.append(ir.Export("entry_point", fnames[0]))
        return ir.Module(self.name, tuple(items))


def generate_module(seed: int, nfuncs: int, name: str = "bench.gen") -> ir.Module:
    """A valid module of `nfuncs` functions (plus data, globals and imports)."""
    return _ModuleGen(seed, nfuncs, name).build()


def generate_text(seed: int, target_bytes: int, name: str = "bench.gen") -> str:
    """IR text of at least `target_bytes` bytes, deterministic in `seed`."""
    from linker.ir.printer import print_module
    sample = print_module(generate_module(seed, 200, name))
    per_func = max(len(sample.encode()) / 200, 1.0)
    n = int(target_bytes / per_func * 1.05) + 1
    while True:
        text = print_module(generate_module(seed, n, name))
        if len(text.encode()) >= target_bytes:
            return text
        n = int(n * 1.1) + 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mb", type=float, default=5.0, help="size of the text in MB (default 5)")
    ap.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    args = ap.parse_args(argv)
    text = generate_text(args.seed, int(args.mb * 1_000_000))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
