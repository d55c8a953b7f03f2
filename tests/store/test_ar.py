"""Unix `ar` archives (`linker.store.ar`): checked against llvm-ar, GNU ar, llvm-nm and GNU nm."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linker.store.ar import MAGIC, ArArchive, ArchiveError, write_archive

SOURCES = {  # object name -> C source; names cover short, 15, 16 and long; `foo` twice
    "a.o": "int foo(void) { return 1; }\nint bar_sym = 3;\n",
    "fifteen_chars.o": "int fifteen(void) { return 15; }\nstatic int hidden(void) { return 0; }\n",
    "sixteen__chars.o": "long sixteen_data[3] = {1, 2, 3};\n",
    "a_very_long_member_name.o": "int baz(void) { return 2; }\nint foo(void) { return 5; }\n",
}
NAMES = list(SOURCES)
FAKE = [("x.o", b"hello", ["alpha", "beta"]),
        ("a_long_member_name_here.o", b"odd", ["gamma", "alpha"]),
        ("fifteen_chars.o", b"", []),
        ("sixteen__chars.o", b"\n\0data\xff", ["delta"]),
        ("x.o", b"second x", ["epsilon"])]


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not installed")
    return path


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def armap(archive: Path) -> list[tuple[str, str]]:
    """(symbol, member) entries of the archive's symbol table, as llvm-nm prints them."""
    out = run(need("llvm-nm"), "--print-armap", str(archive))
    if not out.startswith("Archive map\n"):
        return []
    lines = out.split("\n\n", 1)[0].splitlines()[1:]
    return [(sym, member) for sym, _, member in (line.partition(" in ") for line in lines)]


def compile_objects(tmp_path: Path, kind: str) -> Path:
    """SOURCES compiled for wasm32 (clang) or the host (gcc), in a fresh directory."""
    out = tmp_path / kind
    out.mkdir()
    for name, source in SOURCES.items():
        c = out / (name[:-2] + ".c")
        c.write_text(source)
        if kind == "wasm":
            run(need("clang"), "--target=wasm32-wasi", "-c", str(c), "-o", str(out / name))
        else:
            run(need("gcc"), "-c", str(c), "-o", str(out / name))
    return out


def tool_archive(tmp_path: Path, tool: str, kind: str, flags: str = "rcs",
                 env: dict[str, str] | None = None, extra: tuple[str, ...] = ()) -> Path:
    objs = compile_objects(tmp_path, kind)
    run(need(tool), *extra, flags, "lib.a", *NAMES, cwd=objs, env=env)
    return objs / "lib.a"


def expected_symbols(entries: list[tuple[str, str]], names: list[str]) -> dict[str, int]:
    symbols: dict[str, int] = {}
    for sym, member in entries:
        symbols.setdefault(sym, names.index(member))
    return symbols


def check_against_tools(archive: Path, objs: Path) -> ArArchive:
    ar = ArArchive.open(str(archive))
    listed = run(need("llvm-ar"), "t", str(archive)).split()
    assert [m.name for m in ar.members] == listed == NAMES
    for i, name in enumerate(NAMES):
        assert bytes(ar.member_data(i)) == (objs / name).read_bytes()
    entries = armap(archive)
    assert ar.symbols == expected_symbols(entries, NAMES)
    for sym in ar.symbol_order:
        assert ar.symbol_owners(sym) == [NAMES.index(m) for s, m in entries if s == sym]
    return ar


# --- archives written by the tools ----------------------------------------------------------

@pytest.mark.parametrize("tool,kind", [("llvm-ar", "wasm"), ("llvm-ar", "elf"), ("ar", "elf"),
                                       ("ar", "wasm")])
