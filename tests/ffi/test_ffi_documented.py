"""What docs/ffi.md promises about `rvalue` sizes and variadic closure arguments,
checked on wasmtime, Node and the reference interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest

import linker.host
from linker.interp import run_program

from ffi_util import link_texts

# Each failed check sets one bit of the exit status (0: all hold; statuses stay < 126).
PROGRAM = """
module ffidoc
extern func ffi_call(i32, i32, i32, i32)
extern func ffi_closure_alloc(i32, i32, i32) -> i32
ctype s8 = struct { uint8 }
csig u8r = uint8()
csig s8r = s8()
csig i8r = sint8()
csig v = sint32(sint32, ..., float, sint8)
data rv align 8 = { zero 16 }
data av align 4 = { zero 16 }
data buf align 8 = { zero 32 }
data seen align 4 = { zero 16 }

func give() -> i32 {
entry:
  return 0x12345680
}

func handler(sg: i32, ret: i32, args: i32, ud: i32) {
  local a1: i32, a2: i32
entry:
  a1 = i32.load(args, offset=4)
  a2 = i32.load(args, offset=8)
  i32.store(@seen, f32.eq(f32.load(a1), 1.5))
  i32.store(@seen, i32.eq(a2, i32.add(@buf, 8)), offset=4)
  i32.store(@seen, i32.load(a2), offset=8)
  i32.store(@seen, i32.load8_s(a2), offset=12)
  i32.store(ret, 0)
  return
}

func word(s: i32) -> i32 {
entry:
  i32.store(@rv, -1431655766)
  call ffi_call(s, @give, @rv, @av)
  return i32.load(@rv)
}

func main() -> i32 {
  local code: i32, r: i32, w: i32, bits: i32
entry:
  w = call word(sig u8r)
  bits = i32.eq(w, 0x80)
  w = call word(sig s8r)
  bits = i32.or(bits, i32.shl(i32.eq(w, -1431655808), 1))
  w = call word(sig i8r)
  bits = i32.or(bits, i32.shl(i32.eq(w, -128), 2))
  code = call ffi_closure_alloc(sig v, @handler, 0)
  f64.store(@buf, 1.5)
  i32.store(@buf, -3, offset=8)
  r = call_indirect (i32, i32) -> i32 [code](7, @buf)
  bits = i32.or(bits, i32.shl(i32.load(@seen), 3))
  bits = i32.or(bits, i32.shl(i32.load(@seen, offset=4), 4))
  bits = i32.or(bits, i32.shl(i32.eq(i32.load(@seen, offset=8), -3), 5))
  bits = i32.or(bits, i32.shl(i32.eq(i32.load(@seen, offset=12), -3), 6))
  return i32.xor(bits, 127)
}
"""

CHECKS = {
    0: "uint8 result: a 4-byte zero-extended ffi_arg",
    1: "struct { uint8 } result: 1 byte, the other 3 left as they were",
    2: "sint8 result: a 4-byte sign-extended ffi_arg",
    3: "variadic float: args[i] points to a float (demoted)",
    4: "variadic sint8: args[i] points into the caller's buffer",
    5: "variadic sint8: a 4-byte read gives the promoted int",
    6: "variadic sint8: a 1-byte read gives the value",
}


def failed(status: int) -> list[str]:
    return [what for bit, what in CHECKS.items() if status >> bit & 1]


@pytest.mark.parametrize("engine", ["wasmtime", "node", "interp"])
def test_documented_ffi_behaviour(tmp_path: Path, engine: str) -> None:
    result = link_texts(tmp_path, [PROGRAM])
    assert result.wasm is not None
    if engine == "interp":
        status = run_program(result, ["p"], stdin=b"").exit_code
    elif engine == "node":
        try:
            status = linker.host.run_node(result.wasm, ["p"], capture=True).exit_code
        except linker.host.NodeNotFoundError:
            pytest.skip("Node not installed")
    else:
        status = linker.host.run(result.wasm, ["p"], capture=True).exit_code
    assert failed(status) == [], status
