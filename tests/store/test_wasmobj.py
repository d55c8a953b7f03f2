"""WebAssembly relocatable objects: reading clang's, writing our own, refusing damaged ones.

clang's objects are checked against what wabt's `wasm-objdump -x` and LLVM's
`llvm-nm` say about them; the writer's objects are checked by wasm-objdump,
wasm-validate, linked by wasm-ld and run under wasmtime.  Tests that need a
tool are skipped only when that tool is absent.
"""

from __future__ import annotations

import mmap
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import wasmtime

from linker.ir.types import FuncType, ValType
from linker.store.wasmobj import (
    RELOC_HAS_ADDEND, RELOC_SIZE, WASM_COMDAT_FUNCTION, WASM_SEG_FLAG_STRINGS,
    WASM_SEG_FLAG_TLS, WASM_SYM_BINDING_LOCAL, WASM_SYM_BINDING_WEAK, WASM_SYM_EXPLICIT_NAME,
    WASM_SYM_EXPORTED, WASM_SYM_NO_STRIP, WASM_SYM_UNDEFINED, WASM_SYM_VISIBILITY_HIDDEN,
    Global, Import, ObjectWriter, Reloc, RelocType, Symbol, SymKind, WasmObject,
    WasmObjectError, is_wasm_object, padded_sleb, padded_uleb, read_object,
)
from linker.wasm.leb128 import read_sleb, read_uleb, uleb

CLANG = shutil.which("clang")
WASM_LD = shutil.which("wasm-ld")
OBJDUMP = shutil.which("wasm-objdump")
VALIDATE = shutil.which("wasm-validate")
NM = shutil.which("llvm-nm")
LIBC = Path("/usr/lib/wasm32-wasi/libc.a")

needs_clang = pytest.mark.skipif(CLANG is None, reason="clang is not installed")
needs_objdump = pytest.mark.skipif(OBJDUMP is None, reason="wabt's wasm-objdump is not installed")
needs_nm = pytest.mark.skipif(NM is None, reason="llvm-nm is not installed")
needs_ld = pytest.mark.skipif(WASM_LD is None, reason="wasm-ld is not installed")
needs_validate = pytest.mark.skipif(VALIDATE is None, reason="wabt's wasm-validate is not installed")

I32, I64 = ValType.I32, ValType.I64
R = RelocType

# ---------------------------------------------------------------- C sources

BASICS = r"""
extern int ext_func(int);
extern int ext_data;
static int counter = 5;
int table[4] = {1, 2, 3, 4};
int *ptrs[2] = {&table[1], &counter};
int *before = table - 1;
const char *msg = "hello";
static int sq(int x) { return x * x; }
int add(int a, int b) { return sq(a) + b + ext_func(a) + ext_data; }
typedef int (*fp)(int);
fp fns[2] = {sq, ext_func};
int callp(int i, int v) { return fns[i](v) + counter; }
__attribute__((weak)) int weakfn(void) { return 7; }
__attribute__((visibility("hidden"))) int hid = 3;
__attribute__((visibility("default"))) int shown(void) { return hid; }
__attribute__((constructor(101))) void ctor(void) { counter++; }
long long big[100];
int getbig(int i) { return (int)big[i] + msg[i]; }
"""

ATTRIBUTES = r"""
__attribute__((import_module("host"), import_name("log_it"))) void host_log(int);
__attribute__((export_name("exported_fn"))) int api(int x) { host_log(x); return x + 1; }
extern int maybe(void) __attribute__((weak));
int try_maybe(void) { return maybe ? maybe() : -1; }
__attribute__((visibility("default"))) int visible = 1;
__attribute__((used)) static int kept = 2;
_Thread_local int tls_var = 5;
int get_tls(void) { return tls_var; }
const char *names[] = {"a", "bb", "ccc"};
"""

# clang's wasm backend ignores -fno-data-sections; a section attribute is
# how several symbols come to share one segment.
SHARED_SEGMENT = r"""
__attribute__((section(".data.shared"))) int one = 1;
__attribute__((section(".data.shared"))) int two = 2;
__attribute__((section(".data.shared"))) int *three = &two;
int get(void) { return one + two + *three; }
"""

CASES: dict[str, tuple[str, list[str]]] = {
    "basics": (BASICS, []),
    "shared_segment": (SHARED_SEGMENT, ["-fno-function-sections"]),
    "attributes_debug_tls": (ATTRIBUTES, ["-g", "-matomics", "-mbulk-memory",
                                          "-ftls-model=local-exec"]),
}


