"""The scale benchmarks (issue 10): `make bench`, or

    .venv/bin/python benchmarks/run.py [--scenarios big,hello,eager,codegen,ffi,compile]
                                       [--quick] [--seed N] [--json FILE]

Builds once, into build/bench/scale/<parameters>/ (reused while the
parameters and the generator are unchanged): `benchmarks/gen.py` sources,
`irld compile -j2` objects, the library archive `lib.a` of every module
but `main`, a 1-function program `hello.o` and an empty archive.  Then
measures each scenario, every link in a fresh process (a small script
calling `linker.driver.link` that prints its per-phase timings, wall time,
CPU time, peak RSS (`ru_maxrss`), output bytes and bodies decoded as JSON),
and prints one table:

1. big: `main.o lib.a` (1,000 modules x 100 functions, 20 % live);
2. hello: `hello.o` against `lib.a`, and against the empty archive;
3. eager: 1 and 2 with `LinkOptions.eager_decode` (every body decoded up front);
4. codegen: run time under wasmtime (best of 5, `_start` only) of the loop
   kernels in benchmarks/loops/ linked normally and with Asterius's naive
   dispatcher (`IRLD_NAIVE_RELOOPER=1`), and of the tail-call kernel with
   native vs trampoline tail calls;
5. ffi: output bytes of the big program, specialized FFI vs `--ffi=exhaustive:4`;
6. compile: `irld compile -j2` over all the generated sources (MB/s).

`--quick`: 50 modules x 40 functions (a smoke run); `--profile` writes a
cProfile of the big link to build/bench/scale/big.prof.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gen  # noqa: E402
import launch  # noqa: E402

PY = sys.executable
IRLD = str(Path(PY).with_name("irld"))
CACHE = ROOT / "build" / "bench" / "scale"
LOOPS = ROOT / "benchmarks" / "loops"
LOOP_KERNELS = ("sieve", "matmul", "statemachine", "interp")
TAIL_KERNEL = "tailcalls"
ALL = ("big", "hello", "eager", "codegen", "ffi", "compile")
BUILD_VERSION = 3           # bump when the build layout changes

# Runs in a fresh process: one link, one JSON line on stdout.
MEASURE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from linker.codegen import TailCallMode
from linker.driver import LinkOptions, link
args = json.loads(sys.argv[1])
t1 = time.perf_counter()
opts = LinkOptions(inputs=tuple(args["inputs"]), output=args.get("output"),
                   eager_decode=args.get("eager", False),
                   tail_calls=TailCallMode(args.get("tail_calls", "native")),
                   ffi_exhaustive=args.get("ffi_exhaustive"))
if args.get("profile"):
    import cProfile
    prof = cProfile.Profile()
    prof.enable()
res = link(opts)
if args.get("profile"):
    prof.disable()
    prof.dump_stats(args["profile"])
t2 = time.perf_counter()
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "phases": {t.name: t.seconds for t in res.timings},
    "import_s": t1 - t0, "link_s": t2 - t1,
    "cpu_s": ru.ru_utime + ru.ru_stime,
    "peak_rss_mb": ru.ru_maxrss / 1024 if sys.platform != "darwin" else ru.ru_maxrss / 2**20,
    "output_bytes": len(res.wasm or b""),
    "bodies_decoded": res.store.stats.bodies_decoded,
    "live": len(res.live.live),
    "funcs_emitted": 0 if res.program is None else len(res.program.funcs),
}))
sys.stdout.flush()
import os
os._exit(0)   # skip tearing down the heap: the parent times the whole process
"""


def sizes(args: argparse.Namespace) -> gen.Params:
    if args.quick:
        return gen.Params(modules=50, funcs=40, live=0.2, seed=args.seed, ffi_every=10)
    return gen.Params(modules=args.modules, funcs=args.funcs, live=args.live, seed=args.seed)


# ---------------------------------------------------------------- build


def _gen_stamp() -> str:
    src = (ROOT / "benchmarks" / "gen.py").read_bytes()
    import hashlib
    return f"{BUILD_VERSION}-{hashlib.sha256(src).hexdigest()[:12]}"


