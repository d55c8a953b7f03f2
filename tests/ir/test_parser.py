"""Unit tests of the IR parser: what each construct builds, literal semantics,
name resolution, spans, and agreement between the fast driver and lark's loop."""

from __future__ import annotations

import math
import random
import re
import struct
from pathlib import Path

import pytest

from linker.diagnostics import DiagnosticError, Span
from linker.ir import model as ir
from linker.ir.ctypes import CKind, CScalar, CSig, CStruct, lower
from linker.ir.parser import _Bail, _get_parser, _parse, _parse_syntax, parse_module
from linker.ir.printer import print_module
from linker.ir.types import FuncType, ValType

from genmodule import gen_module  # tests/ir is on sys.path (pytest rootdir-less import)

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"


def bits(x: float) -> int:
    value: int = struct.unpack("<Q", struct.pack("<d", x))[0]
    return value


def body(stmts: str, sig: str = "() -> i32", decls: str = "", locals_: str = "") -> ir.Func:
    m = parse_module(f"module t\n{decls}\nfunc f{sig} {{\n{locals_}\nentry:\n{stmts}\n}}\n", "t.ir")
    f = m.funcs[-1]
    return f


def ret_value(expr: str, result: str = "i32", decls: str = "") -> ir.Expr:
    f = body(f"  return {expr}", f"() -> {result}", decls)
    term = f.blocks[0].term
    assert isinstance(term, ir.Return) and term.value is not None
    return term.value


# ---------------------------------------------------------------- module items


def test_spec_tour_items() -> None:
    m = parse_module((CORPUS / "spec_tour.ir").read_text(), "spec_tour.ir")
    assert m.name == "demo.hello"
    kinds = [type(i).__name__ for i in m.items]
    assert kinds[:5] == ["ImportFunc", "ExternFunc", "ExternGlobal", "Global", "Global"]
    imp = m.items[0]
    assert imp == ir.ImportFunc("fd_write", "wasi_snapshot_preview1", "fd_write",
                                FuncType((I32,) * 4, I32))
    # `export "answer" func answer() ...` is a Func followed by an Export.
    i = kinds.index("Func")
    assert isinstance(m.items[i], ir.Func) and m.items[i].name == "answer"
    assert m.items[i + 1] == ir.Export("answer", "answer")
    tbl = next(d for d in m.data if d.name == "tbl")
    assert tbl.private and tbl.readonly and tbl.align == 8
    assert tbl.items == (ir.IntItem(8, -1), ir.IntItem(16, 65535), ir.IntItem(32, 7),
                         ir.IntItem(64, -5), ir.FloatItem(32, 1.5), ir.FloatItem(64, 2.0),
                         ir.ZeroItem(12), ir.AddrItem("main"), ir.BytesItem(b"\x00\xff\t\""))
    assert next(d for d in m.data if d.name == "empty").items == ()
    ctors = m.ctors
    assert ctors == [ir.Ctor("init", 65535), ir.Ctor("init", 10)]
    broken = next(f for f in m.funcs if f.name == "broken")
    assert broken.deferred_error == "could not compile: unsupported primop"
    assert broken.blocks == () and broken.result is I32
    helper2 = next(f for f in m.funcs if f.name == "helper2")
    assert helper2.private
    assert [p.name for p in helper2.locals] == ["r", "t", "q"]
    assert [b.label for b in helper2.blocks] == ["entry", "ok", "a0", "a1", "ok2", "fail"]


def test_ffi_declarations() -> None:
    m = parse_module((CORPUS / "ffi.ir").read_text(), "ffi.ir")
    point = CStruct((CScalar(CKind.DOUBLE), CScalar(CKind.DOUBLE)))
    sigs = {s.name: s for s in m.csigs}
    assert sigs["printf_d"].sig == CSig(CScalar(CKind.SINT32),
                                        (CScalar(CKind.POINTER), CScalar(CKind.DOUBLE),
                                         CScalar(CKind.SINT32)), nfixed=1)
    assert sigs["printf_d"].closure_pool == 4
    assert sigs["only_var"].sig.nfixed == 0 and sigs["only_var"].closure_pool == 0
    assert sigs["mk"].sig.ret == point
    assert sigs["area"].sig.params == (CStruct((point, point)),)
    empty = CStruct(())
    assert sigs["with_empty"].sig.ret == CStruct((empty, CScalar(CKind.SINT32), empty))
    fi = {f.name: f for f in m.foreign_imports}
    assert fi["qsort"].module == "env" and fi["qsort"].sig.ret == CScalar(CKind.VOID)
    fe = m.foreign_exports
    assert fe[0] == ir.ForeignExport("compare", "cmp_impl",
                                     CSig(CScalar(CKind.SINT32), (CScalar(CKind.POINTER),) * 2))
    main = next(f for f in m.funcs if f.name == "main")
    calls = [s for s in main.blocks[0].stmts if isinstance(s, ir.Call)]
    # A call to a foreign import is typed by the lowered C signature (sret pointer first).
    assert lower(fi["make_point"].sig) == FuncType((I32, F64, F64), None)
    assert calls[2] == ir.Call(None, "make_point", (ir.SymRef("cell"), ir.Const(F64, 1.0),
                                                    ir.Const(F64, 2.0)))
    assert calls[4].args[0] == ir.SigRef("cmp")


