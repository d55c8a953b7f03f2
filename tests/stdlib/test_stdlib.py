"""The standard library (stdlib/*.ir), the examples (examples/*/) and the stdlib test programs
(tests/stdlib/*.ir with *.expected).

Always:
* every .ir file parses, verifies and compiles with no diagnostics;
* the stdlib's contracts that need no linker: each module documents every public function in
  its header comment, std.io does not reach the allocator, module and global symbol names do
  not clash, every program has its expected output.

Linked and run: every test program and every example is linked
(with native tail calls and with the trampoline) against an archive of the stdlib and run with `linker.host.run`; its stdout must equal the
expected output byte for byte and its exit status `expected.exit` / `NAME.exit` (default 0);
a test program may also give `NAME.args` (arguments, one per line) and `NAME.stderr` (text
that stderr must contain).  Examples that use
the dynamic FFI (interp, callbacks) get the linker's FFI runtime.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from linker.compile import compile_module
from linker.demo import c_compiler, needs_libc
from linker.toolchain import LibcToolchain, debian_libc, missing_message
from linker.codegen import TailCallMode
from linker.diagnostics import DiagnosticError
from linker.driver import LinkOptions, link
from linker.ir import model as ir
from linker.ir.parser import parse_module
from linker.ir.refs import func_refs

ROOT = Path(__file__).resolve().parents[2]
STDLIB = sorted((ROOT / "stdlib").glob("*.ir"))
EXAMPLES = sorted(d for d in (ROOT / "examples").iterdir() if d.is_dir() and any(d.glob("*.ir")))
PROGRAMS = sorted(Path(__file__).parent.glob("*.ir"))
ALL_IR = STDLIB + [f for d in EXAMPLES for f in sorted(d.glob("*.ir"))] + PROGRAMS
RUN_TIMEOUT = 120.0


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def _parse(path: Path) -> ir.Module:
    try:
        return parse_module(path.read_text(), str(path))
    except DiagnosticError as e:
        pytest.fail(f"{_rel(path)} does not parse:\n{e}")


def _compile(path: Path) -> bytes:
    module = _parse(path)
    try:
        return compile_module(module)
    except DiagnosticError as e:
        pytest.fail(f"{_rel(path)} does not verify:\n{e}")


# ---------------------------------------------------------------- always


def test_files_exist() -> None:
    names = {p.stem for p in STDLIB}
    assert {"rts", "io", "str", "array", "list", "args"} <= names
    assert {d.name for d in EXAMPLES} >= {"hello", "fib", "countdown", "irreducible", "bigdata",
                                          "interp", "callbacks"}
    assert len(PROGRAMS) >= 5


@pytest.mark.parametrize("path", ALL_IR, ids=_rel)
def test_parses_and_compiles(path: Path) -> None:
    assert _compile(path)


@pytest.mark.parametrize("path", STDLIB, ids=_rel)
def test_stdlib_header_documents_every_public_function(path: Path) -> None:
    text = path.read_text()
    header = text[:text.index("\nmodule ")]
    module = _parse(path)
    public = [f.name for f in module.funcs if not f.private]
    assert public, f"{_rel(path)} defines no public function"
    missing = [n for n in public if not re.search(rf"\b{re.escape(n)}\(", header)]
    assert not missing, f"{_rel(path)}: header comment does not document {missing}"


def test_io_does_not_reach_the_allocator() -> None:
    """A program that only prints must not pull in std.rts (or anything else)."""
    module = _parse(ROOT / "stdlib" / "io.ir")
    own = {f.name for f in module.funcs} | {i.name for i in module.imports}
    for f in module.funcs:
        refs = {sym for sym, _kind in func_refs(f).refs}
        outside = refs - own - {d.name for d in module.data}
        assert not outside, f"std.io function {f.name} references {sorted(outside)}"


def test_no_symbol_clashes() -> None:
    """Module names are unique; public symbols of the stdlib are defined once; no example or test
    program redefines a public stdlib symbol (they are all linked against the stdlib)."""
    modules: dict[str, str] = {}
    for path in ALL_IR:
        m = _parse(path)
        assert m.name not in modules, f"module {m.name} in {_rel(path)} and {modules[m.name]}"
        modules[m.name] = _rel(path)
    stdlib_syms: dict[str, str] = {}
    for path in STDLIB:
        for sym in _public_definitions(_parse(path)):
            assert sym not in stdlib_syms, f"{sym} defined in {_rel(path)} and {stdlib_syms[sym]}"
            stdlib_syms[sym] = _rel(path)
    for path in ALL_IR:
        if path in STDLIB:
            continue
        clash = set(_public_definitions(_parse(path))) & set(stdlib_syms)
        assert not clash, f"{_rel(path)} redefines stdlib symbols {sorted(clash)}"


def _public_definitions(m: ir.Module) -> list[str]:
    out: list[str] = []
    for item in m.items:
        if isinstance(item, (ir.Func, ir.Data, ir.Global)) and not item.private:
            out.append(item.name)
        elif isinstance(item, ir.ImportFunc):
            out.append(item.name)
    return out


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda d: d.name)
def test_example_has_expected_output(example: Path) -> None:
    assert (example / "expected.out").is_file()
    assert any(m.name == "main" for f in example.glob("*.ir") for m in _parse(f).funcs)


@pytest.mark.parametrize("path", PROGRAMS, ids=_rel)
def test_program_has_expected_output(path: Path) -> None:
    assert path.with_suffix(".expected").is_file()


# ---------------------------------------------------------------- linked and run


@pytest.fixture(scope="session")
def stdlib_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from linker.store.archive import archive_bytes
    members = [(f"{p.stem}.o", _compile(p)) for p in STDLIB]
    path = tmp_path_factory.mktemp("stdlib") / "stdlib.a"
    path.write_bytes(archive_bytes(members))
    return path


def _link(sources: list[Path], archive: Path, out_dir: Path, mode: str = "native",
          libc: LibcToolchain | None = None, c_lib: tuple[Path, ...] = (),
          lto: bool = False) -> Path:
    """Compile and link; `c_lib` is archived as the example's own library, and
    `libc`'s compiler and archives are used when given (as make demo does)."""
    cc = list(libc.cc) if libc is not None else c_compiler()
    objs = []
    for src in sources:
        obj = out_dir / f"{src.stem}.o"
        if src.suffix == ".c":     # the C half of a mixed example, compiled as make demo does
            subprocess.run([*cc, "-O1", "-c", str(src), "-o", str(obj)], check=True)
        else:
            obj.write_bytes(_compile(src))
        objs.append(str(obj))
    if c_lib:
        from linker.store.archive import archive_bytes
        members = []
        for src in c_lib:
            subprocess.run([*cc, "-O1", "-c", str(src), "-o", str(out_dir / "member.o")],
                           check=True)
            members.append((f"{src.stem}.o", (out_dir / "member.o").read_bytes()))
        (out_dir / "libexample.a").write_bytes(archive_bytes(members))
        objs.append(str(out_dir / "libexample.a"))
    if libc is not None:
        objs += libc.libs
    wasm = out_dir / "prog.wasm"
    opts = LinkOptions(inputs=(*objs, str(archive)), output=str(wasm),
                       tail_calls=TailCallMode(mode), lto=lto)
    try:
        link(opts)
    except DiagnosticError as e:
        pytest.fail(f"link of {[_rel(s) for s in sources]} failed:\n{e.render()}")
    return wasm


