"""Bad report inputs: diagnostics and exit status, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Capsys, run


def test_unknown_symbol_exits_1(prog: Path, capsys: Capsys) -> None:
    assert run(["why", "nope", "prog.json"], capsys) == (1, "", "error: no such symbol: nope\n")
    assert run(["graph", "nope", "prog.json"], capsys) == (1, "", "error: no such symbol: nope\n")


def test_not_a_report(prog: Path, tmp_path: Path, capsys: Capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{\"schema\": \"irld-report/9\"}")
    code, out, err = run(["top", str(bad)], capsys)
    assert (code, out) == (1, "")
    assert err == (f"irld: error: {bad}: report schema irld-report/9 is not supported "
                   "(this irld reads irld-report/1)\n")
    bad.write_text("[1, 2")
    code, _, err = run(["garbage", str(bad)], capsys)
    assert code == 1 and err.startswith(f"irld: error: {bad}: not JSON")
    code, _, err = run(["diff", "prog.json", str(tmp_path / "missing.json")], capsys)
    assert code == 1 and "cannot open" in err


def test_corrupt_report(prog: Path, tmp_path: Path, capsys: Capsys) -> None:
    data = json.loads((prog / "prog.json").read_text())
    del data["live"]
    bad = tmp_path / "corrupt.json"
    bad.write_text(json.dumps(data))
    code, _, err = run(["dominators", str(bad)], capsys)
    assert code == 1 and "corrupt report" in err


def test_usage_errors_exit_2(prog: Path, capsys: Capsys) -> None:
    for argv in (["top", "prog.json", "app.o"], ["why", "x", "notes.txt"],
                 ["why", "x", "prog.json", "--all", "--max", "0"]):
        try:
            code = run(argv, capsys)[0]
        except SystemExit as exc:
            code = int(exc.code or 0)
        assert code == 2, argv


def test_bad_link_inputs_exit_1(prog: Path, capsys: Capsys) -> None:
    code, _, err = run(["top", "app.o"], capsys)    # util and the archive are missing
    assert code == 1 and "undefined symbol" in err


def test_unwritable_report_path(prog: Path, capsys: Capsys) -> None:
    code, _, err = run(["link", "app.o", "util.o", "libmini.a",
                        "--report", "no/such/dir/r.json"], capsys)
    assert code == 1
    assert err.startswith("error: cannot write output file no/such/dir/r.json") or \
        "cannot write output file no/such/dir/r.json" in err


def test_map_alone_without_output(prog: Path, tmp_path: Path, capsys: Capsys) -> None:
    out = tmp_path / "only.map"
    assert run(["link", "app.o", "util.o", "libmini.a", "--map", str(out)],
               capsys) == (0, "", "")
    assert out.read_text() == (prog / "prog.map").read_text()
