"""Messages for hostile inputs: a position everywhere, no Python advice, `error:`
prefixes, exit statuses with their value, reproducible reports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from linker.cli.main import main

Capsys = pytest.CaptureFixture[str]


def compile_text(tmp_path: Path, capsys: Capsys, data: bytes) -> tuple[int, str]:
    src = tmp_path / "t.ir"
    src.write_bytes(data)
    code = main(["compile", str(src), "-o", str(tmp_path / "t.o")])
    return code, capsys.readouterr().err.replace(str(src), "t.ir")


def returning(literal: str) -> bytes:
    return f"module t.m\nfunc main() -> i32 {{\nentry:\n  return {literal}\n}}\n".encode()


@pytest.mark.parametrize("literal", ["9" * 5000, "-" + "9" * 4301, "0x" + "f" * 5000])
def test_huge_integer_literal_has_a_position(tmp_path: Path, capsys: Capsys,
                                             literal: str) -> None:
    code, err = compile_text(tmp_path, capsys, returning(literal))
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith("t.ir:4:10: error: integer literal ")
    assert first.endswith(f"({len(literal)} characters) out of range for i32")
    assert "sys.set_int_max_str_digits" not in err and "internal error" not in err


def test_long_zero_padded_literal_is_its_value(tmp_path: Path, capsys: Capsys) -> None:
    assert compile_text(tmp_path, capsys, returning("0" * 5000 + "7")) == (0, "")


def test_huge_hex_float_literal(tmp_path: Path, capsys: Capsys) -> None:
    text = b"module t.m\nglobal g: f64 = 0x" + b"f" * 400 + b"\n"
    code, err = compile_text(tmp_path, capsys, text)
    assert code == 1
    assert err.startswith("t.ir:2:17: error: float literal 0xffffffffff...ffffff "
                          "(402 characters) out of range for f64")


def test_deep_nesting_has_a_position(tmp_path: Path, capsys: Capsys) -> None:
    n = 60000
    expr = "i32.add(1, " * n + "1" + ")" * n
    code, err = compile_text(tmp_path, capsys, returning(expr))
    assert code == 1
    col = 10 + len("i32.add(1, ") * (n - 1) + len("i32.add")
    lines = err.splitlines()
    assert lines[0] == f"t.ir:4:{col}: error: expression nested too deeply ({n} levels of " \
                       "parentheses)"
    assert len(lines[1]) < 200 and lines[2].strip() == "^"     # a window of the long line


def test_invalid_utf8_has_line_and_column(tmp_path: Path, capsys: Capsys) -> None:
    data = b"module t.m\n// caf\xc3\xa9 \xff\n"
    code, err = compile_text(tmp_path, capsys, data)
    assert (code, err) == (1, "t.ir:2:9: error: invalid UTF-8 (byte 0xff); IR text must be "
                              "UTF-8\n")


def test_utf8_bom_is_accepted(tmp_path: Path, capsys: Capsys) -> None:
    assert compile_text(tmp_path, capsys, b"\xef\xbb\xbf" + returning("0")) == (0, "")
    code, err = compile_text(tmp_path, capsys, b"\xef\xbb\xbf" + returning("x"))
    assert code == 1 and err.startswith("t.ir:4:10: error:"), err


def test_python_api_accepts_a_bom() -> None:
    from linker.ir.parser import parse_module
    assert parse_module("\ufeff" + returning("0").decode(), "t.ir").name == "t.m"


# ---------------------------------------------------------------- reports


@pytest.fixture()
def linked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capsys) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    (tmp_path / "m.ir").write_bytes(returning("3"))
    assert main(["compile", "m.ir", "-o", "m.o"]) == 0
    return tmp_path


def test_unknown_symbol_is_an_error(linked: Path, capsys: Capsys) -> None:
    assert main(["link", "m.o", "--report", "r.json"]) == 0
    capsys.readouterr()
    assert main(["why", "nosuch", "r.json"]) == 1
    assert capsys.readouterr() == ("", "error: no such symbol: nosuch\n")


def test_reproducible_report(linked: Path, capsys: Capsys,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    texts = []
    for i in range(2):
        assert main(["link", "m.o", "--report", f"r{i}.json", "--reproducible"]) == 0
        texts.append((linked / f"r{i}.json").read_bytes().replace(f"r{i}.json".encode(), b""))
    assert texts[0] == texts[1]
    assert b"timings" not in texts[0] and b"peak_rss_kb" not in texts[0]
    assert main(["link", "m.o", "--report", "t.json"]) == 0
    assert b'"timings": [' in (linked / "t.json").read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert main(["link", "m.o", "--report", "s.json"]) == 0
    assert b"timings" not in (linked / "s.json").read_bytes()
    assert main(["top", "s.json"]) == 0       # the tools read a report without timings


def test_exit_status_out_of_range_is_shown(linked: Path, capsys: Capsys) -> None:
    (linked / "e.ir").write_bytes(returning("200"))
    assert main(["compile", "e.ir", "-o", "e.o"]) == 0
    assert main(["link", "e.o", "-o", "e.wasm"]) == 0
    capsys.readouterr()
    code = main(["run", "e.wasm"])
    err = capsys.readouterr().err
    assert code != 0 and "[0..126): 200" in err, err
    assert os.path.exists("e.wasm")
