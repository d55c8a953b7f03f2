"""Symbols the linker itself defines, offered to discovery like an archive member.

`__heap_base` (first free address after all data, 16-byte aligned) and
`__data_end` (end of the data) are data symbols whose address the layout
decides; other phases (the FFI runtime) add functions.  They live in one
synthetic object, `<linker>`, searched after every input (`Store.fallbacks`),
so a program's own definition of such a name wins, as in lld.  Emission
recognises the records by their object and generates their contents.
"""

from __future__ import annotations

from collections.abc import Sequence

from linker.ir.types import FuncType
from linker.store.archive import Archive, archive_bytes
from linker.store.typecodec import encode_functype
from linker.store.objfile import (EntityEntry, EntityKind, LoadStats, append_irld_sections,
                                   encode_index)
from linker.store.wasmobj import ObjectWriter

LINKER_OBJECT = "<linker>"
# Their addresses: `linker.layout.MemoryLayout.linker_symbols`.
LINKER_DATA = ("__heap_base", "__data_end", "__dso_handle", "__global_base", "__stack_low",
               "__stack_high")
# C code's stack pointer (tool-conventions BasicCABI): a mutable i32 global the
# layout points at the top of the stack it reserves.
STACK_POINTER = "__stack_pointer"
# wasm-ld's function running the init functions (ctors) by priority, which
# crt1's `_start` calls; when a program references it, the linker's own
# `_start` leaves the ctors to it.
CALL_CTORS = "__wasm_call_ctors"
# libc's function running the atexit handlers and flushing stdio (wasi-libc's
# `exit.o`).  As wasm-ld does for a command whose crt1 does not call the ctors
# itself, the linker's `_start` calls it after the entry returns, so buffered
# stdout reaches the host; it is pulled from an archive when one offers it.
CALL_DTORS = "__wasm_call_dtors"


def linker_archive(funcs: Sequence[tuple[str, FuncType]] = (),
                   stats: LoadStats | None = None) -> Archive:
    """The synthetic archive holding the linker's data symbols and `funcs`."""
    entities = [EntityEntry(name, EntityKind.DATA, False, [0, 1, True], [], [], None, [])
                for name in LINKER_DATA]
    entities.append(EntityEntry(STACK_POINTER, EntityKind.GLOBAL, False, ["i32", 0], [], [],
                                None))
    entities.append(_func_entry(CALL_CTORS, FuncType()))
    # One member per runtime function: a program may define some of them itself
    # (irld's libffi defines `ffi_call`) and pull others from here.
    members = [entities] + [[_func_entry(name, ft)] for name, ft in funcs]
    return Archive.from_buffer(archive_bytes([(LINKER_OBJECT, _object(m)) for m in members]),
                               LINKER_OBJECT, stats)


def _func_entry(name: str, ft: FuncType) -> EntityEntry:
    return EntityEntry(name, EntityKind.FUNC, False, encode_functype(ft), [], [], None,
                       [[], None, [], None, []])


def _object(entities: list[EntityEntry]) -> bytes:
    index, bodies = encode_index(LINKER_OBJECT, entities)
    return append_irld_sections(ObjectWriter().finish(), index, bodies)


def is_linker_object(name: str) -> bool:
    return name.startswith(LINKER_OBJECT)
