"""End-to-end compile throughput, A/B: this checkout against another tree.

    git worktree add /tmp/base REV   (or: git archive REV | tar -x -C /tmp/base)
    .venv/bin/python benchmarks/compile_ab.py --base /tmp/base [--mb 5] [--rounds 6]

Generates the IR of `compile_throughput.py` (`genir.py`, seed 1) into a
file, then runs `compile_job` on it (what `irld compile` does for one file:
read, parse, verify, compile, write) in a fresh process per run, with the
base tree's `linker` or this checkout's, alternating A B / B A for --rounds
rounds (the machine is shared and noisy).  Prints each run's wall and CPU
time (user + system of the compile, steadier under load) with the load
average, then the medians, and checks both trees write the same object.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from benchmarks.genir import generate_text  # noqa: E402

# Run in the child: one compile_job with the tree on sys.path[0], after the
# parser's tables are loaded (as the benchmark's first phase does).
_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from linker.cli.compile_cmd import Job, compile_job
from linker.gcpause import no_cyclic_gc
from linker.ir.parser import parse_module
parse_module("module w\\n", "w.ir")
with no_cyclic_gc():
    t0, c0 = time.perf_counter(), time.process_time()
    outcome = compile_job(Job(sys.argv[2], sys.argv[3]))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
assert outcome.ok, outcome.messages[:2000]
print(wall, cpu)
"""


def run_one(tree: str, src: str, out: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of one compile with `tree`, and the object's digest."""
    res = subprocess.run([sys.executable, "-c", _CHILD, tree, src, out],
                         capture_output=True, text=True, check=True)
    wall, cpu = (float(x) for x in res.stdout.split())
    digest = hashlib.sha256(Path(out).read_bytes()).hexdigest()[:16]
    return wall, cpu, digest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="end-to-end compile A/B")
    ap.add_argument("--base", required=True, help="the other tree (a checkout of irld)")
    ap.add_argument("--mb", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args(argv)
    trees = {"base": str(Path(args.base).resolve()), "new": str(HERE)}
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "bench.ir")
        Path(src).write_text(generate_text(1, int(args.mb * 1_000_000)), encoding="utf-8")
        mb = os.path.getsize(src) / 1e6
        runs: dict[str, list[tuple[float, float, str]]] = {k: [] for k in trees}
        for i in range(args.rounds):
            for name in (list(trees) if i % 2 == 0 else list(reversed(trees))):
                wall, cpu, digest = run_one(trees[name], src, os.path.join(tmp, name + ".o"))
                runs[name].append((wall, cpu, digest))
                print(f"round {i} {name:4s} wall {wall:.3f} s  CPU {cpu:.3f} s "
                      f"({mb / cpu:.3f} MB/s)  load {os.getloadavg()[0]:.2f}", flush=True)
    for name, rs in runs.items():
        wall = statistics.median(r[0] for r in rs)
        cpu = statistics.median(r[1] for r in rs)
        print(f"{name:4s} median wall {wall:.3f} s ({mb / wall:.3f} MB/s), "
              f"CPU {cpu:.3f} s ({mb / cpu:.3f} MB/s)")
    digests = {r[2] for rs in runs.values() for r in rs}
    print("objects: " + ("identical" if len(digests) == 1 else f"DIFFER {sorted(digests)}"))
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
