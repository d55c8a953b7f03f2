"""Object files: round trip, laziness, and refusal of damaged or foreign files."""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from linker.cli.main import main
from linker.compile import compile_module, private_name, rename_privates
from linker.ir import model as ir
from linker.ir.ctypes import CKind, CScalar, CSig
from linker.ir.refs import EdgeKind
from linker.ir.types import FuncType, ValType
from linker.store.codec import encode_func
from linker.store.objfile import (INDEX_SECTION, VERSION, EntityKind, LoadStats, ObjectError,
                                  ObjectFile, scan_sections)

REPO = Path(__file__).resolve().parents[2]
I32, I64, F64 = ValType.I32, ValType.I64, ValType.F64


def _genir() -> ModuleType:
    spec = importlib.util.spec_from_file_location("genir", REPO / "benchmarks" / "genir.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


genir = _genir()


def small_module(name: str = "demo.small") -> ir.Module:
    sig = CSig(CScalar(CKind.SINT32), (CScalar(CKind.POINTER),))
    helper = ir.Func("helper", (ir.Param("n", I32),), I32, (), (
        ir.BasicBlock("entry", (), ir.Return(ir.OpExpr("i32.mul", (ir.LocalGet("n"),
                                                                   ir.Const(I32, 2))))),),
        private=True)
    main_fn = ir.Func("main", (), I32, (ir.Param("r", I32), ir.Param("s", I64)), (
        ir.BasicBlock("entry", (
            ir.Call("r", "helper", (ir.Const(I32, 20),)),
            ir.Assign("s", ir.Load("i64.load", ir.SymRef("table", 4))),
            ir.Store("i32.store", ir.SymRef("table"), ir.GlobalGet("counter"), 8),
            ir.GlobalSet("counter", ir.SymRef("helper")),
            ir.Call("r", "puts", (ir.SigRef("s1"),)),
        ), ir.Branch(ir.LocalGet("r"), "yes", "no")),
        ir.BasicBlock("yes", (), ir.TailCall("helper", (ir.LocalGet("r"),))),
        ir.BasicBlock("no", (), ir.Switch(ir.LocalGet("r"), ("yes", "no"), "out")),
        ir.BasicBlock("out", (), ir.Panic("bad value")),
    ))
    return ir.Module(name, (
        ir.ImportFunc("fd_write", "wasi_snapshot_preview1", "fd_write",
                      FuncType((I32, I32, I32, I32), I32)),
        ir.ForeignImport("puts", "env", "puts", sig),
        ir.CSigDecl("s1", sig, closure_pool=4),
        ir.ExternFunc("elsewhere", FuncType((), F64)),
        ir.ExternGlobal("eg", I64),
        ir.Global("counter", I32, 7, private=True),
        ir.Data("table", (ir.AddrItem("helper"), ir.IntItem(32, -1), ir.AddrItem("table", 4),
                          ir.BytesItem(b"\x00hi\n"), ir.FloatItem(64, 0.5), ir.ZeroItem(3)),
                align=4, readonly=True, private=True),
        helper, main_fn,
        ir.Func("broken", (), None, deferred_error="unsupported primop"),
        ir.Export("main", "main"),
        ir.Ctor("init", 10),
        ir.Func("init", (), None, (), (ir.BasicBlock("entry", (), ir.Return()),)),
        ir.ForeignExport("c_main", "main", CSig(CScalar(CKind.SINT32))),
    ))


def assert_round_trip(m: ir.Module) -> ObjectFile:
    stats = LoadStats()
    obj = ObjectFile.from_buffer(compile_module(m), 0, len(compile_module(m)), "t.o", stats)
    expected = {i.name: i for i in rename_privates(m).items if isinstance(i, (ir.Func, ir.Data))}
    bodies = [r for r in obj.records if r.kind in (EntityKind.FUNC, EntityKind.DATA)]
    assert [r.name for r in bodies] == list(expected)
    for rec in bodies:
        assert obj.body(rec) == expected[rec.name], rec.name
    assert stats.bodies_decoded == len(bodies)
    return obj


# ---------------------------------------------------------------- round trip


def test_round_trip_small_module() -> None:
    obj = assert_round_trip(small_module())
    assert obj.module == "demo.small"
    by_name = {r.name: r for r in obj.records}
    assert set(by_name) == {"fd_write", "puts", "demo.small$counter", "demo.small$table",
                            "demo.small$helper", "main", "broken", "init"}
    main_rec = by_name["main"]
    assert main_rec.refs == [
        ("demo.small$helper", EdgeKind.CALL), ("demo.small$table", EdgeKind.ADDRESS),
        ("demo.small$counter", EdgeKind.GLOBAL), ("demo.small$helper", EdgeKind.ADDRESS),
        ("puts", EdgeKind.CALL), ("demo.small$helper", EdgeKind.TAIL_CALL)]
    assert main_rec.sigs == ("i(p)",)
    assert by_name["broken"].deferred_error == "unsupported primop"
    assert by_name["demo.small$table"].info == (27, 4, True)
    assert by_name["demo.small$table"].refs == [("demo.small$helper", EdgeKind.DATA_REF),
                                                ("demo.small$table", EdgeKind.DATA_REF)]
    assert obj.exports == [("main", "main")]
    assert obj.ctors == [("init", 10)]
    assert obj.extern_funcs == {"elsewhere": FuncType((), F64)}
    assert obj.extern_globals == {"eg": I64}
    assert obj.csigs == {"s1": ("i(p)", 4)}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_round_trip_generated_modules(seed: int) -> None:
    assert_round_trip(genir.generate_module(seed, 60, f"gen.m{seed}"))


@pytest.mark.parametrize("make", [small_module, lambda: genir.generate_module(7, 80, "gen.x")])
def test_renaming_while_encoding_equals_renaming_the_module(make: object) -> None:
    # compile_module renames function bodies as it encodes them; the object
    # must be byte-identical to encoding the renamed module.
    from linker.compile import _object_bytes
    m = make()  # type: ignore[operator]
    assert compile_module(m) == _object_bytes(rename_privates(m), {})


GOLDEN_ERRORS = REPO / "tests" / "ir" / "golden"  # bad inputs, by design


def _corpus() -> list[str]:
    files: list[str] = []
    for pattern in ("examples/**/*.ir", "stdlib/**/*.ir", "tests/**/*.ir"):
        files += glob.glob(str(REPO / pattern), recursive=True)
    return sorted(f for f in files if not Path(f).is_relative_to(GOLDEN_ERRORS))


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: str(Path(p).relative_to(REPO)))
def test_round_trip_corpus(path: str) -> None:
    from linker.ir.parser import parse_module
    from linker.ir.verify import verify_module
    m = parse_module(Path(path).read_text(encoding="utf-8"), path)
    assert verify_module(m) == []
    assert_round_trip(m)


