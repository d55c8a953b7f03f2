"""The object index cache (`--cache-dir`, linker.store.objcache).

A clang-compiled program (benchmarks/gen_c.py, small) linked with and without
the cache gives byte-identical output: cold (entries written), warm (entries
read), warm again after a link that roots more functions (entries grow), and
with the member moved into another archive.  A corrupt, truncated, foreign
or unreadable entry is ignored and rewritten, never trusted and never a
traceback; a changed object misses its old entry.  A restored object answers
every question the linker asks the same way as one read cold.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import linker
from linker.cli.main import main
from linker.store.objcache import CACHE_ENV, MAGIC, IndexCache
from linker.store.objfile import LoadStats
from linker.store.wasm_input import cached_wasm_object, read_wasm_object

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gen_c  # noqa: E402

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("clang", "llvm-ar")), reason="needs clang and llvm-ar")

SMALL = gen_c.Params(funcs=300, files=4, live=0.2, seed=5)


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(main.o, lib.a) of the small generated C program."""
    d = tmp_path_factory.mktemp("cprog")
    gen_c.program(SMALL).write(d)
    gen_c.compile_dir(d, jobs=2, log=False)
    lib = gen_c.archive(d)
    return d / "obj" / "main.o", lib


def _link(program: tuple[Path, Path], cache: Path | None, **kw: object) -> bytes:
    main_o, lib = program
    res = linker.link([main_o, lib], entry=None, exports=["main"],
                      cache_dir=None if cache is None else str(cache), **kw)
    assert res.wasm is not None
    return res.wasm


def _stats(program: tuple[Path, Path], cache: Path) -> IndexCache:
    main_o, lib = program
    res = linker.link([main_o, lib], entry=None, exports=["main"], cache_dir=str(cache))
    c = res.store.cache
    assert c is not None
    return c


def test_cold_and_warm_outputs_are_identical(program: tuple[Path, Path], tmp_path: Path) -> None:
    plain = _link(program, None)
    cache = tmp_path / "cache"
    cold = _stats(program, cache)
    assert cold.hits == 0 and cold.misses > 0 and cold.written == cold.misses
    entries = sorted(cache.glob("*.idx"))
    assert len(entries) == cold.written
    assert not list(cache.glob(".tmp-*"))          # written by rename, nothing left over
    warm = _stats(program, cache)
    assert warm.hits == cold.misses and warm.misses == warm.rejected == warm.written == 0
    assert _link(program, cache) == plain
    assert sorted(cache.glob("*.idx")) == entries


