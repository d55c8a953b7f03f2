"""The host side of `--ffi-fallback=host`: call any table function dynamically.

irld's libffi (linker/ffi/clib/ffi.c) sends a call whose C signature was not
declared at link time to the import

    irld.ffi_call_dynamic(fn: i32, types: i32, values: i32, key: i32)

after lowering it to wasm values itself (tool-conventions BasicCABI: struct
copies, the sret pointer, the variadic buffer are already in memory):
`types` is a NUL-terminated string, the result's letter then one letter per
wasm parameter (`v` none, `i` i32, `j` i64, `f` f32, `d` f64); `values` is
an array of 8-byte slots, slot 0 for the result and slot 1 + k for
parameter k (each value's bits, little-endian, in the slot's low bytes);
`key` is the signature's canonical key.  The host reads the parameters,
calls table entry `fn` with them (the engine checks the function's type,
as `call_indirect` would), and writes the result into slot 0.  This is
what libffi's Emscripten port does through JS, and is correct for any
signature, but slower than a handler the linker generated.

Each run counts the calls per key; `irld run` prints them on stderr when the
program ends (`irld: ffi host fallback: ...`), the list of signatures that
took the slow path and could be declared.  The Node runner does the same
(`node_runner.mjs`).
"""

from __future__ import annotations

import struct
from typing import Any, Protocol

from linker.host.common import HostTrap

MODULE, FIELD = "irld", "ffi_call_dynamic"
STATE_KEY = "ffi_fallback"          # per-run counts: key -> calls


class Context(Protocol):
    """What the call needs of `linker.host.wasmtime_host.HostContext`."""

    state: dict[str, Any]

    def read(self, address: int, size: int) -> bytes: ...

    def write(self, address: int, data: bytes) -> None: ...

    def table(self) -> Any: ...

    def memory(self) -> Any: ...

    @property
    def caller(self) -> Any: ...


class _Memory:
    """The instance's memory and table, looked up once per run (the lookups
    through the caller cost more than the call itself)."""

    def __init__(self, ctx: Context) -> None:
        self.memory = ctx.memory()
        self.table = ctx.table()
        if self.table is None:
            raise HostTrap("ffi host fallback: the module exports no function table")

    def read(self, ctx: Context, address: int, size: int) -> bytes:
        start = address & 0xFFFFFFFF
        end = min(start + size, self.memory.data_len(ctx.caller))
        if end <= start:
            raise HostTrap(f"ffi host fallback: read at {start:#x} is out of bounds")
        return bytes(self.memory.read(ctx.caller, start, end))

    def c_string(self, ctx: Context, address: int, limit: int = 4096) -> str:
        out = bytearray()
        while len(out) < limit:
            chunk = self.read(ctx, address + len(out), 64)
            end = chunk.find(0)
            if end >= 0:
                return (out + chunk[:end]).decode("ascii", "replace")
            out += chunk
        return out.decode("ascii", "replace")


def decode(letter: str, raw: bytes) -> int | float:
    match letter:
        case "i":
            return int(struct.unpack_from("<i", raw)[0])
        case "j":
            return int(struct.unpack_from("<q", raw)[0])
        case "f":
            return float(struct.unpack_from("<f", raw)[0])
        case "d":
            return float(struct.unpack_from("<d", raw)[0])
    raise ValueError(f"bad wasm type letter {letter!r}")


def encode(letter: str, value: Any) -> bytes:
    match letter:
        case "i":
            return struct.pack("<I", int(value) & 0xFFFFFFFF).ljust(8, b"\0")
        case "j":
            return struct.pack("<Q", int(value) & 0xFFFFFFFFFFFFFFFF)
        case "f":
            return struct.pack("<f", float(value)).ljust(8, b"\0")
        case "d":
            return struct.pack("<d", float(value))
    raise ValueError(f"bad wasm type letter {letter!r}")


def ffi_call_dynamic(ctx: Context, fn: int, types: int, values: int, key: int) -> None:
    """The import's implementation (see the module docstring)."""
    mem = ctx.state.get("ffi_fallback_memory")
    if not isinstance(mem, _Memory):
        mem = ctx.state["ffi_fallback_memory"] = _Memory(ctx)
    letters = mem.c_string(ctx, types)
    name = mem.c_string(ctx, key)
    counts = ctx.state.setdefault(STATE_KEY, {})
    counts[name] = counts.get(name, 0) + 1
    func = mem.table.get(ctx.caller, fn & 0xFFFFFFFF)
    if func is None:
        raise HostTrap(f"ffi host fallback: table entry {fn} is null")
    params = letters[1:]
    raw = mem.read(ctx, values + 8, 8 * len(params)) if params else b""
    if len(raw) != 8 * len(params):
        raise HostTrap("ffi host fallback: the argument values are out of bounds")
    args = [decode(t, raw[8 * k:8 * k + 8]) for k, t in enumerate(params)]
    result = func(ctx.caller, *args)
    if letters[0] != "v":
        ctx.write(values, encode(letters[0], result))


def summary(state: dict[str, Any]) -> str:
    """The stderr line listing the signatures that took the fallback, or ''."""
    counts: dict[str, int] = state.get(STATE_KEY, {})
    if not counts:
        return ""
    parts = ", ".join(f"{key} ({n} call{'s' if n != 1 else ''})"
                      for key, n in sorted(counts.items()))
    return f"irld: ffi host fallback: {parts}\n"