def test_statements_and_terminators() -> None:
    m = parse_module((CORPUS / "spec_tour.ir").read_text(), "spec_tour.ir")
    f = next(f for f in m.funcs if f.name == "helper2")
    s = f.blocks[0].stmts
    assert s[0] == ir.Assign("r", ir.OpExpr("i32.add", (ir.LocalGet("a"), ir.Const(I32, 1))))
    assert s[1] == ir.GlobalSet("g", ir.OpExpr("i64.add", (ir.GlobalGet("g"), ir.LocalGet("b"))))
    assert s[2] == ir.Store("i32.store", ir.SymRef("msg"), ir.LocalGet("r"))
    assert s[3] == ir.Store("i64.store", ir.LocalGet("r"), ir.LocalGet("q"), 8)
    assert s[4] == ir.Assign("r", ir.Load("i32.load8_u", ir.SymRef("msg", 3), 1))
    assert s[5] == ir.Call(None, "helper", (ir.LocalGet("r"), ir.LocalGet("q")))
    assert s[6] == ir.Call("r", "helper", (ir.LocalGet("r"), ir.LocalGet("q")))
    assert s[7] == ir.CallIndirect("r", FuncType((I32, I64), I32), ir.LocalGet("r"),
                                   (ir.LocalGet("r"), ir.LocalGet("q")))
    assert s[8] == ir.CallIndirect(None, FuncType((I32,), None), ir.SymRef("table_fn"),
                                   (ir.Const(I32, 1),))
    assert s[10] == ir.Assign("r", ir.SigRef("cmp"))
    terms = [b.term for b in f.blocks]
    assert terms[0] == ir.Branch(ir.OpExpr("i32.eqz", (ir.LocalGet("r"),)), "ok", "fail")
    assert terms[1] == ir.Switch(ir.LocalGet("r"), ("a0", "a1", "a0"), "fail")
    assert terms[2] == ir.Jump("ok2")
    assert terms[3] == ir.TailCall("helper", (ir.Const(I32, 1), ir.Const(I64, 2)))
    assert terms[4] == ir.TailCallIndirect(FuncType((I32, I64), I32), ir.LocalGet("r"),
                                           (ir.Const(I32, 1), ir.LocalGet("q")))
    assert terms[5] == ir.Panic("fd_write failed")


# ---------------------------------------------------------------- literals


@pytest.mark.parametrize("text, t, value", [
    ("-2147483648", "i32", -(1 << 31)), ("4294967295", "i32", (1 << 32) - 1),
    ("0xff", "i32", 255), ("-0x10", "i32", -16), ("007", "i32", 7),
    ("-9223372036854775808", "i64", -(1 << 63)), ("18446744073709551615", "i64", (1 << 64) - 1),
    ("3", "f64", 3.0), ("-2e10", "f64", -2e10), ("1.", "f64", 1.0), ("0x1p-3", "f64", 0.125),
    ("-0x1.8p1", "f64", -3.0), ("inf", "f64", math.inf), ("-inf", "f32", -math.inf),
])
def test_literal_values(text: str, t: str, value: float) -> None:
    e = ret_value(text, t)
    assert isinstance(e, ir.Const) and e.type is ValType.parse(t)
    assert e.value == value and type(e.value) is (int if t[0] == "i" else float)


def test_f32_constants_are_rounded() -> None:
    e = ret_value("0.1", "f32")
    assert isinstance(e, ir.Const)
    assert e.value == struct.unpack("<f", struct.pack("<f", 0.1))[0] != 0.1
    g = parse_module("module t\nglobal x: f32 = 16777217\n", "t.ir").globals[0]
    assert g.init == 16777216.0


def test_nan_payloads_and_signed_zero() -> None:
    e = ret_value("-nan:0x4000000000001", "f64")
    assert isinstance(e, ir.Const) and bits(float(e.value)) == 0xFFF4000000000001
    e = ret_value("nan", "f64")
    assert isinstance(e, ir.Const) and bits(float(e.value)) == 0x7FF8000000000000
    # An f32 NaN keeps its 23-bit payload in the top of the double's mantissa.
    e = ret_value("nan:0x1", "f32")
    assert isinstance(e, ir.Const) and bits(float(e.value)) == 0x7FF0000000000000 | (1 << 29)
    e = ret_value("-0.0", "f64")
    assert isinstance(e, ir.Const) and bits(float(e.value)) == 1 << 63
    assert ir.Const(F64, -0.0) != ir.Const(F64, 0.0)


