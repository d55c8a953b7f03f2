"""The C toolchain for wasm32-wasi that `make demo` uses: a compiler and wasi-libc.

Two sources, tried in order:

1. Debian's packages: `clang` with `--sysroot=/usr` finds wasi-libc's
   headers and `/usr/lib/wasm32-wasi/{libc.a,crt1-command.o}` (package
   `wasi-libc`); compiler-rt's builtins come from
   `libclang-rt-14-dev-wasm32` (`libclang_rt.builtins-wasm32.a`, needed for
   `long double` arithmetic in printf).
2. The `ziglang` wheel from PyPI: `python -m ziglang cc -target wasm32-wasi`
   ships wasi-libc's sources and builds `libc.a` (and its compiler-rt) into
   its cache the first time it links a program, offline (about a minute and
   a half).  We link one tiny program into `build/zig-cache` and take the
   archives from there.

`find_libc_toolchain()` returns the first that works, or None and
`missing_message()` says what to install.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WASI_LIB = Path("/usr/lib/wasm32-wasi")
BUILTINS_GLOB = "/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"


@dataclass(frozen=True)
class LibcToolchain:
    source: str                 # "Debian wasi-libc" or "zig (ziglang wheel)"
    cc: tuple[str, ...]         # compile command, up to and including the target flags
    libs: tuple[str, ...]       # archives to link after the program's own: libc, builtins


def debian_libc() -> LibcToolchain | None:
    clang = shutil.which("clang")
    builtins = sorted(Path("/").glob(BUILTINS_GLOB.lstrip("/")))
    if clang is None or not (WASI_LIB / "libc.a").exists() or not builtins:
        return None
    return LibcToolchain("Debian wasi-libc", (clang, "--target=wasm32-wasi", "--sysroot=/usr"),
                         (str(WASI_LIB / "libc.a"), str(builtins[-1])))


def zig_libc(cache: Path) -> LibcToolchain | None:
    if importlib.util.find_spec("ziglang") is None:
        return None
    cc = (sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi")
    env = {**os.environ, "ZIG_GLOBAL_CACHE_DIR": str(cache / "global"),
           "ZIG_LOCAL_CACHE_DIR": str(cache / "local")}
    libs = _zig_archives(cache)
    if not libs:
        cache.mkdir(parents=True, exist_ok=True)
        probe = cache / "probe.c"
        probe.write_text("#include <stdio.h>\nint main(void) { printf(\"%g\\n\", 1.5); }\n")
        done = subprocess.run([*cc, str(probe), "-o", str(cache / "probe.wasm")], env=env,
                              capture_output=True)
        if done.returncode != 0:
            return None
        libs = _zig_archives(cache)
    return LibcToolchain("zig (ziglang wheel)", cc, tuple(libs)) if libs else None


def _zig_archives(cache: Path) -> list[str]:
    """libc.a, then zig's own libc parts and compiler-rt, from zig's cache."""
    found = []
    for name in ("libc.a", "libzigc.a", "libcompiler_rt.a"):
        hits = sorted((cache / "global").glob(f"o/*/{name}"))
        if hits:
            found.append(str(hits[-1]))
    return found if found and found[0].endswith("/libc.a") else []


def find_libc_toolchain(zig_cache: Path) -> LibcToolchain | None:
    return debian_libc() or zig_libc(zig_cache)


def missing_message() -> str:
    return ("needs wasi-libc: on Debian `apt-get install clang wasi-libc "
            "libclang-rt-14-dev-wasm32`, or `pip install ziglang` (zig cc builds "
            "wasi-libc from the sources it ships)")
