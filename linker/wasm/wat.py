"""A WAT printer for `WasmModule` (wasm spec chapter 6, "Text Format").

`to_wat` writes the module in the flat (linear) instruction syntax, one
instruction per line, indented by block depth, with ``$names`` taken from the
debug names (the same ones the name section carries, spec 7.4) and index
comments ``(;N;)`` so the dump can be read next to the binary.  Names are
made into valid identifiers (spec 6.3.5: ``idchar``) and de-duplicated within
their index space.  Floats are printed exactly from their bits: hexadecimal
floats, ``inf`` and ``nan:0x<payload>`` (spec 6.3.2).  Custom sections other
than ``name`` have no text form and appear as comments.

The output assembles with wabt's ``wat2wasm --enable-tail-call`` and
``wasmtime.wat2wasm``.
"""

from __future__ import annotations

import struct

from linker.ir.ops import OPS_BY_NAME
from linker.ir.types import FuncType, ValType
from linker.wasm.instr import FloatBits, Imm, decode_body, f32_bits, f64_bits
from linker.wasm.module import ExternKind, Global, WasmModule

__all__ = ["to_wat", "format_f32", "format_f64", "wat_string"]

_IDCHARS = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&*+-./:<=>?@^_`|~")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")


def format_f32(bits: int) -> str:
    """The exact WAT literal of the f32 with these bits."""
    sign = "-" if bits >> 31 else ""
    exp = (bits >> 23) & 0xFF
    frac = bits & 0x7F_FFFF
    if exp == 0xFF:
        return f"{sign}inf" if frac == 0 else f"{sign}nan:0x{frac:x}"
    value: float = _F32.unpack(struct.pack("<I", bits))[0]
    return value.hex()  # f32 -> f64 is exact, so the hex float is too


def format_f64(bits: int) -> str:
    """The exact WAT literal of the f64 with these bits."""
    sign = "-" if bits >> 63 else ""
    exp = (bits >> 52) & 0x7FF
    frac = bits & 0xF_FFFF_FFFF_FFFF
    if exp == 0x7FF:
        return f"{sign}inf" if frac == 0 else f"{sign}nan:0x{frac:x}"
    value: float = _F64.unpack(struct.pack("<Q", bits))[0]
    return value.hex()


def wat_string(data: bytes) -> str:
    """A WAT string literal holding exactly `data` (spec 6.3.3)."""
    parts = ['"']
    for b in data:
        if 0x20 <= b < 0x7F and b != 0x22 and b != 0x5C:
            parts.append(chr(b))
        else:
            parts.append(f"\\{b:02x}")
    parts.append('"')
    return "".join(parts)


class _Ids:
    """Unique, valid `$identifiers` for one index space."""

    def __init__(self) -> None:
        self.by_index: dict[int, str] = {}
        self._used: set[str] = set()

    def add(self, index: int, name: str | None) -> None:
        if name is None:
            return
        base = "".join(c if c in _IDCHARS else "_" for c in name) or "_"
        ident = base
        n = 0
        while ident in self._used:
            n += 1
            ident = f"{base}.{n}"
        self._used.add(ident)
        self.by_index[index] = "$" + ident

    def ref(self, index: int) -> str:
        return self.by_index.get(index, str(index))

    def decl(self, index: int) -> str:
        ident = self.by_index.get(index)
        return f"{ident} (;{index};)" if ident is not None else f"(;{index};)"


def _functype(ft: FuncType) -> str:
    parts = ["func"]
    if ft.params:
        parts.append("(param " + " ".join(p.value for p in ft.params) + ")")
    if ft.result is not None:
        parts.append(f"(result {ft.result.value})")
    return "(" + " ".join(parts) + ")"


def _global_init(g: Global) -> str:
    init = g.init
    if g.type is ValType.F32 or g.type is ValType.F64:
        val: float | FloatBits = float(init) if isinstance(init, int) else init
        if g.type is ValType.F32:
            return f"(f32.const {format_f32(f32_bits(val))})"
        return f"(f64.const {format_f64(f64_bits(val))})"
    assert isinstance(init, int)
    return f"({g.type.value}.const {init})"


def _blocktype(bt: Imm) -> str:
    if bt is None:
        return ""
    if isinstance(bt, ValType):
        return f" (result {bt.value})"
    return f" (type {bt})"


def _body(out: list[str], body: bytes, funcs: _Ids, globals_: _Ids, locals_: _Ids) -> None:
    depth = 2
    for name, imms in decode_body(body):
        if name == "end" or name == "else":
            depth -= 1
        pad = "  " * depth
        if name in ("block", "loop", "if"):
            out.append(f"{pad}{name}{_blocktype(imms[0])}")
            depth += 1
            continue
        if name == "else":
            out.append(f"{pad}else")
            depth += 1
            continue
        out.append(pad + _instr_text(name, imms, funcs, globals_, locals_))


def _instr_text(name: str, imms: tuple[Imm, ...], funcs: _Ids, globals_: _Ids,
                locals_: _Ids) -> str:
    if not imms:
        return name
    a = imms[0]
    match name:
        case "call" | "return_call":
            assert isinstance(a, int)
            return f"{name} {funcs.ref(a)}"
        case "local.get" | "local.set" | "local.tee":
            assert isinstance(a, int)
            return f"{name} {locals_.ref(a)}"
        case "global.get" | "global.set":
            assert isinstance(a, int)
            return f"{name} {globals_.ref(a)}"
        case "call_indirect" | "return_call_indirect":
            table = imms[1]
            prefix = f"{name} " if table == 0 else f"{name} {table} "
            return f"{prefix}(type {a})"
        case "br_table":
            assert isinstance(a, tuple)
            return "br_table " + " ".join(str(d) for d in (*a, imms[1]))
        case "f32.const":
            assert isinstance(a, int)
            return f"f32.const {format_f32(a)}"
        case "f64.const":
            assert isinstance(a, int)
            return f"f64.const {format_f64(a)}"
    op = OPS_BY_NAME.get(name)
    if op is not None and op.is_memory_access:
        align, offset = imms
        assert isinstance(align, int) and isinstance(offset, int)
        text = name
        if offset:
            text += f" offset={offset}"
        if align != op.align_log2:
            text += f" align={1 << align}"
        return text
    return f"{name} {a}"


def to_wat(m: WasmModule) -> str:
    """A readable, assemblable WAT rendering of `m`."""
    funcs = _Ids()
    for i, imp in enumerate(m.imports):
        funcs.add(i, imp.name)
    nimports = len(m.imports)
    for i, f in enumerate(m.functions):
        funcs.add(nimports + i, f.name)
    globals_ = _Ids()
    for i, g in enumerate(m.globals):
        globals_.add(i, g.name)
    datas = _Ids()
    for i, d in enumerate(m.data):
        datas.add(i, d.name)

    out: list[str] = []
    head = "(module"
    if m.name is not None:
        mod_ids = _Ids()
        mod_ids.add(0, m.name)
        head += " " + mod_ids.ref(0)
    out.append(head)
    for i, ft in enumerate(m.types):
        out.append(f"  (type (;{i};) {_functype(ft)})")
    for i, imp in enumerate(m.imports):
        out.append(f"  (import {wat_string(imp.module.encode())} {wat_string(imp.field.encode())}"
                   f" (func {funcs.decl(i)} (type {imp.type_index})))")
    if m.table is not None:
        limits = f"{m.table.min}" + ("" if m.table.max is None else f" {m.table.max}")
        out.append(f"  (table (;0;) {limits} funcref)")
    if m.memory is not None:
        limits = f"{m.memory.min}" + ("" if m.memory.max is None else f" {m.memory.max}")
        out.append(f"  (memory (;0;) {limits})")
    for i, g in enumerate(m.globals):
        gt = f"(mut {g.type.value})" if g.mutable else g.type.value
        out.append(f"  (global {globals_.decl(i)} {gt} {_global_init(g)})")
    for e in m.exports:
        match e.kind:
            case ExternKind.FUNC:
                ref = f"(func {funcs.ref(e.index)})"
            case ExternKind.GLOBAL:
                ref = f"(global {globals_.ref(e.index)})"
            case ExternKind.MEMORY:
                ref = f"(memory {e.index})"
            case _:
                ref = f"(table {e.index})"
        out.append(f"  (export {wat_string(e.name.encode())} {ref})")
    if m.start is not None:
        out.append(f"  (start {funcs.ref(m.start)})")
    for i, seg in enumerate(m.elements):
        refs = "".join(" " + funcs.ref(fi) for fi in seg.func_indices)
        out.append(f"  (elem (;{i};) (i32.const {_i32(seg.offset)}){refs})")
    for i, f in enumerate(m.functions):
        fidx = nimports + i
        ft = m.types[f.type_index]
        locals_ = _Ids()
        for li, lname in sorted(f.local_names.items()):
            locals_.add(li, lname)
        parts = [f"  (func {funcs.decl(fidx)} (type {f.type_index})"]
        for pi, p in enumerate(ft.params):
            pid = locals_.by_index.get(pi)
            parts.append(f"(param {p.value})" if pid is None else f"(param {pid} {p.value})")
        if ft.result is not None:
            parts.append(f"(result {ft.result.value})")
        out.append(" ".join(parts))
        if f.locals:
            decls = []
            for li, t in enumerate(f.locals, start=len(ft.params)):
                lid = locals_.by_index.get(li)
                decls.append(f"(local {t.value})" if lid is None else f"(local {lid} {t.value})")
            out.append("    " + " ".join(decls))
        _body(out, f.body, funcs, globals_, locals_)
        out.append("  )")
    for i, dseg in enumerate(m.data):
        data = dseg.data
        chunks = [wat_string(data[k:k + 64]) for k in range(0, len(data), 64)] or ['""']
        head = f"  (data {datas.decl(i)} (i32.const {_i32(dseg.offset)})"
        if len(chunks) == 1:
            out.append(f"{head} {chunks[0]})")
            continue
        out.append(head)
        out.extend("    " + c for c in chunks)
        out.append("  )")
    for cs in m.custom_sections:
        out.append(f"  ;; custom section {wat_string(cs.name.encode())}: {len(cs.payload)} bytes")
    out.append(")")
    return "\n".join(out) + "\n"


def _i32(v: int) -> int:
    return v - (1 << 32) if v > 0x7FFF_FFFF else v
