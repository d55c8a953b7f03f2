"""The same programs under wasmtime (`run`) and Node (`run_node`) give the same results."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import linker.host
from runtime_programs import ARGV, CAT, EXIT42, HELLO, LOOP, TRACE, TRAP, wat

PROGRAMS = {
    "hello": (HELLO, ["hello"], None),
    "argv": (ARGV, ["prog", "one", "two words", "", "ünïcode"], None),
    "stdin": (CAT, ["cat"], b"some input\nmore\n"),
    "exit": (EXIT42, ["exit"], None),
    "trace": (TRACE, ["trace"], None),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_same_stdout_stderr_and_exit_code(node: str, name: str) -> None:
    module, argv, stdin = PROGRAMS[name]
    on_wasmtime = linker.host.run(module, argv, stdin=stdin, capture=True)
    on_node = linker.host.run_node(module, argv, stdin)
    assert on_node == on_wasmtime


def test_trap_under_both_engines(node: str) -> None:
    on_wasmtime = linker.host.run(TRAP, ["trap"], capture=True)
    on_node = linker.host.run_node(TRAP, ["trap"])
    assert on_node.exit_code == on_wasmtime.exit_code == 134
    assert on_node.stdout == on_wasmtime.stdout == b"before\n"
    assert on_node.trap == "wasm trap: unreachable instruction executed"
    assert [f.name for f in on_node.frames] == [f.name for f in on_wasmtime.frames] \
        == ["boom", "helper", "main"]
    assert on_node.stderr == b"error: wasm trap: unreachable instruction executed\n  at boom\n  at helper\n  at main\n"


def test_tail_calls_under_node(node: str) -> None:
    module = wat("""
     (func $down (param $n i32) (result i32)
       (if (result i32) (i32.eqz (local.get $n))
         (then (i32.const 9))
         (else (return_call $down (i32.sub (local.get $n) (i32.const 1))))))
     (func (export "_start") (call $proc_exit (call $down (i32.const 1000000))))""")
    assert linker.host.run_node(module, ["tail"]).exit_code == 9


def test_stack_overflow_is_a_trap_under_node(node: str) -> None:
    module = wat("""
     (func $down (param $n i32) (result i32) (i32.add (i32.const 1) (call $down (local.get $n))))
     (func (export "_start") (drop (call $down (i32.const 0))))""")
    result = linker.host.run_node(module, ["deep"])
    assert result.exit_code == 134
    assert result.trap == "wasm trap: call stack exhausted"


def test_node_timeout_kills_the_run(node: str) -> None:
    result = linker.host.run_node(LOOP, ["loop"], timeout=1.0)
    assert result.exit_code == 134
    assert result.trap == "timed out after 1s"


def test_node_reports_bad_input(node: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"nope")
    result = linker.host.run_node(bad, [])
    assert result.exit_code == 1
    assert result.stderr.decode().startswith(f"{bad}: error: not a valid wasm module: ")
    imports = tmp_path / "imports.wasm"
    imports.write_bytes(wat('(import "env" "foo" (func)) (func (export "_start"))', prelude=False))
    result = linker.host.run_node(imports, [])
    assert (result.exit_code, result.stderr.decode()) == (
        1, f"irld run: error: {imports}: unknown import env.foo\n")


def test_node_runner_usage_error(node: str) -> None:
    proc = subprocess.run([node, str(linker.host.NODE_RUNNER)], capture_output=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(b"usage: node node_runner.mjs")


def test_format_f64_matches_javascript(node: str) -> None:
    values = [0.1, 1 / 3, 1e21, 1e20, 123456789012345680000.0, 1e-7, 1.5e-6, 2.0**-1074, 2.0**60,
              -7.25, 1.7976931348623157e308, 4.35, 1e100, 12345.678e-12]
    script = f"console.log(JSON.stringify({json.dumps(values)}.map(String)))"
    proc = subprocess.run([node, "-e", script], capture_output=True, check=True, text=True)
    assert [linker.host.format_f64(v) for v in values] == json.loads(proc.stdout)
