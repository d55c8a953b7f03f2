"""The plugin example (examples/dynamic/plugins): an IR main program dlopens three IR plugins
that `irld link --shared` built, calls them through dlsym (call_indirect and ffi_call), passes
them a callback, and calls closures a plugin made with its own FFI; plus side-module details
(panics, reports, errors, FFI handlers in side modules)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from linker.host import NodeNotFoundError, run, run_node
from linker.host.dylink import read_linked_module

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "examples" / "dynamic" / "plugins"
MAIN_EXPORTS = ["--export", "malloc", "--export", "print_str", "--export", "print_i32",
                "--export", "newline"]


def irld(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linker.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


PLUGIN_NAMES = ("shapes", "mapper", "scaler")
# scaler's closure pool (2) grows through the host: the example makes a third closure.
PLUGIN_FLAGS = {"scaler": ["--closure-growth=host"]}


def build_plugins(out: Path, stdlib: Path) -> Path:
    for name in ("main", *PLUGIN_NAMES):
        done = irld("compile", PLUGINS / f"{name}.ir", "-o", out / f"{name}.o")
        assert done.returncode == 0, done.stderr
    for name in PLUGIN_NAMES:
        done = irld("link", "--shared", *PLUGIN_FLAGS.get(name, []), out / f"{name}.o",
                    "-o", out / f"{name}.so.wasm", "--report", out / f"{name}.json")
        assert done.returncode == 0, done.stderr
    done = irld("link", out / "main.o", stdlib, *MAIN_EXPORTS, "-o", out / "main.wasm")
    assert done.returncode == 0, done.stderr
    return out / "main.wasm"


@pytest.fixture
def stdlib() -> Path:
    path = ROOT / "build" / "stdlib.a"
    if not path.exists():
        pytest.skip("build/stdlib.a is missing (make stdlib)")
    return path


def test_plugin_example_runs(tmp_path: Path, stdlib: Path) -> None:
    main = build_plugins(tmp_path, stdlib)
    for name in PLUGIN_NAMES:
        subprocess.run(["wasm-validate", str(tmp_path / f"{name}.so.wasm")], check=True)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = run("main.wasm", ["main.wasm"], capture=True)
    finally:
        os.chdir(cwd)
    assert result.stdout == (PLUGINS / "expected.out").read_bytes(), result.stderr
    assert result.exit_code == 0


def test_plugin_example_runs_identically_under_node(tmp_path: Path, stdlib: Path) -> None:
    build_plugins(tmp_path, stdlib)
    libdir = tmp_path / "lib"
    libdir.mkdir()
    for name in PLUGIN_NAMES:
        (tmp_path / f"{name}.so.wasm").rename(libdir / f"{name}.so.wasm")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        try:
            node = run_node("main.wasm", ["main.wasm"], library_path=["lib"])
        except NodeNotFoundError as exc:
            pytest.skip(str(exc))
        wasmtime = run("main.wasm", ["main.wasm"], capture=True, library_path=["lib"])
    finally:
        os.chdir(cwd)
    # Found on the library path: dlsym's message names lib/mapper.so.wasm in both hosts.
    expected = (PLUGINS / "expected.out").read_bytes().replace(
        b"dlsym: mapper.so.wasm", b"dlsym: lib/mapper.so.wasm").replace(
        b"(searched .)", b"(searched ., lib)")
    assert (node.exit_code, node.stdout) == (0, expected), node.stderr
    assert (wasmtime.exit_code, wasmtime.stdout) == (0, expected), wasmtime.stderr


def test_side_module_report_names_imports_and_reasons(tmp_path: Path, stdlib: Path) -> None:
    build_plugins(tmp_path, stdlib)
    report = json.loads((tmp_path / "mapper.json").read_text())["side_module"]
    imports = {(i["module"], i["name"]): i["why"] for i in report["imports"]}
    assert imports[("env", "print_i32")] == "called by map_sum, defined by no input"
    assert {e["name"] for e in report["exports"]} >= {"map_sum", "negate", "get_negate"}
    assert report["table_size"] == 1        # negate's address is taken
    why = irld("why", "negate", tmp_path / "mapper.json")
    assert why.returncode == 0, why.stderr
    assert "negate" in why.stdout and "export" in why.stdout
    info = read_linked_module((tmp_path / "mapper.so.wasm").read_bytes())
    assert info.dylink is not None and info.dylink.table_size == 1


PANIC_PLUGIN = """
module plugins.boom
func boom(x: i32) -> i32 {
entry:
  if x then bad else ok
ok:
  return 1
bad:
  panic "plugin gave up"
}
"""

PANIC_MAIN = """
module panic.main
import func "env" "dlopen" dlopen(i32, i32) -> i32
import func "env" "dlsym" dlsym(i32, i32) -> i32
private readonly data lib = { bytes "boom.so.wasm", i8 0 }
private readonly data sym = { bytes "boom", i8 0 }
func main() -> i32 {
  local h: i32, f: i32, r: i32
entry:
  h = call dlopen(@lib, 2)
  f = call dlsym(h, @sym)
  r = call_indirect (i32) -> i32 [f](0)
  r = call_indirect (i32) -> i32 [f](r)
  return r
}
"""


def test_panic_in_side_module_prints_its_message(tmp_path: Path, stdlib: Path) -> None:
    (tmp_path / "boom.ir").write_text(PANIC_PLUGIN)
    (tmp_path / "main.ir").write_text(PANIC_MAIN)
    for name in ("boom", "main"):
        assert irld("compile", tmp_path / f"{name}.ir", "-o", tmp_path / f"{name}.o").returncode == 0
    assert irld("link", "--shared", tmp_path / "boom.o", "-o",
                tmp_path / "boom.so.wasm").returncode == 0
    assert irld("link", tmp_path / "main.o", stdlib, "--export", "malloc", "-o",
                tmp_path / "main.wasm").returncode == 0
    result = run(tmp_path / "main.wasm", ["main"], capture=True)
    assert result.exit_code == 134
    assert result.stderr.decode().startswith("panic in boom: plugin gave up\n")


PIE_MAIN = """
module pie.main
extern func rect_area(i32, i32) -> i32
extern func print_i32(i32)
extern func newline()
func main() -> i32 {
  local r: i32
entry:
  r = call rect_area(6, 7)
  call print_i32(r)
  call newline()
  i32.store(@unit_area, 2)
  r = call rect_area(6, 7)
  call print_i32(r)
  call newline()
  return 3
}
"""


def test_pie_main_loads_its_needed_library_at_startup(tmp_path: Path, stdlib: Path) -> None:
    """`irld link --pie --needed`: the library is loaded before main runs; main calls it
    directly (an import) and writes its data through a GOT.mem entry."""
    build_plugins(tmp_path, stdlib)
    (tmp_path / "pie.ir").write_text(PIE_MAIN)
    assert irld("compile", tmp_path / "pie.ir", "-o", tmp_path / "pie.o").returncode == 0
    linked = irld("link", "--pie", "--needed", "shapes.so.wasm", tmp_path / "pie.o", stdlib,
                  "--export", "print_str", "-o", tmp_path / "pie.wasm")
    assert linked.returncode == 0, linked.stderr
    info = read_linked_module((tmp_path / "pie.wasm").read_bytes())
    assert info.dylink is not None and info.dylink.needed == ("shapes.so.wasm",)
    result = run(tmp_path / "pie.wasm", ["pie"], capture=True)
    assert (result.exit_code, result.stdout) == (3, b"shapes plugin loaded\n42\n84\n"), result.stderr
    missing = irld("link", "--pie", "--needed", "shapes.so.wasm", tmp_path / "pie.o", stdlib,
                   "-o", tmp_path / "pie2.wasm")
    assert missing.returncode == 0
    refused = irld("run", tmp_path / "pie2.wasm")
    assert refused.returncode == 1
    assert refused.stderr == (f"irld run: error: {tmp_path / 'shapes.so.wasm'}: undefined symbol: "
                              "print_str (import env.print_str)\n")
    # LTO's bodies cannot reach a module written from compiled code: refused, no output
    for kind in ("--pie", "--shared"):
        lto = irld("link", kind, "--lto", tmp_path / "pie.o", stdlib, "-o", tmp_path / "lto.wasm")
        assert lto.returncode == 1 and "Traceback" not in lto.stderr
        assert f"--lto cannot be used with {kind}" in lto.stderr
        assert not (tmp_path / "lto.wasm").exists()


PIE_MALLOC = """
module pie.heap
extern func malloc(i32) -> i32
extern func rect_area(i32, i32) -> i32
extern func print_i32(i32)
extern func newline()
func main() -> i32 {
  local p: i32, r: i32
entry:
  p = call malloc(64)
  r = call rect_area(6, 7)
  i32.store(p, r)
  call print_i32(i32.load(p))
  call newline()
  call print_i32(i32.ge_u(p, @__heap_base))
  call newline()
  return 0
}
"""


def test_pie_main_heap_starts_past_its_libraries(tmp_path: Path, stdlib: Path) -> None:
    """A position-independent main's `__heap_base` comes from the loader (wasm-ld imports
    it as GOT.mem.__heap_base): past the main's data, its needed libraries and the stack,
    so malloc works and never returns a library's memory."""
    build_plugins(tmp_path, stdlib)
    (tmp_path / "heap.ir").write_text(PIE_MALLOC)
    assert irld("compile", tmp_path / "heap.ir", "-o", tmp_path / "heap.o").returncode == 0
    linked = irld("link", "--pie", "--needed", "shapes.so.wasm", tmp_path / "heap.o", stdlib,
                  "--export", "print_str", "-o", tmp_path / "heap.wasm")
    assert linked.returncode == 0, linked.stderr
    result = run(tmp_path / "heap.wasm", ["heap"], capture=True)
    assert (result.exit_code, result.stdout) == (0, b"shapes plugin loaded\n42\n1\n"), \
        result.stderr


@pytest.mark.parametrize("name", ["shapes", "scaler"])
def test_side_module_bytes_do_not_depend_on_the_hash_seed(tmp_path: Path, name: str) -> None:
    assert irld("compile", PLUGINS / f"{name}.ir", "-o", tmp_path / f"{name}.o").returncode == 0
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"s{seed}" / f"{name}.so.wasm"
        out.parent.mkdir()
        subprocess.run([sys.executable, "-m", "linker.cli.main", "link", "--shared",
                        *PLUGIN_FLAGS.get(name, []), str(tmp_path / f"{name}.o"), "-o", str(out)],
                       check=True, env={**os.environ, "PYTHONHASHSEED": seed})
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
