"""Where things are in an encoded wasm module: sections, code entries, data segments.

Read from the bytes themselves (wasm spec 5.5: `id, u32 size, contents`;
the code section is `vec(u32 size, locals, expr)`; an active data segment
for memory 0 is `0x00, i32.const offset end, vec(byte)`), so the report's
offsets and sizes are those of the file written, not a recomputation.
"""

from __future__ import annotations

import attrs

from linker.wasm.leb128 import read_sleb, read_uleb

SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table",
                 5: "memory", 6: "global", 7: "export", 8: "start", 9: "element",
                 10: "code", 11: "data", 12: "datacount"}
CODE, DATA = 10, 11


@attrs.frozen(slots=True)
class Section:
    id: int
    name: str                 # "code", "data", ... or the custom section's name
    offset: int               # file offset of the section id byte
    payload_offset: int       # file offset of the contents
    size: int                 # contents size (the u32 after the id)

    @property
    def total(self) -> int:
        """Bytes of the whole section: id, size prefix and contents."""
        return self.payload_offset - self.offset + self.size


@attrs.frozen(slots=True)
class CodeEntry:
    offset: int               # file offset of the entry's size prefix
    size: int                 # whole entry: size prefix + locals + body + end


@attrs.frozen(slots=True)
class SegmentInfo:
    address: int              # memory address (the i32.const offset)
    offset: int               # file offset of the segment's first data byte
    size: int                 # data bytes
    header: int               # bytes of the segment's flags, offset expression, length


def sections(wasm: bytes) -> list[Section]:
    """Every section of a module, in file order; raises ValueError on a malformed file."""
    if wasm[:4] != b"\x00asm":
        raise ValueError("not a wasm module")
    out: list[Section] = []
    pos = 8
    while pos < len(wasm):
        start = pos
        sid = wasm[pos]
        size, pos = read_uleb(wasm, pos + 1)
        name = SECTION_NAMES.get(sid, f"section {sid}")
        if sid == 0:
            n, p = read_uleb(wasm, pos)
            name = "custom " + wasm[p:p + n].decode("utf-8", "replace")
        out.append(Section(sid, name, start, pos, size))
        pos += size
    if pos != len(wasm):
        raise ValueError("section runs past the end of the module")
    return out


def code_entries(wasm: bytes, sec: Section) -> list[CodeEntry]:
    """The entries of the code section, in function order."""
    count, pos = read_uleb(wasm, sec.payload_offset)
    out = []
    for _ in range(count):
        start = pos
        size, pos = read_uleb(wasm, pos)
        pos += size
        out.append(CodeEntry(start, pos - start))
    return out


def data_segments(wasm: bytes, sec: Section) -> list[SegmentInfo]:
    """The active data segments (flags 0: memory 0, `i32.const` offset)."""
    count, pos = read_uleb(wasm, sec.payload_offset)
    out = []
    for _ in range(count):
        start = pos
        if wasm[pos] != 0 or wasm[pos + 1] != 0x41:
            raise ValueError("data segment is not active with an i32.const offset")
        address, pos = read_sleb(wasm, pos + 2)
        pos += 1                                    # end
        size, pos = read_uleb(wasm, pos)
        out.append(SegmentInfo(address & 0xFFFFFFFF, pos, size, pos - start))
        pos += size
    return out
