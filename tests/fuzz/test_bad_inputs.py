"""Bad-input fuzzing through the CLI: mutated IR text, object files and archives.

`CASES` cases in batches (seeded; `IRLD_FUZZ_SEED` changes the seeds); each
must end with status 0 or 1, a diagnostic on failure, no traceback, no hang
and no output file left behind (tests/fuzz/mutate.py).  A few go through a
real `irld` process.  `benchmarks/fuzz_inputs.py` runs long campaigns.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness import env_int
from mutate import Corpus, build_corpus, fuzz_case, mutate_bytes, mutate_text, run_case, \
    run_case_subprocess, seed_texts

ROOT = Path(__file__).resolve().parents[2]
SEED = env_int("IRLD_FUZZ_SEED", 1_000_000)
CASES = env_int("IRLD_FUZZ_INPUTS", 480)
BATCH = 60


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("corpus"), seed_texts(ROOT))


@pytest.mark.parametrize("batch", range(CASES // BATCH))
def test_mutated_inputs_fail_cleanly(corpus: Corpus, tmp_path: Path, batch: int) -> None:
    rng = random.Random(SEED + batch)
    failures = []
    for i in range(BATCH):
        desc, res = fuzz_case(corpus, rng, tmp_path)
        if res.problem is not None:
            failures.append(f"case {i} ({desc}): {res.problem}")
    assert not failures, "\n".join(failures)


def test_mutants_through_the_irld_process(corpus: Corpus, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    src = tmp_path / "bad.ir"
    src.write_bytes(mutate_text(corpus.texts[0], rng))
    obj = tmp_path / "bad.o"
    obj.write_bytes(mutate_bytes(corpus.objects[0].read_bytes(), rng))
    out = tmp_path / "out.wasm"
    for argv, outputs in ((["compile", str(src), "-o", str(tmp_path / "x.o")],
                           [tmp_path / "x.o"]),
                          (["dump", str(obj)], []),
                          (["link", str(obj), str(corpus.objects[1]), "--no-entry", "-o",
                            str(out)], [out])):
        res = run_case_subprocess(argv, outputs)
        assert res.problem is None, f"irld {' '.join(argv)}: {res.problem}"


def test_harness_notices_a_traceback(tmp_path: Path) -> None:
    """The judge itself: a command that raises is reported, a clean failure is not."""
    res = run_case(["dump", str(tmp_path / "missing.o")])
    assert res.problem is None and res.status == 1
    res = run_case(["compile"])  # a usage error: status 2
    assert res.problem is not None and "exit status 2" in res.problem
