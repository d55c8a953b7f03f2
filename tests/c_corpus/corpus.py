"""The C corpus: real programs written to compare irld with wasm-ld.

Each directory next to this file is one program: `lib/*.c` is its library
(archived as `lib<name>.a` by `llvm-ar rcs`), the other `*.c` files are the
program's own objects.  `build(name)` compiles them with
`clang --target=wasm32-wasi --sysroot=/usr -O2` into
`build/c_corpus/<name>-<key>/`, where the key hashes the sources, the flags
and clang's version, so objects are compiled once and reused by every test
session and by `benchmarks/c_corpus.py`; a new key is written in a temporary
directory and renamed into place, so parallel test workers never see half a
build.  `link_inputs` is the command line both linkers get: crt1, the
program's objects, its archive, wasi-libc's `libc.a` and compiler-rt's
builtins, in that order.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / "build" / "c_corpus"
PROGRAMS = tuple(sorted(p.name for p in HERE.iterdir() if (p / "main.c").exists()))
WASI_LIB = Path("/usr/lib/wasm32-wasi")
BUILTINS = sorted(Path("/usr/lib/llvm-14/lib/clang").glob(
    "*/lib/wasi/libclang_rt.builtins-wasm32.a"))
CLANG = shutil.which("clang")
LLVM_AR = shutil.which("llvm-ar")
CFLAGS = ("--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-Wall", "-Wextra", "-Werror")


def missing_tools() -> str | None:
    """Why the corpus cannot be built here, or None."""
    if CLANG is None or LLVM_AR is None:
        return "clang and llvm-ar are needed"
    if not (WASI_LIB / "libc.a").exists() or not BUILTINS:
        return "wasi-libc (/usr/lib/wasm32-wasi) and compiler-rt for wasm32 are needed"
    return None


@dataclass(frozen=True)
class Built:
    name: str
    directory: Path
    objects: tuple[Path, ...]      # the program's own objects, in file-name order
    archive: Path                  # lib<name>.a

    def link_inputs(self) -> list[str]:
        return [str(WASI_LIB / "crt1-command.o"), *map(str, self.objects), str(self.archive),
                str(WASI_LIB / "libc.a"), str(BUILTINS[-1])]


def sources(name: str) -> tuple[list[Path], list[Path]]:
    prog = HERE / name
    return sorted(prog.glob("*.c")), sorted((prog / "lib").glob("*.c"))


def _key(name: str, extra: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    assert CLANG is not None
    h.update(subprocess.run([CLANG, "--version"], capture_output=True, check=True).stdout)
    h.update("\0".join((*CFLAGS, *extra)).encode())
    for path in sorted((HERE / name).rglob("*.[ch]")):
        h.update(str(path.relative_to(HERE)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def build(name: str, extra_flags: tuple[str, ...] = ()) -> Built:
    """Compile (or reuse) the objects and the archive of one program."""
    app, lib = sources(name)
    out = CACHE / f"{name}-{_key(name, extra_flags)}"
    if not (out / f"lib{name}.a").exists():
        _compile(name, app, lib, out, extra_flags)
    return Built(name, out, tuple(out / f"{c.stem}.o" for c in app), out / f"lib{name}.a")


def _compile(name: str, app: list[Path], lib: list[Path], out: Path,
             extra: tuple[str, ...]) -> None:
    assert CLANG is not None and LLVM_AR is not None
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=CACHE))
    for src in (*app, *lib):
        subprocess.run([CLANG, *CFLAGS, *extra, "-c", str(src), "-o", str(tmp / f"{src.stem}.o")],
                       check=True)
    # Members by their bare names, as a Makefile's `ar rcs libX.a a.o b.o` would.
    subprocess.run([LLVM_AR, "rcs", f"lib{name}.a", *(f"{s.stem}.o" for s in lib)], cwd=tmp,
                   check=True)
    for src in lib:
        (tmp / f"{src.stem}.o").unlink()
    try:
        os.rename(tmp, out)
    except OSError:          # another worker finished first: use its build
        shutil.rmtree(tmp, ignore_errors=True)
