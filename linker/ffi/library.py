"""irld's libffi: the header directory, and `libffi.a` built from C on first use.

The library is libffi 3.4's C API (`clib/ffi.h`, `clib/ffi.c`) on top of the
link-time FFI; it holds no code per signature, so it is the same for every
program and is built once per machine:

* source: `clib/ffi.c`, shipped in the package beside `ffi.h` and
  `irld_ffi.h` (the header directory `irld config --cflags` prints);
* compiler: `$IRLD_CC` if set (a command line, split on spaces), else
  `clang --target=wasm32-wasi` if clang is installed, else
  `python -m ziglang cc -target wasm32-wasi` (the PyPI `ziglang` wheel,
  which `make demo` installs when clang is missing): the same choice as
  `linker.demo`.  The object is freestanding (`-ffreestanding
  -fno-builtin`), so no wasi-libc is needed to build it;
* cache: `$IRLD_CACHE_DIR`, else `$XDG_CACHE_HOME/irld`, else
  `~/.cache/irld`; the file name holds a hash of the sources and the
  compiler command, so an edited source or another compiler builds anew.
  The archive is written atomically (parallel links race harmlessly).

`irld link -lffi` uses it when no `-L` directory holds a `libffi.a`
(`linker.driver.find_inputs`).  C rather than IR because the library is
ordinary libffi client-facing C (struct layout, recursion over type trees,
malloc'd closures), and a C compiler for wasm32 is already a requirement
of linking C with irld.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from linker.compile import write_file_atomic
from linker.diagnostics import Diagnostic, DiagnosticError
from linker.store.archive import archive_bytes

CLIB = Path(__file__).resolve().parent / "clib"
SOURCES = ("ffi.c", "ffi.h", "irld_ffi.h")
CFLAGS = ("-O2", "-ffreestanding", "-fno-builtin", "-Wall")
NAME = "ffi"           # -lffi


def include_dir() -> str:
    """The directory holding ffi.h and irld_ffi.h."""
    return str(CLIB)


def cache_dir() -> Path:
    explicit = os.environ.get("IRLD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "irld"


def c_compiler() -> list[str] | None:
    """The command that compiles C for wasm32-wasi, or None when there is none."""
    explicit = os.environ.get("IRLD_CC")
    if explicit:
        return explicit.split()
    clang = shutil.which("clang")
    if clang is not None:
        return [clang, "--target=wasm32-wasi"]
    if importlib.util.find_spec("ziglang") is None:
        return None
    return [sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi"]


def _digest(cc: list[str]) -> str:
    h = hashlib.sha256()
    for name in SOURCES:
        h.update(name.encode() + b"\0" + (CLIB / name).read_bytes())
    h.update("\0".join([os.path.basename(cc[0]), *cc[1:], *CFLAGS]).encode())
    return h.hexdigest()[:16]


def library_path() -> str:
    """The path of libffi.a, built (and cached) when missing; DiagnosticError
    when it cannot be built."""
    cc = c_compiler()
    if cc is None:
        raise DiagnosticError([Diagnostic.error(
            "unable to build -lffi: no C compiler for wasm32 (install clang, or "
            "`pip install ziglang`, or set IRLD_CC)")])
    out = cache_dir() / f"libffi-{_digest(cc)}.a"
    if out.is_file():
        return str(out)
    obj = _compile(cc)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(str(out), archive_bytes([("ffi.o", obj)]))
    except OSError as exc:
        raise DiagnosticError([Diagnostic.error(
            f"unable to build -lffi: cannot write {out}: {exc.strerror or exc}")]) from None
    return str(out)


def _compile(cc: list[str]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="irld-libffi-") as tmp:
        obj = os.path.join(tmp, "ffi.o")
        cmd = [*cc, *CFLAGS, "-I", str(CLIB), "-c", str(CLIB / "ffi.c"), "-o", obj]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DiagnosticError([Diagnostic.error(
                f"unable to build -lffi: {' '.join(cmd)}: {exc}")]) from None
        if proc.returncode != 0:
            raise DiagnosticError([Diagnostic.error(
                f"unable to build -lffi: {' '.join(cmd)} failed",
                notes=[line for line in proc.stderr.splitlines()[:20]])])
        return Path(obj).read_bytes()
