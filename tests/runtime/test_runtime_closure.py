"""The FFI closure growth protocol: `irld.closure_table_grow` and `__irld_closure_dispatch*`,
on wasmtime (host functions in the table) and on Node (a wasm module built at run time by
the JS runtime, shared with the JS loader)."""

from __future__ import annotations

import pytest

import linker.host
from linker.ir.types import FuncType, ValType
from runtime_programs import wat

# A closure type (i32, i32) -> i32 ("iii").  Slot 1 holds a pool trampoline
# of that type, used as the template.  A closure context is the address of
# an i32 multiplier; calling the closure computes (a + b) * multiplier.
MODULE = """
 (import "irld" "closure_table_grow" (func $grow (param i32 i32) (result i32)))
 (type $iii (func (param i32 i32) (result i32)))
 (table (export "__indirect_function_table") 2 {max} funcref)
 (elem (i32.const 1) $pool_0)
 (func $pool_0 (type $iii) unreachable)
 (func $dispatch (export "{dispatch}") (param $ctx i32) (param $a i32) (param $b i32) (result i32)
   (if (i32.eqz (i32.load (local.get $ctx))) (then unreachable))
   (i32.mul (i32.add (local.get $a) (local.get $b)) (i32.load (local.get $ctx))))
 (func $main (export "_start") (local $f i32) (local $g i32)
   (i32.store (i32.const 64) (i32.const 10))
   (i32.store (i32.const 68) (i32.const 100))
   (local.set $f (call $grow (i32.const {template}) (i32.const 64)))
   ;; exit 3 when the host cannot grow the table (the "fails cleanly" path)
   (if (i32.eqz (local.get $f)) (then (call $proc_exit (i32.const 3))))
   (local.set $g (call $grow (i32.const {template}) (i32.const 68)))
   (if (i32.ne (local.get $f) (i32.const 2)) (then unreachable))
   (if (i32.ne (local.get $g) (i32.const 3)) (then unreachable))
   ;; (3 + 4) * 10 + (1 + 1) * 100 - 200 = 70
   (call $proc_exit
     (i32.sub (i32.add (call_indirect (type $iii) (i32.const 3) (i32.const 4) (local.get $f))
                       (call_indirect (type $iii) (i32.const 1) (i32.const 1) (local.get $g)))
              (i32.const 200))))
"""


def closure_module(dispatch: str = "__irld_closure_dispatch_iii", template: int = 1,
                   max: str = "") -> bytes:
    return wat(MODULE.format(dispatch=dispatch, template=template, max=max))


def test_dispatch_export_names_use_dyncall_letters() -> None:
    i32, i64, f32, f64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
    assert linker.host.closure_dispatch_export(FuncType((i32, i32), i32)) == "__irld_closure_dispatch_iii"
    assert linker.host.closure_dispatch_export(FuncType((i32, f64), i64)) == "__irld_closure_dispatch_jid"
    assert linker.host.closure_dispatch_export(FuncType((f32,))) == "__irld_closure_dispatch_vf"
    assert linker.host.closure_dispatch_export(FuncType()) == "__irld_closure_dispatch_v"


ENGINES = ["wasmtime", "node"]


def run_on(engine: str, module: bytes) -> linker.host.RunResult:
    if engine == "wasmtime":
        return linker.host.run(module, ["c"], capture=True)
    try:
        linker.host.find_node()
    except linker.host.NodeNotFoundError as exc:
        pytest.skip(str(exc))
    return linker.host.run_node(module, ["c"])


@pytest.mark.parametrize("engine", ENGINES)
def test_grown_slots_call_the_dispatcher_with_their_context(engine: str) -> None:
    result = run_on(engine, closure_module())
    assert (result.exit_code, result.stderr) == (70, b"")


def test_generic_dispatcher_name_is_the_fallback() -> None:
    result = linker.host.run(closure_module(dispatch="__irld_closure_dispatch"), ["c"], capture=True)
    assert result.exit_code == 70


