"""LEB128 encoders and decoders: edge cases written out byte by byte."""

from __future__ import annotations

import random

import pytest

from linker.wasm.instr import InstrBuilder
from linker.wasm.leb128 import read_sleb, read_uleb, sleb, uleb, write_sleb, write_uleb

UNSIGNED = [
    (0, [0x00]),
    (1, [0x01]),
    (63, [0x3F]),
    (64, [0x40]),
    (127, [0x7F]),
    (128, [0x80, 0x01]),
    (300, [0xAC, 0x02]),
    (16383, [0xFF, 0x7F]),
    (16384, [0x80, 0x80, 0x01]),
    (2**31 - 1, [0xFF, 0xFF, 0xFF, 0xFF, 0x07]),
    (2**32 - 1, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
    (2**64 - 1, [0xFF] * 9 + [0x01]),
]

SIGNED = [
    (0, [0x00]),
    (1, [0x01]),
    (-1, [0x7F]),
    (63, [0x3F]),
    (64, [0xC0, 0x00]),
    (-64, [0x40]),
    (-65, [0xBF, 0x7F]),
    (127, [0xFF, 0x00]),
    (-128, [0x80, 0x7F]),
    (2**31 - 1, [0xFF, 0xFF, 0xFF, 0xFF, 0x07]),
    (-(2**31), [0x80, 0x80, 0x80, 0x80, 0x78]),
    (2**63 - 1, [0xFF] * 8 + [0xFF, 0x00]),
    (-(2**63), [0x80] * 9 + [0x7F]),
]


@pytest.mark.parametrize(("value", "expected"), UNSIGNED)
def test_uleb(value: int, expected: list[int]) -> None:
    assert uleb(value) == bytes(expected)
    buf = bytearray(b"\xAA")
    write_uleb(buf, value)
    assert buf == b"\xAA" + bytes(expected)
    assert read_uleb(bytes(expected) + b"\x99") == (value, len(expected))


@pytest.mark.parametrize(("value", "expected"), SIGNED)
def test_sleb(value: int, expected: list[int]) -> None:
    assert sleb(value) == bytes(expected)
    buf = bytearray()
    write_sleb(buf, value)
    assert buf == bytes(expected)
    assert read_sleb(bytes(expected) + b"\x99") == (value, len(expected))


def test_uleb_rejects_negative() -> None:
    with pytest.raises(ValueError):
        uleb(-1)


def test_truncated_input_is_an_error() -> None:
    with pytest.raises(ValueError):
        read_uleb(b"\x80\x80")
    with pytest.raises(ValueError):
        read_sleb(b"\xFF")


def test_decoders_accept_padded_encodings() -> None:
    assert read_uleb(b"\x80\x80\x80\x80\x00") == (0, 5)
    assert read_sleb(b"\xFF\xFF\xFF\xFF\x7F") == (-1, 5)


@pytest.mark.parametrize(("value", "expected"), [
    (0, [0x41, 0x00]),
    (63, [0x41, 0x3F]),
    (64, [0x41, 0xC0, 0x00]),
    (-64, [0x41, 0x40]),
    (-65, [0x41, 0xBF, 0x7F]),
    (2**31 - 1, [0x41, 0xFF, 0xFF, 0xFF, 0xFF, 0x07]),
    (-(2**31), [0x41, 0x80, 0x80, 0x80, 0x80, 0x78]),
    (2**31, [0x41, 0x80, 0x80, 0x80, 0x80, 0x78]),  # unsigned spelling of -2^31
    (2**32 - 1, [0x41, 0x7F]),  # unsigned spelling of -1
])
def test_i32_const(value: int, expected: list[int]) -> None:
    b = InstrBuilder()
    b.i32_const(value)
    assert b.finish() == bytes(expected)


@pytest.mark.parametrize(("value", "expected"), [
    (0, [0x42, 0x00]),
    (-1, [0x42, 0x7F]),
    (2**32 - 1, [0x42, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),  # a positive i64, not -1
    (2**63 - 1, [0x42] + [0xFF] * 8 + [0xFF, 0x00]),
    (-(2**63), [0x42] + [0x80] * 9 + [0x7F]),
    (2**64 - 1, [0x42, 0x7F]),  # unsigned spelling of -1
])
def test_i64_const(value: int, expected: list[int]) -> None:
    b = InstrBuilder()
    b.i64_const(value)
    assert b.finish() == bytes(expected)


@pytest.mark.parametrize("value", [2**32, -(2**31) - 1])
def test_i32_const_out_of_range(value: int) -> None:
    with pytest.raises(ValueError):
        InstrBuilder().i32_const(value)


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1])
def test_i64_const_out_of_range(value: int) -> None:
    with pytest.raises(ValueError):
        InstrBuilder().i64_const(value)


def test_random_round_trip() -> None:
    rng = random.Random(1234)
    for _ in range(5000):
        bits = rng.choice([7, 14, 32, 33, 64, 70])
        u = rng.getrandbits(bits)
        assert read_uleb(uleb(u)) == (u, len(uleb(u)))
        s = u - (1 << (bits - 1))
        assert read_sleb(sleb(s)) == (s, len(sleb(s)))
        # minimal: the encoding of a value is never longer than needed
        assert len(uleb(u)) == max(1, -(-u.bit_length() // 7))
