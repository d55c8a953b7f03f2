"""`irld link --split=ROOTS`: move code the roots do not reach into a secondary module, loaded on first call.

Seed 004's "one .wasm per section, lazy-loaded", done as binaryen's
`wasm-split` does it (read for the idea, not copied), but driven by irld's
own reachability instead of a profile:

1. After the static program is emitted (`linker.writer`), the call graph of
   its functions is read from their bodies (`call`, `return_call`).  The
   *primary* keeps the functions reachable by direct calls from ROOTS and
   from every linker-made function (`_start`, `__wasm_call_ctors`, FFI
   handlers, panics...), so start-up never needs the secondary.  Every other
   defined function (reached only through exports not in ROOTS or through
   the function table: callbacks, handlers, rarely used entry points) moves.
2. Each moved function f gets a reserved table slot s_f (the table grows).
   In the primary its body becomes a stub of the same type that passes its
   arguments to ``call_indirect`` through s_f, so direct calls, exports and
   table entries naming f keep working.
3. The secondary module holds the moved bodies.  It imports the primary's
   memory and table (``env``), and every primary function and global the
   moved code uses (module ``primary``, names ``f<index>`` / ``g<index>``,
   which the primary exports); its active element segment writes each
   moved function into its slot s_f.  Indices are absolute: the secondary
   belongs to this one primary.
4. The primary's custom section ``irld.split`` names the secondary file and
   lists (slot, type) of every reserved slot.  The host (`irld run`,
   `linker.host.loader`) fills those slots with placeholders; the first call
   of any of them reads and instantiates the secondary, whose element
   segment replaces every placeholder, then completes the call.  Until then
   the secondary is never read.

Moved functions cost one extra indirect call each through the stub.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import attrs

from linker.compile import write_file_atomic
from linker.diagnostics import Diagnostic, DiagnosticError
from linker.driver import PHASES, LinkContext, Phase

from linker.ir.types import FuncType, ValType
from linker.wasm.encode import encode_functype, encode_locals, encode_name
from linker.wasm.instr import Imm, Instr, decode_body, encode_instrs
from linker.wasm.leb128 import read_uleb, uleb, write_uleb
from linker.wasm.module import CustomSection, Export, ExternKind, WasmModule

__all__ = ["SPLIT_SECTION", "SplitResult", "read_split_section", "split_module"]

SPLIT_SECTION = "irld.split"
PRIMARY = "primary"
_CALLS = ("call", "return_call")


@attrs.define(slots=True)
class SplitResult:
    secondary: bytes
    moved: list[str]                 # names of the functions in the secondary
    slots: dict[str, int]            # moved function -> its table slot


def _index(imms: tuple[Imm, ...]) -> int:
    """The index immediate of call, return_call, global.get/set."""
    value = imms[0]
    assert isinstance(value, int)
    return value


def _callees(body: bytes) -> set[int]:
    return {_index(imms) for name, imms in decode_body(body) if name in _CALLS}


def _reachable(mod: WasmModule, roots: Iterable[int]) -> set[int]:
    imported = len(mod.imports)
    seen = set(roots)
    work = list(seen)
    while work:
        f = work.pop()
        if f < imported:
            continue
        for callee in _callees(mod.functions[f - imported].body):
            if callee not in seen:
                seen.add(callee)
                work.append(callee)
    return seen


def split_module(mod: WasmModule, roots: Sequence[str], keep: Iterable[str],
                 secondary_file: str) -> SplitResult:
    """Split `mod` in place (it becomes the primary); returns the secondary's bytes.

    `roots` and `keep` (linker-made functions) are function names; `roots`
    not naming a function raise ValueError.
    """
    imported = len(mod.imports)
    by_name = {mod.func_name(i): i for i in range(mod.num_funcs)}
    missing = [r for r in roots if r not in by_name]
    if missing:
        raise ValueError(f"--split root {', '.join(missing)} is not a live function")
    start = {by_name[r] for r in roots} | {by_name[k] for k in keep if k in by_name}
    live = _reachable(mod, start)
    moved = [i for i in range(imported, mod.num_funcs) if i not in live]
    assert mod.table is not None
    first_slot = mod.table.min
    slots = {f: first_slot + k for k, f in enumerate(moved)}
    secondary = _Secondary(mod, moved, slots).encode()
    mod.table.min += len(moved)
    if mod.table.max is not None:
        mod.table.max = max(mod.table.max, mod.table.min)
    _stub_out(mod, slots, secondary_file)
    return SplitResult(secondary, [mod.func_name(f) or f"f{f}" for f in moved],
                       {mod.func_name(f) or f"f{f}": s for f, s in slots.items()})


def _stub_out(mod: WasmModule, slots: dict[int, int], secondary_file: str) -> None:
    """Replace each moved body by a stub calling its slot; add the section and the exports."""
    imported = len(mod.imports)
    entries = bytearray()
    encode_name(entries, secondary_file)
    write_uleb(entries, len(slots))
    for f, slot in slots.items():
        fn = mod.functions[f - imported]
        ft = mod.types[fn.type_index]
        instrs: list[Instr] = [("local.get", (i,)) for i in range(len(ft.params))]
        instrs += [("i32.const", (slot,)), ("call_indirect", (fn.type_index, 0))]
        fn.body = encode_instrs(instrs)
        fn.locals = []
        write_uleb(entries, slot)
        write_uleb(entries, fn.type_index)
    types = bytearray()
    write_uleb(types, len(mod.types))
    for t in mod.types:
        encode_functype(types, t)
    mod.custom_sections.append(CustomSection(SPLIT_SECTION, bytes(entries + types)))


def add_split_exports(mod: WasmModule, funcs: Iterable[int], globals_: Iterable[int]) -> None:
    exported = {(e.kind, e.index) for e in mod.exports}
    for f in funcs:
        if (ExternKind.FUNC, f) not in exported:
            mod.exports.append(Export(f"f{f}", ExternKind.FUNC, f))
    for g in globals_:
        mod.exports.append(Export(f"g{g}", ExternKind.GLOBAL, g))


class _Secondary:
    """The module of the moved functions, with its index spaces remapped."""

    def __init__(self, mod: WasmModule, moved: list[int], slots: dict[int, int]) -> None:
        self.mod, self.moved, self.slots = mod, moved, slots
        self.func_imports: dict[int, int] = {}    # primary function -> secondary import index
        self.global_imports: dict[int, int] = {}  # primary global -> secondary global index
        imported = len(mod.imports)
        bodies = [decode_body(mod.functions[f - imported].body) for f in moved]
        moved_set = set(moved)
        for instrs in bodies:
            for name, imms in instrs:
                if name in _CALLS and _index(imms) not in moved_set:
                    self.func_imports.setdefault(_index(imms), len(self.func_imports))
                elif name in ("global.get", "global.set"):
                    self.global_imports.setdefault(_index(imms), len(self.global_imports))
        own = {f: len(self.func_imports) + k for k, f in enumerate(moved)}
        self.remapped = [self._remap(instrs, own) for instrs in bodies]
        add_split_exports(mod, self.func_imports, self.global_imports)
        self.names = {f: f"f{f}" for f in self.func_imports}
        for f in self.func_imports:
            for e in mod.exports:
                if e.kind is ExternKind.FUNC and e.index == f:
                    self.names[f] = e.name
                    break

    def _remap(self, instrs: list[Instr], own: dict[int, int]) -> bytes:
        out: list[Instr] = []
        for name, imms in instrs:
            if name in _CALLS:
                f = _index(imms)
                imms = (own[f] if f in own else self.func_imports[f],)
            elif name in ("global.get", "global.set"):
                imms = (self.global_imports[_index(imms)],)
            out.append((name, imms))
        return encode_instrs(out)

    def encode(self) -> bytes:
        mod = self.mod
        out = bytearray(b"\0asm\x01\0\0\0")
        types = bytearray(uleb(len(mod.types)))
        for t in mod.types:
            encode_functype(types, t)
        _section(out, 1, types)
        imports = bytearray(uleb(2 + len(self.func_imports) + len(self.global_imports)))
        encode_name(imports, "env")
        encode_name(imports, "memory")
        imports += b"\x02\x00\x00"
        encode_name(imports, "env")
        encode_name(imports, "__indirect_function_table")
        imports += b"\x01\x70\x00\x00"
        for f in self.func_imports:
            encode_name(imports, PRIMARY)
            encode_name(imports, self.names[f])
            imports += b"\x00" + uleb(self._type_of(f))
        for g in self.global_imports:
            encode_name(imports, PRIMARY)
            encode_name(imports, f"g{g}")
            glob = mod.globals[g]
            imports += bytes((0x03, glob.type.code, 1 if glob.mutable else 0))
        _section(out, 2, imports)
        funcs = bytearray(uleb(len(self.moved)))
        for f in self.moved:
            write_uleb(funcs, self._type_of(f))
        _section(out, 3, funcs)
        elem = bytearray(uleb(len(self.moved)))
        for k, f in enumerate(self.moved):
            elem += b"\x00\x41" + _sleb32(self.slots[f]) + b"\x0b\x01" + uleb(len(self.func_imports) + k)
        _section(out, 9, elem)
        code = bytearray(uleb(len(self.moved)))
        imported = len(mod.imports)
        for f, body in zip(self.moved, self.remapped):
            fbody = bytearray()
            encode_locals(fbody, mod.functions[f - imported].locals)
            fbody += body + b"\x0b"
            write_uleb(code, len(fbody))
            code += fbody
        _section(out, 10, code)
        names = bytearray()
        encode_name(names, "name")
        sub = bytearray(uleb(len(self.moved)))
        for k, f in enumerate(self.moved):
            write_uleb(sub, len(self.func_imports) + k)
            encode_name(sub, mod.func_name(f) or f"f{f}")
        names += b"\x01" + uleb(len(sub)) + sub
        _section(out, 0, names)
        return bytes(out)

    def _type_of(self, f: int) -> int:
        imported = len(self.mod.imports)
        if f < imported:
            return self.mod.imports[f].type_index
        return self.mod.functions[f - imported].type_index


def _sleb32(value: int) -> bytes:
    from linker.wasm.leb128 import sleb
    return sleb(value - (1 << 32) if value >= 1 << 31 else value)


def _section(out: bytearray, sid: int, content: bytes | bytearray) -> None:
    out.append(sid)
    write_uleb(out, len(content))
    out += content


def read_split_section(payload: bytes) -> tuple[str, list[tuple[int, FuncType]]]:
    """The secondary file's name and the (slot, type) entries of an ``irld.split`` section."""
    size, pos = read_uleb(payload, 0)
    name = payload[pos:pos + size].decode()
    count, pos = read_uleb(payload, pos + size)
    raw = []
    for _ in range(count):
        slot, pos = read_uleb(payload, pos)
        ti, pos = read_uleb(payload, pos)
        raw.append((slot, ti))
    ntypes, pos = read_uleb(payload, pos)
    codes = {vt.code: vt for vt in ValType}
    types = []
    for _ in range(ntypes):
        pos += 1   # 0x60
        n, pos = read_uleb(payload, pos)
        params = tuple(codes[b] for b in payload[pos:pos + n])
        pos += n
        m, pos = read_uleb(payload, pos)
        results = tuple(codes[b] for b in payload[pos:pos + m])
        pos += m
        types.append(FuncType(params, results[0] if results else None))
    return name, [(slot, types[ti]) for slot, ti in raw]


