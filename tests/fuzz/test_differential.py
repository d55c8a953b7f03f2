"""Differential test: random IR programs on the interpreter, wasmtime and Node, both tail-call modes.

`PROGRAMS` programs (seeds `SEED`, `SEED+1`, ...) in batches of `BATCH`, so
xdist spreads them over the workers and each worker keeps one Node process.
`IRLD_FUZZ_SEED` / `IRLD_FUZZ_PROGRAMS` change the seeds and the count;
`benchmarks/fuzz_programs.py` runs long campaigns and minimises failures
into tests/fuzz/regressions/ (replayed by test_regressions.py).
"""

from __future__ import annotations

import pytest

from harness import Checker, env_int
from progen import generate

SEED = env_int("IRLD_FUZZ_SEED", 1_000_000)
PROGRAMS = env_int("IRLD_FUZZ_PROGRAMS", 320)
BATCH = 20


@pytest.mark.parametrize("batch", range((PROGRAMS + BATCH - 1) // BATCH))
def test_random_programs_agree(checker: Checker, batch: int) -> None:
    failures = []
    first = SEED + batch * BATCH
    for seed in range(first, min(first + BATCH, SEED + PROGRAMS)):
        p = generate(seed)
        verdict = checker.check(p.modules, p.archived)
        if not verdict.ok:
            failures.append(f"seed {seed}:\n" + "\n".join(verdict.problems))
    assert not failures, "\n\n".join(failures)


def test_programs_cover_traps_and_exits(checker: Checker) -> None:
    """The generator's mix: most programs run to the end, some trap, some panic."""
    categories = set()
    panics = 0
    # The batches above check these programs on every engine; the mix needs only what
    # each program does.
    for seed in range(SEED, SEED + 40):
        p = generate(seed)
        ref = checker.reference(p.modules, p.archived)
        categories.add(ref.category)
        panics += ref.panic is not None
    assert None in categories and len(categories) >= 2 and panics >= 1


def test_every_engine_ran(checker: Checker) -> None:
    """A missing engine is reported (skipped, with the reason), never silently dropped:
    without Node the batches above compared the interpreter with wasmtime only."""
    if checker.skipped:
        pytest.skip("differential runs without " + checker.engines.split("; ", 1)[1])
    assert checker.node is not None



def test_closure_results_are_written_when_fuel_runs_out(checker: Checker) -> None:
    """Seed 3621: a closure handler left its result unwritten when out of fuel, so the
    caller read the FFI stack's leftovers, an f32 NaN whose sign wasmtime and the
    interpreter choose differently (both allowed by the wasm spec). Every handler now
    writes its result on both paths, and the program agrees everywhere."""
    p = generate(3621, 1)
    assert p.ffi
    verdict = checker.check(p.modules, p.archived)
    assert verdict.ok, "\n".join(verdict.problems)
    handlers = [fun for text in p.modules.values() for fun in text.split("\nfunc ffun")[1:]]
    assert handlers
    for fun in handlers:
        go, out = fun.split("\n}", 1)[0].split("\nout:\n", 1)
        writes_result = any(line.split(".store", 1)[-1].startswith(("(ret,", "8(ret,", "16(ret,"))
                            for line in go.splitlines())
        assert ("(ret, 0" in out) == writes_result, fun
