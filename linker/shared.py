"""`irld link --shared`: write a side module (tool-conventions DynamicLinking.md).

A side module is position independent: it imports the shared memory
(``env.memory``), function table (``env.__indirect_function_table``),
``env.__memory_base`` and ``env.__table_base`` (where the loader put its
data and table slots) and, when C's stack is live, ``env.__stack_pointer``.
Its `dylink.0` section (written first, as the convention requires) gives
the size and alignment of its data, the number of table slots it needs,
the libraries it needs (`--needed`), and the weak imports.

This emitter replaces the static writer's phase (`linker.writer`) and
reuses everything before it: the store, live-code discovery (every
non-hidden definition is a root, as `--export-dynamic`), the type checks.
The data is laid out from address 0 (`linker.layout`): each address is an
offset from ``__memory_base``; table slot i is ``__table_base + i``.

Relocations, as lld/wasm's `-shared` treats them (read for the semantics,
not copied):

* clang `-fPIC` code: ``R_WASM_GLOBAL_INDEX_LEB`` against a data or
  function symbol is its GOT entry, imported as a mutable global
  ``GOT.mem.X`` / ``GOT.func.X`` that the loader fills (so symbols can be
  interposed, as ELF's default visibility allows);
  ``R_WASM_MEMORY_ADDR_REL_SLEB`` / ``R_WASM_TABLE_INDEX_REL_SLEB`` are the
  offsets from the two bases.
* Absolute sites (irld's IR objects, whose code generator writes every
  address as ``i32.const`` with a 5-byte padded immediate): the 6 bytes of
  ``i32.const <addr>`` are rewritten in place as ``global.get <g>``, an
  equally wide instruction, where ``g`` is an internal mutable global set at
  instantiation to ``__memory_base + addr`` (or ``__table_base + slot``, or
  a GOT entry for a symbol defined elsewhere) by
  ``__wasm_apply_global_relocs``, as wasm-ld's ``GOT.data.internal``
  globals are.  So `irld compile` needs no PIC mode: every IR object can go
  into a side module.  An absolute address used as a load/store offset
  (``R_WASM_MEMORY_ADDR_LEB``, non-PIC C) cannot be rewritten and is an
  error asking for `-fPIC`, as wasm-ld reports it.
* Data relocations (pointers stored in data) become stores in
  ``__wasm_apply_data_relocs``.  The start function runs both relocation
  functions; ``__wasm_call_ctors`` (exported) runs the ctors, called by the
  loader once every module of a load is instantiated.

IR panics write their message through WASI ``fd_write`` from the side
module's own copy of the panic routine.

The FFI (`ffi_call`, closures, foreign adapters) is the module's own: the
static writer's generator (`linker.ffi.gen`) writes the call handlers and
closure pools of the signatures live in the module, position independent
(`linker.ffi.gen.Pic`): record and area addresses are ``__memory_base +
offset``, trampoline slots ``__table_base + slot`` (after the program's
slots), the FFI stack pointer is set by ``__wasm_apply_global_relocs`` and
the addresses in the closure descriptors are stored by
``__wasm_apply_data_relocs``.  Signature ids are the module's own.  With
``--closure-growth=host`` the module imports ``irld.closure_table_grow`` and
exports its dispatchers and the table (as ``__indirect_function_table``),
so the host's growth finds them through the calling instance.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import attrs

from linker.codegen import PANIC_SYMBOL, SIG_SYMBOL_PREFIX
from linker.compile import write_file_atomic
from linker.diagnostics import Diagnostic, DiagnosticError
from linker.driver import PHASES, LinkContext, LinkOptions, LinkResult, Phase, link
from linker.ffi.gen import FfiEmitter, Pic
from linker.host.dylink import read_linked_module
from linker.ir.edges import EdgeKind
from linker.ir.types import FuncType, ValType
from linker.layout import LayoutError, MemoryLayout, layout_memory
from linker.linker_symbols import CALL_CTORS, STACK_POINTER
from linker.relocate import _locals, _patch
from linker.store.objfile import ObjectFile
from linker.store.wasmobj import Reloc, SymKind
from linker.wasm.encode import encode_functype, encode_locals, encode_name, global_init_expr
from linker.wasm.instr import FloatBits
from linker.wasm.leb128 import uleb, write_uleb
from linker.wasm.module import Function
from linker.wasm.reloc import RelocType as R
from linker.writer import FD_WRITE, PROC_EXIT, WASI, LinkError, LiveProgram

__all__ = ["SharedOptions", "SharedResult", "emit_shared"]

MEMORY_BASE, TABLE_BASE = "__memory_base", "__table_base"
APPLY_DATA_RELOCS = "__wasm_apply_data_relocs"
APPLY_GLOBAL_RELOCS = "__wasm_apply_global_relocs"
_I32 = 0x7F
_PANIC_PIECES = ("panic in ", ": ", "\n")
_PANIC_IOV = "__irld_panic_iov"


@attrs.frozen(slots=True)
class SharedOptions:
    needed: tuple[str, ...] = ()
    names: bool = True
    pie: bool = False        # a main module: `_start` runs the ctors, the entry, proc_exit


@attrs.define(slots=True)
class SharedResult:
    wasm: bytes
    memory: MemoryLayout
    table_slots: dict[str, int]          # function -> slot relative to __table_base
    imports: list[tuple[str, str, str]]  # (module, name, why): what the side module needs
    code_sizes: dict[str, int]


@attrs.define(slots=True)
class _Global:
    name: str
    mutable: bool
    import_from: tuple[str, str] | None = None   # (module, field) of an imported global
    init: int = 0


class _SideFfiModule:
    """The side module's index spaces as the FFI generator sees them
    (`linker.ffi.gen.FfiModule`): FFI functions come after every other body."""

    def __init__(self, emitter: _SharedEmitter) -> None:
        self.emitter = emitter
        self.first = -1                  # function index of the first FFI function
        self.functions: list[Function] = []

    def type_index(self, ft: FuncType) -> int:
        return self.emitter.type_index(ft)

    def add_function(self, ft: FuncType, locals: Sequence[ValType] = (), body: bytes = b"",
                     name: str | None = None) -> int:
        assert self.first >= 0, "FFI functions are declared after the program's"
        self.functions.append(Function(self.type_index(ft), list(locals), body, name))
        return self.first + len(self.functions) - 1

    def function(self, func_index: int) -> Function:
        return self.functions[func_index - self.first]

    def add_global(self, type: ValType, mutable: bool, init: int | float | FloatBits = 0,
                   name: str | None = None) -> int:
        assert type is ValType.I32 and isinstance(init, int), "FFI globals are i32"
        return self.emitter.add_global(_Global(name or "__irld_ffi", mutable, None, init))


class _SharedEmitter:
    """Builds the side module's lists, then encodes them (`encode`)."""

    def __init__(self, prog: LiveProgram, opts: SharedOptions) -> None:
        self.prog, self.opts = prog, opts
        self.types: list[FuncType] = []
        self.func_imports: list[tuple[str, str, FuncType, str]] = []   # module, field, type, sym
        self.funcs: dict[str, int] = {}
        self.bodies: list[tuple[str, FuncType, list[ValType], bytes]] = []
        self.globals: list[_Global] = []
        self.global_index: dict[str, int] = {}
        self.got: dict[tuple[str, str], int] = {}            # (GOT module, symbol) -> global
        self.internal: dict[tuple[str, str, int], int] = {}   # (kind, symbol, addend) -> global
        self.exports: list[tuple[str, int, int]] = []         # name, kind, index
        self.errors: list[str] = []
        self.why: list[tuple[str, str, str]] = []
        self.defined_funcs = {lf.symbol for lf in prog.funcs}
        self.exported = {sym for _name, sym in prog.exports}

    # ------------------------------------------------------------ index spaces

    def type_index(self, ft: FuncType) -> int:
        if ft not in self.types:
            self.types.append(ft)
        return self.types.index(ft)

    def add_global(self, g: _Global) -> int:
        self.global_index[g.name] = len(self.globals)
        self.globals.append(g)
        return len(self.globals) - 1

    def got_global(self, module: str, symbol: str, why: str) -> int:
        key = (module, symbol)
        index = self.got.get(key)
        if index is None:
            if any(g.import_from is None for g in self.globals):
                raise AssertionError(f"GOT entry {module}.{symbol} missed by the prescan")
            index = self.got[key] = self.add_global(
                _Global(f"{module}.{symbol}", True, (module, symbol)))
            self.why.append((module, symbol, why))
        return index

    def run(self) -> SharedResult:
        self.add_imports()
        self.layout()
        self.prescan_got()
        self.add_defined_globals()
        self.declare_functions()
        sizes = self.relocate_functions()
        if self.ffi is not None:
            self.ffi.generate(self.memory.addresses, self.ffi_table_base, None)
        self.add_start_and_ctors()
        self.add_exports()
        if self.errors:
            raise LinkError("\n".join(self.errors))
        return SharedResult(self.encode(), self.memory, dict(self.slots),
                            [(m, n, w) for m, n, w in self.why], sizes)

    def add_imports(self) -> None:
        for name, mutable in ((MEMORY_BASE, False), (TABLE_BASE, False)):
            self.add_global(_Global(name, mutable, ("env", name)))
        if self.prog.stack_pointer:
            self.add_global(_Global(STACK_POINTER, True, ("env", STACK_POINTER)))
            self.why.append(("env", STACK_POINTER, "C code uses the stack"))
        for sym, module, field, ft in self.prog.imports:
            self.funcs[sym] = len(self.func_imports)
            self.func_imports.append((module, field, ft, sym))
            self.why.append((module, field, "called, defined by no input"))
        if self.opts.pie and self.prog.entry is not None and self.prog.entry != "_start":
            self.funcs["__irld_proc_exit"] = len(self.func_imports)
            self.func_imports.append((WASI, "proc_exit", PROC_EXIT, "__irld_proc_exit"))
            self.why.append((WASI, "proc_exit", "the entry's result is the exit status"))
        if self.needs_panic():
            self.funcs["__irld_fd_write"] = len(self.func_imports)
            self.func_imports.append((WASI, "fd_write", FD_WRITE, "__irld_fd_write"))
            self.why.append((WASI, "fd_write", "panic messages"))
        self.add_ffi()

    def add_ffi(self) -> None:
        """The module's own FFI generator, and the host functions it imports."""
        plan = self.prog.ffi
        self.ffi_module = _SideFfiModule(self)
        self.ffi: FfiEmitter | None = None
        self.ffi_table_base = 0
        if plan is None or plan.empty:
            return
        pic = Pic(self.global_index[MEMORY_BASE], self.global_index[TABLE_BASE])
        self.ffi = FfiEmitter(plan, self.ffi_module, self.funcs, pic)
        for sym, module, field, ft in self.ffi.extra_imports():
            self.funcs[sym] = len(self.func_imports)
            self.func_imports.append((module, field, ft, sym))
            self.why.append((module, field, "the FFI's closure pools grow through the host"
                             if field == "closure_table_grow" else "the FFI's host fallback"))

    def add_defined_globals(self) -> None:
        for sym, vt, init in self.prog.globals:
            if vt is not ValType.I32:
                self.errors.append(f"global {sym}: only i32 globals are supported in side modules")
            self.add_global(_Global(sym, True, None, int(init)))

    def prescan_got(self) -> None:
        """Create every GOT import before any defined global (imports come first in the index space)."""
        for lf in self.prog.funcs:
            obj = lf.rec.obj
            w = obj.wasm()
            relocs = (w.function_relocs(lf.rec.chunk) if lf.rec.relocs is None
                      else w.code_relocs_at(*lf.rec.relocs))
            for rel in relocs:
                if rel.type == R.TYPE_INDEX_LEB or rel.type == R.TABLE_NUMBER_LEB:
                    continue
                name = obj.symbol_name(rel.index)
                kind = SymKind(w.symbol_kinds()[rel.index])   # no table read when restored
                if rel.type in (R.GLOBAL_INDEX_LEB, R.GLOBAL_INDEX_I32) and kind in (
                        SymKind.DATA, SymKind.FUNCTION) and self.local_address(name, kind) is None:
                    self.global_for(name, kind, obj.name)
                elif rel.type in (R.MEMORY_ADDR_SLEB, R.TABLE_INDEX_SLEB):
                    self.got_if_external(rel.type == R.TABLE_INDEX_SLEB, name, obj)
        for d in self.prog.datas:
            obj = d.rec.obj
            w = obj.wasm()
            for rel in w.segment_relocs(d.rec.chunk):
                self.got_if_external(rel.type == R.TABLE_INDEX_I32, obj.symbol_name(rel.index), obj)

    def got_if_external(self, func: bool, name: str, obj: ObjectFile) -> None:
        if func and name not in self.slots:
            self.got_global("GOT.func", name, "address of a function defined elsewhere")
        elif not func and name not in self.data and name not in obj.strings \
                and not name.startswith(SIG_SYMBOL_PREFIX):
            self.got_global("GOT.mem", name, "address of data defined elsewhere")

    def needs_panic(self) -> bool:
        return any(lf.rec.obj.has_ir for lf in self.prog.funcs) and any(
            self.prog.funcs[i].rec.obj.strings for i in range(len(self.prog.funcs)))

    def layout(self) -> None:
        pool = list(_PANIC_PIECES) if self.needs_panic() else []
        for lf in self.prog.funcs:
            pool += [t for t in lf.rec.obj.strings.values() if t not in pool]
        extra = [(_PANIC_IOV, 44, 4)] if self.needs_panic() else []
        extra += self.ffi.memory_areas() if self.ffi is not None else []
        self.memory = layout_memory(self.prog.datas, pool, data_base=0, extra_rw=extra)
        self.data: dict[str, int] = dict(self.memory.addresses)
        for sym, segment, offset in self.prog.aliases:
            self.data[sym] = self.memory.addresses[segment] + offset
        self.slots: dict[str, int] = {}
        for sym in self.prog.address_taken:
            if sym in self.defined_funcs and sym not in self.slots:
                self.slots[sym] = len(self.slots)

    def declare_functions(self) -> None:
        base = len(self.func_imports)
        for i, lf in enumerate(self.prog.funcs):
            self.funcs[lf.symbol] = base + i
        extra = [APPLY_GLOBAL_RELOCS, APPLY_DATA_RELOCS, CALL_CTORS]
        if self.needs_panic():
            extra.insert(0, PANIC_SYMBOL)
        for j, name in enumerate(extra):
            self.funcs[name] = base + len(self.prog.funcs) + j
        self.ffi_module.first = base + len(self.prog.funcs) + len(extra)
        if self.ffi is not None:
            self.ffi.declare()
            # The trampolines' table slots follow the program's.
            self.ffi_table_base = len(self.slots)
            for idx in self.ffi.table_funcs:
                name = self.ffi_module.function(idx).name or f"__irld_ffi:{idx}"
                self.funcs[name] = idx
                self.slots[name] = len(self.slots)

    # ------------------------------------------------------------ relocation

    def relocate_functions(self) -> dict[str, int]:
        sizes = {}
        for lf in self.prog.funcs:
            obj = lf.rec.obj
            w = obj.wasm()
            fn = w.functions[lf.rec.chunk]
            body = bytearray(w.buf[fn.start:fn.end])
            relocs = (w.function_relocs(lf.rec.chunk) if lf.rec.relocs is None
                      else w.code_relocs_at(*lf.rec.relocs))
            for rel in relocs:
                self.patch_code(body, rel.offset - fn.code_offset, rel, obj, lf)
            locals_, pos = _locals(body, obj.name)
            self.bodies.append((lf.symbol, lf.type, locals_, bytes(body[pos:-1])))
            sizes[lf.symbol] = len(body) - pos - 1
        if self.needs_panic():
            self.bodies.append((PANIC_SYMBOL, FuncType((ValType.I32,) * 4), [], self.panic_body()))
        return sizes

    def patch_code(self, body: bytearray, pos: int, rel: Reloc, obj: ObjectFile,
                   lf: object) -> None:
        t = rel.type
        if t == R.TYPE_INDEX_LEB:
            _patch(body, pos, t, self.type_index(obj.wasm().types[rel.index]))
            return
        if t == R.TABLE_NUMBER_LEB:
            _patch(body, pos, t, 0)
            return
        name = obj.symbol_name(rel.index)
        kind = SymKind(obj.wasm().symbol_kinds()[rel.index])
        if t in (R.FUNCTION_INDEX_LEB, R.FUNCTION_INDEX_I32):
            index = self.funcs.get(name)
            if index is None:
                self.errors.append(f"{obj.name}: undefined function {name}")
                return
            _patch(body, pos, t, index)
        elif t in (R.GLOBAL_INDEX_LEB, R.GLOBAL_INDEX_I32):
            _patch(body, pos, t, self.global_for(name, kind, obj.name))
        elif t == R.MEMORY_ADDR_REL_SLEB:
            _patch(body, pos, t, self.data_offset(name, rel.addend, obj))
        elif t == R.TABLE_INDEX_REL_SLEB:
            _patch(body, pos, t, self.slots.get(name, 0))
        elif t in (R.MEMORY_ADDR_SLEB, R.TABLE_INDEX_SLEB):
            self.absolute_site(body, pos, rel, name, obj)
        else:
            self.errors.append(f"{obj.name}: relocation {R(t).name} cannot be used against "
                               f"symbol {name} in a side module; recompile with -fPIC")

    def global_for(self, name: str, kind: int, where: str) -> int:
        """A global relocation: a real global, or the GOT entry of a data or function symbol
        (an internal one for a symbol this module defines and does not export)."""
        local = self.local_address(name, kind)
        if local is not None:
            return self.internal_global(local)
        if kind == SymKind.DATA:
            return self.got_global("GOT.mem", name, "address of data (GOT)")
        if kind == SymKind.FUNCTION:
            return self.got_global("GOT.func", name, "address of a function (GOT)")
        index = self.global_index.get(name)
        if index is None:
            if name in (MEMORY_BASE, TABLE_BASE):
                return self.global_index[name]
            self.errors.append(f"{where}: undefined global {name}")
            return 0
        return index

    def local_address(self, name: str, kind: int) -> tuple[str, str, int] | None:
        """The internal-global key of a GOT access that cannot be interposed: the
        symbol is defined here and hidden (not exported), as wasm-ld's
        ``GOT.data.internal`` entries (irld's libffi, built hidden, needs it)."""
        if name in self.exported:
            return None
        if kind == SymKind.DATA and name in self.data:
            return ("data", name, 0)
        if kind == SymKind.FUNCTION and name in self.slots:
            return ("func", name, 0)
        return None

    def internal_global(self, key: tuple[str, str, int]) -> int:
        index = self.internal.get(key)
        if index is None:
            index = self.internal[key] = self.add_global(
                _Global(f"internal.{key[0]}.{key[1]}+{key[2]}", True))
        return index

    def data_offset(self, name: str, addend: int, obj: ObjectFile) -> int:
        text = obj.strings.get(name)
        if text is not None:
            return self.memory.pool[text] + addend
        if name not in self.data:
            self.errors.append(f"{obj.name}: {name} is not defined in this module, "
                               f"but is addressed relative to __memory_base")
            return 0
        return self.data[name] + addend

    def absolute_site(self, body: bytearray, pos: int, rel: Reloc, name: str,
                      obj: ObjectFile) -> None:
        """Rewrite ``i32.const <absolute>`` as ``global.get <internal global>`` (same width)."""
        if name.startswith(SIG_SYMBOL_PREFIX):
            _patch(body, pos, rel.type, self.prog.sig_ids[name[len(SIG_SYMBOL_PREFIX):]])
            return
        if body[pos - 1] != 0x41:
            self.errors.append(f"{obj.name}: relocation {R(rel.type).name} against {name} is "
                               f"not an i32.const; recompile with -fPIC")
            return
        if rel.type == R.TABLE_INDEX_SLEB:
            key = ("func", name, 0)
        else:
            text = obj.strings.get(name)
            key = ("pool", text, rel.addend) if text is not None else ("data", name, rel.addend)
        body[pos - 1] = 0x23
        _patch(body, pos, R.FUNCTION_INDEX_LEB, self.internal_global(key))

    # ------------------------------------------------------------ synthetic code

    def value_code(self, kind: str, name: str, addend: int) -> bytes:
        """Code pushing the run-time value of an address: base + offset, or a GOT entry."""
        if kind == "pool":
            return self.based(MEMORY_BASE, self.memory.pool[name] + addend)
        if kind == "func":
            if name in self.slots:
                return self.based(TABLE_BASE, self.slots[name])
            return _global_get(self.got_global("GOT.func", name, "address of a function"))
        if name in self.data:
            return self.based(MEMORY_BASE, self.data[name] + addend)
        got = _global_get(self.got_global("GOT.mem", name, "address of data"))
        return got + (_i32_const(addend) + b"\x6a" if addend else b"")

    def based(self, base: str, offset: int) -> bytes:
        return _global_get(self.global_index[base]) + _i32_const(offset) + b"\x6a"

    def global_relocs_body(self) -> bytes:
        code = bytearray()
        for (kind, name, addend), index in sorted(self.internal.items(), key=lambda kv: kv[1]):
            code += self.value_code(kind, name, addend) + b"\x24" + uleb(index)
        if self.ffi is not None:     # the FFI stack's bounds
            for index, offset in sorted(self.ffi.based_globals.items()):
                code += self.based(MEMORY_BASE, offset) + b"\x24" + uleb(index)
        return bytes(code)

    def data_relocs_body(self) -> tuple[bytes, bytearray]:
        """The stores of `__wasm_apply_data_relocs`, and the data image (sites zeroed)."""
        mem = self.memory
        image = bytearray(mem.data_end)
        code = bytearray()
        for d in self.prog.datas:
            obj = d.rec.obj
            w = obj.wasm()
            seg = w.segments[d.rec.chunk]
            at = mem.addresses[d.name]
            image[at:at + seg.size] = w.buf[seg.start:seg.end]
            for rel in w.segment_relocs(d.rec.chunk):
                site = at + rel.offset - seg.data_offset_in_section
                name = obj.symbol_name(rel.index)
                if rel.type == R.TABLE_INDEX_I32:
                    value = self.value_code("func", name, 0)
                elif rel.type == R.MEMORY_ADDR_I32:
                    text = obj.strings.get(name)
                    value = (self.value_code("pool", text, rel.addend) if text is not None
                             else self.value_code("data", name, rel.addend))
                else:
                    self.errors.append(f"{obj.name}: data relocation {R(rel.type).name} "
                                       f"against {name} is not supported in a side module")
                    continue
                image[site:site + 4] = bytes(4)
                code += self.based(MEMORY_BASE, site) + value + b"\x36\x02\x00"  # i32.store
        for text, addr in mem.pool.items():
            raw = text.encode()
            image[addr:addr + len(raw)] = raw
        if self.ffi is not None:
            code += self.ffi_data(image)
            region = self.ffi.stack_range()
            if region is not None and region[1] == mem.data_end:
                del image[region[0]:]     # the FFI stack: memory, not data (dylink counts it)
        return bytes(code), image

    def ffi_data(self, image: bytearray) -> bytes:
        """The FFI's data in the image; its addresses (relative) stored by code, base added."""
        assert self.ffi is not None
        for at, raw in self.ffi.data():
            image[at:at + len(raw)] = raw
        code = bytearray()
        for site, is_slot in self.ffi.data_relocs():
            value = int.from_bytes(image[site:site + 4], "little")
            image[site:site + 4] = bytes(4)
            code += self.based(MEMORY_BASE, site)
            code += self.based(TABLE_BASE if is_slot else MEMORY_BASE, value)
            code += b"\x36\x02\x00"                               # i32.store
        return bytes(code)

    def panic_body(self) -> bytes:
        """`panic in <f>: <msg>\\n` to fd 2, one fd_write per piece, then `unreachable`."""
        iov = self.memory.addresses[_PANIC_IOV]
        pool = self.memory.pool
        pieces: list[tuple[str | None, int]] = [
            (_PANIC_PIECES[0], 0), (None, 0), (_PANIC_PIECES[1], 0), (None, 2),
            (_PANIC_PIECES[2], 0)]
        code = bytearray()
        for text, param in pieces:
            code += self.based(MEMORY_BASE, iov)
            code += (self.based(MEMORY_BASE, pool[text]) if text is not None
                     else b"\x20" + uleb(param))
            code += b"\x36\x02\x00"
            code += self.based(MEMORY_BASE, iov + 4)
            code += (_i32_const(len(text.encode())) if text is not None
                     else b"\x20" + uleb(param + 1))
            code += b"\x36\x02\x00"
            code += _i32_const(2) + self.based(MEMORY_BASE, iov) + _i32_const(1)
            code += self.based(MEMORY_BASE, iov + 40)
            code += b"\x10" + uleb(self.funcs["__irld_fd_write"]) + b"\x1a"
        return bytes(code + b"\x00")

    def add_start_and_ctors(self) -> None:
        data_code, self.image = self.data_relocs_body()
        global_code = self.global_relocs_body()   # after data relocs: they may add GOT entries
        self.bodies.append((APPLY_GLOBAL_RELOCS, FuncType(), [], global_code))
        self.bodies.append((APPLY_DATA_RELOCS, FuncType(), [], data_code))
        ctors = b"".join(b"\x10" + uleb(self.funcs[sym]) for sym in self.prog.ctors)
        self.bodies.append((CALL_CTORS, FuncType(), [], ctors))
        assert len(self.func_imports) + len(self.bodies) == self.ffi_module.first
        for fn in self.ffi_module.functions:
            self.bodies.append((fn.name or "__irld_ffi", self.types[fn.type_index],
                                list(fn.locals), fn.body))
        self.start = len(self.func_imports) + len(self.bodies)
        self.bodies.append(("__wasm_apply_relocs", FuncType(), [],
                            b"\x10" + uleb(self.funcs[APPLY_GLOBAL_RELOCS])
                            + b"\x10" + uleb(self.funcs[APPLY_DATA_RELOCS])))
        self.add_entry()

    def add_entry(self) -> None:
        """A PIE main's `_start`: its ctors, the entry, and proc_exit with an i32 result."""
        entry = self.prog.entry
        if not self.opts.pie or entry is None:
            return
        if entry == "_start":          # crt1's: it calls __wasm_call_ctors itself
            self.exports.append(("_start", 0, self.funcs[entry]))
            return
        code = b"\x10" + uleb(self.funcs[CALL_CTORS]) + b"\x10" + uleb(self.funcs[entry])
        result = next(lf.type.result for lf in self.prog.funcs if lf.symbol == entry)
        if result is ValType.I32:
            code += b"\x10" + uleb(self.funcs["__irld_proc_exit"])
        elif result is not None:
            code += b"\x1a"
        index = len(self.func_imports) + len(self.bodies)
        self.bodies.append(("_start", FuncType(), [], code))
        self.exports.append(("_start", 0, index))

    def add_exports(self) -> None:
        self.exports.append((CALL_CTORS, 0, self.funcs[CALL_CTORS]))
        # The imported memory, exported again: WASI hosts (wasmtime) find the memory of a
        # WASI call's caller by this export, so a side module can call WASI itself.
        self.exports.append(("memory", 2, 0))
        override = self.ffi.export_override if self.ffi is not None else {}
        for name, sym in self.prog.exports:
            if name in override:          # a foreign export's adapter (linker.ffi)
                self.exports.append((name, 0, override[name]))
            elif sym in self.defined_funcs:
                self.exports.append((name, 0, self.funcs[sym]))
            elif sym in self.data:
                index = self.add_global(_Global(f"export.{sym}", False, None, self.data[sym]))
                self.exports.append((name, 3, index))
        if self.ffi is not None and self.ffi.plan.runtime_live:
            # The host's FFI functions (closure growth, the fallback) work on the calling
            # instance's table and dispatchers, as in a static program.
            self.exports.append(("__indirect_function_table", 1, 0))
            self.exports += [(e.name, 0, e.index) for e in self.ffi.exports()]

    # ------------------------------------------------------------ encoding

    def encode(self) -> bytes:
        out = bytearray(b"\0asm\x01\0\0\0")
        _section(out, 0, self.dylink())
        types = bytearray()
        fn_types = [self.type_index(ft) for _m, _f, ft, _s in self.func_imports]
        body_types = [self.type_index(ft) for _n, ft, _l, _b in self.bodies]
        write_uleb(types, len(self.types))
        for ft in self.types:
            encode_functype(types, ft)
        _section(out, 1, types)
        _section(out, 2, self.import_section(fn_types))
        funcs = bytearray(uleb(len(body_types)))
        for ti in body_types:
            write_uleb(funcs, ti)
        _section(out, 3, funcs)
        _section(out, 6, self.global_section())
        exports = bytearray(uleb(len(self.exports)))
        for name, kind, index in self.exports:
            encode_name(exports, name)
            exports.append(kind)
            write_uleb(exports, index)
        _section(out, 7, exports)
        _section(out, 8, uleb(self.start))
        if self.slots:
            elem = bytearray(b"\x01\x00") + _global_get(self.global_index[TABLE_BASE]) + b"\x0b"
            write_uleb(elem, len(self.slots))
            for sym in self.slots:
                write_uleb(elem, self.funcs[sym])
            _section(out, 9, elem)
        code = bytearray(uleb(len(self.bodies)))
        for _n, _ft, locals_, body in self.bodies:
            fbody = bytearray()
            encode_locals(fbody, locals_)
            fbody += body + b"\x0b"
            write_uleb(code, len(fbody))
            code += fbody
        _section(out, 10, code)
        data = bytearray(b"\x01\x00") + _global_get(self.global_index[MEMORY_BASE]) + b"\x0b"
        write_uleb(data, len(self.image))
        data += self.image
        _section(out, 11, data)
        if self.opts.names:
            _section(out, 0, self.name_section())
        return bytes(out)

    def dylink(self) -> bytearray:
        out = bytearray()
        encode_name(out, "dylink.0")
        mem = bytearray()
        align = max((d.align for d in self.prog.datas), default=1)
        for v in (self.memory.data_end, align.bit_length() - 1, len(self.slots), 0):
            write_uleb(mem, v)
        out += b"\x01" + uleb(len(mem)) + mem
        if self.opts.needed:
            needed = bytearray(uleb(len(self.opts.needed)))
            for name in self.opts.needed:
                encode_name(needed, name)
            out += b"\x02" + uleb(len(needed)) + needed
        return out

    def import_section(self, fn_types: Sequence[int]) -> bytearray:
        imported = [g for g in self.globals if g.import_from is not None]
        out = bytearray(uleb(2 + len(self.func_imports) + len(imported)))
        for module, field, kind in (("env", "memory", b"\x02\x00\x00"),
                                    ("env", "__indirect_function_table", b"\x01\x70\x00\x00")):
            encode_name(out, module)
            encode_name(out, field)
            out += kind
        for (module, field, _ft, _s), ti in zip(self.func_imports, fn_types):
            encode_name(out, module)
            encode_name(out, field)
            out += b"\x00" + uleb(ti)
        for g in imported:
            assert g.import_from is not None
            encode_name(out, g.import_from[0])
            encode_name(out, g.import_from[1])
            out += bytes((0x03, _I32, 1 if g.mutable else 0))
        return out

    def global_section(self) -> bytearray:
        # Imported globals come first in the index space: order defined ones after them.
        imported = [g for g in self.globals if g.import_from is not None]
        defined = [g for g in self.globals if g.import_from is None]
        if [*imported, *defined] != self.globals:
            raise AssertionError("imported globals must be added before defined ones")
        out = bytearray(uleb(len(defined)))
        for g in defined:
            out += bytes((_I32, 1 if g.mutable else 0)) + global_init_expr(ValType.I32, g.init)
        return out

    def name_section(self) -> bytearray:
        out = bytearray()
        encode_name(out, "name")
        names = [sym for _m, _f, _t, sym in self.func_imports] + [n for n, *_ in self.bodies]
        sub = bytearray(uleb(len(names)))
        for i, name in enumerate(names):
            write_uleb(sub, i)
            encode_name(sub, name)
        out += b"\x01" + uleb(len(sub)) + sub
        return out


