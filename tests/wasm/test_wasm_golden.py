"""Byte-exact golden tests: every op-table opcode, control opcode, type code and section id.

The expected bytes are written out here from the wasm spec (5.3, 5.4, 5.5),
independently of `linker.ir.ops`, so a wrong entry in either place fails.
"""

from __future__ import annotations

import pytest

from linker.ir.ops import OPS
from linker.ir.types import FuncType, ValType
from linker.wasm import (
    CONTROL_OPCODES, SECTION_IDS, CustomSection, InstrBuilder, WasmModule, encode_module,
)
from linker.wasm.encode import encode_functype

# Loads and stores: opcode, natural alignment exponent (spec 5.4.6).
MEMORY_OPS: dict[str, tuple[int, int]] = {
    "i32.load": (0x28, 2), "i64.load": (0x29, 3), "f32.load": (0x2A, 2), "f64.load": (0x2B, 3),
    "i32.load8_s": (0x2C, 0), "i32.load8_u": (0x2D, 0),
    "i32.load16_s": (0x2E, 1), "i32.load16_u": (0x2F, 1),
    "i64.load8_s": (0x30, 0), "i64.load8_u": (0x31, 0),
    "i64.load16_s": (0x32, 1), "i64.load16_u": (0x33, 1),
    "i64.load32_s": (0x34, 2), "i64.load32_u": (0x35, 2),
    "i32.store": (0x36, 2), "i64.store": (0x37, 3), "f32.store": (0x38, 2),
    "f64.store": (0x39, 3), "i32.store8": (0x3A, 0), "i32.store16": (0x3B, 1),
    "i64.store8": (0x3C, 0), "i64.store16": (0x3D, 1), "i64.store32": (0x3E, 2),
}

# Every other op of the op table, with its full encoding (spec 5.4.3, 5.4.6, 5.4.7).
PLAIN_OPS: dict[str, list[int]] = {
    "memory.size": [0x3F, 0x00], "memory.grow": [0x40, 0x00],
    "i32.select": [0x1B], "i64.select": [0x1B], "f32.select": [0x1B], "f64.select": [0x1B],
    "i32.eqz": [0x45], "i32.eq": [0x46], "i32.ne": [0x47], "i32.lt_s": [0x48],
    "i32.lt_u": [0x49], "i32.gt_s": [0x4A], "i32.gt_u": [0x4B], "i32.le_s": [0x4C],
    "i32.le_u": [0x4D], "i32.ge_s": [0x4E], "i32.ge_u": [0x4F],
    "i64.eqz": [0x50], "i64.eq": [0x51], "i64.ne": [0x52], "i64.lt_s": [0x53],
    "i64.lt_u": [0x54], "i64.gt_s": [0x55], "i64.gt_u": [0x56], "i64.le_s": [0x57],
    "i64.le_u": [0x58], "i64.ge_s": [0x59], "i64.ge_u": [0x5A],
    "f32.eq": [0x5B], "f32.ne": [0x5C], "f32.lt": [0x5D], "f32.gt": [0x5E],
    "f32.le": [0x5F], "f32.ge": [0x60],
    "f64.eq": [0x61], "f64.ne": [0x62], "f64.lt": [0x63], "f64.gt": [0x64],
    "f64.le": [0x65], "f64.ge": [0x66],
    "i32.clz": [0x67], "i32.ctz": [0x68], "i32.popcnt": [0x69], "i32.add": [0x6A],
    "i32.sub": [0x6B], "i32.mul": [0x6C], "i32.div_s": [0x6D], "i32.div_u": [0x6E],
    "i32.rem_s": [0x6F], "i32.rem_u": [0x70], "i32.and": [0x71], "i32.or": [0x72],
    "i32.xor": [0x73], "i32.shl": [0x74], "i32.shr_s": [0x75], "i32.shr_u": [0x76],
    "i32.rotl": [0x77], "i32.rotr": [0x78],
    "i64.clz": [0x79], "i64.ctz": [0x7A], "i64.popcnt": [0x7B], "i64.add": [0x7C],
    "i64.sub": [0x7D], "i64.mul": [0x7E], "i64.div_s": [0x7F], "i64.div_u": [0x80],
    "i64.rem_s": [0x81], "i64.rem_u": [0x82], "i64.and": [0x83], "i64.or": [0x84],
    "i64.xor": [0x85], "i64.shl": [0x86], "i64.shr_s": [0x87], "i64.shr_u": [0x88],
    "i64.rotl": [0x89], "i64.rotr": [0x8A],
    "f32.abs": [0x8B], "f32.neg": [0x8C], "f32.ceil": [0x8D], "f32.floor": [0x8E],
    "f32.trunc": [0x8F], "f32.nearest": [0x90], "f32.sqrt": [0x91], "f32.add": [0x92],
    "f32.sub": [0x93], "f32.mul": [0x94], "f32.div": [0x95], "f32.min": [0x96],
    "f32.max": [0x97], "f32.copysign": [0x98],
    "f64.abs": [0x99], "f64.neg": [0x9A], "f64.ceil": [0x9B], "f64.floor": [0x9C],
    "f64.trunc": [0x9D], "f64.nearest": [0x9E], "f64.sqrt": [0x9F], "f64.add": [0xA0],
    "f64.sub": [0xA1], "f64.mul": [0xA2], "f64.div": [0xA3], "f64.min": [0xA4],
    "f64.max": [0xA5], "f64.copysign": [0xA6],
    "i32.wrap_i64": [0xA7], "i32.trunc_f32_s": [0xA8], "i32.trunc_f32_u": [0xA9],
    "i32.trunc_f64_s": [0xAA], "i32.trunc_f64_u": [0xAB], "i64.extend_i32_s": [0xAC],
    "i64.extend_i32_u": [0xAD], "i64.trunc_f32_s": [0xAE], "i64.trunc_f32_u": [0xAF],
    "i64.trunc_f64_s": [0xB0], "i64.trunc_f64_u": [0xB1], "f32.convert_i32_s": [0xB2],
    "f32.convert_i32_u": [0xB3], "f32.convert_i64_s": [0xB4], "f32.convert_i64_u": [0xB5],
    "f32.demote_f64": [0xB6], "f64.convert_i32_s": [0xB7], "f64.convert_i32_u": [0xB8],
    "f64.convert_i64_s": [0xB9], "f64.convert_i64_u": [0xBA], "f64.promote_f32": [0xBB],
    "i32.reinterpret_f32": [0xBC], "i64.reinterpret_f64": [0xBD],
    "f32.reinterpret_i32": [0xBE], "f64.reinterpret_i64": [0xBF],
    "i32.extend8_s": [0xC0], "i32.extend16_s": [0xC1], "i64.extend8_s": [0xC2],
    "i64.extend16_s": [0xC3], "i64.extend32_s": [0xC4],
    "i32.trunc_sat_f32_s": [0xFC, 0x00], "i32.trunc_sat_f32_u": [0xFC, 0x01],
    "i32.trunc_sat_f64_s": [0xFC, 0x02], "i32.trunc_sat_f64_u": [0xFC, 0x03],
    "i64.trunc_sat_f32_s": [0xFC, 0x04], "i64.trunc_sat_f32_u": [0xFC, 0x05],
    "i64.trunc_sat_f64_s": [0xFC, 0x06], "i64.trunc_sat_f64_u": [0xFC, 0x07],
}


