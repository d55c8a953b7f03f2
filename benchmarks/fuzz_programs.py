"""Differential fuzzing campaign: random IR programs on the interpreter, wasmtime and Node.

    python benchmarks/fuzz_programs.py --count 5000 --seed 1 --jobs 2 [--size 1]
        [--no-minimise] [--regressions DIR]

Each program (tests/fuzz/progen.py, seed S, S+1, ...) is compiled, linked in
both tail-call modes, each without and with `--lto`, and run on all engines
(tests/fuzz/harness.py).  `make fuzz-lto` runs 5,000.  A
disagreement is minimised (delta debugging over functions, blocks and
statements) and saved under tests/fuzz/regressions/seed-<N>/, where
tests/fuzz/test_regressions.py replays it.  Prints the figures at the end
(programs, disagreements, generator errors, outcomes, time); exit status 1
if anything disagreed.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

from harness import REGRESSIONS, Checker, GeneratorError, minimise, save_regression  # noqa: E402
from progen import generate  # noqa: E402

_checker: Checker | None = None
_options: dict[str, Any] = {}


def _init(options: dict[str, Any], work: str) -> None:
    global _checker
    # Every temporary of this worker goes inside the parent's directory, which the
    # parent removes at the end (pool workers exit without running finalizers).
    tempfile.tempdir = work
    _checker = Checker()
    _options.update(options)


def _one(seed: int) -> tuple[int, str, str | None, str]:
    """(seed, status, trap category, detail); status ok / fail / generator."""
    assert _checker is not None
    p = generate(seed, _options["size"])
    try:
        v = _checker.check(p.modules, p.archived)
    except GeneratorError as exc:
        return seed, "generator", None, str(exc)
    category = v.reference.category if v.reference is not None else None
    if v.ok:
        return seed, "ok", category, ""
    detail = "\n".join(v.problems)
    if _options["minimise"]:
        checker = _checker

        def still_fails(mods: dict[str, str]) -> bool:
            return not checker.check(mods, p.archived).ok

        small = minimise(p.modules, p.archived, still_fails)
        path = save_regression(f"seed-{seed}", small, p.archived,
                               f"seed {seed}: {detail.splitlines()[0]}",
                               Path(_options["regressions"]))
        detail += f"\nminimised program saved in {path}"
    return seed, "fail", category, detail


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--size", type=int, default=1, help="scales functions and blocks per program")
    ap.add_argument("--no-minimise", dest="minimise", action="store_false")
    ap.add_argument("--regressions", default=str(REGRESSIONS))
    args = ap.parse_args(argv)
    options = {"size": args.size, "minimise": args.minimise, "regressions": args.regressions}
    start = time.perf_counter()
    counts: collections.Counter[str] = collections.Counter()
    outcomes: collections.Counter[str] = collections.Counter()
    seeds = range(args.seed, args.seed + args.count)
    with tempfile.TemporaryDirectory(prefix="irld-programs-") as work, \
            multiprocessing.Pool(args.jobs, _init, (options, work)) as pool:
        for i, (seed, status, category, detail) in enumerate(
                pool.imap_unordered(_one, seeds, chunksize=4), 1):
            counts[status] += 1
            outcomes[category or "no trap"] += 1
            if status != "ok":
                print(f"seed {seed}: {status}\n{detail}\n", flush=True)
            if i % 500 == 0:
                print(f"... {i} programs, {time.perf_counter() - start:.0f} s, "
                      f"{counts['fail']} disagreements", flush=True)
    elapsed = time.perf_counter() - start
    print(f"programs: {args.count} (seeds {args.seed}..{args.seed + args.count - 1}, "
          f"size {args.size}), jobs {args.jobs}")
    probe = Checker()          # the engines this machine has, as the workers see them
    skipped = ", ".join(f"{k}: {v}" for k, v in probe.skipped.items()) or "none"
    print(f"engines skipped: {skipped}; with --lto: {probe.lto}")
    probe.close()
    print(f"disagreements: {counts['fail']}, generator errors: {counts['generator']}")
    print("outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
    print(f"time: {elapsed:.1f} s ({elapsed / max(args.count, 1) * 1000:.0f} ms per program)")
    return 1 if counts["fail"] or counts["generator"] else 0


if __name__ == "__main__":
    sys.exit(main())
