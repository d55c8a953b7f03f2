"""Each LTO pass on a small program: what it changes in the IR (exact), and that the
program prints the same with and without it (interpreter on the optimized IR and
wasmtime, both tail-call modes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from linker.ir import model as ir
from lto_util import MIX, build, func, link, run_both, stmts

MAIN = MIX + """
extern func add3(i32) -> i32
extern func twice(i32) -> i32
extern func dupB(i32) -> i32
extern func loop(i32, i32) -> i32
extern func dupD(i32) -> i32
extern func dupE(i32) -> i32
global k: i32 = 7
global wo: i32 = 0
readonly data tab align 4 = { addr twice, addr dupB }

func main() -> i32 {
  local r: i32, p: i32, dead: i32, r2: i32
entry:
  r = call add3(k)
  call out(r)
  p = i32.load(@tab)
  r = call_indirect (i32) -> i32 [p](r)
  call out(r)
  r = call_indirect (i32) -> i32 [@dupA](r)
  call out(r)
  r = call dupB(r)
  call out(r)
  dead = i32.mul(r, 3)
  wo = r
  r = call loop(10, 1)
  call out(r)
  call out(i32.add(i32.mul(6, 7), k))
  r = call dupD(5)
  r2 = call dupE(6)
  call out(i32.add(r, r2))
  if i32.eq(@dupA, @dupC) then same else differ
same:
  return 1
differ:
  return 0
}

func dupA(x: i32) -> i32 {
entry:
  if i32.lt_s(x, 100) then small else big
small:
  return i32.add(x, 1000)
big:
  return i32.sub(x, 1)
}

func dupC(x: i32) -> i32 {
entry:
  if i32.lt_s(x, 100) then small else big
small:
  return i32.add(x, 1000)
big:
  return i32.sub(x, 1)
}
"""

LIB = """
func add3(x: i32) -> i32 {
entry:
  return i32.add(x, 3)
}

func twice(x: i32) -> i32 {
entry:
  return i32.mul(x, 2)
}

func dupB(x: i32) -> i32 {
entry:
  if i32.lt_s(x, 100) then small else big
small:
  return i32.add(x, 1000)
big:
  return i32.sub(x, 1)
}

func dupD(x: i32) -> i32 {
entry:
  if i32.lt_s(x, 100) then small else big
small:
  return i32.add(x, 1000)
big:
  return i32.sub(x, 1)
}

func loop(n: i32, acc: i32) -> i32 {
entry:
  if i32.eqz(n) then done else more
more:
  tail call loop(i32.sub(n, 1), i32.add(acc, n))
done:
  return acc
}