def test_reads_tool_archives(tmp_path: Path, tool: str, kind: str) -> None:
    archive = tool_archive(tmp_path, tool, kind)
    ar = check_against_tools(archive, archive.parent)
    assert ar.has_symbol_table == bool(armap(archive))
    if (tool, kind) != ("ar", "wasm"):  # GNU ar 2.40 does not index wasm objects
        assert ar.has_symbol_table
        assert ar.symbols["foo"] == 0 and ar.symbols["baz"] == 3
        assert ar.symbol_owners("foo") == [0, 3]
        assert "hidden" not in ar.symbols
    assert run(need("ar"), "t", str(archive)).split() == NAMES


def test_llvm_nm_agrees_on_members(tmp_path: Path) -> None:
    archive = tool_archive(tmp_path, "llvm-ar", "wasm")
    ar = ArArchive.open(str(archive))
    defined = run(need("llvm-nm"), "-A", "-g", "--defined-only", str(archive)).splitlines()
    for line in defined:  # lib.a:member.o: 00000001 T foo
        member, sym = line.split(":")[1], line.split()[-1]
        assert NAMES.index(member) in ar.symbol_owners(sym)


def test_reads_sym64_table(tmp_path: Path) -> None:
    env = dict(os.environ, SYM64_THRESHOLD="0")  # llvm-ar's switch to force /SYM64/
    archive = tool_archive(tmp_path, "llvm-ar", "elf", env=env)
    if archive.read_bytes()[8:16] != b"/SYM64/ ":
        pytest.skip("this llvm-ar ignores SYM64_THRESHOLD")
    check_against_tools(archive, archive.parent)


# llvm-nm 14 aborts on a darwin archive of wasm objects (padding breaks the wasm member)
@pytest.mark.parametrize("fmt,kind", [("bsd", "wasm"), ("darwin", "elf")])
def test_reads_bsd_table(tmp_path: Path, fmt: str, kind: str) -> None:
    archive = tool_archive(tmp_path, "llvm-ar", kind, extra=(f"--format={fmt}",))
    assert archive.read_bytes()[8:11] == b"#1/"
    ar = ArArchive.open(str(archive))
    assert [m.name for m in ar.members] == NAMES
    assert ar.symbols == expected_symbols(armap(archive), NAMES)
    for i, name in enumerate(NAMES):  # darwin pads members to 8 bytes inside the size
        data = bytes(ar.member_data(i))
        assert data == run_bytes("llvm-ar", "p", str(archive), name)
        assert data.startswith((archive.parent / name).read_bytes())


def run_bytes(tool: str, *args: str) -> bytes:
    return subprocess.run([need(tool), *args], capture_output=True, check=True).stdout


@pytest.mark.parametrize("tool", ["llvm-ar", "ar"])
def test_archive_without_symbol_table(tmp_path: Path, tool: str) -> None:
    archive = tool_archive(tmp_path, tool, "elf", flags="rcS")
    ar = ArArchive.open(str(archive))
    assert not ar.has_symbol_table and ar.symbols == {} and ar.symbol_order == []
    assert [m.name for m in ar.members] == NAMES
    assert bytes(ar.member_data(1)) == (archive.parent / NAMES[1]).read_bytes()


def test_thin_archive_refused(tmp_path: Path) -> None:
    archive = tool_archive(tmp_path, "llvm-ar", "elf", flags="rcsT")
    with pytest.raises(ArchiveError, match="thin archive") as exc:
        ArArchive.open(str(archive))
    assert exc.value.file == str(archive)


# --- writing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("tool,kind", [("llvm-ar", "wasm"), ("llvm-ar", "elf"), ("ar", "elf")])
def test_write_matches_tool_bytes(tmp_path: Path, tool: str, kind: str) -> None:
    archive = tool_archive(tmp_path, tool, kind)
    entries = armap(archive)
    members = [(name, (archive.parent / name).read_bytes(),
                [s for s, m in entries if m == name]) for name in NAMES]
    assert write_archive(members) == archive.read_bytes()


