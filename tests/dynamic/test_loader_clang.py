"""irld run's dynamic loader with side modules and PIE mains built by clang -fPIC and wasm-ld.

The same C sources are checked two ways: the main module names the library
in its dylink.0 needed list (loaded at start-up), or opens it with dlopen.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from linker.host import run
from linker.host.dylink import read_linked_module

Build = Callable[..., Path]


def irld(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linker.cli.main", *map(str, args)],
                          capture_output=True, text=True)

EXPECTED = "side_add=129\nside_counter=105\nside_call=30\n"


@pytest.mark.parametrize("side_linker", ["wasm-ld", "irld"])
def test_needed_library_loads_at_startup(pic_build: Build, side_linker: str) -> None:
    side = pic_build("side.so.wasm", ["side.c"], shared=True, linker=side_linker)
    main = pic_build("main.wasm", ["main_needed.c"], shared=False, libs=[side])
    result = run(main, ["main"], capture=True)
    # 1 + 2 + side_counter (5, +100 by the ctor) + square(2) + main_helper(1) + host_value
    assert (result.exit_code, result.stdout.decode()) == (0, EXPECTED)


@pytest.mark.parametrize("side_linker", ["wasm-ld", "irld"])
def test_dlopen_dlsym_dlclose_dlerror(pic_build: Build, side_linker: str) -> None:
    pic_build("side.so.wasm", ["side.c"], shared=True, linker=side_linker)
    main = pic_build("main.wasm", ["main_dlopen.c"], shared=False)
    result = run(main, ["main"], capture=True)
    lines = result.stdout.decode().splitlines()
    assert result.exit_code == 0, result.stderr
    assert lines[0].startswith("missing=0 nosuch.so.wasm: cannot open shared library")
    assert "\n".join(lines[1:4]) + "\n" == EXPECTED
    assert lines[4:] == [
        "same_fn=1",
        f"nosym=0 dlsym: {main.parent / 'side.so.wasm'}: undefined symbol: nope",
        "noerror=0", "again=1", "close=00", "closed=0"]


def test_library_path_option(pic_build: Build, tmp_path: Path) -> None:
    side = pic_build("side.so.wasm", ["side.c"], shared=True)
    main = pic_build("main.wasm", ["main_needed.c"], shared=False, libs=[side])
    libdir = tmp_path / "lib"
    libdir.mkdir()
    side.rename(libdir / side.name)
    missing = irld("run", main)
    assert missing.returncode == 1
    assert missing.stderr == (f"irld run: error: {main}: cannot find needed library side.so.wasm "
                              f"(searched {main.parent})\n")
    found = irld("run", "-L", libdir, main)
    assert (found.returncode, found.stdout) == (0, EXPECTED)


def test_unresolved_symbols_are_all_named(pic_build: Build) -> None:
    bad = pic_build("bad.so.wasm", ["bad_side.c"], shared=True)
    main = pic_build("main.wasm", ["main_needed.c", "side.c"], shared=False, libs=[bad],
                     extra=["--allow-undefined"])
    result = irld("run", main)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"irld run: error: {bad}: undefined symbol: nowhere_func (import env.nowhere_func)",
        f"irld run: error: {bad}: undefined symbol: nowhere_data (import GOT.mem.nowhere_data)",
    ]


@pytest.mark.parametrize("side_linker", ["wasm-ld", "irld"])
def test_dylink_reader_agrees_with_wasm_objdump(pic_build: Build, side_linker: str) -> None:
    side = pic_build("side.so.wasm", ["side.c"], shared=True, linker=side_linker)
    main = pic_build("main.wasm", ["main_needed.c"], shared=False, libs=[side])
    for path in (side, main):
        dump = subprocess.run(["wasm-objdump", "-x", str(path)], capture_output=True, text=True,
                              check=True).stdout
        info = read_linked_module(path.read_bytes()).dylink
        assert info is not None
        fields = dict(re.findall(r"^ - (mem_size|mem_p2align|table_size|table_p2align)\s*: (\d+)",
                                 dump, re.M))
        assert (info.memory_size, info.memory_align, info.table_size, info.table_align) == tuple(
            int(fields[k]) for k in ("mem_size", "mem_p2align", "table_size", "table_p2align"))
        needed = re.findall(r"^  - (\S+\.wasm)$", dump, re.M)
        assert list(info.needed) == needed


def test_irld_side_module_is_valid_and_declares_its_region(pic_build: Build) -> None:
    ours = pic_build("ours.so.wasm", ["side.c"], shared=True, linker="irld")
    theirs = pic_build("theirs.so.wasm", ["side.c"], shared=True)
    subprocess.run(["wasm-validate", str(ours)], check=True)
    a, b = (read_linked_module(p.read_bytes()) for p in (ours, theirs))
    assert a.dylink is not None and b.dylink is not None
    # The same data (four i32) and one table slot (square), as wasm-ld lays them out.
    assert (a.dylink.memory_size, a.dylink.table_size) == (b.dylink.memory_size,
                                                            b.dylink.table_size)
    imports = {(i.module, i.name) for i in a.imports}
    assert {("env", "memory"), ("env", "__indirect_function_table"), ("env", "__memory_base"),
            ("env", "__table_base"), ("env", "main_helper"), ("GOT.mem", "host_value")} <= imports
    assert {e.name for e in a.exports} >= {"side_add", "side_call", "side_counter",
                                           "__wasm_call_ctors"}


def test_static_link_of_pic_object_is_a_diagnostic(pic_build: Build, tmp_path: Path) -> None:
    pic_build("side.so.wasm", ["side.c"], shared=True)       # leaves side.o in tmp_path
    result = irld("link", "--no-entry", "--export-dynamic", "--allow-undefined",
                  tmp_path / "side.o", "-o", tmp_path / "static.wasm")
    assert result.returncode == 1
    assert result.stderr.startswith(f"{tmp_path / 'side.o'}: error: relocation GLOBAL_INDEX_LEB "
                                    "against 'side_ptr' is a GOT access")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "static.wasm").exists()
