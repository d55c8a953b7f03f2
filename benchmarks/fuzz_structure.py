"""Structure-aware fuzzing campaign: objects, archives and reports mutated in their
decoded shapes and re-encoded with valid checksums (tests/fuzz/structure.py).

    python benchmarks/fuzz_structure.py --count 12000 --seed 1 --jobs 2 [--save DIR]

Case i uses random seed S+i; every case must end with status 0 or 1, a
diagnostic on failure, no traceback, no internal error, no hang (a 10 s alarm
per case) and no output left behind.  A failing case's inputs are copied to
`--save` (default /tmp/irld-structure); the work directory is removed at the
end.  Prints the figures; exit status 1 if any case failed.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))

from mutate import CaseResult, Corpus, build_corpus, seed_texts  # noqa: E402
from structure import build_reports, structure_case  # noqa: E402

_state: dict[str, object] = {}


def _init(work: str, save: str) -> None:
    mine = Path(tempfile.mkdtemp(prefix="worker-", dir=work))
    (mine / "corpus").mkdir()
    corpus = build_corpus(mine / "corpus", seed_texts(ROOT))
    _state.update(work=mine, save=Path(save), corpus=corpus,
                  reports=build_reports(corpus, mine / "corpus"))


def _one(seed: int) -> tuple[int, str, int | None, str | None]:
    work, save = _state["work"], _state["save"]
    corpus, reports = _state["corpus"], _state["reports"]
    assert isinstance(work, Path) and isinstance(save, Path) and isinstance(corpus, Corpus)
    assert isinstance(reports, list)
    case = work / "case"
    case.mkdir(exist_ok=True)
    try:
        desc, res = structure_case(corpus, reports, random.Random(seed), case)
    except Exception as exc:  # noqa: BLE001 - a generator bug must not end the campaign
        desc, res = "harness", CaseResult(None, "", f"harness error: {exc!r}")
    if res.problem is not None:
        keep = save / f"case-{seed}"
        keep.mkdir(parents=True, exist_ok=True)
        for f in case.iterdir():
            shutil.copy(f, keep / f.name)
    shutil.rmtree(case)
    return seed, desc, res.status, res.problem


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=12_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--save", default="/tmp/irld-structure")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    by_kind: collections.Counter[tuple[str, int | None]] = collections.Counter()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="irld-structure-") as work:
        with multiprocessing.Pool(args.jobs, _init, (work, args.save)) as pool:
            for seed, desc, status, problem in pool.imap_unordered(
                    _one, range(args.seed, args.seed + args.count), chunksize=8):
                by_kind[(desc.split(" (")[0], status)] += 1
                if problem is not None:
                    failed += 1
                    print(f"case {seed} ({desc}): {problem}\n", flush=True)
    elapsed = time.perf_counter() - start
    print(f"cases: {args.count} (seeds {args.seed}..{args.seed + args.count - 1}), "
          f"jobs {args.jobs}")
    print("by command and status: " + ", ".join(
        f"{k} -> {s}: {n}" for (k, s), n in sorted(by_kind.items(), key=str)))
    print(f"failures (traceback, internal error, hang, bad status, output left behind): "
          f"{failed}")
    print(f"time: {elapsed:.1f} s ({elapsed / max(args.count, 1) * 1000:.1f} ms a case)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