def _global_get(index: int) -> bytes:
    return b"\x23" + uleb(index)


def _i32_const(value: int) -> bytes:
    from linker.wasm.leb128 import sleb
    value = value - (1 << 32) if value >= 1 << 31 else value
    return b"\x41" + sleb(value)


def _section(out: bytearray, sid: int, content: bytes | bytearray) -> None:
    out.append(sid)
    write_uleb(out, len(content))
    out += content


def emit_shared(prog: LiveProgram, opts: SharedOptions) -> SharedResult:
    """Build and encode the side module of a live program."""
    return _SharedEmitter(prog, opts).run()


# ---------------------------------------------------------------- the link


def emit_phase(ctx: LinkContext) -> None:
    """Replaces the driver's emit and encode phases: the side module's bytes."""
    assert ctx.program is not None, "phase order: program not decoded"
    opts = ctx.options
    try:
        result = emit_shared(ctx.program, SharedOptions(opts.needed, not opts.strip_all,
                                                        opts.pie))
    except (LinkError, LayoutError) as exc:
        raise DiagnosticError([Diagnostic.error(line) for line in str(exc).splitlines()]) \
            from None
    ctx.wasm = result.wasm
    _RESULTS[id(ctx)] = result


def write_phase(ctx: LinkContext) -> None:
    if ctx.options.output is None or ctx.wasm is None:
        return
    try:
        write_file_atomic(ctx.options.output, ctx.wasm)
    except OSError as exc:
        raise DiagnosticError([Diagnostic.error(
            f"cannot write output file {ctx.options.output}: {exc.strerror or exc}")]) from None


