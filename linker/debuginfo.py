"""DWARF of the linked C objects, relocated into the output (lld's custom sections).

clang's `-g` objects carry `.debug_info`, `.debug_line`, `.debug_str`, ...
as custom sections with relocations (tool-conventions `Debugging.md`,
`Linking.md`).  As lld does (`OutputSections.cpp`, `InputChunks.cpp`), each
output `.debug_*` section is the concatenation, in load order, of that
section of every loaded C object, and each relocation is patched:

* `R_WASM_FUNCTION_OFFSET_I32`: the function's offset in the output code
  section's contents (the body, after its size LEB) plus the addend, an
  offset into the body; the body was copied unchanged except the locals
  vector, which was re-encoded, so an addend past it moves by the change in
  its length.  This is why relocation sites are not compressed when debug
  sections are written (as wasm-ld refuses `--compress-relocations` with
  debug info): an offset into compressed code would need every site's width;
* `R_WASM_SECTION_OFFSET_I32`: where the object's piece of the named section
  starts in the output section, plus the addend;
* `R_WASM_MEMORY_ADDR_*`: the data symbol's address; `R_WASM_GLOBAL_INDEX_I32`
  (`__stack_pointer` in frame bases), `R_WASM_FUNCTION_INDEX_*`,
  `R_WASM_TABLE_INDEX_*`: the output index or slot.

A symbol whose definition is not in the output (dead, or another object's
definition won) gets lld's tombstone: 0xfffffffe in `.debug_ranges` and
`.debug_loc` (where -1 would start a base-address entry), 0xffffffff in the
other sections, so `llvm-dwarfdump` shows "dead code" instead of a wrong
address.  IR objects carry no DWARF.
"""

from __future__ import annotations

from collections.abc import Sequence

from linker.marklive import LiveSet
from linker.store.objfile import EntityRecord, ObjectFile
from linker.store.store import Store
from linker.store.wasmobj import Reloc, SymKind, WasmObject
from linker.wasm.leb128 import read_uleb, uleb
from linker.wasm.reloc import RelocType
from linker.writer import EmitResult

DEBUG_PREFIX = ".debug_"
_R = RelocType
_FUNC_INDEX = frozenset({_R.FUNCTION_INDEX_I32, _R.FUNCTION_INDEX_LEB})
_TABLE = frozenset({_R.TABLE_INDEX_I32, _R.TABLE_INDEX_SLEB})
_MEMORY = frozenset({_R.MEMORY_ADDR_I32, _R.MEMORY_ADDR_LEB, _R.MEMORY_ADDR_SLEB})
_GLOBAL = frozenset({_R.GLOBAL_INDEX_I32, _R.GLOBAL_INDEX_LEB})
_LEB = frozenset({_R.MEMORY_ADDR_LEB, _R.FUNCTION_INDEX_LEB, _R.GLOBAL_INDEX_LEB})
_SLEB = frozenset({_R.MEMORY_ADDR_SLEB, _R.TABLE_INDEX_SLEB})


class DebugInfoError(Exception):
    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file, self.reason = file, reason


def debug_objects(store: Store) -> list[ObjectFile]:
    """The loaded C objects that carry DWARF, in load order."""
    return [o for o in store.objects if not o.has_ir
            and any(n.startswith(DEBUG_PREFIX) for n in o.wasm().custom_sections)]


def tombstone(section: str) -> int:
    return 0xFFFFFFFE if section in (".debug_ranges", ".debug_loc") else 0xFFFFFFFF


class _Output:
    """What the relocations resolve against: the output's code layout and symbols."""

    def __init__(self, store: Store, live: LiveSet, emitted: EmitResult, wasm: bytes) -> None:
        self.store, self.live, self.emitted = store, live, emitted
        self.imports = len(emitted.module.imports)
        self.bodies = _code_bodies(wasm)
        self.globals = {g.name: i for i, g in enumerate(emitted.module.globals)
                        if g.name is not None}

    def own(self, obj: ObjectFile, name: str) -> EntityRecord | None:
        """`obj`'s live definition of `name` (an alias: of its function or
        segment), or None when the output does not hold it."""
        rec = self.store.defined.get(name)
        if rec is None or rec.obj is not obj:
            return None
        if rec.alias is not None:
            target = self.store.defined.get(rec.alias[0])
            if target is None or target.obj is not obj or not self.live.is_live(target):
                return None
            return rec
        return rec if self.live.is_live(rec) else None

    def function_offset(self, obj: ObjectFile, w: WasmObject, name: str,
                        addend: int) -> int | None:
        rec = self.own(obj, name)
        if rec is None:
            return None
        symbol = rec.alias[0] if rec.alias is not None else rec.name
        index = self.emitted.func_indices.get(symbol)
        primary = self.store.defined[symbol]
        if index is None or index < self.imports or primary.chunk < 0:
            return None
        start, out_locals = self.bodies[index - self.imports]
        if addend <= 0:
            return start + addend
        in_locals = _locals_length(w.function_body(primary.chunk))
        return start + (addend if addend < in_locals else addend + out_locals - in_locals)

    def address(self, obj: ObjectFile, name: str, addend: int) -> int | None:
        rec = self.own(obj, name)
        if rec is None:
            return None
        addresses = self.emitted.memory.addresses
        if rec.alias is not None:
            base = addresses.get(rec.alias[0])
            return None if base is None else base + rec.alias[1] + addend
        base = addresses.get(rec.name)
        return None if base is None else base + addend


