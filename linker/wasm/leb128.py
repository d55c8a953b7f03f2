"""LEB128 variable-length integers (wasm spec 5.2.2, "Integers").

Unsigned values use ``uN`` (7 bits per byte, high bit = continuation); signed
values use two's-complement ``sN``, stopping once the remaining value is all
sign bits and bit 6 of the last byte agrees with the sign.  The encoders are
hot (every index and constant of every function body goes through them), so
they append to a caller's ``bytearray`` and precompute the single-byte cases.
Encoders always produce the minimal encoding; decoders accept any valid one.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "uleb", "sleb", "write_uleb", "write_sleb", "read_uleb", "read_sleb",
]

# Single-byte encodings: unsigned 0..127, signed -64..63.
_U1: Final[tuple[bytes, ...]] = tuple(bytes((i,)) for i in range(128))
_S1: Final[dict[int, bytes]] = {i: bytes((i & 0x7F,)) for i in range(-64, 64)}


def write_uleb(buf: bytearray, value: int) -> None:
    """Append the unsigned LEB128 encoding of `value` (>= 0) to `buf`."""
    if value < 0x80:
        if value < 0:
            raise ValueError(f"unsigned LEB128 of a negative value: {value}")
        buf.append(value)
        return
    while value >= 0x80:
        buf.append((value & 0x7F) | 0x80)
        value >>= 7
    buf.append(value)


def write_sleb(buf: bytearray, value: int) -> None:
    """Append the signed LEB128 encoding of `value` to `buf`."""
    if -64 <= value < 64:
        buf.append(value & 0x7F)
        return
    while True:
        byte = value & 0x7F
        value >>= 7  # arithmetic shift: Python ints keep their sign
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            buf.append(byte)
            return
        buf.append(byte | 0x80)


def uleb(value: int) -> bytes:
    """The unsigned LEB128 encoding of `value` (>= 0)."""
    if 0 <= value < 0x80:
        return _U1[value]
    buf = bytearray()
    write_uleb(buf, value)
    return bytes(buf)


def sleb(value: int) -> bytes:
    """The signed LEB128 encoding of `value`."""
    small = _S1.get(value)
    if small is not None:
        return small
    buf = bytearray()
    write_sleb(buf, value)
    return bytes(buf)


def read_uleb(data: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int]:
    """Decode an unsigned LEB128 at `pos`: (value, position after it)."""
    result = 0
    shift = 0
    while True:
        try:
            byte = data[pos]
        except IndexError:
            raise ValueError("truncated LEB128") from None
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def read_sleb(data: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int]:
    """Decode a signed LEB128 at `pos`: (value, position after it)."""
    result = 0
    shift = 0
    while True:
        try:
            byte = data[pos]
        except IndexError:
            raise ValueError("truncated LEB128") from None
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result, pos
