"""clang's objects in an irld link, side by side with wasm-ld.

Small C programs of several files (no libc: the link input is exactly what
clang wrote) are compiled once by clang and linked by both linkers from the
same objects; both outputs must validate and give the same results under
wasmtime.  Then IR and C in one program, in both directions.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import wasmtime

import linker
from linker.host import run as run_wasi
from linker.host import run_node
from linker.ir.refs import EdgeKind
from linker.store.archive import Archive
from linker.store.objfile import EntityKind
from linker.store.wasm_input import open_object

CLANG = shutil.which("clang")
WASM_LD = shutil.which("wasm-ld")
LLVM_AR = shutil.which("llvm-ar")
pytestmark = pytest.mark.skipif(CLANG is None or WASM_LD is None,
                                reason="clang and wasm-ld are needed")

LIB_C = """
int counter = 5;
__attribute__((weak)) int tunable(void) { return 1; }
int twice(int x) { return 2 * x; }
int unused_in_lib(int x) { return x + 1; }
const char *names[] = {"zero", "one", "two"};
struct point { int x, y; };
struct point origin = {3, 4};
struct point *where = &origin;
"""

APP_C = """
extern int counter;
extern int twice(int);
extern int tunable(void);
extern const char *names[];
struct point { int x, y; };
extern struct point *where;
static int helper(int x) { return x * 3 + counter; }
int (*fp)(int) = helper;
static int table_calls(int v) {
  static int (*const ops[])(int) = {twice, helper};
  return ops[0](v) + ops[1](v);
}
__attribute__((constructor(101))) static void init_first(void) { counter += 10; }
__attribute__((constructor(200))) static void init_second(void) { counter *= 2; }
int apply(int (*f)(int), int v) { return f(v); }
int tunable(void) { return 40; }
static int loop_sum(int n) { int s = 0; for (int i = 0; i < n; i++) s += i * i; return s; }
int entry(void) {
  return twice(4) + fp(2) + apply(twice, 7) + names[1][0] + where->y + tunable()
         + table_calls(5) + loop_sum(10);
}
int other_entry(int k) { return counter * k; }
"""


def compile_c(d: Path, name: str, src: str) -> Path:
    (d / f"{name}.c").write_text(src)
    out = d / f"{name}.o"
    subprocess.run([str(CLANG), "--target=wasm32-wasi", "-O1", "-c", f"{name}.c", "-o",
                    out.name], cwd=d, check=True)
    return out


def run_export(path: Path, name: str, *args: int) -> int:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module.from_file(engine, str(path))
    inst = wasmtime.Instance(store, module, [])
    exports = inst.exports(store)
    init = exports.get("_initialize")
    if isinstance(init, wasmtime.Func):
        init(store)
    elif isinstance(call_ctors := exports.get("__wasm_call_ctors"), wasmtime.Func):
        call_ctors(store)
    f = exports[name]
    assert isinstance(f, wasmtime.Func)
    result = f(store, *args)
    assert isinstance(result, int)
    return result


def wasm_ld(d: Path, out: str, *inputs: Path, exports: tuple[str, ...]) -> Path:
    args = [str(WASM_LD), "--no-entry", *(f"--export={e}" for e in exports),
            *(str(i) for i in inputs), "-o", out]
    # wasm-ld 14 runs no ctors for a reactor unless asked: export them for the runner.
    args.append("--export=__wasm_call_ctors")
    subprocess.run(args, cwd=d, check=True)
    return d / out


def irld(d: Path, out: str, *inputs: Path, exports: tuple[str, ...]) -> Path:
    linker.link([str(i) for i in inputs], str(d / out), entry=None, exports=list(exports))
    return d / out


@pytest.fixture(scope="module")
def objs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("cobj")
    return d, compile_c(d, "lib", LIB_C), compile_c(d, "app", APP_C)


def test_same_results_as_wasm_ld(objs: tuple[Path, Path, Path]) -> None:
    d, lib, app = objs
    exports = ("entry", "other_entry")
    ref = wasm_ld(d, "ref.wasm", app, lib, exports=exports)
    out = irld(d, "out.wasm", app, lib, exports=exports)
    assert run_export(out, "entry") == run_export(ref, "entry")
    assert run_export(out, "other_entry", 3) == run_export(ref, "other_entry", 3)
    # Both ctors ran, in priority order: (5 + 10) * 2.
    assert run_export(out, "other_entry", 1) == 30
    if shutil.which("wasm-validate"):
        subprocess.run(["wasm-validate", str(out)], check=True)


def test_strong_definition_replaces_weak(objs: tuple[Path, Path, Path]) -> None:
    d, lib, app = objs
    out = irld(d, "weak.wasm", lib, app, exports=("entry",))
    ref = wasm_ld(d, "weak_ref.wasm", lib, app, exports=("entry",))
    assert run_export(out, "entry") == run_export(ref, "entry")


def test_c_object_records_come_from_the_symbol_table(objs: tuple[Path, Path, Path]) -> None:
    _d, lib, app = objs
    obj = open_object(str(app))
    kinds = {r.name: r.kind for r in obj.records}
    assert kinds["entry"] is EntityKind.FUNC and kinds["fp"] is EntityKind.DATA
    # static functions are renamed per object so two objects may each have one
    assert "helper@app.o" in kinds
    assert obj.ctors[0][1] == 101 and obj.ctors[1][1] == 200
    entry = next(r for r in obj.records if r.name == "entry")
    assert {s for s, _k in entry.refs} >= {"twice", "names", "where", "fp"}
    lib_obj = open_object(str(lib))
    assert next(r for r in lib_obj.records if r.name == "tunable").weak


def test_dead_c_functions_are_left_out(objs: tuple[Path, Path, Path]) -> None:
    d, lib, app = objs
    result = linker.link([str(app), str(lib)], str(d / "gc.wasm"), entry=None,
                         exports=["entry"])
    live = set(result.live.live)
    assert "unused_in_lib" not in live and "other_entry" not in live
    assert "twice" in live and "helper@app.o" in live


@pytest.mark.skipif(LLVM_AR is None, reason="llvm-ar is needed")
def test_c_library_archive_loads_lazily(objs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    d, lib, app = objs
    extra = compile_c(tmp_path, "extra", "int never_called(int x) { return x - 1; }\n")
    archive = tmp_path / "libc_stuff.a"
    subprocess.run([str(LLVM_AR), "rcs", str(archive), str(lib), str(extra)], check=True)
    result = linker.link([str(app), str(archive)], str(tmp_path / "ar.wasm"), entry=None,
                         exports=["entry"])
    ar = result.store.archives[0]
    assert [ar.is_loaded(i) for i in range(len(ar.members))] == [True, False]
    assert run_export(tmp_path / "ar.wasm", "entry") == run_export(
        wasm_ld(d, "ar_ref.wasm", app, lib, exports=("entry",)), "entry")
    assert Archive.open(str(archive)).find("twice") == 0



def test_an_object_needing_many_symbols_indexes_the_archive_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A loaded C object's strong undefined symbols are the lookups to come:
    more of them than the archive's scans left, and it indexes its table before
    the first (the big C link saved 16 scans of a 1.9 MB table); the link is
    the one wasm-ld makes."""
    from linker.store.ar import ArArchive
    n = ArArchive.SCANS + 4
    calls = " + ".join(f"f{i}()" for i in range(n))
    app = compile_c(tmp_path, "many", "".join(f"extern int f{i}(void);\n" for i in range(n))
                    + f"int entry(void) {{ return {calls}; }}\n")
    members = [compile_c(tmp_path, f"m{i}", f"int f{i}(void) {{ return {i + 1}; }}\n")
               for i in range(n)]
    archive = tmp_path / "libmany.a"
    subprocess.run([str(LLVM_AR), "rcs", str(archive), *map(str, members)], check=True)
    from linker.store import ar as ar_module
    expected: list[int] = []
    scans: list[str] = []
    real_expect, real_scan = ArArchive.expect, ar_module._Parser.gnu_scan

    def noted(self: ArArchive, lookups: int) -> None:
        expected.append(lookups)
        real_expect(self, lookups)

    def counted(self: Any, raw: Any) -> Callable[[str], int | None]:
        scan = real_scan(self, raw)

        def counting(symbol: str) -> int | None:
            scans.append(symbol)
            return scan(symbol)
        return counting
    monkeypatch.setattr(ArArchive, "expect", noted)
    monkeypatch.setattr(ar_module._Parser, "gnu_scan", counted)
    result = linker.link([str(app), str(archive)], str(tmp_path / "many.wasm"), entry=None,
                         exports=["entry"])
    assert expected[0] == n and result.store.archives[0].ar.table_indexed
    assert scans == []                      # the table was indexed before the first lookup
    assert run_export(tmp_path / "many.wasm", "entry") == n * (n + 1) // 2 == run_export(
        wasm_ld(tmp_path, "many_ref.wasm", app, *members, exports=("entry",)), "entry")


