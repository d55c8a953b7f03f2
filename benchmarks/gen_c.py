"""Generate the scale benchmark's "big program" in C, compile it with clang, archive it.

    python benchmarks/gen_c.py --funcs 100000 --files 200 --live-pct 20 --seed 1 -o DIR \\
                               [--compile] [--archive] [-j 2]

writes `DIR/src/m0.c` ... `m{F-1}.c`, `DIR/src/main.c` and `DIR/manifest.json`
(the parameters, the counts and the value `main` returns); `--compile`
compiles every file with `clang --target=wasm32-wasi -O1 -c` into
`DIR/obj/` (two jobs by default; an object newer than its source, compiled
with the same flags, is kept; `--cflags` adds flags, objects then go to
`DIR/obj-<hash>/`), `--archive` makes `DIR/obj/lib.a` of every object but
`main.o` with `llvm-ar rcs`.  A file whose text did not change is not
rewritten, so regenerating keeps the objects up to date.

The program has the shape of `benchmarks/gen.py`'s IR program, spread over
fewer, larger files: N functions over F files (default 100,000 over 200),
of which a fraction (`--live-pct`, default 20) is reachable from `main`:

* a quarter of the files are wholly dead; in the others the live fraction
  varies around the average; the live functions form a call tree (each
  calls its tree children exactly once, the first live function of a file
  is a child of a function in an earlier file), so a run executes every
  live function once;
* extra call edges, among live functions (also across files) and from dead
  code to anything, sit on cold paths guarded by a global that is always 0
  (`m<k>_never`, an external definition, so clang must keep the calls);
* a size mix: 70 % small (straight-line arithmetic, loads and stores to
  the file's scratch array), 25 % medium (a diamond or a switch), 5 % large
  (counted loops around switches);
* three signatures (`u32(u32)`, `u32(u32, u32)`, `u64(u64)`); calls in tail
  position (`return f(...)`), direct or through the table;
* address-taken functions: a per-file table of function pointers
  (`m<k>_ltab`, called through), per-function info tables for 30 % of the
  functions (a pointer to the function, its arity, a tag), a dead-code table
  (`m<k>_dtab`: dead functions, a pointer into the scratch array, a string);
  data pointing into data (`m<k>_sp = &m<k>_scr[2]`).

No libc: no includes, `int main(void)`, all arithmetic on unsigned types (no
undefined behaviour).  Link with `wasm-ld --no-entry --export=main` (or
`irld link --no-entry --export main`); clang gives `main(void)` a
`main(argc, argv)` wrapper, so call the exported `main` with two zeros.

`main` returns the low 32 bits of the live tree's root's result, which
depends on every live function.  The generator computes that value with a
small interpreter of the statements it prints (`Program.checksum`, also in
`manifest.json`), so a run can be checked against it.  The output depends
only on the parameters and the seed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

M32 = 0xFFFF_FFFF
M64 = 0xFFFF_FFFF_FFFF_FFFF

S1, S2, S3 = "s1", "s2", "s3"                 # u32(u32), u32(u32, u32), u64(u64)
SIGS = (S1, S1, S1, S1, S2, S3)
SCR_WORDS = 16

CLANG_FLAGS = ("--target=wasm32-wasi", "-O1", "-c", "-nostdlib", "-ffreestanding")
GEN_VERSION = 1      # bump when the generated text changes for the same parameters


@dataclass(frozen=True)
class Params:
    funcs: int = 100_000        # library functions in all
    files: int = 200
    live: float = 0.2           # fraction reachable from main
    seed: int = 1

    def key(self) -> str:
        return f"n{self.funcs}-f{self.files}-l{self.live:g}-s{self.seed}"

    def per_file(self, k: int) -> int:
        q, r = divmod(self.funcs, self.files)
        return q + (1 if k < r else 0)


@dataclass
class FuncPlan:
    name: str
    file: int
    sig: str
    live: bool
    size: str                                       # small / medium / large
    info: bool
    children: list[str] = field(default_factory=list)
    cold: list[str] = field(default_factory=list)
    tail: str = ""                                  # "", "direct", "indirect"
    indirect: set[str] = field(default_factory=set)


# A function body is a list of statements, tuples that are printed as C and
# interpreted by `_Eval`:
#   ("op", o, s)          acc = acc o (x << s)            o in ^ + - |
#   ("st", j)             scr[j] = acc + x
#   ("ld", j)             acc += scr[j]
#   ("ldp", j)            acc += sp[j]                    (sp = &scr[2])
#   ("mul", K)            w = (u64)(i64)(i32)acc * K; acc ^= (u32)(w >> 7)
#   ("info", name, tag)   cur = &name_info; acc += cur->tag
#   ("call", f, slot, src)  r = f(args from src) [through ltab[slot]];
#                         acc = rotl(acc, 5) + r
#   ("if", K, A, B)       if ((acc & 255) < K) A else B
#   ("switch", tab, arms) switch ((acc >> 3) & 7) { case v: arms[tab[v]] }
#   ("loop", body)        for (i = 0; i < 4 + (x & 7); i++) body
#   ("cold", body)        if (never) body                 (never taken)
#   ("dtab",)             scr[0] = (u32)dtab.fns[1]; scr[1] = *dtab.scr  (dead code)
#   ("count",)            count += 1
# and the exit: ("ret",) or ("tail", f, slot).
Stmt = tuple[Any, ...]


@dataclass
class FuncBody:
    plan: FuncPlan
    acc_mul: int
    acc_add: int
    stmts: list[Stmt]
    exit: Stmt


@dataclass
class FileGen:
    k: int
    funcs: list[FuncBody]
    slots: dict[str, int]            # ltab slot of each indirectly called function
    tags: dict[str, int]             # info tag of each function with an info table
    dead: list[str]                  # the dead functions dtab points at


@dataclass
class Program:
    params: Params
    sources: dict[str, str]          # file stem -> C text ("main", "m0", ...)
    functions: int
    live_functions: int
    address_taken: int               # functions in an ltab, dtab or info table
    cross_file_calls: int            # call sites naming a function of another file
    checksum: int                    # what main returns, as an unsigned 32-bit value
    depth: int                       # of the live call tree
    checksum_s: float = 0.0          # time spent computing the checksum

    def manifest(self) -> dict[str, Any]:
        return {"generator": GEN_VERSION, "params": self.params.key(),
                "funcs": self.params.funcs, "files": self.params.files,
                "live": self.params.live, "seed": self.params.seed,
                "functions": self.functions, "live_functions": self.live_functions,
                "address_taken": self.address_taken, "cross_file_calls": self.cross_file_calls,
                "checksum": self.checksum, "checksum_i32": _signed32(self.checksum),
                "tree_depth": self.depth,
                "source_bytes": sum(len(t) for t in self.sources.values())}

    def write(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write `src/*.c` and `manifest.json` under `directory`; unchanged files are not
        rewritten (their objects stay up to date).  Returns the source paths."""
        root = Path(directory)
        src = root / "src"
        src.mkdir(parents=True, exist_ok=True)
        paths = []
        for stem, text in self.sources.items():
            path = src / f"{stem}.c"
            data = text.encode()
            if not (path.exists() and path.read_bytes() == data):
                path.write_bytes(data)
            paths.append(path)
        keep = {p.name for p in paths}
        for old in src.glob("*.c"):
            if old.name not in keep:
                old.unlink()
        (root / "manifest.json").write_text(json.dumps(self.manifest(), indent=1) + "\n")
        return paths