def build(p: gen.Params, log: bool = True) -> dict[str, Any]:
    """Generate, compile and archive once per parameter set; returns the build info."""
    d = CACHE / p.key()
    stamp = d / "build.json"
    if stamp.exists():
        info: dict[str, Any] = json.loads(stamp.read_text())
        if info.get("stamp") == _gen_stamp():
            return info
    if d.exists():
        shutil.rmtree(d)
    src, obj = d / "src", d / "obj"
    src.mkdir(parents=True)
    t = time.perf_counter()
    prog = gen.program(p)
    paths = prog.write(src)
    gen_s = time.perf_counter() - t
    (src / "hello.ir").write_text(HELLO)
    if log:
        print(f"bench: generated {len(paths)} files ({prog.functions} functions, "
              f"{prog.live_functions} live) in {gen_s:.1f} s; compiling ...", file=sys.stderr)
    t = time.perf_counter()
    subprocess.run([IRLD, "compile", "-j2", "--out-dir", str(obj), *sorted(map(str, paths))],
                   check=True)
    compile_s = time.perf_counter() - t
    subprocess.run([IRLD, "compile", str(src / "hello.ir"), "-o", str(d / "hello.o")],
                   check=True)
    members = sorted((str(x) for x in obj.glob("m*.o")), key=_natural)
    subprocess.run([IRLD, "ar", str(d / "lib.a"), *members], check=True)
    subprocess.run([IRLD, "ar", str(d / "empty.a")], check=True)
    shutil.copy(obj / "main.o", d / "main.o")
    info = {"stamp": _gen_stamp(), "params": p.key(), "functions": prog.functions,
            "live_functions": prog.live_functions, "ffi_users": prog.ffi_users,
            "source_bytes": sum(os.path.getsize(x) for x in paths),
            "files": len(paths), "gen_s": gen_s, "compile_s": compile_s,
            "archive_bytes": os.path.getsize(d / "lib.a")}
    stamp.write_text(json.dumps(info, indent=1))
    return info


HELLO = """module bench.hello

func main() -> i32 {
entry:
  return 42
}
"""


def _natural(path: str) -> tuple[int, str]:
    stem = Path(path).stem
    return (int(stem[1:]) if stem[1:].isdigit() else -1, stem)


# ---------------------------------------------------------------- measuring


def measure_link(inputs: list[str], *, repeat: int = 1, env: dict[str, str] | None = None,
                 **kw: Any) -> dict[str, Any]:
    """Link in a fresh process `repeat` times; the run with the best wall time."""
    best: dict[str, Any] | None = None
    for _ in range(repeat):
        args = json.dumps({"inputs": inputs, **kw})
        t = time.perf_counter()
        out = launch.fresh([PY, "-c", MEASURE, args], check=True, capture_output=True,
                           text=True, cwd=ROOT, env={**os.environ, **(env or {})})
        wall = time.perf_counter() - t
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["wall_s"] = wall
        if best is None or wall < best["wall_s"]:
            best = r
    assert best is not None
    return best


def run_wasm(path: str, repeat: int = 5) -> tuple[float, int]:
    """Best-of-`repeat` time of `_start` under wasmtime (compilation excluded), and the
    exit status."""
    import wasmtime
    config = wasmtime.Config()
    config.wasm_tail_call = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, path)
    best, code = float("inf"), -1
    for _ in range(repeat):
        store = wasmtime.Store(engine)
        wasi = wasmtime.WasiConfig()
        store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        inst = linker.instantiate(store, module)
        start = inst.exports(store)["_start"]
        t = time.perf_counter()
        try:
            start(store)
            code = 0
        except wasmtime.ExitTrap as exc:
            code = exc.code
        best = min(best, time.perf_counter() - t)
    return best, code


# ---------------------------------------------------------------- scenarios


