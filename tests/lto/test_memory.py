"""What keeps the LTO phase of a big program in memory: decoded bodies share
their names, and the per-statement read sets the passes remember share equal
sets.  (The 100,000-function program's `--lto` link peaked at 950 MB of the
1 GB goal; docs/benchmarks.md, "LTO memory".)"""

from __future__ import annotations

import msgpack

from linker.ir import model as ir
from linker.ir.parser import parse_module
from linker.lto.cfg import stmt_reads
from linker.lto.walk import memoized
from linker.store.codec import decode_func, encode_func

TEXT = """
module m
func f(counter: i32) -> i32 {
  local accumulator: i32
entry:
  accumulator = i32.add(counter, 1)
  accumulator = i32.mul(accumulator, counter)
  return accumulator
}
"""


def _decoded_twice() -> tuple[ir.Func, ir.Func]:
    f = parse_module(TEXT, "m.ir").funcs[0]
    raw = msgpack.packb(encode_func(f))
    # Each unpacking makes new strings, as reading two objects does.
    return (decode_func("f", False, msgpack.unpackb(raw)),
            decode_func("f", False, msgpack.unpackb(raw)))


def test_decoded_bodies_share_their_names() -> None:
    a, b = _decoded_twice()
    assert a == b
    assert a.locals[0].name is b.locals[0].name
    first, second = a.blocks[0].stmts[0], b.blocks[0].stmts[1]
    assert isinstance(first, ir.Assign) and isinstance(second, ir.Assign)
    assert first.local is second.local is a.locals[0].name


def test_equal_read_sets_are_one_object_while_memoized() -> None:
    a, b = _decoded_twice()
    sa, sb = a.blocks[0].stmts[1], b.blocks[0].stmts[1]
    with memoized():
        ra, rb = stmt_reads(sa), stmt_reads(sb)
        assert ra == {"accumulator", "counter"} and ra is rb
    # Outside the LTO phase nothing is remembered: equal, computed each time.
    assert stmt_reads(sa) == stmt_reads(sb) == ra
