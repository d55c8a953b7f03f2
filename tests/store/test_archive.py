"""Archives: format, lazy member loading, validation, and the `irld ar` command."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import msgpack
import pytest

from linker.cli.main import main
from linker.compile import compile_module
from linker.ir.model import (BasicBlock, Call, Data, ExternFunc, Func, Global, ImportFunc, IntItem,
                             Module, Return)
from linker.ir.types import FuncType, ValType
from linker.store.archive import HEADER, MAGIC, Archive, archive_bytes, update_members
from linker.store.objfile import LoadStats, ObjectError


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


def make_archive(tmp_path: Path, members: list[tuple[str, bytes]], name: str = "lib.ira") -> str:
    return write(tmp_path / name, archive_bytes(members))


# ---------------------------------------------------------------- format and laziness


def test_symbol_index_lists_non_private_definitions(tmp_path: Path) -> None:
    path = make_archive(tmp_path, [("a.iro", A), ("b.iro", B)])
    ar = Archive.open(path)
    assert [m.name for m in ar.members] == ["a.iro", "b.iro"]
    assert ar.member_symbols(0) == ["fa", "table", "counter", "fd_write"]
    assert ar.member_symbols(1) == ["fb", "shared"]
    assert ar.find("fa") == 0 and ar.find("fb") == 1
    assert ar.find("a$helper") is None      # private: not in the index
    assert ar.find("nope") is None


def test_first_member_defining_a_symbol_wins(tmp_path: Path) -> None:
    ar = Archive.open(make_archive(tmp_path, [("b.iro", B), ("c.iro", C)]))
    assert ar.find("shared") == 0
    ar2 = Archive.open(make_archive(tmp_path, [("c.iro", C), ("b.iro", B)], "lib2.ira"))
    assert ar2.find("shared") == 0 and ar2.members[0].name == "c.iro"


def test_open_reads_only_the_symbol_index(tmp_path: Path) -> None:
    stats = LoadStats()
    ar = Archive.open(make_archive(tmp_path, [("a.iro", A), ("b.iro", B)]), stats)
    assert stats.indices_read == 1 and stats.bodies_decoded == 0
    assert not ar.is_loaded(0) and not ar.is_loaded(1)
    obj = ar.load(1)
    assert obj.name == f"{tmp_path / 'lib.ira'}(b.iro)"
    assert [r.name for r in obj.records] == ["fb", "shared"]
    assert stats.indices_read == 2 and ar.is_loaded(1) and not ar.is_loaded(0)
    assert ar.load(1) is obj                 # loaded once
    assert stats.indices_read == 2
    body = obj.body(obj.records[0])
    assert isinstance(body, Func) and body.name == "fb"
    assert stats.bodies_decoded == 1


def test_members_are_stored_verbatim(tmp_path: Path) -> None:
    ar = Archive.open(make_archive(tmp_path, [("a.iro", A), ("b.iro", B)]))
    assert ar.member_bytes(0) == A and ar.member_bytes(1) == B


def test_empty_archive(tmp_path: Path) -> None:
    ar = Archive.open(make_archive(tmp_path, []))
    assert ar.members == () and ar.find("main") is None


def test_update_replaces_in_place_and_appends() -> None:
    out = update_members([("a.iro", b"1"), ("b.iro", b"2")],
                         [("b.iro", b"3"), ("c.iro", b"4"), ("c.iro", b"5")])
    assert out == [("a.iro", b"1"), ("b.iro", b"3"), ("c.iro", b"5")]


def test_large_offsets_are_consistent(tmp_path: Path) -> None:
    # Offsets past 65535 need wider msgpack integers, which grows the index.
    members = [(f"m{i}.iro", obj_bytes(f"m{i}", *(func(f"m{i}_f{j}") for j in range(200))))
               for i in range(12)]
    ar = Archive.open(make_archive(tmp_path, members))
    for i, (_, data) in enumerate(members):
        assert ar.member_bytes(i) == data
        assert ar.load(i).module == f"m{i}"


# ---------------------------------------------------------------- validation


def corrupt_cases(good: bytes) -> dict[str, tuple[bytes, str]]:
    _magic, _version, index_len, crc = HEADER.unpack(good[:HEADER.size])
    flipped = bytearray(good)
    flipped[HEADER.size + 3] ^= 0xFF
    return {
        "short": (good[:5], "not an irld archive (too short)"),
        "magic": (b"NOTANARC" + good[8:], "not an irld archive (bad magic)"),
        "version": (HEADER.pack(MAGIC, 9, index_len, crc) + good[HEADER.size:],
                    "archive format version 9 is newer than this irld supports (1); "
                    "rebuild it with `irld ar`"),
        "index truncated": (good[:HEADER.size + index_len // 2],
                            "truncated archive (symbol index runs past the end)"),
        "checksum": (bytes(flipped),
                     "checksum mismatch in archive symbol index (file corrupted)"),
        "object instead": (A, "not an irld archive (bad magic)"),
        "not msgpack": (HEADER.pack(MAGIC, 1, 1, zlib.crc32(b"\xc1")) + b"\xc1",
                        "corrupt archive symbol index"),
    }


@pytest.mark.parametrize("case", ["short", "magic", "version", "index truncated", "checksum",
                                  "object instead", "not msgpack"])
def test_bad_archives_are_refused_with_name_and_reason(tmp_path: Path, case: str) -> None:
    good = archive_bytes([("a.iro", A), ("b.iro", B)])
    data, reason = corrupt_cases(good)[case]
    path = write(tmp_path / "bad.ira", data)
    with pytest.raises(ObjectError) as info:
        Archive.open(path)
    assert info.value.file == path
    assert info.value.reason.startswith(reason)


def test_truncated_member_names_the_member(tmp_path: Path) -> None:
    good = archive_bytes([("a.iro", A), ("b.iro", B)])
    path = write(tmp_path / "lib.ira", good[:-10])
    with pytest.raises(ObjectError) as info:
        Archive.open(path)
    assert info.value.file == f"{path}(b.iro)"
    assert info.value.reason == "truncated archive (member runs past the end)"


def test_corrupt_member_is_reported_when_pulled(tmp_path: Path) -> None:
    good = bytearray(archive_bytes([("a.iro", A), ("b.iro", B)]))
    path = tmp_path / "lib.ira"
    path.write_bytes(bytes(good))
    member_b = Archive.open(str(path)).members[1]
    good[member_b.offset + HEADER.size + 2] ^= 0xFF     # inside b.iro's index
    path.write_bytes(bytes(good))
    ar = Archive.open(str(path))                         # the archive index is fine
    ar.load(0)
    with pytest.raises(ObjectError) as info:
        ar.load(1)
    assert info.value.file == f"{path}(b.iro)"
    assert info.value.reason == "checksum mismatch in object index (file corrupted)"


def test_bad_member_number_in_index(tmp_path: Path) -> None:
    index = msgpack.packb({"members": [], "symbols": ["x"], "owners": [3]})
    data = HEADER.pack(MAGIC, 1, len(index), zlib.crc32(index)) + index
    path = write(tmp_path / "x.ira", data)
    with pytest.raises(ObjectError, match="bad member number"):
        Archive.open(path)


# ---------------------------------------------------------------- irld ar


def test_ar_create_list_and_replace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path / "a.iro", A)
    b = write(tmp_path / "b.iro", B)
    lib = str(tmp_path / "lib.ira")
    assert main(["ar", lib, a, b]) == 0
    assert main(["ar", "-t", lib]) == 0
    assert capsys.readouterr().out == (
        "a.iro\n    fa\n    table\n    counter\n    fd_write\nb.iro\n    fb\n    shared\n")
    # Replace a.iro in place with c's contents; add c.iro at the end.
    (tmp_path / "new").mkdir()
    a2 = write(tmp_path / "new" / "a.iro", C)
    c = write(tmp_path / "c.iro", C)
    assert main(["ar", lib, a2, c]) == 0
    assert main(["ar", "-t", lib]) == 0
    assert capsys.readouterr().out == (
        "a.iro\n    fc\n    shared\nb.iro\n    fb\n    shared\nc.iro\n    fc\n    shared\n")
    assert Archive.open(lib).member_bytes(1) == B


def test_ar_empty_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = str(tmp_path / "empty.ira")
    assert main(["ar", lib]) == 0
    assert main(["ar", "-t", lib]) == 0
    assert capsys.readouterr().out == ""


def test_ar_refuses_bad_inputs_and_writes_nothing(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path / "bad.iro", b"IRLDOBJ\n" + b"\0" * 3)
    missing = str(tmp_path / "missing.iro")
    lib = tmp_path / "lib.ira"
    assert main(["ar", str(lib), bad, missing]) == 1
    err = capsys.readouterr().err
    assert err == (f"{bad}: error: not an irld object file (too short)\n"
                   f"{missing}: error: cannot open: No such file or directory\n")
    assert not lib.exists()


def test_ar_refuses_to_update_a_corrupt_archive(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    lib = write(tmp_path / "lib.ira", b"garbage!" * 4)
    a = write(tmp_path / "a.iro", A)
    assert main(["ar", lib, a]) == 1
    assert capsys.readouterr().err == f"{lib}: error: not an irld archive (bad magic)\n"
    assert Path(lib).read_bytes() == b"garbage!" * 4


@pytest.mark.parametrize("case", ["short", "magic", "version", "index truncated", "checksum"])
def test_ar_list_bad_archive_exit_1_no_traceback(tmp_path: Path, case: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data, reason = corrupt_cases(archive_bytes([("a.iro", A)]))[case]
    lib = write(tmp_path / "bad.ira", data)
    assert main(["ar", "-t", lib]) == 1
    err = capsys.readouterr().err
    assert err == f"{lib}: error: {reason}\n"
    assert "Traceback" not in err


def test_version_field_is_little_endian_u32() -> None:
    data = archive_bytes([])
    assert data[:8] == MAGIC and struct.unpack_from("<I", data, 8)[0] == 1
