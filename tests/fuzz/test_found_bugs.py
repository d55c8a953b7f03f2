"""Regression tests for linker bugs the fuzz harness found (docs/testing.md lists them)."""

from __future__ import annotations

from pathlib import Path

from harness import link_all
import linker.host
from linker.codegen import TailCallMode
from linker.compile import compile_module
from linker.interp import run_program
from linker.ir import model as ir
from linker.ir.types import ValType
from linker.wasm.instr import f32_bits

F32, I32 = ValType.F32, ValType.I32
FLT_MAX_BITS = 0x7F7F_FFFF


def test_f32_constant_just_above_flt_max_rounds_to_flt_max() -> None:
    """Bug 1 (linker/wasm/instr.py): f32_bits sent every double above FLT_MAX to infinity;
    round-to-nearest sends those below FLT_MAX + half an ulp to FLT_MAX."""
    assert f32_bits(3.4028235e38) == FLT_MAX_BITS
    assert f32_bits(-3.4028235e38) == 0x8000_0000 | FLT_MAX_BITS
    assert f32_bits(3.4028235677973366e38) == 0x7F80_0000   # FLT_MAX + half an ulp: a tie, to even
    assert f32_bits(1e300) == 0x7F80_0000 and f32_bits(-1e300) == 0xFF80_0000


def test_f32_constant_from_the_python_api_agrees_with_the_interpreter(tmp_path: Path) -> None:
    # The text parser rounds f32 literals itself; the Python API hands the encoder a double.
    x = ir.LocalGet("x")
    is_max = ir.OpExpr("i32.eq", (ir.OpExpr("i32.reinterpret_f32", (x,)), ir.Const(I32, FLT_MAX_BITS)))
    main = ir.Func("main", (), I32, (ir.Param("x", F32),), (ir.BasicBlock(
        "entry", (ir.Assign("x", ir.Const(F32, 3.4028235e38)),), ir.Return(is_max)),))
    objs = {"t.f32": compile_module(ir.Module("t.f32", (main,)))}
    lr = link_all(objs, [], tmp_path, TailCallMode.NATIVE)
    assert lr.wasm is not None
    assert run_program(lr, ["p"]).exit_code == 1
    assert linker.host.run(lr.wasm, ["p"], stdin=b"", capture=True).exit_code == 1
