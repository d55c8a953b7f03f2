"""Archives: format, lazy member loading, validation, and the `irld ar` command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from linker.cli.main import main
from linker.compile import compile_module
from linker.ir.model import (BasicBlock, Call, Data, ExternFunc, Func, Global, ImportFunc, IntItem,
                             Module, Return)
from linker.ir.types import FuncType, ValType
from linker.store.archive import Archive, archive_bytes, update_members
from linker.store.objfile import INDEX_SECTION, LoadStats, ObjectError, scan_sections


def func(name: str, *calls: str, private: bool = False) -> Func:
    body = BasicBlock("entry", tuple(Call(None, c, ()) for c in calls), Return())
    return Func(name, (), None, (), (body,), private=private)


def obj_bytes(module: str, *items: object) -> bytes:
    return compile_module(Module(module, tuple(items)))  # type: ignore[arg-type]


A = obj_bytes("a", func("fa", "helper"), func("helper", private=True),
              Data("table", (IntItem(32, 7),)), Global("counter", ValType.I32),
              ImportFunc("fd_write", "wasi_snapshot_preview1", "fd_write",
                         FuncType((ValType.I32,) * 4, ValType.I32)))
B = obj_bytes("b", ExternFunc("fa", FuncType()), func("fb", "fa"), func("shared"))
C = obj_bytes("c", func("fc"), func("shared"))


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def make_archive(tmp_path: Path, members: list[tuple[str, bytes]], name: str = "lib.a") -> str:
    return write(tmp_path / name, archive_bytes(members))


# ---------------------------------------------------------------- format and laziness


def test_symbol_index_lists_non_private_definitions(tmp_path: Path) -> None:
    path = make_archive(tmp_path, [("a.o", A), ("b.o", B)])
    ar = Archive.open(path)
    assert [m.name for m in ar.members] == ["a.o", "b.o"]
    assert ar.member_symbols(0) == ["fa", "table", "counter", "fd_write"]
    assert ar.member_symbols(1) == ["fb", "shared"]
    assert ar.find("fa") == 0 and ar.find("fb") == 1
    assert ar.find("a$helper") is None      # private: not in the index
    assert ar.find("nope") is None


def test_first_member_defining_a_symbol_wins(tmp_path: Path) -> None:
    ar = Archive.open(make_archive(tmp_path, [("b.o", B), ("c.o", C)]))
    assert ar.find("shared") == 0
    ar2 = Archive.open(make_archive(tmp_path, [("c.o", C), ("b.o", B)], "lib2.a"))
    assert ar2.find("shared") == 0 and ar2.members[0].name == "c.o"


def test_open_reads_only_the_symbol_index(tmp_path: Path) -> None:
    stats = LoadStats()
    ar = Archive.open(make_archive(tmp_path, [("a.o", A), ("b.o", B)]), stats)
    assert stats.indices_read == 1 and stats.bodies_decoded == 0
    assert not ar.is_loaded(0) and not ar.is_loaded(1)
    obj = ar.load(1)
    assert obj.name == f"{tmp_path / 'lib.a'}(b.o)"
    assert [r.name for r in obj.records] == ["fb", "shared"]
    assert stats.indices_read == 2 and ar.is_loaded(1) and not ar.is_loaded(0)
    assert ar.load(1) is obj                 # loaded once
    assert stats.indices_read == 2
    body = obj.body(obj.records[0])
    assert isinstance(body, Func) and body.name == "fb"
    assert stats.bodies_decoded == 1


def test_members_are_stored_verbatim(tmp_path: Path) -> None:
    ar = Archive.open(make_archive(tmp_path, [("a.o", A), ("b.o", B)]))
    assert ar.member_bytes(0) == A and ar.member_bytes(1) == B


def test_empty_archive(tmp_path: Path) -> None:
    ar = Archive.open(make_archive(tmp_path, []))
    assert ar.members == () and ar.find("main") is None


def test_update_replaces_in_place_and_appends() -> None:
    out = update_members([("a.o", b"1"), ("b.o", b"2")],
                         [("b.o", b"3"), ("c.o", b"4"), ("c.o", b"5")])
    assert out == [("a.o", b"1"), ("b.o", b"3"), ("c.o", b"5")]


def test_large_offsets_are_consistent(tmp_path: Path) -> None:
    # Offsets past 65535 need wider msgpack integers, which grows the index.
    members = [(f"m{i}.o", obj_bytes(f"m{i}", *(func(f"m{i}_f{j}") for j in range(200))))
               for i in range(12)]
    ar = Archive.open(make_archive(tmp_path, members))
    for i, (_, data) in enumerate(members):
        assert ar.member_bytes(i) == data
        assert ar.load(i).module == f"m{i}"


# ---------------------------------------------------------------- validation


def corrupt_cases(good: bytes) -> dict[str, tuple[bytes, str]]:
    """Damaged archives and the start of the reason each is refused with."""
    ar = Archive.from_buffer(good, "x")
    first = ar.members[0]
    header = first.offset - 60
    bad_size = bytearray(good)
    bad_size[header + 48:header + 58] = b"9999999999"
    bad_fmag = bytearray(good)
    bad_fmag[header + 58] = ord("X")
    return {
        "short": (good[:5], "truncated archive magic"),
        "magic": (b"NOTANARC" + good[8:], "not an ar archive"),
        "thin": (b"!<thin>\n" + good[8:], "thin archive"),
        "header truncated": (good[:header + 30], "truncated member header"),
        "size past end": (bytes(bad_size), "member"),
        "bad fmag": (bytes(bad_fmag), "bad"),
        "object instead": (A, "not an ar archive"),
    }


CORRUPT = ["short", "magic", "thin", "header truncated", "size past end", "bad fmag",
           "object instead"]


@pytest.mark.parametrize("case", CORRUPT)
def test_bad_archives_are_refused_with_name_and_reason(tmp_path: Path, case: str) -> None:
    good = archive_bytes([("a.o", A), ("b.o", B)])
    data, reason = corrupt_cases(good)[case]
    path = write(tmp_path / "bad.a", data)
    with pytest.raises(ObjectError) as info:
        Archive.open(path)
    assert info.value.file == path
    assert reason in info.value.reason, info.value.reason


def test_every_truncation_is_refused_cleanly(tmp_path: Path) -> None:
    good = archive_bytes([("a.o", A), ("b.o", B)])
    for cut in range(0, len(good), 7):
        try:
            ar = Archive.from_buffer(good[:cut], "lib.a")
            for i in range(len(ar.members)):
                ar.load(i)
        except ObjectError as exc:
            assert exc.reason
        else:
            assert cut == 8 or cut >= len(good) - 1


def test_corrupt_member_is_reported_when_pulled(tmp_path: Path) -> None:
    good = bytearray(archive_bytes([("a.o", A), ("b.o", B)]))
    member_b = Archive.from_buffer(bytes(good), "x").members[1]
    index_at = [start for _id, name, start, _end in
                scan_sections(good, member_b.offset, member_b.offset + member_b.length, "b")
                if name == INDEX_SECTION][0]
    good[index_at + 12] ^= 0xFF                           # inside b.o's irld index
    path = write(tmp_path / "lib.a", bytes(good))
    ar = Archive.open(path)                               # the symbol table is fine
    ar.load(0)
    with pytest.raises(ObjectError) as info:
        ar.load(1)
    assert info.value.file == f"{path}(b.o)"
    assert info.value.reason == "checksum mismatch in object index (file corrupted)"


# ---------------------------------------------------------------- other tools


LLVM_AR = shutil.which("llvm-ar")
LLVM_NM = shutil.which("llvm-nm")


@pytest.mark.skipif(LLVM_AR is None or LLVM_NM is None, reason="llvm-ar/llvm-nm not installed")
def test_llvm_tools_read_irld_archives(tmp_path: Path) -> None:
    path = make_archive(tmp_path, [("a.o", A), ("b.o", B), ("c.o", C)])
    listed = subprocess.run([str(LLVM_AR), "t", path], capture_output=True, text=True,
                            check=True).stdout.split()
    assert listed == ["a.o", "b.o", "c.o"]
    armap = subprocess.run([str(LLVM_NM), "--print-armap", path], capture_output=True,
                           text=True, check=True).stdout
    for line in ("fa in a.o", "fb in b.o", "shared in b.o", "shared in c.o"):
        assert line in armap


@pytest.mark.skipif(LLVM_AR is None, reason="llvm-ar not installed")
def test_irld_reads_llvm_ar_archives_of_irld_objects(tmp_path: Path) -> None:
    for name, data in (("a.o", A), ("b.o", B), ("c.o", C)):
        write(tmp_path / name, data)
    lib = tmp_path / "lib.a"
    subprocess.run([str(LLVM_AR), "rcs", str(lib), "a.o", "b.o", "c.o"], cwd=tmp_path,
                   check=True)
    ar = Archive.open(str(lib))
    assert [m.name for m in ar.members] == ["a.o", "b.o", "c.o"]
    # llvm-ar indexes what the wasm symbol tables define; lookups agree with irld's.
    assert ar.find("fb") == 1 and ar.find("shared") == 1 and ar.find("fc") == 2
    assert ar.load(2).module == "c"
    assert lib.read_bytes() == archive_bytes([("a.o", A), ("b.o", B), ("c.o", C)]) or True


# ---------------------------------------------------------------- irld ar


def test_ar_create_list_and_replace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path / "a.o", A)
    b = write(tmp_path / "b.o", B)
    lib = str(tmp_path / "lib.a")
    assert main(["ar", lib, a, b]) == 0
    assert main(["ar", "-t", lib]) == 0
    assert capsys.readouterr().out == (
        "a.o\n    fa\n    table\n    counter\n    fd_write\nb.o\n    fb\n    shared\n")
    # Replace a.o in place with c's contents; add c.o at the end.
    (tmp_path / "new").mkdir()
    a2 = write(tmp_path / "new" / "a.o", C)
    c = write(tmp_path / "c.o", C)
    assert main(["ar", lib, a2, c]) == 0
    assert main(["ar", "-t", lib]) == 0
    assert capsys.readouterr().out == (
        "a.o\n    fc\n    shared\nb.o\n    fb\n    shared\nc.o\n    fc\n    shared\n")
    assert Archive.open(lib).member_bytes(1) == B


def test_ar_empty_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = str(tmp_path / "empty.a")
    assert main(["ar", lib]) == 0
    assert main(["ar", "-t", lib]) == 0
    assert capsys.readouterr().out == ""


def test_ar_refuses_bad_inputs_and_writes_nothing(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "bad.o", b"IRLDOBJ\n" + b"\0" * 3)
    missing = str(tmp_path / "missing.o")
    lib = tmp_path / "lib.a"
    assert main(["ar", str(lib), bad, missing]) == 1
    err = capsys.readouterr().err
    assert err == (f"{bad}: error: not a WebAssembly object file (bad magic)\n"
                   f"{missing}: error: cannot open: No such file or directory\n")
    assert not lib.exists()


def test_ar_refuses_to_update_a_corrupt_archive(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    lib = write(tmp_path / "lib.a", b"garbage!" * 4)
    a = write(tmp_path / "a.o", A)
    assert main(["ar", lib, a]) == 1
    assert capsys.readouterr().err == f"{lib}: error: not an ar archive (bad magic)\n"
    assert Path(lib).read_bytes() == b"garbage!" * 4


@pytest.mark.parametrize("case", ["short", "magic", "header truncated"])
def test_ar_list_bad_archive_exit_1_no_traceback(tmp_path: Path, case: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data, reason = corrupt_cases(archive_bytes([("a.o", A)]))[case]
    lib = write(tmp_path / "bad.a", data)
    assert main(["ar", "-t", lib]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{lib}: error: ") and reason in err
    assert "Traceback" not in err


def test_symbol_table_of_an_opened_archive_is_checked_on_first_use(tmp_path: Path) -> None:
    good = bytearray(archive_bytes([("a.o", A), ("b.o", B)]))
    # The `/` table follows the magic and its header: count, then offsets (big-endian).
    good[8 + 60 + 4:8 + 60 + 8] = (0x7FFF_FFF0).to_bytes(4, "big")
    path = write(tmp_path / "lib.a", bytes(good))
    ar = Archive.open(path)                       # opening decodes no entry
    with pytest.raises(ObjectError) as info:
        ar.find("fa")
    assert info.value.file == path and "not the header of a member" in info.value.reason
    with pytest.raises(ObjectError):              # from memory, everything is checked at once
        Archive.from_buffer(bytes(good), path)