def _signed32(v: int) -> int:
    return v - (1 << 32) if v & 0x8000_0000 else v


# ---------------------------------------------------------------- planning


def plan(p: Params, rng: random.Random) -> list[list[FuncPlan]]:
    """Which functions exist and are live, the live tree, the cold edges (as gen.py)."""
    plans: list[list[FuncPlan]] = []
    sig_of: dict[str, str] = {}
    dead_files = {k for k in range(1, p.files) if rng.random() < 0.25}
    live_files = p.files - len(dead_files)
    per_file = min(1.0, p.live * p.files / max(live_files, 1))
    for k in range(p.files):
        n = p.per_file(k)
        frac = 0.0 if k in dead_files else min(1.0, per_file * rng.uniform(0.6, 1.4))
        nlive = max(1, round(frac * n)) if k not in dead_files else 0
        live_idx = set(rng.sample(range(n), min(nlive, n)))
        row = []
        for i in range(n):
            r = rng.random()
            size = "small" if r < 0.70 else "medium" if r < 0.95 else "large"
            name = f"m{k}_f{i}"
            sig = rng.choice(SIGS)
            sig_of[name] = sig
            row.append(FuncPlan(name, k, sig, i in live_idx, size, info=rng.random() < 0.3))
        plans.append(row)
    live_order = [f for row in plans for f in row if f.live]
    if not live_order:
        raise ValueError("no live function: raise --funcs or --live-pct")
    by_file: dict[int, list[FuncPlan]] = {}
    for f in live_order:
        by_file.setdefault(f.file, []).append(f)
    roots: list[FuncPlan] = []
    for k in sorted(by_file):
        fs = by_file[k]
        if roots:
            parent = rng.choice(by_file[rng.choice(roots).file])
            parent.children.append(fs[0].name)
        roots.append(fs[0])
        for j in range(1, len(fs)):
            rng.choice(fs[max(0, j - 8):j]).children.append(fs[j].name)
    all_live = [f.name for f in live_order]
    for row in plans:
        pool = [g.name for g in row]
        for f in row:
            if f.live:
                if rng.random() < 0.3:
                    f.cold.append(rng.choice(all_live))
                    if f.size != "small":
                        f.cold.append(rng.choice(all_live))
                last = f.children[-1] if f.children else None
                if last is not None and _result(sig_of[last]) == _result(f.sig):
                    r = rng.random()
                    if r < 0.3:
                        f.tail = "direct"
                    elif r < 0.4 and sig_of[last] == S1 and f.sig != S3:
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
    return plans


