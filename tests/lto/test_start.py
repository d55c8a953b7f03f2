"""`_start` as an IR function under --lto (`linker.lto.start`): the entry and the ctors
it alone calls are inlined into it, in every mode, with every start-up duty kept
(ctor order by priority, the exit status, pending tail calls), and the zero resets
an inlined copy brings go where the copy runs once (`linker.lto.dce`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import linker
from linker.cli.main import main
from linker.ir import model as ir
from linker.lto.dce import redundant_consts
from linker.lto.inlining import in_cycle
import linker.host
from linker.interp import run_program
from tests.lto.lto_util import MIX, build, link, run_both, stmts

MODES = ("native", "trampoline")

CTORS = "module m\n" + MIX + """
data log align 4 = { zero 4 }

// Each ctor appends its digit: the order shows in the number main prints.
func late() {
entry:
  i32.store(@log, i32.add(i32.mul(i32.load(@log), 10), 3))
  return
}
func early() {
entry:
  i32.store(@log, i32.add(i32.mul(i32.load(@log), 10), 1))
  return
}
func middle() {
entry:
  i32.store(@log, i32.add(i32.mul(i32.load(@log), 10), 2))
  return
}
ctor late priority 300
ctor early priority 100
ctor middle priority 200

func main() -> i32 {
  local i: i32, acc: i32
entry:
  call out(i32.load(@log))
  jump loop
loop:
  acc = i32.add(acc, i)
  i = i32.add(i, 1)
  if i32.lt_u(i, 5) then loop else done
done:
  return i32.add(acc, 7)
}
"""


@pytest.mark.parametrize("mode", MODES)
def test_main_and_ctors_are_inlined_into_start(tmp_path: Path, mode: str) -> None:
    paths = build(tmp_path, {"m": CTORS})
    plain = link(paths, lto=False, mode=mode)
    res = link(paths, mode=mode)
    assert res.program is not None and res.program.start is not None
    assert run_both(res) == run_both(plain) == (b"0000000123\n", 17)
    live = {lf.symbol for lf in res.program.funcs}
    assert not live & {"main", "early", "middle", "late"}
    assert res.wasm is not None and plain.wasm is not None
    assert len(res.wasm) < len(plain.wasm)


def test_report_says_inlined_into_start(tmp_path: Path) -> None:
    paths = build(tmp_path, {"m": CTORS})
    report = tmp_path / "r.json"
    assert main(["link", *paths, "-o", str(tmp_path / "p.wasm"), "--lto",
                 "--report", str(report)]) == 0
    live = {e["name"]: e for e in json.loads(report.read_text())["live"]}
    assert live["main"]["lto"]["inlined_into"] == ["_start"]
    assert live["main"]["lto"]["removed"] is True
    assert live["early"]["lto"]["summary"].startswith("inlined into _start")
    start = live["_start"]
    assert start["reason"]["kind"] == "export"
    assert ["__irld_proc_exit", "call"] in start["refs"]


TAIL = "module m\n" + MIX + """
func count(n: i32, acc: i32) -> i32 {
entry:
  if i32.eqz(n) then done else more
more:
  tail call count(i32.sub(n, 1), i32.add(acc, n))
done:
  return acc
}
func main() -> i32 {
entry:
  tail call count(10, 0)
}
"""


@pytest.mark.parametrize("mode", MODES)
def test_a_main_that_tail_calls_keeps_its_pending_calls_finished(tmp_path: Path,
                                                                  mode: str) -> None:
    """`_start` calls main with a plain call: a main with tail calls stays a function
    (tail calls stay tail calls), and in trampoline mode `_start` finishes the chain
    it leaves pending."""
    res = link(build(tmp_path, {"m": TAIL}), mode=mode)
    assert res.program is not None and res.program.start is not None
    assert run_both(res) == (b"", 55)


def test_instrument_keeps_the_writers_start(tmp_path: Path) -> None:
    """--instrument reports the entry as a function of its own."""
    res = linker.link(build(tmp_path, {"m": CTORS}), lto=True, instrument=True)
    assert res.program is not None and res.program.start is None
    assert "main" in {lf.symbol for lf in res.program.funcs}


def test_exported_main_stays(tmp_path: Path) -> None:
    """An entry something else keeps (here an export) is copied into `_start`, not moved."""
    src = CTORS.replace("func main() -> i32", 'export "go" func main() -> i32')
    res = link(build(tmp_path, {"m": src}))
    assert res.program is not None and "main" in {lf.symbol for lf in res.program.funcs}
    assert run_both(res) == (b"0000000123\n", 17)


ZEROS = "module m\n" + MIX + """
// `c` is read before written on the even path: an inlined copy resets it to zero.
func first(x: i32) -> i32 {
  local c: i32
entry:
  if i32.and(x, 1) then odd else even
odd:
  c = 6
  jump even
even:
  return i32.add(c, x)
}
func pick(x: i32) -> i32 {
  local c: i32
entry:
  if i32.and(x, 1) then odd else even
odd:
  c = 5
  jump even
even:
  return i32.add(c, x)
}
func main() -> i32 {
  local k: i32, t: i32
entry:
  t = call first(3)
  call out(t)
  jump again
again:
  t = call pick(k)
  call out(t)
  k = i32.add(k, 1)
  if i32.lt_u(k, 3) then again else stop
stop:
  return 0
}
"""


@pytest.mark.parametrize("mode", MODES)
def test_zero_resets_go_only_where_the_copy_runs_once(tmp_path: Path, mode: str) -> None:
    """`first` and `pick` are inlined: `first`'s copy runs once, and its reset of `c`
    goes; `pick`'s is in a loop and stays, or k = 2 would see the 5 of k = 1."""
    res = link(build(tmp_path, {"m": ZEROS}), mode=mode)
    assert run_both(res) == (b"0000000009\n0000000000\n0000000006\n0000000002\n", 0)
    assert res.program is not None and res.program.start is not None
    assert {lf.symbol for lf in res.program.funcs} == {"out"}
    zeros = [s for s in stmts(res.program.start) if isinstance(s, ir.Assign)
             and isinstance(s.value, ir.Const) and s.value.value == 0]
    assert len(zeros) == 1


