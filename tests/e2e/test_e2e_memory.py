"""Loads and stores of every width, offsets, data items of every kind, memory.size/grow."""

from __future__ import annotations

from e2e_util import E2E, module

LOADS_STORES = module("mem.widths", """
data m align 8 = { zero 64 }
readonly data items align 8 = { i8 -1, i8 2, i16 -3, i32 -4, i64 -5, f32 1.5, f64 -2.5, f32 nan:0x200000, bytes "hi", zero 2, i32 7 }

func main() -> i32 {
  local p: i32
entry:
  i64.store(@m, 0x8081828384858687)
  call pi32(i32.load8_s(@m))
  call pi32(i32.load8_u(@m))
  call pi32(i32.load16_s(@m))
  call pi32(i32.load16_u(@m))
  call pu32(i32.load(@m))
  call pi64(i64.load8_s(@m, offset=1))
  call pi64(i64.load8_u(@m, offset=1))
  call pi64(i64.load16_s(@m, offset=2))
  call pi64(i64.load16_u(@m, offset=2))
  call pi64(i64.load32_s(@m, offset=4))
  call pi64(i64.load32_u(@m, offset=4))
  call pi64(i64.load(@m))
  call px32(i32.load(@m+1))
  p = @m+16
  i32.store8(p, 0x1234)
  i32.store16(p, 0x123456, offset=2)
  call px32(i32.load(p))
  i64.store8(p, 0x1ff, offset=4)
  i64.store16(p, -2, offset=6)
  call px32(i32.load(p, offset=4))
  i64.store32(@m+24, 0x1122334455667788)
  call px64(i64.load(@m+24))
  f32.store(@m+32, -0.0)
  call px32(i32.load(@m+32))
  call pf32(f32.load(@m+32))
  f64.store(p, 1.0e300, offset=24)
  call pf64(f64.load(@m+40))
  i32.store(i32.sub(@m+52, 4), -1)
  call pi32(i32.load(@m+48))
  call pi32(i32.load8_s(@items))
  call pi32(i32.load8_u(@items, offset=1))
  call pi32(i32.load16_s(@items, offset=2))
  call pi32(i32.load(@items, offset=4))
  call pi64(i64.load(@items, offset=8))
  call pf32(f32.load(@items, offset=16))
  call pf64(f64.load(@items, offset=20))
  call px32(i32.load(@items, offset=28))
  call print_str(@items+32, 2)
  call nl()
  call pi32(i32.load16_u(@items, offset=34))
  call pi32(i32.load(@items, offset=36))
  return 0
}
""")

LOADS_EXPECTED = """\
-121
135
-31097
34439
2223343239
-122
134
-31611
33925
-2138996093
2155971203
-9186918263483431289
0x83848586
0x34560034
0xfffe00ff
0x0000000055667788
0x80000000
0x80000000
0x7e37e43c8800759c
-1
-1
2
-3
-4
-5
0x3fc00000
0xc004000000000000
0x7fa00000
hi
0
7
"""


def test_loads_and_stores(e2e: E2E) -> None:
    e2e.check([LOADS_STORES], LOADS_EXPECTED)


GROW = module("mem.grow", """
func main() -> i32 {
  local old: i32, top: i32
entry:
  call pi32(memory.size())
  old = memory.grow(2)
  call pi32(old)
  call pi32(memory.size())
  top = i32.sub(i32.mul(memory.size(), 65536), 4)
  i32.store(top, 123456)
  call pi32(i32.load(top))
  call pi32(memory.grow(70000))
  call pi32(memory.size())
  call pi32(memory.grow(0))
  return 0
}
""")


def test_memory_size_and_grow(e2e: E2E) -> None:
    e2e.check([GROW], "1\n1\n3\n123456\n-1\n3\n3\n")


def test_memory_grow_respects_max_memory(e2e: E2E) -> None:
    e2e.check([GROW], "1\n1\n3\n123456\n-1\n3\n3\n", initial_memory=65536,
              max_memory=4 * 65536)
    limited = module("mem.limit", """
func main() -> i32 {
entry:
  call pi32(memory.size())
  call pi32(memory.grow(1))
  call pi32(memory.grow(1))
  call pi32(memory.size())
  return 0
}
""")
    e2e.check([limited], "2\n2\n-1\n3\n", initial_memory=2 * 65536, max_memory=3 * 65536)


def test_out_of_bounds_load_traps(e2e: E2E) -> None:
    text = module("mem.oob", """
func main() -> i32 {
entry:
  call pi32(1)
  call pi32(i32.load(i32.sub(i32.mul(memory.size(), 65536), 2)))
  return 0
}
""")
    e2e.check([text], "1\n", 134, stderr="out of bounds")


def test_data_above_data_base(e2e: E2E) -> None:
    """Null is never data: the first data address is data_base; __heap_base is past the data."""
    text = module("mem.base", """
data first = { i8 1 }
func main() -> i32 {
entry:
  call pi32(i32.ge_u(@first, 1024))
  call pi32(i32.ge_u(@__heap_base, @__data_end))
  call pi32(i32.ge_u(@__data_end, i32.add(@first, 1)))
  call pi32(i32.and(@__heap_base, 15))
  return 0
}
""")
    e2e.check([text], "1\n1\n1\n0\n")
    e2e.check([text], "1\n1\n1\n0\n", modes=("native",), data_base=4096)
