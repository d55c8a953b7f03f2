"""Diagnostics of the IR parser: golden files, exact positions, and robustness.

Each `golden/NAME.ir` is a bad input; `golden/NAME.err` is the full rendered
`DiagnosticError` (file:line:col, message, source line and caret, notes).
`IRLD_REGEN_GOLDEN=1 pytest tests/ir/test_diagnostics.py` rewrites the .err
files after an intended change; review the diff.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from linker.diagnostics import DiagnosticError, Severity
from linker.ir.parser import parse_module

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.ir"))
REGEN = os.environ.get("IRLD_REGEN_GOLDEN") == "1"


def _errors(text: str, name: str = "t.ir") -> DiagnosticError:
    with pytest.raises(DiagnosticError) as info:
        parse_module(text, name)
    return info.value


def test_enough_golden_cases() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    source = (GOLDEN / f"{name}.ir").read_text(encoding="utf-8")
    filename = f"{name}.ir"
    err = _errors(source, filename)
    rendered = err.render({filename: source}) + "\n"
    expected_path = GOLDEN / f"{name}.err"
    if REGEN or not expected_path.exists():
        expected_path.write_text(rendered, encoding="utf-8")
    assert rendered == expected_path.read_text(encoding="utf-8")
    # Every diagnostic points into the file, in order of position.
    spans = [d.span for d in err.diagnostics]
    assert all(s is not None and s.file == filename for s in spans)
    positions = [(s.line, s.col) for s in spans if s is not None]
    assert positions == sorted(positions)


def test_multiple_errors_reports_all() -> None:
    source = (GOLDEN / "multiple_errors.ir").read_text(encoding="utf-8")
    err = _errors(source, "multiple_errors.ir")
    got = [(d.span.line, d.span.col, d.message) for d in err.diagnostics if d.span]
    assert len(got) >= 3
    assert got[0][:2] == (6, 7) and got[0][2].startswith("unexpected token '='")
    # Semantic errors after the syntax error are still found.
    assert (15, 8, "unknown label 'nowhere'") in got
    assert (20, 17, "float literal 1e39 out of range for f32") in got


@pytest.mark.parametrize("text, line, col, message", [
    ("module m\nfunc f() -> i32 {\nentry:\n  return i32.addd(1, 2)\n}\n",
     4, 10, "unknown op 'i32.addd'"),
    ("module m\nfunc f(a: i64) -> i32 {\nentry:\n  return i32.add(1, a)\n}\n",
     4, 21, "operand 2 of i32.add has type i64, expected i32"),
    ("module m\nfunc f() {\nentry:\n  jump foo\n}\n", 4, 8, "unknown label 'foo'"),
    ("module m\nfunc f() -> i32 {\nentry:\n  return x\n}\n", 4, 10,
     "unknown local or global 'x'"),
    ("module m\ndata d = { i8 300 }\n", 2, 15, "integer literal 300 out of range for i8"),
    ("module m\ndata d = { bytes \"abc }\n", 2, 18, "unterminated string"),
    ("module m\nfunc f() -> i32 {\nentry:\n  return 0 }\n }\n", 5, 2,
     "unexpected token '}' (expected one of 'csig', 'ctor', 'ctype', 'data', 'export', "
     "'extern', 'foreign', 'func', 'global', 'import', 'private', 'readonly', end of file)"),
    ("module m\nextern func g(i32, i32)\nfunc f() {\nentry:\n  call g(1)\n  return\n}\n",
     5, 8, "call to 'g' has 1 argument, expected 2"),
    ("module m\nfunc f() {\nentry:\n  call h()\n  return\n}\n", 4, 8,
     "call to undeclared function 'h' (add an 'extern func' declaration)"),
    ("module m\nfunc f() {\nentry:\n  return\n/* open\n", 5, 1, "unterminated block comment"),
    ("module m\nglobal g: i32 = 2147483648\nglobal h: i32 = 4294967296\n", 3, 17,
     "integer literal 4294967296 out of range for i32"),
])
def test_exact_position(text: str, line: int, col: int, message: str) -> None:
    err = _errors(text)
    found = [(d.span.line, d.span.col, d.message) for d in err.diagnostics if d.span]
    assert (line, col, message) in found, found


def test_duplicate_definition_has_note() -> None:
    err = _errors("module m\nglobal x: i32 = 0\n\nglobal x: i64 = 0\n", "dup.ir")
    (d,) = err.diagnostics
    assert d.message == "duplicate definition of 'x'"
    assert d.span is not None and (d.span.line, d.span.col) == (4, 8)
    assert d.notes == ("dup.ir:2:8: note: first defined here",)


def test_error_renders_with_attached_source() -> None:
    err = _errors("module m\nglobal g: i33 = 0\n", "a.ir")
    assert err.render() == ("a.ir:2:11: error: unknown type 'i33'\n"
                            "  global g: i33 = 0\n"
                            "            ^~~")


def test_empty_file() -> None:
    err = _errors("", "empty.ir")
    assert [d.message for d in err.diagnostics] == ["unexpected end of file (expected 'module')"]


def test_only_errors_are_reported() -> None:
    err = _errors("module m\nfunc f() {\nentry:\n  jump nowhere\n}\n")
    assert all(d.severity is Severity.ERROR for d in err.diagnostics)


_FRAGMENTS = ["module m\n", "func", "f", "(", ")", "{", "}", "entry:", "return", "1", "1.5",
              "\"s", "\"ok\"", "/*", "*/", "//c\n", "r =", "i32.add(", ",", "@x+", "data",
              "=", "[", "]", "call", "tail", "if", "then", "else", "switch", "\n", " ", "\t",
              "local", ":", "i32", "->", "...", "csig", "struct", "\\x", "\x00", "é", "#"]


def test_garbage_never_raises_anything_but_diagnostics() -> None:
    rng = random.Random(7)
    for _ in range(400):
        text = "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randrange(1, 40)))
        try:
            parse_module(text, "fuzz.ir")
        except DiagnosticError as exc:
            assert exc.diagnostics
            for d in exc.diagnostics:
                assert "internal" not in d.message
                assert d.span is None or d.span.line >= 1 and d.span.col >= 1
            exc.render()


def test_mutated_valid_files_never_crash() -> None:
    source = (Path(__file__).parent / "corpus" / "spec_tour.ir").read_text(encoding="utf-8")
    rng = random.Random(11)
    for _ in range(150):
        chars = list(source)
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(chars))
            op = rng.randrange(3)
            if op == 0:
                del chars[i]
            elif op == 1:
                chars.insert(i, rng.choice("(){}[],:=@\"x1 \n/*"))
            else:
                chars[i] = rng.choice("(){}[],:=@\"x1 \n")
        try:
            parse_module("".join(chars), "mut.ir")
        except DiagnosticError as exc:
            exc.render()
