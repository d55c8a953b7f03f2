"""The encoder's output also runs on Node's WebAssembly (V8): tail calls, tables, names."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from test_wasm_run import even_odd_module, factorial_module, table_module

from linker.ir.types import FuncType
from linker.wasm import InstrBuilder, WasmModule, encode_module

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

_SCRIPT = """
const fs = require("fs");
const dir = process.argv[1];
(async () => {
  const load = async (n) => (await WebAssembly.instantiate(fs.readFileSync(dir + "/" + n))).instance.exports;
  const eo = await load("even_odd.wasm");
  const fact = await load("fact.wasm");
  const table = await load("table.wasm");
  const trap = await load("trap.wasm");
  const out = [eo.is_even(1000000), eo.is_even_indirect(999999),
               String(fact.fact(20n)), table.dispatch(3, 6, 7)];
  try { trap.go(); out.push("no trap"); } catch (e) { out.push(String(e.stack)); }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def trap_module() -> WasmModule:
    m = WasmModule(name="traps")
    b = InstrBuilder()
    b.unreachable()
    boom = m.add_function(FuncType(), body=b.finish(), name="demo_boom_here")
    b = InstrBuilder()
    b.call(boom)
    m.export_func("go", m.add_function(FuncType(), body=b.finish(), name="demo_caller"))
    return m


def test_node_runs_encoded_modules() -> None:
    assert NODE is not None
    with tempfile.TemporaryDirectory() as tmp:
        for name, m in (("even_odd", even_odd_module()), ("fact", factorial_module()),
                        ("table", table_module()), ("trap", trap_module())):
            (Path(tmp) / f"{name}.wasm").write_bytes(encode_module(m))
        proc = subprocess.run([NODE, "-e", _SCRIPT, tmp], capture_output=True, text=True,
                              timeout=120)
    assert proc.returncode == 0, proc.stderr
    even, odd, fact, prod, stack = json.loads(proc.stdout)
    assert [even, odd, fact, prod] == [1, 0, "2432902008176640000", 42]
    assert "unreachable" in stack
    assert "demo_boom_here" in stack and "demo_caller" in stack
