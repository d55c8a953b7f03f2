"""One IR module as a WebAssembly relocatable object (tool-conventions `Linking.md`).

Every function is structured by the relooper and code-generated here, once,
at compile time; each symbolic reference becomes a relocation site (a padded
5-byte LEB) recorded against a symbol of the object's symbol table, so a
linker (irld, or wasm-ld for objects that use no irld-only feature) only
copies bytes and patches them.

Symbols, in order: functions (host imports, foreign imports and externs as
undefined symbols with their import module and name, then definitions),
globals (externs, then definitions), data (one segment per IR data entity),
then the symbols code generation asked for: the panic pool's strings (local
data symbols in one read-only segment), undefined data named by `@sym`
without a declaration, `__irld_panic` and the FFI signature ids
(`__irld_ffi_sig:<key>`, absolute symbols only irld defines).

irld's own custom sections follow the standard ones (see `linker.store.objfile`):
`irld.index` (the entity index discovery reads) and `irld.ir` (each
entity's IR, for `--lto` and for a tail-call mode other than native)
and `irld.lines` (each function's line table, `linker.store.lines`).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from linker.codegen import (PANIC_SYMBOL, FuncContext, RelocSite, Sites, compile_function,
                            write_data_items)
from linker.diagnostics import Span
from linker.ir import model as ir
from linker.ir.ctypes import lower
from linker.ir.types import FuncType, ValType
from linker.store.lines import LineTable, table_from_spans
from linker.store.wasmobj import (WASM_SYM_BINDING_LOCAL, WASM_SYM_EXPLICIT_NAME,
                                  WASM_SYM_EXPORTED, WASM_SYM_UNDEFINED,
                                  WASM_SYM_VISIBILITY_HIDDEN, ObjectWriter, Reloc, Symbol,
                                  SymKind)
from linker.wasm.encode import encode_locals, global_init_expr
from linker.wasm.reloc import RelocType

PANIC_TYPE = FuncType((ValType.I32,) * 4, None)
# call_indirect (its type index) and function addresses need the function table.
_TABLE_USES = frozenset({RelocType.TYPE_INDEX_LEB, RelocType.TABLE_INDEX_SLEB,
                         RelocType.TABLE_INDEX_I32})
PANIC_SEGMENT = ".rodata.irld.panic"


@attrs.define(slots=True)
class CodeResult:
    """What the index records about the generated code."""

    texts: dict[str, list[str]]        # function -> panic-pool texts its code names
    strings: list[tuple[str, str]]     # (data symbol, text) of the panic pool
    lines: list[tuple[int, LineTable]] = attrs.Factory(list)   # defined function -> rows


class _TypesOnly:
    """The `Resolver` of object mode: types only (every index is a relocation)."""

    def __init__(self, funcs: dict[str, FuncType], globals_: dict[str, ValType]) -> None:
        self._funcs = funcs
        self._globals = globals_

    @property
    def func_types(self) -> Mapping[str, FuncType]:
        return self._funcs

    @property
    def global_types(self) -> Mapping[str, ValType]:
        return self._globals

    def func_index(self, symbol: str) -> int:
        raise AssertionError("object mode resolves no index")

    def symref(self, symbol: str, offset: int) -> int:
        raise AssertionError("object mode resolves no address")

    def global_index(self, symbol: str) -> int:
        raise AssertionError("object mode resolves no index")

    def type_index(self, ft: FuncType) -> int:
        raise AssertionError("object mode resolves no index")

    def panic_call(self, function: str, message: str) -> tuple[int, int, int, int, int]:
        raise AssertionError("object mode resolves no index")


class ObjectAssembly:
    """Builds the object of one module: `build` generates, `finish` writes."""

    def __init__(self, m: ir.Module, mp: Mapping[str, str], csigs: Mapping[str, str]) -> None:
        self.m, self.mp, self.csigs = m, mp, csigs
        self.w = ObjectWriter()
        self.symbols: dict[str, int] = {}       # IR name -> symbol index
        self.func_types: dict[str, FuncType] = {}
        self.global_types: dict[str, ValType] = {}
        self.strings: dict[str, str] = {}       # text -> data symbol name
        self.pool = bytearray()
        self.pool_symbols: list[tuple[str, int, int]] = []   # (name, offset, size)
        self.imported_funcs = 0

    # ------------------------------------------------------------ symbols

    def add_symbol(self, key: str, sym: Symbol) -> int:
        idx = self.w.add_symbol(sym)
        self.symbols[key] = idx
        return idx

    def name(self, ir_name: str) -> str:
        return self.mp.get(ir_name, ir_name)

    def flags(self, private: bool) -> int:
        return WASM_SYM_BINDING_LOCAL | WASM_SYM_VISIBILITY_HIDDEN if private else 0

    def declare_functions(self) -> list[ir.Func]:
        m, w = self.m, self.w
        defined = {i.name for i in m.items if isinstance(i, ir.Func)}
        for item in m.items:
            ft: FuncType | None = None
            module, field, name = "env", "", ""
            match item:
                case ir.ImportFunc(name=n, type=t, module=mod, field=fld):
                    ft, module, field, name = t, mod, fld, n
                case ir.ForeignImport(name=n, sig=sig, module=""):
                    ft, field, name = lower(sig), n, n      # a C function of the link
                case ir.ForeignImport(name=n, sig=sig, module=mod, field=fld):
                    ft, module, field, name = lower(sig), mod, fld, n
                case ir.ExternFunc(name=n, type=t) if n not in defined:
                    ft, field, name = t, n, n
            if ft is None or name in self.symbols:
                continue
            idx = w.import_function(module, field, ft)
            self.imported_funcs += 1
            self.func_types[name] = ft
            self.add_symbol(name, Symbol(
                SymKind.FUNCTION, WASM_SYM_UNDEFINED | WASM_SYM_EXPLICIT_NAME, name, idx,
                import_module=module, import_name=field))
        if _uses_panic(m):
            idx = w.import_function("env", PANIC_SYMBOL, PANIC_TYPE)
            self.imported_funcs += 1
            self.func_types[PANIC_SYMBOL] = PANIC_TYPE
            self.add_symbol(PANIC_SYMBOL, Symbol(SymKind.FUNCTION, WASM_SYM_UNDEFINED,
                                                 PANIC_SYMBOL, idx))
        funcs = [i for i in m.items if isinstance(i, ir.Func)]
        base = self.imported_funcs
        exported = {x.symbol for x in m.exports if x.name == x.symbol}
        for k, f in enumerate(funcs):
            self.func_types[f.name] = f.type
            flags = self.flags(f.private) | (WASM_SYM_EXPORTED if f.name in exported else 0)
            self.add_symbol(f.name, Symbol(SymKind.FUNCTION, flags, self.name(f.name), base + k))
        return funcs

    def declare_globals(self) -> list[ir.Global]:
        m, w = self.m, self.w
        defined = {i.name for i in m.items if isinstance(i, ir.Global)}
        imported = 0
        for item in m.items:
            if isinstance(item, ir.ExternGlobal) and item.name not in defined:
                idx = w.import_global("env", item.name, item.type, True)
                imported += 1
                self.global_types[item.name] = item.type
                self.add_symbol(item.name, Symbol(SymKind.GLOBAL, WASM_SYM_UNDEFINED, item.name,
                                                  idx, import_module="env",
                                                  import_name=item.name))
        globals_ = [i for i in m.items if isinstance(i, ir.Global)]
        base = imported
        for k, g in enumerate(globals_):
            self.global_types[g.name] = g.type
            self.add_symbol(g.name, Symbol(SymKind.GLOBAL, self.flags(g.private),
                                           self.name(g.name), base + k))
        return globals_

    def string(self, text: str) -> str:
        """The data symbol of a panic-pool text (added once per object)."""
        sym = self.strings.get(text)
        if sym is None:
            raw = text.encode()
            sym = f"__irld_str:{self.m.name}:{len(self.strings)}"
            self.strings[text] = sym
            self.pool_symbols.append((sym, len(self.pool), len(raw)))
            self.pool += raw
        return sym

    # ------------------------------------------------------------ build

    def build(self) -> CodeResult:
        self.w.import_memory()
        funcs = self.declare_functions()
        globals_ = self.declare_globals()
        function_names = frozenset(self.func_types)
        sites = Sites(function_names, self.csigs, self.string)
        texts: dict[str, list[str]] = {}
        bodies: list[tuple[FuncType, bytes, list[RelocSite]]] = []
        resolver = _TypesOnly(self.func_types, self.global_types)
        tables: list[tuple[int, LineTable]] = []
        for k, f in enumerate(funcs):
            sites.sites = []
            rows: list[tuple[int, Span]] = []
            # Panics name the function by its link-time (renamed) name.
            named = attrs.evolve(f, name=self.name(f.name)) if f.name in self.mp else f
            locals_, code = compile_function(named, FuncContext(resolver, {}, sites=sites,
                                                                lines=rows))
            body = _body(locals_, code)
            bodies.append((f.type, body, list(sites.sites)))
            texts[named.name] = _texts_of(named)
            if rows:
                tables.append((k, table_from_spans(rows, len(body) - len(code) - 1)))
        for g in globals_:
            self.w.add_global(g.type, True, global_init_expr(g.type, g.init))
        self.pending_funcs = bodies
        self.datas = [i for i in self.m.items if isinstance(i, ir.Data)]
        return CodeResult(texts, [(s, t) for t, s in self.strings.items()], tables)

    def finish(self) -> bytes:
        """The standard sections (`ObjectWriter.function_reloc_ranges` is then known)."""
        w = self.w
        data_sites: list[list[tuple[int, str, int]]] = []
        segments: list[tuple[str, bytes, int]] = []
        for d in self.datas:
            image = bytearray(stored_size(d))
            sites: list[tuple[int, str, int]] = []

            def address(sym: str, off: int, pos: int, sites: list[tuple[int, str, int]] = sites
                        ) -> int:
                sites.append((pos, sym, off))
                return 0
            write_data_items(image, 0, d, address)
            prefix = ".rodata." if d.readonly else ".data."
            segments.append((prefix + self.name(d.name), bytes(image), d.align))
            data_sites.append(sites)
        for k, d in enumerate(self.datas):
            self.add_symbol(d.name, Symbol(SymKind.DATA, self.flags(d.private), self.name(d.name),
                                           k, 0, d.size))
        pool_segment = len(self.datas)
        for sym, off, size in self.pool_symbols:
            self.add_symbol(sym, Symbol(SymKind.DATA, WASM_SYM_BINDING_LOCAL, sym, pool_segment,
                                        off, size))
        uses_table = False
        for ft, body, fsites in self.pending_funcs:
            base = _locals_len(body) if fsites else 0
            relocs = [self.reloc(s.type, s.offset + base, s.target, s.addend) for s in fsites]
            uses_table = uses_table or any(r.type in _TABLE_USES for r in relocs)
            w.add_function(ft, body, relocs)
        for (name, raw, align), dsites in zip(segments, data_sites):
            relocs = [self.data_reloc(pos, s, o) for pos, s, o in dsites]
            uses_table = uses_table or any(r.type in _TABLE_USES for r in relocs)
            w.add_segment(name, raw, _log2(align), 0, relocs)
        if uses_table:
            # As clang does: code with call_indirect or function addresses
            # imports the table the linker defines.
            w.import_table()
        if self.pool_symbols:
            w.add_segment(PANIC_SEGMENT, bytes(self.pool), 0, 0, [])
        for c in self.m.ctors:
            w.add_init_func(c.priority, self.symbols[c.symbol])
        if _uses_tail_calls(self.m):
            w.set_target_features([("+", "tail-call")])
        return w.finish()

    def data_reloc(self, pos: int, symbol: str, offset: int) -> Reloc:
        if symbol in self.func_types:
            return self.reloc(RelocType.TABLE_INDEX_I32, pos, symbol, 0)
        return self.reloc(RelocType.MEMORY_ADDR_I32, pos, symbol, offset)

    def reloc(self, rtype: RelocType, offset: int, target: str | FuncType, addend: int) -> Reloc:
        if isinstance(target, FuncType):
            return Reloc(rtype, offset, self.w.add_type(target), 0)
        idx = self.symbols.get(target)
        if idx is None:
            # `@sym` of a symbol this module does not declare, or an FFI
            # signature id: an undefined data symbol the linker resolves.
            idx = self.add_symbol(target, Symbol(SymKind.DATA, WASM_SYM_UNDEFINED, target, 0))
        return Reloc(rtype, offset, idx, addend)


def _body(locals_: list[ValType], code: bytes) -> bytes:
    """locals vector (run-length compressed) + code + the final `end`."""
    out = bytearray()
    encode_locals(out, locals_)
    return bytes(out) + code + b"\x0b"


def _locals_len(body: bytes) -> int:
    """Length of the locals vector at the start of a body."""
    from linker.wasm.leb128 import read_uleb
    n, pos = read_uleb(body, 0)
    for _ in range(n):
        _count, pos = read_uleb(body, pos)
        pos += 1
    return pos


def _texts_of(f: ir.Func) -> list[str]:
    """The panic-pool texts `f`'s code names: its name, then each message."""
    messages = [] if f.deferred_error is None else [f.deferred_error]
    messages += [b.term.message for b in f.blocks if isinstance(b.term, ir.Panic)]
    return [f.name, *dict.fromkeys(messages)] if messages else []


