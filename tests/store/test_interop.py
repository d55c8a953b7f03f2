"""irld's objects and archives in the standard toolchain: wabt, LLVM's tools, wasm-ld.

Every example and stdlib module compiled by irld must be accepted by
`wasm-objdump -x` and `wasm-validate`, and `llvm-nm` must list its functions
as the IR defines and declares them; `llvm-ar t` and `llvm-nm --print-armap`
must read an archive written by `irld ar`.  Hand-written modules that use no
irld-only feature (no panic, no dynamic FFI) are linked by wasm-ld, alone
and with a C object compiled by clang, and by `irld link`; both outputs run
under wasmtime with the same results.  `irld dump` shows the standard
sections.  A test that needs a tool is skipped only when the tool is absent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import wasmtime

import linker
from linker.cli.main import main
from linker.compile import compile_module
from linker.ir import model as ir
from linker.ir.parser import parse_module
from linker.store.objfile import VERSION, ObjectFile, scan_sections
from linker.store.wasmobj import SymKind, read_object

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted(REPO.glob("examples/*/*.ir")) + sorted(REPO.glob("stdlib/*.ir"))
SOURCE_IDS = [f"{p.parent.name}/{p.stem}" for p in SOURCES]

CLANG = shutil.which("clang")
WASM_LD = shutil.which("wasm-ld")
LLVM_AR = shutil.which("llvm-ar")
NM = shutil.which("llvm-nm")
OBJDUMP = shutil.which("wasm-objdump")
VALIDATE = shutil.which("wasm-validate")


def need(tool: str | None, name: str) -> str:
    if tool is None:
        pytest.skip(f"{name} is not installed")
    return tool


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True)


def check(*args: str) -> str:
    done = run(*args)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def compile_ir(source: Path | str, out: Path, filename: str = "<test>") -> Path:
    """Compile IR (a file, or text) to `out` with `compile_module`."""
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    out.write_bytes(compile_module(parse_module(text, str(source) if isinstance(source, Path)
                                                else filename)))
    return out


# ---------------------------------------------------------------- every example and stdlib module


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ir.Module, Path]]:
    """Source id -> (parsed module, its object)."""
    tmp = tmp_path_factory.mktemp("objects")
    out: dict[str, tuple[ir.Module, Path]] = {}
    for sid, src in zip(SOURCE_IDS, SOURCES):
        m = parse_module(src.read_text(encoding="utf-8"), str(src))
        path = tmp / f"{src.parent.name}-{src.stem}.o"
        path.write_bytes(compile_module(m))
        out[sid] = (m, path)
    return out


def test_there_are_sources() -> None:
    assert len([s for s in SOURCE_IDS if s.startswith("stdlib/")]) >= 5
    assert len(SOURCE_IDS) >= 12


@pytest.mark.parametrize("sid", SOURCE_IDS)
def test_wasm_objdump_accepts(compiled: dict[str, tuple[ir.Module, Path]], sid: str) -> None:
    tool = need(OBJDUMP, "wabt's wasm-objdump")
    _m, path = compiled[sid]
    done = run(tool, "-x", str(path))
    assert done.returncode == 0 and "error" not in done.stderr.lower(), done.stderr
    assert 'name: "linking"' in done.stdout and 'name: "irld.index"' in done.stdout


@pytest.mark.parametrize("sid", SOURCE_IDS)
def test_wasm_validate_accepts(compiled: dict[str, tuple[ir.Module, Path]], sid: str) -> None:
    tool = need(VALIDATE, "wabt's wasm-validate")
    _m, path = compiled[sid]
    features = read_object(path.read_bytes(), path.name).target_features
    flags = ["--enable-tail-call"] if ("+", "tail-call") in features else []
    done = run(tool, *flags, str(path))
    assert done.returncode == 0, done.stdout + done.stderr


def nm_symbols(tool: str, path: Path) -> dict[str, str]:
    """Name -> llvm-nm's type letter."""
    out: dict[str, str] = {}
    for line in check(tool, str(path)).splitlines():
        fields = line.split()
        if len(fields) >= 2:
            letter, name = fields[-2], fields[-1]
            out[name] = letter
    return out