func dupE(y: i32) -> i32 {
entry:
  if i32.lt_s(y, 100) then lo else hi
lo:
  return i32.add(y, 1000)
hi:
  return i32.sub(y, 1)
}
"""

EXPECTED = b"".join(b"%010d\n" % v for v in (10, 20, 1020, 1019, 56, 49, 2011))


@pytest.fixture(scope="module")
def objs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    tmp: Path = tmp_path_factory.mktemp("lto")
    return build(tmp, {"main": "module m\n" + MAIN, "lib": "module lib\n" + LIB})


@pytest.mark.parametrize("mode", ["native", "trampoline"])
def test_same_output_with_and_without_lto(objs: list[str], mode: str) -> None:
    plain = run_both(link(objs, lto=False, mode=mode))
    assert plain == (EXPECTED, 0)
    assert run_both(link(objs, mode=mode)) == plain


def test_inlining_copies_small_callees_across_modules(objs: list[str]) -> None:
    r = link(objs, ["inlining"])
    main = func(r, "main")
    assert main is not None
    calls = [s.callee for s in stmts(main) if isinstance(s, ir.Call)]
    assert "add3" not in calls and "out" in calls
    assert r.lto is not None and r.lto.effects["add3"].inlined_into == ["main"]
    assert run_both(r) == (EXPECTED, 0)


def test_directize_follows_readonly_tables_and_constant_pointers(objs: list[str]) -> None:
    r = link(objs, ["precompute-propagate", "directize"])
    main = func(r, "main")
    assert main is not None
    assert not [s for s in stmts(main) if isinstance(s, ir.CallIndirect)]
    callees = [s.callee for s in stmts(main) if isinstance(s, ir.Call)]
    assert "twice" in callees and "dupA" in callees
    assert r.lto is not None and r.lto.effects["main"].devirtualized == 2
    assert run_both(r) == (EXPECTED, 0)


def test_constant_folding_uses_globals_never_written(objs: list[str]) -> None:
    r = link(objs, ["simplify-globals", "precompute-propagate"])
    main = func(r, "main")
    assert main is not None
    # out(i32.add(i32.mul(6, 7), k)) with k never written: out(49)
    assert ir.Call(None, "out", (ir.Const(ir.ValType.I32, 49),)) in stmts(main)
    # wo is never read: its store is gone, and the global with it after discovery
    assert not [s for s in stmts(main) if isinstance(s, ir.GlobalSet)]
    r2 = link(objs, ["simplify-globals", "precompute-propagate",
                     "remove-unused-module-elements"])
    assert r2.program is not None
    assert [g[0] for g in r2.program.globals] == []
    assert run_both(r2) == (EXPECTED, 0)


def test_safe_icf_keeps_address_taken_functions_apart(objs: list[str]) -> None:
    r = link(objs, ["duplicate-function-elimination", "remove-unused-module-elements"])
    assert r.lto is not None
    eff = {n: e.folded_into for n, e in r.lto.effects.items() if e.folded_into}
    # dupA, dupC (their addresses are compared) and dupB (in a table) keep their own
    # bodies; dupE (other names, same code) is folded into dupD and goes.
    assert eff == {"dupE": "dupD"}
    assert func(r, "dupE") is None and func(r, "dupB") is not None
    main = func(r, "main")
    assert main is not None
    assert [s.callee for s in stmts(main) if isinstance(s, ir.Call)].count("dupD") == 2
    assert run_both(r) == (EXPECTED, 0)          # and @dupA != @dupC still


def test_self_tail_call_becomes_a_loop(objs: list[str]) -> None:
    r = link(objs, ["tail-call-loop"], mode="trampoline")
    loop = func(r, "loop")
    assert loop is not None
    assert not [b for b in loop.blocks if isinstance(b.term, ir.TailCall)]
    assert r.lto is not None and r.lto.effects["loop"].self_tail_loops == 1
    assert run_both(r) == (EXPECTED, 0)


def test_dce_drops_dead_assignments_and_locals(objs: list[str]) -> None:
    r = link(objs, ["dce"])
    main = func(r, "main")
    assert main is not None
    assert "dead" not in {p.name for p in main.locals}
    assert run_both(r) == (EXPECTED, 0)


def test_second_discovery_drops_inlined_functions(objs: list[str]) -> None:
    r = link(objs)
    assert r.lto is not None
    assert func(r, "add3") is None and r.lto.effects["add3"].removed
    assert r.lto.funcs_after < r.lto.funcs_before
    plain = link(objs, lto=False)
    assert r.wasm is not None and plain.wasm is not None
    assert len(r.wasm) < len(plain.wasm)


ADDRESSES = MIX + """
data buf align 4 = { zero 8 }

func gone() {
entry:
  return
never:
  panic "an unreachable block's message"
}

func main() -> i32 {
entry:
  call gone()
  call out(@buf)
  call out(memory.size())
  return 0
}
"""


@pytest.mark.parametrize("mode", ["native", "trampoline"])
def test_dropped_panics_keep_every_address(tmp_path: Path, mode: str) -> None:
    """Found by the fuzzer (seed 43): dce dropped a block whose panic text was in the
    pool, the pool shrank and the data after it moved; a program that prints an
    address then printed another number.  LTO keeps the pool of the link without it."""
    objs = build(tmp_path, {"a": "module a\n" + ADDRESSES})
    plain = link(objs, lto=False, mode=mode)
    opt = link(objs, mode=mode)
    assert func(opt, "gone") is None or all(
        not isinstance(b.term, ir.Panic) for b in func(opt, "gone").blocks)  # type: ignore[union-attr]
    assert run_both(opt) == run_both(plain)


DAE = MIX + """
func scaled(x: i32, k: i32, unused: i32) -> i32 {
entry:
  return i32.mul(x, k)
}