def test_golden_tables_cover_the_whole_op_table() -> None:
    names = {op.name for op in OPS}
    assert names == set(MEMORY_OPS) | set(PLAIN_OPS)
    assert not set(MEMORY_OPS) & set(PLAIN_OPS)


def test_op_table_opcodes_match_golden() -> None:
    for op in OPS:
        if op.name in MEMORY_OPS:
            assert op.opcode == (MEMORY_OPS[op.name][0],), op.name
            assert op.align_log2 == MEMORY_OPS[op.name][1], op.name


@pytest.mark.parametrize("name", sorted(PLAIN_OPS))
def test_plain_op_bytes(name: str) -> None:
    b = InstrBuilder()
    b.op(name)
    assert b.finish() == bytes(PLAIN_OPS[name])


@pytest.mark.parametrize("name", sorted(MEMORY_OPS))
def test_memory_op_bytes(name: str) -> None:
    opcode, align = MEMORY_OPS[name]
    b = InstrBuilder()
    b.op(name)
    b.op(name, offset=300)
    b.op(name, offset=2**32 - 1)
    assert b.finish() == bytes([opcode, align, 0x00,
                                opcode, align, 0xAC, 0x02,
                                opcode, align, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])


def test_memory_offset_out_of_range() -> None:
    with pytest.raises(ValueError):
        InstrBuilder().op("i32.load", offset=2**32)
    with pytest.raises(ValueError):
        InstrBuilder().op("i32.add", offset=4)
    with pytest.raises(KeyError):
        InstrBuilder().op("i32.frobnicate")


