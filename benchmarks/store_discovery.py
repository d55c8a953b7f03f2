"""Benchmark: opening a big archive, discovery at scale, and an end-to-end link (discovery only).

    .venv/bin/python benchmarks/store_discovery.py [--modules 1000] [--funcs 100] [--repeat 5]

Builds once into build/bench/store_discovery/ (rebuilt when the sizes change):

* big.a: MODULES members x FUNCS functions.  In each module f_i calls
  f_{i+1} and f_{(7i+3) mod FUNCS}, and takes the address of one data item;
  the last function calls the next module's f_0, so from lib0_f0 everything
  is reachable (one long chain plus local edges);
* all.o: `main` calling lib0_f0 (every library function live);
* one.o: `main` calling one library function, a leaf (`lib500_leaf`): a
  1-function program that pulls one member; alone.o: `main` calling nothing;
* empty.a: an archive with no members.

Prints, in seconds (best of --repeat, in-process unless noted):

* opening big.a (header + symbol index);
* discovery with every library function live (101,001 entities): cold
  (the 1,000 members' indices are read during the search) and warm (a
  second search on the same store), with the cyclic GC paused as the link
  driver runs it, and with it enabled;
* `irld link` end to end in a fresh process: one.o against big.a,
  alone.o against big.a, alone.o against empty.a.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linker.compile import compile_module  # noqa: E402
from linker.marklive import discover  # noqa: E402
from linker.gcpause import no_cyclic_gc  # noqa: E402
from linker.ir.model import (AddrItem, Assign, BasicBlock, Call, Data, ExternFunc, Func,  # noqa: E402
                             IntItem, Item, Module, Param, Return, SymRef)
from linker.ir.types import FuncType, ValType  # noqa: E402
from linker.store.archive import Archive, archive_bytes  # noqa: E402
from linker.store.store import Store  # noqa: E402

CACHE = ROOT / "build" / "bench" / "store_discovery"


def lib_module(m: int, n_modules: int, n_funcs: int) -> bytes:
    name = f"lib{m}"
    items: list[Item] = [Data(f"{name}_data", (IntItem(32, m), AddrItem(f"{name}_f0")))]
    for i in range(n_funcs):
        callees = [f"{name}_f{i + 1}" if i + 1 < n_funcs else f"lib{(m + 1) % n_modules}_f0",
                   f"{name}_f{(7 * i + 3) % n_funcs}"]
        stmts = [Call(None, c, ()) for c in callees] + [Assign("p", SymRef(f"{name}_data"))]
        block = BasicBlock("entry", tuple(stmts), Return())
        items.append(Func(f"{name}_f{i}", (), None, (Param("p", ValType.I32),), (block,)))
    items.append(Func(f"{name}_leaf", (), None, (), (BasicBlock("entry", (), Return()),)))
    if n_modules > 1:
        items.append(ExternFunc(f"lib{(m + 1) % n_modules}_f0", FuncType()))
    return compile_module(Module(name, tuple(items)))


def main_module(name: str, callees: list[str]) -> bytes:
    block = BasicBlock("entry", tuple(Call(None, c, ()) for c in callees), Return())
    items: list[Item] = [Func("main", (), None, (), (block,))]
    items += [ExternFunc(c, FuncType()) for c in callees]
    return compile_module(Module(name, tuple(items)))


def build(n_modules: int, n_funcs: int) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    stamp = CACHE / "sizes.json"
    sizes = {"modules": n_modules, "funcs": n_funcs, "layout": 2}
    if stamp.exists() and json.loads(stamp.read_text()) == sizes:
        return
    start = time.perf_counter()
    members = [(f"lib{m}.o", lib_module(m, n_modules, n_funcs)) for m in range(n_modules)]
    (CACHE / "big.a").write_bytes(archive_bytes(members))
    (CACHE / "empty.a").write_bytes(archive_bytes([]))
    (CACHE / "all.o").write_bytes(main_module("all", ["lib0_f0"]))
    (CACHE / "one.o").write_bytes(main_module("one", [f"lib{n_modules // 2}_leaf"]))
    (CACHE / "alone.o").write_bytes(main_module("alone", []))
    stamp.write_text(json.dumps(sizes))
    print(f"built {n_modules * n_funcs} functions in {time.perf_counter() - start:.1f} s "
          f"({(CACHE / 'big.a').stat().st_size / 1e6:.1f} MB archive)")


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def fresh_link(args: list[str], repeat: int) -> tuple[float, float]:
    irld = Path(sys.executable).parent / "irld"
    cmd = [str(irld)] if irld.exists() else [sys.executable, "-m", "linker.cli.main"]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd + ["link", *args], check=True, cwd=CACHE)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modules", type=int, default=1000)
    ap.add_argument("--funcs", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    build(a.modules, a.funcs)
    big = str(CACHE / "big.a")
    total = a.modules * a.funcs
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")

    t_open = best(lambda: Archive.open(big), a.repeat)
    print(f"open {total}-function archive:              {t_open:.3f} s")

    for policy, paused in [("gc paused, as the driver runs", True), ("gc enabled", False)]:
        cold, warm = [], []
        for _ in range(a.repeat):
            store = Store.open([str(CACHE / "all.o"), big])
            with no_cyclic_gc() if paused else contextlib.nullcontext():
                start = time.perf_counter()
                ls = discover(store)
                cold.append(time.perf_counter() - start)
                start = time.perf_counter()
                discover(store)
                warm.append(time.perf_counter() - start)
            assert len(ls.live) == total + a.modules + 1 and store.stats.bodies_decoded == 0
            del store, ls
        print(f"discover {total + a.modules + 1} live entities ({policy}): "
              f"cold {min(cold):.3f} s (reads {a.modules} member indices), "
              f"warm {min(warm):.3f} s (all loaded)")

    for label, inputs in [("1-function program vs big.a", ["one.o", "big.a"]),
                          ("main alone vs big.a", ["alone.o", "big.a"]),
                          ("main alone vs empty.a", ["alone.o", "empty.a"])]:
        lo, med = fresh_link(inputs, a.repeat)
        print(f"irld link {label:32s} {lo:.3f} s (median {med:.3f} s, fresh process)")


if __name__ == "__main__":
    main()
