"""Compile throughput: IR text -> object file, phase by phase and end to end.

Generates (with `genir.py`, deterministic in the seed) an IR text file of at
least `--mb` megabytes of realistic functions, then times

* parse   (`linker.ir.parser.parse_module`),
* verify  (`linker.ir.verify.verify_module`),
* compile (`linker.compile.compile_module`: verify, private renaming, refs,
  body encoding, index; reported without its verify part as "encode"),
* end to end, exactly what `irld compile` does for one file (read, parse,
  verify, compile, atomic write), in this process,

and prints MB/s of IR text, functions/s and the object size.  Each phase is
run `--repeat` times and the best time is kept (the machine may be shared).
`--profile` prints the top of a cProfile of one end-to-end run.

    python benchmarks/compile_throughput.py --mb 5 --seed 1 [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.genir import generate_text  # noqa: E402
from linker.cli.compile_cmd import Job, compile_job, fewer_collections  # noqa: E402
from linker.compile import compile_module  # noqa: E402
from linker.ir.parser import parse_module  # noqa: E402
from linker.ir.verify import verify_module  # noqa: E402

T = TypeVar("T")


def best_of(n: int, fn: Callable[[], T]) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(n):
        with fewer_collections():
            t0 = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - t0)
    assert result is not None
    return best, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="IR compile throughput")
    ap.add_argument("--mb", type=float, default=5.0, help="IR text size in MB (default 5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="runs per phase; best is kept")
    ap.add_argument("--profile", action="store_true", help="cProfile one end-to-end run")
    ap.add_argument("--keep", metavar="FILE.ir", help="also write the generated IR here")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    text = generate_text(args.seed, int(args.mb * 1_000_000))
    gen_s = time.perf_counter() - t0
    size = len(text.encode())
    mb = size / 1e6

    with tempfile.TemporaryDirectory() as tmp:
        src = args.keep or os.path.join(tmp, "bench.ir")
        Path(src).write_text(text, encoding="utf-8")
        out = os.path.join(tmp, "bench.o")

        parse_s, module = best_of(args.repeat, lambda: parse_module(text, src))
        nfuncs = len(module.funcs)
        verify_s, diags = best_of(args.repeat, lambda: verify_module(module))
        assert not diags, diags[:3]
        compile_s, obj = best_of(args.repeat, lambda: compile_module(module))
        encode_s = max(compile_s - verify_s, 0.0)
        del module

        def end_to_end() -> bool:
            outcome = compile_job(Job(src, out))
            assert outcome.ok, outcome.messages[:2000]
            return True

        e2e_s, _ = best_of(args.repeat, end_to_end)
        obj_size = os.path.getsize(out)
        assert obj_size == len(obj)

        print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"{platform.machine()}")
        print(f"input: {size:,} bytes of IR text, {nfuncs:,} functions "
              f"(seed {args.seed}, generated in {gen_s:.2f} s)")
        print(f"object: {obj_size:,} bytes ({obj_size / size:.2f} x the text)")
        print(f"{'phase':<28}{'seconds':>9}{'MB/s':>9}{'funcs/s':>11}")
        rows = [("parse", parse_s), ("verify", verify_s),
                ("encode (rename+refs+bodies)", encode_s),
                ("compile_module (verify+enc)", compile_s),
                ("end to end (irld compile)", e2e_s)]
        for name, secs in rows:
            print(f"{name:<28}{secs:>9.3f}{mb / secs:>9.2f}{nfuncs / secs:>11,.0f}")

        if args.profile:
            prof = cProfile.Profile()
            with fewer_collections():
                prof.enable()
                end_to_end()
                prof.disable()
            print()
            pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
