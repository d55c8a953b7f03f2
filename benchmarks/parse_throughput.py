"""Parse throughput of the IR text format: prints MB/s, not a timed test.

    python benchmarks/parse_throughput.py                 # generated 5 MB module
    python benchmarks/parse_throughput.py --mb 10 --repeat 5
    python benchmarks/parse_throughput.py some.ir other.ir

The generated input is a module from `tests/ir/genmodule.py` (random, every
construct) grown until it reaches the requested size.  For each input it
reports parse_module's wall-clock and CPU time (best of --repeat), and the
printer's speed.  The parse includes both passes (syntax and typing).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "ir")]

from genmodule import gen_module  # noqa: E402

from linker.ir.parser import parse_module  # noqa: E402
from linker.ir.printer import print_module  # noqa: E402


def generated_text(mb: float, seed: int) -> str:
    n = 200
    while True:
        text = print_module(gen_module(seed, n_funcs=n))
        if len(text) >= mb * 1e6:
            return text
        n = int(n * mb * 1e6 / max(len(text), 1) * 1.05) + 1


def measure(name: str, text: str, repeat: int) -> None:
    mb = len(text.encode("utf-8")) / 1e6
    best_wall = best_cpu = float("inf")
    module = None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        module = parse_module(text, name)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    assert module is not None
    w0 = time.perf_counter()
    print_module(module)
    print_time = time.perf_counter() - w0
    print(f"{name}: {mb:.2f} MB, {len(module.funcs)} functions")
    print(f"  parse  {mb / best_wall:6.2f} MB/s wall  {mb / best_cpu:6.2f} MB/s cpu  "
          f"({best_wall:.2f} s, best of {repeat})")
    print(f"  print  {mb / print_time:6.2f} MB/s wall")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", help="IR files to parse (default: a generated module)")
    ap.add_argument("--mb", type=float, default=5.0, help="size of the generated module")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    parse_module("module warm\n", "warm.ir")  # build (or load) the parser tables once
    if args.files:
        for f in args.files:
            measure(f, Path(f).read_text(encoding="utf-8"), args.repeat)
    else:
        measure(f"generated(seed={args.seed})", generated_text(args.mb, args.seed), args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