def _uses_panic(m: ir.Module) -> bool:
    return any(isinstance(i, ir.Func) and (i.deferred_error is not None or any(
        isinstance(b.term, ir.Panic) for b in i.blocks)) for i in m.items)


def _uses_tail_calls(m: ir.Module) -> bool:
    return any(isinstance(i, ir.Func) and any(
        isinstance(b.term, (ir.TailCall, ir.TailCallIndirect)) for b in i.blocks)
        for i in m.items)


def _log2(align: int) -> int:
    return max(align, 1).bit_length() - 1


# A trailing zero fill at least this long is not stored: the segment ends before
# it and the index and symbol keep the item's full size (memory starts zeroed,
# and irld lays the item out by that size).  Shorter fills are stored, so such
# objects stay ones wasm-ld links right: it sizes an item by its segment's bytes.
TRIM_ZERO_FILL = 65536


def stored_size(d: ir.Data) -> int:
    """The bytes of `d` its object segment holds: all of them, but for a trailing
    run of zero fills of at least TRIM_ZERO_FILL bytes."""
    size = d.size
    trailing = 0
    for item in reversed(d.items):
        if not isinstance(item, ir.ZeroItem):
            break
        trailing += item.size
    return size - trailing if trailing >= TRIM_ZERO_FILL else size



# Zero fill that must be stored (followed by other items) beyond this is refused:
# an object segment has no holes, and a hostile `zero 2147483647` would cost
# gigabytes of memory and of object file.
MAX_STORED_ZERO_FILL = 1 << 24


def stored_zero_fill(d: ir.Data) -> int:
    """The zero-fill bytes `d`'s segment must hold (those before its last other item)."""
    stored = stored_size(d)
    pos = fill = 0
    for item in d.items:
        if pos >= stored:
            break
        if isinstance(item, ir.ZeroItem):
            fill += min(item.size, stored - pos)
        pos += ir.item_size(item)
    return fill
