"""`irld link --split=ROOTS`: cold code goes to a secondary module that irld run loads on first call."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from linker.host import NodeNotFoundError, RunResult, find_node, run, run_node
from linker.host.dylink import read_linked_module

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dynamic" / "split" / "main.ir"
HOT = b"hot path: 42\n"
COLD = b"cold report: 165029893\ncold report: 31810\ntotal = 2\n"


def irld(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linker.cli.main", *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture
def split(tmp_path: Path) -> Path:
    stdlib = ROOT / "build" / "stdlib.a"
    if not stdlib.exists():
        pytest.skip("build/stdlib.a is missing (make stdlib)")
    assert irld("compile", EXAMPLE, "-o", tmp_path / "main.o").returncode == 0
    linked = irld("link", "--split=main", tmp_path / "main.o", stdlib, "-o", tmp_path / "main.wasm")
    assert linked.returncode == 0, linked.stderr
    whole = irld("link", tmp_path / "main.o", stdlib, "-o", tmp_path / "whole.wasm")
    assert whole.returncode == 0, whole.stderr
    return tmp_path


def names(path: Path) -> set[str]:
    dump = subprocess.run(["wasm-objdump", "-x", str(path)], capture_output=True, text=True,
                          check=True).stdout
    return {line.split("<")[1].split(">")[0] for line in dump.splitlines()
            if line.startswith(" - func[") and "<" in line}


def test_cold_functions_move_to_the_secondary(split: Path) -> None:
    for name in ("main.wasm", "main.split.wasm"):
        subprocess.run(["wasm-validate", "--enable-tail-call", str(split / name)], check=True)
    moved = names(split / "main.split.wasm")
    assert {"checksum", "report"} <= moved          # reached only through @report
    assert not {"main", "hot", "_start"} & moved
    info = read_linked_module((split / "main.wasm").read_bytes())
    assert info.split is not None


def _runner(engine: str) -> Callable[[Path, list[str]], RunResult]:
    if engine == "wasmtime":
        return lambda wasm, argv: run(wasm, argv, capture=True)
    try:
        find_node()
    except NodeNotFoundError as exc:
        pytest.skip(str(exc))
    return lambda wasm, argv: run_node(wasm, argv)


@pytest.mark.parametrize("engine", ["wasmtime", "node"])
def test_secondary_is_read_only_when_first_called(split: Path, engine: str) -> None:
    go = _runner(engine)
    (split / "main.split.wasm").rename(split / "away.wasm")
    hot = go(split / "main.wasm", ["main"])
    assert (hot.exit_code, hot.stdout) == (0, HOT), hot.stderr   # never needed it
    cold = go(split / "main.wasm", ["main", "x"])
    assert cold.exit_code == 134
    assert b"main.split.wasm: cannot load the split module: no such file" in cold.stderr
    (split / "away.wasm").rename(split / "main.split.wasm")
    cold = go(split / "main.wasm", ["main", "x"])
    assert (cold.exit_code, cold.stdout) == (0, HOT + COLD), cold.stderr
    whole = go(split / "whole.wasm", ["main", "x"])
    assert whole.stdout == cold.stdout


def test_unknown_root_is_a_diagnostic(split: Path) -> None:
    result = irld("link", "--split=nosuch", split / "main.o", ROOT / "build" / "stdlib.a",
                  "-o", split / "bad.wasm")
    assert result.returncode == 1
    assert "--split root nosuch is not a live function" in result.stderr
    assert not (split / "bad.wasm").exists() and not (split / "bad.split.wasm").exists()