@pytest.mark.parametrize("sid", SOURCE_IDS)
def test_llvm_nm_lists_defined_and_undefined_functions(
        compiled: dict[str, tuple[ir.Module, Path]], sid: str) -> None:
    tool = need(NM, "llvm-nm")
    m, path = compiled[sid]
    syms = nm_symbols(tool, path)
    defined = {i.name: i.private for i in m.items if isinstance(i, ir.Func)}
    for name, private in defined.items():
        link_name = f"{m.name}${name}" if private else name
        assert syms.get(link_name) == ("t" if private else "T"), (link_name, syms)
    undefined = {i.name for i in m.items if isinstance(i, (ir.ImportFunc, ir.ForeignImport))}
    undefined |= {i.name for i in m.items if isinstance(i, ir.ExternFunc)} - set(defined)
    for name in undefined:
        assert syms.get(name) == "U", (name, syms)
    # And every function symbol of the object (`__irld_panic` too) as its flags say.
    obj = read_object(path.read_bytes(), path.name)
    for s in obj.symbols:
        if s.kind is SymKind.FUNCTION:
            assert syms.get(s.name) == ("U" if s.undefined else "t" if s.local else "T"), s


@pytest.fixture(scope="module")
def stdlib_archive(compiled: dict[str, tuple[ir.Module, Path]],
                   tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    members = [path for sid, (_m, path) in compiled.items() if sid.startswith("stdlib/")]
    archive = tmp_path_factory.mktemp("archive") / "stdlib.a"
    assert main(["ar", str(archive), *map(str, members)]) == 0
    return archive, members


def test_llvm_ar_lists_an_irld_archive(stdlib_archive: tuple[Path, list[Path]]) -> None:
    tool = need(LLVM_AR, "llvm-ar")
    archive, members = stdlib_archive
    assert check(tool, "t", str(archive)).splitlines() == [p.name for p in members]


def test_llvm_nm_reads_the_symbol_table_of_an_irld_archive(
        compiled: dict[str, tuple[ir.Module, Path]],
        stdlib_archive: tuple[Path, list[Path]]) -> None:
    tool = need(NM, "llvm-nm")
    archive, members = stdlib_archive
    out = check(tool, "--print-armap", str(archive))
    assert out.startswith("Archive map\n")
    entries = {tuple(line.split(" in ")) for line in out.split("\n\n", 1)[0].splitlines()[1:]}
    for sid, (m, path) in compiled.items():
        if path not in members:
            continue
        for item in m.items:
            if isinstance(item, (ir.Func, ir.Data, ir.Global)) and not item.private:
                assert (item.name, path.name) in entries, (item.name, path.name)
            if isinstance(item, (ir.Func, ir.Data, ir.Global)) and item.private:
                assert not any(s == f"{m.name}${item.name}" for s, _ in entries)
    # llvm-nm also reads each member.
    assert f"\n{members[0].name}:\n" in out


# ---------------------------------------------------------------- hand-written modules

# a: a ctor, a global, a list in data whose nodes point at each other, calls into b,
# b's global through `extern global`; b: calls back into a, walks the list;
# t: a tail-recursive loop (tail calls are standard, wasm 3.0).
MOD_A = """\
module interop.a

extern func scale(i32) -> i32
extern func sum_list(i32) -> i32
extern global counter: i32

data node2 align 4 = { i32 30, i32 0 }
data node1 align 4 = { i32 20, addr node2 }
data head align 4 = { i32 10, addr node1 }
global base: i32 = 7
private global initialized: i32 = 0

func init() {
entry:
  base = i32.add(base, 1)
  initialized = 1
  return
}
ctor init

func twice(x: i32) -> i32 {
entry:
  return i32.mul(x, 2)
}

// sum of the list (60) + scale(n) + 1000 * base (8 after the ctor) + 100000 if the ctor ran
func compute(n: i32) -> i32 {
  local s: i32, t: i32
entry:
  s = call sum_list(@head)
  t = call scale(n)
  counter = i32.add(counter, 1)
  return i32.add(i32.add(s, t), i32.add(i32.mul(base, 1000), i32.mul(initialized, 100000)))
}
export "compute" compute

func calls() -> i32 {
entry:
  return counter
}
export "calls" calls
"""

MOD_B = """\
module interop.b

extern func twice(i32) -> i32
global counter: i32 = 0

func scale(x: i32) -> i32 {
  local y: i32
entry:
  y = call twice(x)
  return i32.add(y, 1)
}

func sum_list(p: i32) -> i32 {
  local s: i32
entry:
  jump loop
loop:
  if i32.eqz(p) then done else body
body:
  s = i32.add(s, i32.load(p))
  p = i32.load(p, offset=4)
  jump loop
done:
  return s
}
"""

MOD_T = """\
module interop.t

func count(n: i32, acc: i32) -> i32 {
entry:
  if i32.eqz(n) then done else more
done:
  return acc
more:
  tail call count(i32.sub(n, 1), i32.add(acc, 2))
}
export "count" count
"""

# Function pointers: table indices in data and in code, call_indirect.
MOD_P = """\
module interop.p

extern func twice(i32) -> i32
extern func scale(i32) -> i32
data ops align 4 = { addr twice, addr scale }

func apply(i: i32, x: i32) -> i32 {
  local f: i32, r: i32
entry:
  f = i32.load(i32.add(@ops, i32.mul(i, 4)))
  r = call_indirect (i32) -> i32 [f](x)
  return r
}

func apply_direct(x: i32) -> i32 {
  local r: i32
entry:
  r = call_indirect (i32) -> i32 [@twice](x)
  return r
}
"""

# IR and C calling each other; each reads the other's data.
MIXED_C = """\
int ir_square(int);
extern int ir_data[];
int c_values[4] = {1, 2, 3, 4};
int c_add3(int x) { return x + 3; }
int c_entry(int x) { return ir_square(x) + ir_data[1]; }
"""

MIXED_IR = """\
module interop.m

extern func c_add3(i32) -> i32
data ir_data align 4 = { i32 100, i32 200 }

func ir_square(x: i32) -> i32 {
entry:
  return i32.mul(x, x)
}

func ir_entry(x: i32) -> i32 {
  local y: i32, z: i32
entry:
  y = call c_add3(x)
  z = call ir_square(y)
  return i32.add(z, i32.load(@c_values+8))
}
"""

Calls = Sequence[tuple[str, tuple[int, ...]]]
SIZES: list[str] = []


def instantiate_and_call(wasm: Path, calls: Calls) -> list[object]:
    """Instantiate with no imports, run the ctors (wasm-ld's `__wasm_call_ctors`,
    irld's `_initialize`), then make `calls` in order."""
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module.from_file(engine, str(wasm))
    assert list(module.imports) == []
    exports = wasmtime.Linker(engine).instantiate(store, module).exports(store)
    for init in ("__wasm_call_ctors", "_initialize"):
        if init in exports:
            func = exports[init]
            assert isinstance(func, wasmtime.Func)
            func(store)
    results: list[object] = []
    for name, args in calls:
        func = exports[name]
        assert isinstance(func, wasmtime.Func)
        results.append(func(store, *args))
    return results


def wasm_ld(objects: Sequence[Path], out: Path, exports: Sequence[str],
            extra: Sequence[str] = ()) -> Path:
    tool = need(WASM_LD, "wasm-ld")
    check(tool, "--no-entry", *(f"--export={e}" for e in exports), "--export=__wasm_call_ctors",
          *extra, "-o", str(out), *map(str, objects))
    return out


def irld_link(objects: Sequence[Path], out: Path, exports: Sequence[str]) -> Path:
    linker.link(objects, out, entry=None, exports=list(exports))
    return out


def validate(wasm: Path) -> None:
    if VALIDATE is not None:
        check(VALIDATE, "--enable-tail-call", str(wasm))


def section_sizes(wasm: Path) -> tuple[int, int]:
    """(file size, bytes outside custom sections)."""
    data = wasm.read_bytes()
    custom = sum(e - s for sid, _n, s, e in scan_sections(data, 0, len(data), wasm.name)
                 if sid == 0)
    return len(data), len(data) - custom


def report_sizes(label: str, ld: Path, own: Path) -> None:
    (ld_all, ld_std), (own_all, own_std) = section_sizes(ld), section_sizes(own)
    line = (f"{label}: wasm-ld {ld_all} bytes ({ld_std} without custom sections), "
            f"irld {own_all} bytes ({own_std} without custom sections)")
    SIZES.append(line)
    print(line)


@pytest.fixture()
def ir_objects(tmp_path: Path) -> Callable[..., list[Path]]:
    def make(*modules: tuple[str, str]) -> list[Path]:
        return [compile_ir(text, tmp_path / f"{name}.o", f"{name}.ir") for name, text in modules]
    return make


LINK_CASES: dict[str, tuple[list[tuple[str, str]], list[str], Calls, list[object]]] = {
    "calls-data-global-ctor": (
        [("a", MOD_A), ("b", MOD_B)], ["compute", "calls"],
        [("compute", (5,)), ("compute", (6,)), ("calls", ())],
        [60 + 11 + 8000 + 100000, 60 + 13 + 8000 + 100000, 2]),
    "tail-calls": (
        [("t", MOD_T)], ["count"], [("count", (1_000_000, 0)), ("count", (3, 1))],
        [2_000_000, 7]),
    "function-pointers": (
        [("a", MOD_A), ("b", MOD_B), ("p", MOD_P)], ["apply", "apply_direct"],
        [("apply", (0, 5)), ("apply", (1, 5)), ("apply_direct", (7,))], [10, 11, 14]),
}


@pytest.mark.parametrize("case", list(LINK_CASES))
def test_wasm_ld_and_irld_link_irld_objects(tmp_path: Path, case: str,
                                            ir_objects: Callable[..., list[Path]]) -> None:
    modules, exports, calls, expected = LINK_CASES[case]
    objects = ir_objects(*modules)
    own = irld_link(objects, tmp_path / "irld.wasm", exports)
    validate(own)
    assert instantiate_and_call(own, calls) == expected
    ld = wasm_ld(objects, tmp_path / "ld.wasm", exports)
    validate(ld)
    assert instantiate_and_call(ld, calls) == expected
    report_sizes(case, ld, own)


def test_wasm_ld_links_an_irld_archive(tmp_path: Path,
                                       ir_objects: Callable[..., list[Path]]) -> None:
    a, b = ir_objects(("a", MOD_A), ("b", MOD_B))
    archive = tmp_path / "libb.a"
    assert main(["ar", str(archive), str(b)]) == 0
    ld = wasm_ld([a, archive], tmp_path / "ld.wasm", ["compute"])
    assert instantiate_and_call(ld, [("compute", (5,))]) == [108071]


def test_ir_and_c_call_each_other(tmp_path: Path) -> None:
    clang = need(CLANG, "clang")
    c_src = tmp_path / "mixed.c"
    c_src.write_text(MIXED_C)
    c_obj = tmp_path / "mixed_c.o"
    check(clang, "--target=wasm32-wasi", "-O1", "-c", str(c_src), "-o", str(c_obj))
    ir_obj = compile_ir(MIXED_IR, tmp_path / "mixed_ir.o", "mixed.ir")
    calls: Calls = [("c_entry", (5,)), ("ir_entry", (4,))]
    expected = [5 * 5 + 200, (4 + 3) ** 2 + 3]
    exports = ["c_entry", "ir_entry"]
    ld = wasm_ld([c_obj, ir_obj], tmp_path / "ld.wasm", exports)
    validate(ld)
    assert instantiate_and_call(ld, calls) == expected
    own = irld_link([c_obj, ir_obj], tmp_path / "irld.wasm", exports)
    validate(own)
    assert instantiate_and_call(own, calls) == expected
    report_sizes("IR + C", ld, own)


def test_irld_link_cli_matches_the_api(tmp_path: Path, ir_objects: Callable[..., list[Path]],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    objects = ir_objects(("a", MOD_A), ("b", MOD_B))
    out = tmp_path / "cli.wasm"
    assert main(["link", "--no-entry", "--export", "compute", "-o", str(out),
                 *map(str, objects)]) == 0
    api = irld_link(objects, tmp_path / "api.wasm", ["compute"])
    assert out.read_bytes() == api.read_bytes()
    assert instantiate_and_call(out, [("compute", (1,))]) == [60 + 3 + 8000 + 100000]


# ---------------------------------------------------------------- irld dump: the standard sections


def test_dump_shows_the_standard_sections(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    a = compile_ir(MOD_A, tmp_path / "a.o", "a.ir")
    t = compile_ir(MOD_T, tmp_path / "t.o", "t.ir")
    assert main(["dump", "--index-only", str(a)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    # The irld part is unchanged and comes first.
    assert lines[:4] == [f"{a}: object format {VERSION}", "module interop.a", "",
                         "index (9 entities):"]
    assert "bodies:" not in lines
    block = lines[lines.index("sections:"):]
    obj = read_object(a.read_bytes(), a.name)
    names = [n or "" for _sid, n, _s, _e in obj.sections]
    assert len([ln for ln in block[1:block.index("")] if ln.strip()]) == len(names)
    assert any(ln.split()[2:4] == ["code", str(obj.sections[obj.code_section or 0][3]
                                               - obj.sections[obj.code_section or 0][2])]
               for ln in block)
    for custom in ("linking", "reloc.CODE", "reloc.DATA", "irld.index", "irld.ir"):
        assert any(f'custom "{custom}"' in ln for ln in block), custom
    assert f"symbols ({len(obj.symbols)}):" in block
    sym_lines = {ln.split()[2]: ln for ln in block if ln[:2] == "  " and len(ln.split()) > 3
                 and ln.split()[1] in ("func", "data", "global")}
    assert "[global, undefined" in sym_lines["scale"] and '"env" "scale"' in sym_lines["scale"]
    assert "[global, exported]" in sym_lines["compute"]
    assert "[local, hidden]" in sym_lines["interop.a$initialized"]
    assert "[global, undefined]" in sym_lines["counter"]
    assert "segment 2 (.data.head) offset 0 size 8" in sym_lines["head"]
    assert block[block.index("relocations:") + 1].startswith("  code (section ")
    assert block[block.index("relocations:") + 2] == (
        f"  data (section {obj.data_section}): 2")
    init = obj.symbols.index(next(s for s in obj.symbols if s.name == "init"))
    assert block[block.index("init functions:") + 1] == (
        f"  init (symbol {init}, priority 65535)")
    assert "target features:" not in block
    assert main(["dump", str(t)]) == 0
    out = capsys.readouterr().out
    tail = out[out.index("\nsections:\n"):]
    assert "\ntarget features:\n  +tail-call\n" in tail
    assert "\nbodies:\n" in tail  # the bodies still come last


def test_dump_json_has_the_standard_sections(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    a = compile_ir(MOD_A, tmp_path / "a.o", "a.ir")
    assert main(["dump", "--json", "--index-only", str(a)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["bodies_decoded"] == 0 and "ir" not in doc
    wasm = doc["wasm"]
    obj = read_object(a.read_bytes(), a.name)
    assert [s["id"] for s in wasm["sections"]] == [sid for sid, _n, _s, _e in obj.sections]
    assert [s["name"] for s in wasm["sections"] if s["custom"]] == [
        "linking", "reloc.CODE", "reloc.DATA", "irld.index", "irld.ir", "irld.lines"]
    # Sizes as wasm-objdump -h prints them: a custom section's includes its name.
    data = a.read_bytes()
    assert sum(s["size"] for s in wasm["sections"]) < len(data)
    syms = {s["name"]: s for s in wasm["symbols"]}
    assert [s["index"] for s in wasm["symbols"]] == list(range(len(obj.symbols)))
    assert syms["head"] == {"index": syms["head"]["index"], "kind": "data", "name": "head",
                            "flags": ["global"], "flags_value": 0, "segment": 2,
                            "segment_name": ".data.head", "offset": 0, "size": 8}
    assert syms["scale"]["import"] == {"module": "env", "field": "scale"}
    assert "undefined" in syms["scale"]["flags"] and "exported" in syms["compute"]["flags"]
    assert syms["base"]["kind"] == "global" and syms["base"]["global"] == 1
    assert [(r["section"], r["count"]) for r in wasm["relocations"]] == [
        ("code", len(obj.code_relocs)), ("data", 2)]
    assert wasm["init_funcs"] == [{"priority": 65535, "symbol_index": syms["init"]["index"],
                                   "symbol": "init"}]
    assert wasm["target_features"] == []
    assert [s["name"] for s in wasm["segments"]] == [".data.node2", ".data.node1", ".data.head"]
    assert ObjectFile.open(str(a)).stats.bodies_decoded == 0


def test_dump_section_sizes_match_wasm_objdump(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    tool = need(OBJDUMP, "wabt's wasm-objdump")
    a = compile_ir(MOD_A, tmp_path / "a.o", "a.ir")
    assert main(["dump", "--json", "--index-only", str(a)]) == 0
    ours = [s["size"] for s in json.loads(capsys.readouterr().out)["wasm"]["sections"]]
    theirs = [int(ln.split("(size=")[1].split(")")[0], 16)
              for ln in check(tool, "-h", str(a)).splitlines() if "(size=" in ln]
    assert ours == theirs