def test_a_link_that_needs_more_grows_the_entries(program: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert _link(program, cache) == _link(program, None)
    # Exporting every function decodes relocations no earlier link needed.
    plain = _link(program, None, export_all=True)
    before = {p.name: p.stat().st_size for p in cache.glob("*.idx")}
    assert _link(program, cache, export_all=True) == plain
    after = {p.name: p.stat().st_size for p in cache.glob("*.idx")}
    assert before.keys() == after.keys() and any(after[k] > before[k] for k in before)
    assert _link(program, cache, export_all=True) == plain
    again = _stats(program, cache)
    assert again.written == 0 and again.rejected == 0 and again.misses == 0


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "foreign", "garbage-payload"])
def test_a_bad_entry_is_ignored_and_rewritten(program: tuple[Path, Path], tmp_path: Path,
                                              damage: str) -> None:
    plain = _link(program, None)
    cache = tmp_path / "cache"
    _link(program, cache)
    entries = sorted(cache.glob("*.idx"))
    victim, other = entries[0], entries[1]
    raw = victim.read_bytes()
    if damage == "flip":
        bad = raw[:-10] + bytes([raw[-10] ^ 0xFF]) + raw[-9:]
    elif damage == "truncate":
        bad = raw[:len(raw) // 2]
    elif damage == "empty":
        bad = b""
    elif damage == "foreign":                     # another object's (valid) entry
        bad = other.read_bytes()
    else:                                         # a checksummed payload that is not ours
        import marshal
        import struct
        import zlib
        payload = marshal.dumps({"object": 1})
        key = bytes.fromhex(victim.stem)
        bad = MAGIC + key + struct.pack("<I", zlib.crc32(payload)) + payload
    victim.write_bytes(bad)
    c = _stats(program, cache)
    assert c.rejected == 1 and c.written == 1 and c.hits == len(entries) - 1
    assert victim.read_bytes() == raw               # rewritten whole
    assert _link(program, cache) == plain


def test_a_changed_object_misses_its_old_entry(program: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    main_o, lib = program
    cache = tmp_path / "cache"
    copy = tmp_path / "main.o"
    copy.write_bytes(main_o.read_bytes())
    linker.link([copy, lib], entry=None, exports=["main"], cache_dir=str(cache))
    # Same size, one byte of a custom section's name changed: a different object.
    data = bytearray(copy.read_bytes())
    at = data.rfind(b"producers")
    assert at > 0
    data[at] = ord("q")
    copy.write_bytes(bytes(data))
    res = linker.link([copy, lib], entry=None, exports=["main"], cache_dir=str(cache))
    c = res.store.cache
    assert c is not None and c.misses == 1 and c.written == 1


def test_a_member_in_another_archive_hits(program: tuple[Path, Path], tmp_path: Path) -> None:
    main_o, lib = program
    cache = tmp_path / "cache"
    plain = _link(program, None)
    _link(program, cache)
    members = sorted(p for p in lib.parent.glob("m*.o"))
    other = tmp_path / "lib.a"
    # Reversed order: every member at another offset.
    subprocess.run(["llvm-ar", "rcs", str(other), *map(str, reversed(members))], check=True)
    res = linker.link([main_o, other], entry=None, exports=["main"], cache_dir=str(cache))
    c = res.store.cache
    assert c is not None and c.misses == 0 and c.hits > 0
    assert res.wasm == plain


def test_restored_object_answers_as_a_cold_one(program: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    main_o, lib = program
    obj = lib.parent / "m1.o"
    buf = obj.read_bytes()
    cold = read_wasm_object(buf, 0, len(buf), str(obj), LoadStats())
    cache = IndexCache(str(tmp_path / "cache"))
    first = cached_wasm_object(buf, 0, len(buf), str(obj), LoadStats(), cache)
    for rec in first.records[:50]:
        _ = rec.raw_refs                              # some references decoded
    cache.flush()
    cache = IndexCache(str(tmp_path / "cache"))
    warm = cached_wasm_object(buf, 0, len(buf), str(obj), LoadStats(), cache)
    assert cache.hits == 1
    wc, ww = cold.wasm(), warm.wasm()
    for field in ("types", "globals", "exports", "init_funcs", "comdats",
                  "target_features", "custom_sections", "sections", "code_section",
                  "data_section", "data_count", "num_imported_funcs", "num_imported_globals"):
        assert getattr(wc, field) == getattr(ww, field), field
    assert list(wc.imports) == list(ww.imports)
    assert list(wc.functions) == list(ww.functions)
    assert list(wc.symbols) == list(ww.symbols)
    assert list(wc.segments) == list(ww.segments)
    assert wc.symbol_kinds() == ww.symbol_kinds()
    for i in range(len(wc.functions)):
        assert wc.function_relocs(i) == ww.function_relocs(i)
    assert wc.data_relocs == ww.data_relocs
    for field in ("exports", "ctors", "extern_funcs", "extern_globals", "link_names",
                  "undefined", "weak_undefined", "kept", "comdats", "ffi_signatures", "module"):
        assert getattr(cold, field) == getattr(warm, field), field
    assert len(cold.records) == len(warm.records)
    for a, b in zip(cold.records, warm.records):
        assert (a.name, a.kind, a.private, a.info, a.chunk, a.alias, a.weak, a.hidden,
                a.raw_refs) == (b.name, b.kind, b.private, b.info, b.chunk, b.alias, b.weak,
                                b.hidden, b.raw_refs)


def test_cli_flag_env_and_no_cache(program: tuple[Path, Path], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    main_o, lib = program
    base = ["link", "--no-entry", "--export", "main", str(main_o), str(lib), "-v"]
    flag_dir = tmp_path / "flag"
    assert main([*base, "-o", str(tmp_path / "a.wasm"), "--cache-dir", str(flag_dir)]) == 0
    assert "0 hits" in capsys.readouterr().err and list(flag_dir.glob("*.idx"))
    env_dir = tmp_path / "env"
    monkeypatch.setenv(CACHE_ENV, str(env_dir))
    # The default is read when main() builds its parser.
    assert main([*base, "-o", str(tmp_path / "b.wasm")]) == 0
    assert f"index cache {env_dir}" in capsys.readouterr().err and list(env_dir.glob("*.idx"))
    assert main([*base, "-o", str(tmp_path / "c.wasm"), "--no-cache"]) == 0
    assert "index cache" not in capsys.readouterr().err
    a, b, c = (tmp_path / f"{x}.wasm" for x in "abc")
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()


def test_an_unwritable_cache_dir_does_not_fail_the_link(program: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert _link(program, blocker / "cache") == _link(program, None)
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            assert _link(program, ro) == _link(program, None)
        finally:
            ro.chmod(0o700)


def test_as_a_program_the_link_flushes_before_its_early_exit(program: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    """`irld link` run as a program ends with os._exit (linker.cli.main.EXIT_EARLY):
    its output, its stderr report and the cache entries are all there, and a
    failing link still exits 1 with its diagnostic."""
    main_o, lib = program
    out = tmp_path / "a.wasm"
    cmd = [sys.executable, "-m", "linker.cli.main", "link", "--no-entry", "--export", "main",
           str(main_o), str(lib), "-o", str(out), "-v", "--cache-dir", str(tmp_path / "c")]
    for _ in range(2):
        done = subprocess.run(cmd, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "irld: index cache" in done.stderr and done.stderr.endswith("\n")
        assert out.read_bytes() == _link(program, None)
    assert "0 misses" in done.stderr and list((tmp_path / "c").glob("*.idx"))
    bad = subprocess.run([*cmd[:4], str(tmp_path / "missing.o")], capture_output=True,
                         text=True)
    assert bad.returncode == 1 and "cannot open" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_an_archive_symbol_table_is_kept_and_restored(program: tuple[Path, Path],
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A link that decodes an archive's symbol table keeps it (``.sym``); a later
    link of the same archive restores it instead of decoding, with the same
    output; a table that changed, or a damaged entry, is decoded again."""
    from linker.store.ar import ArArchive
    monkeypatch.setattr(ArArchive, "SCANS", 0)      # decode at the first lookup
    main_o, lib = program
    plain = _link(program, None)
    cache = tmp_path / "cache"
    cold = _stats(program, cache)
    tables = list(cache.glob("*.sym"))
    assert cold.tables_restored == 0 and len(tables) == 1
    assert cold.written == len(list(cache.glob("*.idx")))     # objects only
    warm = linker.link([main_o, lib], entry=None, exports=["main"], cache_dir=str(cache))
    assert warm.store.cache is not None and warm.store.cache.tables_restored == 1
    assert warm.store.archives[0].ar.table_decoded and warm.wasm == plain
    # A damaged entry is ignored (the table is decoded) and written again.
    raw = tables[0].read_bytes()
    tables[0].write_bytes(raw[:-10] + bytes([raw[-10] ^ 0xFF]) + raw[-9:])
    again = _stats(program, cache)
    assert again.tables_restored == 0 and tables[0].read_bytes() == raw
    assert _link(program, cache) == plain
    # Another archive of the same members (other offsets): its own table entry.
    members = sorted(p for p in lib.parent.glob("m*.o"))
    other = tmp_path / "lib.a"
    subprocess.run(["llvm-ar", "rcs", str(other), *map(str, reversed(members))], check=True)
    res = linker.link([main_o, other], entry=None, exports=["main"], cache_dir=str(cache))
    assert res.store.cache is not None and res.store.cache.tables_restored == 0
    assert res.wasm == plain and len(list(cache.glob("*.sym"))) == 2
    res = linker.link([main_o, other], entry=None, exports=["main"], cache_dir=str(cache))
    assert res.store.cache is not None and res.store.cache.tables_restored == 1
    assert res.wasm == plain
