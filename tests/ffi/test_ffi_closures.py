"""Closure pools: with --closure-growth=host, exhaustion grows through the host under
`irld run` on wasmtime and on Node; by default (plain WASI) it returns null everywhere;
freed slots are reused; pool sizes from `pool N` and --ffi-closure-pool."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typing import Any

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
    result = link_texts(tmp_path, [pool_program(6, pool=2)], closure_growth=True)
    assert result.ffi is not None and result.ffi.sigs[0].pool_slots == 2
    run = linker.host.run(result.wasm or b"", ["pool"], capture=True)
    assert (run.exit_code, run.stderr) == (106, b"")


def test_grown_slot_is_reused_after_free(tmp_path: Path) -> None:
    # The freed closure (the second one) is a grown slot when the pool holds 1.
    result = link_texts(tmp_path, [pool_program(4, pool=1)], closure_growth=True)
    run = linker.host.run(result.wasm or b"", ["pool"], capture=True)
    assert (run.exit_code, run.stderr) == (104, b"")


def test_pool_exhaustion_grows_under_node(tmp_path: Path) -> None:
    try:
        linker.host.find_node()
    except linker.host.NodeNotFoundError as exc:
        pytest.skip(str(exc))
    result = link_texts(tmp_path, [pool_program(6, pool=2)], closure_growth=True)
    run = linker.host.run_node(result.wasm or b"", ["pool"])
    assert (run.exit_code, run.stderr) == (106, b"")


def test_without_growth_import_support_alloc_returns_null(tmp_path: Path) -> None:
    # A host whose closure_table_grow always fails (like Node's): clean null.
    result = link_texts(tmp_path, [pool_program(5, pool=3)], closure_growth=True)
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
    assert run.exit_code == 101       # one slot, no growth: the second closure is NULL
    names = _closure_slots(out.read_bytes())
    assert names == 1
    # `pool N` in the csig declaration wins over the default.
    result = link_texts(tmp_path, [pool_program(3, pool=5)], ffi_closure_pool=1)
    assert result.ffi is not None and result.ffi.sigs[0].pool_slots == 5


def test_pool_zero_grows_from_the_first_closure(tmp_path: Path) -> None:
    result = link_texts(tmp_path, [pool_program(3, pool=0)], closure_growth=True)
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


def test_plain_wasi_by_default_exhausted_pool_gives_null(tmp_path: Path) -> None:
    # Without --closure-growth=host the output imports only WASI, and every engine
    # gives NULL after the pool: the same status on wasmtime, the interpreter and Node.
    from linker.interp import run_program
    result = link_texts(tmp_path, [pool_program(6, pool=2)])
    imports = {(i.module, i.name) for i in _imports(result.wasm or b"")}
    assert {module for module, _name in imports} == {"wasi_snapshot_preview1"}
    assert b"__irld_closure_dispatch" not in (result.wasm or b"")
    run = linker.host.run(result.wasm or b"", ["pool"], capture=True)
    assert (run.exit_code, run.stderr) == (102, b"")
    assert run_program(result, ["pool"]).exit_code == 102
    # pool 0 without growth: no closure at all, and no template function
    result = link_texts(tmp_path, [pool_program(3, pool=0)])
    assert b"__irld_closure_template" not in (result.wasm or b"")
    assert linker.host.run(result.wasm or b"", ["pool"], capture=True).exit_code == 100


def test_closure_growth_flag(tmp_path: Path) -> None:
    objs = compile_texts(tmp_path, [pool_program(6, pool=2)])
    out = tmp_path / "a.wasm"
    for flag, status, grow in (([], 102, False), (["--closure-growth=host"], 106, True),
                               (["--closure-growth=none"], 102, False)):
        proc = subprocess.run([IRLD, "link", *objs, "-o", str(out), *flag],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        imports = {(i.module, i.name) for i in _imports(out.read_bytes())}
        assert (("irld", "closure_table_grow") in imports) is grow
        assert linker.host.run(out.read_bytes(), ["pool"], capture=True).exit_code == status
    proc = subprocess.run([IRLD, "link", *objs, "-o", str(out), "--closure-growth=js"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice: 'js'" in proc.stderr


def _imports(wasm: bytes) -> list[Any]:
    import wasmtime
    return list(wasmtime.Module(wasmtime.Engine(), wasm).imports)


def _closure_slots(wasm: bytes) -> int:
    """Pool trampolines of signature 1, counted by their names in the name section."""
    return wasm.count(b"__irld_closure:1.")
