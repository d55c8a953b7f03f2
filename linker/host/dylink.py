"""Read what a dynamic loader needs from a linked wasm module: `dylink.0`, imports, exports.

The `dylink.0` custom section is defined by the WebAssembly tool-conventions
document DynamicLinking.md: a sequence of subsections, each a type byte, a
LEB128 size and a payload:

* 1 ``MEM_INFO``: memory size, memory alignment (log2), table size, table
  alignment (log2): the region the loader must reserve for the module;
* 2 ``NEEDED``: the names of the shared libraries the module needs;
* 3 ``EXPORT_INFO``: flags of exported symbols (``TLS`` = 0x100);
* 4 ``IMPORT_INFO``: flags of imported symbols (``WEAK`` = 0x1).

Besides that section the loader needs each import (module, name, kind,
mutability), each export (name, kind, index), and the initial value of
every global that is an ``i32.const``: a module's exported data symbols are
immutable globals holding the symbol's offset from ``__memory_base``, so the
loader can compute every data address before it instantiates anything.  The
limits of a defined memory and table tell how large they start.

This is a one-pass section reader (WebAssembly core spec, chapter 5,
"Binary format"); it decodes nothing of the code section.
"""

from __future__ import annotations

import attrs

from linker.wasm.leb128 import read_sleb, read_uleb

__all__ = [
    "DYLINK_SECTION",
    "EXPORT_TLS",
    "IMPORT_WEAK",
    "DylinkError",
    "DylinkInfo",
    "LinkedModule",
    "ModuleExport",
    "ModuleImport",
    "read_linked_module",
]

DYLINK_SECTION = "dylink.0"
SPLIT_SECTION = "irld.split"   # linker.split: the lazily loaded secondary module
_MEM_INFO, _NEEDED, _EXPORT_INFO, _IMPORT_INFO = 1, 2, 3, 4
IMPORT_WEAK = 0x1
EXPORT_TLS = 0x100
_KINDS = ("func", "table", "memory", "global")


class DylinkError(Exception):
    """The module is not one the loader can read; the message says why."""


@attrs.frozen(slots=True)
class DylinkInfo:
    """The contents of a `dylink.0` section."""

    memory_size: int = 0
    memory_align: int = 0  # log2 of the alignment
    table_size: int = 0
    table_align: int = 0
    needed: tuple[str, ...] = ()
    export_flags: tuple[tuple[str, int], ...] = ()
    import_flags: tuple[tuple[str, str, int], ...] = ()

    def weak_import(self, module: str, name: str) -> bool:
        return any(m == module and n == name and f & IMPORT_WEAK for m, n, f in self.import_flags)

    def tls_export(self, name: str) -> bool:
        return any(n == name and f & EXPORT_TLS for n, f in self.export_flags)


@attrs.frozen(slots=True)
class ModuleImport:
    module: str
    name: str
    kind: str  # func, table, memory, global
    mutable: bool = False


@attrs.frozen(slots=True)
class ModuleExport:
    name: str
    kind: str
    index: int


@attrs.frozen(slots=True)
class LinkedModule:
    """The loader's view of one module."""

    dylink: DylinkInfo | None
    imports: tuple[ModuleImport, ...]
    exports: tuple[ModuleExport, ...]
    global_values: dict[int, int]  # global index -> i32.const initial value (defined globals)
    global_mutable: dict[int, bool]
    memory_pages: int | None  # initial pages of a defined memory; None if imported or absent
    table_size: int | None  # initial size of a defined table
    split: bytes | None = None  # the payload of an `irld.split` section

    def export(self, name: str) -> ModuleExport | None:
        return next((e for e in self.exports if e.name == name), None)


def _name(data: bytes, pos: int) -> tuple[str, int]:
    size, pos = read_uleb(data, pos)
    if pos + size > len(data):
        raise DylinkError("truncated name")
    try:
        return data[pos:pos + size].decode(), pos + size
    except UnicodeDecodeError:
        raise DylinkError("a name is not UTF-8") from None


def _limits(data: bytes, pos: int) -> tuple[int, int]:
    flags, pos = read_uleb(data, pos)
    minimum, pos = read_uleb(data, pos)
    if flags & 1:
        _, pos = read_uleb(data, pos)
    return minimum, pos


def _names(body: bytes, pos: int, count: int) -> tuple[list[str], int]:
    names = []
    for _ in range(count):
        name, pos = _name(body, pos)
        names.append(name)
    return names, pos


