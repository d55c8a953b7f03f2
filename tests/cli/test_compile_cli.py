"""`irld compile` and `irld dump` from the command line: outputs, diagnostics, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from linker import __version__
from linker.cli.main import main
from linker.store.objfile import VERSION, ObjectFile

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
module t.good

import func "wasi_snapshot_preview1" "fd_write" fd_write(i32, i32, i32, i32) -> i32
private data msg = { bytes "hi\\n" }
data iov align 4 = { addr msg, i32 3 }
global counter: i32 = 0

func main() -> i32 {
  local r: i32
entry:
  r = call fd_write(1, @iov, 1, @iov)
  counter = i32.add(counter, 1)
  if i32.eqz(r) then ok else fail
ok:
  return 0
fail:
  panic "fd_write failed"
}
"""

# Two parse-level errors and a verifier-level one would hide behind them, so
# the verifier case is a separate file.
BAD_PARSE = """\
module t.bad

func f(x: i32) -> i64 {
  local y: i64
entry:
  y = i32.add(x, 1)
  jump nowhere
}
"""

BAD_VERIFY = """\
module t.badv

func g(a: i32) -> i32 {
entry:
  return a
}
ctor g
"""


def write(dir_: Path, name: str, text: str) -> Path:
    path = dir_ / name
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- compile: success


def test_compile_one_file_default_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path, "good.ir", GOOD)
    assert run(capsys, "compile", str(src)) == (0, "", "")
    obj = ObjectFile.open(str(tmp_path / "good.o"))
    assert obj.module == "t.good"
    assert [r.name for r in obj.records] == ["fd_write", "t.good$msg", "iov", "counter", "main"]


def test_compile_with_o(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path, "good.ir", GOOD)
    out = tmp_path / "sub.o"
    assert run(capsys, "compile", str(src), "-o", str(out))[0] == 0
    assert ObjectFile.open(str(out)).module == "t.good"
    assert not (tmp_path / "good.o").exists()
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def test_compile_many_with_out_dir_and_jobs_is_deterministic(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    examples = sorted(str(p) for p in (REPO / "examples").rglob("*.ir"))
    stdlib = sorted(str(p) for p in (REPO / "stdlib").glob("*.ir"))
    inputs = (examples + stdlib)[:8]
    if len(inputs) < 2:
        inputs = [str(write(tmp_path, f"g{i}.ir", GOOD.replace("t.good", f"t.g{i}")))
                  for i in range(3)]
    names = [Path(p).name for p in inputs]
    if len(set(names)) != len(names):  # --out-dir needs distinct base names
        inputs = [p for i, p in enumerate(inputs) if Path(p).name not in names[:i]]
    d1, d2 = tmp_path / "serial", tmp_path / "parallel"
    assert run(capsys, "compile", *inputs, "--out-dir", str(d1)) == (0, "", "")
    assert run(capsys, "compile", "-j", "2", *inputs, "--out-dir", str(d2)) == (0, "", "")
    outs = sorted(p.name for p in d1.iterdir())
    assert outs == sorted(Path(p).name[:-3] + ".o" for p in inputs)
    for name in outs:
        assert (d1 / name).read_bytes() == (d2 / name).read_bytes(), name


# ---------------------------------------------------------------- compile: errors


def test_compile_errors_are_all_reported_and_no_output_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.ir", BAD_PARSE)
    badv = write(tmp_path, "badv.ir", BAD_VERIFY)
    good = write(tmp_path, "good.ir", GOOD)
    code, out, err = run(capsys, "compile", str(bad), str(good), str(badv), "--out-dir",
                         str(tmp_path / "o"))
    assert code == 1 and out == ""
    lines = err.splitlines()
    # Every error of every file, each with a location, the source line and a caret.
    assert lines[0] == f"{bad}:6:7: error: cannot assign i32 to 'y' of type i64"
    assert lines[1] == "    y = i32.add(x, 1)"
    assert lines[2] == "        ^~~~~~~"
    assert lines[3] == f"{bad}:7:8: error: unknown label 'nowhere'"
    assert lines[4] == "    jump nowhere"
    assert lines[6] == (f"{badv}:7:6: error: ctor 'g' must take no parameters and return "
                        f"nothing, but has type (i32) -> i32")
    assert lines[7] == "  ctor g"
    assert lines[8] == "       ^"
    assert len(lines) == 9
    assert "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["good.o"]


def test_failed_input_leaves_existing_output_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.ir", BAD_PARSE)
    assert run(capsys, "compile", str(bad))[0] == 1
    assert not (tmp_path / "bad.o").exists()


def test_missing_and_undecodable_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "latin.ir").write_bytes(b"module x\n// caf\xe9\n")
    good = write(tmp_path, "good.ir", GOOD)
    code, _, err = run(capsys, "compile", str(tmp_path / "nope.ir"), str(tmp_path / "latin.ir"),
                       str(good))
    assert code == 1
    assert f"irld: error: cannot read '{tmp_path / 'nope.ir'}': No such file or directory" in err
    assert f"{tmp_path / 'latin.ir'}:2:7: error: invalid UTF-8 (byte 0xe9)" in err
    assert (tmp_path / "good.o").exists()


