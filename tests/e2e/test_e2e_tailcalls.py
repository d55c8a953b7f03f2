"""Tail calls, direct and indirect, in both modes: deep chains run in constant stack, and every
signature (i32/i64/f32/f64 parameters, every result type) behaves the same in both modes."""

from __future__ import annotations

import time

from e2e_util import E2E, module

STEPS = 10_000_000

MUTUAL = module("tail.mutual", f"""
func is_even(n: i32) -> i32 {{
entry:
  if i32.eqz(n) then yes else no
yes:
  return 1
no:
  tail call is_odd(i32.sub(n, 1))
}}
func is_odd(n: i32) -> i32 {{
entry:
  if i32.eqz(n) then yes else no
yes:
  return 0
no:
  tail call is_even(i32.sub(n, 1))
}}
// The same through function pointers (return_call_indirect / the thunk regions).
func ping(n: i32, other: i32, self: i32) -> i32 {{
entry:
  if i32.eqz(n) then done else more
done:
  return self
more:
  tail call_indirect (i32, i32, i32) -> i32 [other](i32.sub(n, 1), self, other)
}}
func main() -> i32 {{
  local r: i32
entry:
  r = call is_even({STEPS})
  call pi32(r)
  r = call is_odd({STEPS + 1})
  call pi32(r)
  r = call ping({STEPS}, @ping2, @ping)
  call pi32(i32.eq(r, @ping))
  r = call ping(1000001, @ping2, @ping)
  call pi32(i32.eq(r, @ping2))
  return 0
}}
func ping2(n: i32, other: i32, self: i32) -> i32 {{
entry:
  tail call ping(n, other, self)
}}
""")


def test_ten_million_step_mutual_tail_recursion(e2e: E2E) -> None:
    start = time.perf_counter()
    e2e.check([MUTUAL], "1\n1\n1\n1\n")
    # Both modes, both engines; a stack-growing implementation would trap long before.
    assert time.perf_counter() - start < 60


SIGS = module("tail.sigs", """
// Every result type, parameters of every type, more than one of a type, argument order swaps.
func acc64(n: i32, a: i64, b: i64, x: f64, y: f32) -> i64 {
entry:
  if i32.eqz(n) then done else more
done:
  return i64.add(i64.add(i64.mul(a, 1000), b), i64.trunc_f64_s(f64.add(x, f64.promote_f32(y))))
more:
  tail call acc64(i32.sub(n, 1), b, i64.add(a, 1), f64.add(x, 0.5), f32.mul(y, 2.0))
}
func accf32(y: f32, n: i32, z: f32) -> f32 {
entry:
  if i32.eqz(n) then done else more
done:
  return f32.sub(y, z)
more:
  tail call accf32(z, i32.sub(n, 1), f32.add(y, 1.5))
}
func accf64(x: f64, n: i64) -> f64 {
entry:
  if i64.eqz(n) then done else more
done:
  return x
more:
  tail call accf64_b(n, f64.mul(x, -1.0))
}
func accf64_b(n: i64, x: f64) -> f64 {
entry:
  tail call accf64(f64.add(x, 0.25), i64.sub(n, 1))
}
func count_void(n: i32, sink: i64) {
entry:
  if i32.eqz(n) then done else more
done:
  call pi64(sink)
  return
more:
  tail call count_void(i32.sub(n, 1), i64.add(sink, i64.extend_i32_u(n)))
}
func many(a: i64, b: i64, c: i64, d: i64, e: i64, f: i64, n: i32) -> i64 {
entry:
  if i32.eqz(n) then done else more
done:
  return i64.add(i64.mul(a, 100000), i64.add(i64.mul(b, 10000), i64.add(i64.mul(c, 1000), i64.add(i64.mul(d, 100), i64.add(i64.mul(e, 10), f)))))
more:
  tail call many(f, a, b, c, d, e, i32.sub(n, 1))
}
func to_i64(x: f64) -> i64 {
entry:
  return i64.trunc_f64_s(x)
}
func via_ptr(f: i32, x: f64) -> i64 {
entry:
  tail call_indirect (f64) -> i64 [f](x)
}
func f32_ptr(f: i32, y: f32, n: i32, z: f32) -> f32 {
entry:
  tail call_indirect (f32, i32, f32) -> f32 [f](y, n, z)
}
func main() -> i32 {
  local r: i64, s: f32, d: f64
entry:
  r = call acc64(5, 1, 2, 0.25, 0.75)
  call pi64(r)
  s = call accf32(1.0, 7, 0.5)
  call pf32(s)
  d = call accf64(2.0, 5)
  call pf64(d)
  call count_void(100000, 0)
  r = call many(1, 2, 3, 4, 5, 6, 4)
  call pi64(r)
  r = call via_ptr(@to_i64, -7.9)
  call pi64(r)
  s = call f32_ptr(@accf32, 1.0, 7, 0.5)
  call pf32(s)
  r = call_indirect (f64) -> i64 [@to_i64](3.5)
  call pi64(r)
  tail call finish(3)
}
func finish(code: i32) -> i32 {
entry:
  return i32.add(code, 0)
}
""")


