"""`to_wat` output assembles (wasmtime, wabt) back to the very bytes the encoder writes."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime
from test_wasm_golden import full_module
from test_wasm_run import (
    data_globals_module, even_odd_module, every_op_module, factorial_module, float_module,
    table_module,
)
from wasm_testutil import instantiate, validate

from linker.ir.types import FuncType, ValType
from linker.wasm import InstrBuilder, WasmModule, encode_module, to_wat
from linker.wasm.wat import format_f32, format_f64, wat_string

WAT2WASM = shutil.which("wat2wasm")


def full_module_text_expressible() -> WasmModule:
    m = full_module()
    m.custom_sections.clear()  # custom sections have no text form
    m.data_count = False       # assemblers add it only when memory.init/data.drop need it
    return m


def named_oddly() -> WasmModule:
    """Names that are not valid WAT identifiers, and duplicates."""
    m = WasmModule(name="my module (v1)")
    sig = FuncType((ValType.I32,), ValType.I32)
    b = InstrBuilder()
    b.local_get(0)
    b.i32_const(1)
    b.op("i32.add")
    a = m.add_function(sig, body=b.finish(), name="Data.Map.insert'")
    b = InstrBuilder()
    b.local_get(0)
    b.call(a)
    m.function(a).local_names = {0: "x y"}
    c = m.add_function(sig, body=b.finish(), name="Data.Map.insert_")  # collides once sanitized
    d = m.add_function(sig, body=bytes([0x20, 0x00, 0x10, c]), name="λ→\"q\"")
    m.export_func("ünïcode \"export\"", d)
    m.add_global(ValType.I32, False, 1, name="g")
    m.add_global(ValType.I32, False, 2, name="g")
    return m


MODULES: dict[str, Callable[[], WasmModule]] = {
    "factorial": factorial_module,
    "even_odd": even_odd_module,
    "table": table_module,
    "data_globals": data_globals_module,
    "floats": float_module,
    "every_op": every_op_module,
    "full": full_module_text_expressible,
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_wasmtime_assembles_to_identical_bytes(name: str) -> None:
    m = MODULES[name]()
    wasm = encode_module(m)
    assert wasmtime.wat2wasm(to_wat(m)) == wasm


@pytest.mark.skipif(WAT2WASM is None, reason="wabt's wat2wasm is not installed")
@pytest.mark.parametrize("name", sorted(MODULES))
def test_wabt_assembles_to_identical_bytes(name: str) -> None:
    assert WAT2WASM is not None
    m = MODULES[name]()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "m.wat"
        out = Path(tmp) / "m.wasm"
        src.write_text(to_wat(m))
        proc = subprocess.run([WAT2WASM, "--enable-tail-call", str(src), "-o", str(out)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        # Without --debug-names wabt writes no name section (with it, wabt adds empty
        # local-name entries for every function, so names are compared via wasmtime above).
        m.emit_names = False
        assert out.read_bytes() == encode_module(m)


def test_odd_names_assemble_and_behave_the_same() -> None:
    m = named_oddly()
    wat = to_wat(m)
    assert "(func $Data.Map.insert_ (;0;)" in wat
    assert "(func $Data.Map.insert_.1 (;1;)" in wat
    assert "(param $x_y i32)" in wat
    assert '(export "\\c3\\bcn\\c3\\afcode \\22export\\22" (func $' in wat
    reassembled = bytes(wasmtime.wat2wasm(wat))
    validate(reassembled)
    validate(encode_module(m))
    for wasm in (reassembled, encode_module(m)):
        store, inst = instantiate(wasm)
        f = inst.exports(store)["ünïcode \"export\""]
        assert isinstance(f, wasmtime.Func)
        assert f(store, 40) == 41


def test_factorial_wat_text() -> None:
    assert to_wat(factorial_module()) == """\
(module $fact
  (type (;0;) (func (param i64) (result i64)))
  (export "fact" (func $fact))
  (func $fact (;0;) (type 0) (param $n i64) (result i64)
    (local $acc i64)
    i64.const 1
    local.set $acc
    block
      loop
        local.get $n
        i64.eqz
        br_if 1
        local.get $acc
        local.get $n
        i64.mul
        local.set $acc
        local.get $n
        i64.const 1
        i64.sub
        local.set $n
        br 0
      end
    end
    local.get $acc
  )
)
"""


def test_full_module_wat_text() -> None:
    wat = to_wat(full_module())
    assert wat == """\
(module $all
  (type (;0;) (func))
  (import "env" "ext" (func $ext (;0;) (type 0)))
  (table (;0;) 2 funcref)
  (memory (;0;) 1 2)
  (global $g (;0;) (mut i32) (i32.const 7))
  (export "memory" (memory 0))
  (export "init" (func $init))
  (start $init)
  (elem (;0;) (i32.const 1) $init)
  (func $init (;1;) (type 0)
    call $ext
  )
  (data $d (;0;) (i32.const 0) "ab")
  ;; custom section "note": 3 bytes
)
"""


@pytest.mark.parametrize(("bits", "text"), [
    (0x3F800000, "0x1.0000000000000p+0"),
    (0x80000000, "-0x0.0p+0"),
    (0x00000001, "0x1.0000000000000p-149"),
    (0x7F800000, "inf"),
    (0xFF800000, "-inf"),
    (0x7FC00000, "nan:0x400000"),
    (0x7FA00001, "nan:0x200001"),
    (0xFFC12345, "-nan:0x412345"),
])
def test_format_f32(bits: int, text: str) -> None:
    assert format_f32(bits) == text


@pytest.mark.parametrize(("bits", "text"), [
    (0x3FF0000000000000, "0x1.0000000000000p+0"),
    (0xC004000000000000, "-0x1.4000000000000p+1"),
    (0x7FF0000000000000, "inf"),
    (0x7FF0000000000001, "nan:0x1"),
    (0xFFF8000000000000, "-nan:0x8000000000000"),
])
def test_format_f64(bits: int, text: str) -> None:
    assert format_f64(bits) == text


def test_wat_string_escapes() -> None:
    assert wat_string(b'a"b\\c\n\x00\xff~') == '"a\\22b\\5cc\\0a\\00\\ff~"'
