"""FFI handlers in side modules (docs/dynamic.md, "FFI in side modules"): a side module gets
the call handlers and closure pools of the signatures live in it, position independent, so two
copies of one plugin loaded at different bases each have their own; closures a plugin makes are
called from the main program and from other plugins, under wasmtime and Node alike."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from linker.host import NodeNotFoundError, run, run_node
from linker.host.dylink import read_linked_module
from tests.dynamic.test_plugins import PLUGINS, irld

TWIN_MAIN = """
module twin.main
import func "env" "dlopen" dlopen(i32, i32) -> i32
import func "env" "dlsym" dlsym(i32, i32) -> i32
extern func print_i32(i32)
extern func print_char(i32)
extern func newline()
private readonly data a_so = { bytes "scaler.so.wasm", i8 0 }
private readonly data b_so = { bytes "scaler2.so.wasm", i8 0 }
private readonly data s_make = { bytes "make_scaler", i8 0 }
private readonly data s_apply = { bytes "ffi_apply", i8 0 }

func show(v: i32) {
entry:
  call print_i32(v)
  call print_char(32)
  return
}

func main() -> i32 {
  local a: i32, b: i32, ma: i32, mb: i32, aa: i32, ab: i32
  local a1: i32, a2: i32, a3: i32, b1: i32, b2: i32, b3: i32, r: i32
entry:
  a = call dlopen(@a_so, 2)
  b = call dlopen(@b_so, 2)
  ma = call dlsym(a, @s_make)
  mb = call dlsym(b, @s_make)
  aa = call dlsym(a, @s_apply)
  ab = call dlsym(b, @s_apply)
  a1 = call_indirect (i32) -> i32 [ma](2)
  b1 = call_indirect (i32) -> i32 [mb](7)
  a2 = call_indirect (i32) -> i32 [ma](3)
  b2 = call_indirect (i32) -> i32 [mb](11)
  a3 = call_indirect (i32) -> i32 [ma](5)
  b3 = call_indirect (i32) -> i32 [mb](13)
  r = call_indirect (i32) -> i32 [a1](10)
  call show(r)
  r = call_indirect (i32) -> i32 [a2](10)
  call show(r)
  r = call_indirect (i32) -> i32 [a3](10)
  call show(r)
  r = call_indirect (i32) -> i32 [b1](10)
  call show(r)
  r = call_indirect (i32) -> i32 [b2](10)
  call show(r)
  r = call_indirect (i32) -> i32 [b3](10)
  call show(r)
  r = call_indirect (i32, i32) -> i32 [aa](b3, 2)
  call show(r)
  r = call_indirect (i32, i32) -> i32 [ab](a3, 2)
  call print_i32(r)
  call newline()
  return 0
}
"""

NO_GROWTH_MAIN = """
module nogrowth.main
import func "env" "dlopen" dlopen(i32, i32) -> i32
import func "env" "dlsym" dlsym(i32, i32) -> i32
extern func print_i32(i32)
extern func newline()
private readonly data so = { bytes "scaler.so.wasm", i8 0 }
private readonly data s_make = { bytes "make_scaler", i8 0 }

