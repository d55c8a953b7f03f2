"""`make demo`: compile, link and run every example against the stdlib archive.

For each directory under `examples/` (sorted): compile its `.ir` modules
with irld and its `.c` files with a C compiler for wasm32 (clang, or else
`python -m ziglang cc` from the `ziglang` wheel, which `make demo` installs
when clang is missing), link them with `build/stdlib.a` (writing a link
report), run the program
under wasmtime with the arguments in `args` (one per line) and compare its
stdout and exit code with `expected.out` / `expected.exit`.  One summary line
per example shows live and dead entities, output bytes and FFI bytes.  Then
it asks the report why one symbol is in one binary and what costs the most.
An example with a `needs` file naming `wasi-libc` is compiled and linked
with wasi-libc (`linker/toolchain.py`: Debian's packages, else the `ziglang`
wheel); without either it is skipped with a line saying what to install.  The
C files of an example's `lib/` directory become its own archive,
`lib<example>.a`, linked after its objects.
Exit status 0 only if every example that ran printed exactly its expected output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from linker.cli.main import main as irld
from linker.compile import compile_module, write_file_atomic
from linker.diagnostics import DiagnosticError
from linker.driver import LinkOptions, link
from linker.ir.parser import parse_module
from linker.report.build import build_report
from linker.host import run
from linker.toolchain import LibcToolchain, find_libc_toolchain, missing_message

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BUILD = ROOT / "build"
STDLIB = BUILD / "stdlib.a"


def build_example(ex: Path, libc: LibcToolchain | None = None) -> tuple[list[str], Path]:
    """Compile every module of one example (and archive its `lib/`); returns
    the link inputs before the stdlib."""
    out = BUILD / "examples" / ex.name
    out.mkdir(parents=True, exist_ok=True)
    objects = []
    for src in sorted(ex.glob("*.ir")):
        module = parse_module(src.read_text(), str(src.relative_to(ROOT)))
        obj = out / (src.stem + ".o")
        write_file_atomic(str(obj), compile_module(module))
        objects.append(str(obj.relative_to(ROOT)))
    cc = list(libc.cc) if libc is not None else c_compiler()
    for src in sorted(ex.glob("*.c")):
        obj = out / (src.stem + ".o")
        subprocess.run([*cc, "-O1", "-c", str(src), "-o", str(obj)], check=True)
        objects.append(str(obj.relative_to(ROOT)))
    lib_sources = sorted(ex.glob("lib/*.c"))
    if lib_sources:
        members = []
        for src in lib_sources:
            obj = out / "lib" / (src.stem + ".o")
            obj.parent.mkdir(exist_ok=True)
            subprocess.run([*cc, "-O1", "-c", str(src), "-o", str(obj)], check=True)
            members.append(str(obj))
        archive = out / f"lib{ex.name}.a"
        archive.unlink(missing_ok=True)
        irld(["ar", str(archive), *members])
        objects.append(str(archive.relative_to(ROOT)))
    return objects, out


def needs_libc(ex: Path) -> bool:
    needs = ex / "needs"
    return needs.exists() and "wasi-libc" in needs.read_text().split()


def c_compiler() -> list[str]:
    """The command that compiles C for wasm32-wasi: clang if installed, else zig's."""
    clang = shutil.which("clang")
    if clang is not None:
        return [clang, "--target=wasm32-wasi"]
    return [sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi"]


def demo_one(ex: Path) -> bool:
    libc: LibcToolchain | None = None
    if needs_libc(ex):
        libc = find_libc_toolchain(BUILD / "zig-cache")
        if libc is None:
            print(f"  {ex.name:<12} SKIP  {missing_message()}")
            return True
    objects, out = build_example(ex, libc)
    wasm = out / f"{ex.name}.wasm"
    start = time.perf_counter()
    libs = libc.libs if libc is not None else ()
    opts = LinkOptions(inputs=(*objects, *libs, str(STDLIB.relative_to(ROOT))), output=str(wasm))
    result = link(opts)
    link_ms = (time.perf_counter() - start) * 1000
    report = build_report(result, opts)
    write_file_atomic(str(out / f"{ex.name}.json"), report.dumps().encode())
    args_file = ex / "args"
    args = args_file.read_text().split() if args_file.exists() else []
    res = run(wasm.read_bytes(), [ex.name, *args], capture=True, timeout=60)
    expected = (ex / "expected.out").read_bytes()
    exit_file = ex / "expected.exit"
    expected_exit = int(exit_file.read_text()) if exit_file.exists() else 0
    ok = res.stdout == expected and res.exit_code == expected_exit
    dead = sum(1 for _ in report.dead)
    ffi = sum(int(row.get("bytes", 0)) for row in report.ffi)
    print(f"  {ex.name:<12} {'ok ' if ok else 'FAIL'}  {len(result.wasm or b''):>7,} B  "
          f"live {len(report.live):>4}  dead {dead:>4}  FFI {ffi:>6,} B  "
          f"link {link_ms:>6.0f} ms")
    if not ok:
        print(f"    expected exit {expected_exit}, got {res.exit_code}; stdout was:")
        print("    " + res.stdout.decode(errors="replace").replace("\n", "\n    "))
        if res.stderr:
            print("    stderr: " + res.stderr.decode(errors="replace")[-400:])
    return ok


def main() -> int:
    if not STDLIB.exists():
        print("build/stdlib.a is missing: run `make demo` (it builds it)", file=sys.stderr)
        return 1
    os.chdir(ROOT)  # inputs are named relative to the checkout in reports
    print("irld demo: every example compiled, linked against build/stdlib.a and run\n")
    results = []
    for ex in sorted(p for p in EXAMPLES.iterdir() if (p / "expected.out").exists()):
        try:
            results.append(demo_one(ex))
        except DiagnosticError as exc:
            print(f"  {ex.name:<12} FAIL  link error:\n{exc.render()}")
            results.append(False)
    fib = "build/examples/fib/fib.json"
    if Path(fib).exists():
        print(f"\n$ irld why malloc {fib}")
        irld(["why", "malloc", fib])
        print(f"\n$ irld top -n 5 {fib}")
        irld(["top", "-n", "5", fib])
    qsort = "build/examples/qsort/qsort.json"
    if Path(qsort).exists():
        print(f"\n$ irld why printf {qsort}     # a libc member, and why it was pulled in")
        irld(["why", "printf", qsort])
    passed = sum(results)
    print(f"\n{passed} of {len(results)} examples printed their expected output.")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
