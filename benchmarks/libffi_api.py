"""libffi's C API on irld (`ffi.h`, `-lffi`): code size per signature and per
closure slot, and the speed of `ffi_call` round trips.

A script, not a test.  It compiles small C programs written against ffi.h
with clang, links them with `irld link -lffi` and wasi-libc, and prints:

* size: FFI bytes (`LinkResult.ffi.total_bytes`, linker.ffi.FfiReport) of a
  program with 1 declared signature, then with N more declared through
  `--ffi-signatures` (bytes per declared signature = the difference / N),
  then with pools of 32 instead of 16 (bytes per closure slot), and the
  same program with `--ffi=exhaustive:4` (libffi-wasm's set); whole module
  sizes too;
* speed: ns per call of `int add(int, int)` called ITER times in a C loop
  (a) directly through a function pointer (`call_indirect`), (b) through
  `ffi_call` of a declared signature, (c) through the linker's dispatcher
  `__irld_ffi_call(id, ...)` itself (what IR's `ffi_call` with a constant
  `sig` calls), (d) through `ffi_call` of an undeclared signature with
  `--ffi-fallback=host` (FALLBACK_ITER calls: the host call is slow);
  timed inside wasm with clock_gettime, on wasmtime and on Node, runs
  alternated, median of --repeat.

    python benchmarks/libffi_api.py [--sigs N] [--iter N] [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import linker
from linker.ffi.library import include_dir
from linker.host import run, run_node

WASI = Path("/usr/lib/wasm32-wasi")
BUILTINS = sorted(Path("/usr/lib/llvm-14/lib/clang").glob("*/lib/wasi/"
                                                           "libclang_rt.builtins-wasm32.a"))

SIZE_C = r"""
#include <ffi.h>
IRLD_FFI_SIGNATURE(int, (int, int));
static int add(int a, int b) { return a + b; }
static void fun(ffi_cif *c, void *ret, void **args, void *ud) {
  (void)c; (void)ud; *(ffi_arg *)ret = *(int *)args[0] + *(int *)args[1];
}
int main(void) {
  ffi_cif cif; ffi_type *at[] = {&ffi_type_sint32, &ffi_type_sint32};
  ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint32, at);
  int a = 1, b = 2; void *av[] = {&a, &b}; ffi_arg r;
  ffi_call(&cif, FFI_FN(add), &r, av);
  ffi_closure *cl; void *code;
  ffi_alloc_prep_closure(&cl, &cif, fun, 0, &code);
  return ((int (*)(int, int))code)(3, 4) + (int)r;
}
"""

SPEED_C = r"""
#include <ffi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef DECLARE
IRLD_FFI_SIGNATURE(int, (int, int));
extern void __irld_ffi_call(unsigned, void (*)(void), void *, void **);
#endif
__attribute__((noinline)) int add(int a, int b) { return a + b; }
int (*volatile fp)(int, int) = add;
static double now(void) {
  struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec;
}
int main(int argc, char **argv) {
  const char *mode = argv[1]; long n = atol(argv[2]);
  ffi_cif cif; ffi_type *at[] = {&ffi_type_sint32, &ffi_type_sint32};
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint32, at) != FFI_OK) return 2;
  int a = 0, b = 1; void *av[] = {&a, &b}; ffi_arg r = 0; long long sum = 0;
  double t0 = now();
  if (!strcmp(mode, "direct")) {
    for (long i = 0; i < n; i++) { sum += fp((int)i, 1); }
  } else if (!strcmp(mode, "ffi")) {
    for (long i = 0; i < n; i++) { a = (int)i; ffi_call(&cif, FFI_FN(fp), &r, av); sum += (int)r; }
#ifdef DECLARE
  } else if (!strcmp(mode, "dispatch")) {
    for (long i = 0; i < n; i++) {
      a = (int)i; __irld_ffi_call(cif.flags, FFI_FN(fp), &r, av); sum += (int)r;
    }
#endif
  }
  double t1 = now();
  long long want = (long long)n * (n - 1) / 2 + n;
  printf("%.2f %d\n", (t1 - t0) / n, sum == want);
  return 0;
}
"""


def compile_c(tmp: Path, name: str, source: str, *flags: str) -> Path:
    (tmp / f"{name}.c").write_text(source)
    out = tmp / f"{name}.o"
    subprocess.run(["clang", "--target=wasm32-wasi", "--sysroot=/usr", "-O2",
                    f"-I{include_dir()}", *flags, "-c", str(tmp / f"{name}.c"), "-o", str(out)],
                   check=True)
    return out


def link_c(tmp: Path, obj: Path, out: str, **options: object) -> linker.LinkResult:
    inputs = [str(WASI / "crt1-command.o"), str(obj), str(WASI / "libc.a"), str(BUILTINS[-1])]
    return linker.link(inputs, str(tmp / out), entry="_start", libraries=("ffi",), **options)


def extra_signatures(n: int) -> list[str]:
    """n distinct signatures over a few C types (none is `int(int, int)`)."""
    types = ["int", "double", "float", "long long", "void *", "short",
             "struct { int, double }"]
    out: list[str] = []
    k = 0
    while len(out) < n:
        params = [types[(k // len(types) ** j) % len(types)] for j in range(1 + k % 3)]
        line = f"{types[k % 4]}({', '.join(params)})"
        if line != "int(int, int)" and line not in out:
            out.append(line)
        k += 1
    return out


def size(tmp: Path, nsigs: int) -> None:
    obj = compile_c(tmp, "size", SIZE_C)
    sigs = tmp / "sigs.txt"
    sigs.write_text("\n".join(extra_signatures(nsigs)) + "\n")
    no_pool = tmp / "sigs_pool0.txt"
    no_pool.write_text("\n".join(f"{s} pool 0" for s in extra_signatures(nsigs)) + "\n")
    rows = []
    for label, opts in (("1 declared signature", {}),
                        (f"{nsigs + 1} declared signatures", {"ffi_signatures": (str(sigs),)}),
                        (f"{nsigs + 1} declared, {nsigs} with pool 0",
                         {"ffi_signatures": (str(no_pool),)}),
                        (f"{nsigs + 1} declared, pools of 32",
                         {"ffi_signatures": (str(sigs),), "ffi_closure_pool": 32}),
                        ("1 declared, --ffi=exhaustive:4", {"ffi_exhaustive": 4})):
        r = link_c(tmp, obj, "size.wasm", **opts)
        assert r.ffi is not None
        rows.append((label, r.ffi.total_bytes, (tmp / "size.wasm").stat().st_size,
                     len(r.ffi.sigs)))
    print("size (FFI bytes from LinkResult.ffi; module bytes)")
    for label, ffi, module, n in rows:
        print(f"  {label:40s} ffi {ffi:>10,}  module {module:>10,}  signatures {n}")
    one, many, handlers_only, pool32, exh = (r[1] for r in rows)
    print(f"  bytes per declared signature (handler + 16-slot pool): {(many - one) / nsigs:.0f}")
    print(f"  bytes per declared signature with pool 0 (handler only): "
          f"{(handlers_only - one) / nsigs:.0f}")
    print(f"  bytes per closure slot: {(pool32 - many) / (16 * (nsigs + 1)):.1f}")
    print(f"  exhaustive:4 / 1 declared: {exh / one:.0f}x FFI bytes, "
          f"{rows[-1][2] / rows[0][2]:.0f}x module")


def speed(tmp: Path, iters: int, fallback_iters: int, repeat: int) -> None:
    declared = compile_c(tmp, "speed_d", SPEED_C, "-DDECLARE")
    undeclared = compile_c(tmp, "speed_u", SPEED_C)
    link_c(tmp, declared, "speed_d.wasm")
    link_c(tmp, undeclared, "speed_u.wasm", ffi_fallback_host=True)
    cases = [("direct call_indirect", "speed_d.wasm", "direct", iters),
             ("ffi_call, declared (specialized)", "speed_d.wasm", "ffi", iters),
             ("__irld_ffi_call(id) (IR's ffi_call path)", "speed_d.wasm", "dispatch", iters),
             ("ffi_call, undeclared, host fallback", "speed_u.wasm", "ffi", fallback_iters)]
    engines = [("wasmtime", lambda p, a: run(str(p), [p.name, *a], capture=True, timeout=600))]
    if shutil.which("node") is not None:
        engines.append(("node", lambda p, a: run_node(str(p), [p.name, *a], timeout=600)))
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeat):
        for engine, runner in engines:
            for label, wasm, mode, n in cases:
                out = runner(tmp / wasm, [mode, str(n)])
                ns, ok = out.stdout.decode().split()
                assert ok == "1", (label, out.stdout, out.stderr)
                times.setdefault((engine, label), []).append(float(ns))
    print(f"speed (ns per call, median of {repeat}; {iters:,} calls, fallback {fallback_iters:,})")
    for engine, _runner in engines:
        base = statistics.median(times[engine, cases[0][0]])
        for label, _w, _m, _n in cases:
            t = statistics.median(times[engine, label])
            print(f"  {engine:8s} {label:42s} {t:10.1f} ns  {t / base:7.1f}x direct")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigs", type=int, default=20)
    ap.add_argument("--iter", type=int, default=1_000_000)
    ap.add_argument("--fallback-iter", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if shutil.which("clang") is None or not BUILTINS:
        print("needs clang and compiler-rt for wasm32", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="irld-libffi-bench-") as d:
        size(Path(d), args.sigs)
        speed(Path(d), args.iter, args.fallback_iter, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