def debug_sections(store: Store, live: LiveSet, emitted: EmitResult,
                   wasm: bytes) -> list[tuple[str, bytes]]:
    """The output's `.debug_*` sections (name, payload), relocated; [] without DWARF."""
    objects = debug_objects(store)
    if not objects:
        return []
    out = _Output(store, live, emitted, wasm)
    sections: dict[str, bytearray] = {}
    bases: dict[int, dict[str, int]] = {}
    for obj in objects:
        w = obj.wasm()
        mine = bases.setdefault(id(obj), {})
        for name in w.custom_sections:
            if name.startswith(DEBUG_PREFIX):
                mine[name] = len(sections.setdefault(name, bytearray()))
                sections[name] += w.custom_section(name) or b""
    for obj in objects:
        _relocate_object(obj, out, sections, bases)
    return [(name, bytes(data)) for name, data in sections.items()]


def _relocate_object(obj: ObjectFile, out: _Output, sections: dict[str, bytearray],
                     bases: dict[int, dict[str, int]]) -> None:
    w = obj.wasm()
    relocs = w.custom_relocs
    mine = bases[id(obj)]
    for index, (_sid, name, _s, _e) in enumerate(w.sections):
        if name not in mine or index not in relocs:
            continue
        data, base = sections[name], mine[name]
        for rel in relocs[index]:
            value = _value(obj, w, rel, out, mine, name)
            _patch(data, base + rel.offset, rel.type, value)


def _value(obj: ObjectFile, w: WasmObject, rel: Reloc, out: _Output,
           mine: dict[str, int], section: str) -> int:
    rtype = rel.type
    sym = w.symbols[rel.index]
    if rtype == _R.SECTION_OFFSET_I32:
        if sym.kind is not SymKind.SECTION or sym.name not in mine:
            raise DebugInfoError(obj.name, f"{section}: section offset into '{sym.name}', "
                                           "which is not a debug section")
        return mine[sym.name] + rel.addend
    name = obj.symbol_name(rel.index)
    value: int | None
    if rtype == _R.FUNCTION_OFFSET_I32:
        value = out.function_offset(obj, w, name, rel.addend)
    elif rtype in _MEMORY:
        value = out.address(obj, name, rel.addend)
    elif rtype in _GLOBAL:
        value = out.globals.get(name)
    elif rtype in _FUNC_INDEX:
        value = out.emitted.func_indices.get(name)
    elif rtype in _TABLE:
        value = out.emitted.table.slots.get(name)
    else:
        raise DebugInfoError(obj.name, f"{section}: unsupported relocation type "
                                       f"{RelocType(rtype).name} against '{name}'")
    return tombstone(section) if value is None else value


def _patch(data: bytearray, pos: int, rtype: int, value: int) -> None:
    """Write `value` at a site: 4 bytes for the *_I32 types, else a padded 5-byte LEB."""
    if rtype not in _LEB and rtype not in _SLEB:
        data[pos:pos + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")
        return
    v = value & 0xFFFFFFFF
    if rtype in _SLEB and v >= 1 << 31:
        v -= 1 << 32
    for k in range(4):
        data[pos + k] = (v & 0x7F) | 0x80
        v >>= 7
    data[pos + 4] = v & 0x7F


def _locals_length(body: bytes | bytearray) -> int:
    """Bytes of the locals vector at the start of a function body."""
    n, pos = read_uleb(body, 0)
    for _ in range(n):
        _count, pos = read_uleb(body, pos)
        pos += 1
    return pos


def _code_bodies(wasm: bytes) -> list[tuple[int, int]]:
    """Per defined function of the output: (offset of its body in the code
    section's contents, length of its locals vector)."""
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, start = read_uleb(wasm, pos + 1)
        if sid == 10:
            return _bodies(wasm, start, start + size)
        pos = start + size
    return []


def _bodies(wasm: bytes, start: int, end: int) -> list[tuple[int, int]]:
    count, pos = read_uleb(wasm, start)
    out: list[tuple[int, int]] = []
    for _ in range(count):
        size, body = read_uleb(wasm, pos)
        out.append((body - start, _locals_length(wasm[body:body + size])))
        pos = body + size
    return out


def custom_section_bytes(sections: Sequence[tuple[str, bytes]]) -> bytes:
    """The encoded custom sections, to append to a module."""
    out = bytearray()
    for name, payload in sections:
        content = uleb(len(name.encode())) + name.encode() + payload
        out.append(0)
        out += uleb(len(content))
        out += content
    return bytes(out)