def _sigs_expected() -> str:
    import struct

    def f32(v: float) -> float:
        return struct.unpack("<f", struct.pack("<f", v))[0]

    def bits32(v: float) -> str:
        return "0x%08x" % struct.unpack("<I", struct.pack("<f", v))[0]

    def bits64(v: float) -> str:
        return "0x%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]

    n, a, b, x, y = 5, 1, 2, 0.25, 0.75
    while n:
        n, a, b, x, y = n - 1, b, a + 1, x + 0.5, f32(y * 2)
    acc64 = a * 1000 + b + int(x + y)
    y, n, z = 1.0, 7, 0.5
    while n:
        y, n, z = z, n - 1, f32(y + 1.5)
    accf32 = bits32(f32(y - z))
    x, k = 2.0, 5
    while k:
        x = x * -1.0 + 0.25
        k -= 1
    void = sum(range(1, 100001))
    vals = [1, 2, 3, 4, 5, 6]
    for _ in range(4):
        vals = [vals[5]] + vals[:5]
    many = sum(v * 10 ** (5 - i) for i, v in enumerate(vals))
    return (f"{acc64}\n{accf32}\n{bits64(x)}\n{void}\n{many}\n-7\n{accf32}\n3\n")


def test_tail_call_signatures_behave_the_same(e2e: E2E) -> None:
    results = e2e.check([SIGS], _sigs_expected(), 3)
    native, tramp = results
    assert native[2].stdout == tramp[2].stdout


def test_tail_calls_in_ctors_imports_and_indirect_callees(e2e: E2E) -> None:
    text = module("tail.misc", """
import func "wasi_snapshot_preview1" "fd_write" fd_write(i32, i32, i32, i32) -> i32
readonly data hello = { bytes "tail-called fd_write\\n" }
data iov align 4 = { addr hello, i32 21 }
data nw align 4 = { zero 4 }
global setup: i32 = 0
func init_step(n: i32) {
entry:
  if i32.eqz(n) then done else more
done:
  return
more:
  setup = i32.add(setup, n)
  tail call init_step(i32.sub(n, 1))
}
func init() {
entry:
  tail call init_step(1000)
}
ctor init
// A tail call to a host import.
func say() -> i32 {
entry:
  tail call fd_write(1, @iov, 1, @nw)
}
// Called through a pointer, tail-calls through another.
func countdown(n: i32) -> i32 {
entry:
  if i32.eqz(n) then done else more
done:
  return 77
more:
  tail call_indirect (i32) -> i32 [@countdown](i32.sub(n, 1))
}
func main() -> i32 {
  local r: i32
entry:
  call pi32(setup)
  r = call say()
  call pi32(r)
  call pi32(i32.load(@nw))
  r = call_indirect (i32) -> i32 [@countdown](500000)
  call pi32(r)
  tail call countdown(10)
}
""")
    e2e.check([text], "500500\ntail-called fd_write\n0\n21\n77\n", 77)
