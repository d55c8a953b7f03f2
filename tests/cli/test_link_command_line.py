"""wasm-ld's command-line conventions in `irld link`: response files, --whole-archive,
groups, -z stack-size and --stack-first (with clang objects, whose C stack they place)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import linker
from linker.cli.main import main

CLANG = shutil.which("clang")
LLVM_AR = shutil.which("llvm-ar")
pytestmark = pytest.mark.skipif(CLANG is None or LLVM_AR is None,
                                reason="clang and llvm-ar are needed")

APP = """
extern int counter;
int get_counter(void) { return counter; }
int use_stack(int n) { volatile int buf[64]; for (int i = 0; i < 64; i++) buf[i] = i * n;
                       return buf[n & 63]; }
"""
COUNTER = "int counter;\n"
PLUGIN = """
extern int counter;
__attribute__((constructor)) static void register_me(void) { counter += 1; }
"""


@pytest.fixture()
def build(tmp_path: Path) -> Path:
    for name, src in (("app", APP), ("counter", COUNTER), ("plugin", PLUGIN)):
        (tmp_path / f"{name}.c").write_text(src)
        subprocess.run([str(CLANG), "--target=wasm32-wasi", "-O1", "-c", f"{name}.c"],
                       cwd=tmp_path, check=True)
    subprocess.run([str(LLVM_AR), "rcs", "libplugin.a", "plugin.o"], cwd=tmp_path, check=True)
    return tmp_path


def _counter(result: linker.LinkResult) -> int:
    import wasmtime
    assert result.wasm is not None
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    inst = wasmtime.Instance(store, wasmtime.Module(engine, result.wasm), [])
    init = inst.exports(store).get("_initialize")
    if isinstance(init, wasmtime.Func):
        init(store)
    f = inst.exports(store)["get_counter"]
    assert isinstance(f, wasmtime.Func)
    value = f(store)
    assert isinstance(value, int)
    return value


def test_whole_archive_loads_members_nothing_references(build: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(build)
    base = ["link", "app.o", "counter.o", "--no-entry", "--export", "get_counter", "-o"]
    assert main([*base, "lazy.wasm", "libplugin.a"]) == 0
    assert main([*base, "whole.wasm", "--whole-archive", "libplugin.a", "--no-whole-archive",
                 "--start-group", "--end-group"]) == 0
    lazy = linker.link(["app.o", "counter.o", "libplugin.a"], entry=None,
                       exports=["get_counter"])
    whole = linker.link(["app.o", "counter.o"], entry=None, exports=["get_counter"],
                        whole_archives=["libplugin.a"])
    assert (_counter(lazy), _counter(whole)) == (0, 1)      # the plugin's ctor ran
    assert Path("whole.wasm").read_bytes() == whole.wasm
    assert Path("lazy.wasm").read_bytes() == lazy.wasm


def test_response_file(build: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(build)
    Path("inner.rsp").write_text("--export get_counter\n")
    Path("link.rsp").write_text("app.o 'counter.o' --no-entry @inner.rsp\n-o rsp.wasm\n")
    assert main(["link", "@link.rsp"]) == 0
    assert Path("rsp.wasm").exists()
    assert main(["link", "@missing.rsp"]) == 1
    assert "missing.rsp: cannot read response file" in capsys.readouterr().err


def test_stack_size_and_stack_first(build: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(build)
    common = dict(entry=None, exports=["use_stack", "get_counter"])
    default = linker.link(["app.o", "counter.o"], **common)
    big = linker.link(["app.o", "counter.o"], stack_size=1 << 20, **common)
    first = linker.link(["app.o", "counter.o"], stack_first=True, **common)
    for r, size in ((default, 65536), (big, 1 << 20)):
        mem = r.emitted.memory   # type: ignore[union-attr]
        assert mem.stack_top - mem.data_end >= size and mem.stack_top % 16 == 0
        assert mem.heap_base >= mem.stack_top
    mem = first.emitted.memory   # type: ignore[union-attr]
    assert mem.stack_top == 65536 and min(mem.addresses.values()) >= 65536
    assert main(["link", "app.o", "counter.o", "--no-entry", "-z", "stack-size=131072",
                 "--stack-first", "-o", "z.wasm"]) == 0
    with pytest.raises(SystemExit) as exit_info:
        main(["link", "app.o", "-z", "norelro"])
    assert exit_info.value.code == 2
    assert "unsupported -z option: 'norelro'" in capsys.readouterr().err


def test_allow_undefined_file_strip_all_and_map(build: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(build)
    Path("ext.c").write_text("extern int host_value(void);\n"
                             "int read_host(void) { return host_value() + 1; }\n")
    subprocess.run([str(CLANG), "--target=wasm32-wasi", "-O1", "-c", "ext.c"], check=True)
    base = ["link", "ext.o", "--no-entry", "--export", "read_host"]
    assert main([*base, "-o", "u.wasm"]) == 1
    assert "undefined symbol: host_value" in capsys.readouterr().err
    Path("allowed.txt").write_text("# symbols the host provides\nhost_value\n\nother # too\n")
    assert main([*base, "--allow-undefined-file", "allowed.txt", "-o", "u.wasm",
                 "-Map=u.map"]) == 0
    data = Path("u.wasm").read_bytes()
    assert b"host_value" in data and b"\x04name" in data and Path("u.map").exists()
    assert main([*base, "--allow-undefined-file", "allowed.txt", "--strip-all",
                 "--strip-debug", "-o", "s.wasm", "-Map", "s.map"]) == 0
    stripped = Path("s.wasm").read_bytes()
    assert b"\x04name" not in stripped and len(stripped) < len(data)
    assert Path("s.map").exists()
    assert main([*base, "--allow-undefined-file", "nope.txt", "-o", "n.wasm"]) == 1
    assert "nope.txt: error: cannot read" in capsys.readouterr().err
    assert not Path("n.wasm").exists()


def test_export_all_and_export_dynamic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("vis.c").write_text("""
__attribute__((visibility("default"))) int api(int x) { return x + 1; }
int internal(int x) { return x * 2; }
__attribute__((visibility("default"))) int table[3] = {1, 2, 3};
static int local_only(int x) { return x; }
int uses_local(int x) { return local_only(x); }
""")
    subprocess.run([str(CLANG), "--target=wasm32-wasi", "-O1", "-c", "vis.c"], check=True)
    import wasmtime

    def exported(**flags: bool) -> set[str]:
        result = linker.link(["vis.o"], entry=None, **flags)
        assert result.wasm is not None
        module = wasmtime.Module(wasmtime.Engine(), result.wasm)
        return {e.name for e in module.exports} - {"memory", "__indirect_function_table"}

    assert exported() == set()
    assert exported(export_dynamic=True) == {"api", "table"}
    assert exported(export_all=True) == {"api", "internal", "table", "uses_local"}


def test_import_memory(build: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(build)
    import wasmtime
    result = linker.link(["app.o", "counter.o"], entry=None, exports=["use_stack"],
                         import_memory=True)
    assert result.wasm is not None
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, result.wasm)
    [imp] = [i for i in module.imports if isinstance(i.type, wasmtime.MemoryType)]
    assert (imp.module, imp.name) == ("env", "memory")
    assert "memory" not in {e.name for e in module.exports}
    store = wasmtime.Store(engine)
    memory = wasmtime.Memory(store, wasmtime.MemoryType(wasmtime.Limits(2, None)))
    inst = wasmtime.Instance(store, module, [memory])
    f = inst.exports(store)["use_stack"]
    assert isinstance(f, wasmtime.Func)
    assert f(store, 3) == 9          # buf[3] = 3 * 3, on the C stack in the host's memory
    if shutil.which("wasm-validate"):
        Path("im.wasm").write_bytes(result.wasm)
        subprocess.run(["wasm-validate", "im.wasm"], check=True)