def test_deep_expression_round_trips() -> None:
    # Deeper than Python's recursion limit: compile, decode and compare
    # without recursing (attrs' == would recurse, so compare flat encodings).
    e: ir.Expr = ir.LocalGet("x")
    for i in range(sys.getrecursionlimit() * 3):
        e = ir.OpExpr("i32.add", (e, ir.GlobalGet("g"))) if i % 3 else ir.Load("i32.load", e)
    f = ir.Func("f", (ir.Param("x", I32),), I32, (), (ir.BasicBlock("entry", (), ir.Return(e)),))
    m = ir.Module("deep", (ir.Global("g", I32, private=True), f))
    data = compile_module(m)
    obj = ObjectFile.from_buffer(data, 0, len(data), "deep.o")
    rec = next(r for r in obj.records if r.name == "f")
    assert rec.refs == [("deep$g", EdgeKind.GLOBAL)]
    decoded = obj.body(rec)
    assert isinstance(decoded, ir.Func)
    (renamed,) = rename_privates(m).funcs
    assert encode_func(decoded) == encode_func(renamed)


def test_private_symbols_of_two_modules_do_not_clash() -> None:
    a = ObjectFile.from_buffer(data := compile_module(small_module("a")), 0, len(data), "a.o")
    b = ObjectFile.from_buffer(data := compile_module(small_module("b")), 0, len(data), "b.o")
    pa = {r.name for r in a.records if r.private}
    pb = {r.name for r in b.records if r.private}
    assert pa == {private_name("a", n) for n in ("counter", "table", "helper")}
    assert pa.isdisjoint(pb)
    public = {r.name for r in a.records if not r.private}
    assert public == {r.name for r in b.records if not r.private}


