"""`irld link` (discovery stage): options, messages, exit codes, determinism."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from linker.driver import PHASES

from linker.cli.main import main
from linker.compile import compile_module
from linker.ir.model import (BasicBlock, Call, Ctor, Data, Export, ExternFunc, Func, IntItem,
                             Item, Module, Return)
from linker.ir.types import FuncType
from linker.store.archive import Archive, archive_bytes

Capsys = pytest.CaptureFixture[str]


def func(name: str, *calls: str) -> Func:
    body = BasicBlock("entry", tuple(Call(None, c, ()) for c in calls), Return())
    return Func(name, (), None, (), (body,))


def module(name: str, *items: Item) -> bytes:
    defined = {i.name for i in items if isinstance(i, (Func, ExternFunc))}
    callees = {s.callee: None for f in items if isinstance(f, Func)
               for b in f.blocks for s in b.stmts if isinstance(s, Call)}
    externs = tuple(ExternFunc(c, FuncType()) for c in callees if c not in defined)
    return compile_module(Module(name, tuple(items) + externs))


@pytest.fixture
def prog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """main.iro + util.iro on the command line, libstd.ira in lib/; paths relative to cwd."""
    monkeypatch.chdir(tmp_path)
    Path("main.iro").write_bytes(module("main", func("main", "puts", "helper"),
                                        func("helper"), func("unused_main")))
    Path("util.iro").write_bytes(module("util", func("util_f"), Data("table", (IntItem(32, 1),)),
                                        func("util_init"), Ctor("util_init")))
    Path("lib").mkdir()
    Path("lib/libstd.ira").write_bytes(archive_bytes([
        ("io.iro", module("io", func("puts", "write"), func("write"), func("printf", "write"),
                          func("io_init"), Ctor("io_init"))),
        ("math.iro", module("math", func("sqrt"))),
    ]))
    return tmp_path


def run(argv: list[str], capsys: Capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_link_succeeds_quietly(prog: Path, capsys: Capsys) -> None:
    assert run(["link", "main.iro", "util.iro", "lib/libstd.ira"], capsys) == (0, "", "")


def test_print_gc_sections(prog: Path, capsys: Capsys) -> None:
    code, out, err = run(["link", "main.iro", "util.iro", "lib/libstd.ira",
                          "--print-gc-sections"], capsys)
    assert (code, err) == (0, "")
    assert out == ("removing unused func main.iro:(unused_main)\n"
                   "removing unused func util.iro:(util_f)\n"
                   "removing unused data util.iro:(table)\n"
                   "removing unused func util.iro:(util_init)\n"
                   "removing unused func lib/libstd.ira(io.iro):(printf)\n")


def test_export_root_and_entry(prog: Path, capsys: Capsys) -> None:
    code, out, _ = run(["link", "main.iro", "util.iro", "lib/libstd.ira", "--entry", "helper",
                        "--export", "util_f", "--root", "sqrt", "--print-gc-sections"], capsys)
    assert code == 0
    assert out == ("removing unused func main.iro:(main)\n"
                   "removing unused func main.iro:(unused_main)\n"
                   "removing unused data util.iro:(table)\n")


def test_no_entry(prog: Path, capsys: Capsys) -> None:
    code, out, _ = run(["link", "util.iro", "--no-entry", "--print-gc-sections"], capsys)
    assert code == 0
    assert out == ("removing unused func util.iro:(util_f)\n"
                   "removing unused data util.iro:(table)\n"
                   "removing unused func util.iro:(util_init)\n")


def test_missing_entry(prog: Path, capsys: Capsys) -> None:
    assert run(["link", "util.iro"], capsys) == (
        1, "", "error: entry symbol not defined: main\n"
               ">>> pass --no-entry to link without one\n")


def test_entry_and_no_entry_conflict(prog: Path, capsys: Capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["link", "main.iro", "--entry", "x", "--no-entry"])
    assert info.value.code == 2


def test_library_search(prog: Path, capsys: Capsys) -> None:
    assert run(["link", "main.iro", "-L", "lib", "-l", "std"], capsys) == (0, "", "")
    Path("lib/libstd.ira").rename("lib/std.ira")
    assert run(["link", "main.iro", "-Lnowhere", "-Llib", "-lstd"], capsys) == (0, "", "")


def test_unknown_library(prog: Path, capsys: Capsys) -> None:
    assert run(["link", "main.iro", "-L", "lib", "-l", "nosuch", "-l", "other"], capsys) == (
        1, "", "error: unable to find library -lnosuch (looked for libnosuch.ira and "
               "nosuch.ira in lib)\n"
               "error: unable to find library -lother (looked for libother.ira and "
               "other.ira in lib)\n")


def test_undefined_symbols(prog: Path, capsys: Capsys) -> None:
    code, out, err = run(["link", "main.iro"], capsys)
    assert (code, out) == (1, "")
    assert err == "error: undefined symbol: puts\n>>> referenced by main (main.iro)\n"


def test_allow_undefined(prog: Path, capsys: Capsys) -> None:
    assert run(["link", "main.iro", "--allow-undefined"], capsys) == (0, "", "")


def test_duplicates_across_objects_and_archives(prog: Path, capsys: Capsys) -> None:
    Path("dup.iro").write_bytes(module("dup", func("write"), func("helper")))
    code, _, err = run(["link", "main.iro", "dup.iro", "lib/libstd.ira"], capsys)
    assert code == 1
    assert err == ("error: duplicate symbol: helper\n"
                   ">>> defined in main.iro\n>>> defined in dup.iro\n"
                   "error: duplicate symbol: write\n"
                   ">>> defined in dup.iro\n>>> defined in lib/libstd.ira(io.iro)\n")


def test_source_input_refused(prog: Path, capsys: Capsys) -> None:
    Path("prog.ir").write_text("module prog\n")
    assert run(["link", "prog.ir", "main.iro"], capsys) == (
        1, "", "prog.ir: error: unsupported input: expected an object file (.iro) or an "
               "archive (.ira); compile it with `irld compile` first\n")


def test_verbose(prog: Path, capsys: Capsys) -> None:
    code, out, err = run(["link", "main.iro", "lib/libstd.ira", "-v"], capsys)
    assert (code, out) == (0, "")
    lines = err.splitlines()
    phases = [name for name, _ in PHASES]
    assert [ln.split(":")[1] for ln in lines[:len(phases)]] == [f" phase {p}" for p in phases]
    rest = lines[len(phases):]
    assert rest[:2] == [
        "irld: inputs: 1 objects, 1 archives (1 of 2 members loaded)",
        "irld: entities: 8 in store, 7 loaded, 5 live"]
    # The linker's own symbol index is read too; only live bodies are decoded.
    assert rest[2].startswith("irld: indices read: 4, bodies decoded: ")
    assert rest[3] == "irld: live FFI signatures: 0"
    assert rest[4].startswith("irld: output: ") and rest[4].endswith(" bytes")


def test_without_output_nothing_is_written(prog: Path, capsys: Capsys) -> None:
    code, _, _ = run(["link", "main.iro", "lib/libstd.ira"], capsys)
    assert code == 0
    assert not list(Path(".").glob("*.wasm"))


def test_output_written(prog: Path, capsys: Capsys) -> None:
    code, _, err = run(["link", "main.iro", "lib/libstd.ira", "-o", "out.wasm"], capsys)
    assert (code, err) == (0, "")
    assert Path("out.wasm").read_bytes()[:4] == b"\0asm"


@pytest.mark.parametrize("damage", ["magic", "truncate", "member"])
def test_bad_archive_exit_1_without_traceback(prog: Path, damage: str) -> None:
    data = bytearray(Path("lib/libstd.ira").read_bytes())
    if damage == "magic":
        data[0:8] = b"IRLDARX\n"
    elif damage == "truncate":
        del data[40:]
    else:  # the archive index is fine; math.iro's object index is not
        data[Archive.open("lib/libstd.ira").members[1].offset + 20] ^= 0xFF
    Path("lib/libstd.ira").write_bytes(bytes(data))
    proc = subprocess.run([sys.executable, "-m", "linker.cli.main", "link", "main.iro",
                           "lib/libstd.ira", "--root", "sqrt"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr == {
        "magic": "lib/libstd.ira: error: not an irld archive (bad magic)\n",
        "truncate": "lib/libstd.ira: error: truncated archive (symbol index runs past the end)\n",
        "member": "lib/libstd.ira(math.iro): error: checksum mismatch in object index "
                  "(file corrupted)\n"}[damage]


def test_output_independent_of_hash_seed(prog: Path) -> None:
    outs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, "-m", "linker.cli.main", "link", "main.iro",
                               "util.iro", "lib/libstd.ira", "--print-gc-sections",
                               "--root", "sqrt", "--export", "table"],
                              capture_output=True, text=True, check=True, env=env)
        outs.add(proc.stdout)
    assert len(outs) == 1 and "removing unused" in outs.pop()


def test_ar_then_link(prog: Path, capsys: Capsys) -> None:
    Path("extra.iro").write_bytes(module("extra", func("x"), func("y", "x"), Export("y", "y")))
    assert run(["ar", "lib/libextra.ira", "extra.iro"], capsys) == (0, "", "")
    code, out, _ = run(["link", "main.iro", "util.iro", "-Llib", "-lstd", "-lextra", "--root",
                        "x", "--print-gc-sections"], capsys)
    assert code == 0
    # Pulled for x: extra's export y becomes a root, so nothing of extra.iro is removed.
    assert "extra" not in out
