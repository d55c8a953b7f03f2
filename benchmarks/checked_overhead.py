"""Benchmark: the run-time cost of `irld link --checked` on the loop kernels.

    .venv/bin/python benchmarks/checked_overhead.py [--repeat 5] [--no-node]

Not a timed test: prints figures for docs/benchmarks.md ("Checked mode").
Each kernel of benchmarks/loops/ (standalone IR programs) is compiled once
and linked twice, plain and `--checked`; the two outputs are run alternately
(`linker.host.run` on wasmtime, compilation included; `run_node` under Node,
process start included), --repeat times each, and the medians and their
ratio are printed with the code size of both links.  Both runs must exit
with the same status (the kernels' checksums), or the script fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import linker  # noqa: E402
import linker.host  # noqa: E402

BUILD = ROOT / "build" / "bench" / "checked"
LOOPS = ROOT / "benchmarks" / "loops"


def timed(fn) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    code = fn()
    return time.perf_counter() - start, code


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-node", action="store_true")
    args = ap.parse_args()
    BUILD.mkdir(parents=True, exist_ok=True)
    engines = ["wasmtime"] + ([] if args.no_node else ["node"])
    print(f"{'kernel':14} {'engine':9} {'plain s':>8} {'checked s':>10} {'ratio':>6} "
          f"{'plain B':>8} {'checked B':>10}")
    for src in sorted(LOOPS.glob("*.ir")):
        obj = BUILD / (src.stem + ".o")
        linker.compile_files([src], BUILD)
        outs = {}
        for label, checked in (("plain", False), ("checked", True)):
            out = BUILD / f"{src.stem}.{label}.wasm"
            linker.link([obj], out, checked=checked)
            outs[label] = out
        for engine in engines:
            times: dict[str, list[float]] = {"plain": [], "checked": []}
            codes = set()
            for _ in range(args.repeat):
                for label in ("plain", "checked"):     # alternate: the machine is noisy
                    path = outs[label]
                    if engine == "wasmtime":
                        t, code = timed(lambda: linker.host.run(path, [src.stem],
                                                                capture=True).exit_code)
                    else:
                        t, code = timed(lambda: linker.host.run_node(path, [src.stem]).exit_code)
                    times[label].append(t)
                    codes.add(code)
            if len(codes) != 1:
                print(f"{src.stem}: exit statuses differ: {codes}", file=sys.stderr)
                return 1
            plain, checked = (statistics.median(times[k]) for k in ("plain", "checked"))
            print(f"{src.stem:14} {engine:9} {plain:8.3f} {checked:10.3f} "
                  f"{checked / plain:6.2f} {outs['plain'].stat().st_size:8} "
                  f"{outs['checked'].stat().st_size:10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