def compile_c(tmp: Path, name: str, source: str, flags: list[str]) -> Path:
    assert CLANG is not None
    src = tmp / f"{name}.c"
    out = tmp / f"{name}.o"
    src.write_text(source)
    subprocess.run([CLANG, "--target=wasm32-wasi", "-c", "-O1", *flags, str(src), "-o", str(out)],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def clang_objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if CLANG is None:
        pytest.skip("clang is not installed")
    tmp = tmp_path_factory.mktemp("clang")
    return {name: compile_c(tmp, name, src, flags) for name, (src, flags) in CASES.items()}


def load(path: Path) -> WasmObject:
    return read_object(path.read_bytes(), path.name)


# ---------------------------------------------------------------- wasm-objdump -x, parsed


class Dump:
    """What `wasm-objdump -x` prints about an object, as plain data."""

    def __init__(self, text: str) -> None:
        self.symbols: list[tuple[int, str, str, str, set[str], dict[str, str]]] = []
        self.segment_info: list[tuple[str, int, set[str]]] = []
        self.init_funcs: list[tuple[int, int]] = []
        self.relocs: dict[int, list[tuple[str, int, int, int]]] = {}
        self.code_sizes: list[int] = []
        self.segments: list[tuple[int, int]] = []  # (size, init address)
        self.features: list[tuple[str, str]] = []
        self.comdats: list[tuple[str, list[tuple[str, int]]]] = []
        self._parse(text.splitlines())

    def _parse(self, lines: list[str]) -> None:
        block = ""
        target = -1
        for line in lines:
            if not line.startswith("   ") and line.startswith(("  - ", " - ", "Code[", "Data[")):
                block = self._block(line, block)
                if block == "relocs":
                    target = int(line.split(":")[1].split()[0])
                    self.relocs[target] = []
            if line.startswith("   - ") and block == "relocs":
                self.relocs[target].append(_reloc_line(line))
            elif line.startswith("   - ") and block == "symbols":
                self.symbols.append(_symbol_line(line))
            elif line.startswith("   - ") and block == "seginfo":
                m = re.match(r"   - \d+: (\S+) p2align=(\d+) \[ (.*)\]", line)
                assert m, line
                self.segment_info.append((m[1], int(m[2]), set(m[3].split())))
            elif line.startswith("   - ") and block == "init":
                m = re.match(r"   - (\d+): priority=(\d+)", line)
                assert m, line
                self.init_funcs.append((int(m[2]), int(m[1])))
            elif line.startswith("   - ") and block == "comdat":
                self.comdats.append((line.split()[1].rstrip(":"), []))
            elif line.startswith("    - ") and block == "comdat":
                m5 = re.match(r"    - (\w+)\[(\d+)\]", line)
                assert m5, line
                self.comdats[-1][1].append((m5[1], int(m5[2])))
            elif block == "code" and (m2 := re.match(r" - func\[\d+\] size=(\d+)", line)):
                self.code_sizes.append(int(m2[1]))
            elif block == "data" and (m3 := re.match(
                    r" - segment\[\d+\] .*size=(\d+) - init i32=(-?\d+)", line)):
                self.segments.append((int(m3[1]), int(m3[2])))
            elif (m4 := re.match(r"  - \[([-+=])\] (\S+)$", line)):
                self.features.append((m4[1], m4[2]))

    @staticmethod
    def _block(line: str, block: str) -> str:
        for prefix, name in (("  - symbol table", "symbols"), ("  - segment info", "seginfo"),
                             ("  - init functions", "init"), ("  - relocations for", "relocs"),
                             ("  - comdat groups", "comdat"),
                             ("Code[", "code"), ("Data[", "data"), (" - name:", "")):
            if line.startswith(prefix):
                return name
        return block if line.startswith(" - ") and block in ("code", "data") else block


def _symbol_line(line: str) -> tuple[int, str, str, str, set[str], dict[str, str]]:
    m = re.match(r"   - (\d+): (\w) <([^>]*)> (.*?)\[ (.*)\]$", line)
    assert m, line
    details = dict(kv.split("=") for kv in m[4].split())
    words = m[5].split()
    return int(m[1]), m[2], m[3], m[4], {w for w in words if "=" not in w}, dict(
        w.split("=") for w in words if "=" in w) | details


def _reloc_line(line: str) -> tuple[str, int, int, int]:
    m = re.match(r"   - R_WASM_(\w+) offset=(?:0x)?([0-9a-f]+)\(file=0x[0-9a-f]+\) "
                 r"(?:symbol|type)=(\d+)(?: <[^>]*>)?(?:([-+])0x([0-9a-f]+))?$", line)
    assert m, line
    addend = int(m[5], 16) if m[5] else 0
    return m[1], int(m[2], 16), int(m[3]), -addend if m[4] == "-" else addend


def objdump(path: Path) -> Dump:
    assert OBJDUMP is not None
    proc = subprocess.run([OBJDUMP, "-x", str(path)], capture_output=True, text=True, check=True)
    return Dump(proc.stdout)


def nm(path: Path) -> dict[str, tuple[int | None, str]]:
    assert NM is not None
    proc = subprocess.run([NM, str(path)], capture_output=True, text=True, check=True)
    out: dict[str, tuple[int | None, str]] = {}
    for line in proc.stdout.splitlines():
        value, letter, name = line[:8].strip(), line[9], line[11:]
        out[name] = (int(value, 16) if value else None, letter)
    return out


# ---------------------------------------------------------------- clang objects


_LETTERS = {"F": SymKind.FUNCTION, "D": SymKind.DATA, "G": SymKind.GLOBAL, "S": SymKind.SECTION,
            "T": SymKind.TABLE, "E": SymKind.TAG}


def objdump_name(sym: Symbol) -> set[str]:
    # wabt names an import without an explicit name after its module and field.
    names = {sym.name}
    if sym.import_module is not None and not sym.explicit_name:
        names.add(f"{sym.import_module}.{sym.import_name}")
    return names


@needs_objdump
@pytest.mark.parametrize("case", list(CASES))
def test_symbols_match_objdump(clang_objects: dict[str, Path], case: str) -> None:
    obj = load(clang_objects[case])
    dump = objdump(clang_objects[case])
    assert len(obj.symbols) == len(dump.symbols) > 0
    for sym, (i, letter, name, _, words, fields) in zip(obj.symbols, dump.symbols):
        assert sym.kind == _LETTERS[letter], (i, sym)
        assert name in objdump_name(sym), (i, sym)
        assert sym.undefined == ("undefined" in words)
        assert sym.exported == ("exported" in words)
        assert sym.no_strip == ("no_strip" in words)
        assert sym.explicit_name == ("explicit_name" in words)
        assert sym.tls == ("tls" in words)
        binding = "local" if sym.local else "weak" if sym.weak else "global"
        assert fields["binding"] == binding
        assert fields["vis"] == ("hidden" if sym.hidden else "default")
        if sym.kind == SymKind.DATA and not sym.undefined:
            assert (sym.index, sym.offset, sym.size) == (
                int(fields["segment"]), int(fields["offset"]), int(fields["size"]))
        elif sym.kind == SymKind.SECTION:
            assert sym.index == int(fields["section"])
            assert sym.name == obj.sections[sym.index][1]
        elif sym.kind in (SymKind.FUNCTION, SymKind.GLOBAL):
            assert sym.index == int(fields["func" if sym.kind == SymKind.FUNCTION else "global"])


@needs_objdump
@pytest.mark.parametrize("case", list(CASES))
def test_relocations_segments_and_bodies_match_objdump(clang_objects: dict[str, Path],
                                                       case: str) -> None:
    obj = load(clang_objects[case])
    dump = objdump(clang_objects[case])
    def rows(relocs: list[Reloc]) -> list[tuple[str, int, int, int]]:
        return [(RelocType(r.type).name, r.offset, r.index, r.addend) for r in relocs]
    assert obj.code_section is not None and obj.data_section is not None
    assert rows(obj.code_relocs) == dump.relocs[obj.code_section]
    assert rows(obj.data_relocs) == dump.relocs.get(obj.data_section, [])
    custom = {i: rows(rs) for i, rs in obj.custom_relocs.items()}
    assert custom == {i: rs for i, rs in dump.relocs.items()
                      if i not in (obj.code_section, obj.data_section)}
    assert [(s.name, s.alignment) for s in obj.segments] == [
        (name, align) for name, align, _ in dump.segment_info]
    for seg, (_, _, words) in zip(obj.segments, dump.segment_info):
        assert bool(seg.flags & WASM_SEG_FLAG_STRINGS) == ("STRINGS" in words)
        assert bool(seg.flags & WASM_SEG_FLAG_TLS) == ("TLS" in words)
    assert [(s.size, s.address) for s in obj.segments] == dump.segments
    assert [f.size for f in obj.functions] == dump.code_sizes
    assert obj.init_funcs == dump.init_funcs
    assert obj.target_features == dump.features


@needs_nm
@pytest.mark.parametrize("case", list(CASES))
def test_symbols_match_llvm_nm(clang_objects: dict[str, Path], case: str) -> None:
    obj = load(clang_objects[case])
    listed = nm(clang_objects[case])
    ours = {s.name: (nm_value(obj, s), nm_letter(s)) for s in obj.symbols}
    assert ours == listed


def nm_value(obj: WasmObject, sym: Symbol) -> int | None:
    """The value llvm-nm prints: a function's offset in the code section
    (where its size LEB starts), a data symbol's address in the object."""
    if sym.undefined:
        return None
    if sym.kind == SymKind.FUNCTION:
        f = obj.functions[sym.index - obj.num_imported_funcs]
        return f.code_offset - len(uleb(f.size))
    if sym.kind == SymKind.DATA:
        return obj.segments[sym.index].address + sym.offset
    return 0


def nm_letter(sym: Symbol) -> str:
    if sym.undefined:
        return "w" if sym.weak else "U"
    if sym.weak:
        return "W" if sym.kind == SymKind.FUNCTION else "V"
    letter = "t" if sym.kind == SymKind.FUNCTION else "d"
    return letter if sym.local else letter.upper()


@needs_clang
def test_clang_object_details(clang_objects: dict[str, Path]) -> None:
    obj = load(clang_objects["basics"])
    by_name = {s.name: s for s in obj.symbols}
    assert by_name["ext_func"].undefined and by_name["ext_func"].import_module == "env"
    assert by_name["ext_data"].undefined and by_name["ext_data"].index == -1
    assert by_name["sq"].local and by_name["counter"].local
    assert by_name["weakfn"].weak and not by_name["weakfn"].undefined
    assert by_name["hid"].hidden and not by_name["shown"].hidden
    ctor = obj.symbol_index()["ctor"]
    assert obj.init_funcs == [(101, ctor)]
    assert "sq" not in obj.symbol_index() and "ext_func" not in obj.symbol_index()
    # -ffunction-sections/-fdata-sections are clang's wasm default: one segment per object.
    assert {s.name for s in obj.segments} >= {".data.table", ".data.ptrs", ".bss.big",
                                               ".rodata..L.str"}
    shared = load(clang_objects["shared_segment"])
    assert [s.name for s in shared.segments] == [".data.shared"]
    assert sorted((s.name, s.index, s.offset) for s in shared.symbols if s.kind == SymKind.DATA
                  ) == [("one", 0, 0), ("three", 0, 8), ("two", 0, 4)]
    assert shared.segment_relocs(0) == shared.data_relocs
    assert shared.data_relocs[0].offset - shared.segments[0].data_offset_in_section == 8
    # `before = table - 1` is a negative addend; `fns` holds table slots.
    assert any(r.addend == -4 for r in obj.data_relocs)
    assert {R(r.type) for r in obj.data_relocs} == {R.MEMORY_ADDR_I32, R.TABLE_INDEX_I32}
    assert obj.func_type(by_name["add"].index) == FuncType((I32, I32), I32)
    assert obj.func_type(by_name["ext_func"].index) == FuncType((I32,), I32)
    assert [i.field for i in obj.imports] == ["__linear_memory", "ext_func",
                                              "__indirect_function_table"]
    assert obj.custom_section("producers") is not None


@needs_clang
def test_clang_attributes_debug_info_and_tls(clang_objects: dict[str, Path]) -> None:
    obj = load(clang_objects["attributes_debug_tls"])
    by_name = {s.name: s for s in obj.symbols}
    log = by_name["host_log"]
    assert log.undefined and log.explicit_name
    assert (log.import_module, log.import_name) == ("host", "log_it")
    assert by_name["maybe"].undefined and by_name["maybe"].weak
    assert by_name["api"].exported and by_name["api"].no_strip
    assert obj.exports == [("exported_fn", 0, by_name["api"].index)]
    assert by_name["kept"].no_strip and by_name["tls_var"].tls
    assert by_name["__stack_pointer"].kind == SymKind.GLOBAL
    assert obj.num_imported_globals == 2
    assert [i.global_type for i in obj.imports if i.kind == 3] == [(I32, True), (I32, True)]
    assert ("+", "atomics") in obj.target_features
    debug = {name for name in obj.custom_sections if name.startswith(".debug_")}
    assert {".debug_info", ".debug_line", ".debug_str"} <= debug
    section_syms = [s for s in obj.symbols if s.kind == SymKind.SECTION]
    assert section_syms and all(s.local for s in section_syms)
    info_index = next(i for i, s in enumerate(obj.sections) if s[1] == ".debug_info")
    assert obj.custom_sections[".debug_info"] == obj.sections[info_index][2:]
    types = {R(r.type) for r in obj.custom_relocs[info_index]}
    assert {R.SECTION_OFFSET_I32, R.FUNCTION_OFFSET_I32, R.MEMORY_ADDR_I32} <= types
    # Custom-section relocation offsets are relative to the contents after the name.
    start, end = obj.custom_sections[".debug_info"]
    assert all(r.offset + 4 <= end - start for r in obj.custom_relocs[info_index])


@needs_clang
@pytest.mark.parametrize("case", list(CASES))
def test_function_and_segment_relocs_partition_the_sections(clang_objects: dict[str, Path],
                                                             case: str) -> None:
    obj = load(clang_objects[case])
    per_function = [obj.function_relocs(i) for i in range(len(obj.functions))]
    assert [r for rs in per_function for r in rs] == obj.code_relocs
    for f, relocs in zip(obj.functions, per_function):
        assert all(f.code_offset <= r.offset and r.offset + RELOC_SIZE[r.type] <= f.code_offset
                   + f.size for r in relocs)
        body = obj.function_body(obj.functions.index(f))
        assert len(body) == f.size and body.endswith(b"\x0b")
    per_segment = [obj.segment_relocs(i) for i in range(len(obj.segments))]
    assert [r for rs in per_segment for r in rs] == obj.data_relocs
    data = obj.buf
    for seg in obj.segments:
        assert obj.data_section is not None
        assert seg.start - obj.sections[obj.data_section][2] == seg.data_offset_in_section
        assert obj.segment_data(obj.segments.index(seg)) == bytes(data[seg.start:seg.end])


def ar_members(buf: bytes | mmap.mmap) -> Iterator[tuple[str, int, int]]:
    """(name, start, end) of each member of a GNU/BSD `ar` archive."""
    assert bytes(buf[:8]) == b"!<arch>\n"
    p = 8
    while p + 60 <= len(buf):
        header = bytes(buf[p:p + 60])
        size = int(header[48:58])
        yield header[:16].decode().strip(), p + 60, p + 60 + size
        p += 60 + size + (size & 1)


@pytest.mark.skipif(not LIBC.exists(), reason="wasi-libc is not installed")
def test_every_wasi_libc_member_reads_in_place_from_an_mmap() -> None:
    with open(LIBC, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        members = [(n, s, e) for n, s, e in ar_members(m) if is_wasm_object(m, s)]
        assert len(members) > 100
        nsyms = 0
        for name, start, end in members:
            obj = read_object(m, name, start=start, end=end)
            obj.load_relocs()
            assert all(start <= f.start <= f.end <= end for f in obj.functions)
            assert sum(len(obj.function_relocs(i)) for i in range(len(obj.functions))) == len(
                obj.code_relocs)
            nsyms += len(obj.symbols)
            del obj  # holds no export of the mmap: closing it below must work
        assert nsyms > 1000


@needs_nm
@pytest.mark.skipif(not LIBC.exists(), reason="wasi-libc is not installed")
def test_wasi_libc_members_match_llvm_nm(tmp_path: Path) -> None:
    data = LIBC.read_bytes()
    members = [(n, s, e) for n, s, e in ar_members(data) if is_wasm_object(data, s)]
    for k, (name, start, end) in enumerate(members[::max(1, len(members) // 12)]):
        path = tmp_path / f"member{k}.o"  # (GNU long names are "/offset")
        path.write_bytes(data[start:end])
        obj = read_object(data, name, start=start, end=end)
        assert {s.name: (nm_value(obj, s), nm_letter(s)) for s in obj.symbols} == nm(path), name


# ---------------------------------------------------------------- the writer

SYM_G, SYM_HOST, SYM_F, SYM_VALUE, SYM_PTR, SYM_COUNTER, SYM_CTOR, SYM_DEBUG = range(8)
G_TYPE = FuncType((I32,), I32)


class Body:
    """A function body under construction, recording its relocations."""

    def __init__(self) -> None:
        self.code = bytearray([0])  # no locals
        self.relocs: list[Reloc] = []

    def op(self, *data: int) -> Body:
        self.code += bytes(data)
        return self

    def site(self, rtype: RelocType, index: int, addend: int = 0) -> Body:
        self.relocs.append(Reloc(rtype, len(self.code), index, addend))
        signed = rtype in (R.MEMORY_ADDR_SLEB, R.TABLE_INDEX_SLEB)
        self.code += padded_sleb(0) if signed else padded_uleb(0)
        return self

    def done(self) -> bytes:
        return bytes(self.code + b"\x0b")


def build_writer() -> tuple[ObjectWriter, dict[str, object]]:
    """g(x) = 2x + value[0]; f() = g(10) + host(1, 2) + **ptr + counter + (&g)(5) + value[1];
    a constructor increments counter.  With value = {7, 35} and host(a, b) = 100a + b:
    f() = 27 + 102 + 35 + 1 + 17 + 35 = 217."""
    w = ObjectWriter()
    w.import_memory()
    host = w.import_function("env", "host_add", FuncType((I32, I32), I32))
    w.import_table()
    g = Body().op(0x20, 0, 0x41, 2, 0x6C, 0x41).site(R.MEMORY_ADDR_SLEB, SYM_VALUE).op(
        0x28, 2, 0, 0x6A)
    gi = w.add_function(G_TYPE, g.done(), g.relocs)
    f = (Body().op(0x41, 10, 0x10).site(R.FUNCTION_INDEX_LEB, SYM_G)
         .op(0x41, 1, 0x41, 2, 0x10).site(R.FUNCTION_INDEX_LEB, SYM_HOST).op(0x6A)
         .op(0x41).site(R.MEMORY_ADDR_SLEB, SYM_PTR).op(0x28, 2, 0, 0x28, 2, 0, 0x6A)
         .op(0x23).site(R.GLOBAL_INDEX_LEB, SYM_COUNTER).op(0x6A)
         .op(0x41, 5, 0x41).site(R.TABLE_INDEX_SLEB, SYM_G)
         .op(0x11).site(R.TYPE_INDEX_LEB, w.add_type(G_TYPE)).op(0x00, 0x6A)
         .op(0x41, 0, 0x28, 2).site(R.MEMORY_ADDR_LEB, SYM_VALUE, 4).op(0x6A))
    fi = w.add_function(FuncType((), I32), f.done(), f.relocs)
    stack_pointer = w.import_global("env", "__stack_pointer", I32, True)
    counter = w.add_global(I32, True, b"\x41\x00\x0b")
    c = (Body().op(0x23).site(R.GLOBAL_INDEX_LEB, SYM_COUNTER).op(0x41, 1, 0x6A, 0x24)
         .site(R.GLOBAL_INDEX_LEB, SYM_COUNTER))
    ci = w.add_function(FuncType(), c.done(), c.relocs)
    value = w.add_segment(".data.value", bytes([7, 0, 0, 0, 35, 0, 0, 0]), 2)
    ptr = w.add_segment(".data.ptr", bytes(4), 2, 0, [Reloc(R.MEMORY_ADDR_I32, 0, SYM_VALUE, 4)])
    symbols = [
        Symbol(SymKind.FUNCTION, 0, "g", gi),
        Symbol(SymKind.FUNCTION, WASM_SYM_UNDEFINED, "host_add", host, 0, 0, "env", "host_add"),
        Symbol(SymKind.FUNCTION, WASM_SYM_NO_STRIP, "f", fi),
        Symbol(SymKind.DATA, WASM_SYM_VISIBILITY_HIDDEN, "value", value, 0, 8),
        Symbol(SymKind.DATA, WASM_SYM_BINDING_LOCAL, "ptr", ptr, 0, 4),
        Symbol(SymKind.GLOBAL, WASM_SYM_BINDING_LOCAL, "counter", counter),
        Symbol(SymKind.FUNCTION, WASM_SYM_BINDING_LOCAL, "ctor", ci),
        Symbol(SymKind.SECTION, WASM_SYM_BINDING_LOCAL, ".debug_irld", 0),
        Symbol(SymKind.GLOBAL, WASM_SYM_UNDEFINED, "__stack_pointer", stack_pointer),
    ]
    for sym in symbols:
        w.add_symbol(sym)
    w.add_init_func(100, SYM_CTOR)
    w.add_comdat("group_f", [(WASM_COMDAT_FUNCTION, fi)])
    w.set_target_features([("+", "mutable-globals")])
    w.add_custom_section(".debug_irld", b"\x00" * 4 + b"\xaa" * 4, [
        Reloc(R.FUNCTION_OFFSET_I32, 0, SYM_F, 3), Reloc(R.SECTION_OFFSET_I32, 4, SYM_DEBUG, 2)])
    w.add_custom_section("irld.index", b"index payload")
    parts: dict[str, object] = {"bodies": [g, f, c], "symbols": symbols}
    return w, parts


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path, dict[str, object]]:
    w, parts = build_writer()
    data = w.finish()
    path = tmp_path_factory.mktemp("writer") / "obj.o"
    path.write_bytes(data)
    return data, path, parts


@needs_objdump
def test_objdump_accepts_the_written_object(written: tuple[bytes, Path, dict[str, object]]
                                            ) -> None:
    data, path, _ = written
    dump = objdump(path)
    assert [(letter, name) for _, letter, name, _, _, _ in dump.symbols] == [
        ("F", "g"), ("F", "env.host_add"), ("F", "f"), ("D", "value"), ("D", "ptr"),
        ("G", "counter"), ("F", "ctor"), ("S", ".debug_irld"), ("G", "env.__stack_pointer")]
    obj = read_object(data, "obj.o")
    assert obj.code_section is not None and obj.data_section is not None
    code = dump.relocs[obj.code_section]
    assert [t for t, _, _, _ in code] == [
        "MEMORY_ADDR_SLEB", "FUNCTION_INDEX_LEB", "FUNCTION_INDEX_LEB", "MEMORY_ADDR_SLEB",
        "GLOBAL_INDEX_LEB", "TABLE_INDEX_SLEB", "TYPE_INDEX_LEB", "MEMORY_ADDR_LEB",
        "GLOBAL_INDEX_LEB", "GLOBAL_INDEX_LEB"]
    assert dump.relocs[obj.data_section] == [("MEMORY_ADDR_I32", obj.data_relocs[0].offset,
                                              SYM_VALUE, 4)]
    assert dump.init_funcs == [(100, SYM_CTOR)]
    assert dump.segment_info == [(".data.value", 2, set()), (".data.ptr", 2, set())]
    assert dump.comdats == [("group_f", [("func", 2)])]
    assert dump.features == [("+", "mutable-globals")]
    debug = next(i for i, s in enumerate(obj.sections) if s[1] == ".debug_irld")
    assert dump.relocs[debug] == [("FUNCTION_OFFSET_I32", 0, SYM_F, 3),
                                  ("SECTION_OFFSET_I32", 4, SYM_DEBUG, 2)]


@needs_validate
def test_written_object_is_a_valid_module(written: tuple[bytes, Path, dict[str, object]]) -> None:
    # Relocated sites hold object-local values, as clang leaves them, so the
    # object validates on its own.
    assert VALIDATE is not None
    proc = subprocess.run([VALIDATE, str(written[1])], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@needs_ld
def test_written_object_links_with_wasm_ld_and_runs(
        written: tuple[bytes, Path, dict[str, object]], tmp_path: Path) -> None:
    assert WASM_LD is not None
    out = tmp_path / "out.wasm"
    subprocess.run([WASM_LD, "--no-entry", "--export=f", "--export=g",
                    "--export=__wasm_call_ctors", "--allow-undefined", "-o", str(out),
                    str(written[1])], check=True, capture_output=True)
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    host_type = wasmtime.FuncType([wasmtime.ValType.i32()] * 2, [wasmtime.ValType.i32()])
    host = wasmtime.Func(store, host_type, lambda a, b: 100 * a + b)
    instance = wasmtime.Instance(store, wasmtime.Module.from_file(engine, str(out)), [host])
    exports = instance.exports(store)
    exports["__wasm_call_ctors"](store)  # type: ignore[operator]
    assert exports["g"](store, 1) == 9  # type: ignore[operator]
    assert exports["f"](store) == 217  # type: ignore[operator]


def test_reading_back_what_the_writer_wrote(written: tuple[bytes, Path, dict[str, object]]
                                            ) -> None:
    data, _, parts = written
    obj = read_object(data, "obj.o")
    symbols = parts["symbols"]
    assert isinstance(symbols, list)
    assert [(s.kind, s.flags, s.name, s.index, s.offset, s.size) for s in obj.symbols] == [
        (s.kind, s.flags, s.name, obj.sections.index(next(
            x for x in obj.sections if x[1] == ".debug_irld")) if s.kind == SymKind.SECTION
         else s.index, s.offset, s.size) for s in symbols]
    assert obj.symbols[SYM_HOST].import_module == "env"
    assert obj.types[obj.functions[0].type_index] == G_TYPE
    assert [i.kind for i in obj.imports] == [2, 0, 1, 3]
    assert obj.imports[3].global_type == (I32, True)
    assert obj.symbols[-1].import_name == "__stack_pointer"
    assert obj.symbols[SYM_COUNTER].index == 1  # after the imported global
    assert obj.imports[0].limits == (1, None)  # one page holds the 12 bytes of data
    assert obj.globals == [Global(I32, True, b"\x41\x00\x0b")]
    assert [(s.name, s.alignment, s.address, s.size) for s in obj.segments] == [
        (".data.value", 2, 0, 8), (".data.ptr", 2, 8, 4)]
    assert obj.segment_data(0) == bytes([7, 0, 0, 0, 35, 0, 0, 0])
    assert obj.segment_data(1) == bytes([4, 0, 0, 0])  # provisional: value + 4
    assert obj.init_funcs == [(100, SYM_CTOR)]
    assert obj.comdats == [("group_f", [(WASM_COMDAT_FUNCTION, 2)])]
    assert obj.target_features == [("+", "mutable-globals")]
    assert obj.custom_section("irld.index") == b"index payload"
    assert [name for _, name, _, _ in obj.sections if name][-2:] == ["target_features",
                                                                     "irld.index"]
    bodies = parts["bodies"]
    assert isinstance(bodies, list)
    for i, body in enumerate(bodies):
        assert isinstance(body, Body)
        check_body(obj, i, body)
    (debug_index,) = obj.custom_relocs
    assert [(r.type, r.offset, r.index, r.addend) for r in obj.custom_relocs[debug_index]] == [
        (R.FUNCTION_OFFSET_I32, 0, SYM_F, 3), (R.SECTION_OFFSET_I32, 4, SYM_DEBUG, 2)]


def check_body(obj: WasmObject, i: int, body: Body) -> None:
    """Same bytes, except the relocated sites, which hold object-local values."""
    f = obj.functions[i]
    got = obj.function_body(i)
    want = body.done()
    assert len(got) == len(want)
    relocs = obj.function_relocs(i)
    assert [(r.type, r.offset - f.code_offset, r.index, r.addend) for r in relocs] == [
        (r.type, r.offset, r.index, r.addend) for r in body.relocs]
    sites: set[int] = set()
    for r in body.relocs:
        sites.update(range(r.offset, r.offset + 5))
        signed = r.type in (R.MEMORY_ADDR_SLEB, R.TABLE_INDEX_SLEB)
        value, end = (read_sleb if signed else read_uleb)(got, r.offset)
        assert end == r.offset + 5  # still padded
        assert value == provisional(obj, r)
    assert [b for k, b in enumerate(got) if k not in sites] == [
        b for k, b in enumerate(want) if k not in sites]


def provisional(obj: WasmObject, r: Reloc) -> int:
    if r.type == R.TYPE_INDEX_LEB:
        return r.index
    sym = obj.symbols[r.index]
    if sym.kind == SymKind.DATA:
        return obj.segments[sym.index].address + sym.offset + r.addend
    return 0 if r.type == R.TABLE_INDEX_SLEB else sym.index


@needs_ld
@needs_clang
def test_written_object_links_against_a_clang_object(tmp_path: Path) -> None:
    """The writer's object and clang's resolve each other's symbols."""
    assert WASM_LD is not None
    c_obj = compile_c(tmp_path, "helper", "int triple(int x) { return 3 * x; }\n"
                      "extern int from_writer(void);\n"
                      "int both(void) { return triple(from_writer()); }\n", [])
    w = ObjectWriter()
    w.import_memory()
    triple = w.import_function("env", "triple", G_TYPE)
    body = Body().op(0x41, 14, 0x10).site(R.FUNCTION_INDEX_LEB, 0)
    fi = w.add_function(FuncType((), I32), body.done(), body.relocs)
    w.add_symbol(Symbol(SymKind.FUNCTION, WASM_SYM_UNDEFINED, "triple", triple))
    w.add_symbol(Symbol(SymKind.FUNCTION, 0, "from_writer", fi))
    ours = tmp_path / "ours.o"
    ours.write_bytes(w.finish())
    out = tmp_path / "both.wasm"
    subprocess.run([WASM_LD, "--no-entry", "--export=both", "-o", str(out), str(ours),
                    str(c_obj)], check=True, capture_output=True)
    store = wasmtime.Store()
    instance = wasmtime.Instance(store, wasmtime.Module.from_file(store.engine, str(out)), [])
    assert instance.exports(store)["both"](store) == 126  # type: ignore[operator]


def test_explicit_name_is_added_when_a_symbol_renames_its_import() -> None:
    w = ObjectWriter()
    index = w.import_function("host", "log_it", FuncType((I32,)))
    w.add_symbol(Symbol(SymKind.FUNCTION, WASM_SYM_UNDEFINED, "host_log", index))
    w.add_symbol(Symbol(SymKind.FUNCTION, WASM_SYM_UNDEFINED, "plain", w.import_function(
        "env", "plain", FuncType())))
    obj = read_object(w.finish(), "x.o")
    log, plain = obj.symbols
    assert log.flags == WASM_SYM_UNDEFINED | WASM_SYM_EXPLICIT_NAME
    assert (log.name, log.import_module, log.import_name) == ("host_log", "host", "log_it")
    assert (plain.flags, plain.name, plain.import_name) == (WASM_SYM_UNDEFINED, "plain", "plain")


def test_writer_refuses_inconsistent_input() -> None:
    w = ObjectWriter()
    w.add_function(FuncType(), b"\x00\x0b", [])
    with pytest.raises(ValueError, match="before defining"):
        w.import_function("env", "late", FuncType())
    with pytest.raises(ValueError, match="outside"):
        w.add_function(FuncType(), b"\x00\x10\x00\x0b", [Reloc(R.FUNCTION_INDEX_LEB, 1, 0)])
    with pytest.raises(ValueError, match="takes no addend"):
        w.add_function(FuncType(), b"\x00" * 8, [Reloc(R.FUNCTION_INDEX_LEB, 1, 0, 3)])
    w.add_symbol(Symbol(SymKind.FUNCTION, WASM_SYM_UNDEFINED, "nope", 0))
    with pytest.raises(ValueError, match="an import"):
        w.finish()
    w2 = ObjectWriter()
    w2.add_segment(".data.x", b"\x01", 0)
    with pytest.raises(ValueError, match="import_memory"):
        w2.finish()
    w3 = ObjectWriter()
    w3.add_function(FuncType(), b"\x00\x10" + padded_uleb(0) + b"\x0b",
                    [Reloc(R.FUNCTION_INDEX_LEB, 2, 5)])
    with pytest.raises(ValueError, match="symbol 5 missing"):
        w3.finish()


@pytest.mark.parametrize("value", [0, 1, 63, 64, 127, 128, 1 << 20, (1 << 32) - 1])
def test_padded_lebs_decode_to_their_value(value: int) -> None:
    assert read_uleb(padded_uleb(value), 0) == (value, 5)
    assert read_sleb(padded_sleb(value - (1 << 31) if value >= 1 << 31 else value), 0)[1] == 5
    assert read_sleb(padded_sleb(-value // 2), 0) == (-value // 2, 5)
    assert read_uleb(padded_uleb(value, 10), 0) == (value, 10)


def test_object_inside_a_larger_buffer_keeps_absolute_offsets(
        written: tuple[bytes, Path, dict[str, object]]) -> None:
    data = written[0]
    padded = b"JUNK" * 5 + data + b"TAIL"
    alone = read_object(data, "a.o")
    for buf in (padded, memoryview(padded), bytearray(padded)):
        inner = read_object(buf, "lib.a(a.o)", start=20, end=20 + len(data))
        assert inner.buf is buf  # the caller's object, sliced on demand
        assert [f.start - 20 for f in inner.functions] == [f.start for f in alone.functions]
        assert [inner.function_body(i) for i in range(3)] == [
            alone.function_body(i) for i in range(3)]
        assert inner.code_relocs == alone.code_relocs  # section-relative: unchanged
        assert inner.custom_section("irld.index") == b"index payload"
    assert is_wasm_object(padded, 20) and not is_wasm_object(padded, 0)


# ---------------------------------------------------------------- refusing damaged input


def exercise(data: bytes | bytearray) -> None:
    """Parse and touch everything lazy, function relocations both one by one
    (the scan) and all at once; only WasmObjectError may escape."""
    for one_by_one in (True, False):
        try:
            obj = read_object(data, "bad.o")
            if one_by_one:
                for i in range(len(obj.functions)):
                    obj.function_relocs(i)
            obj.load_relocs()
            for i in range(len(obj.functions)):
                obj.function_relocs(i)
                obj.function_body(i)
            for i in range(len(obj.segments)):
                obj.segment_relocs(i)
            obj.symbol_index()
        except WasmObjectError as e:
            assert e.file == "bad.o" and str(e) == f"bad.o: {e.reason}" and e.reason


def small_objects(tmp_path: Path) -> list[bytes]:
    objects = [build_writer()[0].finish()]
    if CLANG is not None:
        objects.append(compile_c(tmp_path, "small", BASICS, ["-g"]).read_bytes())
    return objects


def test_every_truncation_is_refused_or_parses(tmp_path: Path) -> None:
    for data in small_objects(tmp_path):
        for n in range(len(data)):
            exercise(data[:n])


def test_byte_flips_are_refused_or_parse(tmp_path: Path) -> None:
    rng = random.Random(1234)
    for data in small_objects(tmp_path):
        positions = range(len(data)) if len(data) < 2000 else rng.sample(range(len(data)), 2000)
        for pos in positions:
            for mask in (0x01, 0x80, 0xFF, rng.randrange(1, 256)):
                damaged = bytearray(data)
                damaged[pos] ^= mask
                exercise(damaged)


def test_random_multi_byte_damage(tmp_path: Path) -> None:
    rng = random.Random(99)
    for data in small_objects(tmp_path):
        for _ in range(300):
            damaged = bytearray(data)
            for _ in range(rng.randrange(2, 12)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            exercise(damaged)


def section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


def custom(name: str, payload: bytes) -> bytes:
    return section(0, uleb(len(name)) + name.encode() + payload)


HEADER = b"\x00asm\x01\x00\x00\x00"
TYPES = section(1, b"\x01\x60\x00\x00")
FUNCS = section(3, b"\x01\x00")
CODE = section(10, b"\x01\x02\x00\x0b")
SYMTAB_OK = b"\x08\x06\x01\x00\x00\x00\x01f"  # one defined function `f`, index 0


@pytest.mark.parametrize("data, reason", [
    (b"", "bad magic"),
    (b"\x7fELF\x01\x01\x01\x00", "bad magic"),
    (b"\x00asm\x02\x00\x00\x00", "unsupported wasm binary version"),
    (HEADER + TYPES, "no 'linking' section"),
    (HEADER + b"\x01\x05\x01\x60", "runs past the end of the file"),
    (HEADER + b"\x01\x80\x80", "truncated section header"),
    (HEADER + section(14, b"\x00"), "unknown section id 14"),
    (HEADER + FUNCS + TYPES, "out of order"),
    (HEADER + TYPES + FUNCS + custom("linking", b"\x02"), "1 functions declared, 0 bodies"),
    (HEADER + custom("linking", b"\x01"), "version 1, expected 2"),
    (HEADER + TYPES + FUNCS + CODE + custom("linking", b"\x02" + b"\x08\x05\x01\x00\x00\x01"),
     "runs past the section"),
    (HEADER + TYPES + FUNCS + CODE + custom("linking", b"\x02\x08\x06\x01\x00\x00\x05\x01f"),
     "defined function index 5 out of range"),
    (HEADER + TYPES + FUNCS + CODE + custom("linking", b"\x02\x08\x06\x01\x09\x00\x00\x01f"),
     "unknown kind 9"),
    (HEADER + TYPES + FUNCS + CODE + custom("linking", b"\x02" + SYMTAB_OK
                                              + b"\x06\x03\x01\x00\x07"),
     "init function symbol 7"),
    (HEADER + TYPES + section(3, b"\x01\x04") + CODE + custom("linking", b"\x02"),
     "type index 4 out of range"),
    (HEADER + section(1, b"\x01\x60\x01\x7b\x00"), "value type 0x7b is not supported"),
    (HEADER + section(1, b"\x01\x60\x00\x02\x7f\x7f"), "2 results"),
    (HEADER + section(1, b"\x01\x60\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
     "LEB128 longer than 10 bytes"),
    (HEADER + section(2, b"\x01\x02\xff\xfe\x01a\x00\x00"), "not valid UTF-8"),
    (HEADER + section(1, b"\xff\xff\x03"), "count 65535 is larger"),
])
def test_malformed_objects_name_the_problem(data: bytes, reason: str) -> None:
    with pytest.raises(WasmObjectError) as info:
        read_object(data, "bad.o")
    assert reason in info.value.reason
    assert str(info.value).startswith("bad.o: ")


@pytest.mark.parametrize("reloc_payload, reason", [
    (b"\x09\x00", "target section 9 does not precede it"),
    (b"\x00\x00", "target section 0 is not code, data or custom"),
    (b"\x02\x01\x03\x01\x00\x00", "MEMORY_ADDR_LEB at 1: symbol 0 missing or of the wrong kind"),
    (b"\x02\x01\x00\x01\x05", "symbol 5 missing"),
    (b"\x02\x01\x1b\x01\x00", "unknown relocation type 27"),
    (b"\x02\x02\x06\x01\x00\x06\x00\x00", "not in offset order"),
    (b"\x02\x01\x06\x00\x03", "type 3 out of range"),
    (b"\x02\x01\x06\x09\x00", "runs past its target section"),
    (b"\x02\x01\x06", "truncated"),
])
def test_malformed_relocations_are_refused_when_first_used(reloc_payload: bytes,
                                                           reason: str) -> None:
    # Sections: 0 type, 1 function, 2 code (6 bytes), 3 linking, 4 reloc.CODE.
    code = section(10, b"\x01\x06\x00" + b"\x01" * 4 + b"\x0b")
    data = (HEADER + TYPES + FUNCS + code + custom("linking", b"\x02" + SYMTAB_OK)
            + custom("reloc.CODE", reloc_payload))
    obj = read_object(data, "bad.o")  # relocations are not parsed yet
    assert obj.symbols[0].name == "f"
    with pytest.raises(WasmObjectError) as info:
        obj.code_relocs
    assert reason in info.value.reason


def test_function_relocs_decode_only_that_function() -> None:
    """Per function, the scan of reloc.CODE finds the same entries as decoding
    the whole section, with offsets of one, two, three and four LEB bytes
    (a 2.1 MB function), addends and symbol indices past 127."""
    w = ObjectWriter()
    rng = random.Random(7)
    syms = [w.add_symbol(Symbol(SymKind.FUNCTION, WASM_SYM_UNDEFINED, f"u{k}",
                                w.import_function("env", f"u{k}", FuncType()), 0, 0,
                                "env", f"u{k}"))
            for k in range(200)]
    data_sym = w.add_symbol(Symbol(SymKind.DATA, WASM_SYM_UNDEFINED, "d", 0))
    sizes = [12, 40, 3, 300, 20000, 2_100_000, 60]
    for size in sizes:
        body = bytearray(b"\x00" + b"\x01" * size + b"\x0b")
        relocs = []
        for at in sorted(rng.sample(range(1, size - 4), min(size // 6, 50))):
            if rng.random() < 0.5:
                relocs.append(Reloc(R.FUNCTION_INDEX_LEB, at, rng.choice(syms)))
            else:
                relocs.append(Reloc(R.MEMORY_ADDR_LEB, at, data_sym, rng.randrange(-9, 9999)))
        relocs = [r for i, r in enumerate(relocs) if i == 0 or r.offset >= relocs[i - 1].offset + 5]
        w.add_function(FuncType(), bytes(body), relocs)
    w.add_function(FuncType(), b"\x00\x0b")  # none at all
    w.add_symbol(Symbol(SymKind.FUNCTION, 0, "f", 200))
    blob = w.finish()
    whole = read_object(blob, "whole.o")
    whole.load_relocs()
    lazy = read_object(blob, "lazy.o")
    order = list(range(len(sizes) + 1))
    rng.shuffle(order)
    for i in order:
        assert lazy.function_relocs(i) == whole.function_relocs(i)
        assert lazy.function_relocs(i) is lazy.function_relocs(i)  # decoded once
    assert lazy._relocs is None  # the section was never decoded whole
    assert sum(len(lazy.function_relocs(i)) for i in order) == len(whole.code_relocs)


# Two functions of 6 bytes (code offsets 2..8 and 9..15) and their symbols.
TWO_FUNCS = (HEADER + TYPES + section(3, b"\x02\x00\x00")
             + section(10, b"\x02" + (b"\x06\x00" + b"\x01" * 4 + b"\x0b") * 2)
             + custom("linking", b"\x02\x08\x0b\x02\x00\x00\x00\x01f\x00\x00\x01\x01g"))


def test_a_bad_entry_in_an_unused_function_is_not_decoded() -> None:
    # TYPE_INDEX_LEB at 3 (f, fine), then one at 10 (g) naming type 5 of 1.
    obj = read_object(TWO_FUNCS + custom("reloc.CODE", b"\x02\x02\x06\x03\x00\x06\x0a\x05"),
                      "bad.o")
    assert obj.function_relocs(0) == [Reloc(R.TYPE_INDEX_LEB, 3, 0)]
    with pytest.raises(WasmObjectError, match="^bad.o: .*type 5 out of range"):
        obj.function_relocs(1)
    with pytest.raises(WasmObjectError, match="type 5 out of range"):
        obj.code_relocs


@pytest.mark.parametrize("reloc_payload, reason", [
    (b"\x02\x02\x06\x0a\x00\x06\x03\x00", "not in offset order"),
    (b"\x02\x02\x06\x03\x00\x1b\x0a\x00", "unknown relocation type 27"),
    (b"\x02\x02\x06\x03\x00\x06\x0a", "truncated"),
    (b"\x02\x01\x06\x03\x00\x00", "unexpected bytes at its end"),
])
def test_a_broken_reloc_section_is_refused_whatever_function_is_used(
        reloc_payload: bytes, reason: str) -> None:
    obj = read_object(TWO_FUNCS + custom("reloc.CODE", reloc_payload), "bad.o")
    with pytest.raises(WasmObjectError, match=f"^bad.o: .*{reason}"):
        obj.function_relocs(0)


def test_reloc_type_constants_are_the_standard_numbers() -> None:
    assert [(t.name, int(t)) for t in RelocType][:6] == [
        ("FUNCTION_INDEX_LEB", 0), ("TABLE_INDEX_SLEB", 1), ("TABLE_INDEX_I32", 2),
        ("MEMORY_ADDR_LEB", 3), ("MEMORY_ADDR_SLEB", 4), ("MEMORY_ADDR_I32", 5)]
    assert (R.TABLE_NUMBER_LEB, R.MEMORY_ADDR_LOCREL_I32, R.FUNCTION_INDEX_I32) == (20, 23, 26)
    assert len(RelocType) == 27
    assert R.MEMORY_ADDR_I32 in RELOC_HAS_ADDEND and R.FUNCTION_INDEX_LEB not in RELOC_HAS_ADDEND
    assert RELOC_SIZE[R.MEMORY_ADDR_LEB64] == 10 and RELOC_SIZE[R.TABLE_INDEX_I64] == 8
    assert (WASM_SYM_BINDING_WEAK, WASM_SYM_EXPORTED, WASM_SYM_EXPLICIT_NAME) == (1, 0x20, 0x40)
    assert Import("env", "f", 0, 3).global_type is None


def test_duplicate_global_symbol_names_are_refused() -> None:
    w = ObjectWriter()
    a = w.add_function(FuncType(), b"\x00\x0b")
    b = w.add_function(FuncType(), b"\x00\x0b")
    w.add_symbol(Symbol(SymKind.FUNCTION, 0, "same", a))
    w.add_symbol(Symbol(SymKind.FUNCTION, WASM_SYM_BINDING_LOCAL, "same", b))
    assert [s.name for s in read_object(w.finish(), "ok.o").symbols] == ["same", "same"]
    w.add_symbol(Symbol(SymKind.FUNCTION, WASM_SYM_BINDING_WEAK, "same", b))
    with pytest.raises(WasmObjectError, match="two non-local symbols named 'same'"):
        read_object(w.finish(), "dup.o")


def test_uncommon_sections_tags_passive_segments_extended_const() -> None:
    """What clang's C output rarely has: a tag, passive and memory-indexed
    segments, a global.get segment offset, an extended-const initializer."""
    init = b"\x41\x05\x41\x03\x6a\x0b"  # i32.const 5, i32.const 3, i32.add
    data = section(11, b"\x03" + b"\x01\x02ab" + b"\x02\x00\x41\x10\x0b\x02cd"
                   + b"\x00\x23\x00\x0b\x02ef")
    symtab = (b"\x03" + b"\x04\x00\x00\x03exn" + b"\x01\x00\x01p\x00\x01\x01"
              + b"\x02\x02\x00\x01g")
    linking = b"\x02\x08" + uleb(len(symtab)) + symtab
    blob = (HEADER + TYPES + section(13, b"\x01\x00\x00") + section(6, b"\x01\x7f\x00" + init)
            + section(7, b"\x01\x03exn\x04\x00") + section(12, b"\x03") + data
            + custom("linking", linking))
    obj = read_object(blob, "odd.o")
    assert (obj.num_defined_tags, obj.exports) == (1, [("exn", 4, 0)])
    assert obj.globals == [Global(I32, False, init)]
    assert [(s.init_flags, s.address, obj.segment_data(i)) for i, s in enumerate(obj.segments)
            ] == [(1, 0, b"ab"), (2, 16, b"cd"), (0, 0, b"ef")]
    assert [(s.kind, s.name, s.index, s.offset, s.size) for s in obj.symbols] == [
        (SymKind.TAG, "exn", 0, 0, 0), (SymKind.DATA, "p", 0, 1, 1),
        (SymKind.GLOBAL, "g", 0, 0, 0)]
    assert [s.name for s in obj.segments] == ["", "", ""]  # no segment info


def test_equal_function_types_are_one_instance_across_objects_and_formats() -> None:
    """Readers hand out the canonical FuncType (`linker.ir.types.canonical`), so a
    link's lookups by type hit by identity: two objects' types, and the IR index
    codec's, are the same object when equal."""
    from linker.store.typecodec import decode_functype, encode_functype
    one, two = build_writer()[0], build_writer()[0]
    a, b = read_object(one.finish(), "a.o"), read_object(two.finish(), "b.o")
    assert a.types and list(a.types) == list(b.types)
    assert all(x is y for x, y in zip(a.types, b.types))
    assert decode_functype(encode_functype(FuncType(a.types[0].params, a.types[0].result))) \
        is a.types[0]
