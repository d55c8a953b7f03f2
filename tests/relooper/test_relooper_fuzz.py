"""Differential fuzzing (benchmarks/fuzz_relooper.py) in the normal test run,
property tests with shrinking on a Python tree interpreter, and wabt
validation of the printed WAT."""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

from relooper import (
    CFG,
    BrIf,
    BrTable,
    Code,
    Exit,
    IfStart,
    Node,
    instructions,
    structure,
    structure_naive,
    uses_dispatch,
)
from relooper.testing import (
    Spec,
    check_depths,
    is_reducible,
    random_spec,
    reference_trace,
    run_tree,
    spec_to_cfg,
    wat_function,
    wat_module,
)

ROOT = Path(__file__).resolve().parents[2]
SEED = 20_240_601


def _load_fuzzer() -> ModuleType:
    name = "fuzz_relooper"
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "fuzz_relooper.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzzer()


def _report(failures: list[dict[str, Any]]) -> str:
    first = failures[0]
    return f"{len(failures)} failures; first: case {first['index']}: {first['problem'][:2000]}"


def test_2000_random_graphs_match_the_reference_on_wasmtime() -> None:
    failures: list[dict[str, Any]] = []
    for start in range(0, 2000, 250):
        cases = [fuzz.make_case(SEED, i) for i in range(start, start + 250)]
        failures += fuzz.check_cases(cases)
    assert not failures, _report(failures)


def test_naive_dispatcher_matches_the_reference_on_wasmtime() -> None:
    cases = [fuzz.make_case(SEED + 1, i) for i in range(300)]
    failures = fuzz.check_cases(cases, structure_naive)
    assert not failures, _report(failures)


def test_the_corpus_mixes_reducible_and_irreducible_graphs_with_switches() -> None:
    cases = [fuzz.make_case(SEED, i) for i in range(300)]
    reducible = sum(is_reducible(c["spec"]) for c in cases)
    assert 0.3 * len(cases) < reducible < 0.9 * len(cases)
    sizes = [len(c["spec"]) for c in cases]
    assert min(sizes) >= 2 and max(sizes) <= 250
    switches = sum(any(t[0] == "switch" for t in c["spec"]) for c in cases)
    assert switches >= len(cases) // 3


def test_a_wrong_tree_is_caught_and_saved_as_json(tmp_path: Path) -> None:
    def broken(cfg: CFG) -> list[Node]:
        return [Exit("x")]

    cases = [fuzz.make_case(SEED, i) for i in range(20)]
    failures = fuzz.check_cases(cases, broken)
    assert len(failures) == len(cases)  # not even block 0 is traced
    fuzz._save(tmp_path, failures)
    saved = json.loads(next(tmp_path.iterdir()).read_text())
    assert {"spec", "runs", "budget", "problem", "seed", "index"} <= saved.keys()


def test_fuzz_script_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = fuzz.main(["--seed", "5", "--count", "30", "--jobs", "1", "--failures", str(tmp_path)])
    assert status == 0
    assert capsys.readouterr().out.splitlines()[-1] == "30 passed, 0 failed"


specs = st.integers(min_value=2, max_value=40).flatmap(
    lambda size: st.lists(
        st.one_of(
            st.tuples(st.just("jump"), st.integers(0, size - 1)).map(list),
            st.tuples(st.just("branch"), st.integers(0, size - 1), st.integers(0, size - 1)).map(list),
            st.tuples(
                st.just("switch"),
                st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 5)), max_size=6),
                st.integers(0, size - 1),
                st.integers(1, 8),
            ).map(_switch_from_pairs := lambda t: ["switch", _group(t[1]), t[2], t[3]]),
            st.just(["exit"]),
        ),
        min_size=size,
        max_size=size,
    )
)


def _group(pairs: list[tuple[int, int]]) -> list[list[Any]]:
    by_value = {value: target for target, value in pairs}
    grouped: dict[int, list[int]] = {}
    for value, target in sorted(by_value.items()):
        grouped.setdefault(target, []).append(value)
    return [[t, v] for t, v in grouped.items()]


@settings(max_examples=300, deadline=None)
@given(spec=specs, decisions=st.lists(st.integers(0, 1000), min_size=1, max_size=12))
def test_structured_tree_behaves_like_the_graph(spec: Spec, decisions: list[int]) -> None:
    tree = structure(spec_to_cfg(spec))
    check_depths(tree)
    assert uses_dispatch(tree) != is_reducible(spec)
    budget = 3 * len(spec) + 10
    assert run_tree(tree, spec, decisions, budget) == reference_trace(spec, decisions, budget)
    naive = structure_naive(spec_to_cfg(spec))
    assert run_tree(naive, spec, decisions, budget) == reference_trace(spec, decisions, budget)


def _evaluated(tree: list[Node]) -> list[str]:
    """Names of the block, condition and index payloads in the tree."""
    names: list[str] = []
    for instr in instructions(tree):
        match instr:
            case Code(payload=str(name)) | IfStart(cond=str(name)) | BrIf(cond=str(name)):
                names.append(name)
            case BrTable(index=(str(name), _)):
                names.append(name)
    return names


def test_every_block_condition_and_index_appears_exactly_once() -> None:
    rng = random.Random(SEED)
    for _ in range(400):
        spec = random_spec(rng, rng.randint(2, 120), switches=True)
        names = _evaluated(structure(spec_to_cfg(spec)))
        assert len(names) == len(set(names))
        for block, term in enumerate(spec):
            if f"b{block}" not in names:
                continue  # unreachable
            if term[0] == "branch":
                assert f"c{block}" in names
            if term[0] == "switch":
                assert f"i{block}" in names


@pytest.mark.skipif(shutil.which("wasm-validate") is None, reason="wabt's wasm-validate is not installed")
def test_wat_output_passes_wasm_validate(tmp_path: Path) -> None:
    rng = random.Random(SEED + 2)
    functions = []
    for number in range(150):
        spec = random_spec(rng, rng.randint(2, 250), switches=number % 2 == 0)
        builder = structure if number % 3 else structure_naive
        functions.append(wat_function(builder(spec_to_cfg(spec)), f"g{number}"))
    binary = tmp_path / "sample.wasm"
    binary.write_bytes(wasmtime.wat2wasm(wat_module(functions)))
    result = subprocess.run(["wasm-validate", str(binary)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