def _result(sig: str) -> str:
    return "u64" if sig == S3 else "u32"


# ---------------------------------------------------------------- bodies


class _BodyGen:
    def __init__(self, rng: random.Random, k: int, row: list[FuncPlan]) -> None:
        self.rng = rng
        self.k = k
        self.row = row
        self.slots: dict[str, int] = {}
        for f in row:
            for ch in sorted(f.indirect):
                self.slots.setdefault(ch, len(self.slots))

    def build(self) -> FileGen:
        rng = self.rng
        tags: dict[str, int] = {}
        dead = [f.name for f in self.row if not f.live]
        dtab = [rng.choice(dead) for _ in range(4)] if dead else []
        bodies = []
        for f in self.row:
            if f.info:
                tags[f.name] = rng.randrange(1 << 16)
            bodies.append(self.func(f, tags))
        return FileGen(self.k, bodies, self.slots, tags, dtab)

    def func(self, f: FuncPlan, tags: dict[str, int]) -> FuncBody:
        rng = self.rng
        acc_mul, acc_add = rng.randrange(3, 99, 2), rng.randrange(1 << 12)
        stmts: list[Stmt] = []
        if f.info:
            stmts.append(("info", f.name, tags[f.name]))
        stmts += self.filler(rng.randrange(0, 3) if f.size == "small" else rng.randrange(2, 5))
        if f.cold:
            cold: list[Stmt] = [("call", c, None, "x") for c in f.cold]
            if not f.live:
                cold.append(("dtab",))
            stmts.append(("cold", cold))
        kids = list(f.children)
        last = kids.pop() if f.tail and kids else None
        for ch in kids:
            stmts.append(("call", ch, self.slots[ch] if ch in f.indirect else None, "acc"))
        if f.size != "small":
            rounds = 1 if f.size == "medium" else rng.randrange(2, 4)
            for _ in range(rounds):
                if f.size == "large":
                    body = self.filler(rng.randrange(1, 3)) + [self.switch()]
                    stmts.append(("loop", body))
                stmts.append(self.diamond() if rng.random() < 0.5 else self.switch())
        stmts.append(("count",))
        exit_: Stmt = ("ret",)
        if last is not None:
            exit_ = ("tail", last, self.slots[last] if f.tail == "indirect" else None)
        return FuncBody(f, acc_mul, acc_add, stmts, exit_)

    def filler(self, n: int) -> list[Stmt]:
        rng = self.rng
        out: list[Stmt] = []
        for _ in range(n):
            r = rng.random()
            if r < 0.4:
                out.append(("op", rng.choice("^+-|"), rng.randrange(1, 9)))
            elif r < 0.65:
                out.append(("st", rng.randrange(8)))
            elif r < 0.78:
                out.append(("ld", rng.randrange(8)))
            elif r < 0.85:
                out.append(("ldp", rng.randrange(6)))
            else:
                out.append(("mul", rng.randrange(1, 1 << 20)))
        return out

    def diamond(self) -> Stmt:
        rng = self.rng
        return ("if", rng.randrange(64, 192), self.filler(rng.randrange(1, 3)),
                self.filler(rng.randrange(1, 3)))

    def switch(self) -> Stmt:
        rng = self.rng
        n = rng.randrange(3, 7)
        arms = [self.filler(rng.randrange(1, 3)) for _ in range(n)]
        table = tuple(rng.randrange(n) for _ in range(8))
        return ("switch", table, arms)