def scenario_links(d: Path, which: set[str], profile: bool) -> dict[str, dict[str, Any]]:
    lib, main, hello, empty = (str(d / n) for n in ("lib.a", "main.o", "hello.o",
                                                  "empty.a"))
    out_dir = d / "out"
    out_dir.mkdir(exist_ok=True)
    res: dict[str, dict[str, Any]] = {}
    if "big" in which:
        res["big"] = measure_link([main, lib], output=str(out_dir / "big.wasm"),
                                  profile=str(CACHE / "big.prof") if profile else None)
    if "hello" in which:
        res["hello+lib"] = measure_link([hello, lib], output=str(out_dir / "hello.wasm"), repeat=3)
        res["hello+empty"] = measure_link([hello, empty], output=str(out_dir / "hello0.wasm"),
                                          repeat=3)
    if "eager" in which:
        res["big eager"] = measure_link([main, lib], output=str(out_dir / "big-eager.wasm"),
                                        eager=True)
        res["hello+lib eager"] = measure_link([hello, lib], output=str(out_dir / "h-eager.wasm"),
                                              eager=True)
    if "ffi" in which:
        if "big" not in res:
            res["big"] = measure_link([main, lib], output=str(out_dir / "big.wasm"))
        res["big ffi=exhaustive:4"] = measure_link([main, lib], ffi_exhaustive=4,
                                                   output=str(out_dir / "big-ffi4.wasm"))
    return res


def check_runs(d: Path) -> dict[str, int]:
    """Exit status of the big outputs (they must agree)."""
    codes = {}
    for name in ("big", "big-eager", "big-ffi4"):
        path = d / "out" / f"{name}.wasm"
        if path.exists():
            codes[name] = run_wasm(str(path), repeat=1)[1]
    return codes


def scenario_codegen(work: Path) -> list[dict[str, Any]]:
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for k in (*LOOP_KERNELS, TAIL_KERNEL):
        iro = work / f"{k}.o"
        subprocess.run([IRLD, "compile", str(LOOPS / f"{k}.ir"), "-o", str(iro)], check=True)
        if k == TAIL_KERNEL:
            variants = [("native", {}, ["--tail-calls", "native"]),
                        ("trampoline", {}, ["--tail-calls", "trampoline"])]
        else:
            variants = [("relooper", {}, []), ("naive", {"IRLD_NAIVE_RELOOPER": "1"}, [])]
        row: dict[str, Any] = {"kernel": k}
        for label, env, flags in variants:
            wasm = work / f"{k}-{label}.wasm"
            subprocess.run([IRLD, "link", str(iro), "-o", str(wasm), *flags], check=True,
                           env={**os.environ, **env})
            seconds, code = run_wasm(str(wasm))
            row[label] = {"seconds": seconds, "exit": code, "bytes": wasm.stat().st_size}
        rows.append(row)
    return rows


def scenario_compile(d: Path) -> dict[str, Any]:
    src = sorted(str(p) for p in (d / "src").glob("*.ir"))
    total = sum(os.path.getsize(p) for p in src)
    with tempfile.TemporaryDirectory(prefix="irld-bench-") as tmp:
        t = time.perf_counter()
        subprocess.run([IRLD, "compile", "-j2", "--out-dir", tmp, *src], check=True)
        wall = time.perf_counter() - t
    return {"files": len(src), "bytes": total, "seconds": wall, "mb_s": total / 1e6 / wall}


# ---------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    mem_kb = 0
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 2**20, 1), "cpu": cpu,
            "python": platform.python_version(), "load": os.getloadavg()[0]}


PHASE_COLS = ("open store", "discover", "decode", "emit", "encode", "write")


def link_table(res: dict[str, dict[str, Any]]) -> list[str]:
    head = ("| link | " + " | ".join(PHASE_COLS) + " | other phases | link() | process wall"
            " | CPU | peak RSS | output | bodies decoded |")
    lines = [head, "|" + "---|" * (len(PHASE_COLS) + 8)]
    for name, r in res.items():
        ph = r["phases"]
        other = sum(v for k, v in ph.items() if k not in PHASE_COLS)
        cells = [f"{ph.get(c, 0):.2f}" for c in PHASE_COLS]
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | {other:.2f} | {r['link_s']:.2f} s | **{r['wall_s']:.2f} s** | "
                     f"{r['cpu_s']:.2f} s | {r['peak_rss_mb']:.0f} MB | "
                     f"{r['output_bytes']:,} B | {r['bodies_decoded']:,} |")
    return lines


