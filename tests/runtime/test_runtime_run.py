"""`linker.host.run`: WASI I/O, exit codes, traps with names, limits, imports, tail calls."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import wasmtime

import linker.host
from linker.ir.types import FuncType, ValType
from runtime_programs import ARGV, CAT, EXIT42, HELLO, LOOP, TRACE, TRAP, wat


def test_hello_writes_stdout_and_exits_zero() -> None:
    result = linker.host.run(HELLO, ["hello"], capture=True)
    assert result == linker.host.RunResult(0, b"Hello, world!\n", b"", None)


def test_argv_is_passed_with_program_name_first() -> None:
    result = linker.host.run(ARGV, ["prog", "one", "two words", ""], capture=True)
    assert result.exit_code == 0
    assert result.stdout == b"prog\none\ntwo words\n\n"


def test_argv_defaults_to_the_file_name() -> None:
    result = linker.host.run(ARGV, [], capture=True, name="named.wasm")
    assert result.stdout == b"named.wasm\n"


def test_stdin_bytes_are_read() -> None:
    result = linker.host.run(CAT, ["cat"], stdin=b"line 1\nline 2\n", capture=True)
    assert result.exit_code == 0
    assert result.stdout == b"got: line 1\nline 2\n"


def test_stdin_from_file(tmp_path: Path) -> None:
    path = tmp_path / "input.txt"
    path.write_bytes(b"x" * 10000)
    result = linker.host.run(CAT, ["cat"], stdin=path, capture=True)
    assert result.stdout == b"got: " + b"x" * 10000


def test_empty_stdin() -> None:
    assert linker.host.run(CAT, ["cat"], stdin=b"", capture=True).stdout == b"got: "


def test_proc_exit_code_is_the_exit_code() -> None:
    result = linker.host.run(EXIT42, ["e"], capture=True)
    assert (result.exit_code, result.stdout, result.trap) == (42, b"bye\n", None)


def test_proc_exit_zero() -> None:
    module = wat('(func (export "_start") (call $proc_exit (i32.const 0)) unreachable)')
    assert linker.host.run(module, ["z"], capture=True).exit_code == 0


def test_exit_status_out_of_range_is_an_error() -> None:
    module = wat('(func (export "_start") (call $proc_exit (i32.const 300)))')
    result = linker.host.run(module, ["z"], capture=True)
    assert result.exit_code == linker.host.EXIT_TRAP
    assert result.trap == "exit with invalid exit status outside of [0..126): 300"
    assert result.stderr.decode().startswith(
        "error: exit with invalid exit status outside of [0..126): 300")
    module = wat('(func (export "_start") (call $proc_exit (i32.const 125)))')
    assert linker.host.run(module, ["z"], capture=True).exit_code == 125


def test_trap_reports_reason_and_function_names() -> None:
    result = linker.host.run(TRAP, ["t"], capture=True)
    assert result.exit_code == 134
    assert result.stdout == b"before\n"
    assert result.trap == "wasm trap: unreachable instruction executed"
    assert [f.name for f in result.frames] == ["boom", "helper", "main"]
    assert result.stderr.decode() == (
        "error: wasm trap: unreachable instruction executed\n"
        "  at boom\n  at helper\n  at main\n")


def test_trap_in_unnamed_function_uses_its_index() -> None:
    module = wasmtime.wat2wasm('(module (func (export "_start") unreachable))')
    # wat2wasm keeps no name for an unnamed function.
    result = linker.host.run(module, ["t"], capture=True)
    assert result.frames[0].name == f"<wasm function {result.frames[0].func_index}>"


def test_division_by_zero_trap() -> None:
    module = wat("""(func $div (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
                    (func (export "_start") (drop (call $div (i32.const 0))))""")
    result = linker.host.run(module, ["d"], capture=True)
    assert result.exit_code == 134
    assert result.trap == "wasm trap: integer divide by zero"
    assert result.frames[0].name == "div"


def test_trap_in_start_section_is_a_trap() -> None:
    module = wat("""(func $init unreachable) (start $init) (func (export "_start"))""")
    result = linker.host.run(module, ["s"], capture=True)
    assert result.exit_code == 134
    assert result.frames[0].name == "init"


def test_fuel_exhaustion() -> None:
    result = linker.host.run(LOOP, ["loop"], fuel=10_000, capture=True)
    assert result.exit_code == 134
    assert result.trap == "out of fuel (limit 10000)"
    assert result.stderr.startswith(b"error: out of fuel (limit 10000)\n  at spin\n")


def test_enough_fuel_runs_to_completion() -> None:
    assert linker.host.run(HELLO, ["h"], fuel=1_000_000, capture=True).exit_code == 0


def test_timeout_interrupts_an_infinite_loop() -> None:
    started = time.monotonic()
    result = linker.host.run(LOOP, ["loop"], timeout=0.3, capture=True)
    elapsed = time.monotonic() - started
    assert result.exit_code == 134
    assert result.trap == "timed out after 0.3s"
    assert b"error: timed out after 0.3s\n  at spin\n" in result.stderr
    assert elapsed < 2.0


def test_timeout_not_reached() -> None:
    assert linker.host.run(HELLO, ["h"], timeout=10, capture=True).exit_code == 0


def test_unknown_imports_are_all_listed() -> None:
    module = wat("""
     (import "env" "foo" (func (param i32) (result i32)))
     (import "env" "bar" (func (param f64 i64)))
     (import "env" "tbl" (table 1 funcref))
     (func (export "_start"))""", prelude=False)
    with pytest.raises(linker.host.HostImportError) as info:
        linker.host.run(module, ["p"], name="prog.wasm")
    assert info.value.render() == (
        "irld run: error: prog.wasm: unknown import env.foo (i32) -> i32\n"
        "irld run: error: prog.wasm: unknown import env.bar (f64, i64)\n"
        "irld run: error: prog.wasm: unknown import env.tbl table funcref")


def test_import_with_the_wrong_type() -> None:
    module = wat("""(import "env" "irld_trace_i32" (func (param i64)))
                    (func (export "_start"))""", prelude=False)
    with pytest.raises(linker.host.HostImportError) as info:
        linker.host.run(module, ["p"], name="p.wasm")
    assert info.value.problems == (
        "import env.irld_trace_i32 has type (i64), but the host provides (i32)",)


@pytest.mark.parametrize(("data", "reason"), [
    (b"hello", "missing the \\0asm magic header"),
    (b"", "missing the \\0asm magic header"),
    (b"\0asm\x02\0\0\0", "unknown binary version: 0x2 (at offset 0x4)"),
    (b"\0asm\x01\0\0\0\x01", "unexpected end-of-file (at offset 0x9)"),
])
def test_invalid_module(data: bytes, reason: str) -> None:
    with pytest.raises(linker.host.InvalidModuleError) as info:
        linker.host.run(data, ["p"], name="bad.wasm")
    assert info.value.render() == f"bad.wasm: error: not a valid wasm module: {reason}"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.wasm"
    with pytest.raises(linker.host.RunError) as info:
        linker.host.run(path, [])
    assert info.value.render() == f"{path}: error: cannot read: No such file or directory"


def test_not_a_command() -> None:
    module = wat('(func (export "main"))', prelude=False)
    with pytest.raises(linker.host.RunError) as info:
        linker.host.run(module, ["p"], name="lib.wasm")
    assert info.value.render() == (
        "lib.wasm: error: not a WASI command: no exported function _start: () -> ()")


def test_return_call_one_million_deep() -> None:
    module = wat("""
     (func $count (param $n i32) (param $acc i64) (result i64)
       (if (result i64) (i32.eqz (local.get $n))
         (then (local.get $acc))
         (else (return_call $count (i32.sub (local.get $n) (i32.const 1))
                                   (i64.add (local.get $acc) (i64.const 2))))))
     (type $k (func (param i32) (result i32)))
     (table 2 funcref) (elem (i32.const 1) $down)
     (func $down (param $n i32) (result i32)
       (if (result i32) (i32.eqz (local.get $n))
         (then (i32.const 7))
         (else (return_call_indirect (type $k) (i32.sub (local.get $n) (i32.const 1)) (i32.const 1)))))
     (func $main (export "_start")
       (if (i64.ne (call $count (i32.const 1000000) (i64.const 0)) (i64.const 2000000))
         (then unreachable))
       (call $proc_exit (call $down (i32.const 1000000))))""")
    assert linker.host.run(module, ["tail"], capture=True).exit_code == 7


def test_the_same_recursion_without_tail_calls_overflows() -> None:
    """Proves the test above is meaningful, and that a stack overflow trap is rendered briefly."""
    module = wat("""
     (func $count (param $n i32) (param $acc i64) (result i64)
       (if (result i64) (i32.eqz (local.get $n))
         (then (local.get $acc))
         (else (call $count (i32.sub (local.get $n) (i32.const 1))
                            (i64.add (local.get $acc) (i64.const 2))))))
     (func $main (export "_start") (drop (call $count (i32.const 1000000) (i64.const 0))))""")
    result = linker.host.run(module, ["deep"], capture=True)
    assert result.exit_code == 134
    assert result.trap == "wasm trap: call stack exhausted"
    # wasmtime keeps the innermost frames only (20 by default).
    lines = result.stderr.decode().splitlines()
    assert 2 <= len(lines) <= 1 + 30 + 1 + 5
    assert set(lines[1:]) == {"  at count"}


def test_long_backtraces_are_elided() -> None:
    frames = [linker.host.TrapFrame(f"f{i}", i, 0) for i in range(100)]
    lines = linker.host.render_trap("wasm trap: x", frames).splitlines()
    assert lines[0] == "error: wasm trap: x"
    assert lines[1:31] == [f"  at f{i}" for i in range(30)]
    assert lines[31:] == ["  ... 65 more frames"] + [f"  at f{i}" for i in range(95, 100)]


def test_default_trace_functions_write_to_stderr_in_order() -> None:
    result = linker.host.run(TRACE, ["trace"], capture=True)
    assert result.exit_code == 0
    assert result.stdout == b"out\n"
    assert result.stderr.decode() == (
        "note\ntrace i32: -5\nnote\ntrace i64: -9007199254740993\ntrace f64: 0.1\ntrace f64: 1e+21\n"
        "trace f64: 10000000000000000\ntrace f64: -2.5e-7\ntrace f64: 3\ntrace f64: NaN\n")


def test_default_registry_contents() -> None:
    host = linker.host.HostFunctions.default()
    assert [(f.module, f.name, str(f.type)) for f in host] == [
        ("env", "irld_clock_ms", "() -> f64"),
        ("env", "irld_trace_f64", "(f64)"),
        ("env", "irld_trace_i32", "(i32)"),
        ("env", "irld_trace_i64", "(i64)"),
        ("irld", "closure_table_grow", "(i32, i32) -> i32"),
        ("irld", "ffi_call_dynamic", "(i32, i32, i32, i32)"),
    ]
    assert all(f.doc for f in host)


def test_custom_host_function_reads_and_writes_memory() -> None:
    host = linker.host.HostFunctions.default()

    @host.define("env", "shout", FuncType((ValType.I32, ValType.I32), ValType.I32))
    def shout(ctx: linker.host.HostContext, ptr: int, length: int) -> int:
        text = ctx.read(ptr, length)
        ctx.write(ptr, text.upper())
        ctx.write_stderr(f"shouted {length} bytes\n")
        return length * 2

    module = wat("""
     (import "env" "shout" (func $shout (param i32 i32) (result i32)))
     (data (i32.const 100) "quiet\\n")
     (func (export "_start")
       (call $puts (i32.const 100) (call $shout (i32.const 100) (i32.const 6)))
       (call $proc_exit (i32.const 3)))""")
    result = linker.host.run(module, ["s"], host=host, capture=True)
    assert (result.exit_code, result.stderr) == (3, b"shouted 6 bytes\n")
    assert result.stdout.startswith(b"QUIET\n")


def test_host_trap_stops_the_program() -> None:
    host = linker.host.HostFunctions()

    def refuse(ctx: linker.host.HostContext, ptr: int) -> None:
        ctx.read(ptr, 16)

    host.add("env", "peek", FuncType((ValType.I32,)), refuse)
    module = wat("""(import "env" "peek" (func $peek (param i32)))
                    (func (export "_start") (call $peek (i32.const -8)))""")
    result = linker.host.run(module, ["p"], host=host, capture=True)
    assert result.exit_code == 134
    assert result.trap == "host trap: host read of 16 bytes at 0xfffffff8 is out of bounds"


def test_host_function_can_replace_a_wasi_function() -> None:
    host = linker.host.HostFunctions.default()
    calls: list[int] = []

    def fake_exit(ctx: linker.host.HostContext, code: int) -> None:
        calls.append(code)

    host.add("wasi_snapshot_preview1", "proc_exit", FuncType((ValType.I32,)), fake_exit)
    result = linker.host.run(EXIT42, ["e"], host=host, capture=True)
    assert (calls, result.exit_code) == ([42], 0)


def test_registry_is_keyed_by_module_and_name() -> None:
    host = linker.host.HostFunctions()
    host.add("m", "f", FuncType(), lambda ctx: None)
    host.add("m", "f", FuncType((ValType.I32,)), lambda ctx, x: None)
    assert len(host) == 1 and ("m", "f") in host
    function = host.get("m", "f")
    assert function is not None and function.type == FuncType((ValType.I32,))
    assert host.copy().get("m", "f") == function


def test_uncaptured_output_goes_to_this_process(capfd: pytest.CaptureFixture[str]) -> None:
    result = linker.host.run(TRAP, ["t"])
    assert (result.exit_code, result.stdout, result.stderr) == (134, b"", b"")
    out, err = capfd.readouterr()
    assert out == "before\n"
    assert err.startswith("error: wasm trap: unreachable instruction executed\n  at boom\n")


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-1.5, "-1.5"), (0.1, "0.1"), (123.456, "123.456"),
    (1e21, "1e+21"), (1e20, "100000000000000000000"), (1.5e21, "1.5e+21"), (1e16, "10000000000000000"),
    (1e-6, "0.000001"), (1e-7, "1e-7"), (1.25e-7, "1.25e-7"), (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"), (float("inf"), "Infinity"),
    (float("-inf"), "-Infinity"), (float("nan"), "NaN"), (2.0**53, "9007199254740992"),
])
def test_format_f64_follows_javascript(value: float, text: str) -> None:
    assert linker.host.format_f64(value) == text
