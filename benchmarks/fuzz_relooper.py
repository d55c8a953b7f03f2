"""Differential fuzzer for the relooper, after binaryen's scripts/fuzz_relooper.py.

Each case is a random CFG (2-250 blocks, random density, every other one
with switches, a third in a style that is mostly irreducible) and a list of
branch decisions.  The reference trace comes from walking the graph in
Python (``relooper.testing.reference_trace``); the structured tree is
printed as a WAT function whose blocks call the imports ``trace(id)`` and
``next() -> i32``, assembled with ``wasmtime.wat2wasm`` and run on
wasmtime.  The two traces, cut at the same step budget, must be identical.
Each case also checks that branch depths are in range, that no block is
emitted twice and that the dispatch variable is used exactly when the graph
is irreducible (by Hecht-Ullman T1/T2, independent of the relooper).

Cases are batched, one wasm module per batch and one function per graph,
to amortise compile time.  Case ``i`` of seed ``S`` is always the same
graph, so a failure is reproduced with ``--seed S --start i --count 1``.

    python benchmarks/fuzz_relooper.py --seed 1 --count 100000 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import wasmtime  # noqa: E402

from relooper import CFG, Code, Node, instructions, structure, structure_naive, uses_dispatch  # noqa: E402
from relooper.testing import (  # noqa: E402
    Spec,
    check_depths,
    is_reducible,
    random_decisions,
    random_spec,
    reference_trace,
    spec_to_cfg,
    wat_function,
    wat_module,
)

RUNS_PER_GRAPH = 2
BATCH = 250

Structurer = Callable[[CFG], list[Node]]


def make_case(seed: int, index: int) -> dict[str, Any]:
    """Case ``index`` of ``seed``: a graph, decision lists and a budget."""
    rng = random.Random(f"relooper-fuzz/{seed}/{index}")
    size = rng.randint(2, 250)
    spec = random_spec(rng, size, switches=index % 2 == 1)
    runs = [random_decisions(rng) for _ in range(RUNS_PER_GRAPH)]
    return {"seed": seed, "index": index, "spec": spec, "runs": runs, "budget": 2 * size + 40}


class _Budget(Exception):
    """The step budget ran out (a trap that both sides agree on)."""


class _Host:
    """The imports: ``trace`` records blocks, ``next`` hands out decisions."""

    def __init__(self) -> None:
        self.trace: list[int] = []
        self.decisions: Sequence[int] = (0,)
        self.used = 0
        self.budget = 0

    def reset(self, decisions: Sequence[int], budget: int) -> None:
        self.trace, self.decisions, self.used, self.budget = [], decisions, 0, budget

    def on_trace(self, block: int) -> None:
        if len(self.trace) >= self.budget:
            raise _Budget()
        self.trace.append(block)

    def on_next(self) -> int:
        decision = self.decisions[self.used % len(self.decisions)]
        self.used += 1
        return decision


def _static_problems(spec: Spec, tree: list[Node]) -> list[str]:
    problems: list[str] = []
    try:
        check_depths(tree)
    except AssertionError as error:
        problems.append(f"bad depth: {error}")
    blocks = [i.block_id for i in instructions(tree) if isinstance(i, Code)]
    if len(blocks) != len(set(blocks)):
        problems.append("a block is emitted twice")
    if uses_dispatch(tree) == is_reducible(spec):
        problems.append(f"dispatch used: {uses_dispatch(tree)}, reducible: {is_reducible(spec)}")
    return problems


def check_cases(cases: Sequence[dict[str, Any]], structurer: Structurer = structure) -> list[dict[str, Any]]:
    """Run the cases; return the failures (each case with a ``problem``)."""
    failures: list[dict[str, Any]] = []
    functions: list[str] = []
    built: list[dict[str, Any]] = []
    for case in cases:
        try:
            tree = structurer(spec_to_cfg(case["spec"]))
        except Exception:
            failures.append({**case, "problem": traceback.format_exc()})
            continue
        problems = _static_problems(case["spec"], tree) if structurer is structure else []
        if problems:
            failures.append({**case, "problem": "; ".join(problems)})
            continue
        functions.append(wat_function(tree, f"g{len(built)}"))
        built.append(case)
    failures += _run(built, wat_module(functions))
    return failures


def _run(cases: list[dict[str, Any]], wat: str) -> list[dict[str, Any]]:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, bytes(wasmtime.wat2wasm(wat)))
    host = _Host()
    linker = wasmtime.Linker(engine)
    i32 = wasmtime.ValType.i32()
    linker.define_func("env", "trace", wasmtime.FuncType([i32], []), host.on_trace)
    linker.define_func("env", "next", wasmtime.FuncType([], [i32]), host.on_next)
    exports = linker.instantiate(store, module).exports(store)
    failures: list[dict[str, Any]] = []
    for number, case in enumerate(cases):
        function = exports[f"g{number}"]
        assert isinstance(function, wasmtime.Func)
        for decisions in case["runs"]:
            problem = _compare(store, function, host, case, decisions)
            if problem is not None:
                failures.append({**case, "problem": problem})
                break
    return failures


def _compare(
    store: wasmtime.Store, function: wasmtime.Func, host: _Host, case: dict[str, Any], decisions: list[int]
) -> str | None:
    expected, finished = reference_trace(case["spec"], decisions, case["budget"])
    host.reset(decisions, case["budget"])
    try:
        function(store)
        reached_exit = True
    except _Budget:
        reached_exit = False
    except wasmtime.Trap as trap:
        return f"decisions {decisions}: trap {trap}"
    if host.trace != expected or reached_exit != finished:
        return f"decisions {decisions}: wasm trace {host.trace} (exit {reached_exit}), expected {expected} (exit {finished})"
    return None


def _batch(job: tuple[int, int, int, bool]) -> tuple[int, list[dict[str, Any]]]:
    seed, start, count, naive = job
    cases = [make_case(seed, i) for i in range(start, start + count)]
    failures = check_cases(cases, structure_naive if naive else structure)
    return count, failures


def _jobs(seed: int, start: int, count: int, naive: bool) -> Iterator[tuple[int, int, int, bool]]:
    for first in range(start, start + count, BATCH):
        yield seed, first, min(BATCH, start + count - first), naive


def _results(jobs: list[tuple[int, int, int, bool]], workers: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    if workers <= 1:
        yield from map(_batch, jobs)
        return
    # Spawn, not fork: a forked child of a process that has used wasmtime
    # can deadlock on locks held by the engine's compiler threads.
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(_batch, jobs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--start", type=int, default=0, help="index of the first case")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--naive", action="store_true", help="fuzz the naive dispatcher instead")
    parser.add_argument("--failures", type=Path, default=Path("relooper-fuzz-failures"))
    args = parser.parse_args(argv)
    jobs = list(_jobs(args.seed, args.start, args.count, args.naive))
    done = failed = 0
    began = time.monotonic()
    for count, failures in _results(jobs, args.jobs):
        done += count
        failed += len(failures)
        _save(args.failures, failures)
        rate = done / max(time.monotonic() - began, 1e-9)
        print(f"{done}/{args.count} graphs, {failed} failed, {rate:.0f}/s", file=sys.stderr, flush=True)
    print(f"{done - failed} passed, {failed} failed")
    if failed:
        print(f"failing graphs saved in {args.failures}/")
    return 1 if failed else 0


def _save(directory: Path, failures: list[dict[str, Any]]) -> None:
    for failure in failures:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"seed{failure['seed']}-case{failure['index']}.json"
        path.write_text(json.dumps(failure, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