@pytest.mark.parametrize("text, t, message", [
    ("2147483648000", "i32", "integer literal 2147483648000 out of range for i32"),
    ("-2147483649", "i32", "integer literal -2147483649 out of range for i32"),
    ("1.5", "i64", "expected an integer literal for i64, got '1.5'"),
    ("1e39", "f32", "float literal 1e39 out of range for f32"),
    ("1e309", "f64", "float literal 1e309 out of range for f64"),
    ("nan:0x0", "f64", "float literal nan:0x0 out of range for f64"),
    ("nan:0x800000", "f32", "float literal nan:0x800000 out of range for f32"),
])
def test_bad_literals(text: str, t: str, message: str) -> None:
    with pytest.raises(DiagnosticError) as info:
        ret_value(text, t)
    assert [d.message for d in info.value.diagnostics] == [message]


def test_strings() -> None:
    m = parse_module('module t\ndata d = { bytes "a\\n\\t\\r\\0\\\\\\"\\x41\\xfFé" }\n'
                     'func f() { entry: panic "caf\\xc3\\xa9 \\"q\\"" }\n', "t.ir")
    assert m.data[0].items == (ir.BytesItem(b'a\n\t\r\0\\"A\xff' + "é".encode()),)
    assert m.funcs[0].blocks[0].term == ir.Panic('café "q"')


# ---------------------------------------------------------------- names


def test_locals_shadow_globals_and_globals_resolve_forward() -> None:
    f = body("  x = 1\n  y = x\n  return x", locals_="  local x: i32",
             decls="global y: i32 = 0\nglobal x: i64 = 0")
    s = f.blocks[0].stmts
    assert s[0] == ir.Assign("x", ir.Const(I32, 1))
    assert s[1] == ir.GlobalSet("y", ir.LocalGet("x"))
    m = parse_module("module t\nfunc f() -> i64 { entry: return later }\n"
                     "global later: i64 = 1\n", "t.ir")
    assert m.funcs[0].blocks[0].term == ir.Return(ir.GlobalGet("later"))


def test_symbols_with_dots_dollars_and_keywords() -> None:
    text = """module a.b$c
func data() { entry: return }
func mod$x.y(v: i32) -> i32 { entry: tail call mod$x.y(v) }
data func = { addr mod$x.y, addr data+4 }
global return.value: i32 = 0
export "e" mod$x.y
ctor data priority 0
func g(local_: i32) -> i32 {
entry:
  call data()
  return.value = i32.add(@func-8, @mod$x.y)
  return return.value
}
"""
    m = parse_module(text, "t.ir")
    assert m.name == "a.b$c"
    assert [f.name for f in m.funcs] == ["data", "mod$x.y", "g"]
    assert m.data[0].name == "func"
    assert m.data[0].items == (ir.AddrItem("mod$x.y"), ir.AddrItem("data", 4))
    g = m.funcs[2]
    assert g.blocks[0].stmts[1] == ir.GlobalSet("return.value", ir.OpExpr(
        "i32.add", (ir.SymRef("func", -8), ir.SymRef("mod$x.y"))))
    assert parse_module(print_module(m), "p.ir") == m


def test_statements_on_one_line_and_comments_anywhere() -> None:
    m = parse_module("module /*c*/ t // c\nfunc f() -> i32 { local r: i32 entry: r = 1 "
                     "r = /* here */ i32.add(r, /* and here */ 2) return r }", "t.ir")
    assert len(m.funcs[0].blocks[0].stmts) == 2


def test_extern_may_repeat_a_definition_with_the_same_type() -> None:
    m = parse_module("module t\nextern func f(i32) -> i32\n"
                     "func f(x: i32) -> i32 { entry: return x }\n", "t.ir")
    assert len(m.items) == 2
    with pytest.raises(DiagnosticError) as info:
        parse_module("module t\nextern func f(i64) -> i32\n"
                     "func f(x: i32) -> i32 { entry: return 0 }\n", "t.ir")
    assert info.value.diagnostics[0].message == "conflicting declaration of 'f'"


# ---------------------------------------------------------------- spans


def test_spans() -> None:
    text = "module t\n\nfunc f(a: i32) -> i32 {\nentry:\n  return i32.add(a, 10)\n}\n"
    m = parse_module(text, "s.ir")
    assert m.span == Span("s.ir", 1, 8, 1, 9)
    f = m.funcs[0]
    assert f.span == Span("s.ir", 3, 6, 3, 7)
    assert f.params[0].span == Span("s.ir", 3, 8, 3, 9)
    block = f.blocks[0]
    assert block.span == Span("s.ir", 4, 1, 4, 6)
    ret = block.term
    assert isinstance(ret, ir.Return) and ret.span == Span("s.ir", 5, 3, 5, 9)
    op = ret.value
    assert isinstance(op, ir.OpExpr) and op.span == Span("s.ir", 5, 10, 5, 17)
    assert op.args[0].span == Span("s.ir", 5, 18, 5, 19)
    assert op.args[1].span == Span("s.ir", 5, 21, 5, 23)


