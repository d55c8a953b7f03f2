"""Plain WASI by default: every example imports only WASI, and runs unchanged on Node's own
`node:wasi` (no irld runner), on wasmtime (`irld run`) and, with --closure-growth=host, on
irld's hosts only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

import linker
import linker.host
from js_util import EXAMPLE_DIRS, example, Example, run_plain_node_wasi

IRLD = str(Path(sys.executable).with_name("irld"))
NAMES = [d.name for d in EXAMPLE_DIRS]


def imports(wasm: bytes) -> set[tuple[str, str]]:
    return {(i.module, i.name or "") for i in wasmtime.Module(wasmtime.Engine(), wasm).imports}


@pytest.mark.parametrize("name", NAMES)
def test_example_imports_only_wasi(examples: dict[str, Example], name: str) -> None:
    found = imports(example(examples, name).wasm.read_bytes())
    assert found and {module for module, _ in found} == {"wasi_snapshot_preview1"}


@pytest.mark.parametrize("name", NAMES)
def test_example_runs_on_nodes_own_wasi(examples: dict[str, Example], name: str, node: str,
                                        tmp_path: Path) -> None:
    ex = example(examples, name)
    proc = run_plain_node_wasi(node, ex.wasm, ex.args, tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (ex.status, ex.expected, b"")


def test_callbacks_on_irld_run_cli(examples: dict[str, Example]) -> None:
    ex = examples["callbacks"]
    proc = subprocess.run([IRLD, "run", str(ex.wasm)], capture_output=True, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, ex.expected, b"")


def test_growth_is_opt_in(examples: dict[str, Example], tmp_path: Path, node: str) -> None:
    ex = examples["callbacks"]
    out = tmp_path / "grow.wasm"
    proc = subprocess.run([IRLD, "link", *ex.objects, "-o", str(out), "--closure-growth=host"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert ("irld", "closure_table_grow") in imports(out.read_bytes())
    assert linker.host.run(out.read_bytes(), ["callbacks"], capture=True).stdout == ex.expected
    # Node's own WASI cannot instantiate it: the import is missing.
    plain = run_plain_node_wasi(node, out, (), tmp_path)
    assert plain.returncode != 0 and b'module="irld" error: module is not an object' in plain.stderr
