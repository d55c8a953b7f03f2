"""`irld run`: exit status, options, and error messages without tracebacks."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime_programs import ARGV, CAT, EXIT42, HELLO, LOOP, TRAP, wat

WriteWasm = Callable[..., Path]


def irld(*args: str | Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "linker.cli.main", "run", *map(str, args)],
                          input=stdin, capture_output=True, timeout=60, check=False)


def test_hello(write_wasm: WriteWasm) -> None:
    proc = irld(write_wasm(HELLO))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"Hello, world!\n", b"")


def test_arguments_after_the_program_go_to_the_program(write_wasm: WriteWasm) -> None:
    path = write_wasm(ARGV)
    proc = irld(path, "--fuel", "x", "-h")
    assert (proc.returncode, proc.stdout) == (0, f"{path}\n--fuel\nx\n-h\n".encode())


def test_exit_status_is_the_programs(write_wasm: WriteWasm) -> None:
    proc = irld(write_wasm(EXIT42))
    assert (proc.returncode, proc.stdout) == (42, b"bye\n")


def test_trap_exits_134_with_names(write_wasm: WriteWasm) -> None:
    proc = irld(write_wasm(TRAP))
    assert proc.returncode == 134
    assert proc.stdout == b"before\n"
    assert proc.stderr.decode() == (
        "error: wasm trap: unreachable instruction executed\n"
        "  at boom\n  at helper\n  at main\n")


def test_stdin_option_and_inherited_stdin(write_wasm: WriteWasm, tmp_path: Path) -> None:
    path = write_wasm(CAT)
    (tmp_path / "in.txt").write_bytes(b"from file\n")
    proc = irld("--stdin", tmp_path / "in.txt", path, stdin=b"ignored")
    assert (proc.returncode, proc.stdout) == (0, b"got: from file\n")
    proc = irld(path, stdin=b"from pipe\n")
    assert (proc.returncode, proc.stdout) == (0, b"got: from pipe\n")


def test_missing_stdin_file(write_wasm: WriteWasm, tmp_path: Path) -> None:
    proc = irld("--stdin", tmp_path / "nope.txt", write_wasm(CAT))
    assert proc.returncode == 1
    assert proc.stderr.decode() == (
        f"irld run: error: {tmp_path / 'nope.txt'}: cannot read the --stdin file\n")


def test_fuel(write_wasm: WriteWasm) -> None:
    proc = irld("--fuel", "5000", write_wasm(LOOP))
    assert proc.returncode == 134
    assert proc.stderr.decode().startswith("error: out of fuel (limit 5000)\n  at spin\n")


def test_timeout(write_wasm: WriteWasm) -> None:
    proc = irld("--timeout", "0.2", write_wasm(LOOP))
    assert proc.returncode == 134
    assert proc.stderr.decode().startswith("error: timed out after 0.2s\n  at spin\n")


@pytest.mark.parametrize("data", [b"not wasm at all\n", b"\0asm\x01\0\0\0\x0a\xff"])
def test_invalid_wasm_is_reported_without_a_traceback(write_wasm: WriteWasm, data: bytes) -> None:
    path = write_wasm(data, "bad.wasm")
    proc = irld(path)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert err.startswith(f"{path}: error: not a valid wasm module: ")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_file(tmp_path: Path) -> None:
    proc = irld(tmp_path / "nope.wasm")
    assert proc.returncode == 1
    assert proc.stderr.decode() == (
        f"{tmp_path / 'nope.wasm'}: error: cannot read: No such file or directory\n")


def test_unknown_imports(write_wasm: WriteWasm, tmp_path: Path) -> None:
    module = wat("""(import "env" "foo" (func (param i32) (result i32)))
                    (import "env" "bar" (func))
                    (func (export "_start"))""", prelude=False)
    path = write_wasm(module)
    proc = irld(path)
    assert proc.returncode == 1
    assert proc.stderr.decode() == (
        f"irld run: error: {path}: unknown import env.foo (i32) -> i32\n"
        f"irld run: error: {path}: unknown import env.bar ()\n")


@pytest.mark.parametrize("options", [["--fuel", "0"], ["--fuel", "many"], ["--timeout", "-1"],
                                     ["--engine", "v8"], []])
def test_usage_errors_exit_2(write_wasm: WriteWasm, options: list[str]) -> None:
    args: list[str | Path] = [*options, write_wasm(HELLO)] if options else []
    proc = irld(*args)
    assert proc.returncode == 2
    assert b"Traceback" not in proc.stderr


def test_fuel_with_node_is_a_usage_error(write_wasm: WriteWasm, node: str) -> None:
    proc = irld("--engine", "node", "--fuel", "10", write_wasm(HELLO))
    assert (proc.returncode, proc.stderr) == (2, b"irld run: error: --fuel needs --engine wasmtime\n")


def test_engine_node(write_wasm: WriteWasm, node: str) -> None:
    proc = irld("--engine", "node", write_wasm(EXIT42))
    assert (proc.returncode, proc.stdout, proc.stderr) == (42, b"bye\n", b"")
    proc = irld("--engine", "node", write_wasm(CAT), stdin=b"piped\n")
    assert (proc.returncode, proc.stdout) == (0, b"got: piped\n")


def test_stand_alone_module_entry(write_wasm: WriteWasm) -> None:
    proc = subprocess.run([sys.executable, "-m", "linker.cli.run_cmd", str(write_wasm(EXIT42))],
                          capture_output=True, timeout=60, check=False)
    assert (proc.returncode, proc.stdout) == (42, b"bye\n")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_an_infinite_loop(write_wasm: WriteWasm) -> None:
    module = wat("""
     (data (i32.const 100) "ready\\n")
     (func $spin (loop $forever (br $forever)))
     (func (export "_start") (call $puts (i32.const 100) (i32.const 6)) (call $spin))""")
    proc = subprocess.Popen([sys.executable, "-m", "linker.cli.main", "run", str(write_wasm(module))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"  # the wasm code runs: SIGINT is watched
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=5)
    finally:
        proc.kill()
    assert (proc.returncode, err) == (130, b"irld run: interrupted\n")
