"""What discovery keeps for emission: the live functions and data segments
and the program they make (`linker.program.build_program` builds it, the
writer emits it; `linker.writer` re-exports these classes).

A module of their own, apart from the writer: `linker.program` is compiled
(`make native`) and imports them, and the compiled code's dependency set
(every project module it imports, `linker.nativebuild`) then leaves out the
writer, the code generator and the relooper, which a C link never runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from linker.ir.types import FuncType, ValType
from linker.store.objfile import EntityRecord

if TYPE_CHECKING:
    from linker.ffi.plan import FfiPlan
    from linker.ir import model as ir


@attrs.define(slots=True)
class LiveFunc:
    """A live function: its index record, and its IR decoded only when asked for
    (code generation from IR, the interpreter); a link in the object's own
    tail-call mode copies its compiled bytes instead (`linker.relocate`)."""

    symbol: str
    rec: EntityRecord
    sig_ids: dict[str, int] = attrs.Factory(dict)   # module-local csig name -> id
    origin: str = ""
    decoded: ir.Func | None = None
    retyped: FuncType | None = None     # LTO changed its parameters (`linker.lto.dae`)
    # LTO left its IR as the object has it (`linker.lto.whole`): the object's compiled
    # code is still its code, and a native-mode LTO link copies it.
    as_compiled: bool = False

    @property
    def func(self) -> ir.Func:
        if self.decoded is None:
            from linker.ir import model as ir
            f = self.rec.obj.body(self.rec)
            assert isinstance(f, ir.Func)
            self.decoded = f
        return self.decoded

    @property
    def type(self) -> FuncType:
        if self.retyped is not None:
            return self.retyped
        ft = self.rec.func_type
        assert ft is not None
        return ft


@attrs.define(slots=True)
class LiveData:
    """A live data segment: laid out by its record's size and alignment, written
    by copying the object's segment and patching its relocations; its IR is
    decoded only for the interpreter."""

    rec: EntityRecord
    decoded: ir.Data | None = None

    @property
    def name(self) -> str:
        return self.rec.name

    @property
    def size(self) -> int:
        return int(self.rec.info[0])

    @property
    def align(self) -> int:
        return int(self.rec.info[1])

    @property
    def readonly(self) -> bool:
        return bool(self.rec.info[2])

    @property
    def items(self) -> tuple[ir.DataItem, ...]:
        if self.decoded is None:
            from linker.ir import model as ir
            d = self.rec.obj.body(self.rec)
            assert isinstance(d, ir.Data)
            self.decoded = d
        return self.decoded.items


@attrs.define(slots=True)
class LiveProgram:
    funcs: list[LiveFunc]
    imports: list[tuple[str, str, str, FuncType]]        # symbol, module, field, type
    datas: list[LiveData]
    globals: list[tuple[str, ValType, int | float]]
    exports: list[tuple[str, str]]                       # external name, symbol
    ctors: list[str]                                     # in run order
    entry: str | None
    address_taken: list[str]                             # functions, in link order
    undefined_data: list[str] = attrs.Factory(list)
    sig_ids: dict[str, int] = attrs.Factory(dict)        # FFI signature key -> link-time id
    aliases: list[tuple[str, str, int]] = attrs.Factory(list)   # data symbol, segment, offset
    stack: bool = False                                  # reserve C's stack
    stack_pointer: bool = False                          # __stack_pointer is live
    weak_funcs: list[tuple[str, FuncType]] = attrs.Factory(list)   # undefined weak functions
    weak_data: list[str] = attrs.Factory(list)           # undefined weak data (address 0)
    call_ctors: bool = False                             # __wasm_call_ctors is referenced
    call_dtors: bool = False                             # _start calls __wasm_call_dtors
    # C calls declared with another type than the callee's: (caller input, callee, type)
    mismatches: list[tuple[str, str, FuncType]] = attrs.Factory(list)
    ffi: FfiPlan | None = None                           # from the driver's "ffi" phase
    func_aliases: dict[str, str] = attrs.Factory(dict)   # another symbol of a function -> it
    # The panic pool's texts, when fixed by an earlier phase (--lto keeps the pool, and
    # so every address, of the link without it; None: from the code, as usual).
    panic_texts: list[str] | None = None
    # `_start`'s body as IR, optimized with the program (`linker.lto.start`); None:
    # the writer assembles `_start` itself.
    start: ir.Func | None = None