// k passed on by the recursive call: still the constant 2
func sum(n: i32, k: i32) -> i32 {
entry:
  if i32.eqz(n) then done else more
more:
  tail call sum(i32.sub(n, 1), k)
done:
  return k
}

// k changes before the recursive call: it must stay a parameter
func down(n: i32, k: i32) -> i32 {
entry:
  if i32.eqz(n) then done else more
more:
  k = i32.add(k, n)
  tail call down(i32.sub(n, 1), k)
done:
  return k
}

// the unread argument may trap: it stays
func keeps(x: i32, t: i32) -> i32 {
entry:
  return x
}

func mid(a: i32) -> i32 {
entry:
  tail call scaled(a, 3, 9)
}

// every call drops the result
func noisy(x: i32) -> i32 {
entry:
  call out(x)
  return i32.add(x, 1)
}

// a dropped result that may trap is still computed
func trapret(x: i32) -> i32 {
entry:
  return i32.div_s(100, x)
}

func main() -> i32 {
  local r: i32
entry:
  r = call scaled(5, 3, 11)
  call out(r)
  r = call mid(7)
  call out(r)
  r = call sum(4, 2)
  call out(r)
  r = call down(4, 1)
  call out(r)
  call noisy(r)
  call trapret(r)
  r = call keeps(8, i32.div_s(1, 0))
  call out(r)
  return 0
}
"""


@pytest.mark.parametrize("mode", ["native", "trampoline"])
def test_dae_drops_unread_and_constant_parameters(tmp_path: Path, mode: str) -> None:
    objs = build(tmp_path, {"main": "module m\n" + DAE})
    plain = run_both(link(objs, lto=False, mode=mode))
    # the last call traps (division by zero) before it prints
    assert plain == (b"0000000015\n0000000021\n0000000002\n0000000011\n0000000011\n", 134)
    r = link(objs, ["dae"], mode=mode)
    assert run_both(r) == plain
    params = {n: [p.name for p in f.params] for n in ("scaled", "sum", "down", "keeps", "mid")
              if (f := func(r, n)) is not None}
    assert params == {"scaled": ["x"], "sum": ["n"], "down": ["n", "k"], "keeps": ["t"],
                      "mid": []}
    assert r.program is not None
    types = {lf.symbol: lf.type for lf in r.program.funcs}
    assert types["scaled"].params == (ir.ValType.I32,)
    assert types["noisy"].result is None and types["trapret"].result is None
    assert types["scaled"].result is not None       # mid's tail call returns it
    trapret = func(r, "trapret")
    assert trapret is not None
    assert [s.local for b in trapret.blocks for s in b.stmts
            if isinstance(s, ir.Assign)] == ["dae$result"]
    # the report says what dae did to each function (JSON and `irld top`'s line)
    assert r.lto is not None
    effects = r.lto.effects
    assert effects["scaled"].to_json()["dropped_params"] == ["k", "unused"]
    assert effects["noisy"].to_json()["dropped_result"] is True
    assert "result removed" in effects["trapret"].summary
    assert "dropped_params" not in effects["main"].to_json()


CANON = """
func main() -> i32 {
  local a: i32, b: i64
entry:
  a = i32.load(@cells)
  b = i64.load(@cells, offset=8)
  if i32.lt_u(5, a) then big else small
big:
  call out(i32.add(1, i32.mul(3, a)))
  call out(i32.wrap_i64(i64.shr_u(i64.sub(9, b), 1)))
  call out(i32.ge_s(-1, a))
  return 0
small:
  call out(i32.and(255, i32.sub(2, a)))
  return 1
}
data cells align 8 = { i32 7, zero 4, i64 3 }
"""


def test_precompute_puts_constants_right(tmp_path: Path) -> None:
    """`c op x` becomes `x op' c` for commutative integer ops (and mirrored
    comparisons); non-commutative ops keep their order."""
    objs = build(tmp_path, {"main": "module m\n" + MIX + CANON})
    plain = run_both(link(objs, lto=False))
    assert plain == (b"0000000022\n0000000003\n0000000000\n", 0)
    r = link(objs, ["precompute-propagate"])
    assert run_both(r) == plain
    main = func(r, "main")
    assert main is not None
    i32 = ir.ValType.I32
    a = ir.LocalGet("a")
    assert main.blocks[0].term.cond == ir.OpExpr("i32.gt_u", (a, ir.Const(i32, 5)))
    args = [s.args[0] for s in stmts(main) if isinstance(s, ir.Call)]
    assert args[0] == ir.OpExpr("i32.add", (ir.OpExpr("i32.mul", (a, ir.Const(i32, 3))),
                                            ir.Const(i32, 1)))
    assert isinstance(args[1], ir.OpExpr) and args[1].args[0].args[0].args[0] == ir.Const(
        ir.ValType.I64, 9)
    assert args[2] == ir.OpExpr("i32.le_s", (a, ir.Const(i32, -1)))
    assert args[3] == ir.OpExpr("i32.and", (ir.OpExpr("i32.sub", (ir.Const(i32, 2), a)),
                                            ir.Const(i32, 255)))


TAILS = """
func twice(v: i32) -> i32 {
entry:
  return i32.mul(v, 2)
}

