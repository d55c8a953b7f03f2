"""Code generation's local stackifying and structure cleanups (linker/codegen.py).

Each test compiles one IR function with a stand-in resolver and checks the
instruction mnemonics: what must go on the stack, and what must stay in a
local because moving it would change what the program does (a trap before a
store, a value read in a loop, a call's result under other operands).  The
end-to-end behaviour is covered by the differential fuzzer and the examples.
"""

from __future__ import annotations

from collections.abc import Mapping

from linker.codegen import FuncContext, TailCallMode, compile_function
from linker.ir import model as ir
from linker.ir.parser import parse_module
from linker.ir.types import FuncType, ValType
from linker.wasm.instr import decode_body

PRELUDE = """module t
extern func f(i32) -> i32
extern func g() -> i32
extern func use2(i32, i32)
extern func use3(i32, i32, i32)
"""


class _Resolver:
    def __init__(self, m: ir.Module) -> None:
        self.funcs: dict[str, FuncType] = {}
        for item in m.items:
            if isinstance(item, ir.Func):
                self.funcs[item.name] = FuncType(tuple(p.type for p in item.params),
                                                 item.result)
            elif isinstance(item, ir.ExternFunc):
                self.funcs[item.name] = item.type

    @property
    def func_types(self) -> Mapping[str, FuncType]:
        return self.funcs

    @property
    def global_types(self) -> Mapping[str, ValType]:
        return {}

    def func_index(self, symbol: str) -> int:
        return sorted(self.funcs).index(symbol)

    def symref(self, symbol: str, offset: int) -> int:
        return 1024 + offset

    def global_index(self, symbol: str) -> int:
        return 0

    def type_index(self, ft: FuncType) -> int:
        return 0

    def panic_call(self, function: str, message: str) -> tuple[int, int, int, int, int]:
        return (0, 0, 0, 0, 0)


def gen(body: str, name: str = "h",
        mode: TailCallMode = TailCallMode.NATIVE) -> tuple[list[ValType], list[str]]:
    """The locals and the instruction mnemonics (with local indices) of `name`."""
    m = parse_module(PRELUDE + body, "t.ir")
    f = next(i for i in m.items if isinstance(i, ir.Func) and i.name == name)
    locals_, code = compile_function(f, FuncContext(_Resolver(m), {}, mode))
    out = []
    for op, imms in decode_body(code):
        out.append(f"{op} {imms[0]}" if op.startswith("local.") else op)
    return locals_, out


def test_single_use_value_goes_straight_to_its_read() -> None:
    locals_, code = gen("""
func h(a: i32) -> i32 {
  local x: i32
entry:
  x = i32.add(a, 1)
  return i32.mul(x, 2)
}""")
    assert locals_ == []
    assert code == ["local.get 0", "i32.const", "i32.add", "i32.const", "i32.mul"]


def test_value_read_again_is_teed() -> None:
    locals_, code = gen("""
func h(a: i32) -> i32 {
  local x: i32
entry:
  x = i32.add(a, 1)
  call use2(x, x)
  return x
}""")
    # x takes the slot of `a`, dead once x is computed (linker.coalesce)
    assert locals_ == []
    assert code[:5] == ["local.get 0", "i32.const", "i32.add", "local.tee 0", "local.get 0"]


def test_call_result_stays_on_the_stack() -> None:
    locals_, code = gen("""
func h(a: i32) -> i32 {
  local x: i32
entry:
  x = call f(a)
  return i32.add(x, a)
}""")
    assert locals_ == []
    assert code == ["local.get 0", "call", "local.get 0", "i32.add"]


def test_constants_before_a_call_result_go_before_the_call() -> None:
    locals_, code = gen("""
func h(a: i32) {
  local x: i32
entry:
  x = call f(a)
  call use3(7, 8, x)
  return
}""")
    assert locals_ == []
    assert code == ["i32.const", "i32.const", "local.get 0", "call", "call"]


def test_constants_before_a_call_result_go_before_it_once_in_a_tail_call() -> None:
    # The tail call (a terminator) skips the constants emitted before the call.  Compiled
    # with mypyc, `args[self.take_hoisted():]` called `take_hoisted` twice and pushed
    # them again: invalid wasm (e536972).
    locals_, code = gen("""
extern func use3r(i32, i32, i32) -> i32
func h(a: i32) -> i32 {
  local x: i32
entry:
  x = call f(a)
  tail call use3r(7, 8, x)
}""")
    assert locals_ == []
    assert code == ["i32.const", "i32.const", "local.get 0", "call", "return_call"]
    _, code = gen("""
func h(a: i32, p: i32) -> i32 {
  local x: i32
entry:
  x = call f(a)
  tail call_indirect (i32, i32, i32) -> i32 [p](7, 8, x)
}""")
    assert code == ["i32.const", "i32.const", "local.get 0", "call", "local.get 1",
                    "return_call_indirect"]


