"""The big program in C, linked by wasm-ld and by irld from the same clang objects.

    .venv/bin/python benchmarks/c_link.py [--funcs 100000] [--files 200] [--live-pct 20]
                                          [--seed 1] [--runs 5] [--inputs archive|objects]
                                          [--linkers wasm-ld,irld] [-j 2] [--json FILE]
                                          [--cache]

1. Generates the C program with `benchmarks/gen_c.py` and compiles it with
   `clang --target=wasm32-wasi -O1 -c` on `-j` cores, into
   build/bench-c/<parameters>/ (sources regenerated only when the parameters
   or gen_c.py change, objects in obj/ only when their source changed), plus
   obj/lib.a (`llvm-ar rcs`) of every object but main.o.  `--cflags` adds
   clang flags (objects in obj-<hash>/).
2. Links `main.o lib.a` (or, `--inputs objects`, every object) with
   `wasm-ld --no-entry --export=main` and `irld link --no-entry --export main`:
   one warm-up each, then `--runs` runs each interleaved (A B A B ...), every
   run a fresh process measured with `os.wait4` (wall time, user + system
   CPU, peak RSS of the child).  irld's wall time includes starting Python
   (with its bytecode cache: PYTHONDONTWRITEBYTECODE is unset for the child).
   With `--cache`, a third linker, `irld-cached`, is `irld link --cache-dir
   DIR` (the object index cache, docs/objects.md): DIR is emptied first, so
   its warm-up is the cold link that fills the cache and its measured runs
   are warm; plain `irld` (no cache) stays the cold figure.
3. Prints, per linker, the medians, the output's size, code-section size and
   function count, and the irld / wasm-ld ratios (each irld variant's); with
   `--cache`, whether the cached link's output is byte-identical to the
   uncached one's.  A linker that fails is
   reported with its exit status and stderr; the other's numbers still print.
4. Runs `main` of every output under wasmtime (Python package) and checks
   that the results agree with each other and with the checksum the
   generator computed.

Exit status: 0, or 1 when wasm-ld fails or the outputs' results disagree.
Quick check: `--funcs 2000 --files 10 --runs 3`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import gen_c  # noqa: E402
import launch  # noqa: E402

CACHE = ROOT / "build" / "bench-c"


def _irld() -> str:
    venv = ROOT / ".venv" / "bin" / "irld"
    if venv.exists():
        return str(venv)
    found = shutil.which("irld")
    return found or str(Path(sys.executable).with_name("irld"))


# ---------------------------------------------------------------- build


def build(p: gen_c.Params, jobs: int, extra: tuple[str, ...] = (),
          log: bool = True) -> dict[str, Any]:
    """Generate (unless cached), compile what is out of date, archive."""
    d = CACHE / p.key()
    stamp = d / "gen.stamp"
    want = f"{gen_c.generator_hash()} {p.key()}"
    info: dict[str, Any] = {"dir": str(d)}
    if stamp.exists() and stamp.read_text() == want and (d / "manifest.json").exists():
        info["gen_s"] = None                       # cached
    else:
        if log:
            print(f"c_link: generating {p.funcs:,} functions in {p.files} files ...",
                  file=sys.stderr)
        t = time.perf_counter()
        prog = gen_c.program(p)
        prog.write(d)
        info["gen_s"] = time.perf_counter() - t
        info["checksum_s"] = prog.checksum_s
        stamp.write_text(want)
    info["manifest"] = json.loads((d / "manifest.json").read_text())
    comp = gen_c.compile_dir(d, jobs=jobs, extra=extra, log=log)
    info["compile"] = comp
    info["cflags"] = " ".join(gen_c.CLANG_FLAGS + extra)
    t = time.perf_counter()
    lib = gen_c.archive(d, extra=extra)
    info["archive_s"] = time.perf_counter() - t
    obj = Path(comp["obj"])
    objs = sorted((o for o in obj.glob("*.o")), key=lambda o: gen_c._stem_key(o.stem))
    info["objects"] = [str(o) for o in objs]
    info["main"] = str(obj / "main.o")
    info["lib"] = str(lib)
    stats = [object_stats(o.read_bytes()) for o in objs]
    info["object_bytes"] = sum(o.stat().st_size for o in objs)
    info["archive_bytes"] = lib.stat().st_size
    info["symbols"] = sum(s["symbols"] for s in stats)
    info["object_functions"] = sum(s["functions"] for s in stats)
    info["object_code_bytes"] = sum(s["code_bytes"] for s in stats)
    return info


# ---------------------------------------------------------------- wasm reading


def _leb(b: bytes, i: int) -> tuple[int, int]:
    v = shift = 0
    while True:
        byte = b[i]
        i += 1
        v |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return v, i


def _sections(b: bytes) -> list[tuple[int, str, int, int]]:
    """(id, custom name, payload start, payload end) of each section."""
    if b[:4] != b"\0asm":
        raise ValueError("not a wasm module")
    out = []
    i = 8
    while i < len(b):
        sid = b[i]
        size, j = _leb(b, i + 1)
        end = j + size
        name = ""
        if sid == 0:
            n, k = _leb(b, j)
            name = b[k:k + n].decode("utf-8", "replace")
        out.append((sid, name, j, end))
        i = end
    return out


def _count(b: bytes, start: int) -> int:
    return _leb(b, start)[0]


def object_stats(b: bytes) -> dict[str, int]:
    """Defined functions, symbols (linking section's symbol table), code bytes."""
    funcs = syms = code = 0
    for sid, name, start, end in _sections(b):
        if sid == 3:
            funcs = _count(b, start)
        elif sid == 10:
            code = end - start
        elif sid == 0 and name == "linking":
            n, k = _leb(b, start)
            k += n
            _version, k = _leb(b, k)
            while k < end:
                sub = b[k]
                size, k2 = _leb(b, k + 1)
                if sub == 8:                          # WASM_SYMBOL_TABLE
                    syms = _count(b, k2)
                k = k2 + size
    return {"functions": funcs, "symbols": syms, "code_bytes": code}


def module_stats(path: str) -> dict[str, int]:
    """Size, defined and imported functions, code and data section bytes of an output."""
    b = Path(path).read_bytes()
    st = {"bytes": len(b), "functions": 0, "imported_functions": 0, "code_bytes": 0,
          "data_bytes": 0, "name_bytes": 0}
    for sid, name, start, end in _sections(b):
        if sid == 3:
            st["functions"] = _count(b, start)
        elif sid == 10:
            st["code_bytes"] = end - start
        elif sid == 11:
            st["data_bytes"] = end - start
        elif sid == 0 and name == "name":
            st["name_bytes"] = end - start
        elif sid == 2:
            n, k = _leb(b, start)
            funcs = 0
            for _ in range(n):
                for _s in range(2):                   # module, field
                    ln, k = _leb(b, k)
                    k += ln
                kind = b[k]
                k += 1
                if kind == 0:                         # func: type index
                    funcs += 1
                    _t, k = _leb(b, k)
                elif kind == 1:                       # table: reftype, limits
                    k += 1
                    k = _skip_limits(b, k)
                elif kind == 2:                       # memory: limits
                    k = _skip_limits(b, k)
                elif kind == 3:                       # global: valtype, mut
                    k += 2
                else:
                    _t, k = _leb(b, k + 1)            # tag
            st["imported_functions"] = funcs
    return st


def _skip_limits(b: bytes, k: int) -> int:
    flags = b[k]
    k += 1
    _lo, k = _leb(b, k)
    if flags & 1:
        _hi, k = _leb(b, k)
    return k


# ---------------------------------------------------------------- measuring


# irld is measured as installed, with its bytecode cache: an environment that
# sets PYTHONDONTWRITEBYTECODE (some CI and sandbox shells do) would make every
# run compile irld's ~100 modules from source again, about 0.2 s of the link.
_CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run `cmd` once in a fresh process, its output to `log`; wall time, CPU and
    peak RSS from `os.wait4`, taken by `launch.measured` (a small launcher
    process, so the peak is the command's own)."""
    with open(log, "wb") as out:
        r = launch.measured(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                            env=_CHILD_ENV)
    return {"rc": r["rc"], "wall_s": r["wall_s"], "cpu_s": r["user_s"] + r["sys_s"],
            "user_s": r["user_s"], "sys_s": r["sys_s"],
            "peak_rss_mb": r["peak_rss_kb"] / 1024,
            "log": log.read_text(errors="replace")}


def link_commands(info: dict[str, Any], inputs: str, out_dir: Path,
                  wasm_ld: str, irld: str, threads: int | None,
                  cache_dir: Path | None = None) -> dict[str, list[str]]:
    files = info["objects"] if inputs == "objects" else [info["main"], info["lib"]]
    extra = [f"--threads={threads}"] if threads else []
    irld_cmd = [irld, "link", "--no-entry", "--export", "main", *files]
    cmds = {
        "wasm-ld": [wasm_ld, "--no-entry", "--export=main", *extra, *files,
                    "-o", str(out_dir / "wasm-ld.wasm")],
        # --no-cache: the cold figure, whatever $IRLD_INDEX_CACHE_DIR says
        "irld": [*irld_cmd, "--no-cache", "-o", str(out_dir / "irld.wasm")],
    }
    if cache_dir is not None:
        cmds["irld-cached"] = [*irld_cmd, "--cache-dir", str(cache_dir),
                               "-o", str(out_dir / "irld-cached.wasm")]
    return cmds


def bench(cmds: dict[str, list[str]], runs: int, out_dir: Path,
          log: bool = True) -> dict[str, dict[str, Any]]:
    """One warm-up each, then `runs` interleaved runs each; a linker whose warm-up
    fails is not run again."""
    res: dict[str, dict[str, Any]] = {n: {"runs": [], "failure": None} for n in cmds}
    for name, cmd in cmds.items():
        out = Path(cmd[cmd.index("-o") + 1])
        if out.exists():
            out.unlink()
        r = measure(cmd, out_dir / f"{name}.log")
        res[name]["warmup"] = r
        if r["rc"] != 0:
            res[name]["failure"] = r
        if log:
            print(f"c_link: warm-up {name}: {r['wall_s']:.2f} s, exit {r['rc']}",
                  file=sys.stderr)
    for i in range(runs):
        for name, cmd in cmds.items():
            if res[name]["failure"] is not None:
                continue
            r = measure(cmd, out_dir / f"{name}.log")
            if r["rc"] != 0:
                res[name]["failure"] = r
                continue
            res[name]["runs"].append(r)
        if log:
            print(f"c_link: run {i + 1}/{runs} done", file=sys.stderr)
    for name, cmd in cmds.items():
        rr = res[name]
        output = cmd[cmd.index("-o") + 1]
        if rr["runs"]:
            for key in ("wall_s", "cpu_s", "peak_rss_mb"):
                rr[key] = statistics.median(r[key] for r in rr["runs"])
            rr["min_wall_s"] = min(r["wall_s"] for r in rr["runs"])
            rr["warnings"] = rr["runs"][-1]["log"]
        if rr["failure"] is None and Path(output).exists():
            rr["output"] = output
            rr["module"] = module_stats(output)
    return res


def run_main(path: str) -> int:
    """Call the exported `main` (with zeros for argc/argv, as clang's wrapper takes
    them) under wasmtime; its result as an unsigned 32-bit value."""
    import wasmtime
    config = wasmtime.Config()
    config.wasm_tail_call = True
    engine = wasmtime.Engine(config)
    module = wasmtime.Module.from_file(engine, path)
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    inst = linker.instantiate(store, module)
    fn = inst.exports(store)["main"]
    assert isinstance(fn, wasmtime.Func), "main is not a function"
    nparams = len(fn.type(store).params)
    return int(fn(store, *([0] * nparams))) & gen_c.M32


# ---------------------------------------------------------------- report


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def report(info: dict[str, Any], res: dict[str, dict[str, Any]], runs_check: dict[str, Any],
           args: argparse.Namespace) -> str:
    m = info["manifest"]
    comp = info["compile"]
    load = os.getloadavg()[0]
    out = [f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
           f"load average {load:.1f}.",
           f"C program ({m['params']}): {m['functions']:,} functions in {m['files']} files + "
           f"main.c, {m['live_functions']:,} live from main, {m['address_taken']:,} "
           f"address-taken, {m['cross_file_calls']:,} cross-file call sites, live-tree "
           f"depth {m['tree_depth']}; {_mb(m['source_bytes'])} of C.",
           "Build: generation " + ("cached" if info["gen_s"] is None else
                                   f"{info['gen_s']:.1f} s (checksum "
                                   f"{info.get('checksum_s', 0):.1f} s of it)")
           + f"; `clang {info['cflags']}` on {args.jobs} jobs: {comp['compiled']} files "
           f"compiled in {comp['seconds']:.1f} s ({comp['up_to_date']} up to date).",
           f"Objects: {len(info['objects'])} files, {_mb(info['object_bytes'])} "
           f"({_mb(info['object_code_bytes'])} code), {info['symbols']:,} symbols, "
           f"{info['object_functions']:,} defined functions; lib.a {_mb(info['archive_bytes'])}.",
           f"Inputs: {'every object' if args.inputs == 'objects' else 'main.o lib.a'}; "
           f"{args.runs} runs each after a warm-up, interleaved; medians.", ""]
    out.append("| linker | runs | wall | CPU | peak RSS | output | code | functions |")
    out.append("|---|---|---|---|---|---|---|---|")
    for name, r in res.items():
        if r["runs"]:
            mod = r.get("module", {})
            out.append(f"| {name} | {len(r['runs'])} | {r['wall_s']:.3f} s | {r['cpu_s']:.3f} s |"
                       f" {r['peak_rss_mb']:.0f} MB | {mod.get('bytes', 0):,} B | "
                       f"{mod.get('code_bytes', 0):,} B | {mod.get('functions', 0):,} |")
        else:
            out.append(f"| {name} | 0 | failed | | | | | |")
    out.append("")
    for name in ("irld", "irld-cached"):
        line = _ratios(res.get("wasm-ld"), res.get(name))
        if line:
            out.append(f"{name} / wasm-ld: {line}")
    c, u = res.get("irld-cached", {}).get("output"), res.get("irld", {}).get("output")
    if c and u:
        same = Path(c).read_bytes() == Path(u).read_bytes()
        out.append("irld-cached output byte-identical to irld's: " + ("yes" if same else "NO"))
    for name, r in res.items():
        f = r["failure"]
        if f is not None:
            text = f["log"].strip()
            lines = text.splitlines()
            if len(lines) > 40:
                lines = lines[:20] + [f"... ({len(lines) - 40} lines) ..."] + lines[-20:]
            out.append(f"{name} FAILED (exit {f['rc']}, {f['wall_s']:.2f} s):")
            out += ["    " + ln for ln in lines] or ["    (no output)"]
    if runs_check:
        exp = runs_check["expected"]
        got = ", ".join(f"{k} {v}" for k, v in runs_check["results"].items())
        verdict = "OK" if runs_check["ok"] else "MISMATCH"
        out.append(f"main() under wasmtime: {got} (generator: {exp}): {verdict}")
        for k, v in runs_check.get("errors", {}).items():
            out.append(f"  {k}: {v}")
    return "\n".join(out)


def _ratios(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    """`b`'s figures over `a`'s (wall, CPU, peak RSS, output, code, functions)."""
    if not (a and b and a["runs"] and b["runs"]):
        return ""
    ma, mb = a.get("module", {}), b.get("module", {})
    parts = [f"wall {b['wall_s'] / a['wall_s']:.2f}x",
             f"CPU {b['cpu_s'] / a['cpu_s']:.2f}x",
             f"peak RSS {b['peak_rss_mb'] / a['peak_rss_mb']:.2f}x"]
    if ma.get("bytes") and mb.get("bytes"):
        parts.append(f"output {mb['bytes'] / ma['bytes']:.3f}x")
    if ma.get("code_bytes") and mb.get("code_bytes"):
        parts.append(f"code {mb['code_bytes'] / ma['code_bytes']:.3f}x")
    if ma.get("functions") and mb.get("functions"):
        parts.append(f"functions {mb['functions']:,} vs {ma['functions']:,}")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--funcs", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--live-pct", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--inputs", choices=("archive", "objects"), default="archive",
                    help="link main.o lib.a (default) or every object")
    ap.add_argument("--linkers", default="wasm-ld,irld",
                    help="comma-separated subset of wasm-ld,irld")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="parallel clang processes")
    ap.add_argument("--wasm-ld", default="wasm-ld")
    ap.add_argument("--irld", default=_irld())
    ap.add_argument("--wasm-ld-threads", type=int, default=None,
                    help="pass --threads=N to wasm-ld (default: its own choice)")
    ap.add_argument("--cflags", default="",
                    help="extra clang flags (e.g. -fno-inline); objects go to obj-<hash>/")
    ap.add_argument("--json", metavar="FILE", help="also write the raw figures as JSON")
    ap.add_argument("--cache", action="store_true",
                    help="also measure irld with its object index cache, warm "
                         "(`irld-cached`; the cache is filled by its warm-up)")
    args = ap.parse_args(argv)
    linkers = [x for x in args.linkers.split(",") if x]
    if set(linkers) - {"wasm-ld", "irld", "irld-cached"}:
        ap.error("--linkers: wasm-ld, irld and/or irld-cached")
    if args.cache and "irld-cached" not in linkers:
        linkers.append("irld-cached")
    for tool in ("clang", "llvm-ar", *(["wasm-ld"] if "wasm-ld" in linkers else [])):
        if not shutil.which(tool if tool != "wasm-ld" else args.wasm_ld):
            print(f"c_link: {tool} not found", file=sys.stderr)
            return 2
    p = gen_c.Params(args.funcs, args.files, args.live_pct / 100, args.seed)
    extra = tuple(args.cflags.split())
    info = build(p, args.jobs, extra)
    out_dir = (Path(info["dir"]) / gen_c.obj_dir_name(extra)
               / ("out-objects" if args.inputs == "objects" else "out"))
    out_dir.mkdir(exist_ok=True)
    cache_dir = out_dir / "irld-cache"
    if "irld-cached" in linkers:
        shutil.rmtree(cache_dir, ignore_errors=True)    # the warm-up fills it
    cmds = link_commands(info, args.inputs, out_dir, args.wasm_ld, args.irld,
                         args.wasm_ld_threads,
                         cache_dir if "irld-cached" in linkers else None)
    cmds = {k: v for k, v in cmds.items() if k in linkers}
    res = bench(cmds, args.runs, out_dir)
    expected = info["manifest"]["checksum"]
    check: dict[str, Any] = {"expected": expected, "results": {}, "errors": {}}
    for name, r in res.items():
        if "output" in r:
            try:
                check["results"][name] = run_main(r["output"])
            except Exception as exc:                # a trap, a missing export, ...
                check["errors"][name] = f"{type(exc).__name__}: {exc}"
    values = set(check["results"].values())
    check["ok"] = values == {expected} and not check["errors"]
    print(report(info, res, check if res else {}, args))
    if args.json:
        for r in res.values():
            for run in r["runs"]:
                run.pop("log", None)
        Path(args.json).write_text(json.dumps({"build": {k: v for k, v in info.items()
                                                         if k != "objects"},
                                               "links": res, "run": check}, indent=1,
                                              default=str))
    wl = res.get("wasm-ld")
    if wl is not None and wl["failure"] is not None:
        return 1
    return 0 if check["ok"] or not check["results"] else 1


if __name__ == "__main__":
    sys.exit(main())
