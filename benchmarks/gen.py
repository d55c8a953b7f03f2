"""Generate a whole program of N modules x M functions as IR text, for the scale benchmarks.

    python benchmarks/gen.py --modules 1000 --funcs 100 --live 0.2 --seed 1 -o build/gen

writes one `.ir` file per library module (`m0.ir` ... `m{N-1}.ir`) and a
`main.ir` whose `main` returns a checksum (in [0, 64)) as its exit status.
The output depends only on the parameters and the seed.

The shape mimics what a Haskell-like compiler emits into a big library:

* a size mix: most functions are small (one or two blocks), a quarter are
  medium (branches, a switch), a few are large (a counted loop around a
  switch, branches, a cold path);
* a call graph in which a chosen fraction of the functions is reachable from
  `main` (`--live`, default 0.2) and the rest is dead.  A quarter of the
  modules are wholly dead, the others have a live fraction around the
  average.  The live functions form a tree (each calls its tree children
  exactly once, so a run executes every live function a bounded number of
  times); extra call edges, among live functions (also across modules) and
  from dead code to anything, sit on cold paths guarded by a global that is
  always 0, so the linker must keep them but a run never takes them;
* data tables with relocations: per-function info tables (the function's
  own table index, as a closure's info pointer), a per-module table of
  function pointers used by `call_indirect`, and data pointing into data;
* address-taken functions called through `call_indirect`, direct and
  indirect tail calls (`tail f(...)`, `tail call_indirect ...`);
* with `ffi=True` (default): in every `--ffi-every`-th module one live
  function calls a module function through the dynamic FFI
  (`csig` + `sig NAME` + `extern func ffi_call(i32, i32, i32, i32)`).

Modules are built with the Python IR API (`linker.ir.model`) and printed by
the printer, so the generator never drifts from the grammar.  `program()`
also returns the counts (functions, live functions) the harness reports.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from linker.ir import model as ir  # noqa: E402
from linker.ir.ctypes import CKind, CScalar, CSig  # noqa: E402
from linker.ir.printer import print_module  # noqa: E402
from linker.ir.types import FuncType, ValType  # noqa: E402

I32, I64 = ValType.I32, ValType.I64
S1 = FuncType((I32,), I32)            # most functions
S2 = FuncType((I32, I32), I32)
S3 = FuncType((I64,), I64)
SIGS = (S1, S1, S1, S1, S2, S3)
FFI_CALL_TYPE = FuncType((I32, I32, I32, I32), None)
# (csig name, C signature, target wasm type): the FFI targets' C signatures.
_S32, _S64 = CScalar(CKind.SINT32), CScalar(CKind.SINT64)
FFI_SIGS = (("c_add", CSig(_S32, (_S32, _S32)), FuncType((I32, I32), I32)),
            ("c_lin", CSig(_S64, (_S64,)), FuncType((I64,), I64)),
            ("c_mix", CSig(_S32, (_S32, _S64)), FuncType((I32, I64), I32)))


def c(v: int, t: ValType = I32) -> ir.Const:
    return ir.Const(t, v)


def lg(name: str) -> ir.LocalGet:
    return ir.LocalGet(name)


def op(name: str, *args: ir.Expr) -> ir.OpExpr:
    return ir.OpExpr(name, tuple(args))


@attrs.frozen
class Params:
    modules: int = 10
    funcs: int = 20
    live: float = 0.2
    seed: int = 1
    ffi: bool = True
    ffi_every: int = 50

    def key(self) -> str:
        return (f"m{self.modules}-f{self.funcs}-l{self.live:g}-s{self.seed}"
                f"-ffi{int(self.ffi)}x{self.ffi_every}")


@attrs.define
class FuncPlan:
    name: str
    module: int
    sig: FuncType
    live: bool
    size: str                                         # small / medium / large
    children: list[str] = attrs.Factory(list)        # tree children (live only)
    cold: list[str] = attrs.Factory(list)            # callees on the cold path
    info: bool = False                               # has an info table
    tail: str = ""                                   # "", "direct", "indirect"
    indirect: set[str] = attrs.Factory(set)          # children called through the table
    ffi: int = -1                                    # index into FFI_SIGS, -1: none


@attrs.frozen
class Program:
    """The generated sources: module name -> IR text, and what they contain."""

    modules: dict[str, str]          # file stem -> text ("main", "m0", ...)
    functions: int                   # library functions
    live_functions: int              # library functions reachable from main
    ffi_users: int

    def write(self, directory: str | os.PathLike[str]) -> list[str]:
        os.makedirs(directory, exist_ok=True)
        paths = []
        for stem, text in self.modules.items():
            path = os.path.join(directory, f"{stem}.ir")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            paths.append(path)
        return paths


def program(p: Params) -> Program:
    """Generate the whole program (see the module docstring)."""
    rng = random.Random(p.seed)
    plans: list[list[FuncPlan]] = []
    sig_of: dict[str, FuncType] = {}
    # --- which functions are live
    dead_modules = {k for k in range(1, p.modules) if rng.random() < 0.25}
    live_modules = p.modules - len(dead_modules)
    per_module = min(1.0, p.live * p.modules / max(live_modules, 1))
    for k in range(p.modules):
        frac = 0.0 if k in dead_modules else min(1.0, per_module * rng.uniform(0.6, 1.4))
        nlive = max(1, round(frac * p.funcs)) if k not in dead_modules else 0
        if k == 0:
            nlive = max(nlive, 1)
        live_idx = set(rng.sample(range(p.funcs), min(nlive, p.funcs)))
        row = []
        for i in range(p.funcs):
            r = rng.random()
            size = "small" if r < 0.70 else "medium" if r < 0.95 else "large"
            name = f"m{k}_f{i}"
            sig = rng.choice(SIGS)
            sig_of[name] = sig
            row.append(FuncPlan(name, k, sig, i in live_idx, size, info=rng.random() < 0.3))
        plans.append(row)
    # --- the live tree: parents come earlier (in module, then function order)
    live_order = [f for row in plans for f in row if f.live]
    by_module: dict[int, list[FuncPlan]] = {}
    for f in live_order:
        by_module.setdefault(f.module, []).append(f)
    module_roots: list[FuncPlan] = []
    for k in sorted(by_module):
        fs = by_module[k]
        if module_roots:
            parent = rng.choice(by_module[rng.choice(module_roots).module])
            parent.children.append(fs[0].name)
        module_roots.append(fs[0])
        for j in range(1, len(fs)):
            rng.choice(fs[max(0, j - 8):j]).children.append(fs[j].name)
    all_live = [f.name for f in live_order]
    for row in plans:
        for f in row:
            pool = [g.name for g in row]
            if f.live:
                if rng.random() < 0.3:
                    f.cold.append(rng.choice(all_live))
                    if f.size != "small":
                        f.cold.append(rng.choice(all_live))
                last = f.children[-1] if f.children else None
                if last is not None and sig_of[last].result is f.sig.result:
                    r = rng.random()
                    if r < 0.3:
                        f.tail = "direct"
                    elif r < 0.4 and sig_of[last] == S1:
                        f.tail = "indirect"
                        f.indirect.add(last)
                for ch in f.children[:-1]:
                    if sig_of[ch] == S1 and rng.random() < 0.15:
                        f.indirect.add(ch)
            else:
                n = 1 if f.size == "small" else 3
                f.cold.extend(rng.choice(pool) for _ in range(n))
                if rng.random() < 0.1:
                    f.cold.append(rng.choice(all_live))
    ffi_users = 0
    if p.ffi:
        for k in range(0, p.modules, p.ffi_every):
            if k in by_module:
                fs = by_module[k]
                fs[len(fs) // 2].ffi = (k // p.ffi_every) % len(FFI_SIGS)
                ffi_users += 1
    texts: dict[str, str] = {}
    for k, row in enumerate(plans):
        mod = _ModuleGen(random.Random(p.seed * 1_000_003 + k), k, row, sig_of).build()
        texts[f"m{k}"] = print_module(mod)
    root = live_order[0]
    texts["main"] = print_module(main_module(root.name, sig_of[root.name]))
    return Program(texts, p.modules * p.funcs, len(live_order), ffi_users)


def main_module(root: str, sig: FuncType) -> ir.Module:
    """`main` calls the root of the live tree and returns the checksum mod 64."""
    args, res = _args_for(sig, c(7))
    stmts: list[ir.Stmt] = [ir.Call("r" if sig.result is I32 else "r64", root, args)]
    value: ir.Expr = lg("r") if sig.result is I32 else op("i32.wrap_i64", lg("r64"))
    blocks = (ir.BasicBlock("entry", tuple(stmts), ir.Return(op("i32.and", value, c(63)))),)
    func = ir.Func("main", (), I32, (ir.Param("r", I32), ir.Param("r64", I64)), blocks)
    return ir.Module("bench.main", (ir.ExternFunc(root, sig), func))


def _args_for(sig: FuncType, acc: ir.Expr) -> tuple[tuple[ir.Expr, ...], ValType | None]:
    """Arguments for a callee of type `sig` computed from the i32 `acc`."""
    args: list[ir.Expr] = []
    for n, t in enumerate(sig.params):
        if t is I32:
            args.append(op("i32.and", acc, c(0xFFFF)) if n == 0 else op("i32.add", acc, c(n)))
        else:
            args.append(op("i64.extend_i32_u", acc))
    return tuple(args), sig.result


class _ModuleGen:
    def __init__(self, rng: random.Random, k: int, row: Sequence[FuncPlan],
                 sig_of: dict[str, FuncType]) -> None:
        self.rng = rng
        self.k = k
        self.row = row
        self.sig_of = sig_of
        self.local_names = {f.name for f in row}
        self.externs: dict[str, FuncType] = {}
        self.items: list[ir.Item] = []
        self.pre = f"m{k}"
        # Function-pointer table: slot of each indirectly called live function.
        self.slots: dict[str, int] = {}
        for f in row:
            for ch in sorted(f.indirect):
                self.slots.setdefault(ch, len(self.slots))
        self.ffi_used: set[int] = {f.ffi for f in row if f.ffi >= 0}

    def ref(self, name: str) -> None:
        if name not in self.local_names:
            self.externs[name] = self.sig_of[name]

    def build(self) -> ir.Module:
        pre, rng = self.pre, self.rng
        head: list[ir.Item] = [ir.Global("never", I32, 0, private=True),
                               ir.Global(f"{pre}_count", I32, 0)]
        data: list[ir.Item] = [ir.Data(f"{pre}_scr", (ir.ZeroItem(64),), 8)]
        any_live = any(f.live for f in self.row)
        if any_live:
            tab: list[ir.DataItem] = [ir.AddrItem(s) for s in self.slots]
            tab += [ir.AddrItem(f"{pre}_scr", 8), ir.IntItem(32, self.k), ir.IntItem(16, 7)]
            data.append(ir.Data(f"{pre}_ltab", tuple(tab), 4, readonly=True))
        dead = [f.name for f in self.row if not f.live]
        if dead:
            items: list[ir.DataItem] = [ir.AddrItem(rng.choice(dead)) for _ in range(4)]
            items += [ir.AddrItem(f"{pre}_scr", 16), ir.BytesItem(f"module {pre}\n".encode()),
                      ir.FloatItem(64, self.k / 4)]
            data.append(ir.Data(f"{pre}_dtab", tuple(items), 8, private=True))
        data.append(ir.Data(f"{pre}_name", (ir.BytesItem(f"bench.{pre}\0".encode()),), 1,
                            readonly=True))
        for i in sorted(self.ffi_used):
            name, csig, ft = FFI_SIGS[i]
            head.append(ir.CSigDecl(name, csig))
            data.append(ir.Data(f"{pre}_fargs_{i}", (ir.ZeroItem(16),), 8))
            data.append(ir.Data(f"{pre}_fav_{i}", tuple(ir.AddrItem(f"{pre}_fargs_{i}", 8 * n)
                                                         for n in range(len(ft.params))), 4))
            data.append(ir.Data(f"{pre}_fret_{i}", (ir.ZeroItem(8),), 8))
            self.items.append(self.ffi_target(i))
        for f in self.row:
            if f.info:
                data.append(ir.Data(f"{f.name}_info", (ir.AddrItem(f.name),
                                                       ir.IntItem(32, len(f.sig.params)),
                                                       ir.IntItem(32, rng.randrange(1 << 16))),
                                    4, readonly=True))
            self.items.append(self.func(f))
        externs: list[ir.Item] = [ir.ExternFunc(n, t) for n, t in sorted(self.externs.items())]
        if self.ffi_used:
            externs.append(ir.ExternFunc("ffi_call", FFI_CALL_TYPE))
        return ir.Module(f"bench.{pre}", tuple(head + externs + data + self.items))

    # ------------------------------------------------------------ functions

    def ffi_target(self, i: int) -> ir.Func:
        name, _text, ft = FFI_SIGS[i]
        params = tuple(ir.Param(f"a{n}", t) for n, t in enumerate(ft.params))
        if ft.result is I64:
            value: ir.Expr = op("i64.add", op("i64.mul", lg("a0"), c(3, I64)), c(1, I64))
        elif len(ft.params) == 2 and ft.params[1] is I64:
            value = op("i32.add", lg("a0"), op("i32.wrap_i64", lg("a1")))
        else:
            value = op("i32.sub", op("i32.mul", lg("a0"), c(5)), lg("a1"))
        return ir.Func(f"{self.pre}_ffi_{name}", params, ft.result, (),
                       (ir.BasicBlock("entry", (), ir.Return(value)),))

    def func(self, f: FuncPlan) -> ir.Func:
        rng = self.rng
        params = tuple(ir.Param(f"p{n}", t) for n, t in enumerate(f.sig.params))
        locals_ = (ir.Param("x", I32), ir.Param("acc", I32), ir.Param("r", I32),
                   ir.Param("i", I32), ir.Param("w", I64))
        if f.sig == S2:
            x: ir.Expr = op("i32.add", lg("p0"), lg("p1"))
        elif f.sig == S3:
            x = op("i32.wrap_i64", lg("p0"))
        else:
            x = lg("p0")
        blocks: list[ir.BasicBlock] = []
        entry: list[ir.Stmt] = [
            ir.Assign("x", x),
            ir.Assign("acc", op("i32.add", op("i32.mul", lg("x"), c(rng.randrange(3, 99, 2))),
                                c(rng.randrange(1 << 12)))),
        ]
        scr = ir.SymRef(f"{self.pre}_scr")
        if f.info:
            entry.append(ir.Store("i32.store", scr, ir.SymRef(f"{f.name}_info"),
                                  4 * rng.randrange(4)))
        entry += self.filler(rng.randrange(0, 3) if f.size == "small" else rng.randrange(2, 5))
        # Live: the tree children (every one exactly once).  Dead: nothing here.
        calls, last = self.child_calls(f)
        labels = _Labels()
        # The cold path: extra edges a run never takes.
        if f.cold:
            cold_l, cont_l = labels.new("cold"), labels.new("hot")
            blocks.append(ir.BasicBlock("entry", tuple(entry),
                                        ir.Branch(ir.GlobalGet("never"), cold_l, cont_l)))
            blocks.append(ir.BasicBlock(cold_l, tuple(self.cold_calls(f)), ir.Jump(cont_l)))
            cur_label, cur = cont_l, list(calls)
        else:
            cur_label, cur = "entry", entry + calls
        if f.size != "small":
            cur_label, cur = self.shape(f, blocks, labels, cur_label, cur)
        if f.ffi >= 0:
            cur += self.ffi_stmts(f.ffi)
        cur.append(ir.GlobalSet(f"{self.pre}_count",
                                op("i32.add", ir.GlobalGet(f"{self.pre}_count"), c(1))))
        blocks.append(ir.BasicBlock(cur_label, tuple(cur), self.exit(f, last)))
        return ir.Func(f.name, params, f.sig.result, locals_, tuple(blocks))

    def filler(self, n: int) -> list[ir.Stmt]:
        rng = self.rng
        out: list[ir.Stmt] = []
        scr = ir.SymRef(f"{self.pre}_scr")
        for _ in range(n):
            r = rng.random()
            if r < 0.4:
                o = rng.choice(["i32.xor", "i32.add", "i32.sub", "i32.or"])
                out.append(ir.Assign("acc", op(o, lg("acc"), op("i32.shl", lg("x"),
                                                               c(rng.randrange(1, 9))))))
            elif r < 0.7:
                out.append(ir.Store("i32.store", scr, op("i32.add", lg("acc"), lg("x")),
                                    4 * rng.randrange(8)))
            elif r < 0.85:
                out.append(ir.Assign("acc", op("i32.add", lg("acc"),
                                               ir.Load("i32.load", scr, 4 * rng.randrange(8)))))
            else:
                out.append(ir.Assign("w", op("i64.mul", op("i64.extend_i32_s", lg("acc")),
                                             c(rng.randrange(1, 1 << 20), I64))))
                out.append(ir.Assign("acc", op("i32.xor", lg("acc"),
                                               op("i32.wrap_i64",
                                                  op("i64.shr_u", lg("w"), c(7, I64))))))
        return out

    def call(self, dest: str, callee: str, arg_src: ir.Expr, indirect: bool) -> list[ir.Stmt]:
        """Call `callee` with arguments from `arg_src`; fold its result into `acc`."""
        sig = self.sig_of[callee]
        args, _res = _args_for(sig, arg_src)
        out: list[ir.Stmt] = []
        if indirect:
            target = ir.Load("i32.load", ir.SymRef(f"{self.pre}_ltab"), 4 * self.slots[callee])
            out.append(ir.CallIndirect(dest if sig.result is I32 else "w", sig, target, args))
        else:
            self.ref(callee)
            out.append(ir.Call(dest if sig.result is I32 else "w", callee, args))
        if sig.result is I64:
            out.append(ir.Assign(dest, op("i32.wrap_i64", op("i64.shr_u", lg("w"), c(3, I64)))))
        out.append(ir.Assign("acc", op("i32.add", op("i32.rotl", lg("acc"), c(5)), lg(dest))))
        return out

    def child_calls(self, f: FuncPlan) -> tuple[list[ir.Stmt], str | None]:
        kids = list(f.children)
        last = kids.pop() if f.tail and kids else None
        out: list[ir.Stmt] = []
        for ch in kids:
            out += self.call("r", ch, lg("acc"), ch in f.indirect)
        return out, last

    def cold_calls(self, f: FuncPlan) -> list[ir.Stmt]:
        out: list[ir.Stmt] = []
        for callee in f.cold:
            out += self.call("r", callee, lg("x"), False)
        if not f.live:
            dtab = ir.SymRef(f"{self.pre}_dtab")
            out.append(ir.Store("i32.store", ir.SymRef(f"{self.pre}_scr"),
                                ir.Load("i32.load", dtab, 4), 0))
        return out

    def ffi_stmts(self, i: int) -> list[ir.Stmt]:
        """Store the arguments, `ffi_call(sig, @target, @rvalue, @avalue)`, read the result."""
        name, _text, ft = FFI_SIGS[i]
        pre = self.pre
        out: list[ir.Stmt] = []
        for n, t in enumerate(ft.params):
            value: ir.Expr = op("i32.add", lg("acc"), c(n))
            if t is I64:
                value = op("i64.extend_i32_u", value)
            out.append(ir.Store(f"{t.value}.store", ir.SymRef(f"{pre}_fargs_{i}"), value, 8 * n))
        out.append(ir.Call(None, "ffi_call", (ir.SigRef(name), ir.SymRef(f"{pre}_ffi_{name}"),
                                              ir.SymRef(f"{pre}_fret_{i}"),
                                              ir.SymRef(f"{pre}_fav_{i}"))))
        got: ir.Expr = ir.Load("i32.load", ir.SymRef(f"{pre}_fret_{i}"))
        out.append(ir.Assign("acc", op("i32.xor", lg("acc"), got)))
        return out

    def shape(self, f: FuncPlan, blocks: list[ir.BasicBlock], labels: "_Labels",
              label: str, stmts: list[ir.Stmt]) -> tuple[str, list[ir.Stmt]]:
        """Medium: a diamond or a switch; large: a counted loop around a switch, then more."""
        rng = self.rng
        rounds = 1 if f.size == "medium" else rng.randrange(2, 4)
        for _ in range(rounds):
            if f.size == "large":
                label, stmts = self.loop(blocks, labels, label, stmts)
            if rng.random() < 0.5:
                label, stmts = self.diamond(blocks, labels, label, stmts)
            else:
                label, stmts = self.switch(blocks, labels, label, stmts)
        return label, stmts

    def diamond(self, blocks: list[ir.BasicBlock], labels: "_Labels", label: str,
                stmts: list[ir.Stmt]) -> tuple[str, list[ir.Stmt]]:
        rng = self.rng
        t, e, j = labels.new("then"), labels.new("else"), labels.new("join")
        cond = op("i32.lt_u", op("i32.and", lg("acc"), c(255)), c(rng.randrange(64, 192)))
        blocks.append(ir.BasicBlock(label, tuple(stmts), ir.Branch(cond, t, e)))
        blocks.append(ir.BasicBlock(t, tuple(self.filler(rng.randrange(1, 3))), ir.Jump(j)))
        blocks.append(ir.BasicBlock(e, tuple(self.filler(rng.randrange(1, 3))), ir.Jump(j)))
        return j, []

    def switch(self, blocks: list[ir.BasicBlock], labels: "_Labels", label: str,
               stmts: list[ir.Stmt]) -> tuple[str, list[ir.Stmt]]:
        rng = self.rng
        n = rng.randrange(3, 7)
        arms = [labels.new("case") for _ in range(n)]
        j = labels.new("join")
        index = op("i32.and", op("i32.shr_u", lg("acc"), c(3)), c(7))
        table = tuple(rng.choice(arms) for _ in range(8))
        blocks.append(ir.BasicBlock(label, tuple(stmts), ir.Switch(index, table, arms[0])))
        for a in arms:
            blocks.append(ir.BasicBlock(a, tuple(self.filler(rng.randrange(1, 3))), ir.Jump(j)))
        return j, []

    def loop(self, blocks: list[ir.BasicBlock], labels: "_Labels", label: str,
             stmts: list[ir.Stmt]) -> tuple[str, list[ir.Stmt]]:
        """i = 0; head: if i < 4 + (x & 7) then body else exit; body: ...; i++; jump head."""
        rng = self.rng
        head, body, out = labels.new("head"), labels.new("body"), labels.new("exit")
        blocks.append(ir.BasicBlock(label, tuple(stmts + [ir.Assign("i", c(0))]), ir.Jump(head)))
        bound = op("i32.add", c(4), op("i32.and", lg("x"), c(7)))
        blocks.append(ir.BasicBlock(head, (), ir.Branch(op("i32.lt_u", lg("i"), bound),
                                                        body, out)))
        inner, inner_stmts = self.switch(blocks, labels, body, self.filler(rng.randrange(1, 3)))
        blocks.append(ir.BasicBlock(inner, tuple(inner_stmts + [
            ir.Assign("i", op("i32.add", lg("i"), c(1)))]), ir.Jump(head)))
        return out, []

    def exit(self, f: FuncPlan, last: str | None) -> ir.Terminator:
        if last is not None:
            sig = self.sig_of[last]
            args, _ = _args_for(sig, lg("acc"))
            if f.tail == "indirect":
                target = ir.Load("i32.load", ir.SymRef(f"{self.pre}_ltab"), 4 * self.slots[last])
                return ir.TailCallIndirect(sig, target, args)
            self.ref(last)
            return ir.TailCall(last, args)
        if f.sig.result is I64:
            return ir.Return(op("i64.add", op("i64.extend_i32_u", lg("acc")), lg("w")))
        return ir.Return(lg("acc"))


class _Labels:
    def __init__(self) -> None:
        self.n = 0

    def new(self, stem: str) -> str:
        self.n += 1
        return f"{stem}{self.n}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modules", type=int, default=10)
    ap.add_argument("--funcs", type=int, default=20)
    ap.add_argument("--live", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-ffi", action="store_true", help="no dynamic FFI use")
    ap.add_argument("--ffi-every", type=int, default=50)
    ap.add_argument("-o", "--out-dir", required=True)
    args = ap.parse_args(argv)
    prog = program(Params(args.modules, args.funcs, args.live, args.seed, not args.no_ffi,
                          args.ffi_every))
    prog.write(args.out_dir)
    print(f"{len(prog.modules)} files, {prog.functions} functions, "
          f"{prog.live_functions} live, {prog.ffi_users} FFI users")
    return 0


if __name__ == "__main__":
    sys.exit(main())
