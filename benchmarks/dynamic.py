"""Dynamic linking: sizes of side modules (irld against wasm-ld) and the cost of loading them.

A script, not a test.  Prints:

* the side module of tests/dynamic/side.c (clang -fPIC) linked by
  `wasm-ld -shared --experimental-pic` and by `irld link --shared`, in bytes;
* the plugin example (examples/dynamic/plugins): each plugin's bytes and
  the main program's;
* `--split`: the bytes of the main module before and after splitting, for
  examples/dynamic/split and for a generated program whose cold half (200
  functions reached only through a function pointer) moves;
* the median wall time of running the plugin example (three dlopens, eleven
  dlsyms, closures of a plugin's own FFI) under `irld run` (wasmtime) and Node, alternated run by run with
  the static hello example as the baseline of starting a program at all.

    python benchmarks/dynamic.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "examples" / "dynamic" / "plugins"
STDLIB = ROOT / "build" / "stdlib.a"
PIC = ["--target=wasm32-unknown-emscripten", "-fPIC", "-O1", "-fvisibility=default", "-nostdlib"]
MAIN_EXPORTS = ["--export", "malloc", "--export", "print_str", "--export", "print_i32",
                "--export", "newline"]


def irld(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([sys.executable, "-m", "linker.cli.main", *map(str, args)], check=True,
                   cwd=cwd)


def side_sizes(out: Path) -> tuple[int, int] | None:
    if shutil.which("clang") is None or shutil.which("wasm-ld") is None:
        return None
    obj = out / "side.o"
    subprocess.run(["clang", *PIC, "-c", str(ROOT / "tests" / "dynamic" / "side.c"), "-o",
                    str(obj)], check=True)
    subprocess.run(["wasm-ld", "-shared", "--experimental-pic", str(obj), "-o",
                    str(out / "wasm-ld.so.wasm")], check=True)
    irld("link", "--shared", obj, "-o", out / "irld.so.wasm")
    return (out / "wasm-ld.so.wasm").stat().st_size, (out / "irld.so.wasm").stat().st_size


def build_plugins(out: Path) -> dict[str, int]:
    for name in ("main", "shapes", "mapper", "scaler"):
        irld("compile", PLUGINS / f"{name}.ir", "-o", out / f"{name}.o")
    for name in ("shapes", "mapper"):
        irld("link", "--shared", out / f"{name}.o", "-o", out / f"{name}.so.wasm")
    irld("link", "--shared", "--closure-growth=host", out / "scaler.o", "-o",
         out / "scaler.so.wasm")
    irld("link", out / "main.o", STDLIB, *MAIN_EXPORTS, "-o", out / "main.wasm")
    irld("compile", ROOT / "examples" / "hello" / "hello.ir", "-o", out / "hello.o")
    irld("link", out / "hello.o", STDLIB, "-o", out / "hello.wasm")
    return {p.name: p.stat().st_size for p in sorted(out.glob("*.wasm"))}


def cold_program(n: int) -> str:
    """A hot main and `n` cold functions that only a function pointer reaches."""
    lines = ["module bench.split", "extern func print_i32(i32)", "extern func argc() -> i32"]
    for i in range(n):
        lines += [f"func cold{i}(x: i32) -> i32 {{", "  local s: i32, k: i32", "entry:",
                  "  jump loop", "loop:", "  if i32.lt_s(k, x) then body else done", "body:",
                  f"  s = i32.add(i32.mul(s, {i + 3}), i32.xor(k, {i * 7 + 1}))",
                  "  k = i32.add(k, 1)", "  jump loop", "done:", "  return s", "}"]
    calls = [f"  t = call cold{i}(x)\n  s = i32.add(s, t)" for i in range(n)]
    lines += ["func cold_all(x: i32) -> i32 {", "  local s: i32, t: i32", "entry:", *calls,
              "  return s", "}",
              "func main() -> i32 {", "  local f: i32, r: i32", "entry:", "  f = @cold_all",
              "  r = call argc()", "  if i32.gt_s(r, 1) then cold else done", "cold:",
              "  r = call_indirect (i32) -> i32 [f](3)", "  call print_i32(r)", "  jump done",
              "done:", "  return 0", "}"]
    return "\n".join(lines) + "\n"


def split_sizes(out: Path) -> list[tuple[str, int, int, int]]:
    """(program, whole bytes, primary bytes, secondary bytes)."""
    (out / "cold.ir").write_text(cold_program(200))
    rows = []
    for label, source in (("examples/dynamic/split", ROOT / "examples" / "dynamic" / "split" /
                           "main.ir"), ("200 cold functions", out / "cold.ir")):
        irld("compile", source, "-o", out / "split.o")
        irld("link", out / "split.o", STDLIB, "-o", out / "whole.wasm")
        irld("link", "--split=main", out / "split.o", STDLIB, "-o", out / "primary.wasm")
        rows.append((label, (out / "whole.wasm").stat().st_size,
                     (out / "primary.wasm").stat().st_size,
                     (out / "primary.split.wasm").stat().st_size))
    return rows


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not STDLIB.exists():
        print("build/stdlib.a is missing: make stdlib", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="irld-dyn-") as tmp:
        out = Path(tmp)
        sides = side_sizes(out)
        if sides is not None:
            print(f"side.c side module: wasm-ld {sides[0]} B, irld {sides[1]} B "
                  f"(ratio {sides[1] / sides[0]:.2f})")
        sizes = build_plugins(out)
        for name in ("main.wasm", "shapes.so.wasm", "mapper.so.wasm", "scaler.so.wasm",
                     "hello.wasm"):
            print(f"{name:<16} {sizes[name]:>6} B")
        for label, whole, primary, secondary in split_sizes(out):
            print(f"--split=main, {label}: main module {whole} B before, {primary} B after "
                  f"({primary / whole:.2f}), secondary {secondary} B")
        python = [sys.executable, "-m", "linker.cli.main", "run"]
        engines = [("wasmtime", python), ("node", [*python, "--engine", "node"])]
        for engine, run in engines:
            if engine == "node" and shutil.which(os.environ.get("IRLD_NODE", "node")) is None:
                continue
            plugin, hello = [], []
            for _ in range(args.runs):
                plugin.append(timed([*run, "main.wasm"], out))
                hello.append(timed([*run, "hello.wasm"], out))
            p, h = statistics.median(plugin), statistics.median(hello)
            print(f"{engine}: plugin example {p * 1000:.0f} ms, hello {h * 1000:.0f} ms "
                  f"(median of {args.runs}, alternated): loading three plugins costs "
                  f"{(p - h) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