func main() -> i32 {
  local h: i32, make: i32, c1: i32, c2: i32, c3: i32, r: i32
entry:
  h = call dlopen(@so, 2)
  make = call dlsym(h, @s_make)
  c1 = call_indirect (i32) -> i32 [make](4)
  c2 = call_indirect (i32) -> i32 [make](6)
  c3 = call_indirect (i32) -> i32 [make](8)
  r = call_indirect (i32) -> i32 [c2](5)
  call print_i32(r)
  call newline()
  call print_i32(c3)
  call newline()
  return 0
}
"""


@pytest.fixture
def stdlib() -> Path:
    path = Path(__file__).resolve().parents[2] / "build" / "stdlib.a"
    if not path.exists():
        pytest.skip("build/stdlib.a is missing (make stdlib)")
    return path


def build(tmp: Path, stdlib: Path, main_ir: str, growth: bool) -> Path:
    (tmp / "main.ir").write_text(main_ir)
    for src, obj in ((tmp / "main.ir", "main.o"), (PLUGINS / "scaler.ir", "scaler.o")):
        done = irld("compile", src, "-o", tmp / obj)
        assert done.returncode == 0, done.stderr
    flags = ["--closure-growth=host"] if growth else []
    done = irld("link", "--shared", *flags, tmp / "scaler.o", "-o", tmp / "scaler.so.wasm",
                "--report", tmp / "scaler.json")
    assert done.returncode == 0, done.stderr
    subprocess.run(["wasm-validate", str(tmp / "scaler.so.wasm")], check=True)
    done = irld("link", tmp / "main.o", stdlib, "--export", "malloc", "-o", tmp / "main.wasm")
    assert done.returncode == 0, done.stderr
    return tmp / "main.wasm"


def run_both(main: Path) -> list[tuple[int, bytes, bytes]]:
    """(exit code, stdout, stderr) under wasmtime, then Node (skipped without Node)."""
    results = []
    done = run(main, ["main"], capture=True)
    results.append((done.exit_code, done.stdout, done.stderr))
    try:
        node = run_node(main, ["main"])
    except NodeNotFoundError as exc:
        pytest.skip(str(exc))
    results.append((node.exit_code, node.stdout, node.stderr))
    return results


def test_two_copies_of_a_plugin_have_their_own_handlers_and_pools(tmp_path: Path,
                                                                  stdlib: Path) -> None:
    """Both copies use signature id 1 and pool slots 0..1 relative to their own bases; each
    one's third closure grows through the host into a slot that calls that copy's dispatcher;
    each copy's ffi_call calls the other's closure."""
    main = build(tmp_path, stdlib, TWIN_MAIN, growth=True)
    shutil.copy(tmp_path / "scaler.so.wasm", tmp_path / "scaler2.so.wasm")
    for result in run_both(main):
        assert result == (0, b"20 30 50 70 110 130 26 10\n", b""), result


def test_without_growth_an_exhausted_pool_gives_null(tmp_path: Path, stdlib: Path) -> None:
    main = build(tmp_path, stdlib, NO_GROWTH_MAIN, growth=False)
    info = read_linked_module((tmp_path / "scaler.so.wasm").read_bytes())
    assert not any(imp.module == "irld" for imp in info.imports)
    for result in run_both(main):
        assert result == (0, b"30\n0\n", b""), result


def test_side_module_report_and_dylink_count_the_ffi(tmp_path: Path, stdlib: Path) -> None:
    build(tmp_path, stdlib, NO_GROWTH_MAIN, growth=True)
    side = json.loads((tmp_path / "scaler.json").read_text())["side_module"]
    imports = {(i["module"], i["name"]): i["why"] for i in side["imports"]}
    assert imports[("irld", "closure_table_grow")] == \
        "the FFI's closure pools grow through the host"
    # scale's address is taken; then the two trampolines of `unary`'s pool.
    assert side["table_size"] == 3
    assert sorted(side["table_slots"].values()) == [0, 1, 2]
    exports = {e["name"] for e in side["exports"]}
    assert {"__irld_closure_dispatch_ii", "__indirect_function_table"} <= exports
    info = read_linked_module((tmp_path / "scaler.so.wasm").read_bytes())
    assert info.dylink is not None and info.dylink.table_size == 3
    assert info.dylink.memory_size > 65536        # the FFI stack is the module's own
    # ... but memory, not data: the image stops where the stack starts.
    assert (tmp_path / "scaler.so.wasm").stat().st_size < 4096


ADAPT_PLUGIN = """
module adapt.plug
foreign import ccall "env" "host_byte" host_byte: sint8(sint32)
foreign export ccall "c_small" small: sint8(sint32)
func small(x: i32) -> i32 {
entry:
  return x
}
func use_byte(x: i32) -> i32 {
  local r: i32
entry:
  r = call host_byte(x)
  return r
}
"""

ADAPT_MAIN = """
module adapt.main
import func "env" "dlopen" dlopen(i32, i32) -> i32
import func "env" "dlsym" dlsym(i32, i32) -> i32
extern func print_i32(i32)
extern func newline()
private readonly data so = { bytes "plug.so.wasm", i8 0 }
private readonly data s1 = { bytes "c_small", i8 0 }
private readonly data s2 = { bytes "use_byte", i8 0 }
func host_byte(x: i32) -> i32 {
entry:
  return x
}
func main() -> i32 {
  local h: i32, f: i32, r: i32
entry:
  h = call dlopen(@so, 2)
  f = call dlsym(h, @s1)
  r = call_indirect (i32) -> i32 [f](384)
  call print_i32(r)
  call newline()
  f = call dlsym(h, @s2)
  r = call_indirect (i32) -> i32 [f](511)
  call print_i32(r)
  call newline()
  return 0
}
"""


def test_foreign_adapters_in_a_side_module(tmp_path: Path, stdlib: Path) -> None:
    """An 8-bit result is re-extended by the side module's adapters: its foreign export
    (384 -> -128) and its foreign import from the main program (511 -> -1)."""
    for name, text in (("plug", ADAPT_PLUGIN), ("main", ADAPT_MAIN)):
        (tmp_path / f"{name}.ir").write_text(text)
        assert irld("compile", tmp_path / f"{name}.ir", "-o", tmp_path / f"{name}.o").returncode == 0
    done = irld("link", "--shared", tmp_path / "plug.o", "-o", tmp_path / "plug.so.wasm")
    assert done.returncode == 0, done.stderr
    subprocess.run(["wasm-validate", str(tmp_path / "plug.so.wasm")], check=True)
    done = irld("link", tmp_path / "main.o", stdlib, "--export", "malloc", "--export",
                "host_byte", "-o", tmp_path / "main.wasm")
    assert done.returncode == 0, done.stderr
    for result in run_both(tmp_path / "main.wasm"):
        assert result == (0, b"-128\n-1\n", b""), result


CFFI_MAIN = """
module cffi.main
import func "env" "dlopen" dlopen(i32, i32) -> i32
import func "env" "dlsym" dlsym(i32, i32) -> i32
extern func print_i32(i32)
extern func print_char(i32)
extern func newline()
private readonly data so = { bytes "cffi.so.wasm", i8 0 }
private readonly data s_add = { bytes "call_add", i8 0 }
private readonly data s_mul = { bytes "make_mul", i8 0 }
func main() -> i32 {
  local h: i32, f: i32, r: i32
entry:
  h = call dlopen(@so, 2)
  f = call dlsym(h, @s_add)
  r = call_indirect (i32, i32) -> i32 [f](30, 12)
  call print_i32(r)
  call print_char(32)
  f = call dlsym(h, @s_mul)
  f = call_indirect () -> i32 [f]()
  r = call_indirect (i32, i32) -> i32 [f](4, 5)
  call print_i32(r)
  call newline()
  return 0
}
"""


def test_c_side_module_with_libffi(tmp_path: Path, stdlib: Path) -> None:
    """C against libffi's API (`-lffi`) in a side module: the library is built position
    independent, its hidden data the C code reaches through the GOT gets internal GOT
    entries, and ffi_call and a closure work."""
    if shutil.which("clang") is None:
        pytest.skip("clang is needed")
    cflags = irld("config", "--cflags").stdout.split()
    subprocess.run(["clang", "--target=wasm32-unknown-emscripten", "-fPIC", "-O1",
                    "-fvisibility=default", "-nostdlib", *cflags, "-c",
                    str(Path(__file__).parent / "cffi_side.c"), "-o", str(tmp_path / "cffi.o")],
                   check=True)
    # A cold cache: the position-independent libffi is built during the link.
    done = subprocess.run([sys.executable, "-m", "linker.cli.main", "link", "--shared",
                           str(tmp_path / "cffi.o"), "-lffi", "-o", str(tmp_path / "cffi.so.wasm")],
                          capture_output=True, text=True,
                          env={**os.environ, "IRLD_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    assert [p.name.startswith("libffi-pic-") for p in (tmp_path / "cache").iterdir()] == [True]
    subprocess.run(["wasm-validate", str(tmp_path / "cffi.so.wasm")], check=True)
    (tmp_path / "main.ir").write_text(CFFI_MAIN)
    assert irld("compile", tmp_path / "main.ir", "-o", tmp_path / "main.o").returncode == 0
    done = irld("link", tmp_path / "main.o", stdlib, "--export", "malloc", "--export", "free",
                "-o", tmp_path / "main.wasm")
    assert done.returncode == 0, done.stderr
    for result in run_both(tmp_path / "main.wasm"):
        assert result == (0, b"42 60\n", b""), result


DISPATCH_MAIN = """
module dispatch.main
import func "env" "dlopen" dlopen(i32, i32) -> i32
import func "env" "dlsym" dlsym(i32, i32) -> i32
extern func print_i32(i32)
extern func newline()
private readonly data so = { bytes "scaler.so.wasm", i8 0 }
private readonly data s_dispatch = { bytes "__irld_closure_dispatch_ii", i8 0 }
func main() -> i32 {
  local h: i32, f: i32
entry:
  h = call dlopen(@so, 2)
  f = call dlsym(h, @s_dispatch)
  call print_i32(f)
  call newline()
  return 0
}
"""


def test_closure_dispatchers_are_not_symbols(tmp_path: Path, stdlib: Path) -> None:
    """The growth hook's dispatcher exports stay out of the namespace (dlsym finds nothing)."""
    main = build(tmp_path, stdlib, DISPATCH_MAIN, growth=True)
    for result in run_both(main):
        assert result == (0, b"0\n", b""), result
