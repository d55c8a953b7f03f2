"""The FFI under --lto, constant arguments, and round 6's folds (issue 17).

Under --lto the call handlers are branches of `ffi_call`, `__irld_ffi_alloca` is
expanded where used, the FFI stack's lower bound is a constant, and the constant
arguments of `ffi_closure_alloc` move into it (docs/ffi.md, "Under LTO").  Every
program prints the same with and without --lto, on wasmtime and Node, in both
tail-call modes; the report still adds up."""

from __future__ import annotations

from pathlib import Path

import pytest

import linker
import linker.host
from linker.ir import model as ir
from linker.ir.parser import parse_module
from linker.ir.types import FuncType, ValType
from linker.layout import LTO_ZERO_GAP, segments_of_chunks
from linker.lto.precompute import local_folds
from linker.lto.whole import Whole
from lto_util import MIX, build, run_both

ROOT = Path(__file__).resolve().parents[2]
STDLIB = ROOT / "build" / "stdlib.a"
I32 = ValType.I32


def example(tmp: Path, name: str) -> list[str]:
    return [*linker.compile_files(sorted((ROOT / "examples" / name).glob("*.ir")), tmp),
            str(STDLIB)]


@pytest.mark.parametrize("mode", ["native", "trampoline"])
@pytest.mark.parametrize("name", ["interp", "callbacks"])
def test_ffi_examples_print_the_same_under_lto(tmp_path: Path, name: str, mode: str) -> None:
    objs = example(tmp_path, name)
    expected = (ROOT / "examples" / name / "expected.out").read_bytes()
    plain = linker.link(objs, tail_calls=mode)
    lto = linker.link(objs, tail_calls=mode, lto=True)
    assert plain.wasm is not None and lto.wasm is not None
    assert len(lto.wasm) < len(plain.wasm)
    for wasm in (plain.wasm, lto.wasm):
        assert linker.host.run(wasm, [name], capture=True).stdout == expected
        assert linker.host.run_node(wasm, [name], capture=True).stdout == expected


def test_handlers_are_branches_of_ffi_call_and_the_report_adds_up(tmp_path: Path) -> None:
    objs = example(tmp_path, "interp")
    plain = linker.link(objs).ffi
    lto = linker.link(objs, lto=True).ffi
    assert plain is not None and lto is not None
    assert plain.handlers_in is None and "handlers_in" not in plain.to_json()
    assert lto.handlers_in == "ffi_call" and lto.to_json()["handlers_in"] == "ffi_call"
    assert all(s.handler_bytes > 0 for s in lto.sigs)
    # ffi_call and no handler functions: seven fewer functions, and fewer bytes
    assert lto.functions == plain.functions - len(plain.sigs)
    assert lto.total_bytes < plain.total_bytes
    for r in (plain, lto):
        assert r.total_bytes == (r.runtime_bytes + r.adapter_bytes + r.handler_bytes
                                 + r.pool_bytes + r.data_bytes + r.import_bytes)


def test_alloca_and_the_stack_bound_are_inlined_under_lto(tmp_path: Path) -> None:
    objs = example(tmp_path, "callbacks")
    plain, lto = linker.link(objs).wasm, linker.link(objs, lto=True).wasm
    assert plain is not None and lto is not None       # names in the name section
    assert b"__irld_ffi_alloca" in plain and b"__irld_ffi_alloca" not in lto
    assert b"__irld_ffi_lo" in plain and b"__irld_ffi_lo" not in lto
    assert b"ffi_closure_alloc" in lto


CLOSURES = """
extern func ffi_closure_alloc(i32, i32, i32) -> i32
extern func ffi_closure_free(i32)
extern func out(i32)
csig s_one = sint32(sint32)
csig s_two = sint32(sint32, sint32)
data box align 4 = { zero 4 }

func handler(sg: i32, ret: i32, args: i32, ud: i32) {
entry:
  i32.store(ret, i32.add(i32.load(i32.load(args)), ud))
  return
}

func make(s: i32, u: i32) -> i32 {
  local c: i32
entry:
  c = call ffi_closure_alloc(s, @handler, u)
  return c
}

func main() -> i32 {
  local c: i32, d: i32, e: i32, r: i32
entry:
  c = call ffi_closure_alloc(sig s_one, @handler, 5)
  d = call ffi_closure_alloc(sig s_one, @handler, 7)
  r = call_indirect (i32) -> i32 [c](10)
  call out(r)
  r = call_indirect (i32) -> i32 [d](10)
  call out(r)
  call ffi_closure_free(c)
  e = call ffi_closure_alloc(sig s_one, @handler, 9)
  r = call_indirect (i32) -> i32 [e](1)
  call out(r)
  call out(i32.eq(c, e))
  return 0
}
"""


