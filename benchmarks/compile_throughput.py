"""Compile throughput: IR text -> object file, phase by phase and end to end.

Generates (with `genir.py`, deterministic in the seed) an IR text file of at
least `--mb` megabytes of realistic functions, then times

* parse   (`linker.ir.parser.parse_module`),
* verify  (`linker.ir.verify.verify_module`, in full as for a module built
  with the Python API, and as `irld compile` runs it, given the bodies the
  parser typed: only their `@sym`s are checked),
* compile (`linker.compile.compile_module`: verify, then refs, the relooper
  and code generation, the IR encoding, the object; reported without its
  verify part as "encode"),
* end to end, exactly what `irld compile` does for one file (read, parse,
  verify, compile, atomic write), in this process,

and prints MB/s of IR text, functions/s and the object size.  Each phase is
run `--repeat` times and the best wall time and the best CPU time (user +
system, steadier on a shared machine) are kept.
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
from linker.cli.compile_cmd import Job, compile_job  # noqa: E402
from linker.gcpause import no_cyclic_gc  # noqa: E402
from linker.compile import compile_module  # noqa: E402
from linker.ir.parser import parse_module_checked  # noqa: E402
from linker.ir.verify import verify_module  # noqa: E402

T = TypeVar("T")


def best_of(n: int, fn: Callable[[], T]) -> tuple[float, float, T]:
    """The best wall time and the best CPU time (user + system) of `n` runs, and the result."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(n):
        with no_cyclic_gc():
            t0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
    assert result is not None
    return best, best_cpu, result


def reference_loop() -> float:
    """CPU seconds (best of 3) of a fixed interpreted workload: a loop of
    integer arithmetic, a dict update and a list append per step, 2,000,000
    steps.  The MB/s figures are absolute, and this shared machine's speed
    drifts by 2x from day to day (a whole C link, wasm-ld's included, moved
    with it), so a run prints this beside them: compare throughputs of two
    days by their MB/s times this figure."""
    best = float("inf")
    for _ in range(3):
        c0 = time.process_time()
        counts: dict[int, int] = {}
        out: list[int] = []
        acc = 0
        for i in range(2_000_000):
            acc = (acc * 31 + i) & 0xFFFF
            counts[acc & 1023] = i
            out.append(acc)
        best = min(best, time.process_time() - c0)
    return best


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

        parse_s, parse_c, (module, parsed) = best_of(
            args.repeat, lambda: parse_module_checked(text, src))
        nfuncs = len(module.funcs)
        verify_s, verify_c, diags = best_of(args.repeat, lambda: verify_module(module))
        assert not diags, diags[:3]
        vparsed_s, vparsed_c, diags = best_of(args.repeat, lambda: verify_module(module, parsed))
        assert not diags, diags[:3]
        compile_s, compile_c, obj = best_of(args.repeat, lambda: compile_module(module))
        encode_s = max(compile_s - verify_s, 0.0)
        encode_c = max(compile_c - verify_c, 0.0)
        del module, parsed

        def end_to_end() -> bool:
            outcome = compile_job(Job(src, out))
            assert outcome.ok, outcome.messages[:2000]
            return True

        e2e_s, e2e_c, _ = best_of(args.repeat, end_to_end)
        obj_size = os.path.getsize(out)
        assert obj_size == len(obj)

        print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"{platform.machine()}; reference loop {reference_loop():.3f} s CPU "
              f"(`reference_loop`: this machine's speed today)")
        print(f"input: {size:,} bytes of IR text, {nfuncs:,} functions "
              f"(seed {args.seed}, generated in {gen_s:.2f} s)")
        print(f"object: {obj_size:,} bytes ({obj_size / size:.2f} x the text)")
        # CPU time is steadier than wall time on a shared machine.
        print(f"{'phase':<28}{'seconds':>9}{'MB/s':>9}{'funcs/s':>11}{'CPU s':>9}{'CPU MB/s':>10}")
        rows = [("parse", parse_s, parse_c), ("verify", verify_s, verify_c),
                ("verify (parsed bodies)", vparsed_s, vparsed_c),
                ("encode (codegen+IR+object)", encode_s, encode_c),
                ("compile_module (verify+enc)", compile_s, compile_c),
                ("end to end (irld compile)", e2e_s, e2e_c)]
        for name, secs, cpu in rows:
            print(f"{name:<28}{secs:>9.3f}{mb / secs:>9.2f}{nfuncs / secs:>11,.0f}"
                  f"{cpu:>9.3f}{mb / max(cpu, 1e-9):>10.2f}")

        if args.profile:
            prof = cProfile.Profile()
            with no_cyclic_gc():
                prof.enable()
                end_to_end()
                prof.disable()
            print()
            pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
