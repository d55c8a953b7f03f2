"""Benchmark: what `--lto` buys, side by side with binaryen's `wasm-opt -O2`.

    .venv/bin/python benchmarks/lto.py [--wasm-opt PATH] [--repeat 5] [--no-big] [--no-run]

Prints the figures recorded in docs/benchmarks.md ("Link-time optimization").
wasm-opt is optional (never a test dependency): `--wasm-opt PATH`, `$WASM_OPT`
or `wasm-opt` on PATH; the npm package's `bin/wasm-opt` (a Node script) also
works (`npm install binaryen` into any scratch directory).

1. Every IR example (examples/*/, those without C sources), names stripped
   (`strip_all`), native tail calls: output bytes without LTO, without LTO
   then `wasm-opt -O2`, with `--lto`, with `--lto` then `wasm-opt -O2`; and
   whether each output prints expected.out.  Link time without and with
   `--lto`, in-process `linker.link`, the two alternated, median of
   --repeat.
2. Run time of the compute-heavy examples (fib, interp, countdown) under
   wasmtime and Node (`linker.host.run`, `run_node`: process or instance
   start and compilation included), without and with `--lto`, alternated,
   median of --repeat.
3. The 100,000-function program of `benchmarks/run.py` (`benchmarks/gen.py`,
   built once into build/bench/scale/): each link in a fresh process
   (wall time, peak RSS), without and with `--lto`, alternated, median of
   --repeat; output bytes and the same four byte columns.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import launch  # noqa: E402
import linker  # noqa: E402
import linker.host  # noqa: E402

BUILD = ROOT / "build" / "bench" / "lto"
STDLIB = ROOT / "build" / "stdlib.a"
HEAVY = ("fib", "interp", "countdown")
FEATURES = ["--enable-tail-call", "--enable-bulk-memory", "--enable-sign-ext",
            "--enable-nontrapping-float-to-int", "--enable-mutable-globals"]

MEASURE = r"""
import json, resource, sys, time
from linker.codegen import TailCallMode
from linker.driver import LinkOptions, link
a = json.loads(sys.argv[1])
t = time.perf_counter()
res = link(LinkOptions(inputs=tuple(a["inputs"]), output=a["output"], strip_all=True,
                       lto=a["lto"]))
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"link_s": wall, "peak_rss_mb": ru.ru_maxrss / 1024,
                  "phases": {p.name: p.seconds for p in res.timings},
                  "bytes": len(res.wasm or b"")}))