def test_call_result_under_a_local_read_stays_in_a_local() -> None:
    # `a` is read before x: x's value cannot be under it on the stack.
    locals_, code = gen("""
func h(a: i32) {
  local x: i32
entry:
  x = call g()
  call use2(a, x)
  return
}""")
    assert locals_ == [ValType.I32]
    assert code == ["call", "local.set 1", "local.get 0", "local.get 1", "call"]


def test_call_results_read_in_push_order_stay_on_the_stack() -> None:
    # fib's `a = f(); b = f(); return a + b`: b's result goes over a's.
    locals_, code = gen("""
func h(a: i32) -> i32 {
  local x: i32, y: i32
entry:
  x = call f(a)
  y = call g()
  return i32.add(x, y)
}""")
    assert locals_ == []
    assert code == ["local.get 0", "call", "call", "i32.add"]


def test_call_result_over_a_result_an_op_reads_first_stays_in_a_local() -> None:
    # std.args's `or(eqz(ptrs), eqz(buf))`: eqz runs on x before y is read,
    # so y cannot be on the stack above x.
    locals_, code = gen("""
func h(a: i32) -> i32 {
  local x: i32, y: i32
entry:
  x = call f(a)
  y = call g()
  return i32.or(i32.eqz(x), i32.eqz(y))
}""")
    assert locals_ == [ValType.I32]
    assert code == ["local.get 0", "call", "call", "local.set 1", "i32.eqz",
                    "local.get 1", "i32.eqz", "i32.or"]


def test_call_results_read_out_of_push_order_stay_in_a_local() -> None:
    locals_, code = gen("""
func h(a: i32) {
  local x: i32, y: i32
entry:
  x = call f(a)
  y = call g()
  call use2(y, x)
  return
}""")
    assert locals_ == []        # x in the dead parameter's slot
    assert code == ["local.get 0", "call", "local.set 0", "call", "local.get 0", "call"]


def test_pure_value_moves_past_pure_operands_only() -> None:
    # x = a + 1 may move past the read of `b` (nothing can trap there) ...
    _, code = gen("""
func h(a: i32, b: i32) {
  local x: i32
entry:
  x = i32.add(a, 1)
  call use2(b, x)
  return
}""")
    assert "local.set 2" not in code
    # ... but a load that may trap must not move past a division that may trap:
    # which trap happens first is observable.
    locals_, code = gen("""
func h(a: i32, b: i32) {
  local x: i32
entry:
  x = i32.load(a)
  call use2(i32.div_s(b, a), x)
  return
}""")
    assert locals_ == [ValType.I32]
    assert code[:3] == ["local.get 0", "i32.load", "local.set 2"]


def test_value_does_not_cross_into_the_next_block_or_past_a_store() -> None:
    locals_, code = gen("""
func h(a: i32) -> i32 {
  local x: i32
entry:
  x = i32.load(a)
  i32.store(a, 5)
  return x
}""")
    # The load cannot move past the store: it is evaluated where it stands and
    # its value waits on the stack under the store (which leaves the stack as
    # it found it) for the return.
    assert locals_ == []
    assert code == ["local.get 0", "i32.load", "local.get 0", "i32.const", "i32.store"]


def test_loop_carried_value_keeps_its_local() -> None:
    # i is read in the loop condition and written in the body: both stay.
    locals_, code = gen("""
func h(n: i32) -> i32 {
  local i: i32
entry:
  jump head
head:
  if i32.lt_s(i, n) then body else done
body:
  i = i32.add(i, 1)
  jump head
done:
  return i
}""")
    assert locals_ == [ValType.I32]
    assert "local.set 1" in code or "local.tee 1" in code


def test_unread_local_and_entry_zero_have_no_slot() -> None:
    locals_, code = gen("""
func h(a: i32) -> i32 {
  local dead: i32, z: i64
entry:
  z = 0
  dead = i32.div_s(a, a)
  return i32.wrap_i64(z)
}""")
    # `dead` is never read: its value is still computed (it may trap) and dropped;
    # `z = 0` is what z starts with.
    assert locals_ == [ValType.I64]
    assert code == ["local.get 0", "local.get 0", "i32.div_s", "drop", "local.get 1",
                    "i32.wrap_i64"]


