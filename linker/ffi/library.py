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
* position independent (`irld link --shared` / `--pie`): the same source
  compiled with `-fPIC` for the Emscripten triple (clang emits PIC for wasm
  only there: `wasm32-unknown-emscripten`, zig's `wasm32-emscripten`), a
  second cached archive; its symbols stay hidden, so a side module addresses
  them from its own `__memory_base` / `__table_base`;
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


_PIC_TARGETS = {"--target=wasm32-wasi": "--target=wasm32-unknown-emscripten",
                "wasm32-wasi": "wasm32-emscripten"}


def pic_compiler(cc: list[str]) -> list[str]:
    """`cc` made to emit position-independent code: the Emscripten triple and -fPIC."""
    return [_PIC_TARGETS.get(arg, arg) for arg in cc] + ["-fPIC"]


def _digest(cc: list[str]) -> str:
    h = hashlib.sha256()
    for name in SOURCES:
        h.update(name.encode() + b"\0" + (CLIB / name).read_bytes())
    h.update("\0".join([os.path.basename(cc[0]), *cc[1:], *CFLAGS]).encode())
    return h.hexdigest()[:16]


def library_path(pic: bool = False) -> str:
    """The path of libffi.a (`pic`: its position-independent build), built (and
    cached) when missing; DiagnosticError when it cannot be built."""
    cc = c_compiler()
    if cc is None:
        raise DiagnosticError([Diagnostic.error(
            "unable to build -lffi: no C compiler for wasm32 (install clang, or "
            "`pip install ziglang`, or set IRLD_CC)")])
    if pic:
        cc = pic_compiler(cc)
    out = cache_dir() / f"libffi{'-pic' if pic else ''}-{_digest(cc)}.a"
    if out.is_file():
        return str(out)
    obj = _compile(cc)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _write_cache(out, archive_bytes([("ffi.o", obj)]))
    except OSError as exc:
        raise DiagnosticError([Diagnostic.error(
            f"unable to build -lffi: cannot write {out}: {exc.strerror or exc}")]) from None
    return str(out)


def _write_cache(out: Path, data: bytes) -> None:
    """Write the archive atomically.  Not through `linker.output`: the cache is no
    output of the running link (whose output set would then refuse it as an input)."""
    fd, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temp, out)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


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