def test_write_matches_llvm_ar_for_duplicates_and_no_symbols(tmp_path: Path) -> None:
    objs = compile_objects(tmp_path, "elf")
    (objs / "empty.c").write_text("static int unused;\n")
    run(need("gcc"), "-c", "empty.c", "-o", "empty.o", cwd=objs)
    order = ["empty.o", "a_very_long_member_name.o", "a.o", "a_very_long_member_name.o"]
    symbols = {}
    for name in set(order):  # each object's symbols, in the order llvm-ar lists them
        run(need("llvm-ar"), "qcs", f"{name}.a", name, cwd=objs)
        symbols[name] = [s for s, _ in armap(objs / f"{name}.a")]
    assert symbols["empty.o"] == [] and symbols["a.o"] == ["foo", "bar_sym"]
    run(need("llvm-ar"), "qcs", "lib.a", *order, cwd=objs)  # q keeps the duplicate member
    members = [(n, (objs / n).read_bytes(), symbols[n]) for n in order]
    assert write_archive(members) == (objs / "lib.a").read_bytes()
    assert write_archive(members[:1]) == (objs / "empty.o.a").read_bytes()
    run(need("llvm-ar"), "rcs", "none.a", cwd=objs)
    assert write_archive([]) == (objs / "none.a").read_bytes() == MAGIC


def test_write_listed_by_both_tools(tmp_path: Path) -> None:
    path = tmp_path / "fake.a"
    path.write_bytes(write_archive(FAKE))
    names = [n for n, _, _ in FAKE]
    assert run(need("llvm-ar"), "t", str(path)).splitlines() == names
    assert run(need("ar"), "t", str(path)).splitlines() == names
    for name, data, _ in FAKE[1:4]:
        assert run_bytes("llvm-ar", "p", str(path), name) == data
        assert run_bytes("ar", "p", str(path), name) == data


def test_write_symbol_table_seen_by_tools(tmp_path: Path) -> None:
    path = tmp_path / "fake.a"
    path.write_bytes(write_archive(FAKE))
    expected = [(s, n) for n, _, syms in FAKE for s in syms]
    assert armap(path) == expected
    gnu = subprocess.run([need("nm"), "-s", str(path)], capture_output=True, text=True).stdout
    assert gnu.startswith("\nArchive index:\n")  # members are not objects: nm complains after
    lines = gnu.splitlines()[2:2 + len(expected)]
    assert [tuple(line.split(" in ")) for line in lines] == expected


def test_write_headers_are_deterministic() -> None:
    out = write_archive(FAKE)
    assert out == write_archive(FAKE)
    ar = ArArchive.from_bytes(out, "fake.a")
    for m in ar.members:
        header = out[m.header_offset:m.header_offset + 60]
        assert header[16:58].split() == [b"0", b"0", b"0", b"644", str(m.size).encode()]
        assert header[58:] == b"`\n" and m.header_offset % 2 == 0
    assert out[8:24] == b"/".ljust(16) and out[8 + 40:8 + 48] == b"0".ljust(8)
    assert len(out) % 2 == 0


def test_round_trip() -> None:
    ar = ArArchive.from_bytes(write_archive(FAKE), "fake.a")
    assert [m.name for m in ar.members] == [n for n, _, _ in FAKE]
    assert [bytes(ar.member_data(i)) for i in range(len(FAKE))] == [d for _, d, _ in FAKE]
    assert ar.symbols == {"alpha": 0, "beta": 0, "gamma": 1, "delta": 3, "epsilon": 4}
    assert ar.symbol_order == ["alpha", "beta", "gamma", "delta", "epsilon"]
    assert ar.symbol_owners("alpha") == [0, 1] and ar.symbol_owners("nope") == []
    assert ar.label(1) == "fake.a(a_long_member_name_here.o)"
    assert ar.has_symbol_table


def test_empty_archive_and_no_symbols() -> None:
    ar = ArArchive.from_bytes(write_archive([("e.o", b"", [])]), "e.a")
    assert [m.name for m in ar.members] == ["e.o"] and ar.symbols == {} and ar.has_symbol_table
    bare = ArArchive.from_bytes(MAGIC, "bare.a")
    assert bare.members == [] and not bare.has_symbol_table