MIXED_IR = """
module mixed
extern func c_square(i32) -> i32
extern func c_calls_ir(i32) -> i32
func ir_add3(x: i32) -> i32 {
entry:
  return i32.add(x, 3)
}
export "ir_entry" func ir_entry(x: i32) -> i32 {
  local s: i32, t: i32
entry:
  s = call c_square(x)
  t = call c_calls_ir(s)
  return t
}
"""

MIXED_C = """
extern int ir_add3(int);
int c_square(int x) { return x * x; }
int c_calls_ir(int x) { return ir_add3(x) * 10; }
"""


def test_ir_and_c_call_each_other(tmp_path: Path) -> None:
    (tmp_path / "mixed.ir").write_text(MIXED_IR)
    ir_obj = Path(linker.compile_files([tmp_path / "mixed.ir"], tmp_path)[0])
    c_obj = compile_c(tmp_path, "mixed_c", MIXED_C)
    out = irld(tmp_path, "mixed.wasm", ir_obj, c_obj, exports=())
    assert run_export(out, "ir_entry", 4) == (16 + 3) * 10
    # wasm-ld links the same two objects (the IR object uses no irld-only feature).
    ref = wasm_ld(tmp_path, "mixed_ref.wasm", ir_obj, c_obj, exports=("ir_entry",))
    assert run_export(ref, "ir_entry", 4) == 190


