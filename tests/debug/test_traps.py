"""Traps and panics in IR terms: `irld run` on wasmtime and on Node prints the
trap kind in words, then the backtrace as IR functions with `file:line:col`
from the program's source map (`irld link --source-map`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from debug_util import Build, line_of

import linker.host

# One program per fault: main -> caller -> fault, the fault's statement in FAULT.
TEMPLATE = """module t.fault

func fault(p: i32) -> i32 {{
  local r: i32
entry:
  {fault}
  return r
}}

func caller(p: i32) -> i32 {{
  local r: i32
entry:
  r = call fault(p)
  return r
}}

func main() -> i32 {{
  local r: i32
entry:
  r = call caller({arg})
  return r
}}
"""

FAULTS = {
    # name: (statement, argument, wasmtime's words, Node's words)
    "store past the end of memory": (
        "i32.store(i32.sub(i32.shl(memory.size(), 16), 2), 7)", "0",
        "out of bounds memory access", None),
    "null function pointer": (
        "r = call_indirect (i32) -> i32 [p](1)", "0",
        "indirect call to a null function pointer",
        "indirect call to a null function pointer or of the wrong type"),
    "function pointer past the table": (
        "r = call_indirect (i32) -> i32 [p](1)", "1000",
        "indirect call past the end of the function table", None),
    "division by zero": (
        "r = i32.div_u(100, p)", "0", "integer divide by zero", None),
}


def _expected(src: str, fault_line: str, col: int, words: str) -> str:
    return (f"error: wasm trap: {words}\n"
            f"  at fault (fault.ir:{line_of(src, fault_line)}:{col})\n"
            f"  at caller (fault.ir:{line_of(src, 'r = call fault')}:12)\n"
            f"  at main (fault.ir:{line_of(src, 'r = call caller')}:12)\n"
            "  at _start\n")


def _column(src: str, stmt: str) -> int:
    line = next(text for text in src.splitlines() if stmt in text)
    col = line.index(stmt) + 1
    # A call's location is its callee (or `call_indirect`); an assignment's its local.
    if stmt.startswith("r = call_indirect"):
        return col + len("r = ")
    return col + len("r = call ") if stmt.startswith("r = call ") else col


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_backtrace_in_ir_terms(build: Build, node: str, fault: str) -> None:
    stmt, arg, words, node_words = FAULTS[fault]
    src = TEMPLATE.format(fault=stmt, arg=arg)
    wasm = build({"fault.ir": src}, "--source-map", "prog.wasm.map")
    col = _column(src, stmt)
    on_wasmtime = linker.host.run(wasm, ["prog"], capture=True)
    assert on_wasmtime.exit_code == 134
    assert on_wasmtime.stderr.decode() == _expected(src, stmt, col, words)
    on_node = linker.host.run_node(wasm, ["prog"])
    assert on_node.exit_code == 134
    assert on_node.stderr.decode() == _expected(src, stmt, col, node_words or words)
    assert on_node.frames[0].location == on_wasmtime.frames[0].location


def test_without_a_source_map_frames_have_names_only(build: Build, node: str) -> None:
    stmt, arg, words, _ = FAULTS["division by zero"]
    wasm = build({"fault.ir": TEMPLATE.format(fault=stmt, arg=arg)})
    want = f"error: wasm trap: {words}\n  at fault\n  at caller\n  at main\n  at _start\n"
    assert linker.host.run(wasm, ["prog"], capture=True).stderr.decode() == want
    assert linker.host.run_node(wasm, ["prog"]).stderr.decode() == want


PANIC = """module t.panic

func check(n: i32) -> i32 {
entry:
  if i32.gt_s(n, 3) then bad else ok
ok:
  return n
bad:
  panic "n is too large"
}

func step(n: i32) -> i32 {
  local r: i32
entry:
  r = call check(n)
  if i32.eqz(r) then done else more
more:
  r = call step(i32.add(n, 1))
  return r
done:
  return 0
}

func main() -> i32 {
  local r: i32
entry:
  r = call step(1)
  return r
}
"""


def test_panic_deep_in_a_call_chain(build: Build, node: str) -> None:
    wasm = build({"panic.ir": PANIC}, "--source-map", "prog.wasm.map")
    panic_line = line_of(PANIC, 'panic "n is')
    recurse = f"  at step (panic.ir:{line_of(PANIC, 'r = call step(i32')}:12)\n"
    want = ("panic in check: n is too large\n"
            "error: panic\n"
            f"  at check (panic.ir:{panic_line}:3)\n"
            f"  at step (panic.ir:{line_of(PANIC, 'r = call check')}:12)\n"
            + recurse * 3 +
            f"  at main (panic.ir:{line_of(PANIC, 'r = call step(1)')}:12)\n"
            "  at _start\n")
    for result in (linker.host.run(wasm, ["prog"], capture=True),
                   linker.host.run_node(wasm, ["prog"])):
        assert (result.exit_code, result.trap) == (134, "panic")
        assert result.stderr.decode() == want


STACK = """module t.stack

func down(n: i32) -> i32 {
  local r: i32
entry:
  r = call down(i32.add(n, 1))
  return i32.add(r, 1)
}

func main() -> i32 {
  local r: i32
entry:
  r = call down(0)
  return r
}
"""


def test_stack_exhaustion(build: Build, node: str, tmp_path: Path) -> None:
    wasm = build({"stack.ir": STACK}, "--source-map", "prog.wasm.map")
    frame = f"  at down (stack.ir:{line_of(STACK, 'r = call down')}:12)"
    for result in (linker.host.run(wasm, ["prog"], capture=True),
                   linker.host.run_node(wasm, ["prog"])):
        lines = result.stderr.decode().splitlines()
        assert result.exit_code == 134
        assert lines[0] == "error: wasm trap: call stack exhausted"
        # The innermost frame overflowed on entry: the function's declaration.
        assert lines[1] == f"  at down (stack.ir:{line_of(STACK, 'func down')}:6)"
        assert lines[2:11] == [frame] * 9


def test_cli_prints_the_ir_backtrace(build: Build, capfd: pytest.CaptureFixture[str]) -> None:
    from linker.cli.main import main
    stmt, arg, words, _ = FAULTS["division by zero"]
    src = TEMPLATE.format(fault=stmt, arg=arg)
    wasm = build({"fault.ir": src}, "--source-map", "prog.wasm.map")
    capfd.readouterr()
    for engine in ("wasmtime", "node"):
        assert main(["run", "--engine", engine, str(wasm)]) == 134
        assert capfd.readouterr().err == _expected(src, stmt, _column(src, stmt), words)


def test_locations_survive_lto_inlining(build: Build, node: str) -> None:
    """--lto inlines `divide` into `main` and `main` into `_start`, a `return` becoming
    an assignment: the trapping division keeps its own IR location (the frame is
    `_start`'s, running the code inlined into it), not main's header."""
    src = """module t.inl

func divide(a: i32, b: i32) -> i32 {
entry:
  return i32.div_u(a, b)
}

func main() -> i32 {
  local r: i32
entry:
  r = call divide(100, 0)
  return r
}
"""
    wasm = build({"inl.ir": src}, "--lto", "--source-map", "prog.wasm.map")
    want = ("error: wasm trap: integer divide by zero\n"
            f"  at _start (inl.ir:{line_of(src, 'return i32.div_u')}:3)\n")
    assert linker.host.run(wasm, ["prog"], capture=True).stderr.decode() == want
    assert linker.host.run_node(wasm, ["prog"]).stderr.decode() == want
