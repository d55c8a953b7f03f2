"""A wasm module as it will be written: items referenced by index (wasm spec 2.5, 5.5).

`WasmModule` mirrors the binary format's sections: types, function imports,
defined functions (type index, locals, body bytes from `InstrBuilder`), one
funcref table, one memory, globals, exports, the start function, active
element and data segments, and custom sections.  Indices are assigned by the
code generator (walrus's emit step): function index space = imports first,
then defined functions (spec 2.5.1).  Debug names (the ``name`` custom
section, spec 7.4) live on the items themselves and on the module.

Only function imports are modelled: irld defines its own memory and table, so
memory, table and global imports never occur.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import attrs

from linker.ir.types import FuncType, ValType
from linker.wasm.instr import FloatBits

__all__ = [
    "ExternKind", "FuncImport", "Function", "Table", "Memory", "Global", "Export",
    "ElementSegment", "DataSegment", "CustomSection", "WasmModule", "PAGE_SIZE",
]

PAGE_SIZE = 65536


class ExternKind(enum.IntEnum):
    """Export/import descriptor kinds (spec 5.5.5, 5.5.10)."""

    FUNC = 0x00
    TABLE = 0x01
    MEMORY = 0x02
    GLOBAL = 0x03


@attrs.define(slots=True)
class FuncImport:
    module: str
    field: str
    type_index: int
    name: str | None = None  # debug name for the name section


@attrs.define(slots=True)
class Function:
    """A defined function; `body` is `InstrBuilder.finish()` output (no final end)."""

    type_index: int
    locals: list[ValType] = attrs.Factory(list)  # beyond the parameters
    body: bytes = b""
    name: str | None = None
    local_names: dict[int, str] = attrs.Factory(dict)  # by local index (params first)


@attrs.define(slots=True)
class Table:
    """The funcref table (spec 5.5.6)."""

    min: int
    max: int | None = None


@attrs.define(slots=True)
class Memory:
    """The linear memory, sizes in 64 KiB pages (spec 5.5.7)."""

    min: int
    max: int | None = None


@attrs.define(slots=True)
class Global:
    """A global with a constant initializer (spec 5.5.9).

    `init` is an int for i32/i64 (signed or unsigned spelling) and a float or
    `FloatBits` for f32/f64.
    """

    type: ValType
    mutable: bool
    init: int | float | FloatBits = 0
    name: str | None = None


@attrs.define(slots=True)
class Export:
    name: str
    kind: ExternKind
    index: int


@attrs.define(slots=True)
class ElementSegment:
    """Active segment into table 0 at ``i32.const offset`` (spec 5.5.12, flags 0)."""

    offset: int
    func_indices: list[int] = attrs.Factory(list)


@attrs.define(slots=True)
class DataSegment:
    """Active segment into memory 0 at ``i32.const offset`` (spec 5.5.14, flags 0)."""

    offset: int
    data: bytes
    name: str | None = None


@attrs.define(slots=True)
class CustomSection:
    name: str
    payload: bytes


@attrs.define(slots=True)
class WasmModule:
    types: list[FuncType] = attrs.Factory(list)
    imports: list[FuncImport] = attrs.Factory(list)
    functions: list[Function] = attrs.Factory(list)
    table: Table | None = None
    memory: Memory | None = None
    # (module, field): the memory is imported with `memory`'s limits instead of
    # defined (wasm-ld's --import-memory); it is the one memory either way.
    memory_import: tuple[str, str] | None = None
    globals: list[Global] = attrs.Factory(list)
    exports: list[Export] = attrs.Factory(list)
    start: int | None = None
    elements: list[ElementSegment] = attrs.Factory(list)
    data: list[DataSegment] = attrs.Factory(list)
    # Emit the data count section (spec 5.5.16).  Only memory.init/data.drop
    # need it, and no op of the op table is one, so it is off by default.
    data_count: bool = False
    name: str | None = None  # module name (name subsection 0)
    emit_names: bool = True
    custom_sections: list[CustomSection] = attrs.Factory(list)
    _type_map: dict[FuncType, int] = attrs.field(factory=dict, init=False, repr=False, eq=False)

    # -- building helpers

    def type_index(self, ft: FuncType) -> int:
        """The index of `ft` in `types`, appending it the first time."""
        if len(self._type_map) != len(self.types):
            self._type_map = {}
            for i, t in enumerate(self.types):
                self._type_map.setdefault(t, i)
        idx = self._type_map.get(ft)
        if idx is None:
            idx = len(self.types)
            self.types.append(ft)
            self._type_map[ft] = idx
        return idx

    def import_func(self, module: str, field: str, ft: FuncType,
                    name: str | None = None) -> int:
        """Add a function import; returns its function index.

        Imports precede defined functions in the index space, so import
        everything before defining functions.
        """
        if self.functions:
            raise ValueError("function imports must be added before defined functions")
        self.imports.append(FuncImport(module, field, self.type_index(ft), name))
        return len(self.imports) - 1

    def add_function(self, ft: FuncType, locals: Sequence[ValType] = (), body: bytes = b"",
                     name: str | None = None) -> int:
        """Add a defined function; returns its function index (set `body` later if needed)."""
        self.functions.append(Function(self.type_index(ft), list(locals), body, name))
        return len(self.imports) + len(self.functions) - 1

    def add_functions(self, fts: Sequence[FuncType], names: Sequence[str | None]) -> int:
        """Add defined functions, one per type and name, bodies set later (what
        `add_function` does for each, in one pass: a link adds every live
        function this way); returns the function index of the first."""
        first = len(self.imports) + len(self.functions)
        type_index, append = self.type_index, self.functions.append
        for ft, name in zip(fts, names, strict=True):
            append(Function(type_index(ft), [], b"", name, {}))
        return first

    def function(self, func_index: int) -> Function:
        """The defined function with function index `func_index`."""
        if func_index < len(self.imports):
            raise IndexError(f"function {func_index} is an import")
        return self.functions[func_index - len(self.imports)]

    def func_type(self, func_index: int) -> FuncType:
        if func_index < len(self.imports):
            return self.types[self.imports[func_index].type_index]
        return self.types[self.functions[func_index - len(self.imports)].type_index]

    def add_global(self, type: ValType, mutable: bool, init: int | float | FloatBits = 0,
                   name: str | None = None) -> int:
        self.globals.append(Global(type, mutable, init, name))
        return len(self.globals) - 1

    def set_memory(self, min: int, max: int | None = None, export: str | None = "memory") -> None:
        """Define the memory, exported as `export` unless None."""
        self.memory = Memory(min, max)
        if export is not None:
            self.exports.append(Export(export, ExternKind.MEMORY, 0))

    def set_table(self, min: int, max: int | None = None, export: str | None = None) -> None:
        self.table = Table(min, max)
        if export is not None:
            self.exports.append(Export(export, ExternKind.TABLE, 0))

    def export_func(self, name: str, func_index: int) -> None:
        self.exports.append(Export(name, ExternKind.FUNC, func_index))

    def export_global(self, name: str, global_index: int) -> None:
        self.exports.append(Export(name, ExternKind.GLOBAL, global_index))

    def add_data(self, offset: int, data: bytes, name: str | None = None) -> int:
        self.data.append(DataSegment(offset, bytes(data), name))
        return len(self.data) - 1

    def add_elements(self, offset: int, func_indices: Sequence[int]) -> None:
        self.elements.append(ElementSegment(offset, list(func_indices)))

    @property
    def num_funcs(self) -> int:
        return len(self.imports) + len(self.functions)

    def func_name(self, func_index: int) -> str | None:
        if func_index < len(self.imports):
            return self.imports[func_index].name
        return self.functions[func_index - len(self.imports)].name