# ---------------------------------------------------------------- printing C

PRELUDE = """\
typedef unsigned u32;
typedef unsigned long long u64;
typedef u32 (*fn1)(u32);
typedef void (*anyfn)(void);
struct info { anyfn fn; u32 arity; u32 tag; };
struct dtab { anyfn fns[4]; u32 *scr; const char *str; };
"""

_PARAMS = {S1: "u32 p0", S2: "u32 p0, u32 p1", S3: "u64 p0"}
_X = {S1: "p0", S2: "p0 + p1", S3: "(u32)p0"}
_ARITY = {S1: 1, S2: 2, S3: 1}


def _proto(name: str, sig: str) -> str:
    return f"{_result(sig)} {name}({_PARAMS[sig]})"


def _args(sig: str, src: str) -> str:
    if sig == S1:
        return f"{src} & 0xFFFFu"
    if sig == S2:
        return f"{src} & 0xFFFFu, {src} + 1u"
    return f"(u64){src}"


class _CPrinter:
    def __init__(self, g: FileGen, sig_of: dict[str, str]) -> None:
        self.g = g
        self.sig_of = sig_of
        self.pre = f"m{g.k}"
        self.out: list[str] = []

    def text(self) -> str:
        g, pre, sig_of = self.g, self.pre, self.sig_of
        local = [b.plan.name for b in g.funcs]
        refs: set[str] = set()
        for b in g.funcs:
            _collect_callees(b.stmts, refs)
            if b.exit[0] == "tail":
                refs.add(b.exit[1])
        refs.update(g.slots)
        refs.update(g.dead)
        o = self.out
        o.append(f"/* {pre}.c: generated by benchmarks/gen_c.py; do not edit. */\n")
        o.append(PRELUDE)
        o.append(f"u32 {pre}_never;            /* always 0: guards the cold paths */\n"
                 f"u32 {pre}_count;\n"
                 f"u32 {pre}_scr[{SCR_WORDS}];\n"
                 f"u32 *{pre}_sp = &{pre}_scr[2];\n"
                 f"const struct info *{pre}_cur;\n")
        localset = set(local)
        for name in sorted(refs - localset, key=_natural):
            o.append(f"{_proto(name, sig_of[name])};\n")
        for name in local:
            o.append(f"{_proto(name, sig_of[name])};\n")
        for b in g.funcs:
            f = b.plan
            if f.info:
                o.append(f"const struct info {f.name}_info = {{ (anyfn){f.name}, "
                         f"{_ARITY[f.sig]}u, {g.tags[f.name]}u }};\n")
        if g.slots:
            o.append(f"fn1 {pre}_ltab[{len(g.slots)}] = {{ "
                     + ", ".join(g.slots) + " };\n")
        if g.dead:
            o.append(f"static const char {pre}_str[] = \"module {pre}\\n\";\n"
                     f"struct dtab {pre}_dtab = {{ {{ "
                     + ", ".join(f"(anyfn){d}" for d in g.dead)
                     + f" }}, &{pre}_scr[4], {pre}_str }};\n")
        o.append(f"const char {pre}_name[] = \"bench.{pre}\";\n")
        for b in g.funcs:
            self.func(b)
        return "".join(o)

    def func(self, b: FuncBody) -> None:
        f, o = b.plan, self.out
        o.append(f"\n{_proto(f.name, f.sig)} {{\n")
        o.append(f"  u32 x = {_X[f.sig]}, acc = x * {b.acc_mul}u + {b.acc_add}u, r = 0, i = 0;\n"
                 "  u64 w = 0;\n  (void)r; (void)i;\n")
        self.stmts(b.stmts, "  ")
        ex = b.exit
        if ex[0] == "tail":
            callee, slot = ex[1], ex[2]
            target = callee if slot is None else f"{self.pre}_ltab[{slot}]"
            o.append(f"  return {target}({_args(self.sig_of[callee], 'acc')});\n")
        elif f.sig == S3:
            o.append("  return (u64)acc + w;\n")
        else:
            o.append("  return acc;\n")
        o.append("}\n")

    def stmts(self, stmts: list[Stmt], ind: str) -> None:
        pre, o = self.pre, self.out
        for s in stmts:
            kind = s[0]
            if kind == "op":
                o.append(f"{ind}acc {s[1]}= x << {s[2]};\n")
            elif kind == "st":
                o.append(f"{ind}{pre}_scr[{s[1]}] = acc + x;\n")
            elif kind == "ld":
                o.append(f"{ind}acc += {pre}_scr[{s[1]}];\n")
            elif kind == "ldp":
                o.append(f"{ind}acc += {pre}_sp[{s[1]}];\n")
            elif kind == "mul":
                o.append(f"{ind}w = (u64)(long long)(int)acc * {s[1]}ull; "
                         "acc ^= (u32)(w >> 7);\n")
            elif kind == "info":
                o.append(f"{ind}{pre}_cur = &{s[1]}_info; acc += {pre}_cur->tag;\n")
            elif kind == "call":
                callee, slot, src = s[1], s[2], s[3]
                sig = self.sig_of[callee]
                target = callee if slot is None else f"{pre}_ltab[{slot}]"
                call = f"{target}({_args(sig, src)})"
                if sig == S3:
                    o.append(f"{ind}w = {call}; r = (u32)(w >> 3);\n")
                else:
                    o.append(f"{ind}r = {call};\n")
                o.append(f"{ind}acc = ((acc << 5) | (acc >> 27)) + r;\n")
            elif kind == "if":
                o.append(f"{ind}if ((acc & 255u) < {s[1]}u) {{\n")
                self.stmts(s[2], ind + "  ")
                o.append(f"{ind}}} else {{\n")
                self.stmts(s[3], ind + "  ")
                o.append(f"{ind}}}\n")
            elif kind == "switch":
                table, arms = s[1], s[2]
                o.append(f"{ind}switch ((acc >> 3) & 7u) {{\n")
                for a, arm in enumerate(arms):
                    cases = [v for v in range(8) if table[v] == a]
                    if not cases:
                        continue
                    o.append(ind + " ".join(f"case {v}:" for v in cases) + "\n")
                    self.stmts(arm, ind + "  ")
                    o.append(f"{ind}  break;\n")
                o.append(f"{ind}}}\n")
            elif kind == "loop":
                o.append(f"{ind}for (i = 0; i < 4u + (x & 7u); i++) {{\n")
                self.stmts(s[1], ind + "  ")
                o.append(f"{ind}}}\n")
            elif kind == "cold":
                o.append(f"{ind}if ({pre}_never) {{\n")
                self.stmts(s[1], ind + "  ")
                o.append(f"{ind}}}\n")
            elif kind == "dtab":
                o.append(f"{ind}{pre}_scr[0] = (u32)(unsigned long){pre}_dtab.fns[1]; "
                         f"{pre}_scr[1] = *{pre}_dtab.scr;\n")
            elif kind == "count":
                o.append(f"{ind}{pre}_count += 1;\n")
            else:
                raise AssertionError(kind)