def test_control_opcode_table() -> None:
    assert CONTROL_OPCODES == {
        "unreachable": 0x00, "nop": 0x01, "block": 0x02, "loop": 0x03, "if": 0x04,
        "else": 0x05, "end": 0x0B, "br": 0x0C, "br_if": 0x0D, "br_table": 0x0E,
        "return": 0x0F, "call": 0x10, "call_indirect": 0x11, "return_call": 0x12,
        "return_call_indirect": 0x13, "drop": 0x1A, "select": 0x1B, "local.get": 0x20,
        "local.set": 0x21, "local.tee": 0x22, "global.get": 0x23, "global.set": 0x24,
        "i32.const": 0x41, "i64.const": 0x42, "f32.const": 0x43, "f64.const": 0x44,
    }


CONTROL_CASES: list[tuple[str, list[int]]] = [
    ("b.unreachable()", [0x00]),
    ("b.nop()", [0x01]),
    ("b.block(); b.end()", [0x02, 0x40, 0x0B]),
    ("b.block(ValType.I32); b.end()", [0x02, 0x7F, 0x0B]),
    ("b.loop(); b.end()", [0x03, 0x40, 0x0B]),
    ("b.loop(ValType.F64); b.end()", [0x03, 0x7C, 0x0B]),
    ("b.if_(); b.else_(); b.end()", [0x04, 0x40, 0x05, 0x0B]),
    ("b.if_(ValType.I64); b.else_(); b.end()", [0x04, 0x7E, 0x05, 0x0B]),
    ("b.block(3); b.end()", [0x02, 0x03, 0x0B]),
    ("b.br(0)", [0x0C, 0x00]),
    ("b.br(2)", [0x0C, 0x02]),
    ("b.br_if(1)", [0x0D, 0x01]),
    ("b.br_table([0, 1, 2], 1)", [0x0E, 0x03, 0x00, 0x01, 0x02, 0x01]),
    ("b.br_table([], 0)", [0x0E, 0x00, 0x00]),
    ("b.return_()", [0x0F]),
    ("b.call(5)", [0x10, 0x05]),
    ("b.call(200)", [0x10, 0xC8, 0x01]),
    ("b.call_indirect(3)", [0x11, 0x03, 0x00]),
    ("b.call_indirect(3, 1)", [0x11, 0x03, 0x01]),
    ("b.return_call(7)", [0x12, 0x07]),
    ("b.return_call_indirect(2)", [0x13, 0x02, 0x00]),
    ("b.drop()", [0x1A]),
    ("b.select()", [0x1B]),
    ("b.op('select')", [0x1B]),
    ("b.local_get(1)", [0x20, 0x01]),
    ("b.local_set(128)", [0x21, 0x80, 0x01]),
    ("b.local_tee(3)", [0x22, 0x03]),
    ("b.global_get(0)", [0x23, 0x00]),
    ("b.global_set(4)", [0x24, 0x04]),
    ("b.i32_const(-1)", [0x41, 0x7F]),
    ("b.i64_const(128)", [0x42, 0x80, 0x01]),
    ("b.f32_const(1.0)", [0x43, 0x00, 0x00, 0x80, 0x3F]),
    ("b.f32_const(-0.0)", [0x43, 0x00, 0x00, 0x00, 0x80]),
    ("b.f32_const_bits(0x7FA00001)", [0x43, 0x01, 0x00, 0xA0, 0x7F]),
    ("b.f32_const(float('inf'))", [0x43, 0x00, 0x00, 0x80, 0x7F]),
    ("b.f32_const(1e300)", [0x43, 0x00, 0x00, 0x80, 0x7F]),
    ("b.f64_const(1.0)", [0x44, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F]),
    ("b.f64_const(-2.5)", [0x44, 0, 0, 0, 0, 0, 0, 0x04, 0xC0]),
    ("b.f64_const_bits(0x7FF0000000000001)", [0x44, 0x01, 0, 0, 0, 0, 0, 0xF0, 0x7F]),
    ("b.f64_const_bits(0xFFF8000000000000)", [0x44, 0, 0, 0, 0, 0, 0, 0xF8, 0xFF]),
]


@pytest.mark.parametrize(("build", "expected"), CONTROL_CASES)
def test_control_and_constant_bytes(build: str, expected: list[int]) -> None:
    b = InstrBuilder()
    b.block()
    b.block()
    exec(build, {"b": b, "ValType": ValType})
    b.end()
    b.end()
    assert b.finish() == bytes([0x02, 0x40, 0x02, 0x40] + expected + [0x0B, 0x0B])


def test_every_control_opcode_has_a_golden_case() -> None:
    covered: set[int] = set()
    for _, expected in CONTROL_CASES:
        covered.update(expected[:1])
    covered.update([0x05, 0x0B])  # else and end appear inside the block cases
    assert set(CONTROL_OPCODES.values()) <= covered