names_st = st.text(st.characters(codec="utf-8", exclude_characters="\n\0"), min_size=1,
                   max_size=24)
symbols_st = st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1),
                      max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(names_st, st.binary(max_size=9), symbols_st), max_size=6))
def test_round_trip_any(members: list[tuple[str, bytes, list[str]]]) -> None:
    ar = ArArchive.from_bytes(write_archive(members), "p.a")
    assert [m.name for m in ar.members] == [n for n, _, _ in members]
    assert [bytes(ar.member_data(i)) for i in range(len(members))] == [d for _, d, _ in members]
    owners: dict[str, list[int]] = {}
    for i, (_, _, syms) in enumerate(members):
        for s in syms:
            owners.setdefault(s, []).append(i)
    assert ar.symbols == {s: o[0] for s, o in owners.items()}
    assert all(ar.symbol_owners(s) == o for s, o in owners.items())


@pytest.mark.parametrize("name,symbols", [("", []), ("a\nb", []), ("a\0", []),
                                          ("ok.o", [""]), ("ok.o", ["a\0b"])])
def test_write_rejects_unstorable_names(name: str, symbols: list[str]) -> None:
    with pytest.raises(ValueError):
        write_archive([(name, b"", symbols)])


# --- opening ---------------------------------------------------------------------------------

def test_open_maps_lazily(tmp_path: Path) -> None:
    path = tmp_path / "lib.a"
    path.write_bytes(write_archive(FAKE))
    ar = ArArchive.open(str(path))
    data = ar.member_data(3)
    assert isinstance(data, memoryview) and data.obj is ar.buf and bytes(data) == FAKE[3][1]
    assert ar.index_bytes < len(path.read_bytes())


def test_open_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.a"
    empty.write_bytes(b"")
    with pytest.raises(ArchiveError, match="empty file") as exc:
        ArArchive.open(str(empty))
    assert str(exc.value) == f"{empty}: empty file, not an ar archive"
    with pytest.raises(ArchiveError, match="cannot open"):
        ArArchive.open(str(tmp_path / "missing.a"))
    corrupt = tmp_path / "corrupt.a"
    corrupt.write_bytes(SMALL[:-2])  # mapped, then unmapped again when parsing fails
    with pytest.raises(ArchiveError, match="extends past the end"):
        ArArchive.open(str(corrupt))


def test_large_symbol_table(tmp_path: Path) -> None:
    members = [(f"member_{m}.o", b"x" * (m % 3), [f"s_{m}_{k}" for k in range(100)])
               for m in range(2000)]
    path = tmp_path / "big.a"
    path.write_bytes(write_archive(members))
    ar = ArArchive.open(str(path))
    assert len(ar.symbols) == 200_000 and len(ar.members) == 2000
    assert ar.symbols["s_1234_56"] == 1234 and ar.members[1234].name == "member_1234.o"
    assert ar.label(1999) == f"{path}(member_1999.o)"


# --- malformed input -------------------------------------------------------------------------

SMALL = write_archive([("a.o", b"abc", ["f", "g"]), ("long_member_name_x.o", b"data!!", ["h"]),
                       ("b.o", b"odd", ["k"])])


def header(name: bytes, size: int | bytes, fmag: bytes = b"`\n") -> bytes:
    size_field = size if isinstance(size, bytes) else str(size).encode()
    return name.ljust(16) + b"0".ljust(32) + size_field.ljust(10) + fmag


def symtab(count: int, offsets: list[int], names: bytes) -> bytes:
    body = struct.pack(f">{len(offsets) + 1}I", count, *offsets) + names
    return header(b"/", len(body)) + body + b"\0" * (len(body) & 1)


def reason(data: bytes) -> str:
    with pytest.raises(ArchiveError) as exc:
        ArArchive.from_bytes(data, "bad.a")
    assert exc.value.file == "bad.a" and str(exc.value) == f"bad.a: {exc.value.reason}"
    return exc.value.reason