sys.stdout.flush()
import os
os._exit(0)
"""


def wasm_opt_command(path: str | None) -> list[str] | None:
    path = path or os.environ.get("WASM_OPT") or shutil.which("wasm-opt")
    if path is None:
        return None
    with open(path, "rb") as f:
        head = f.read(64)
    return ["node", path] if head.startswith(b"#!") and b"node" in head else [path]


def optimized_size(cmd: list[str] | None, wasm: bytes) -> int | None:
    if cmd is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d) / "in.wasm", Path(d) / "out.wasm"
        src.write_bytes(wasm)
        subprocess.run([*cmd, "-O2", *FEATURES, str(src), "-o", str(dst)], check=True,
                       capture_output=True)
        return dst.stat().st_size


def examples() -> list[Path]:
    return [d for d in sorted((ROOT / "examples").iterdir())
            if d.is_dir() and list(d.glob("*.ir")) and not list(d.glob("**/*.c"))]


def objects(ex: Path) -> list[str]:
    return [*linker.compile_files(sorted(ex.glob("*.ir")), BUILD / ex.name), str(STDLIB)]


def argv_of(ex: Path) -> list[str]:
    args = ex / "args"
    return [ex.name, *(args.read_text().split() if args.exists() else [])]


def timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def alternate(a: Any, b: Any, repeat: int) -> tuple[float, float]:
    """Medians of `a` and `b` run alternately `repeat` times each."""
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(timed(a))
        tb.append(timed(b))
    return statistics.median(ta), statistics.median(tb)


def pct(new: int | None, old: int) -> str:
    return "-" if new is None else f"{new} ({100.0 * (new - old) / old:+.1f}%)"


def bench_examples(cmd: list[str] | None, repeat: int) -> None:
    print("## examples (names stripped, native tail calls)")
    print(f"{'example':<12} {'no LTO':>7} {'+wasm-opt -O2':>16} {'--lto':>16} "
          f"{'--lto +wasm-opt':>16} {'link ms':>8} {'lto ms':>8}  output")
    for ex in examples():
        objs = objects(ex)
        plain = linker.link(objs, strip_all=True)
        lto = linker.link(objs, strip_all=True, lto=True)
        assert plain.wasm is not None and lto.wasm is not None
        n = len(plain.wasm)
        run = linker.host.run(lto.wasm, argv_of(ex), capture=True)
        ok = "ok" if run.stdout == (ex / "expected.out").read_bytes() else "DIFFERS"
        t_plain, t_lto = alternate(lambda: linker.link(objs, strip_all=True),
                                   lambda: linker.link(objs, strip_all=True, lto=True), repeat)
        print(f"{ex.name:<12} {n:>7} {pct(optimized_size(cmd, plain.wasm), n):>16} "
              f"{pct(len(lto.wasm), n):>16} {pct(optimized_size(cmd, lto.wasm), n):>16} "
              f"{t_plain * 1000:>8.1f} {t_lto * 1000:>8.1f}  {ok}")


def bench_runs(repeat: int) -> None:
    print("\n## run time (median; start and compilation included)")
    print(f"{'example':<12} {'engine':<9} {'no LTO s':>9} {'--lto s':>9}")
    for ex in examples():
        if ex.name not in HEAVY:
            continue
        objs = objects(ex)
        plain, lto = (linker.link(objs, strip_all=True, lto=x).wasm or b"" for x in (False, True))
        argv = argv_of(ex)
        for engine, run in (("wasmtime", linker.host.run), ("node", linker.host.run_node)):
            a, b = alternate(lambda: run(plain, argv, capture=True),
                             lambda: run(lto, argv, capture=True), repeat)
            print(f"{ex.name:<12} {engine:<9} {a:>9.3f} {b:>9.3f}")


def fresh_link(inputs: list[str], output: Path, lto: bool) -> dict[str, Any]:
    out = launch.fresh([sys.executable, "-c", MEASURE, json.dumps(
        {"inputs": inputs, "output": str(output), "lto": lto})], check=True,
        capture_output=True, text=True, cwd=ROOT)
    r: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return r


def bench_big(cmd: list[str] | None, repeat: int) -> None:
    import gen
    import run as scale
    p = gen.Params(modules=1000, funcs=100, live=0.2, seed=1)
    info = scale.build(p)
    d = scale.CACHE / p.key()
    inputs = [str(d / "main.o"), str(d / "lib.a")]
    BUILD.mkdir(parents=True, exist_ok=True)
    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for _ in range(repeat):
        for lto in (False, True):
            runs[lto].append(fresh_link(inputs, BUILD / f"big{'-lto' if lto else ''}.wasm", lto))
    print(f"\n## {info['functions']:,} functions ({info['live_functions']:,} live), "
          f"fresh process per link, median of {repeat}")
    for lto in (False, True):
        rs = runs[lto]
        wall = statistics.median(r["link_s"] for r in rs)
        rss = statistics.median(r["peak_rss_mb"] for r in rs)
        phases = {k: statistics.median(r["phases"][k] for r in rs) for k in rs[0]["phases"]}
        top = ", ".join(f"{k} {v:.2f}" for k, v in phases.items() if v >= 0.05)
        print(f"{'--lto' if lto else 'no LTO':<7} link {wall:.2f} s, peak RSS {rss:.0f} MB, "
              f"{rs[0]['bytes']:,} B  ({top})")
    plain = (BUILD / "big.wasm").read_bytes()
    lto_b = (BUILD / "big-lto.wasm").read_bytes()
    n = len(plain)
    print(f"bytes: no LTO {n:,}; +wasm-opt -O2 {pct(optimized_size(cmd, plain), n)}; "
          f"--lto {pct(len(lto_b), n)}; --lto +wasm-opt -O2 {pct(optimized_size(cmd, lto_b), n)}")
    code = {x: linker.host.run(w, ["big"], capture=True).exit_code
            for x, w in (("plain", plain), ("lto", lto_b))}
    print(f"exit status: {code}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wasm-opt", default=None, metavar="PATH")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-big", dest="big", action="store_false")
    ap.add_argument("--no-run", dest="run", action="store_false")
    args = ap.parse_args(argv)
    cmd = wasm_opt_command(args.wasm_opt)
    print(f"wasm-opt: {' '.join(cmd) if cmd else 'not found (columns shown as -)'}")
    bench_examples(cmd, args.repeat)
    if args.run:
        bench_runs(args.repeat)
    if args.big:
        bench_big(cmd, max(1, args.repeat // 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
