"""`irld link` (discovery stage): options, messages, exit codes, determinism."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from linker import native
from linker.driver import PHASES

from linker.cli.main import main
from linker.compile import compile_module
from linker.ir.model import (BasicBlock, Call, Ctor, Data, Export, ExternFunc, Func, IntItem,
                             Item, Module, Return)
from linker.ir.types import FuncType
from linker.store.archive import Archive, archive_bytes
from linker.store.objfile import INDEX_SECTION, scan_sections

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
    """main.o + util.o on the command line, libstd.a in lib/; paths relative to cwd."""
    monkeypatch.chdir(tmp_path)
    Path("main.o").write_bytes(module("main", func("main", "puts", "helper"),
                                        func("helper"), func("unused_main")))
    Path("util.o").write_bytes(module("util", func("util_f"), Data("table", (IntItem(32, 1),)),
                                        func("util_init"), Ctor("util_init")))
    Path("lib").mkdir()
    Path("lib/libstd.a").write_bytes(archive_bytes([
        ("io.o", module("io", func("puts", "write"), func("write"), func("printf", "write"),
                          func("io_init"), Ctor("io_init"))),
        ("math.o", module("math", func("sqrt"))),
    ]))
    return tmp_path


def run(argv: list[str], capsys: Capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_link_succeeds_quietly(prog: Path, capsys: Capsys) -> None:
    assert run(["link", "main.o", "util.o", "lib/libstd.a"], capsys) == (0, "", "")


def test_print_gc_sections(prog: Path, capsys: Capsys) -> None:
    code, out, err = run(["link", "main.o", "util.o", "lib/libstd.a",
                          "--print-gc-sections"], capsys)
    assert (code, err) == (0, "")
    assert out == ("removing unused func main.o:(unused_main)\n"
                   "removing unused func util.o:(util_f)\n"
                   "removing unused data util.o:(table)\n"
                   "removing unused func util.o:(util_init)\n"
                   "removing unused func lib/libstd.a(io.o):(printf)\n")


def test_export_root_and_entry(prog: Path, capsys: Capsys) -> None:
    code, out, _ = run(["link", "main.o", "util.o", "lib/libstd.a", "--entry", "helper",
                        "--export", "util_f", "--root", "sqrt", "--print-gc-sections"], capsys)
    assert code == 0
    assert out == ("removing unused func main.o:(main)\n"
                   "removing unused func main.o:(unused_main)\n"
                   "removing unused data util.o:(table)\n")


def test_no_entry(prog: Path, capsys: Capsys) -> None:
    code, out, _ = run(["link", "util.o", "--no-entry", "--print-gc-sections"], capsys)
    assert code == 0
    assert out == ("removing unused func util.o:(util_f)\n"
                   "removing unused data util.o:(table)\n"
                   "removing unused func util.o:(util_init)\n")


def test_missing_entry(prog: Path, capsys: Capsys) -> None:
    assert run(["link", "util.o"], capsys) == (
        1, "", "error: entry symbol not defined: main\n"
               ">>> pass --no-entry to link without one\n")


def test_entry_and_no_entry_conflict(prog: Path, capsys: Capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["link", "main.o", "--entry", "x", "--no-entry"])
    assert info.value.code == 2


def test_library_search(prog: Path, capsys: Capsys) -> None:
    assert run(["link", "main.o", "-L", "lib", "-l", "std"], capsys) == (0, "", "")
    Path("lib/libstd.a").rename("lib/std.a")
    assert run(["link", "main.o", "-Lnowhere", "-Llib", "-lstd"], capsys) == (0, "", "")


def test_unknown_library(prog: Path, capsys: Capsys) -> None:
    assert run(["link", "main.o", "-L", "lib", "-l", "nosuch", "-l", "other"], capsys) == (
        1, "", "error: unable to find library -lnosuch (looked for libnosuch.a and "
               "nosuch.a in lib)\n"
               "error: unable to find library -lother (looked for libother.a and "
               "other.a in lib)\n")


def test_undefined_symbols(prog: Path, capsys: Capsys) -> None:
    code, out, err = run(["link", "main.o"], capsys)
    assert (code, out) == (1, "")
    assert err == "error: undefined symbol: puts\n>>> referenced by main (main.o)\n"


def test_allow_undefined(prog: Path, capsys: Capsys) -> None:
    assert run(["link", "main.o", "--allow-undefined"], capsys) == (0, "", "")


def test_duplicates_across_objects_and_archives(prog: Path, capsys: Capsys) -> None:
    Path("dup.o").write_bytes(module("dup", func("write"), func("helper")))
    code, _, err = run(["link", "main.o", "dup.o", "lib/libstd.a"], capsys)
    assert code == 1
    assert err == ("error: duplicate symbol: helper\n"
                   ">>> defined in main.o\n>>> defined in dup.o\n"
                   "error: duplicate symbol: write\n"
                   ">>> defined in dup.o\n>>> defined in lib/libstd.a(io.o)\n")


def test_source_input_refused(prog: Path, capsys: Capsys) -> None:
    Path("prog.ir").write_text("module prog\n")
    assert run(["link", "prog.ir", "main.o"], capsys) == (
        1, "", "prog.ir: error: unknown file type: expected a WebAssembly object file or an "
               "archive; compile it with `irld compile` first\n")


def test_verbose(prog: Path, capsys: Capsys) -> None:
    code, out, err = run(["link", "main.o", "lib/libstd.a", "-v"], capsys)
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
    assert rest[4] == f"irld: object reader: {native.reader()}"
    assert rest[4].startswith(("irld: object reader: compiled (", "irld: object reader: pure"))
    assert rest[5].startswith("irld: output: ") and rest[5].endswith(" bytes")


def test_without_output_nothing_is_written(prog: Path, capsys: Capsys) -> None:
    code, _, _ = run(["link", "main.o", "lib/libstd.a"], capsys)
    assert code == 0
    assert not list(Path(".").glob("*.wasm"))


def test_output_written(prog: Path, capsys: Capsys) -> None:
    code, _, err = run(["link", "main.o", "lib/libstd.a", "-o", "out.wasm"], capsys)
    assert (code, err) == (0, "")
    assert Path("out.wasm").read_bytes()[:4] == b"\0asm"


@pytest.mark.parametrize("damage", ["magic", "truncate", "member"])
def test_bad_archive_exit_1_without_traceback(prog: Path, damage: str) -> None:
    data = bytearray(Path("lib/libstd.a").read_bytes())
    if damage == "magic":
        data[0:8] = b"IRLDARX\n"
    elif damage == "truncate":
        del data[40:]
    else:  # the archive index is fine; math.o's object index is not
        member = Archive.open("lib/libstd.a").members[1]
        index_at = [start for _id, name, start, _end in
                    scan_sections(data, member.offset, member.offset + member.length, "m")
                    if name == INDEX_SECTION][0]
        data[index_at + 20] ^= 0xFF
    Path("lib/libstd.a").write_bytes(bytes(data))
    proc = subprocess.run([sys.executable, "-m", "linker.cli.main", "link", "main.o",
                           "lib/libstd.a", "--root", "sqrt"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr == {
        "magic": "lib/libstd.a: error: unknown file type: expected a WebAssembly object file "
                 "or an archive\n",
        "truncate": "lib/libstd.a: error: truncated member header at offset 8 (32 of 60 bytes)\n",
        "member": "lib/libstd.a(math.o): error: checksum mismatch in object index "
                  "(file corrupted)\n"}[damage]


@pytest.mark.parametrize("extra,code", [([], 0), (["-v"], 1), (["--report", "r.json"], 1),
                                        (["--root", "extra_f"], 1)])
def test_bad_member_header_is_found_when_the_headers_are_read(
        prog: Path, capsys: Capsys, extra: list[str], code: int) -> None:
    """As lld: a link that finds nothing in an archive reads none of its member
    headers, so a bad one there goes unseen; a link that finds a member, or counts
    the members (`-v`, `--report`), reads them all and fails on it, writing nothing."""
    data = bytearray(archive_bytes([("extra.o", module("extra", func("extra_f"))),
                                    ("more.o", module("more", func("more_f")))]))
    at = data.index(b"more.o/")
    data[at + 58:at + 60] = b"XX"
    Path("other.a").write_bytes(bytes(data))
    got, _, err = run(["link", "main.o", "util.o", "lib/libstd.a", "other.a",
                       "-o", "out.wasm", *extra], capsys)
    assert got == code
    if code == 0:
        assert err == "" and Path("out.wasm").exists()
        return
    assert err == (f"other.a: error: bad header terminator b'XX' (expected b'`\\n') "
                   f"in member header at offset {at}\n")
    assert not Path("out.wasm").exists() and not Path("r.json").exists()


def test_output_independent_of_hash_seed(prog: Path) -> None:
    outs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, "-m", "linker.cli.main", "link", "main.o",
                               "util.o", "lib/libstd.a", "--print-gc-sections",
                               "--root", "sqrt", "--export", "table"],
                              capture_output=True, text=True, check=True, env=env)
        outs.add(proc.stdout)
    assert len(outs) == 1 and "removing unused" in outs.pop()


def test_ar_then_link(prog: Path, capsys: Capsys) -> None:
    Path("extra.o").write_bytes(module("extra", func("x"), func("y", "x"), Export("y", "y")))
    assert run(["ar", "lib/libextra.a", "extra.o"], capsys) == (0, "", "")
    code, out, _ = run(["link", "main.o", "util.o", "-Llib", "-lstd", "-lextra", "--root",
                        "x", "--print-gc-sections"], capsys)
    assert code == 0
    # Pulled for x: extra's export y becomes a root, so nothing of extra.o is removed.
    assert "extra" not in out
