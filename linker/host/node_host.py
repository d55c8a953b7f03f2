"""Run a linked program under Node's ``node:wasi``: the Node counterpart of the wasmtime runner.

`run_node` runs the same program as `linker.host.wasmtime_host.run` under
Node's ``node:wasi`` through ``node_runner.mjs`` (shipped next to this file),
so tests can check that both engines agree.  The runner provides the same
``env`` host functions and reports a trap the same way (status 134,
``error:`` and ``  at`` lines on stderr), which `run_node` parses back into a
`RunResult`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from linker.host.common import EXIT_TRAP, NodeNotFoundError, RunResult, TrapFrame, Wasm, render_trap

__all__ = [
    "NODE_RUNNER",
    "NODE_TIMEOUT",
    "find_node",
    "run_node",
]

NODE_RUNNER = Path(__file__).with_name("node_runner.mjs")
# A run under Node that takes longer than this is killed (run_node's default).
NODE_TIMEOUT = 60.0


def find_node(node: str | None = None) -> str:
    """The node executable: `node`, else $IRLD_NODE, else node on PATH; NodeNotFoundError if none."""
    exe = node if node is not None else os.environ.get("IRLD_NODE") or shutil.which("node")
    if exe is None or shutil.which(exe) is None:
        raise NodeNotFoundError("node is not installed (set IRLD_NODE or put node on PATH)")
    return exe


def _parse_node_stderr(stderr: bytes) -> tuple[str | None, tuple[TrapFrame, ...]]:
    """The trap message and frames from the runner's ``error:`` / ``  at`` lines."""
    message: str | None = None
    frames: list[TrapFrame] = []
    for line in stderr.decode(errors="replace").splitlines():
        if line.startswith("error: "):
            message, frames = line[len("error: "):], []
        elif message is not None and line.startswith("  at "):
            name, location = _frame_text(line[len("  at "):])
            index = -1
            if name.startswith("<wasm function ") and name.endswith(">"):
                index = int(name[len("<wasm function "):-1])
            frames.append(TrapFrame(name, index, -1, location))
    return message, tuple(frames)


_LOCATED = re.compile(r"^(.*) \(([^()]*:\d+:\d+)\)$")


def _frame_text(text: str) -> tuple[str, str | None]:
    """A frame line's function name and IR location (``name (file:line:col)``)."""
    m = _LOCATED.match(text)
    return (text, None) if m is None else (m.group(1), m.group(2))


def run_node(wasm: Wasm, argv: Sequence[str],
             stdin: bytes | None = None, *, timeout: float | None = NODE_TIMEOUT,
             capture: bool = True, node: str | None = None,
             library_path: Sequence[str | os.PathLike[str]] = (),
             trace_spec: Mapping[str, Any] | None = None, trace_fd: int = 2) -> RunResult:
    """Run a WASI command under Node's ``node:wasi`` with the same host functions as `run`.

    `argv` is the full argument vector as for `run`.  Raises
    `NodeNotFoundError` if there is no node.  A run that exceeds `timeout`
    seconds is killed and reported as a trap (status 134).  ``irld.closure_table_grow``
    grows the table as the JS loader's runtime does (docs/js.md).
    `library_path`: directories searched by dlopen after the program's own
    (`js/irld-dylink.mjs`, docs/dynamic.md).  `trace_spec` (`linker.host.trace.node_spec`)
    turns on `--trace` / `--trace-ffi` for an instrumented program, writing to the
    open file descriptor `trace_fd` (default stderr).
    """
    exe = find_node(node)
    temps: list[str] = []
    try:
        if isinstance(wasm, (bytes, bytearray, memoryview)):
            fd, path = tempfile.mkstemp(prefix="irld-", suffix=".wasm")
            temps.append(path)
            with os.fdopen(fd, "wb") as handle:
                handle.write(wasm)
            label = "<wasm>"
        else:
            path = label = os.fspath(wasm)
        args = list(argv) if argv else [label]
        tracing: list[str] = []
        if trace_spec is not None:
            fd, spec_path = tempfile.mkstemp(prefix="irld-trace-", suffix=".json")
            temps.append(spec_path)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(trace_spec, handle)
            tracing = [f"--trace-spec={spec_path}", f"--trace-fd={trace_fd}"]
        command = [exe, str(NODE_RUNNER), f"--argv0={args[0]}",
                   *(f"--library-path={os.fspath(d)}" for d in library_path), *tracing,
                   "--", path, *args[1:]]
        fds = (trace_fd,) if trace_fd > 2 else ()
        if not capture:
            return _run_node_inherit(command, stdin, timeout, fds)
        try:
            proc = subprocess.run(command, input=stdin if stdin is not None else b"",
                                  capture_output=True, timeout=timeout, check=False,
                                  pass_fds=fds)
        except subprocess.TimeoutExpired as exc:
            message = f"timed out after {timeout:g}s"
            err = (exc.stderr or b"") + render_trap(message, ()).encode()
            return RunResult(EXIT_TRAP, exc.stdout or b"", err, message)
        trap, frames = (None, ()) if proc.returncode != EXIT_TRAP else _parse_node_stderr(proc.stderr)
        return RunResult(proc.returncode, proc.stdout, proc.stderr, trap, frames)
    finally:
        for temp in temps:
            os.unlink(temp)


def _run_node_inherit(command: list[str], stdin: bytes | None, timeout: float | None,
                      fds: tuple[int, ...] = ()) -> RunResult:
    try:
        proc = subprocess.run(command, input=stdin, timeout=timeout, check=False, pass_fds=fds)
    except subprocess.TimeoutExpired:
        message = f"timed out after {timeout:g}s"
        sys.stderr.write(render_trap(message, ()))
        return RunResult(EXIT_TRAP, b"", b"", message)
    return RunResult(proc.returncode, b"", b"", None)