def test_every_truncation_is_an_archive_error() -> None:
    survivors = []
    for cut in range(len(SMALL)):
        try:
            ArArchive.from_bytes(SMALL[:cut], "t.a")
        except ArchiveError as exc:
            assert exc.file == "t.a"
        else:
            survivors.append(cut)
    # the bare magic is an empty archive; the last member's pad byte may be missing
    assert survivors == [8, len(SMALL) - 1]


def test_every_byte_mutation_is_an_archive_error_or_ok() -> None:
    for pos in range(len(SMALL)):
        for value in (0, 0x20, 0x2F, 0x39, 0x0A, 0xFF, 0x80):
            data = SMALL[:pos] + bytes([value]) + SMALL[pos + 1:]
            try:
                ArArchive.from_bytes(memoryview(data), "m.a")
            except ArchiveError:
                pass


@pytest.mark.parametrize("data,expected", [
    (b"!<arch\n", "bad magic"),
    (b"!<ar", "truncated archive magic (4 of 8 bytes)"),
    (b"PK\3\4 not an archive", "not an ar archive"),
    (b"", "empty file"),
    (b"!<thin>\n" + header(b"a.o/", 0), "thin archive"),
    (MAGIC + header(b"a.o/", 3)[:40], "truncated member header at offset 8 (40 of 60 bytes)"),
    (MAGIC + header(b"a.o/", 3, b"`X") + b"abc", "bad header terminator"),
    (MAGIC + header(b"a.o/", b"12a") + b"abc", "bad size field"),
    (MAGIC + header(b"a.o/", b"-3") + b"abc", "bad size field"),
    (MAGIC + header(b"a.o/", 5) + b"abc", "size 5 extends past the end of the archive (71 bytes)"),
    (MAGIC + header(b"/0", 2) + b"ab", "no '//' long-name table precedes it"),
    (MAGIC + header(b"//", 4) + b"ab/\n" + header(b"/9", 0), "past the end of the '//' table"),
    (MAGIC + header(b"//", 4) + b"abc\n" + header(b"/0", 0), "not terminated by '/\\n'"),
    (MAGIC + header(b"//", 4) + b"ab/\n" + header(b"//", 0), "second long-name table"),
    (MAGIC + header(b"\xff.o/", 0), "is not valid UTF-8"),
    (MAGIC + header(b"a.o/", 0) + symtab(0, [], b""), "is not the first member"),
    (MAGIC + header(b"/", 2) + b"\0\0", "too short for its 4-byte count"),
    (MAGIC + symtab(1000, [68], b"f\0") + header(b"a.o/", 0), "1000 symbols need 4004 bytes"),
    (MAGIC + symtab(2, [80, 80], b"f\0g") + header(b"a.o/", 0), "only 1 NUL-terminated names"),
    (MAGIC + symtab(1, [79], b"f\0") + header(b"a.o/", 0),
     "symbol table entry 0 ('f') points at offset 79, which is not the header of a member"),
    (MAGIC + symtab(1, [78], b"\xff\0") + header(b"a.o/", 0), "name 0 '\u00ff' is not valid UTF-8"),
    (MAGIC + header(b"#1/x", 0), "bad BSD long name"),
    (MAGIC + header(b"#1/9", 2) + b"ab", "longer than the member"),
    # past the first member too, where ordinary `name/` fields take a short path
    (MAGIC + header(b"a.o/", 0) + header(b"#1/", 0), "bad BSD long name"),
    (MAGIC + header(b"a.o/", 0) + header(b"\xff.o/", 0), "is not valid UTF-8"),
    (MAGIC + header(b"a.o/", 0) + header(b"b.o/", 5), "extends past the end"),
])
def test_malformed(data: bytes, expected: str) -> None:
    assert expected in reason(data)


