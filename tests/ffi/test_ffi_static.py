"""Static FFI: foreign imports and exports get an adapter only where the ABI needs one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import linker.host
from linker.ir.types import FuncType, ValType

from ffi_util import link_texts

I32 = ValType.I32

PROGRAM = """
module static
foreign import ccall "host" "byte" host_byte: uint8(sint32)
foreign import ccall "host" "short" host_short: sint16(sint32)
foreign import ccall "host" "word" host_word: sint32(sint8)
foreign export ccall "c_narrow" narrow: sint8(sint32)
foreign export ccall "c_wide" wide: sint32(sint32)
import func "host" "check_exports" check_exports() -> i32

func narrow(x: i32) -> i32 {
entry:
  return i32.add(x, 0x1200)    // garbage above the low byte: the adapter extends
}

func wide(x: i32) -> i32 {
entry:
  return i32.mul(x, 2)
}

func main() -> i32 {
  local r: i32
entry:
  r = call host_byte(1)
  if i32.ne(r, 0x34) then bad1 else two
two:
  r = call host_short(2)
  if i32.ne(r, -2) then bad2 else three
three:
  r = call host_word(-3)
  if i32.ne(r, 0x12345678) then bad3 else four
four:
  r = call check_exports()
  return r
bad1:
  return 11
bad2:
  return 12
bad3:
  return 13
}
"""


def _host() -> linker.host.HostFunctions:
    host = linker.host.HostFunctions.default()
    host.add("host", "byte", FuncType((I32,), I32), lambda ctx, x: 0x7F34)
    host.add("host", "short", FuncType((I32,), I32), lambda ctx, x: 0x1FFFE)
    host.add("host", "word", FuncType((I32,), I32), lambda ctx, x: 0x12345678 if x == -3 else 0)

    def check(ctx: Any) -> int:
        narrow = ctx.export("c_narrow")(ctx.caller, 0xF0)     # 0x12F0 -> (int8)0xF0 = -16
        wide = ctx.export("c_wide")(ctx.caller, 21)
        return 0 if (narrow, wide) == (-16, 42) else 20
    host.add("host", "check_exports", FuncType((), I32), check)
    return host


def test_adapters_extend_small_results(tmp_path: Path) -> None:
    result = link_texts(tmp_path, [PROGRAM])
    run = linker.host.run(result.wasm or b"", ["static"], host=_host(), capture=True)
    assert (run.exit_code, run.stderr) == (0, b"")
    assert result.emitted is not None
    names = sorted(f.name or "" for f in result.emitted.module.functions
                   if "ffi" in (f.name or ""))
    # Adapters for the 8/16-bit results only; no FFI runtime.
    assert names == ["__irld_ffi_adapter:host_byte", "__irld_ffi_adapter:host_short",
                     "__irld_ffi_export:c_narrow"]
    assert result.ffi is not None and result.ffi.sigs == () and result.ffi.adapter_bytes > 0
    imports = {(i.module, i.field) for i in result.emitted.module.imports}
    assert ("host", "word") in imports and ("irld", "closure_table_grow") not in imports