def _closure_program(tmp: Path, main: str) -> list[str]:
    return build(tmp, {"mix": "module t.mix\n" + MIX, "main": "module t.main\n" + main})


@pytest.mark.parametrize("mode", ["native", "trampoline"])
def test_constant_closure_arguments_move_into_ffi_closure_alloc(tmp_path: Path,
                                                                mode: str) -> None:
    objs = _closure_program(tmp_path, CLOSURES.replace("func make", "private func make"))
    plain = linker.link(objs, tail_calls=mode)
    lto = linker.link(objs, tail_calls=mode, lto=True)
    assert plain.wasm is not None and lto.wasm is not None
    want = linker.host.run(plain.wasm, ["p"], capture=True).stdout
    assert linker.host.run(lto.wasm, ["p"], capture=True).stdout == want
    assert linker.host.run_node(lto.wasm, ["p"], capture=True).stdout == want
    # the interpreter runs the optimized IR, whose calls pass one argument
    assert run_both(lto) == run_both(plain) == (want, 0)
    assert lto.lto is not None
    assert lto.lto.effects["ffi_closure_alloc"].dropped_params == ["sig", "fun"]
    assert lto.program is not None and lto.program.ffi is not None
    assert lto.program.ffi.lto is not None and lto.program.ffi.lto.alloc_sig == 1


def test_a_second_signature_keeps_the_test(tmp_path: Path) -> None:
    main = CLOSURES.replace("call out(i32.eq(c, e))",
                            "call out(i32.eq(c, e))\n"
                            "  r = call ffi_closure_alloc(sig s_two, @handler, 1)\n"
                            "  call out(r)\n"
                            "  r = call make(0, 1)\n"
                            "  call out(r)")
    objs = _closure_program(tmp_path, main)
    plain = linker.link(objs)
    lto = linker.link(objs, lto=True)
    assert plain.wasm is not None and lto.wasm is not None
    assert lto.program is not None and lto.program.ffi is not None
    assert lto.program.ffi.lto is not None and lto.program.ffi.lto.alloc_sig is None
    want = linker.host.run(plain.wasm, ["p"], capture=True).stdout
    assert linker.host.run(lto.wasm, ["p"], capture=True).stdout == want
    assert want.count(b"\n") == 6


def test_an_address_taken_ffi_closure_alloc_keeps_its_parameters(tmp_path: Path) -> None:
    main = CLOSURES.replace(
        "call out(i32.eq(c, e))",
        "call out(i32.eq(c, e))\n"
        "  r = call_indirect (i32, i32, i32) -> i32 [@ffi_closure_alloc](sig s_one,"
        " @handler, 3)\n"
        "  call out(r)")
    objs = _closure_program(tmp_path, main)
    lto = linker.link(objs, lto=True)
    assert lto.lto is not None and "ffi_closure_alloc" not in lto.lto.effects
    assert lto.program is not None and lto.program.ffi is not None
    assert lto.program.ffi.lto is not None and lto.program.ffi.lto.alloc_args == ()
    plain = linker.link(objs)
    assert plain.wasm is not None and lto.wasm is not None
    assert (linker.host.run(lto.wasm, ["p"], capture=True).stdout
            == linker.host.run(plain.wasm, ["p"], capture=True).stdout)


# ---------------------------------------------------------------- Whole.constant_args

CALLS = """
module t.c
func g(a: i32, b: i32, c: i32) -> i32 {
entry:
  return i32.add(a, i32.add(b, c))
}
func h(x: i32) -> i32 {
entry:
  x = call g(1, x, 3)
  tail call g(1, 2, 3)
}
func k() -> i32 {
  local r: i32
entry:
  r = call g(1, @k, 4)
  return r
}
"""


def _whole(text: str, pinned: set[str] = set(), taken: set[str] = set()) -> Whole:
    funcs = {f.name: f for f in parse_module(text, "t.ir").items if isinstance(f, ir.Func)}
    types = {n: FuncType(tuple(p.type for p in f.params), f.result) for n, f in funcs.items()}
    return Whole(funcs, types, set(pinned), set(taken), {}, {})


def test_constant_args_are_the_arguments_every_call_passes() -> None:
    args = _whole(CALLS).constant_args("g")
    assert args == (ir.Const(I32, 1), None, None)