def report(info: dict[str, Any], links: dict[str, dict[str, Any]],
           codegen: list[dict[str, Any]] | None, comp: dict[str, Any] | None,
           codes: dict[str, int], args: argparse.Namespace) -> str:
    m = machine()
    out = [f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, Python "
           f"{m['python']}; load average {m['load']:.1f} at the end of the run.",
           f"Program: {info['functions']:,} library functions in {info['files'] - 1:,} "
           f"modules ({info['params']}), {info['live_functions']:,} live from main, "
           f"{info['ffi_users']} FFI users; {info['source_bytes'] / 1e6:.1f} MB of IR, "
           f"archive {info['archive_bytes'] / 1e6:.1f} MB.", ""]
    if links:
        out += ["Links (seconds; each in a fresh process; `process wall` includes the "
                "interpreter start and imports):", ""]
        out += link_table(links)
        out.append("")
        r = links
        if "hello+lib" in r and "hello+empty" in r:
            out.append(f"* hello vs big: {r['hello+lib']['wall_s']:.2f} s against lib.a, "
                       f"{r['hello+empty']['wall_s']:.2f} s against empty.a: "
                       f"{r['hello+lib']['wall_s'] / r['hello+empty']['wall_s']:.2f}x")
        for lazy, eager in (("big", "big eager"), ("hello+lib", "hello+lib eager")):
            if lazy in r and eager in r:
                out.append(f"* eager / lazy, {lazy}: wall {r[eager]['wall_s'] / r[lazy]['wall_s']:.1f}x, "
                           f"peak RSS {r[eager]['peak_rss_mb'] / r[lazy]['peak_rss_mb']:.1f}x, "
                           f"bodies decoded {r[eager]['bodies_decoded']:,} vs "
                           f"{r[lazy]['bodies_decoded']:,}")
        if "big ffi=exhaustive:4" in r and "big" in r:
            s, e = r["big"]["output_bytes"], r["big ffi=exhaustive:4"]["output_bytes"]
            out.append(f"* FFI: specialized {s:,} B, exhaustive:4 {e:,} B "
                       f"(+{e - s:,} B, {e / s:.2f}x)")
        if codes:
            out.append("* exit status of the outputs under wasmtime: " +
                       ", ".join(f"{k} {v}" for k, v in codes.items()))
        out.append("")
    if codegen:
        out += ["Run time under wasmtime (`_start`, best of 5, compilation excluded):", "",
                "| kernel | fast | seconds | slow | seconds | ratio | exit status |",
                "|---|---|---|---|---|---|---|"]
        for row in codegen:
            (a, ra), (b, rb) = [(k, v) for k, v in row.items() if k != "kernel"]
            same = "same" if ra["exit"] == rb["exit"] else "DIFFER"
            out.append(f"| {row['kernel']} | {a} | {ra['seconds']:.3f} | {b} | "
                       f"{rb['seconds']:.3f} | **{rb['seconds'] / ra['seconds']:.2f}x** | "
                       f"{ra['exit']} ({same}) |")
        out.append("")
    if comp:
        out.append(f"Compile: `irld compile -j2` over {comp['files']:,} files, "
                   f"{comp['bytes'] / 1e6:.1f} MB: {comp['seconds']:.1f} s, "
                   f"**{comp['mb_s']:.2f} MB/s**.")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenarios", default=",".join(ALL),
                    help=f"comma-separated subset of {','.join(ALL)} (default: all)")
    ap.add_argument("--quick", action="store_true", help="a small program (smoke run)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--modules", type=int, default=1000)
    ap.add_argument("--funcs", type=int, default=100)
    ap.add_argument("--live", type=float, default=0.2)
    ap.add_argument("--profile", action="store_true", help="cProfile the big link")
    ap.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    args = ap.parse_args(argv)
    which = set(args.scenarios.split(","))
    unknown = which - set(ALL)
    if unknown:
        ap.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    p = sizes(args)
    info = build(p)
    d = CACHE / p.key()
    if "ffi" in which and not _has_ffi_flag():
        print("ffi: not available (no --ffi flag in `irld link`)")
        which.discard("ffi")
    links = scenario_links(d, which, args.profile)
    codes = check_runs(d) if links else {}
    codegen = scenario_codegen(d / "loops") if "codegen" in which else None
    comp = scenario_compile(d) if "compile" in which else None
    text = report(info, links, codegen, comp, codes, args)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"build": info, "links": links,
                                               "codegen": codegen, "compile": comp,
                                               "exit_codes": codes, "machine": machine()},
                                              indent=1))
    return 0


def _has_ffi_flag() -> bool:
    out = subprocess.run([IRLD, "link", "--help"], capture_output=True, text=True)
    return "--ffi" in out.stdout


if __name__ == "__main__":
    sys.exit(main())
