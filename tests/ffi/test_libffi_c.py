"""libffi's own C API (`ffi.h`, `irld link -lffi`), specialized at link time.

C programs written against ffi.h as libffi's users write them, compiled by
clang for wasm32 and linked by irld with wasi-libc, run on wasmtime and
Node.  `c/libffi_api.c` is also compiled natively against the system's real
libffi 3.4: both must print the same lines (each line also carries the
result of the same call made directly by C).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import linker
from linker.diagnostics import DiagnosticError
from linker.ffi.library import include_dir
from linker.cli.main import main
from linker.ffi.sigtext import parse_signature
from linker.host import HostFunctions
from linker.ir.types import FuncType, ValType

from libffi_util import BUILTINS, C_DIR, WASI_LIB, compile_c, link_c, needs_c, run_both

pytestmark = needs_c

I32 = ValType.I32
GCC = shutil.which("gcc")
NATIVE_FFI = any(Path(p).exists() for p in ("/usr/include/ffi.h",
                                             "/usr/include/x86_64-linux-gnu/ffi.h",
                                             "/usr/include/aarch64-linux-gnu/ffi.h"))


@pytest.fixture(scope="module")
def api_wasm(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, linker.LinkResult]:
    tmp = tmp_path_factory.mktemp("api")
    obj = compile_c(tmp, "api", (C_DIR / "libffi_api.c").read_text())
    return tmp / "prog.wasm", link_c(tmp, [obj])


def _direct_pairs_agree(text: str) -> None:
    """`name V... direct D...`: the values through libffi equal the direct ones."""
    lines = [line for line in text.splitlines() if " direct " in line]
    assert len(lines) >= 20
    for line in lines:
        head, direct = line.split(" direct ")
        assert head.split()[-len(direct.split()):] == direct.split(), line


def test_libffi_api_program_runs_on_wasmtime_and_node(api_wasm: tuple[Path, linker.LinkResult]
                                                      ) -> None:
    path, _result = api_wasm
    outs = run_both(path)
    texts = {o.stdout.decode() for o in outs}
    assert len(texts) == 1 and {o.exit_code for o in outs} == {0}
    text = texts.pop()
    assert "FAIL" not in text and text.endswith("done\n")
    _direct_pairs_agree(text)
    # libffi's documented behaviour: struct sizes filled in, statuses, offsets.
    assert "small size 4 align 2\n" in text and "outer size 24 align 8\n" in text
    assert "offsets outer 0: 0 8 16\n" in text
    assert "var float 3\nvar char 3\n" in text          # FFI_BAD_ARGTYPE
    assert "bad abi 2\nbad struct 1\n" in text


@pytest.mark.skipif(GCC is None or not NATIVE_FFI, reason="gcc and libffi-dev are needed")
def test_libffi_api_program_prints_what_real_libffi_prints(
        api_wasm: tuple[Path, linker.LinkResult], tmp_path: Path) -> None:
    inc = tmp_path / "inc"
    inc.mkdir()
    shutil.copy(Path(include_dir()) / "irld_ffi.h", inc)   # the macro is a no-op natively
    exe = tmp_path / "native"
    subprocess.run([str(GCC), "-O1", f"-I{inc}", str(C_DIR / "libffi_api.c"), "-lffi", "-o",
                    str(exe)], check=True)
    native = subprocess.run([str(exe)], capture_output=True, check=True, timeout=60).stdout
    path, _result = api_wasm
    for out in run_both(path):
        assert out.stdout.decode() == native.decode()


def test_only_declared_signatures_get_code(api_wasm: tuple[Path, linker.LinkResult]) -> None:
    _path, result = api_wasm
    report = result.ffi
    assert report is not None
    declared = {parse_signature(line).key() for line in _declared_in(C_DIR / "libffi_api.c")}
    assert {s.key for s in report.sigs} == declared
    assert all(s.users == (s.users[0],) and s.users[0].endswith("api.o") for s in report.sigs)
    # Closures are live (the program makes some), so every signature has a pool.
    assert all(s.pool_slots == 16 and s.handler_bytes > 0 for s in report.sigs)


def _declared_in(path: Path) -> list[str]:
    """The IRLD_FFI_SIGNATURE(...) arguments of a C file, as the preprocessor joins them."""
    text = path.read_text()
    out = []
    pos = 0
    while (start := text.find("IRLD_FFI_SIGNATURE(", pos)) >= 0:
        depth, i = 0, start + len("IRLD_FFI_SIGNATURE")
        while True:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        out.append(" ".join(text[start + len("IRLD_FFI_SIGNATURE("):i].split()))
        pos = i
    return out


UNDECLARED = r"""
#include <ffi.h>
#include <stdio.h>
#include <stdarg.h>