@pytest.mark.skipif(LLVM_AR is None, reason="llvm-ar is needed")
def test_report_names_c_symbols_and_members(objs: tuple[Path, Path, Path],
                                            tmp_path: Path) -> None:
    from linker.report.analyses import why
    from linker.report.build import build_report
    from linker.driver import LinkOptions, link as link_options
    _d, lib, app = objs
    archive = tmp_path / "libstuff.a"
    subprocess.run([str(LLVM_AR), "rcs", str(archive), str(lib)], check=True)
    opts = LinkOptions(inputs=(str(app), str(archive)), entry=None, exports=("entry",))
    report = build_report(link_options(opts), opts)
    by_name = {e.name: e for e in report.live}
    assert by_name["twice"].input == f"{archive}(lib.o)"
    assert by_name["helper@app.o"].input == str(app)
    # The chain from the root, with the archive member named.
    answer = why(report, "twice")
    assert answer.text[0] == f"twice ({archive}(lib.o))"
    assert answer.chains[0][-1]["symbol"] == "entry"
    # helper is only ever reached through function pointers (a data table and
    # `fp`): the edges come from relocations, so the table is not blind.
    helper = why(report, "helper@app.o")
    assert helper.chains and helper.chains[0][1]["edge"] in ("data reference", "address taken")