# ---------------------------------------------------------------- usage


@pytest.mark.parametrize("argv", [
    ["compile"],
    ["compile", "a.ir", "b.ir", "-o", "x.o"],
    ["compile", "a.ir", "-o", "x.o", "--out-dir", "d"],
    ["compile", "-j", "0", "a.ir"],
    ["compile", "-j", "two", "a.ir"],
    ["compile", "--bogus", "a.ir"],
    ["compile", "d1/a.ir", "d2/a.ir", "--out-dir", "o"],
    ["dump"],
    ["dump", "--bogus", "x.o"],
    [],
    ["frobnicate"],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert "usage: irld" in err and "Traceback" not in err


@pytest.mark.parametrize("cmd", ["compile", "dump"])
def test_help(cmd: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, cmd, "--help")
    assert code == 0 and out.startswith(f"usage: irld {cmd}")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"irld {__version__}\n", "")


def test_entry_point_in_a_subprocess(tmp_path: Path) -> None:
    src = write(tmp_path, "bad.ir", BAD_PARSE)
    proc = subprocess.run([sys.executable, "-m", "linker.cli.main", "compile", str(src)],
                          capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONHASHSEED": "random"})
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{src}:6:7: error: ")
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- dump


def test_dump_index_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path, "good.ir", GOOD)
    assert run(capsys, "compile", str(src))[0] == 0
    code, out, err = run(capsys, "dump", "--index-only", str(tmp_path / "good.o"))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[:4] == [f"{tmp_path / 'good.o'}: object format {VERSION}", "module t.good", "",
                         "index (5 entities):"]
    assert ("  import   fd_write  [global]  (i32, i32, i32, i32) -> i32 from "
            "\"wasi_snapshot_preview1\" \"fd_write\"") in lines
    assert "  data     t.good$msg  [private]  3 bytes, align 1, body 8 bytes" in lines
    assert "      refs: t.good$msg (data reference)" in lines
    assert "  global   counter  [global]  i32 = 0" in lines
    assert ("      refs: fd_write (call), iov (address taken), counter (global access)"
            in lines)
    assert "bodies:" not in lines


def test_dump_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path, "good.ir", GOOD)
    assert run(capsys, "compile", str(src))[0] == 0
    code, out, _ = run(capsys, "dump", "--json", "--index-only", str(tmp_path / "good.o"))
    assert code == 0
    doc = json.loads(out)
    assert doc["module"] == "t.good" and doc["bodies_decoded"] == 0
    main_ent = next(e for e in doc["entities"] if e["name"] == "main")
    assert main_ent["kind"] == "func" and main_ent["visibility"] == "global"
    assert main_ent["params"] == [] and main_ent["result"] == "i32"
    assert {"symbol": "iov", "edge": "address taken"} in main_ent["refs"]
    assert main_ent["body_bytes"] > 0 and main_ent["deferred_error"] is None


def test_dump_bodies_as_ir_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("linker.ir.printer")
    from linker.ir.parser import parse_module
    src = write(tmp_path, "good.ir", GOOD)
    assert run(capsys, "compile", str(src))[0] == 0
    code, out, err = run(capsys, "dump", str(tmp_path / "good.o"))
    assert code == 0, err
    text = out.split("\nbodies:\n", 1)[1]
    assert "panic \"fd_write failed\"" in text
    code, out, _ = run(capsys, "dump", "--json", str(tmp_path / "good.o"))
    doc = json.loads(out)
    assert doc["bodies_decoded"] == 3
    # The bodies printed by dump parse back (private names keep their '$').
    rebuilt = parse_module(doc["ir"], "dump.ir")
    assert {f.name for f in rebuilt.funcs} == {"main"}
