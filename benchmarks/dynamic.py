"""Dynamic linking: sizes of side modules (irld against wasm-ld) and the cost of loading them.

A script, not a test.  Prints:

* the side module of tests/dynamic/side.c (clang -fPIC) linked by
  `wasm-ld -shared --experimental-pic` and by `irld link --shared`, in bytes;
* the plugin example (examples/dynamic/plugins): each plugin's bytes and
  the main program's;
* the median wall time of running the plugin example (two dlopens, seven
  dlsyms) under `irld run` (wasmtime) and Node, alternated run by run with
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
    for name in ("main", "shapes", "mapper"):
        irld("compile", PLUGINS / f"{name}.ir", "-o", out / f"{name}.o")
    for name in ("shapes", "mapper"):
        irld("link", "--shared", out / f"{name}.o", "-o", out / f"{name}.so.wasm")
    irld("link", out / "main.o", STDLIB, *MAIN_EXPORTS, "-o", out / "main.wasm")
    irld("compile", ROOT / "examples" / "hello" / "hello.ir", "-o", out / "hello.o")
    irld("link", out / "hello.o", STDLIB, "-o", out / "hello.wasm")
    return {p.name: p.stat().st_size for p in sorted(out.glob("*.wasm"))}


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
        for name in ("main.wasm", "shapes.so.wasm", "mapper.so.wasm", "hello.wasm"):
            print(f"{name:<16} {sizes[name]:>6} B")
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
                  f"(median of {args.runs}, alternated): loading two plugins costs "
                  f"{(p - h) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
