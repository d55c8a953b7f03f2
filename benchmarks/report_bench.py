"""Benchmark: building the link report, writing its JSON, and the analyses, at scale.

    .venv/bin/python benchmarks/report_bench.py [--modules 200] [--funcs 100] [--repeat 3]

Generates MODULES modules of FUNCS small functions each (an archive, and a
`main` object calling the first function), so that every function is live
(20,000 live functions by default): in each module f_i calls f_{i+1} and
f_{(7i+3) mod FUNCS}, some functions panic (so the panic runtime and pool
exist), each module has a data table holding the addresses of two of its
functions, and the last function of a module calls the next module's f_0.
The program is linked once (not timed here; see docs/benchmarks.md), then
this prints, best of --repeat, in seconds:

* report build (`build_report` from the `LinkResult`);
* JSON serialisation + atomic write of the report, and its size;
* reading the report back (`Report.load`);
* the live graph and the dominator tree (Cooper-Harvey-Kennedy);
* `why` of the deepest function; `top -n 20`; the map text.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linker.compile import compile_module, write_file_atomic  # noqa: E402
from linker.driver import LinkOptions, link  # noqa: E402
from linker.gcpause import no_cyclic_gc  # noqa: E402
from linker.ir.model import (AddrItem, BasicBlock, Branch, Call, Data, ExternFunc, Func,  # noqa: E402
                             Item, LocalGet, Module, Panic, Param, Return)
from linker.ir.types import FuncType, ValType  # noqa: E402
from linker.report import Report, build_report, map_text  # noqa: E402
from linker.report.analyses import top, why  # noqa: E402
from linker.report.graph import dominator_tree, live_graph  # noqa: E402
from linker.store.archive import archive_bytes  # noqa: E402


def gen_module(m: int, n_modules: int, n_funcs: int) -> bytes:
    name = f"lib{m}"
    items: list[Item] = [Data(f"{name}_table", (AddrItem(f"{name}_f1"), AddrItem(f"{name}_f2")))]
    for i in range(n_funcs):
        callees = [f"{name}_f{(7 * i + 3) % n_funcs}"]
        callees.append(f"{name}_f{i + 1}" if i + 1 < n_funcs else f"lib{(m + 1) % n_modules}_f0")
        stmts = tuple(Call(None, c, ()) for c in callees)
        if i % 10 == 0:
            blocks = (BasicBlock("entry", stmts, Branch(LocalGet("x"), "ok", "bad")),
                      BasicBlock("ok", (), Return()),
                      BasicBlock("bad", (), Panic(f"{name}_f{i} failed")))
        else:
            blocks = (BasicBlock("entry", stmts, Return()),)
        items.append(Func(f"{name}_f{i}", (), None, (Param("x", ValType.I32),), blocks))
    if n_modules > 1:
        items.append(ExternFunc(f"lib{(m + 1) % n_modules}_f0", FuncType()))
    return compile_module(Module(name, tuple(items)))


def build(directory: Path, n_modules: int, n_funcs: int) -> list[str]:
    members = [(f"lib{m}.o", gen_module(m, n_modules, n_funcs)) for m in range(n_modules)]
    (directory / "big.a").write_bytes(archive_bytes(members))
    main = Func("main", (), None, (), (BasicBlock("entry", (Call(None, "lib0_f0", ()),),
                                                  Return()),))
    (directory / "main.o").write_bytes(compile_module(Module("main", (
        main, ExternFunc("lib0_f0", FuncType())))))
    return [str(directory / "main.o"), str(directory / "big.a")]


def best(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times = []
    value = None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modules", type=int, default=200)
    ap.add_argument("--funcs", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        inputs = build(d, args.modules, args.funcs)
        print(f"generate + compile {args.modules * args.funcs} functions: "
              f"{time.perf_counter() - t0:.2f} s")
        options = LinkOptions(inputs=tuple(inputs))
        t0 = time.perf_counter()
        result = link(options)
        print(f"link (all phases): {time.perf_counter() - t0:.2f} s, "
              f"{len(result.live.live)} live, {len(result.wasm or b'')} bytes of wasm")
        with no_cyclic_gc():
            t, report = best(args.repeat, lambda: build_report(result, options))
            print(f"report build: {t:.3f} s ({len(report.live)} live entities, "
                  f"{sum(len(e.refs) for e in report.live)} references)")
            path = str(d / "report.json")

            def write() -> int:
                text = report.dumps()
                write_file_atomic(path, text.encode())
                return len(text)

            t, size = best(args.repeat, write)
            print(f"report JSON serialise + write: {t:.3f} s ({size / 1e6:.1f} MB)")
            t, loaded = best(args.repeat, lambda: Report.load(path))
            print(f"report load: {t:.3f} s")
            t, g = best(args.repeat, lambda: live_graph(loaded))
            print(f"live graph: {t:.3f} s")
            t, tree = best(args.repeat, lambda: dominator_tree(g))
            print(f"dominator tree: {t:.3f} s (meta-root retains {tree.retained[tree.meta]} "
                  "bytes)")
            deepest = f"lib{args.modules - 1}_f{args.funcs - 1}"
            t, ans = best(args.repeat, lambda: why(loaded, deepest, graph=g))
            print(f"why {deepest}: {t:.3f} s ({len(ans.chains[0]) - 1} steps)")
            t, _ = best(args.repeat, lambda: top(loaded, "text", 20))
            print(f"top -n 20: {t:.3f} s")
            t, text = best(args.repeat, lambda: map_text(loaded))
            print(f"map text: {t:.3f} s ({len(text) / 1e6:.1f} MB)")
    print(f"peak RSS: {_rss()} KiB")
    return 0


def _rss() -> int:
    from linker.driver import peak_rss_kb
    return peak_rss_kb()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