def _collect_callees(stmts: list[Stmt], out: set[str]) -> None:
    for s in stmts:
        kind = s[0]
        if kind == "call":
            out.add(s[1])
        elif kind == "if":
            _collect_callees(s[2], out)
            _collect_callees(s[3], out)
        elif kind == "switch":
            for arm in s[2]:
                _collect_callees(arm, out)
        elif kind in ("loop", "cold"):
            _collect_callees(s[1], out)


def _natural(name: str) -> tuple[int, int]:
    a, b = name[1:].split("_f")
    return int(a), int(b)


def main_c(root: str, sig: str) -> str:
    call = f"{root}({_args(sig, '7u')})"
    value = f"(u32){call}" if sig == S3 else call
    return ("/* main.c: generated by benchmarks/gen_c.py; do not edit. */\n"
            "typedef unsigned u32;\ntypedef unsigned long long u64;\n"
            f"{_proto(root, sig)};\n\n"
            "int main(void) {\n"
            f"  return (int){value};\n"
            "}\n")


# ---------------------------------------------------------------- the checksum


class _Eval:
    """Runs the live functions as the C code would (unsigned 32/64-bit arithmetic)."""

    def __init__(self, files: list[FileGen], sig_of: dict[str, str]) -> None:
        self.sig_of = sig_of
        self.body: dict[str, FuncBody] = {}
        self.scr: dict[str, list[int]] = {}
        self.ltab: dict[str, list[str]] = {}
        for g in files:
            scr = [0] * SCR_WORDS
            tab = list(g.slots)
            for b in g.funcs:
                self.body[b.plan.name] = b
                self.scr[b.plan.name] = scr
                self.ltab[b.plan.name] = tab
        self.depth = 0
        self.max_depth = 0

    def call(self, name: str, args: tuple[int, ...]) -> int:
        b = self.body[name]
        sig = b.plan.sig
        if sig == S2:
            x = (args[0] + args[1]) & M32
        else:
            x = args[0] & M32
        st = {"x": x, "acc": (x * b.acc_mul + b.acc_add) & M32, "w": 0}
        self.depth += 1
        self.max_depth = max(self.max_depth, self.depth)
        scr, tab = self.scr[name], self.ltab[name]
        self.run(b.stmts, st, scr, tab)
        ex = b.exit
        if ex[0] == "tail":
            callee = ex[1] if ex[2] is None else tab[ex[2]]
            res = self.call(callee, self.args(self.sig_of[callee], st["acc"]))
        elif sig == S3:
            res = (st["acc"] + st["w"]) & M64
        else:
            res = st["acc"]
        self.depth -= 1
        return res

    @staticmethod
    def args(sig: str, v: int) -> tuple[int, ...]:
        if sig == S1:
            return (v & 0xFFFF,)
        if sig == S2:
            return (v & 0xFFFF, (v + 1) & M32)
        return (v,)

    def run(self, stmts: list[Stmt], st: dict[str, int], scr: list[int], tab: list[str]) -> None:
        for s in stmts:
            kind = s[0]
            acc, x = st["acc"], st["x"]
            if kind == "op":
                y = (x << s[2]) & M32
                o = s[1]
                acc = (acc ^ y if o == "^" else acc + y if o == "+" else
                       acc - y if o == "-" else acc | y) & M32
            elif kind == "st":
                scr[s[1]] = (acc + x) & M32
            elif kind == "ld":
                acc = (acc + scr[s[1]]) & M32
            elif kind == "ldp":
                acc = (acc + scr[2 + s[1]]) & M32
            elif kind == "mul":
                sx = acc - (1 << 32) if acc & 0x8000_0000 else acc
                w = (sx * s[1]) & M64
                st["w"] = w
                acc ^= (w >> 7) & M32
            elif kind == "info":
                acc = (acc + s[2]) & M32
            elif kind == "call":
                callee = s[1] if s[2] is None else tab[s[2]]
                sig = self.sig_of[callee]
                res = self.call(callee, self.args(sig, acc if s[3] == "acc" else x))
                if sig == S3:
                    st["w"] = res
                    r = (res >> 3) & M32
                else:
                    r = res
                acc = ((((acc << 5) | (acc >> 27)) & M32) + r) & M32
            elif kind == "if":
                st["acc"] = acc
                self.run(s[2] if (acc & 255) < s[1] else s[3], st, scr, tab)
                continue
            elif kind == "switch":
                st["acc"] = acc
                self.run(s[2][s[1][(acc >> 3) & 7]], st, scr, tab)
                continue
            elif kind == "loop":
                st["acc"] = acc
                for _ in range(4 + (x & 7)):
                    self.run(s[1], st, scr, tab)
                continue
            # "cold" (never taken), "dtab" (only inside cold), "count": no effect on acc
            st["acc"] = acc


