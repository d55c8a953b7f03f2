"""Closure pools: exhaustion grows through the host under `irld run`, returns null
under Node; freed slots are reused; pool sizes from `pool N` and --ffi-closure-pool."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import linker.host

from ffi_util import compile_texts, link_texts

IRLD = str(Path(sys.executable).with_name("irld"))

# Allocates N closures of `sint32(sint32)` (each adds its user data to its
# argument), calls each from wasm, frees the second one and allocates again.
# Exit status: 100 + the number of closures obtained (all checked), or the
# failing check's number.
POOL = """
module pooltest
extern func ffi_closure_alloc(i32, i32, i32) -> i32
extern func ffi_closure_free(i32)
csig add = sint32(sint32){pool}
data codes align 4 = {{ zero 64 }}
data uds align 4 = {{ zero 64 }}

func adder(sg: i32, ret: i32, args: i32, ud: i32) {{
entry:
  if i32.ne(sg, sig add) then bad else ok
ok:
  i32.store(ret, i32.add(i32.load(i32.load(args)), i32.load(ud)))
  return
bad:
  panic "wrong signature"
}}

func main() -> i32 {{
  local i: i32, n: i32, code: i32, r: i32, again: i32
entry:
  i = 0
  n = 0
  jump loop
loop:
  if i32.lt_u(i, {count}) then alloc else done
alloc:
  i32.store(i32.add(@uds, i32.shl(i, 2)), i32.mul(i, 1000))
  code = call ffi_closure_alloc(sig add, @adder, i32.add(@uds, i32.shl(i, 2)))
  i32.store(i32.add(@codes, i32.shl(i, 2)), code)
  if i32.eqz(code) then next else use
use:
  n = i32.add(n, 1)
  r = call_indirect (i32) -> i32 [code](7)
  if i32.ne(r, i32.add(7, i32.mul(i, 1000))) then wrong else next
next:
  i = i32.add(i, 1)
  jump loop
done:
  if i32.lt_u(n, 2) then finish else reuse
reuse:
  code = i32.load(@codes, offset=4)
  call ffi_closure_free(code)
  i32.store(@uds, 5, offset=4)
  again = call ffi_closure_alloc(sig add, @adder, i32.add(@uds, 4))
  if i32.ne(again, code) then noreuse else recall
recall:
  r = call_indirect (i32) -> i32 [again](1)
  if i32.ne(r, 6) then wrong else finish
finish:
  return i32.add(100, n)
wrong:
  return 2
noreuse:
  return 3
}}
"""


def pool_program(count: int, pool: int | None = None) -> str:
    return POOL.format(count=count, pool="" if pool is None else f" pool {pool}")


def test_pool_exhaustion_grows_under_irld_run(tmp_path: Path) -> None:
    result = link_texts(tmp_path, [pool_program(6, pool=2)])
    assert result.ffi is not None and result.ffi.sigs[0].pool_slots == 2
    run = linker.host.run(result.wasm or b"", ["pool"], capture=True)
    assert (run.exit_code, run.stderr) == (106, b"")


def test_grown_slot_is_reused_after_free(tmp_path: Path) -> None:
    # The freed closure (the second one) is a grown slot when the pool holds 1.
    result = link_texts(tmp_path, [pool_program(4, pool=1)])
    run = linker.host.run(result.wasm or b"", ["pool"], capture=True)
    assert (run.exit_code, run.stderr) == (104, b"")


def test_pool_exhaustion_returns_null_under_node(tmp_path: Path) -> None:
    try:
        linker.host.find_node()
    except linker.host.NodeNotFoundError as exc:
        pytest.skip(str(exc))
    result = link_texts(tmp_path, [pool_program(6, pool=2)])
    run = linker.host.run_node(result.wasm or b"", ["pool"])
    assert (run.exit_code, run.stderr) == (102, b"")


def test_without_growth_import_support_alloc_returns_null(tmp_path: Path) -> None:
    # A host whose closure_table_grow always fails (like Node's): clean null.
    result = link_texts(tmp_path, [pool_program(5, pool=3)])
    host = linker.host.HostFunctions.default()
    host.add("irld", "closure_table_grow", linker.host.HostFunctions.default().get(
        "irld", "closure_table_grow").type, lambda ctx, t, c: 0)   # type: ignore[union-attr]
    run = linker.host.run(result.wasm or b"", ["pool"], host=host, capture=True)
    assert (run.exit_code, run.stderr) == (103, b"")


def test_pool_override_and_cli_default(tmp_path: Path) -> None:
    objs = compile_texts(tmp_path, [pool_program(3)])
    out = tmp_path / "a.wasm"
    proc = subprocess.run([IRLD, "link", *objs, "-o", str(out), "--ffi-closure-pool", "1"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run = linker.host.run(out.read_bytes(), ["pool"], capture=True)
    assert run.exit_code == 103
    names = _closure_slots(out.read_bytes())
    assert names == 1
    # `pool N` in the csig declaration wins over the default.
    result = link_texts(tmp_path, [pool_program(3, pool=5)], ffi_closure_pool=1)
    assert result.ffi is not None and result.ffi.sigs[0].pool_slots == 5


def test_pool_zero_grows_from_the_first_closure(tmp_path: Path) -> None:
    result = link_texts(tmp_path, [pool_program(3, pool=0)])
    run = linker.host.run(result.wasm or b"", ["pool"], capture=True)
    assert (run.exit_code, run.stderr) == (103, b"")


def test_closure_called_with_the_wrong_type_traps_readably(tmp_path: Path) -> None:
    text = pool_program(1).replace(
        "r = call_indirect (i32) -> i32 [code](7)", "r = call_indirect (f64) -> i32 [code](7.0)")
    result = link_texts(tmp_path, [text])
    run = linker.host.run(result.wasm or b"", ["pool"], capture=True)
    assert run.exit_code == linker.host.EXIT_TRAP
    assert b"indirect call type mismatch" in run.stderr
    assert b"at main" in run.stderr


def _closure_slots(wasm: bytes) -> int:
    """Pool trampolines of signature 1, counted by their names in the name section."""
    return wasm.count(b"__irld_closure:1.")
