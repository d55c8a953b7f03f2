"""The initial memory of a linked program, computed from the IR and the layout alone.

The emitter writes the data image (items, relocations, the panic message
pool) into the wasm data segments.  The interpreter computes the same image
on its own from the live data items, the data addresses and the table slots
of the layout, so a wrong relocation in the emitter makes the engines and the
interpreter see different memory; `image_mismatches` reports such
differences directly.
"""

from __future__ import annotations

import struct
from typing import Any

from linker.interp.ffi import ffi_layout
from linker.ir import model as ir
from linker.layout import PAGE
from linker.writer import UNDEFINED_DATA_ADDRESS


def symbol_addresses(link_result: Any) -> dict[str, int]:
    """Data symbol -> address, including the linker's own symbols."""
    layout = link_result.emitted.memory
    data: dict[str, int] = dict(layout.addresses)
    data.update(layout.linker_symbols())
    for sym in link_result.program.undefined_data:
        data[sym] = UNDEFINED_DATA_ADDRESS
    return data


def build_image(link_result: Any) -> bytearray:
    """The initial linear memory (initial pages long) of the program."""
    layout = link_result.emitted.memory
    slots: dict[str, int] = link_result.emitted.table.slots
    data = symbol_addresses(link_result)
    memory = bytearray(layout.initial_pages * PAGE)

    def symref(sym: str, offset: int) -> int:
        if sym in data:
            return (data[sym] + offset) & 0xFFFF_FFFF
        return (slots[sym] + offset) & 0xFFFF_FFFF

    for d in link_result.program.datas:
        pos = layout.addresses[d.name]
        for item in d.items:
            pos = _write(memory, pos, item, symref)
    for text, addr in layout.pool.items():
        raw = text.encode()
        memory[addr:addr + len(raw)] = raw
    ffi = ffi_layout(link_result)
    if ffi is not None:   # the closure descriptors, from the FFI plan and the layout
        raw = ffi.descriptors()
        memory[ffi.area:ffi.area + len(raw)] = raw
    return memory


def _write(memory: bytearray, pos: int, item: ir.DataItem, symref: Any) -> int:
    match item:
        case ir.IntItem(width=w, value=v):
            n = w // 8
            memory[pos:pos + n] = (v & ((1 << w) - 1)).to_bytes(n, "little")
            return pos + n
        case ir.FloatItem(width=32, value=v):
            if v != v:  # the payload sits in the top mantissa bits of the double
                bits = struct.unpack("<Q", struct.pack("<d", v))[0]
                raw = ((bits >> 32) & 0x8000_0000) | 0x7F80_0000 | ((bits >> 29) & 0x7F_FFFF)
                memory[pos:pos + 4] = struct.pack("<I", raw)
            else:
                memory[pos:pos + 4] = struct.pack("<f", v)
            return pos + 4
        case ir.FloatItem(value=v):
            memory[pos:pos + 8] = struct.pack("<d", v)
            return pos + 8
        case ir.BytesItem(value=v):
            memory[pos:pos + len(v)] = v
            return pos + len(v)
        case ir.ZeroItem(size=n):
            return pos + n
        case ir.AddrItem(symbol=s, offset=o):
            memory[pos:pos + 4] = symref(s, o).to_bytes(4, "little")
            return pos + 4
    raise TypeError(item)


def emitted_image(link_result: Any) -> bytearray:
    """The initial memory as the emitted data segments describe it."""
    layout = link_result.emitted.memory
    memory = bytearray(layout.initial_pages * PAGE)
    for seg in link_result.emitted.module.data:
        memory[seg.offset:seg.offset + len(seg.data)] = seg.data
    return memory


def image_mismatches(link_result: Any, limit: int = 5) -> list[str]:
    """Addresses where the emitted segments differ from the IR's image (first `limit`)."""
    mine, theirs = build_image(link_result), emitted_image(link_result)
    if mine == theirs:
        return []
    out = []
    owner = sorted((a, n) for n, a in link_result.emitted.memory.addresses.items())
    for addr in range(min(len(mine), len(theirs))):
        if mine[addr] != theirs[addr]:
            sym = next((f"{n}+{addr - a}" for a, n in reversed(owner) if a <= addr), "?")
            out.append(f"byte {addr:#x} ({sym}): emitted {theirs[addr]:#04x}, "
                       f"expected {mine[addr]:#04x}")
            if len(out) >= limit:
                break
    if len(mine) != len(theirs):
        out.append(f"memory size: emitted {len(theirs)}, expected {len(mine)}")
    return out
