"""`irld link --checked`: loads, stores and indirect calls of IR code checked at
run time, a violation reported as a panic with the function, the access, the
address and the IR location, the same on wasmtime and Node."""

from __future__ import annotations

import subprocess

import pytest
from debug_util import Build, line_of

import linker.host

TEMPLATE = """module t.fault

readonly data ro = {{ i32 5 }}
data rw = {{ i32 6 }}

func fault(p: i32) -> i32 {{
  local r: i32
entry:
  r = i32.load(@rw)
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
    # name: (statement, argument, column of its location, the panic's words)
    "null store": ("i32.store(p, 7)", "0", 3,
                   "store of 4 bytes at 0x00000000 in the null region [0, 0x400)"),
    "null load": ("r = i32.load8_u(i32.add(p, 16))", "0", 3,
                  "load of 1 byte at 0x00000010 in the null region [0, 0x400)"),
    "store with an offset into the null region": (
        "i64.store(p, 1, offset=1016)", "4", 3,
        "store of 8 bytes at 0x000003fc in the null region [0, 0x400)"),
    "store past the end of memory": ("i32.store(p, 7)", "1000000", 3,
                                     "store of 4 bytes at 0x000f4240 past the end of memory"),
    "write to read-only data": ("i32.store(i32.add(@ro, p), 7)", "2", 3,
                                "store of 4 bytes at 0x00000402 into read-only data"),
    "null function pointer": (
        "r = call_indirect (i32) -> i32 [p](1)", "0", 7,
        "indirect call through function pointer 0x00000000: a null function pointer"),
    "function pointer past the table": (
        "r = call_indirect (i32) -> i32 [p](1)", "1000", 7,
        "indirect call through function pointer 0x000003e8: past the end of the function "
        "table"),
}


def _expected(src: str, stmt: str, col: int, words: str) -> str:
    line = line_of(src, stmt)
    return (f"panic in fault: {words} (fault.ir:{line}:{col})\n"
            "error: panic\n"
            f"  at fault (fault.ir:{line}:{col})\n"
            f"  at caller (fault.ir:{line_of(src, 'r = call fault')}:12)\n"
            f"  at main (fault.ir:{line_of(src, 'r = call caller')}:12)\n"
            "  at _start\n")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_checked_fault(build: Build, node: str, fault: str) -> None:
    stmt, arg, col, words = FAULTS[fault]
    src = TEMPLATE.format(fault=stmt, arg=arg)
    wasm = build({"fault.ir": src}, "--checked", "--source-map", "prog.wasm.map")
    subprocess.run(["wasm-validate", str(wasm)], check=True)
    want = _expected(src, stmt, col, words)
    for result in (linker.host.run(wasm, ["prog"], capture=True),
                   linker.host.run_node(wasm, ["prog"])):
        assert (result.exit_code, result.trap) == (134, "panic")
        assert result.stderr.decode() == want


def test_checked_without_a_source_map_still_names_the_location(build: Build) -> None:
    # The panic message carries the IR location itself; frames show names only.
    stmt, arg, col, words = FAULTS["null store"]
    src = TEMPLATE.format(fault=stmt, arg=arg)
    wasm = build({"fault.ir": src}, "--checked")
    result = linker.host.run(wasm, ["prog"], capture=True)
    line = line_of(src, stmt)
    assert result.stderr.decode() == (
        f"panic in fault: {words} (fault.ir:{line}:{col})\n"
        "error: panic\n  at fault\n  at caller\n  at main\n  at _start\n")


@pytest.mark.parametrize("fault", ["null store", "write to read-only data"])
def test_unchecked_the_same_store_corrupts_memory_silently(build: Build, fault: str) -> None:
    stmt, arg, _col, _words = FAULTS[fault]
    wasm = build({"fault.ir": TEMPLATE.format(fault=stmt, arg=arg)})
    result = linker.host.run(wasm, ["prog"], capture=True)
    assert (result.exit_code, result.trap, result.stderr) == (6, None, b"")


def test_valid_accesses_pass_the_checks(build: Build, node: str) -> None:
    # The last byte of memory, the first byte of data, and a real function pointer.
    src = """module t.ok

readonly data ro = { i32 5 }

func seven(x: i32) -> i32 {
entry:
  return 7
}

func main() -> i32 {
  local r: i32
  local top: i32
  local q: i32
entry:
  top = i32.sub(i32.shl(memory.size(), 16), 1)
  i32.store8(top, 9)
  r = i32.add(i32.load8_u(top), i32.load(@ro))
  q = call_indirect (i32) -> i32 [@seven](1)
  return i32.add(r, q)
}
"""
    wasm = build({"ok.ir": src}, "--checked")
    for result in (linker.host.run(wasm, ["prog"], capture=True),
                   linker.host.run_node(wasm, ["prog"])):
        assert (result.exit_code, result.stderr) == (21, b"")


def test_engine_traps_keep_their_words_in_checked_mode(build: Build, node: str) -> None:
    src = TEMPLATE.format(fault="r = i32.div_u(100, p)", arg="0")
    wasm = build({"fault.ir": src}, "--checked", "--source-map", "prog.wasm.map")
    line = line_of(src, "i32.div_u")
    for result in (linker.host.run(wasm, ["prog"], capture=True),
                   linker.host.run_node(wasm, ["prog"])):
        assert result.stderr.decode().splitlines()[:2] == [
            "error: wasm trap: integer divide by zero", f"  at fault (fault.ir:{line}:3)"]
