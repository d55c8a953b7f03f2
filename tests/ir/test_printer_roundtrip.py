"""The printer's contract: `parse(print(m)) == m` and printing is canonical.

Checked on every IR file of the repository (examples/ and stdlib/, globbed at
test time), on the hand-written corpus, and on random modules from
`genmodule` (NaN payloads, -0.0, f32 values, odd symbols, every construct).
Equality of floats is bitwise (see `linker.ir.model._num_key`).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from genmodule import gen_module  # tests/ir is on sys.path (pytest rootdir-less import)

from linker.ir import model as ir
from linker.ir.ctypes import CKind, CScalar, CSig, CStruct
from linker.ir.parser import parse_module
from linker.ir.printer import format_float, print_module, quote
from linker.ir.types import FuncType, ValType

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"
REPO_FILES = sorted((ROOT / "examples").glob("**/*.ir")) + sorted((ROOT / "stdlib").glob("**/*.ir"))


def roundtrip(m: ir.Module, name: str = "rt.ir") -> str:
    text = print_module(m)
    again = parse_module(text, name)
    assert again == m
    assert print_module(again) == text  # canonical: printing is a fixed point
    return text


@pytest.mark.parametrize("path", REPO_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_files(path: Path) -> None:
    roundtrip(parse_module(path.read_text(encoding="utf-8"), str(path)))


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.ir")), ids=lambda p: p.name)
def test_corpus(path: Path) -> None:
    roundtrip(parse_module(path.read_text(encoding="utf-8"), path.name))


def test_corpus_is_big_enough() -> None:
    assert len(list(CORPUS.glob("*.ir"))) >= 5


@pytest.mark.parametrize("chunk", range(10))
def test_random_modules(chunk: int) -> None:
    for seed in range(chunk * 25, chunk * 25 + 25):  # 250 modules
        roundtrip(gen_module(seed), f"gen{seed}.ir")


def test_big_random_module() -> None:
    roundtrip(gen_module(12345, n_funcs=60))


def _f(x: int) -> float:
    value: float = struct.unpack("<d", struct.pack("<Q", x))[0]
    return value


@pytest.mark.parametrize("t, value", [
    (F64, -0.0), (F32, -0.0), (F64, _f(0x7FF0000000000001)), (F64, _f(0xFFFFFFFFFFFFFFFF)),
    (F32, _f(0x7FF0000000000000 | (1 << 29))), (F32, _f(0xFFF0000000000000 | (0x7FFFFF << 29))),
    (F64, float("inf")), (F32, float("-inf")), (F64, 5e-324), (F64, 1.7976931348623157e308),
    (F32, struct.unpack("<f", struct.pack("<f", 0.1))[0]), (F32, 1.401298464324817e-45),
    (I32, -(1 << 31)), (I32, (1 << 32) - 1), (I64, -(1 << 63)), (I64, (1 << 64) - 1),
])
def test_float_and_int_edges(t: ValType, value: float) -> None:
    f = ir.Func("f", (), t, (), (ir.BasicBlock("entry", (), ir.Return(ir.Const(t, value))),))
    g = ir.Global("g", t, value)
    m = ir.Module("edge", (f, g))
    text = roundtrip(m)
    back = parse_module(text, "edge.ir")
    got = back.globals[0].init
    if t.is_float:
        assert struct.pack("<d", got) == struct.pack("<d", value)


def test_format_float() -> None:
    assert format_float(-0.0, 64) == "-0.0"
    assert format_float(float("nan"), 64) == "nan:0x8000000000000"
    assert format_float(_f(0x7FF0000000000000 | (0x400000 << 29)), 32) == "nan:0x400000"
    assert format_float(_f(0xFFF0000000000001), 64) == "-nan:0x1"
    assert format_float(1e300, 64) == "1e+300"


def test_quote() -> None:
    assert quote(b"plain text") == '"plain text"'
    assert quote(b'\n\t\r\0"\\\x7f\xff') == '"\\n\\t\\r\\0\\"\\\\\\x7f\\xff"'


def test_canonical_layout() -> None:
    m = ir.Module("demo.layout", (
        ir.ExternFunc("g", FuncType((I32,), I64)),
        ir.Data("d", (ir.AddrItem("d", 4), ir.IntItem(8, -1)), align=4, readonly=True),
        ir.Func("f", (ir.Param("a", I32),), I64, (ir.Param("r", I64),), (
            ir.BasicBlock("entry", (ir.Call("r", "g", (ir.LocalGet("a"),)),),
                          ir.Branch(ir.LocalGet("a"), "yes", "no")),
            ir.BasicBlock("yes", (), ir.Return(ir.LocalGet("r"))),
            ir.BasicBlock("no", (), ir.TailCall("g", (ir.Const(I32, 0),))),
        ), private=True),
        ir.Export("run", "f"),
        ir.Ctor("f"),
        ir.CSigDecl("s", CSig(CStruct((CScalar(CKind.FLOAT), CStruct(()))),
                              (CScalar(CKind.POINTER), CScalar(CKind.DOUBLE)), nfixed=1), 2),
    ))
    assert print_module(m) == """module demo.layout

extern func g(i32) -> i64

readonly data d align 4 = { addr d+4, i8 -1 }

private func f(a: i32) -> i64 {
  local r: i64
entry:
  r = call g(a)
  if a then yes else no
yes:
  return r
no:
  tail call g(0)
}

export "run" f

ctor f priority 65535

csig s = struct { float, struct {} }(pointer, ..., double) pool 2
"""
    roundtrip(m)


def test_long_data_wraps_one_item_per_line() -> None:
    d = ir.Data("big", tuple(ir.IntItem(32, i) for i in range(40)))
    text = roundtrip(ir.Module("m", (d,)))
    assert "  i32 0,\n  i32 1,\n" in text and text.count("\n") > 40