# ---------------------------------------------------------------- the program


def program(p: Params, checksum: bool = True) -> Program:
    """Generate the whole program (see the module docstring)."""
    if p.files < 1 or p.funcs < p.files:
        raise ValueError("need at least one function per file")
    rng = random.Random(p.seed)
    plans = plan(p, rng)
    sig_of = {f.name: f.sig for row in plans for f in row}
    files = [_BodyGen(random.Random(p.seed * 1_000_003 + k), k, row).build()
             for k, row in enumerate(plans)]
    sources: dict[str, str] = {}
    taken: set[str] = set()
    cross = 0
    for g in files:
        sources[f"m{g.k}"] = _CPrinter(g, sig_of).text()
        taken.update(g.slots, g.dead, g.tags)
        for b in g.funcs:
            callees: set[str] = set()
            _collect_callees(b.stmts, callees)
            if b.exit[0] == "tail":
                callees.add(b.exit[1])
            cross += sum(1 for c in callees if not c.startswith(f"m{g.k}_"))
    live_order = [f for row in plans for f in row if f.live]
    root = live_order[0]
    sources["main"] = main_c(root.name, root.sig)
    value, depth = 0, 0
    t = time.perf_counter()
    if checksum:
        ev = _Eval(files, sig_of)
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 200_000))
        try:
            res = ev.call(root.name, _Eval.args(root.sig, 7))
        finally:
            sys.setrecursionlimit(limit)
        value, depth = res & M32, ev.max_depth
    return Program(p, sources, p.funcs, len(live_order), len(taken), cross, value, depth,
                   time.perf_counter() - t)