def test_value_type_codes() -> None:
    assert ValType.I32.code == 0x7F
    assert ValType.I64.code == 0x7E
    assert ValType.F32.code == 0x7D
    assert ValType.F64.code == 0x7C
    buf = bytearray()
    encode_functype(buf, FuncType((ValType.I32, ValType.I64, ValType.F32, ValType.F64),
                                  ValType.F64))
    assert buf == bytes([0x60, 0x04, 0x7F, 0x7E, 0x7D, 0x7C, 0x01, 0x7C])
    buf = bytearray()
    encode_functype(buf, FuncType())
    assert buf == bytes([0x60, 0x00, 0x00])


def test_section_id_table() -> None:
    assert SECTION_IDS == {
        "custom": 0, "type": 1, "import": 2, "function": 3, "table": 4, "memory": 5,
        "global": 6, "export": 7, "start": 8, "element": 9, "code": 10, "data": 11,
        "datacount": 12,
    }


def _sections(wasm: bytes) -> list[tuple[int, bytes]]:
    assert wasm[:8] == bytes([0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00])
    out: list[tuple[int, bytes]] = []
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size = 0
        shift = 0
        pos += 1
        while True:
            byte = wasm[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        out.append((sid, wasm[pos:pos + size]))
        pos += size
    assert pos == len(wasm)
    return out


def full_module() -> WasmModule:
    """A module with every section."""
    m = WasmModule(name="all")
    void = FuncType()
    imp = m.import_func("env", "ext", void, name="ext")
    f = m.add_function(void, name="init")
    m.function(f).body = bytes([0x10, imp])  # call $ext
    m.set_table(2)
    m.set_memory(1, 2)
    m.add_global(ValType.I32, True, 7, name="g")
    m.export_func("init", f)
    m.start = f
    m.add_elements(1, [f])
    m.add_data(0, b"ab", name="d")
    m.data_count = True
    m.custom_sections.append(CustomSection("note", b"xyz"))
    return m


def test_section_ids_and_order() -> None:
    ids = [sid for sid, _ in _sections(encode_module(full_module()))]
    assert ids == [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0C, 0x0A, 0x0B,
                   0x00, 0x00]


def test_full_module_golden_bytes() -> None:
    sections = dict(_sections(encode_module(full_module()))[:-2])
    assert sections[1] == bytes([0x01, 0x60, 0x00, 0x00])
    assert sections[2] == bytes([0x01, 0x03]) + b"env" + bytes([0x03]) + b"ext" + bytes(
        [0x00, 0x00])
    assert sections[3] == bytes([0x01, 0x00])
    assert sections[4] == bytes([0x01, 0x70, 0x00, 0x02])
    assert sections[5] == bytes([0x01, 0x01, 0x01, 0x02])
    assert sections[6] == bytes([0x01, 0x7F, 0x01, 0x41, 0x07, 0x0B])
    assert sections[7] == (bytes([0x02, 0x06]) + b"memory" + bytes([0x02, 0x00])
                           + bytes([0x04]) + b"init" + bytes([0x00, 0x01]))
    assert sections[8] == bytes([0x01])
    assert sections[9] == bytes([0x01, 0x00, 0x41, 0x01, 0x0B, 0x01, 0x01])
    assert sections[12] == bytes([0x01])
    assert sections[10] == bytes([0x01, 0x04, 0x00, 0x10, 0x00, 0x0B])
    assert sections[11] == bytes([0x01, 0x00, 0x41, 0x00, 0x0B, 0x02]) + b"ab"


def test_custom_and_name_sections_golden() -> None:
    custom, names = _sections(encode_module(full_module()))[-2:]
    assert custom == (0x00, bytes([0x04]) + b"note" + b"xyz")
    assert names == (0x00, bytes([0x04]) + b"name"
                     + bytes([0x00, 0x04, 0x03]) + b"all"                      # module
                     + bytes([0x01, 0x0C, 0x02, 0x00, 0x03]) + b"ext"          # functions
                     + bytes([0x01, 0x04]) + b"init"
                     + bytes([0x07, 0x04, 0x01, 0x00, 0x01]) + b"g"            # globals
                     + bytes([0x09, 0x04, 0x01, 0x00, 0x01]) + b"d")           # data


def test_locals_are_run_length_compressed() -> None:
    m = WasmModule()
    I32, I64 = ValType.I32, ValType.I64
    m.add_function(FuncType(), [I32, I32, I32, I64, I32, I64, I64])
    code = dict(_sections(encode_module(m)))[10]
    assert code == bytes([0x01, 0x0A, 0x04, 0x03, 0x7F, 0x01, 0x7E, 0x01, 0x7F, 0x02, 0x7E,
                          0x0B])


def test_empty_module() -> None:
    assert encode_module(WasmModule()) == bytes([0x00, 0x61, 0x73, 0x6D, 0x01, 0, 0, 0])