def _run_and_compare(wasm: Path, args: list[str], expected_out: bytes, expected_exit: int,
                     label: str, expected_stderr: str | None = None) -> None:
    import linker.host
    result = linker.host.run(str(wasm), [label, *args], stdin=b"", capture=True,
                             timeout=RUN_TIMEOUT)
    stderr = result.stderr.decode(errors="replace")
    detail = f"exit {result.exit_code}, trap {result.trap}\nstderr:\n{stderr}"
    assert result.stdout.decode(errors="replace") == expected_out.decode(), detail
    assert result.exit_code == expected_exit, detail
    if expected_stderr is not None:
        assert expected_stderr in stderr, detail


def _exit_status(path: Path) -> int:
    return int(path.read_text()) if path.exists() else 0


def _lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return path.read_text().splitlines()


MODES = ("native", "trampoline")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", PROGRAMS, ids=_rel)
def test_program_runs(path: Path, mode: str, stdlib_archive: Path, tmp_path: Path) -> None:
    wasm = _link([path], stdlib_archive, tmp_path, mode)
    stderr = path.with_suffix(".stderr")
    _run_and_compare(wasm, _lines(path.with_suffix(".args")),
                     path.with_suffix(".expected").read_bytes(),
                     _exit_status(path.with_suffix(".exit")), path.stem,
                     stderr.read_text() if stderr.exists() else None)


@pytest.mark.parametrize("lto", (False, True), ids=("plain", "lto"))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda d: d.name)
def test_example_runs(example: Path, mode: str, lto: bool, stdlib_archive: Path,
                      tmp_path: Path) -> None:
    """Every example, in both tail-call modes, with and without --lto (which makes
    `_start` an IR function and inlines `main` into it; a C `main` stays a call)."""
    c_sources = sorted(example.glob("*.c"))
    if c_sources and shutil.which("clang") is None and importlib.util.find_spec("ziglang") is None:
        pytest.skip("no C compiler for wasm32 (clang or the ziglang wheel)")
    libc = None
    if needs_libc(example):
        # Debian's wasi-libc only: zig's first build of libc takes minutes (make demo uses it).
        libc = debian_libc()
        if libc is None:
            pytest.skip(missing_message())
    wasm = _link(sorted(example.glob("*.ir")) + c_sources, stdlib_archive, tmp_path, mode,
                 libc, tuple(sorted(example.glob("lib/*.c"))), lto)
    _run_and_compare(wasm, _lines(example / "args"), (example / "expected.out").read_bytes(),
                     _exit_status(example / "expected.exit"), example.name)


def test_hello_links_only_io(stdlib_archive: Path, tmp_path: Path) -> None:
    """Live-code discovery keeps exactly what hello uses: no allocator, no strings."""
    src = ROOT / "examples" / "hello" / "hello.ir"
    obj = tmp_path / "hello.o"
    obj.write_bytes(_compile(src))
    result = link(LinkOptions(inputs=(str(obj), str(stdlib_archive)),
                              output=str(tmp_path / "hello.wasm")))
    live = set(result.live.live)
    assert {"main", "print_str", "write"} <= live
    assert not {"malloc", "free", "memcpy", "strlen", "argc"} & live, sorted(live)
    # Every live stdlib symbol comes from std.io: the archive's other members stay unloaded.
    from_archive = {rec.obj.name for rec, _ in result.live.live.values()
                    if "(" in rec.obj.name and not rec.obj.name.startswith("<linker>")}
    assert from_archive == {f"{stdlib_archive}(io.o)"}, from_archive
