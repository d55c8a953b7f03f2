"""Helpers of the libffi C API tests: compile C for wasm32 against irld's ffi.h,
link it with `irld link -lffi` and wasi-libc, run it on wasmtime and Node."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import linker
from linker.driver import LinkResult
from linker.ffi.library import include_dir
from linker.host import HostFunctions, RunResult, run, run_node

CLANG = shutil.which("clang")
NODE = shutil.which("node")
WASM_VALIDATE = shutil.which("wasm-validate")
WASI_LIB = Path("/usr/lib/wasm32-wasi")
BUILTINS = sorted(Path("/usr/lib/llvm-14/lib/clang").glob("*/lib/wasi/"
                                                           "libclang_rt.builtins-wasm32.a"))
C_DIR = Path(__file__).resolve().parent / "c"

needs_c = pytest.mark.skipif(
    CLANG is None or not (WASI_LIB / "libc.a").exists() or not BUILTINS,
    reason="clang, wasi-libc and compiler-rt for wasm32 are needed")


def compile_c(tmp: Path, name: str, source: str, *flags: str) -> Path:
    src = tmp / f"{name}.c"
    src.write_text(source)
    out = tmp / f"{name}.o"
    subprocess.run([str(CLANG), "--target=wasm32-wasi", "--sysroot=/usr", "-O1",
                    f"-I{include_dir()}", *flags, "-c", str(src), "-o", str(out)], check=True)
    return out


def link_c(tmp: Path, objs: list[Path], out: str = "prog.wasm", **options: Any) -> LinkResult:
    inputs = [str(WASI_LIB / "crt1-command.o"), *map(str, objs), str(WASI_LIB / "libc.a"),
              str(BUILTINS[-1])]
    result = linker.link(inputs, str(tmp / out), entry="_start",
                         libraries=("ffi",), **options)
    if WASM_VALIDATE is not None:
        subprocess.run([WASM_VALIDATE, str(tmp / out)], check=True)
    return result


def run_both(path: Path, host: HostFunctions | None = None) -> list[RunResult]:
    """The program's runs on wasmtime and (when installed) Node."""
    outs = [run(str(path), [path.name], capture=True, timeout=120, host=host)]
    if NODE is not None:
        outs.append(run_node(str(path), [path.name], timeout=120))
    return outs