_RESULTS: dict[int, SharedResult] = {}
_VERBS = {EdgeKind.CALL: "called", EdgeKind.TAIL_CALL: "tail-called",
          EdgeKind.ADDRESS: "address taken", EdgeKind.DATA_REF: "referenced from data"}

SHARED_PHASES: tuple[Phase, ...] = tuple(
    (name, {"emit": emit_phase, "write": write_phase}.get(name, phase))
    for name, phase in PHASES if name != "encode")


def link_shared(opts: LinkOptions, report: str | None = None) -> int:
    """`irld link --shared`: link, write the side module and, when asked, its report."""
    contexts: list[LinkContext] = []

    def remember(ctx: LinkContext) -> None:
        contexts.append(ctx)
    result = link(opts, (("start", remember), *SHARED_PHASES))
    shared = _RESULTS.pop(id(contexts[0]))
    for w in result.warnings:
        print(w.render(), file=sys.stderr)
    if report is not None:
        write_file_atomic(report, side_report(result, opts, shared).encode())
    return 0


def import_reasons(result: LinkResult, shared: SharedResult) -> list[dict[str, str]]:
    """What the side module imports from its host, and why (the referencing symbol, from discovery)."""
    by_field = {(u.module, u.field): u for u in result.live.undefined_imports.values()}
    rows = []
    for module, name, why in shared.imports:
        undefined = by_field.get((module, name))
        if undefined is not None and undefined.reason.parent is not None:
            verb = _VERBS.get(undefined.reason.kind, undefined.reason.kind.value)
            why = f"{verb} by {undefined.reason.parent}, defined by no input"
        rows.append({"module": module, "name": name, "why": why})
    return rows


def side_report(result: LinkResult, opts: LinkOptions, shared: SharedResult) -> str:
    """The link report (schema irld-report/1, so `irld why/top` read it) plus a
    ``side_module`` object: the dylink.0 numbers, imports with reasons, exports."""
    from linker.report.build import build_report
    # The report builder reads a static module's layout from its bytes; a side
    # module's (relocatable data, imported table) is described by `side_module`.
    data = json.loads(build_report(attrs.evolve(result, wasm=None), opts).dumps())
    info = read_linked_module(shared.wasm)
    assert info.dylink is not None
    data["side_module"] = {
        "memory_size": info.dylink.memory_size, "memory_align": info.dylink.memory_align,
        "table_size": info.dylink.table_size, "needed": list(info.dylink.needed),
        "imports": import_reasons(result, shared),
        "exports": [{"name": e.name, "kind": e.kind} for e in info.exports],
        "table_slots": shared.table_slots,
    }
    return json.dumps(data, indent=1, sort_keys=True) + "\n"