def test_symbol_table_pointing_at_special_member() -> None:
    long_table = header(b"//", 22) + b"long_member_name_x.o/\n"  # at 78, the member at 160
    data = MAGIC + symtab(1, [78], b"f\0") + long_table + header(b"/0", 0)
    assert "points at offset 78, which is not the header of a member" in reason(data)
    fixed = ArArchive.from_bytes(MAGIC + symtab(1, [160], b"f\0") + data[78:], "ok.a")
    assert fixed.members[0].name == "long_member_name_x.o" and fixed.symbols == {"f": 0}


def test_valid_handcrafted_archive_parses() -> None:
    # the offsets used in test_malformed are right: this one is well formed
    ar = ArArchive.from_bytes(MAGIC + symtab(1, [78], b"f\0") + header(b"a.o/", 0), "ok.a")
    assert ar.symbols == {"f": 0} and ar.members[0].header_offset == 78


def _lazy(data: bytes, tmp: Path) -> ArArchive:
    """`data` opened as a link opens an archive: the symbol table decoded on need."""
    tmp.write_bytes(data)
    return ArArchive.open(str(tmp))


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(names_st, st.binary(max_size=9), symbols_st), max_size=6),
       st.integers(0, 2))
def test_lookups_past_the_scans_agree_with_the_decoded_table(
        members: list[tuple[str, bytes, list[str]]], scans: int) -> None:
    """After its first `SCANS` lookups an archive indexes the raw table (plain
    ASCII names) or decodes it (any other): either way a symbol several members
    define is found in the first, as lld's lazy symbols are."""
    import tempfile
    data = write_archive(members)
    decoded = ArArchive.from_bytes(data, "p.a").symbols
    asked = [s for _, _, syms in members for s in syms] + ["absent", "\u00e9t\u00e9"]
    default = ArArchive.SCANS
    try:
        ArArchive.SCANS = scans
        with tempfile.TemporaryDirectory() as tmp:
            ar = _lazy(data, Path(tmp) / "p.a")
            assert [ar.find(s) for s in asked] == [decoded.get(s) for s in asked]
    finally:
        ArArchive.SCANS = default


def test_a_bad_offset_is_reported_by_the_lookup_that_indexes_the_table(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ArArchive, "SCANS", 0)
    ar = _lazy(MAGIC + symtab(2, [79, 84], b"f\0g\0") + header(b"a.o/", 0), tmp_path / "b.a")
    with pytest.raises(ArchiveError, match="entry 0 .'f'. points at offset 79, which is not "
                                           "the header of a member"):
        ar.find("g")
    ok = _lazy(MAGIC + symtab(2, [84, 84], b"f\0f\0") + header(b"a.o/", 0), tmp_path / "c.a")
    assert ok.find("f") == 0 and ok.find("g") is None and ok.table_indexed
    assert not ok.table_decoded


def test_a_batch_of_lookups_bigger_than_the_scans_left_indexes_at_once(tmp_path: Path) -> None:
    """`expect(n)`: n lookups coming.  Within the scans left the table is still
    scanned; past them the next lookup indexes it (same answers either way)."""
    data = write_archive([("a.o", b"x", ["f", "g"]), ("b.o", b"y", ["h"])])
    few = _lazy(data, tmp_path / "few.a")
    few.expect(ArArchive.SCANS)
    assert few.find("h") == 1 and not few.table_indexed
    few.expect(ArArchive.SCANS)                 # one scan used: no longer fits
    assert few.find("g") == 0 and few.table_indexed
    many = _lazy(data, tmp_path / "many.a")
    many.expect(ArArchive.SCANS + 1)
    assert many.find("f") == 0 and many.find("absent") is None and many.table_indexed


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(names_st, st.binary(max_size=9), symbols_st), max_size=6))
def test_entry_members_agree_with_the_decoded_table_without_decoding_it(
        members: list[tuple[str, bytes, list[str]]]) -> None:
    """`irld link -v` and the report count the entries of unloaded members from
    the table's offsets: the same members, in table order, as decoding it gives,
    and the names stay undecoded (decoding 131,000 names was a fifth of a big link)."""
    import tempfile
    data = write_archive(members)
    decoded = [o for _, o in ArArchive.from_bytes(data, "p.a").entries()]
    with tempfile.TemporaryDirectory() as tmp:
        ar = _lazy(data, Path(tmp) / "p.a")
        assert ar.entry_members() == decoded
        assert not ar.table_decoded or not decoded