@pytest.mark.parametrize("module", [
    # no dispatcher of the template's type
    closure_module(dispatch="something_else"),
    # dispatcher under the name of another type
    closure_module(dispatch="__irld_closure_dispatch_vi"),
    # template slot 0 is null, slot 9 is out of range, -1 is 0xffffffff
    closure_module(template=0),
    closure_module(template=9),
    closure_module(template=-1),
    # the table is at its maximum size
    closure_module(max="2"),
], ids=["no-dispatcher", "wrong-dispatcher-type", "null-template", "template-out-of-range",
        "negative-template", "table-at-maximum"])
@pytest.mark.parametrize("engine", ENGINES)
def test_growth_fails_cleanly_with_zero(module: bytes, engine: str) -> None:
    assert run_on(engine, module).exit_code == 3


def test_node_needs_the_typed_dispatcher_name() -> None:
    # JavaScript learns the closure type from the typed names only (docs/runtime.md)
    assert run_on("node", closure_module(dispatch="__irld_closure_dispatch")).exit_code == 3


@pytest.mark.parametrize("engine", ENGINES)
def test_growth_without_an_exported_table_returns_zero(engine: str) -> None:
    module = wat("""
     (import "irld" "closure_table_grow" (func $grow (param i32 i32) (result i32)))
     (func (export "_start") (call $proc_exit (i32.add (i32.const 3)
                                                       (call $grow (i32.const 1) (i32.const 0)))))""")
    assert run_on(engine, module).exit_code == 3


def test_trap_inside_a_closure_is_a_trap_of_the_program() -> None:
    module = wat(MODULE.format(dispatch="__irld_closure_dispatch_iii", template=1, max="")
                 .replace("(i32.store (i32.const 64) (i32.const 10))", ""))
    result = linker.host.run(module, ["c"], capture=True)
    assert result.exit_code == 134
    assert result.trap == "wasm trap: unreachable instruction executed"
    assert result.frames[0].name == "dispatch"


@pytest.mark.parametrize("engine", ENGINES)
def test_proc_exit_inside_a_closure_exits(engine: str) -> None:
    module = wat("""
     (import "irld" "closure_table_grow" (func $grow (param i32 i32) (result i32)))
     (type $vi (func (param i32)))
     (table (export "__indirect_function_table") 2 funcref)
     (elem (i32.const 1) $pool)
     (func $pool (type $vi) unreachable)
     (func (export "__irld_closure_dispatch_vi") (param $ctx i32) (param $x i32)
       (call $proc_exit (i32.add (local.get $ctx) (local.get $x))))
     (func (export "_start")
       (call_indirect (type $vi) (i32.const 5) (call $grow (i32.const 1) (i32.const 20)))
       unreachable)""")
    assert run_on(engine, module).exit_code == 25


@pytest.mark.parametrize("engine", ENGINES)
def test_i64_and_f64_closures(engine: str) -> None:
    module = wat("""
     (import "irld" "closure_table_grow" (func $grow (param i32 i32) (result i32)))
     (type $dj (func (param i64 f64) (result f64)))
     (table (export "__indirect_function_table") 2 funcref)
     (elem (i32.const 1) $pool)
     (func $pool (type $dj) unreachable)
     (func (export "__irld_closure_dispatch_djd") (param $ctx i32) (param $x i64) (param $y f64)
       (result f64)
       (f64.add (f64.convert_i64_s (local.get $x)) (f64.mul (local.get $y) (f64.convert_i32_s (local.get $ctx)))))
     (func (export "_start")
       (call $proc_exit (i32.trunc_f64_s
         (call_indirect (type $dj) (i64.const -9) (f64.const 2.5) (call $grow (i32.const 1) (i32.const 4))))))""")
    assert run_on(engine, module).exit_code == 1


def test_node_trap_inside_a_closure(node: str) -> None:
    module = wat(MODULE.format(dispatch="__irld_closure_dispatch_iii", template=1, max="")
                 .replace("(i32.store (i32.const 64) (i32.const 10))", ""))
    result = linker.host.run_node(module, ["c"])
    assert (result.exit_code, result.trap) == (134, "wasm trap: unreachable instruction executed")
    assert result.frames[0].name == "dispatch"