def read_dylink(payload: bytes) -> DylinkInfo:
    """Parse the payload of a `dylink.0` section; unknown subsections are skipped."""
    mem = [0, 0, 0, 0]
    needed: list[str] = []
    exports: list[tuple[str, int]] = []
    imports: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(payload):
        kind = payload[pos]
        size, pos = read_uleb(payload, pos + 1)
        body, pos = payload[pos:pos + size], pos + size
        count, p = read_uleb(body, 0) if body else (0, 0)
        if kind == _MEM_INFO:
            p = 0
            for i in range(4):
                mem[i], p = read_uleb(body, p)
        elif kind == _NEEDED:
            needed, p = _names(body, p, count)
        elif kind == _EXPORT_INFO:
            for _ in range(count):
                name, p = _name(body, p)
                flags, p = read_uleb(body, p)
                exports.append((name, flags))
        elif kind == _IMPORT_INFO:
            for _ in range(count):
                (module, name), p = _names(body, p, 2)
                flags, p = read_uleb(body, p)
                imports.append((module, name, flags))
    return DylinkInfo(mem[0], mem[1], mem[2], mem[3], tuple(needed), tuple(exports),
                      tuple(imports))


class _Reader:
    """Section handlers filling in one LinkedModule's fields."""

    def __init__(self) -> None:
        self.dylink: DylinkInfo | None = None
        self.imports: list[ModuleImport] = []
        self.exports: list[ModuleExport] = []
        self.globals: dict[int, int] = {}
        self.mutable: dict[int, bool] = {}
        self.imported_globals = 0
        self.memory_pages: int | None = None
        self.table_size: int | None = None
        self.split: bytes | None = None

    def custom(self, body: bytes) -> None:
        name, pos = _name(body, 0)
        if name == DYLINK_SECTION:
            self.dylink = read_dylink(body[pos:])
        elif name == SPLIT_SECTION:
            self.split = body[pos:]

    def imports_section(self, body: bytes) -> None:
        count, pos = read_uleb(body, 0)
        for _ in range(count):
            module, pos = _name(body, pos)
            name, pos = _name(body, pos)
            kind = body[pos]
            pos += 1
            mutable = False
            if kind == 0:
                _, pos = read_uleb(body, pos)
            elif kind == 1:
                _, pos = _limits(body, pos + 1)
            elif kind == 2:
                _, pos = _limits(body, pos)
            elif kind == 3:
                mutable = body[pos + 1] == 1
                pos += 2
                self.imported_globals += 1
            else:
                raise DylinkError(f"unknown import kind {kind}")
            self.imports.append(ModuleImport(module, name, _KINDS[kind], mutable))

    def table_section(self, body: bytes) -> None:
        count, pos = read_uleb(body, 0)
        if count:
            self.table_size, _ = _limits(body, pos + 1)

    def memory_section(self, body: bytes) -> None:
        count, pos = read_uleb(body, 0)
        if count:
            self.memory_pages, _ = _limits(body, pos)

    def global_section(self, body: bytes) -> None:
        count, pos = read_uleb(body, 0)
        for i in range(count):
            index = self.imported_globals + i
            self.mutable[index] = body[pos + 1] == 1
            pos += 2
            if body[pos] == 0x41:  # i32.const
                self.globals[index], pos = read_sleb(body, pos + 1)
            else:
                pos = _skip_expr(body, pos)
                continue
            if body[pos] != 0x0B:
                pos = _skip_expr(body, pos)
            else:
                pos += 1

    def export_section(self, body: bytes) -> None:
        count, pos = read_uleb(body, 0)
        for _ in range(count):
            name, pos = _name(body, pos)
            kind = body[pos]
            index, pos = read_uleb(body, pos + 1)
            if kind < len(_KINDS):
                self.exports.append(ModuleExport(name, _KINDS[kind], index))


def _skip_expr(body: bytes, pos: int) -> int:
    """Skip a constant expression (const, global.get, ref.func, ref.null) up to its `end`."""
    while body[pos] != 0x0B:
        op = body[pos]
        pos += 1
        if op in (0x41, 0x42):
            _, pos = read_sleb(body, pos)
        elif op == 0x43:
            pos += 4
        elif op == 0x44:
            pos += 8
        elif op in (0x23, 0xD2):
            _, pos = read_uleb(body, pos)
        elif op == 0xD0:
            pos += 1
    return pos + 1


def read_linked_module(data: bytes) -> LinkedModule:
    """Read the loader's view of a linked module; raises DylinkError on a malformed one."""
    if data[:8] != b"\0asm\x01\0\0\0":
        raise DylinkError("not a wasm module (bad magic or version)")
    reader = _Reader()
    handlers = {0: reader.custom, 2: reader.imports_section, 4: reader.table_section,
                5: reader.memory_section, 6: reader.global_section, 7: reader.export_section}
    pos = 8
    try:
        while pos < len(data):
            section = data[pos]
            size, pos = read_uleb(data, pos + 1)
            if pos + size > len(data):
                raise DylinkError(f"section {section} runs past the end of the file")
            handler = handlers.get(section)
            if handler is not None:
                handler(bytes(data[pos:pos + size]))
            pos += size
    except (IndexError, ValueError) as exc:
        raise DylinkError(f"malformed module: {exc or 'truncated'}") from None
    return LinkedModule(reader.dylink, tuple(reader.imports), tuple(reader.exports),
                        reader.globals, reader.mutable, reader.memory_pages, reader.table_size,
                        reader.split)