def test_entry_members_of_a_bad_table_decode_it_and_report_the_defect(tmp_path: Path) -> None:
    ar = _lazy(MAGIC + symtab(2, [79, 84], b"f\0g\0") + header(b"a.o/", 0), tmp_path / "b.a")
    with pytest.raises(ArchiveError, match="points at offset 79, which is not the header"):
        ar.entry_members()


# --- reading the member headers only when needed ----------------------------------------------

def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_opening_reads_only_the_front_and_a_miss_reads_no_header(tmp_path: Path) -> None:
    """A link that finds nothing in a library (hello world against 200,000 functions)
    reads its symbol table and not one of its 2,000 member headers; the first symbol
    found reads them all, once, and closes the file it read them through."""
    members = [(f"member_{m}.o", b"x" * (m % 3), [f"s_{m}_{k}" for k in range(3)])
               for m in range(2000)]
    path = tmp_path / "big.a"
    path.write_bytes(write_archive(members))
    ar = ArArchive.open(str(path))
    fds = _open_fds()                       # the map's, and the file for the headers
    assert ar.find("absent") is None and ar.find("s_0") is None
    walked, read = ar.walked, ar.index_bytes
    assert ar.find("s_1234_2") == 1234 and ar.walked
    assert _open_fds() == fds - 1
    assert ar.members[1234].name == "member_1234.o" and len(ar.members) == 2000
    # the magic, the table, the first member's header (the special ones ended), the last's
    assert not walked and read == ar.members[0].data_offset + 60


def test_an_archive_never_walked_closes_its_file_when_dropped(tmp_path: Path) -> None:
    path = tmp_path / "lib.a"
    path.write_bytes(write_archive(FAKE))
    fds = _open_fds()
    ar = ArArchive.open(str(path))
    assert ar.find("nothing") is None and not ar.walked
    assert _open_fds() == fds + 2           # the map's, and the file for the headers
    del ar
    import gc
    gc.collect()
    assert _open_fds() == fds


def test_a_bad_header_is_reported_when_the_headers_are_read(tmp_path: Path) -> None:
    """lld's laziness: a defect in a member header is found when a lookup first
    finds a member (or the member list is asked for), and reported every time."""
    good = write_archive(FAKE)
    at = good.index(b"fifteen_chars.o/")
    bad = good[:at + 58] + b"XX" + good[at + 60:]
    path = tmp_path / "bad.a"
    path.write_bytes(bad)
    ar = ArArchive.open(str(path))
    assert ar.find("nothing") is None
    for _ in range(2):
        with pytest.raises(ArchiveError, match=f"bad header terminator b'XX' .* at offset {at}"):
            ar.find("alpha")
    with pytest.raises(ArchiveError, match="bad header terminator"):
        ArArchive.from_bytes(bad, "bad.a")


def test_every_truncation_is_refused_at_open_or_on_the_first_find(tmp_path: Path) -> None:
    """The last table entry's member is checked at open, so cutting the file short
    inside or before that member is refused at once; a cut inside its header, which
    cannot be told from a bad offset, is refused when the headers are read."""
    good = write_archive(FAKE)
    last = good.rindex(b"x.o/ ")
    path = tmp_path / "cut.a"
    for cut in range(len(MAGIC) + 1, len(good) - 1):
        path.write_bytes(good[:cut])
        try:
            ar = ArArchive.open(str(path))
        except ArchiveError as exc:
            assert exc.file == str(path)
            assert not last < cut < last + 60
            continue
        assert last < cut < last + 60, cut
        with pytest.raises(ArchiveError, match="truncated member header"):
            ar.find("epsilon")
