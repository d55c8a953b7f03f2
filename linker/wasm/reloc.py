"""Relocation types of WebAssembly relocatable objects (tool-conventions `Linking.md`).

The numbers are the standard `R_WASM_*` codes that clang, wasm-ld and irld
share.  Relocation sites in code are 5-byte padded LEBs (or 4-byte
little-endian words for the `*_I32` types), so patching never moves code.
"""

from __future__ import annotations

import enum


class RelocType(enum.IntEnum):
    FUNCTION_INDEX_LEB = 0
    TABLE_INDEX_SLEB = 1
    TABLE_INDEX_I32 = 2
    MEMORY_ADDR_LEB = 3
    MEMORY_ADDR_SLEB = 4
    MEMORY_ADDR_I32 = 5
    TYPE_INDEX_LEB = 6
    GLOBAL_INDEX_LEB = 7
    FUNCTION_OFFSET_I32 = 8
    SECTION_OFFSET_I32 = 9
    TAG_INDEX_LEB = 10
    MEMORY_ADDR_REL_SLEB = 11
    TABLE_INDEX_REL_SLEB = 12
    GLOBAL_INDEX_I32 = 13
    MEMORY_ADDR_LEB64 = 14
    MEMORY_ADDR_SLEB64 = 15
    MEMORY_ADDR_I64 = 16
    MEMORY_ADDR_REL_SLEB64 = 17
    TABLE_INDEX_SLEB64 = 18
    TABLE_INDEX_I64 = 19
    TABLE_NUMBER_LEB = 20
    MEMORY_ADDR_TLS_SLEB = 21
    FUNCTION_OFFSET_I64 = 22
    MEMORY_ADDR_LOCREL_I32 = 23
    TABLE_INDEX_REL_SLEB64 = 24
    MEMORY_ADDR_TLS_SLEB64 = 25
    FUNCTION_INDEX_I32 = 26


# The types whose entry carries an addend (Linking.md: memory addresses and offsets).
RELOC_HAS_ADDEND: frozenset[int] = frozenset({
    RelocType.MEMORY_ADDR_LEB, RelocType.MEMORY_ADDR_SLEB, RelocType.MEMORY_ADDR_I32,
    RelocType.FUNCTION_OFFSET_I32, RelocType.SECTION_OFFSET_I32,
    RelocType.MEMORY_ADDR_REL_SLEB, RelocType.MEMORY_ADDR_LEB64,
    RelocType.MEMORY_ADDR_SLEB64, RelocType.MEMORY_ADDR_I64, RelocType.MEMORY_ADDR_REL_SLEB64,
    RelocType.MEMORY_ADDR_TLS_SLEB, RelocType.FUNCTION_OFFSET_I64,
    RelocType.MEMORY_ADDR_LOCREL_I32, RelocType.MEMORY_ADDR_TLS_SLEB64,
})