def test_no_constant_args_for_a_function_out_of_sight() -> None:
    assert _whole(CALLS, taken={"g"}).constant_args("g") is None
    assert _whole(CALLS, pinned={"g"}).constant_args("g") is None
    assert _whole(CALLS, pinned={"g2"}).constant_args("g", ("g2",)) is None
    assert _whole(CALLS).constant_args("nobody") is None
    # `@k` in k's own body: a call through the address would be out of sight
    assert _whole(CALLS.replace("r = call g(1, @k, 4)", "r = call g(1, 2, 3)")
                  + "func m() -> i32 {\nentry:\n  return @g\n}\n").constant_args("g") is None


def test_symbol_arguments_are_link_time_constants() -> None:
    text = CALLS.replace("x = call g(1, x, 3)", "x = call g(1, @k, 4)").replace(
        "tail call g(1, 2, 3)", "tail call g(1, @k, 4)")
    assert _whole(text).constant_args("g") == (ir.Const(I32, 1), ir.SymRef("k"),
                                               ir.Const(I32, 4))


# ---------------------------------------------------------------- precompute's local folds

def _func(body: str) -> ir.Func:
    f = parse_module("module t.f\n" + body, "t.ir").items[0]
    assert isinstance(f, ir.Func)
    return f


def test_entry_reads_of_zero_initialised_locals_fold() -> None:
    f = _func("""func f(p: i32) -> i32 {
  local a: i32, b: f64
entry:
  a = i32.add(a, p)
  return a
}""")
    new = local_folds(f)
    first = new.blocks[0].stmts[0]
    assert isinstance(first, ir.Assign)
    assert first.value == ir.OpExpr("i32.add", (ir.Const(I32, 0), ir.LocalGet("p")))
    # the read after the write is not the zero
    assert new.blocks[0].term == ir.Return(ir.LocalGet("a"))


def test_no_entry_zeros_when_the_entry_is_a_loop_head() -> None:
    f = _func("""func f(p: i32) -> i32 {
  local a: i32
entry:
  a = i32.add(a, 1)
  if i32.lt_s(a, p) then entry else done
done:
  return a
}""")
    assert local_folds(f) is f


def test_block_local_small_constants_fold() -> None:
    f = _func("""func f(p: i32) -> i32 {
  local a: i32
entry:
  p = i32.add(p, 1)
  jump next
next:
  a = 5
  i32.store(p, a)
  a = p
  i32.store(p, a)
  a = 1000
  return a
}""")
    new = local_folds(f)
    s = new.blocks[1].stmts
    assert isinstance(s[1], ir.Store) and s[1].value == ir.Const(I32, 5)
    assert isinstance(s[3], ir.Store) and s[3].value == ir.LocalGet("a")
    # 1000 is wider than `local.get`: not substituted
    assert new.blocks[1].term == ir.Return(ir.LocalGet("a"))


# ---------------------------------------------------------------- data segments

def test_lto_cuts_data_at_short_zero_runs() -> None:
    chunks = [(1024, b"\x01" + bytes(LTO_ZERO_GAP) + b"\x02" + bytes(LTO_ZERO_GAP - 1) + b"\x03")]
    assert segments_of_chunks(chunks) == [(1024, chunks[0][1])]
    assert segments_of_chunks(chunks, LTO_ZERO_GAP) == [
        (1024, b"\x01"), (1025 + LTO_ZERO_GAP, b"\x02" + bytes(LTO_ZERO_GAP - 1) + b"\x03")]


def test_lto_output_has_more_segments_and_the_same_memory(tmp_path: Path) -> None:
    objs = build(tmp_path, {"m": """module t.m
extern func out(i32)
data a align 4 = { i32 1, zero 8, i32 2, zero 40, i32 3 }
func main() -> i32 {
entry:
  call out(i32.load(@a))
  call out(i32.load(@a+12))
  call out(i32.load(@a+56))
  call out(i32.load(@a+8))
  return 0
}
""", "mix": "module t.mix\n" + MIX})
    plain, lto = linker.link(objs), linker.link(objs, lto=True, lto_passes=("dce",))
    assert plain.emitted is not None and lto.emitted is not None
    # runs of 8 zeros (in `a`, and in MIX's `iov`) are cut under --lto only
    assert (1036, 1) in lto.emitted.data_segments
    assert len(lto.emitted.data_segments) > len(plain.emitted.data_segments)
    assert run_both(plain) == run_both(lto)
