"""Bad-input fuzzing campaign: mutated IR text, objects and archives through the irld CLI.

    python benchmarks/fuzz_inputs.py --count 10000 --seed 1 --jobs 2 [--save DIR]

Case i uses random seed S+i (tests/fuzz/mutate.py: `fuzz_case`); every case
must end with status 0 or 1, a diagnostic on failure, no traceback, no hang
and no output file left behind.  A failing case's input is copied to
`--save` (default /tmp/irld-bad-inputs).  Prints the figures at the end;
exit status 1 if any case failed.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

import random  # noqa: E402

from mutate import Corpus, build_corpus, fuzz_case, seed_texts  # noqa: E402

_corpus: Corpus | None = None
_work: Path | None = None
_save = Path("/tmp/irld-bad-inputs")


def _init(work: str, save: str) -> None:
    global _corpus, _work, _save
    # Inside the parent's temporary directory, which the parent removes at the end
    # (pool workers exit without running finalizers).
    _work = Path(tempfile.mkdtemp(prefix="worker-", dir=work))
    (_work / "corpus").mkdir()
    _corpus = build_corpus(_work / "corpus", seed_texts(ROOT))
    _save = Path(save)


def _one(seed: int) -> tuple[int, str, int | None, str | None]:
    assert _corpus is not None and _work is not None
    case = _work / "case"
    case.mkdir(exist_ok=True)
    desc, res = fuzz_case(_corpus, random.Random(seed), case)
    if res.problem is not None:
        keep = _save / f"case-{seed}"
        keep.mkdir(parents=True, exist_ok=True)
        for f in case.iterdir():
            shutil.copy(f, keep / f.name)
    for f in case.iterdir():
        f.unlink()
    return seed, desc, res.status, res.problem


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--save", default=str(_save))
    args = ap.parse_args(argv)
    start = time.perf_counter()
    by_kind: collections.Counter[tuple[str, int | None]] = collections.Counter()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="irld-inputs-") as work, \
            multiprocessing.Pool(args.jobs, _init, (work, args.save)) as pool:
        for seed, desc, status, problem in pool.imap_unordered(
                _one, range(args.seed, args.seed + args.count), chunksize=16):
            by_kind[(desc.split(" of ")[0].split(" with ")[0], status)] += 1
            if problem is not None:
                failed += 1
                print(f"case {seed} ({desc}): {problem}\n", flush=True)
    elapsed = time.perf_counter() - start
    print(f"cases: {args.count} (seeds {args.seed}..{args.seed + args.count - 1}), "
          f"jobs {args.jobs}")
    print("by command and status: " + ", ".join(
        f"{k} -> {s}: {n}" for (k, s), n in sorted(by_kind.items(), key=str)))
    print(f"failures (traceback, hang, bad status, output left behind): {failed}")
    print(f"time: {elapsed:.1f} s ({elapsed / max(args.count, 1) * 1000:.1f} ms per case)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