WASI_LIB = Path("/usr/lib/wasm32-wasi")          # Debian's wasi-libc
BUILTINS = sorted(Path("/usr/lib/llvm-14/lib/clang").glob("*/lib/wasi/"
                                                           "libclang_rt.builtins-wasm32.a"))
LIBC_HELLO = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int order(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
static int counter;
__attribute__((constructor)) static void init(void) { counter = 41; }
int main(void) {
  int v[] = {5, 3, 9, 1, -4};
  qsort(v, 5, sizeof v[0], order);
  char *s = malloc(32);
  strcpy(s, "sorted:");
  printf("%s %d %d %d %d %d\n%.3f %s %d\n", s, v[0], v[1], v[2], v[3], v[4], 3.14159,
         strchr("find-me", '-'), counter + 1);
  free(s);
  return 3;
}
"""


@pytest.mark.skipif(not (WASI_LIB / "libc.a").exists() or not BUILTINS,
                    reason="wasi-libc and compiler-rt for wasm32 are needed")
def test_c_program_with_wasi_libc_runs_like_wasm_ld(tmp_path: Path) -> None:
    (tmp_path / "hello.c").write_text(LIBC_HELLO)
    subprocess.run([str(CLANG), "--target=wasm32-wasi", "--sysroot=/usr", "-O1", "-c",
                    "hello.c", "-o", "hello.o"], cwd=tmp_path, check=True)
    inputs = [str(WASI_LIB / "crt1-command.o"), str(tmp_path / "hello.o"),
              str(WASI_LIB / "libc.a"), str(BUILTINS[-1])]
    subprocess.run([str(WASM_LD), *inputs, "--strip-debug", "-o", "ref.wasm"], cwd=tmp_path,
                   check=True)
    result = linker.link(inputs, str(tmp_path / "out.wasm"), entry="_start", strip_debug=True)
    outs = [run_wasi(str(tmp_path / name), [name], capture=True, timeout=60)
            for name in ("out.wasm", "ref.wasm")]
    if shutil.which("node") is not None:
        outs.append(run_node(str(tmp_path / "out.wasm"), ["out.wasm"], timeout=60))
    assert {o.stdout for o in outs} == {b"sorted: -4 1 3 5 9\n3.142 -me 42\n"}
    assert {o.exit_code for o in outs} == {3}
    # printf, qsort and malloc come from libc.a's members, loaded lazily.
    ar = result.store.archives[0]
    assert 0 < ar.loaded_count < len(ar.members) // 4
    assert (tmp_path / "out.wasm").stat().st_size <= (tmp_path / "ref.wasm").stat().st_size


WEAK_C = """
extern int optional_feature(int) __attribute__((weak));
extern int optional_table[] __attribute__((weak));
int uses_weak(int x) {
  int r = optional_feature ? optional_feature(x) : -1;
  return r * 10 + (optional_table ? 1 : 0);
}
int calls_missing(int x) { return optional_feature(x); }
"""


def test_undefined_weak_symbols_are_null_and_calls_trap(tmp_path: Path) -> None:
    obj = compile_c(tmp_path, "weak", WEAK_C)
    exports = ("uses_weak", "calls_missing")
    out = irld(tmp_path, "weak.wasm", obj, exports=exports)
    ref = wasm_ld(tmp_path, "weak_ref.wasm", obj, exports=exports)
    assert run_export(out, "uses_weak", 5) == run_export(ref, "uses_weak", 5) == -10
    for path in (out, ref):
        with pytest.raises(wasmtime.Trap):
            run_export(path, "calls_missing", 1)
    # Defined elsewhere, the strong definition is used.
    impl = compile_c(tmp_path, "impl", "int optional_feature(int x) { return x + 1; }\n"
                                       "int optional_table[2] = {7, 8};\n")
    both = irld(tmp_path, "weak2.wasm", obj, impl, exports=exports)
    assert run_export(both, "uses_weak", 5) == 61


def test_program_calling_wasm_call_ctors_runs_them_itself(tmp_path: Path) -> None:
    obj = compile_c(tmp_path, "ctors", """
extern void __wasm_call_ctors(void);
static int x = 1;
__attribute__((constructor(300))) static void second(void) { x *= 10; }
__attribute__((constructor(200))) static void first(void) { x += 4; }
int start_like(void) { __wasm_call_ctors(); return x; }
""")
    out = irld(tmp_path, "ctors.wasm", obj, exports=("start_like",))
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    inst = wasmtime.Instance(store, wasmtime.Module.from_file(engine, str(out)), [])
    exports = inst.exports(store)
    assert exports.get("_initialize") is None      # the program runs the ctors itself
    f = exports["start_like"]
    assert isinstance(f, wasmtime.Func)
    assert f(store) == 50          # (1 + 4) * 10: once, by priority


def test_signature_mismatch_warns_and_the_call_traps(tmp_path: Path) -> None:
    caller = compile_c(tmp_path, "caller", """
extern int scale(int);
int ok_path(int x) { return x + 1; }
int bad_path(int x) { return scale(x); }
""")
    callee = compile_c(tmp_path, "callee", "int scale(int a, int b) { return a * b; }\n")
    exports = ("ok_path", "bad_path")
    result = linker.link([str(caller), str(callee)], str(tmp_path / "mm.wasm"), entry=None,
                         exports=list(exports))
    [warning] = [w for w in result.warnings if "signature mismatch" in w.message]
    assert warning.message == "function signature mismatch: scale"
    assert any("called as (i32) -> i32" in n for n in warning.notes)
    ref = wasm_ld(tmp_path, "mm_ref.wasm", caller, callee, exports=exports)
    for path in (tmp_path / "mm.wasm", ref):
        assert run_export(path, "ok_path", 2) == 3
        with pytest.raises(wasmtime.Trap):
            run_export(path, "bad_path", 2)


FOREIGN_IR = """
module fi
foreign import ccall c_mix: sint32(sint8, uint16, double)
export "go" func go(x: i32) -> i32 {
  local r: i32
entry:
  r = call c_mix(x, 65535, 2.5)
  return r
}
"""


def test_foreign_import_without_host_module_is_a_c_function(tmp_path: Path) -> None:
    from linker.diagnostics import DiagnosticError
    from linker.ir.parser import parse_module
    from linker.ir.printer import print_module
    module = parse_module(FOREIGN_IR, "fi.ir")
    assert parse_module(print_module(module), "again.ir") == module     # round trip
    (tmp_path / "fi.ir").write_text(FOREIGN_IR)
    ir_obj = Path(linker.compile_files([tmp_path / "fi.ir"], tmp_path)[0])
    c_obj = compile_c(tmp_path, "mix", "int c_mix(signed char a, unsigned short b, double d)"
                                       " { return a * 1000 + (b == 65535) * 10 + (int)(d * 2); }\n")
    out = irld(tmp_path, "fi.wasm", ir_obj, c_obj, exports=())
    assert run_export(out, "go", -3) == -2985
    # The C signature's lowering is checked against the C definition's wasm type.
    wrong = compile_c(tmp_path, "wrong", "int c_mix(int a) { return a; }\n")
    with pytest.raises(DiagnosticError) as info:
        irld(tmp_path, "bad.wasm", ir_obj, wrong, exports=())
    text = info.value.render()
    assert "function signature mismatch: c_mix" in text
    assert "called as (i32, i32, f64) -> i32" in text and "defined as (i32) -> i32" in text


CLOSURE_IR = """
module clos
extern func ffi_closure_alloc(i32, i32, i32) -> i32
foreign import ccall c_apply: sint32(pointer, sint32)
csig unary = sint32(sint32)
private data bias align 4 = { i32 40 }

// libffi's closure handler: fun(cif, ret, args, user_data).
func add_bias(sg: i32, ret: i32, args: i32, ud: i32) {
entry:
  i32.store(ret, i32.add(i32.load(i32.load(args)), i32.load(ud)))
  return
}

func main() -> i32 {
  local code: i32, r: i32
entry:
  code = call ffi_closure_alloc(sig unary, @add_bias, @bias)
  r = call c_apply(code, 5)
  return r
}
"""


def test_ffi_closure_is_a_plain_c_function_pointer(tmp_path: Path) -> None:
    (tmp_path / "clos.ir").write_text(CLOSURE_IR)
    ir_obj = Path(linker.compile_files([tmp_path / "clos.ir"], tmp_path)[0])
    c_obj = compile_c(tmp_path, "apply",
                      "int c_apply(int (*f)(int), int v) { return f(v) * 2; }\n")
    result = linker.link([str(ir_obj), str(c_obj)], str(tmp_path / "clos.wasm"))
    assert result.ffi is not None and [s.c_type for s in result.ffi.sigs] == ["sint32(sint32)"]
    # C calls the closure's code pointer with call_indirect: (5 + 40) * 2.
    assert run_wasi(str(tmp_path / "clos.wasm"), ["clos"], capture=True).exit_code == 90


CXX_A = """
template <typename T> T twice(T x) { return x + x; }
inline int shared_helper(int x) { static int calls; calls++; return x * 3 + calls; }
extern "C" int from_b(int);
extern "C" int entry(int x) { return twice(x) + shared_helper(x) + from_b(x); }
"""
CXX_B = """
template <typename T> T twice(T x) { return x + x; }
inline int shared_helper(int x) { static int calls; calls++; return x * 3 + calls; }
extern "C" int from_b(int x) { return twice(x) * 10 + shared_helper(x); }
"""


@pytest.mark.skipif(shutil.which("clang++") is None, reason="clang++ is needed")
def test_cxx_inline_functions_and_templates_link_once(tmp_path: Path) -> None:
    objs = []
    for name, src in (("a", CXX_A), ("b", CXX_B)):
        (tmp_path / f"{name}.cpp").write_text(src)
        subprocess.run(["clang++", "--target=wasm32-wasi", "-O0", "-fno-exceptions", "-c",
                        f"{name}.cpp"], cwd=tmp_path, check=True)
        objs.append(tmp_path / f"{name}.o")
    out = irld(tmp_path, "cxx.wasm", *objs, exports=("entry",))
    ref = wasm_ld(tmp_path, "cxx_ref.wasm", *objs, exports=("entry",))
    engine = wasmtime.Engine()
    results = []
    for path in (out, ref):
        store = wasmtime.Store(engine)
        inst = wasmtime.Instance(store, wasmtime.Module.from_file(engine, str(path)), [])
        f = inst.exports(store)["entry"]
        assert isinstance(f, wasmtime.Func)
        results.append((f(store, 4), f(store, 4)))   # one `calls` counter for both files
    assert results[0] == results[1] == (115, 119)


def test_linker_defined_data_symbols(tmp_path: Path) -> None:
    obj = compile_c(tmp_path, "syms", """
extern char __dso_handle, __global_base, __data_end, __heap_base, __stack_low, __stack_high;
static int data_item = 7;
int probe(int which) {
  switch (which) {
    case 0: return (int)&__dso_handle;
    case 1: return (int)&__global_base;
    case 2: return (int)&__data_end;
    case 3: return (int)&__heap_base;
    case 4: return (int)&__stack_low;
    case 5: return (int)&__stack_high;
    default: return (int)&data_item;
  }
}
""")
    result = linker.link([str(obj)], str(tmp_path / "syms.wasm"), entry=None, exports=["probe"])
    mem = result.emitted.memory   # type: ignore[union-attr]
    got = [run_export(tmp_path / "syms.wasm", "probe", k) for k in range(7)]
    assert got[:2] == [1024, 1024] and got[2] == mem.data_end and got[3] == mem.heap_base
    assert got[5] - got[4] >= 65536 and got[4] >= got[2] and got[3] >= got[5]
    assert 1024 <= got[6] < got[2]


ALIAS_C = """
int target(int x) { return x * 7 + 1; }
int other_name(int x) __attribute__((alias("target")));
__attribute__((used)) static int kept_but_private(void) { return 99; }
"""

ALIAS_USE_C = """
int target(int);
int other_name(int);
int same_pointer(void) { return (void *)target == (void *)other_name; }
int via_alias(int x) { int (*volatile f)(int) = other_name; return f(x) + target(x); }
"""


def test_function_aliases_are_one_function(tmp_path: Path) -> None:
    """Two symbols of one function (clang's `alias`, or `__main_void` and
    `__original_main`) give one body and one table slot, as in wasm-ld; a
    `used` function is kept but not exported."""
    objs = (compile_c(tmp_path, "alias", ALIAS_C), compile_c(tmp_path, "use", ALIAS_USE_C))
    exports = ("same_pointer", "via_alias")
    ref = wasm_ld(tmp_path, "ref.wasm", *objs, exports=exports)
    out = irld(tmp_path, "out.wasm", *objs, exports=exports)
    for name, args in (("same_pointer", ()), ("via_alias", (3,))):
        assert run_export(out, name, *args) == run_export(ref, name, *args)
    module = wasmtime.Module.from_file(wasmtime.Engine(), str(out))
    names = {e.name for e in module.exports}
    assert "kept_but_private" not in names and "other_name" not in names
    dump = subprocess.run(["wasm-objdump", "-x", str(out)], capture_output=True, text=True,
                          check=True).stdout if shutil.which("wasm-objdump") else ""
    if dump:
        bodies = [line for line in dump.splitlines() if " size=" in line and "func[" in line]
        assert sum("target" in line or "other_name" in line for line in bodies) == 1
        assert any("kept_but_private" in line for line in bodies)
        # one table slot: clang decides `target == other_name` itself (false),
        # but the table holds the function once
        assert dump.count("elem[") == 1


# Two objects with a COMDAT group of one name (LLVM IR, so the group can hold
# strong symbols and differ between the objects, which C cannot ask for).
COMDAT_A = """
target triple = "wasm32-unknown-wasi"
$G = comdat any
@table = global i32 100, comdat($G)
define i32 @f() comdat($G) {
  ret i32 1
}
define weak i32 @g() comdat($G) {
  ret i32 10
}
define i32 @from_a() {
  %x = call i32 @f()
  ret i32 %x
}
"""

COMDAT_B = """
target triple = "wasm32-unknown-wasi"
$G = comdat any
@table = global i32 200, comdat($G)
define i32 @f() comdat($G) {
  ret i32 2
}
define i32 @g() comdat($G) {
  ret i32 20
}
define i32 @from_b() {
  %x = call i32 @g()
  %t = load i32, i32* @table
  %y = add i32 %x, %t
  ret i32 %y
}
"""


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_comdat_groups_are_kept_or_dropped_whole(tmp_path: Path, order: str) -> None:
    """The first object's group wins with all its members (even its weak `g`
    over the other's strong one); the other group is dropped, no duplicate."""
    objs = {}
    for name, text in (("a", COMDAT_A), ("b", COMDAT_B)):
        (tmp_path / f"{name}.ll").write_text(text)
        subprocess.run([str(CLANG), "--target=wasm32-wasi", "-c", f"{name}.ll", "-o",
                        f"{name}.o"], cwd=tmp_path, check=True)
        objs[name] = tmp_path / f"{name}.o"
    inputs = [objs[c] for c in order]
    exports = ("from_a", "from_b")
    ref = wasm_ld(tmp_path, "ref.wasm", *inputs, exports=exports)
    out = irld(tmp_path, "out.wasm", *inputs, exports=exports)
    got = (run_export(out, "from_a"), run_export(out, "from_b"))
    assert got == (run_export(ref, "from_a"), run_export(ref, "from_b"))
    assert got == ((1, 110) if order == "ab" else (2, 220))


@pytest.mark.skipif(not (WASI_LIB / "libc.a").exists() or not BUILTINS,
                    reason="wasi-libc and compiler-rt for wasm32 are needed")
def test_why_names_the_reason_a_libc_member_was_loaded(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`irld why 'libc.a(member.o)'`: the symbol that pulled the member, the
    object that named it, and the chain when that symbol is live."""
    from linker.cli.main import main as irld_main
    (tmp_path / "hello.c").write_text(LIBC_HELLO)
    subprocess.run([str(CLANG), "--target=wasm32-wasi", "--sysroot=/usr", "-O1", "-c",
                    "hello.c", "-o", "hello.o"], cwd=tmp_path, check=True)
    inputs = [str(WASI_LIB / "crt1-command.o"), str(tmp_path / "hello.o"),
              str(WASI_LIB / "libc.a"), str(BUILTINS[-1])]
    # musl's real __stdio_exit comes in through a function of __towrite.o nothing calls.
    assert irld_main(["why", "libc.a(__stdio_exit.o)", *inputs, "--entry", "_start"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{WASI_LIB}/libc.a(__stdio_exit.o): archive member, loaded for " \
                     "__stdio_exit_needed"
    assert out[1].startswith(f"  __stdio_exit_needed is undefined in {WASI_LIB}/libc.a"
                             "(__towrite.o)")
    assert irld_main(["why", "libc.a(printf.o)", *inputs, "--entry", "_start"]) == 0
    text = capsys.readouterr().out
    assert "loaded for printf" in text and "printf is live:" in text
    assert f"called by __original_main ({tmp_path}/hello.o)" in text
    assert irld_main(["why", "libc.a(nosuch.o)", *inputs, "--entry", "_start"]) == 1


BUFFERED_STDOUT_C = r"""
#include <stdio.h>
#include <stdlib.h>
static void bye(void) { printf(" atexit"); }
int main(void) {
  atexit(bye);
  printf("first\n");
  for (int i = 0; i < 3; i++) printf("x%d ", i);
  printf("no newline");
  return 0;
}
"""


@pytest.mark.skipif(not (WASI_LIB / "libc.a").exists() or not BUILTINS,
                    reason="wasi-libc and compiler-rt for wasm32 are needed")
def test_buffered_stdout_is_flushed_when_main_returns(tmp_path: Path) -> None:
    """crt1's `_start` returns without calling `exit` for status 0; as wasm-ld,
    irld then runs libc's `__wasm_call_dtors` (atexit handlers, stdio flush)."""
    (tmp_path / "buf.c").write_text(BUFFERED_STDOUT_C)
    subprocess.run([str(CLANG), "--target=wasm32-wasi", "--sysroot=/usr", "-O1", "-c",
                    "buf.c", "-o", "buf.o"], cwd=tmp_path, check=True)
    inputs = [str(WASI_LIB / "crt1-command.o"), str(tmp_path / "buf.o"),
              str(WASI_LIB / "libc.a"), str(BUILTINS[-1])]
    subprocess.run([str(WASM_LD), *inputs, "-o", "ref.wasm"], cwd=tmp_path, check=True)
    result = linker.link(inputs, str(tmp_path / "out.wasm"), entry="_start")
    outs = [run_wasi(str(tmp_path / name), [name], capture=True, timeout=60)
            for name in ("out.wasm", "ref.wasm")]
    if shutil.which("node") is not None:
        outs.append(run_node(str(tmp_path / "out.wasm"), ["out.wasm"], timeout=60))
    assert {o.stdout for o in outs} == {b"first\nx0 x1 x2 no newline atexit"}
    assert {o.exit_code for o in outs} == {0}
    assert result.live.live["__wasm_call_dtors"][1].kind is EdgeKind.RUNTIME