def test_trampoline_mode_keeps_call_results_the_driver_needs() -> None:
    # In trampoline mode a call that may leave a pending tail call stores its
    # result in a local before the driver runs: it is never left on the stack.
    from linker.codegen import Trampoline
    m = parse_module(PRELUDE + """
func k(a: i32) -> i32 {
entry:
  tail call f(a)
}
func h(a: i32) -> i32 {
  local x: i32
entry:
  x = call k(a)
  return i32.add(x, 1)
}""", "t.ir")
    f = next(i for i in m.items if isinstance(i, ir.Func) and i.name == "h")
    tr = Trampoline(0, {ValType.I32: [1, 2]}, lambda s: 1, lambda t: 2, lambda r: 3,
                    lambda s: s == "k")
    locals_, code = compile_function(f, FuncContext(_Resolver(m), {}, TailCallMode.TRAMPOLINE,
                                                    tr))
    names = [op for op, _ in decode_body(code)]
    assert locals_ == []        # x in the dead parameter's slot
    assert names[:4] == ["local.get", "call", "local.set", "global.get"]


def test_eqz_if_swaps_its_arms_and_final_if_is_typed() -> None:
    _, code = gen("""
func h(a: i32) -> i32 {
entry:
  if i32.eqz(a) then yes else no
yes:
  return 1
no:
  tail call f(a)
}""")
    # No eqz, no return: `if (result i32)` whose arms leave the value.
    assert code == ["local.get 0", "if", "local.get 0", "return_call", "else", "i32.const",
                    "end"]


def test_value_read_through_a_stackified_chain_keeps_its_operands_old_values() -> None:
    # `r = r + t` goes to `b = r`, which goes to the `t = ...` after it, which
    # goes to `return r + t` -- after the return's own read of r.  Emitted
    # there, the first value's read of t would take the later `t = ...`
    # (found by the LTO fuzzer, seed 2, once inlining made this shape).
    _, code = gen("""
func h(v: i32) -> i32 {
  local r: i32, t: i32, a: i32, b: i32
entry:
  r = i32.add(v, 2)
  r = i32.add(r, t)
  a = v
  b = r
  t = i32.add(i32.mul(a, 3), b)
  return i32.add(r, t)
}""")
    # The old t (local 2) is read before anything writes it.
    assert code.index("local.get 2") < code.index("local.set 2")
    assert "local.tee 2" not in code[:code.index("local.get 2")]


def test_loop_at_the_end_takes_the_result_type_and_branches_back_with_br_if() -> None:
    _, code = gen("""
func h(n: i32) -> i32 {
  local i: i32
entry:
  jump loop
loop:
  i = i32.add(i, 1)
  if i32.lt_s(i, n) then loop else done
done:
  return i
}""")
    # `loop (result i32) ... br_if 0; local.get i end`: no if/else, no return,
    # no trailing unreachable.
    assert code == ["loop", "local.get 1", "i32.const", "i32.add", "local.tee 1", "local.get 0",
                    "i32.lt_s", "br_if", "local.get 1", "end"]


def test_loop_exit_arm_follows_the_if() -> None:
    _, code = gen("""
func h(n: i32, p: i32) -> i32 {
entry:
  jump loop
loop:
  if i32.lt_s(n, 10) then body else out
body:
  i32.store(p, n)
  n = i32.add(n, 1)
  jump loop
out:
  call use2(n, n)
  return n
}""")
    # `loop (if c (... br 1) end) exit-code end`: the then arm branches back,
    # so the exit needs no `else`, and its value falls out of the typed loop.
    assert "else" not in code and "return" not in code and "unreachable" not in code
    assert code[-8:] == ["local.set 0", "br", "end", "local.get 0", "local.get 0", "call",
                         "local.get 0", "end"]


def test_empty_then_arm_inverts_the_comparison() -> None:
    _, code = gen("""
func h(n: i32, p: i32) -> i32 {
entry:
  if i32.gt_u(n, 10) then big else small
small:
  i32.store(p, n)
  jump big
big:
  return n
}""")
    assert code[:4] == ["local.get 0", "i32.const", "i32.le_u", "if"]
    assert "else" not in code


def test_locals_are_declared_one_run_per_type() -> None:
    locals_, _ = gen("""
func h(n: i32) -> i32 {
  local a: i32, b: i64, c: i32, d: i64, e: i32
entry:
  a = call f(n)
  b = i64.extend_i32_s(a)
  c = call f(a)
  d = i64.add(b, b)
  e = call f(c)
  call use3(a, c, e)
  return i32.wrap_i64(d)
}""")
    # a takes the slot of n, dead after the first call (linker.coalesce); d is
    # evaluated where it stands and waits on the stack for the return
    assert locals_ == [ValType.I64] + [ValType.I32] * 2