def _func(blocks: list[ir.BasicBlock], locals_: tuple[str, ...] = ("x",)) -> ir.Func:
    return ir.Func("f", (), None, tuple(ir.Param(n, ir.ValType.I32) for n in locals_),
                   tuple(blocks))


def _set(local: str, v: int | float, t: ir.ValType = ir.ValType.I32) -> ir.Assign:
    return ir.Assign(local, ir.Const(t, v))


def test_redundant_consts_keeps_what_a_path_may_have_changed() -> None:
    use = ir.Call(None, "g", (ir.LocalGet("x"),))
    f = _func([
        ir.BasicBlock("a", (_set("x", 0), use, _set("x", 5), _set("x", 5)),
                      ir.Branch(ir.LocalGet("x"), "b", "c")),
        ir.BasicBlock("b", (_set("x", 7),), ir.Jump("c")),
        ir.BasicBlock("c", (_set("x", 5), use), ir.Return()),
    ])
    out = redundant_consts(f)
    # The entry zero and the second 5 go; c's 5 stays (b set 7 on one path).
    assert [list(b.stmts) for b in out.blocks] == [
        [use, _set("x", 5)], [_set("x", 7)], [_set("x", 5), use]]


def test_redundant_consts_in_a_loop_and_by_bits() -> None:
    use = ir.Call(None, "g", (ir.LocalGet("x"),))
    f = _func([
        ir.BasicBlock("a", (), ir.Jump("l")),
        ir.BasicBlock("l", (_set("x", 0), use, _set("x", 1), _set("y", -0.0, ir.ValType.F64),
                            _set("z", 0xFFFFFFFF), _set("z", -1)),
                      ir.Branch(ir.LocalGet("x"), "l", "e")),
        ir.BasicBlock("e", (), ir.Return()),
    ], ("x", "z"))
    f = ir.Func("f", (), None, (*f.locals, ir.Param("y", ir.ValType.F64)), f.blocks)
    out = redundant_consts(f)
    # x = 0 stays (the loop comes back with 1); -0.0 is not the zero a local starts with;
    # -1 is the i32 0xffffffff.
    assert list(out.blocks[1].stmts) == [_set("x", 0), use, _set("x", 1),
                                         _set("y", -0.0, ir.ValType.F64), _set("z", 0xFFFFFFFF)]


def test_in_cycle() -> None:
    blocks = [ir.BasicBlock("a", (), ir.Jump("b")),
              ir.BasicBlock("b", (), ir.Branch(ir.Const(ir.ValType.I32, 1), "c", "d")),
              ir.BasicBlock("c", (), ir.Jump("b")),
              ir.BasicBlock("d", (), ir.Return())]
    assert [in_cycle(blocks, b) for b in blocks] == [False, True, True, False]


PANICS = "module m\n" + MIX + """
func check(v: i32) -> i32 {
entry:
  if i32.gt_u(v, 10) then bad else ok
ok:
  return i32.mul(v, 2)
bad:
  panic "too big"
}
func main() -> i32 {
  local r: i32
entry:
  call out(8)
  r = call check(40)
  call out(r)
  return 0
}
"""


@pytest.mark.parametrize("mode", MODES)
def test_an_inlined_panic_still_names_its_function(tmp_path: Path, mode: str) -> None:
    """`check` is inlined (into main, then `_start`): its panic still says `check`."""
    res = link(build(tmp_path, {"m": PANICS}), mode=mode)
    assert res.program is not None and res.program.start is not None
    assert "check" not in {lf.symbol for lf in res.program.funcs}
    assert res.wasm is not None
    got = linker.host.run(res.wasm, ["prog"], capture=True)
    assert got.stdout == b"0000000008\n"
    assert got.stderr.startswith(b"panic in check: too big\n")
    assert run_both(res)[0] == b"0000000008\n"
    assert run_program(res, ["prog"]).stderr.startswith(b"panic in check: too big\n")