def test_every_node_has_a_span() -> None:
    m = parse_module((CORPUS / "spec_tour.ir").read_text(), "spec_tour.ir")
    missing: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, tuple):
            for x in node:
                walk(x)
            return
        fields = getattr(type(node), "__attrs_attrs__", None)
        if fields is None:
            return
        if any(f.name == "span" for f in fields) and getattr(node, "span") is None:
            missing.append(type(node).__name__)
        for f in fields:
            if f.name != "span":
                walk(getattr(node, f.name))

    walk(m)
    assert missing == []


# ---------------------------------------------------------------- the fast driver


def _inputs() -> list[tuple[str, str]]:
    files = sorted(CORPUS.glob("*.ir")) + sorted((ROOT / "examples").glob("**/*.ir")) + sorted(
        (ROOT / "stdlib").glob("**/*.ir"))
    out = [(p.name, p.read_text(encoding="utf-8")) for p in files]
    out += [(f"gen{seed}.ir", print_module(gen_module(seed))) for seed in range(40)]
    return out


def test_fast_driver_matches_lark() -> None:
    """The fast LALR driver builds exactly what lark's own loop builds."""
    for name, text in _inputs():
        fast, _ = _parse(text, name, stock_lark=False)
        assert fast == _parse(text, name, stock_lark=True)[0], name


def _raw_syntax(text: str, bodies: bool) -> object:
    """Pass 1 alone: the raw items (or "bail" when the body parser gives up)."""
    lark, collector, fast = _get_parser()
    assert fast is not None and fast.body is not None
    collector.reset()
    try:
        diags = _parse_syntax(lark, fast, collector, text, "t.ir", bodies=bodies)
    except _Bail:
        return "bail"
    finally:
        found, module = collector.found, collector.module
        collector.reset()
    return (bool(diags), found, module)


_MUTATIONS = ["(", ")", ",", "=", ":", " ", "\n", "x", "offset=4", "offset", "return", "jump",
              "call", "call_indirect", "tail", "if", "then", "else", "switch", "[", "]",
              "local", "sig", "1", "1.5", "@d", "}", "{", "//c\n", "/*c*/", "x:", "x =",
              "i32.add(", "panic", '"s"', "unreachable", "->", "i32", "entry:", "returnx"]


def test_body_parser_matches_lalr_loop() -> None:
    """The body parser reads bodies into exactly the raw items the LALR loop
    builds, on valid files and on mutated ones (a mutation that is still
    valid must parse the same; one that is not must make it give up or
    report an error, never parse differently)."""
    texts = [text for _, text in _inputs()]
    rng = random.Random(14)
    cases = list(texts)
    for _ in range(600):
        parts = re.split(r"(\s+|[(),\[\]{}=:])", rng.choice(texts))
        for _ in range(rng.randint(1, 3)):
            k = rng.randrange(len(parts))
            if rng.random() < 0.3:
                parts[k] = ""
            else:
                parts.insert(k, rng.choice(_MUTATIONS))
        cases.append("".join(parts))
    for i, text in enumerate(cases):
        lalr = _raw_syntax(text, bodies=False)
        rd = _raw_syntax(text, bodies=True)
        assert isinstance(lalr, tuple)
        if i < len(texts):
            assert rd == lalr, i          # every valid file: no fallback
        elif rd == "bail":
            continue
        elif not lalr[0]:
            assert rd == lalr, text       # valid: the same items
        else:
            assert isinstance(rd, tuple) and rd[0], text    # an error outside any body


def test_fast_driver_reports_errors_where_lark_does() -> None:
    for path in sorted((Path(__file__).parent / "golden").glob("*.ir")):
        text = path.read_text(encoding="utf-8")
        found = []
        for stock in (False, True):
            with pytest.raises(DiagnosticError) as info:
                _parse(text, path.name, stock_lark=stock)
            found.append([(d.span.line, d.span.col) if d.span else None
                          for d in info.value.diagnostics])
        assert found[0] == found[1], path.name


def test_deep_nesting() -> None:
    depth = 3000
    expr = "i32.add(" * depth + "1" + ", 2)" * depth
    m = parse_module(f"module t\nfunc f() -> i32 {{ entry: return {expr} }}\n", "deep.ir")
    text = print_module(m)
    assert expr in text
    assert print_module(parse_module(text, "deep2.ir")) == text
