"""`irld link --lto` from the command line: flags, -v pass lines, the report's `lto`
field and `irld top`'s column, and the examples (same output, smaller files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import linker
import linker.host

ROOT = Path(__file__).resolve().parents[2]
IRLD = str(Path(sys.executable).with_name("irld"))
STDLIB = ROOT / "build" / "stdlib.a"


def irld(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IRLD, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def bigdata(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("bigdata")
    objs = linker.compile_files(sorted((ROOT / "examples" / "bigdata").glob("*.ir")), out)
    return [*objs, str(STDLIB)]


def test_verbose_prints_each_pass(bigdata: list[str], tmp_path: Path) -> None:
    p = irld("link", *bigdata, "--lto", "-v", "-o", str(tmp_path / "a.wasm"))
    assert p.returncode == 0, p.stderr
    lines = [l for l in p.stderr.splitlines() if l.startswith("irld: lto pass ")]
    assert [l.split(":")[1].split()[-1] for l in lines][:3] == [
        "precompute-propagate", "directize", "simplify-globals"]
    assert all(l.endswith("bytes saved") for l in lines)
    assert "IR functions before" in p.stderr


def test_lto_passes_pick_the_pipeline(bigdata: list[str], tmp_path: Path) -> None:
    p = irld("link", *bigdata, "--lto-passes", "inlining,dce", "-v",
             "-o", str(tmp_path / "a.wasm"))
    assert p.returncode == 0, p.stderr
    assert [l.split()[3].rstrip(":") for l in p.stderr.splitlines()
            if l.startswith("irld: lto pass ")] == ["inlining", "dce"]


def test_unknown_pass_is_a_usage_error(bigdata: list[str]) -> None:
    p = irld("link", *bigdata, "--lto-passes", "inlining,bogus")
    assert p.returncode == 2
    assert "unknown pass bogus" in p.stderr and "Traceback" not in p.stderr


def test_unknown_pass_through_the_api(bigdata: list[str]) -> None:
    with pytest.raises(linker.DiagnosticError, match="unknown LTO pass: bogus"):
        linker.link(bigdata, lto=True, lto_passes=["bogus"])


def test_O_levels(bigdata: list[str], tmp_path: Path) -> None:
    sizes = {}
    for flag in ("-O0", "-O2", "-Os"):
        out = tmp_path / f"{flag}.wasm"
        p = irld("link", *bigdata, flag, "-o", str(out))
        assert p.returncode == 0, p.stderr
        sizes[flag] = out.read_bytes()
    plain = tmp_path / "plain.wasm"
    irld("link", *bigdata, "-o", str(plain))
    assert sizes["-O0"] == plain.read_bytes()
    assert sizes["-O2"] == sizes["-Os"] and len(sizes["-O2"]) < len(sizes["-O0"])


def test_report_and_top_show_what_became_of_entities(bigdata: list[str],
                                                     tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    p = irld("link", *bigdata, "--lto", "--report", str(report), "-o", str(tmp_path / "a.wasm"))
    assert p.returncode == 0, p.stderr
    live = {e["name"]: e for e in json.loads(report.read_text())["live"]}
    assert live["print_u64"]["lto"]["inlined_into"] == ["print_i64"]
    assert live["print_u64"]["lto"]["removed"] is True
    assert live["print_u64"]["bytes"] == 0
    assert "lto" not in live["crc_table"]
    top = irld("top", str(report), "-n", "0")
    assert top.returncode == 0, top.stderr
    row = next(l for l in top.stdout.splitlines() if " print_u64 " in l)
    assert "inlined into" in row and "removed" in row
    again = irld("top", *bigdata, "--lto", "-n", "0")
    assert again.stdout == top.stdout


@pytest.mark.parametrize("example", ["fib", "hello", "countdown", "interp", "irreducible",
                                     "callbacks", "bigdata"])
def test_examples_same_output_and_smaller(example: str, tmp_path: Path) -> None:
    d = ROOT / "examples" / example
    objs = [*linker.compile_files(sorted(d.glob("*.ir")), tmp_path), str(STDLIB)]
    args = (d / "args").read_text().split() if (d / "args").exists() else []
    expected = (d / "expected.out").read_bytes()
    for mode in ("native", "trampoline"):
        plain = linker.link(objs, tail_calls=mode, strip_all=True)
        lto = linker.link(objs, tail_calls=mode, strip_all=True, lto=True)
        assert plain.wasm is not None and lto.wasm is not None
        assert len(lto.wasm) <= len(plain.wasm)
        run = linker.host.run(lto.wasm, [example, *args], capture=True)
        assert run.stdout == expected