# ---------------------------------------------------------------- laziness


def test_opening_decodes_no_body(tmp_path: Path) -> None:
    path = tmp_path / "m.o"
    path.write_bytes(compile_module(genir.generate_module(5, 40, "lazy")))
    stats = LoadStats()
    obj = ObjectFile.open(str(path), stats)
    assert stats.bodies_decoded == 0
    assert stats.indices_read == 1
    with_bodies = [r for r in obj.records if r.kind in (EntityKind.FUNC, EntityKind.DATA)]
    for k, rec in enumerate(with_bodies[:7], start=1):
        obj.body(rec)
        assert stats.bodies_decoded == k


def test_index_only_dump_decodes_no_body(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import json
    path = tmp_path / "m.o"
    path.write_bytes(compile_module(small_module()))
    assert main(["dump", "--index-only", "--json", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bodies_decoded"] == 0 and "ir" not in out
    assert out["module"] == "demo.small"


# ---------------------------------------------------------------- damaged files


@pytest.fixture()
def obj_bytes() -> bytes:
    return compile_module(small_module())


def _index_span(data: bytes) -> tuple[int, int]:
    """The payload of the `irld.index` section."""
    return [(s0, s1) for _sid, name, s0, s1 in scan_sections(data, 0, len(data), "x")
            if name == INDEX_SECTION][0]


def _refused(tmp_path: Path, data: bytes, capsys: pytest.CaptureFixture[str],
             *extra: str) -> str:
    path = tmp_path / "bad.o"
    path.write_bytes(data)
    assert main(["dump", *extra, str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: error: "), err
    assert "Traceback" not in err
    return err


def test_truncated_files_are_refused(tmp_path: Path, obj_bytes: bytes,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    start, end = _index_span(obj_bytes)
    cuts = [1, 7, 8, 9, start - 1, start, start + 5, end - 1, end, end + 3,
            (end + len(obj_bytes)) // 2, len(obj_bytes) - 1]
    for cut in cuts:
        err = _refused(tmp_path, obj_bytes[:cut], capsys, "--index-only")
        assert any(w in err for w in ("too short", "truncated", "without an 'irld.index'")), \
            (cut, err)


def test_every_truncation_is_refused_when_the_code_is_read(obj_bytes: bytes) -> None:
    for cut in range(0, len(obj_bytes)):
        try:
            obj = ObjectFile.from_buffer(obj_bytes[:cut], 0, cut, "cut.o")
            obj.wasm()
            for rec in obj.records:
                if rec.body_length:
                    obj.body(rec)
        except ObjectError as exc:
            assert exc.file == "cut.o" and exc.reason
        else:
            raise AssertionError(f"a cut at {cut} of {len(obj_bytes)} bytes was accepted")


def test_empty_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "not a WebAssembly object file (too short)" in _refused(tmp_path, b"", capsys)


def test_wrong_magic_is_refused(tmp_path: Path, obj_bytes: bytes,
                                capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(tmp_path, b"\x7fELF\x02\x01\x01\x00" + obj_bytes[8:], capsys)
    assert "not a WebAssembly object file (bad magic)" in err


def test_newer_version_is_refused(tmp_path: Path, obj_bytes: bytes,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    start, _end = _index_span(obj_bytes)
    newer = obj_bytes[:start] + struct.pack("<I", VERSION + 1) + obj_bytes[start + 4:]
    err = _refused(tmp_path, newer, capsys)
    assert f"object format version {VERSION + 1} is newer than this irld supports" in err


def test_foreign_wasm_object_without_irld_index_is_refused(
        tmp_path: Path, obj_bytes: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    sections = scan_sections(obj_bytes, 0, len(obj_bytes), "x")
    k = [name for _sid, name, _s0, _s1 in sections].index(INDEX_SECTION)
    err = _refused(tmp_path, obj_bytes[:sections[k - 1][3]], capsys)
    assert "without an 'irld.index' section" in err


def test_bit_flips_in_the_index_are_caught(obj_bytes: bytes) -> None:
    start, end = _index_span(obj_bytes)
    for pos in range(start, end, max(1, (end - start) // 97)):
        for bit in (0, 5):
            data = bytearray(obj_bytes)
            data[pos] ^= 1 << bit
            with pytest.raises(ObjectError) as info:
                # The checksum of the standard sections is checked when they are read.
                ObjectFile.from_buffer(bytes(data), 0, len(data), "flip.o").wasm()
            assert info.value.file == "flip.o"


def test_bit_flips_in_standard_sections_are_caught_when_the_code_is_read(
        obj_bytes: bytes) -> None:
    sections = scan_sections(obj_bytes, 0, len(obj_bytes), "x")
    k = [name for _sid, name, _s0, _s1 in sections].index(INDEX_SECTION)
    for pos in range(8, sections[k - 1][3], 3):
        data = bytearray(obj_bytes)
        data[pos] ^= 0x04
        try:
            obj = ObjectFile.from_buffer(bytes(data), 0, len(data), "flip.o")
        except ObjectError:
            continue                      # a flip in a section header: refused at open
        with pytest.raises(ObjectError) as info:
            obj.wasm()
        assert info.value.file == "flip.o"


def test_bit_flips_in_bodies_are_caught_when_the_body_is_read(obj_bytes: bytes) -> None:
    clean = ObjectFile.from_buffer(obj_bytes, 0, len(obj_bytes), "ok.o")
    for rec in clean.records:
        if not rec.body_length:
            continue
        pos = clean.bodies_start + rec.body_offset + rec.body_length // 2
        data = bytearray(obj_bytes)
        data[pos] ^= 0x10
        stats = LoadStats()
        obj = ObjectFile.from_buffer(bytes(data), 0, len(data), "flip.o", stats)  # opens fine
        for other in obj.records:
            if other.body_length and other.name != rec.name:
                obj.body(other)                      # the other bodies still decode
        with pytest.raises(ObjectError,
                           match=re.escape(f"checksum mismatch in body of '{rec.name}'")):
            obj.body(next(r for r in obj.records if r.name == rec.name))


def test_body_flip_is_refused_by_dump(tmp_path: Path, obj_bytes: bytes,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    clean = ObjectFile.from_buffer(obj_bytes, 0, len(obj_bytes), "ok.o")
    rec = next(r for r in clean.records if r.name == "main")
    data = bytearray(obj_bytes)
    data[clean.bodies_start + rec.body_offset + 3] ^= 0x01
    err = _refused(tmp_path, bytes(data), capsys)
    assert "checksum mismatch in body of 'main'" in err
    assert capsys.readouterr().out == ""


def test_missing_object_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", str(tmp_path / "nope.o")]) == 1
    err = capsys.readouterr().err
    assert "nope.o: error: cannot open" in err


def test_damaged_file_in_a_subprocess_has_no_traceback(tmp_path: Path, obj_bytes: bytes) -> None:
    path = tmp_path / "cut.o"
    path.write_bytes(obj_bytes[: len(obj_bytes) // 2])
    irld = [sys.executable, "-m", "linker.cli.main"]
    proc = subprocess.run([*irld, "dump", str(path)], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{path}: error: truncated object file"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_encoder_collects_the_references_func_refs_collects() -> None:
    """`compile_module` takes a body's references from the encoder's walk:
    the same (symbol, kind) pairs and signature names, in the same order, as
    `func_refs`' own walk, on every library, example and corpus function."""
    from linker.ir.parser import parse_module
    from linker.ir.refs import RefCollector, func_refs
    files = sorted(REPO.glob("stdlib/*.ir")) + sorted(REPO.glob("examples/**/*.ir")) + sorted(
        REPO.glob("tests/ir/corpus/*.ir"))
    modules = [parse_module(p.read_text(encoding="utf-8"), p.name) for p in files]
    modules += [genir.generate_module(seed, 60, f"gen.m{seed}") for seed in range(5)]
    seen = 0
    for m in modules:
        for f in m.funcs:
            c = RefCollector()
            encode_func(f, {}, c)
            want = func_refs(f)
            assert list(c.refs) == list(want.refs), f.name
            assert list(c.sig_names) == list(want.sig_names), f.name
            seen += len(want.refs)
    assert seen > 500
