"""Wasm instructions as bytes: a fast body builder and a decoder (wasm spec 5.4).

A function body is kept as its binary encoding from the start: `InstrBuilder`
appends opcodes and immediates straight to a ``bytearray`` (a 100,000-function
program then holds bytes, not millions of instruction objects).  The encoder
copies these bytes into the code section (spec 5.5.13) and appends the final
``end``; the WAT printer and the tests read them back through `decode_body`,
which yields ``(mnemonic, immediates)`` pairs.

Opcodes of numeric and memory instructions come from the op table
(`linker.ir.ops`, spec 5.4.5-5.4.7); the control, parametric, variable and
constant instructions (spec 5.4.1-5.4.4, 5.4.7 ``*.const``) are listed once in
`CONTROL_OPCODES` below.  Loads and stores are written with their natural
alignment (spec 5.4.6 ``memarg``).  ``return_call`` and
``return_call_indirect`` are the tail-call instructions of Wasm 3.0.

Immediates as `decode_body` reports them:

* ``block``/``loop``/``if``: the block type: ``None`` (empty), a `ValType`, or
  an ``int`` type index (spec 5.4.1 ``blocktype``);
* ``br``/``br_if``/``call``/``return_call``/``local.*``/``global.*``: one index;
* ``br_table``: ``(tuple of depths, default depth)``;
* ``call_indirect``/``return_call_indirect``: ``(type index, table index)``;
* ``i32.const``/``i64.const``: the signed value;
* ``f32.const``/``f64.const``: the raw IEEE-754 bits as an ``int`` (exact,
  NaN payloads included);
* loads and stores: ``(align_log2, offset)``;
* everything else (``memory.size``/``memory.grow`` included): none.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Union

import attrs

from linker.ir.ops import OPS, OpKind
from linker.ir.types import ValType
from linker.wasm.leb128 import read_sleb, read_uleb, sleb, uleb, write_sleb, write_uleb

__all__ = [
    "CONTROL_OPCODES", "BLOCKTYPE_EMPTY", "FloatBits", "InstrBuilder", "Imm", "Instr",
    "BlockType", "decode_body", "encode_instrs", "f32_bits", "f64_bits",
]

# Spec 5.4.1-5.4.4 and the four constant instructions of 5.4.7.  Tail calls
# (0x12, 0x13) come from the tail-call proposal, merged in Wasm 3.0.
CONTROL_OPCODES: dict[str, int] = {
    "unreachable": 0x00,
    "nop": 0x01,
    "block": 0x02,
    "loop": 0x03,
    "if": 0x04,
    "else": 0x05,
    "end": 0x0B,
    "br": 0x0C,
    "br_if": 0x0D,
    "br_table": 0x0E,
    "return": 0x0F,
    "call": 0x10,
    "call_indirect": 0x11,
    "return_call": 0x12,
    "return_call_indirect": 0x13,
    "drop": 0x1A,
    "select": 0x1B,
    "local.get": 0x20,
    "local.set": 0x21,
    "local.tee": 0x22,
    "global.get": 0x23,
    "global.set": 0x24,
    "i32.const": 0x41,
    "i64.const": 0x42,
    "f32.const": 0x43,
    "f64.const": 0x44,
}
BLOCKTYPE_EMPTY = 0x40

BlockType = Union[None, ValType, int]
Imm = Union[int, ValType, None, tuple[int, ...]]
Instr = tuple[str, tuple[Imm, ...]]


@attrs.frozen(slots=True)
class FloatBits:
    """A float constant given by its raw IEEE-754 bits (to carry NaN payloads exactly)."""

    bits: int


_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


def f32_bits(x: float | FloatBits) -> int:
    """The f32 bit pattern of `x` (rounded to nearest f32 if a Python float)."""
    if isinstance(x, FloatBits):
        if not 0 <= x.bits <= 0xFFFF_FFFF:
            raise ValueError(f"f32 bits out of range: {x.bits:#x}")
        return x.bits
    try:
        bits: int = _U32.unpack(_F32.pack(x))[0]
        return bits
    except OverflowError:
        # struct rounds to nearest and refuses only doubles that round to infinity
        # (at or beyond FLT_MAX + half an ulp); below that they round to FLT_MAX.
        return 0xFF80_0000 if x < 0 else 0x7F80_0000


def f64_bits(x: float | FloatBits) -> int:
    """The f64 bit pattern of `x`."""
    if isinstance(x, FloatBits):
        if not 0 <= x.bits <= 0xFFFF_FFFF_FFFF_FFFF:
            raise ValueError(f"f64 bits out of range: {x.bits:#x}")
        return x.bits
    bits: int = _U64.unpack(_F64.pack(x))[0]
    return bits


def _op_bytes(opcode: tuple[int, ...]) -> bytes:
    # 0xFC-prefixed ops carry a u32 LEB sub-opcode (spec 5.4.7); the 0x00 after
    # memory.size/memory.grow is a memory index byte.
    if opcode[0] == 0xFC:
        return bytes((0xFC,)) + uleb(opcode[1])
    return bytes(opcode)


# Encodings of every instruction without immediates, by name, and the opcode +
# alignment prefix of every load and store (the offset follows).
_SIMPLE: dict[str, bytes] = {}
_MEMARG: dict[str, bytes] = {}
for _op in OPS:
    if _op.is_memory_access:
        _MEMARG[_op.name] = _op_bytes(_op.opcode) + uleb(_op.align_log2)
    else:
        _SIMPLE[_op.name] = _op_bytes(_op.opcode)
for _name in ("unreachable", "nop", "return", "drop", "select"):
    _SIMPLE[_name] = bytes((CONTROL_OPCODES[_name],))

_BLOCKTYPES: dict[ValType | None, bytes] = {None: bytes((BLOCKTYPE_EMPTY,))}
for _t in ValType:
    _BLOCKTYPES[_t] = bytes((_t.code,))


def _blocktype_bytes(bt: BlockType) -> bytes:
    if isinstance(bt, int):
        if bt < 0:
            raise ValueError(f"negative block type index {bt}")
        return sleb(bt)  # s33 (spec 5.4.1): a type index is positive
    return _BLOCKTYPES[bt]


_I32_MIN, _U32_MAX = -(1 << 31), (1 << 32) - 1
_I64_MIN, _U64_MAX = -(1 << 63), (1 << 64) - 1


class InstrBuilder:
    """Appends encoded instructions to a bytearray; `finish` returns the body bytes.

    The body excludes the function's own final ``end`` (the encoder adds it).
    Block nesting and branch depths are checked as instructions are appended,
    so a code generator bug fails here rather than in a validator later.
    """

    __slots__ = ("buf", "_open")

    def __init__(self) -> None:
        self.buf = bytearray()
        self._open: list[int] = []  # opcode of each open block/loop/if/else

    def __len__(self) -> int:
        return len(self.buf)

    @property
    def depth(self) -> int:
        """How many blocks are open."""
        return len(self._open)

    def finish(self) -> bytes:
        if self._open:
            raise ValueError(f"{len(self._open)} block(s) left open")
        return bytes(self.buf)

    def raw(self, data: bytes) -> None:
        """Append pre-encoded instructions (the caller vouches for their nesting)."""
        self.buf += data

    # -- numeric, memory and parametric ops from the op table

    def op(self, name: str, offset: int = 0) -> None:
        """Append op-table op `name`; loads and stores take a byte `offset`."""
        enc = _SIMPLE.get(name)
        if enc is not None:
            if offset:
                raise ValueError(f"{name} takes no offset")
            self.buf += enc
            return
        prefix = _MEMARG.get(name)
        if prefix is None:
            raise KeyError(f"unknown op {name!r}")
        if not 0 <= offset <= _U32_MAX:
            raise ValueError(f"memory offset out of range: {offset}")
        self.buf += prefix
        write_uleb(self.buf, offset)

    # -- constants (spec 5.4.7)

    def i32_const(self, value: int) -> None:
        """Signed or unsigned spelling; 2**32-1 and -1 encode alike."""
        if not _I32_MIN <= value <= _U32_MAX:
            raise ValueError(f"i32 constant out of range: {value}")
        if value > 0x7FFF_FFFF:
            value -= 1 << 32
        buf = self.buf
        buf.append(0x41)
        write_sleb(buf, value)

    def i64_const(self, value: int) -> None:
        """Signed or unsigned spelling; 2**64-1 and -1 encode alike."""
        if not _I64_MIN <= value <= _U64_MAX:
            raise ValueError(f"i64 constant out of range: {value}")
        if value > 0x7FFF_FFFF_FFFF_FFFF:
            value -= 1 << 64
        buf = self.buf
        buf.append(0x42)
        write_sleb(buf, value)

    def f32_const(self, value: float | FloatBits) -> None:
        self.buf.append(0x43)
        self.buf += _U32.pack(f32_bits(value))

    def f64_const(self, value: float | FloatBits) -> None:
        self.buf.append(0x44)
        self.buf += _U64.pack(f64_bits(value))

    def f32_const_bits(self, bits: int) -> None:
        self.f32_const(FloatBits(bits))

    def f64_const_bits(self, bits: int) -> None:
        self.f64_const(FloatBits(bits))

    # -- variables (spec 5.4.4)

    def local_get(self, index: int) -> None:
        self.buf.append(0x20)
        write_uleb(self.buf, index)

    def local_set(self, index: int) -> None:
        self.buf.append(0x21)
        write_uleb(self.buf, index)

    def local_tee(self, index: int) -> None:
        self.buf.append(0x22)
        write_uleb(self.buf, index)

    def global_get(self, index: int) -> None:
        self.buf.append(0x23)
        write_uleb(self.buf, index)

    def global_set(self, index: int) -> None:
        self.buf.append(0x24)
        write_uleb(self.buf, index)

    # -- parametric (spec 5.4.3)

    def drop(self) -> None:
        self.buf.append(0x1A)

    def select(self) -> None:
        self.buf.append(0x1B)

    # -- control (spec 5.4.1)

    def unreachable(self) -> None:
        self.buf.append(0x00)

    def nop(self) -> None:
        self.buf.append(0x01)

    def block(self, blocktype: BlockType = None) -> None:
        self.buf.append(0x02)
        self.buf += _blocktype_bytes(blocktype)
        self._open.append(0x02)

    def loop(self, blocktype: BlockType = None) -> None:
        self.buf.append(0x03)
        self.buf += _blocktype_bytes(blocktype)
        self._open.append(0x03)

    def if_(self, blocktype: BlockType = None) -> None:
        self.buf.append(0x04)
        self.buf += _blocktype_bytes(blocktype)
        self._open.append(0x04)

    def else_(self) -> None:
        if not self._open or self._open[-1] != 0x04:
            raise ValueError("else outside an if")
        self._open[-1] = 0x05
        self.buf.append(0x05)

    def end(self) -> None:
        if not self._open:
            raise ValueError("end without an open block (the function's end is implicit)")
        self._open.pop()
        self.buf.append(0x0B)

    def _check_depth(self, depth: int) -> None:
        # Depth == number of open blocks targets the function body itself.
        if not 0 <= depth <= len(self._open):
            raise ValueError(f"branch depth {depth} with {len(self._open)} open block(s)")

    def br(self, depth: int) -> None:
        self._check_depth(depth)
        self.buf.append(0x0C)
        write_uleb(self.buf, depth)

    def br_if(self, depth: int) -> None:
        self._check_depth(depth)
        self.buf.append(0x0D)
        write_uleb(self.buf, depth)

    def br_table(self, depths: Sequence[int], default: int) -> None:
        buf = self.buf
        buf.append(0x0E)
        write_uleb(buf, len(depths))
        for d in depths:
            self._check_depth(d)
            write_uleb(buf, d)
        self._check_depth(default)
        write_uleb(buf, default)

    def return_(self) -> None:
        self.buf.append(0x0F)

    def call(self, func_index: int) -> None:
        self.buf.append(0x10)
        write_uleb(self.buf, func_index)

    def call_indirect(self, type_index: int, table: int = 0) -> None:
        self.buf.append(0x11)
        write_uleb(self.buf, type_index)
        write_uleb(self.buf, table)

    def return_call(self, func_index: int) -> None:
        self.buf.append(0x12)
        write_uleb(self.buf, func_index)

    def return_call_indirect(self, type_index: int, table: int = 0) -> None:
        self.buf.append(0x13)
        write_uleb(self.buf, type_index)
        write_uleb(self.buf, table)


# ---------------------------------------------------------------- decoding

# Immediate shapes.
_K_NONE, _K_BLOCK, _K_IDX, _K_IDX2, _K_BRTABLE = 0, 1, 2, 3, 4
_K_I32, _K_I64, _K_F32, _K_F64, _K_MEMARG, _K_MEMIDX = 5, 6, 7, 8, 9, 10

_DECODE: dict[int, tuple[str, int]] = {}
_DECODE_FC: dict[int, str] = {}
_SHAPE_BY_NAME: dict[str, int] = {}

for _name, _code in CONTROL_OPCODES.items():
    _shape = _K_NONE
    if _name in ("block", "loop", "if"):
        _shape = _K_BLOCK
    elif _name in ("br", "br_if", "call", "return_call", "local.get", "local.set",
                   "local.tee", "global.get", "global.set"):
        _shape = _K_IDX
    elif _name in ("call_indirect", "return_call_indirect"):
        _shape = _K_IDX2
    elif _name == "br_table":
        _shape = _K_BRTABLE
    else:
        _shape = {"i32.const": _K_I32, "i64.const": _K_I64, "f32.const": _K_F32,
                  "f64.const": _K_F64}.get(_name, _K_NONE)
    _DECODE[_code] = (_name, _shape)
    _SHAPE_BY_NAME[_name] = _shape
for _op in OPS:
    if _op.kind is OpKind.SELECT:
        continue  # typed aliases of the one `select` opcode
    if _op.opcode[0] == 0xFC:
        _DECODE_FC[_op.opcode[1]] = _op.name
        _SHAPE_BY_NAME[_op.name] = _K_NONE
        continue
    _shape = _K_MEMARG if _op.is_memory_access else (
        _K_MEMIDX if _op.kind is OpKind.MEMORY else _K_NONE)
    _DECODE[_op.opcode[0]] = (_op.name, _shape)
    _SHAPE_BY_NAME[_op.name] = _shape

_VALTYPE_BY_CODE: dict[int, ValType] = {t.code: t for t in ValType}


def decode_body(code: bytes | bytearray, pos: int = 0, end: int | None = None) -> list[Instr]:
    """Decode instructions from `code[pos:end]` into ``(mnemonic, immediates)``."""
    stop = len(code) if end is None else end
    out: list[Instr] = []
    append = out.append
    while pos < stop:
        opcode = code[pos]
        pos += 1
        if opcode == 0xFC:
            sub, pos = read_uleb(code, pos)
            name = _DECODE_FC.get(sub)
            if name is None:
                raise ValueError(f"unknown opcode 0xFC {sub} at byte {pos}")
            append((name, ()))
            continue
        entry = _DECODE.get(opcode)
        if entry is None:
            raise ValueError(f"unknown opcode {opcode:#04x} at byte {pos - 1}")
        name, shape = entry
        if shape == _K_NONE:
            append((name, ()))
        elif shape == _K_IDX:
            idx, pos = read_uleb(code, pos)
            append((name, (idx,)))
        elif shape == _K_I32 or shape == _K_I64:
            val, pos = read_sleb(code, pos)
            append((name, (val,)))
        elif shape == _K_MEMARG:
            align, pos = read_uleb(code, pos)
            offset, pos = read_uleb(code, pos)
            append((name, (align, offset)))
        elif shape == _K_BLOCK:
            b = code[pos]
            bt: BlockType
            if b == BLOCKTYPE_EMPTY:
                bt, pos = None, pos + 1
            elif b in _VALTYPE_BY_CODE:
                bt, pos = _VALTYPE_BY_CODE[b], pos + 1
            else:
                bt, pos = read_sleb(code, pos)
            append((name, (bt,)))
        elif shape == _K_F32:
            append((name, (int.from_bytes(code[pos:pos + 4], "little"),)))
            pos += 4
        elif shape == _K_F64:
            append((name, (int.from_bytes(code[pos:pos + 8], "little"),)))
            pos += 8
        elif shape == _K_IDX2:
            a, pos = read_uleb(code, pos)
            t, pos = read_uleb(code, pos)
            append((name, (a, t)))
        elif shape == _K_BRTABLE:
            n, pos = read_uleb(code, pos)
            depths: list[int] = []
            for _ in range(n):
                d, pos = read_uleb(code, pos)
                depths.append(d)
            default, pos = read_uleb(code, pos)
            append((name, (tuple(depths), default)))
        else:  # _K_MEMIDX: memory.size / memory.grow carry memory index 0
            pos += 1
            append((name, ()))
    if pos > stop:
        raise ValueError("truncated instruction")
    return out


def _int_imm(imms: tuple[Imm, ...], i: int) -> int:
    v = imms[i]
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError(f"expected an integer immediate, got {v!r}")
    return v


def encode_instrs(instrs: Iterable[Instr]) -> bytes:
    """Encode ``(mnemonic, immediates)`` pairs as `decode_body` produces them.

    The inverse of `decode_body`; no nesting checks (a decoded full body ends
    with the function's own ``end``).
    """
    buf = bytearray()
    for name, imms in instrs:
        shape = _SHAPE_BY_NAME.get(name)
        if shape is None:
            raise KeyError(f"unknown instruction {name!r}")
        if shape == _K_NONE or shape == _K_MEMIDX:
            enc = _SIMPLE.get(name)
            buf += enc if enc is not None else bytes((CONTROL_OPCODES[name],))
            continue
        if shape == _K_MEMARG:
            buf += _MEMARG[name][:-1]
            write_uleb(buf, _int_imm(imms, 0))
            write_uleb(buf, _int_imm(imms, 1))
            continue
        buf.append(CONTROL_OPCODES[name])
        if shape == _K_IDX:
            write_uleb(buf, _int_imm(imms, 0))
        elif shape == _K_I32 or shape == _K_I64:
            write_sleb(buf, _int_imm(imms, 0))
        elif shape == _K_F32:
            buf += _U32.pack(_int_imm(imms, 0))
        elif shape == _K_F64:
            buf += _U64.pack(_int_imm(imms, 0))
        elif shape == _K_BLOCK:
            bt = imms[0]
            if isinstance(bt, tuple):
                raise TypeError(f"bad block type {bt!r}")
            buf += _blocktype_bytes(bt)
        elif shape == _K_IDX2:
            write_uleb(buf, _int_imm(imms, 0))
            write_uleb(buf, _int_imm(imms, 1))
        else:  # _K_BRTABLE
            depths = imms[0]
            if not isinstance(depths, tuple):
                raise TypeError(f"bad br_table depths {depths!r}")
            write_uleb(buf, len(depths))
            for d in depths:
                write_uleb(buf, d)
            write_uleb(buf, _int_imm(imms, 1))
    return bytes(buf)