# ---------------------------------------------------------------- compiling


def _clang_stamp(clang: str, flags: tuple[str, ...]) -> str:
    ver = subprocess.run([clang, "--version"], capture_output=True, text=True).stdout
    return hashlib.sha256((ver + "\0".join(flags)).encode()).hexdigest()[:16]


def obj_dir_name(extra: tuple[str, ...] = ()) -> str:
    """`obj` for the default flags; `obj-<hash>` with extra clang flags."""
    if not extra:
        return "obj"
    return "obj-" + hashlib.sha256("\0".join(extra).encode()).hexdigest()[:8]


def compile_dir(root: str | os.PathLike[str], *, jobs: int = 2, clang: str = "clang",
                extra: tuple[str, ...] = (), log: bool = False) -> dict[str, Any]:
    """Compile `root/src/*.c` into `root/<obj_dir_name(extra)>/*.o` with `jobs` parallel
    clang processes (`CLANG_FLAGS` + `extra`), skipping objects newer than their
    sources (compiled with the same clang and flags).
    Returns {"compiled": n, "up_to_date": m, "seconds": wall, "obj": dir}."""
    root = Path(root)
    flags = CLANG_FLAGS + tuple(extra)
    src, obj = root / "src", root / obj_dir_name(tuple(extra))
    obj.mkdir(parents=True, exist_ok=True)
    stamp_file = obj / ".flags"
    stamp = _clang_stamp(clang, flags)
    if not (stamp_file.exists() and stamp_file.read_text() == stamp):
        for old in obj.glob("*.o"):
            old.unlink()
        stamp_file.write_text(stamp)
    sources = sorted(src.glob("*.c"), key=lambda s: _stem_key(s.stem))
    todo = []
    for c in sources:
        o = obj / f"{c.stem}.o"
        if not (o.exists() and o.stat().st_mtime_ns >= c.stat().st_mtime_ns):
            todo.append((c, o))
    keep = {f"{c.stem}.o" for c in sources}
    for old in obj.glob("*.o"):
        if old.name not in keep:
            old.unlink()

    def one(pair: tuple[Path, Path]) -> None:
        c, o = pair
        tmp = o.with_suffix(".o.tmp")
        res = subprocess.run([clang, *flags, str(c), "-o", str(tmp)], capture_output=True,
                             text=True)
        if res.returncode != 0:
            raise RuntimeError(f"clang failed on {c}:\n{res.stderr}")
        os.replace(tmp, o)

    t = time.perf_counter()
    if todo:
        if log:
            print(f"gen_c: compiling {len(todo)} files with {jobs} jobs ...", file=sys.stderr)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
            for fut in [ex.submit(one, pair) for pair in todo]:
                fut.result()
    return {"compiled": len(todo), "up_to_date": len(sources) - len(todo),
            "seconds": time.perf_counter() - t, "obj": str(obj)}