# ---------------------------------------------------------------- the link phases


def secondary_path(output: str) -> str:
    """`prog.wasm` -> `prog.split.wasm`, beside it."""
    stem = output[:-5] if output.endswith(".wasm") else output
    return stem + ".split.wasm"


_SECONDARIES: dict[int, SplitResult] = {}


def split_phase(ctx: LinkContext) -> None:
    """After emit: split the module (`split_module`) when `--split` was given."""
    opts = ctx.options
    if not opts.split or ctx.emitted is None:
        return
    name = os.path.basename(secondary_path(opts.output or "a.wasm"))
    try:
        result = split_module(ctx.emitted.module, opts.split, ctx.emitted.synthetic, name)
    except ValueError as exc:
        raise DiagnosticError([Diagnostic.error(str(exc))]) from None
    _SECONDARIES[id(ctx)] = result


def write_split_phase(ctx: LinkContext) -> None:
    result = _SECONDARIES.pop(id(ctx), None)
    if result is None or ctx.options.output is None:
        return
    path = secondary_path(ctx.options.output)
    try:
        write_file_atomic(path, result.secondary)
    except OSError as exc:
        raise DiagnosticError([Diagnostic.error(
            f"cannot write output file {path}: {exc.strerror or exc}")]) from None


def split_phases() -> tuple[Phase, ...]:
    """The driver's phases with `split` after emit and the secondary's write at the end."""
    out: list[Phase] = []
    for name, phase in PHASES:
        out.append((name, phase))
        if name == "emit":
            out.append(("split", split_phase))
    out.append(("write split", write_split_phase))
    return tuple(out)