struct big { long long a; double b; int c; };
static struct big combine(struct big x, long double y, signed char z) {
  struct big r = {x.a * z, x.b + (double)y, x.c - z};
  return r;
}
static int sum(const char *fmt, ...) {
  va_list ap; int s = 0; va_start(ap, fmt);
  for (const char *f = fmt; *f; f++) s += *f == 'd' ? (int)va_arg(ap, double) : va_arg(ap, int);
  va_end(ap); return s;
}
static unsigned short twice(unsigned short v, float f) { return (unsigned short)(v * 2 + f); }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  static ffi_type *big_el[] = {&ffi_type_sint64, &ffi_type_double, &ffi_type_sint32, NULL};
  static ffi_type big_t = {0, 0, FFI_TYPE_STRUCT, big_el};
  ffi_cif cif;
  ffi_type *at[] = {&big_t, &ffi_type_longdouble, &ffi_type_sint8};
  printf("prep %d\n", ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 3, &big_t, at));
  struct big x = {6, 0.5, 100}, r = {0, 0, 0};
  long double y = 2.25L; signed char z = -3;
  void *av[] = {&x, &y, &z};
  ffi_call(&cif, FFI_FN(combine), &r, av);
  printf("combine %lld %g %d\n", r.a, r.b, r.c);
  ffi_type *vt[] = {&ffi_type_pointer, &ffi_type_sint32, &ffi_type_double, &ffi_type_sint32};
  printf("prep var %d\n", ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 4, &ffi_type_sint32, vt));
  const char *fmt = "idi"; int a = 5, c = -1; double b = 40.9; ffi_arg s = 0;
  void *vv[] = {&fmt, &a, &b, &c};
  ffi_call(&cif, FFI_FN(sum), &s, vv);
  printf("sum %d\n", (int)s);
  ffi_type *tt[] = {&ffi_type_uint16, &ffi_type_float};
  printf("prep small %d\n", ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_uint16, tt));
  unsigned short v = 40000; float f = 0.5f; ffi_arg t = 0;
  void *tv[] = {&v, &f};
  ffi_call(&cif, FFI_FN(twice), &t, tv);
  printf("twice %lu\n", (unsigned long)t);
  return 0;
}
"""
UNDECLARED_OUT = "combine -18 2.75 103\nsum 44\ntwice 14464\n"
UNDECLARED_KEYS = ("{l,d,i}({l,d,i},D,b)", "i(p|i,d,i)", "H(H,f)")


def test_undeclared_signature_panics_naming_key_and_remedy(tmp_path: Path) -> None:
    obj = compile_c(tmp_path, "undeclared", UNDECLARED)
    result = link_c(tmp_path, [obj])
    assert result.ffi is not None and result.ffi.sigs == ()   # no code for any signature
    for out in run_both(tmp_path / "prog.wasm"):
        assert out.exit_code == 134
        assert out.stdout == b"prep 1\n"                      # FFI_BAD_TYPEDEF
        err = out.stderr.decode()
        assert ("panic in ffi_call: C signature {l,d,i}({l,d,i},D,b) was not declared at "
                "link time") in err
        assert ("IRLD_FFI_SIGNATURE(struct { sint64, double, sint32 }, (struct { sint64, "
                "double, sint32 }, longdouble, sint8))") in err
        assert "--ffi-signatures" in err and "--ffi-fallback=host" in err


def test_host_fallback_calls_any_signature_and_lists_them(tmp_path: Path) -> None:
    obj = compile_c(tmp_path, "undeclared", UNDECLARED)
    result = link_c(tmp_path, [obj], ffi_fallback_host=True)
    assert result.ffi is not None and result.ffi.mode == "specialized+fallback:host"
    for out in run_both(tmp_path / "prog.wasm"):
        assert out.exit_code == 0, out.stderr
        assert out.stdout.decode() == "prep 0\n" + UNDECLARED_OUT.replace(
            "sum", "prep var 0\nsum").replace("twice", "prep small 0\ntwice")
        listed = ", ".join(f"{k} (1 call)" for k in sorted(UNDECLARED_KEYS))
        assert out.stderr.decode() == f"irld: ffi host fallback: {listed}\n"


def test_signatures_file_declares_them(tmp_path: Path) -> None:
    obj = compile_c(tmp_path, "undeclared", UNDECLARED)
    sigs = tmp_path / "sigs.txt"
    sigs.write_text("# what undeclared.c calls\n"
                    "struct { long long, double, int } (struct { long long; double; int; },"
                    " long double, signed char)\n"
                    "int(const char *, ..., int, double, int)\n\n"
                    "unsigned short(unsigned short, float)  # promoted by nobody\n")
    result = link_c(tmp_path, [obj], ffi_signatures=(str(sigs),))
    assert result.ffi is not None
    assert {s.key for s in result.ffi.sigs} == set(UNDECLARED_KEYS)
    assert all(s.users == (str(sigs),) for s in result.ffi.sigs)
    for out in run_both(tmp_path / "prog.wasm"):
        assert out.exit_code == 0 and out.stderr == b""
        assert out.stdout.decode() == "prep 0\n" + UNDECLARED_OUT.replace(
            "sum", "prep var 0\nsum").replace("twice", "prep small 0\ntwice")


def test_bad_signature_lines_are_diagnosed_with_their_place(tmp_path: Path) -> None:
    obj = compile_c(tmp_path, "undeclared", UNDECLARED)
    sigs = tmp_path / "sigs.txt"
    sigs.write_text("int(int)\nint(struct point)\n\ndouble(int,, float)\nvoid(struct {})\n")
    with pytest.raises(DiagnosticError) as info:
        link_c(tmp_path, [obj], ffi_signatures=(str(sigs), str(tmp_path / "missing.txt")))
    text = info.value.render()
    assert f"{sigs}:2: error: bad C signature 'int(struct point)': unknown C type " \
           "'struct point'" in text
    assert f"{sigs}:4: error: bad C signature 'double(int,, float)': expected a type, " \
           "found ','" in text
    assert f"{sigs}:5: error: C signature void(struct {{  }}) passes an empty struct" in text
    assert f"{tmp_path / 'missing.txt'}: error: cannot read --ffi-signatures file" in text
    assert not (tmp_path / "prog.wasm").exists()


CLOSURE_POOL = r"""
#include <ffi.h>
#include <stdio.h>
IRLD_FFI_SIGNATURE(int, (int));
static void inc(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; *(ffi_arg *)ret = *(int *)args[0] + *(int *)ud;
}
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  ffi_cif cif;
  ffi_type *at[] = {&ffi_type_sint32};
  ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint32, at);
  int k[8]; ffi_closure *cl[8]; void *code[8]; int made = 0;
  for (int i = 0; i < 8; i++) {
    k[i] = i * 100;
    if (ffi_alloc_prep_closure(&cl[i], &cif, inc, &k[i], &code[i]) != FFI_OK) break;
    made++;
  }
  printf("made %d:", made);
  for (int i = 0; i < made; i++) printf(" %d", ((int (*)(int))code[i])(i));
  ffi_closure_free(cl[0]);
  ffi_closure *again; void *code2;
  printf("\nagain %d", ffi_alloc_prep_closure(&again, &cif, inc, &k[3], &code2));
  printf(" %d same slot %d\n", ((int (*)(int))code2)(1), code2 == code[0]);
  ffi_cif undeclared;
  ffi_type *dt[] = {&ffi_type_double};
  ffi_closure *u; void *ucode;
  printf("undeclared prep %d", ffi_prep_cif(&undeclared, FFI_DEFAULT_ABI, 1, &ffi_type_double, dt));
  printf(" closure %d %d\n", ffi_alloc_prep_closure(&u, &undeclared, inc, k, &ucode), u == NULL);
  return 0;
}
"""


def test_closures_take_slots_from_the_signature_pool(tmp_path: Path) -> None:
    obj = compile_c(tmp_path, "pool", CLOSURE_POOL)
    link_c(tmp_path, [obj], ffi_closure_pool=4)
    host = HostFunctions.default()     # as on Node: the host adds no table slots
    host.add("irld", "closure_table_grow", FuncType((I32, I32), I32), lambda _ctx, _t, _c: 0)
    for out in run_both(tmp_path / "prog.wasm", host):
        assert out.exit_code == 0, out.stderr
        # A pool of 4 without host growth: the fifth closure fails cleanly, as
        # libffi does when out of memory; a freed closure's slot is reused.
        assert out.stdout.decode() == ("made 4: 0 101 202 303\nagain 0 301 same slot 1\n"
                                       "undeclared prep 1 closure 1 1\n")
    # `pool N` in an --ffi-signatures line sets that signature's pool.
    sigs = tmp_path / "sigs.txt"
    sigs.write_text("int(int) pool 2\n")
    result = link_c(tmp_path, [obj], ffi_signatures=(str(sigs),))
    assert result.ffi is not None and [s.pool_slots for s in result.ffi.sigs] == [2]
    for out in run_both(tmp_path / "prog.wasm", host):
        assert out.stdout.decode().startswith("made 2: 0 101\n")


def test_irld_config_prints_flags_and_lffi_needs_no_L(tmp_path: Path) -> None:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["config", "--cflags", "--libs"]) == 0
    assert buf.getvalue() == f"-I{include_dir()} -lffi\n"
    assert (Path(include_dir()) / "ffi.h").is_file()
    obj = compile_c(tmp_path, "undeclared", UNDECLARED)
    out = subprocess.run([sys.executable, "-m", "linker.cli.main", "link",
                          str(WASI_LIB / "crt1-command.o"), str(obj), "-lffi",
                          str(WASI_LIB / "libc.a"), str(BUILTINS[-1]), "--entry", "_start",
                          "-o", str(tmp_path / "cli.wasm")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "cli.wasm").is_file()


def test_c_closures_called_from_ir_and_ir_ffi_call_share_handlers(tmp_path: Path) -> None:
    ir_obj = Path(linker.compile_files([C_DIR / "mixed_closures.ir"], tmp_path)[0])
    c_obj = compile_c(tmp_path, "mixc", (C_DIR / "mixed_closures.c").read_text())
    result = link_c(tmp_path, [c_obj, ir_obj])
    for out in run_both(tmp_path / "prog.wasm"):
        assert out.exit_code == 0, out.stderr
        # int8 closure: (-100 - 60000) as int8; long double closure: 1.5L * 4 = 6.0L
        # (binary128's high half); struct closure {1,2,3} -> {3,4,1}; IR's own
        # ffi_call (a constant sig) of C's c_small(-7, 300) as int8.
        assert out.stdout.decode() == (f"1: {(-100 - 60000 + 128) % 256 - 128}\n"
                                       f"2: {0x4001800000000000}\n3: 341\n"
                                       f"4: {(-7 + 300 + 128) % 256 - 128}\n")
    assert result.ffi is not None
    by_key = {s.key: s for s in result.ffi.sigs}
    assert set(by_key) == {"b(b,H)", "D(D,i)", "{i,i,i}({i,i,i})"}
    # The signature IR names with `sig s8` and C declares is one signature: one
    # handler, one pool, both users.
    assert by_key["b(b,H)"].users[0] == "c_main" and by_key["b(b,H)"].users[1].endswith("mixc.o")


def test_ir_passing_a_sig_id_to_libffis_ffi_call_is_an_error(tmp_path: Path) -> None:
    text = (C_DIR / "mixed_closures.ir").read_text().replace("__irld_ffi_call", "ffi_call")
    (tmp_path / "bad.ir").write_text(text)
    ir_obj = Path(linker.compile_files([tmp_path / "bad.ir"], tmp_path)[0])
    c_obj = compile_c(tmp_path, "mixc", (C_DIR / "mixed_closures.c").read_text())
    with pytest.raises(DiagnosticError) as info:
        link_c(tmp_path, [c_obj, ir_obj])
    text = info.value.render()
    assert "error: 'c_main' calls ffi_call with a signature id, but ffi_call is defined by C " \
           "in " in text and "(ffi.o) (libffi's, which takes a cif)" in text
    assert ">>> call __irld_ffi_call instead" in text