def test_value_dead_after_its_read_is_not_teed() -> None:
    # c is read in three places, but each value of c only once: every
    # assignment goes straight to its read, and c gets no slot.
    locals_, code = gen("""
func h(p: i32) -> i32 {
  local c: i32, n: i32
entry:
  c = i32.load8_u(p)
  if i32.eq(c, 32) then space else other
space:
  p = i32.add(p, 1)
  c = i32.load8_u(p)
  if i32.eq(c, 0) then done else space
other:
  n = i32.add(n, 1)
  c = i32.load8_u(p, offset=1)
  call use2(c, n)
  jump done
done:
  return n
}""")
    assert locals_ == [ValType.I32]            # n only
    assert code.count("local.tee 1") == 1 and "local.set 1" not in code


# ---------------------------------------------------------------- coalescing (linker/coalesce.py)


def _coalesced(body: str, name: str = "h") -> ir.Func:
    from linker.codegen import initial_zeros
    from linker.coalesce import coalesce
    m = parse_module(PRELUDE + body, "t.ir")
    f = next(i for i in m.items if isinstance(i, ir.Func) and i.name == name)
    return coalesce(f, initial_zeros(f))


def test_copy_between_non_interfering_locals_goes() -> None:
    f = _coalesced("""
func h(a: i32) -> i32 {
  local x: i32, y: i32
entry:
  x = call f(a)
  y = x
  call use2(y, 1)
  return y
}""")
    # x and y share one slot, which is the dead parameter's: the copy assigns it to itself
    assert f.locals == ()
    assert [type(s).__name__ for s in f.blocks[0].stmts] == ["Call", "Call"]
    assert f.blocks[0].term == ir.Return(ir.LocalGet("a"))


def test_interfering_copy_and_zero_reliant_local_keep_their_slots() -> None:
    f = _coalesced("""
func h(a: i32) -> i32 {
  local x: i32, y: i32, z: i32
entry:
  x = call f(a)
  y = x
  x = i32.add(x, 1)
  call use2(x, y)
  jump loop
loop:
  z = i32.add(z, a)
  if i32.eqz(z) then loop else out
out:
  return z
}""")
    # y is a copy of x, but x changes while y is live; z reads the zero it starts
    # with, and a is live throughout: no slot is shared
    assert [p.name for p in f.locals] == ["x", "y", "z"]
    assert len(f.blocks[0].stmts) == 4


def test_local_reuses_a_dead_parameter_of_its_type_only() -> None:
    f = _coalesced("""
func h(a: i32, b: i64) -> i64 {
  local x: i64, y: i32, dead: i32
entry:
  y = i32.wrap_i64(b)
  x = i64.extend_i32_s(i32.mul(y, 3))
  dead = i32.add(y, 1)
  call use2(y, y)
  return x
}""")
    # y (i32) takes a's slot (a is never read), x (i64) b's once b is read;
    # `dead` is never read: it has no slot anyway, and keeps its name
    assert [p.name for p in f.locals] == ["dead"]


def test_arms_holding_only_a_final_return_are_empty() -> None:
    # `ok`, `failed` and `stuck` only return, at the function's end: the `if`
    # arms holding them vanish (no `else`, no empty then arm).
    _, code = gen("""
func h(a: i32, n: i32) {
  local r: i32
entry:
  jump again
again:
  if i32.eqz(n) then ok else issue
issue:
  r = call f(a)
  if i32.eqz(r) then advance else failed
advance:
  if i32.eqz(a) then stuck else step
step:
  n = i32.sub(n, a)
  jump again
ok:
  return
stuck:
  return
failed:
  return
}""")
    assert "else" not in code and "return" not in code
    assert code.count("if") == 3 and code.count("end") == 4


def test_value_that_cannot_move_waits_on_the_stack_where_it_was_evaluated() -> None:
    # x may trap, so it cannot move past the call; it is evaluated where it
    # stands (before the call, as the IR says) and read first by the return
    locals_, code = gen("""
func h(a: i32, b: i32) -> i32 {
  local x: i32
entry:
  x = i32.div_s(a, b)
  call use2(a, b)
  return i32.sub(x, 1)
}""")
    assert locals_ == []
    assert code == ["local.get 0", "local.get 1", "i32.div_s", "local.get 0", "local.get 1",
                    "call", "i32.const", "i32.sub"]


def test_value_read_after_something_else_stays_in_its_local() -> None:
    # the return reads `a` before x: x's value could not be on top of the stack
    locals_, code = gen("""
func h(a: i32) -> i32 {
  local x: i32
entry:
  x = i32.load(a)
  i32.store(a, 5)
  return i32.sub(a, x)
}""")
    assert locals_ == [ValType.I32]
    assert code[:3] == ["local.get 0", "i32.load", "local.set 1"]
