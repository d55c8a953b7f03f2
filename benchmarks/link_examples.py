"""Benchmark: link every example, and run a loop-heavy program in both tail-call modes.

    .venv/bin/python benchmarks/link_examples.py [--repeat 5] [--no-node]

Not a timed test: prints figures for docs/benchmarks.md ("Link and codegen").
Builds into build/bench/link_examples/: the stdlib archive (`libstd.a`),
each example's objects, and `benchmarks/link_loop.ir`.

1. For each example under examples/ (both tail-call modes): output bytes and
   link time (in-process `linker.link`, best of --repeat, objects and archive
   on disk, nothing written), and whether the output prints expected.out.
   An example that needs the dynamic FFI is skipped with a note while the
   linker lacks it.
2. `link_loop.ir` (a sieve, nested loops with a call per iteration, a
   tail-recursive gcd called in a loop): wall time of a run under wasmtime
   (`linker.host.run`, compilation included; best of --repeat) and under
   Node (`run_node`, process start included), native vs trampoline.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import linker  # noqa: E402
import linker.host  # noqa: E402
from linker.cli.ar_cmd import create  # noqa: E402

BUILD = ROOT / "build" / "bench" / "link_examples"
MODES = ("native", "trampoline")
LOOP = ROOT / "benchmarks" / "link_loop.ir"


def best(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def build_stdlib() -> Path:
    objs = linker.compile_files(sorted((ROOT / "stdlib").glob("*.ir")), BUILD / "stdlib")
    lib = BUILD / "libstd.a"
    lib.unlink(missing_ok=True)
    create(str(lib), objs)
    return lib


def link_examples(lib: Path, repeat: int) -> None:
    print(f"{'example':<12} {'mode':<10} {'wasm bytes':>10} {'link ms':>8}  output")
    for ex in sorted(d for d in (ROOT / "examples").iterdir() if d.is_dir()):
        sources = sorted(ex.glob("*.ir"))
        if not sources:
            continue
        objs = linker.compile_files(sources, BUILD / ex.name)
        args = (ex / "args").read_text().split() if (ex / "args").exists() else []
        expected = (ex / "expected.out").read_bytes() if (ex / "expected.out").exists() else None
        for mode in MODES:
            try:
                seconds, res = best(lambda: linker.link([*objs, lib], tail_calls=mode), repeat)
            except linker.DiagnosticError as exc:
                first = str(exc).splitlines()[0]
                if "ffi_" in str(exc):
                    print(f"{ex.name:<12} {mode:<10} skipped: needs the dynamic FFI ({first})")
                    break
                raise
            wasm = res.wasm  # type: ignore[attr-defined]
            ok = "?"
            if expected is not None:
                run = linker.host.run(wasm, [ex.name, *args], capture=True, stdin=b"")
                ok = "ok" if run.stdout == expected else "WRONG"
            print(f"{ex.name:<12} {mode:<10} {len(wasm):>10,} {seconds * 1000:>8.1f}  {ok}")


def run_loop(lib: Path, repeat: int, node: bool) -> None:
    objs = linker.compile_files([LOOP], BUILD / "loop")
    print()
    print(f"{'link_loop':<12} {'mode':<10} {'wasm bytes':>10} {'wasmtime s':>11} {'node s':>8}")
    outputs = set()
    for mode in MODES:
        out = BUILD / f"link_loop.{mode}.wasm"
        res = linker.link([*objs, lib], out, tail_calls=mode)
        wt_s, wt = best(lambda: linker.host.run(out, ["loop"], capture=True, stdin=b""), repeat)
        assert wt.exit_code == 0, wt.stderr  # type: ignore[attr-defined]
        outputs.add(wt.stdout)  # type: ignore[attr-defined]
        node_s = "-"
        if node:
            try:
                n_s, nd = best(lambda: linker.host.run_node(out, ["loop"]), repeat)
                assert nd.stdout == wt.stdout  # type: ignore[attr-defined]
                node_s = f"{n_s:.2f}"
            except linker.host.NodeNotFoundError:
                pass
        print(f"{'':<12} {mode:<10} {len(res.wasm):>10,} {wt_s:>11.2f} {node_s:>8}")
    assert len(outputs) == 1, "the two modes disagree"
    print("output:", outputs.pop().decode().replace("\n", " "))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-node", action="store_true")
    args = ap.parse_args()
    BUILD.mkdir(parents=True, exist_ok=True)
    print(f"# Python {platform.python_version()}, {platform.machine()}, "
          f"best of {args.repeat}")
    lib = build_stdlib()
    link_examples(lib, args.repeat)
    run_loop(lib, args.repeat, not args.no_node)


if __name__ == "__main__":
    main()