func fwd(v: i32) -> i32 {
entry:
  if i32.lt_u(v, 100) then small else big
small:
  tail call twice(i32.add(v, 1))
big:
  return v
}

func count(n: i32, acc: i32) -> i32 {
entry:
  if i32.eqz(n) then done else more
more:
  tail call count(i32.sub(n, 1), i32.add(acc, 1))
done:
  return acc
}

func main() -> i32 {
  local i: i32, r: i32
entry:
  jump head
head:
  r = call fwd(i)
  call out(r)
  i = i32.add(i, 60)
  if i32.lt_u(i, 180) then head else last
last:
  r = call count(100000, 7)
  call out(r)
  return 0
}
"""


@pytest.mark.parametrize("mode", ["native", "trampoline"])
def test_callee_with_tail_calls_inlines_at_a_plain_call(tmp_path: Path, mode: str) -> None:
    """A copy's tail call at a plain call site becomes a plain call whose result is
    the site's: the stack is as deep as before (a long self tail call chain, now
    called from main directly, still runs)."""
    objs = build(tmp_path, {"main": "module m\n" + MIX + TAILS})
    plain = run_both(link(objs, lto=False, mode=mode))
    assert plain == (b"0000000002\n0000000122\n0000000120\n0000100007\n", 0)
    r = link(objs, ["inlining"], mode=mode)
    assert run_both(r) == plain
    main = func(r, "main")
    assert main is not None
    calls = {s.callee for s in stmts(main) if isinstance(s, ir.Call)}
    assert "fwd" not in calls and "twice" not in calls
    assert r.lto is not None and r.lto.effects["fwd"].inlined_into == ["main"]


IN_PLACE = """
data cell align 4 = { i32 41 }

func bump(p: i32) {
entry:
  i32.store(p, i32.add(i32.load(p), 1))
  return
}

func main() -> i32 {
  local old: i32, q: i32, z: i32
entry:
  old = i32.load(@cell)
  call bump(@cell)
  call out(i32.add(old, 100))
  old = i32.load(@cell)
  i32.store(@cell, 7)
  call out(i32.sub(old, i32.load(@cell)))
  q = i32.div_u(old, z)
  call out(1)
  call out(q)
  return 0
}
"""


@pytest.mark.parametrize("mode", ["native", "trampoline"])
def test_values_evaluated_in_place_keep_their_order(tmp_path: Path, mode: str) -> None:
    """A load before a store that changes what it loads, and a division that
    traps before the call after it, are evaluated where they stand; their values
    wait on the stack (code generation, every link)."""
    objs = build(tmp_path, {"main": "module m\n" + MIX + IN_PLACE})
    expected = (b"0000000141\n0000000035\n", 134)   # q's division traps before out(1)
    assert run_both(link(objs, lto=False, mode=mode)) == expected
    assert run_both(link(objs, mode=mode)) == expected
