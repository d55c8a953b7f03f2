"""The host side of the interpreter: the WASI preview 1 subset the stdlib uses, and irld's `env`.

Functions (the same contract as `linker.host`, docs/runtime.md):

* ``fd_write(fd, iovs, iovs_len, nwritten)``: fd 1 and 2 append to the
  captured stdout/stderr; other fds return EBADF (8);
* ``fd_read(fd, iovs, iovs_len, nread)``: fd 0 reads the given stdin bytes;
* ``args_sizes_get`` / ``args_get``: the argument vector;
* ``environ_sizes_get`` / ``environ_get``: an empty environment;
* ``proc_exit(code)``: ends the run (`Exit`);
* ``env.irld_trace_i32/i64/f64`` write ``trace <t>: <value>`` to stderr and
  ``env.irld_clock_ms`` reads a monotonic clock;
* ``irld.closure_table_grow`` is the machine's (`Machine.closure_table_grow`,
  the FFI's table growth, `linker.interp.ffi`).

A pointer outside memory makes the call return EFAULT (21), as wasmtime's
WASI does.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from typing import Any

from linker.interp.machine import Exit, HostImpl
from linker.ir.types import FuncType, ValType
from linker.host import format_f64

WASI = "wasi_snapshot_preview1"
EBADF = 8
EFAULT = 21
_I32, _I64, _F64 = ValType.I32, ValType.I64, ValType.F64
_U32 = struct.Struct("<I")


class _Fault(Exception):
    pass


class Host:
    """Host state of one run: memory, argv, stdin and the captured output."""

    def __init__(self, memory: bytearray, argv: Sequence[str], stdin: bytes) -> None:
        self.memory = memory
        self.argv = [a.encode() for a in argv]
        self.stdin = stdin
        self.stdin_pos = 0
        self.stdout = bytearray()
        self.stderr = bytearray()

    # ------------------------------------------------------------ memory access

    def read(self, addr: int, size: int) -> bytes:
        if addr + size > len(self.memory):
            raise _Fault()
        return bytes(self.memory[addr:addr + size])

    def write(self, addr: int, data: bytes) -> None:
        if addr + len(data) > len(self.memory):
            raise _Fault()
        self.memory[addr:addr + len(data)] = data

    def u32(self, addr: int) -> int:
        v: int = _U32.unpack(self.read(addr, 4))[0]
        return v

    def put_u32(self, addr: int, v: int) -> None:
        self.write(addr, _U32.pack(v & 0xFFFF_FFFF))

    # ------------------------------------------------------------ WASI

    def fd_write(self, args: list[Any]) -> int:
        fd, iovs, n, nwritten = args
        try:
            chunks = [self.read(self.u32(iovs + 8 * i), self.u32(iovs + 8 * i + 4))
                      for i in range(n)]
            data = b"".join(chunks)
            if fd == 1:
                self.stdout += data
            elif fd == 2:
                self.stderr += data
            else:
                return EBADF
            self.put_u32(nwritten, len(data))
        except _Fault:
            return EFAULT
        return 0

    def fd_read(self, args: list[Any]) -> int:
        fd, iovs, n, nread = args
        if fd != 0:
            return EBADF
        try:
            total = 0
            for i in range(n):
                ptr, size = self.u32(iovs + 8 * i), self.u32(iovs + 8 * i + 4)
                chunk = self.stdin[self.stdin_pos:self.stdin_pos + size]
                self.write(ptr, chunk)
                self.stdin_pos += len(chunk)
                total += len(chunk)
                if len(chunk) < size:
                    break
            self.put_u32(nread, total)
        except _Fault:
            return EFAULT
        return 0

    def args_sizes_get(self, args: list[Any]) -> int:
        argc_ptr, size_ptr = args
        try:
            self.put_u32(argc_ptr, len(self.argv))
            self.put_u32(size_ptr, sum(len(a) + 1 for a in self.argv))
        except _Fault:
            return EFAULT
        return 0

    def args_get(self, args: list[Any]) -> int:
        argv_ptr, buf = args
        try:
            for i, a in enumerate(self.argv):
                self.put_u32(argv_ptr + 4 * i, buf)
                self.write(buf, a + b"\0")
                buf += len(a) + 1
        except _Fault:
            return EFAULT
        return 0

    def environ_sizes_get(self, args: list[Any]) -> int:
        count_ptr, size_ptr = args
        try:
            self.put_u32(count_ptr, 0)
            self.put_u32(size_ptr, 0)
        except _Fault:
            return EFAULT
        return 0

    def environ_get(self, args: list[Any]) -> int:
        return 0

    def proc_exit(self, args: list[Any]) -> None:
        raise Exit(args[0])

    # ------------------------------------------------------------ irld's env

    def trace(self, kind: str) -> HostImpl:
        def impl(args: list[Any]) -> None:
            v = args[0]
            if kind == "i32":
                text = str(v - (1 << 32) if v >> 31 else v)
            elif kind == "i64":
                text = str(v - (1 << 64) if v >> 63 else v)
            else:
                text = format_f64(v)
            self.stderr += f"trace {kind}: {text}\n".encode()
        return impl

    def functions(self) -> dict[tuple[str, str], tuple[FuncType, HostImpl]]:
        i4 = FuncType((_I32,) * 4, _I32)
        i2 = FuncType((_I32, _I32), _I32)
        return {
            (WASI, "fd_write"): (i4, self.fd_write),
            (WASI, "fd_read"): (i4, self.fd_read),
            (WASI, "args_sizes_get"): (i2, self.args_sizes_get),
            (WASI, "args_get"): (i2, self.args_get),
            (WASI, "environ_sizes_get"): (i2, self.environ_sizes_get),
            (WASI, "environ_get"): (i2, self.environ_get),
            (WASI, "proc_exit"): (FuncType((_I32,), None), self.proc_exit),
            ("env", "irld_trace_i32"): (FuncType((_I32,)), self.trace("i32")),
            ("env", "irld_trace_i64"): (FuncType((_I64,)), self.trace("i64")),
            ("env", "irld_trace_f64"): (FuncType((_F64,)), self.trace("f64")),
            ("env", "irld_clock_ms"): (FuncType((), _F64),
                                       lambda args: time.perf_counter() * 1000.0),
        }
