"""Helpers of the LTO tests: IR modules -> objects -> `linker.link(..., lto=True)`, the
optimized IR of a function, and runs on the interpreter and wasmtime."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import linker
import linker.host
from linker.driver import LinkResult
from linker.interp import run_program
from linker.ir import model as ir

MIX = """
import func "wasi_snapshot_preview1" "fd_write" fd_write(i32, i32, i32, i32) -> i32
data dig align 4 = { zero 12 }
data iov align 4 = { addr dig, i32 11 }
data nw align 4 = { zero 4 }

// print an i32 as 10 decimal digits and a newline
func out(v: i32) {
  local k: i32
entry:
  k = 9
  i32.store8(@dig+10, 10)
  jump loop
loop:
  i32.store8(i32.add(@dig, k), i32.add(48, i32.rem_u(v, 10)))
  v = i32.div_u(v, 10)
  if i32.eqz(k) then done else next
next:
  k = i32.sub(k, 1)
  jump loop
done:
  call fd_write(1, @iov, 1, @nw)
  return
}
"""


def build(tmp: Path, modules: dict[str, str]) -> list[str]:
    paths = []
    for name, text in modules.items():
        p = tmp / f"{name}.o"
        p.write_bytes(linker.compile_text(text, f"{name}.ir"))
        paths.append(str(p))
    return paths


def link(paths: Sequence[str], passes: Sequence[str] | None = None, lto: bool = True,
         mode: str = "native") -> LinkResult:
    return linker.link(paths, lto=lto, lto_passes=None if passes is None else tuple(passes),
                       tail_calls=mode)


def func(result: LinkResult, name: str) -> ir.Func | None:
    assert result.program is not None
    for lf in result.program.funcs:
        if lf.symbol == name:
            return lf.func
    return None


def stmts(f: ir.Func) -> list[ir.Stmt]:
    return [s for b in f.blocks for s in b.stmts]


def run_both(result: LinkResult) -> tuple[bytes, int]:
    """stdout and exit status; the interpreter (on the optimized IR) and wasmtime agree."""
    assert result.wasm is not None
    a = run_program(result, ["prog"])
    b = linker.host.run(result.wasm, ["prog"], capture=True)
    assert (a.stdout, a.exit_code) == (b.stdout, b.exit_code)
    return b.stdout, b.exit_code