def archive(root: str | os.PathLike[str], *, ar: str = "llvm-ar",
            extra: tuple[str, ...] = ()) -> Path:
    """`root/<obj dir>/lib.a`: every object but main.o, in file order (`llvm-ar rcs`);
    rebuilt when missing or older than a member."""
    obj = Path(root) / obj_dir_name(tuple(extra))
    members = sorted((o for o in obj.glob("*.o") if o.stem != "main"),
                     key=lambda o: _stem_key(o.stem))
    lib = obj / "lib.a"
    if lib.exists():
        newest = max((m.stat().st_mtime_ns for m in members), default=0)
        if lib.stat().st_mtime_ns >= newest and _ar_members(ar, lib) == [m.name for m in members]:
            return lib
        lib.unlink()
    tmp = obj / "lib.a.tmp"
    if tmp.exists():
        tmp.unlink()
    subprocess.run([ar, "rcs", str(tmp), *map(str, members)], check=True)
    os.replace(tmp, lib)
    return lib


def _ar_members(ar: str, lib: Path) -> list[str]:
    out = subprocess.run([ar, "t", str(lib)], capture_output=True, text=True)
    return out.stdout.split() if out.returncode == 0 else []


def _stem_key(stem: str) -> tuple[int, str]:
    return (int(stem[1:]) if stem[1:].isdigit() else -1, stem)


def generator_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def tools_available(*names: str) -> bool:
    return all(shutil.which(n) for n in names)


# ---------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--funcs", type=int, default=100_000, help="functions in all")
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--live-pct", type=float, default=20.0,
                    help="percentage of the functions reachable from main")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--out-dir", required=True)
    ap.add_argument("--compile", action="store_true", help="also compile into OUT/obj")
    ap.add_argument("--archive", action="store_true", help="also make OUT/lib.a (implies --compile)")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--cflags", default="",
                    help="extra clang flags, e.g. -fno-inline (objects in OUT/obj-<hash>)")
    ap.add_argument("--no-checksum", action="store_true",
                    help="do not compute main's result in Python")
    args = ap.parse_args(argv)
    p = Params(args.funcs, args.files, args.live_pct / 100, args.seed)
    extra = tuple(args.cflags.split())
    t = time.perf_counter()
    prog = program(p, checksum=not args.no_checksum)
    prog.write(args.out_dir)
    m = prog.manifest()
    print(f"{len(prog.sources)} files, {m['source_bytes'] / 1e6:.1f} MB, {prog.functions} "
          f"functions, {prog.live_functions} live, {prog.address_taken} address-taken, "
          f"{prog.cross_file_calls} cross-file call sites; main returns {prog.checksum} "
          f"({time.perf_counter() - t:.1f} s)")
    if args.compile or args.archive:
        r = compile_dir(args.out_dir, jobs=args.jobs, extra=extra, log=True)
        print(f"compiled {r['compiled']} files ({r['up_to_date']} up to date) "
              f"in {r['seconds']:.1f} s")
    if args.archive:
        print(f"archive: {archive(args.out_dir, extra=extra)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
