"""Checked mode (`irld link --checked`): memory and function-pointer checks added at link time.

Asterius's debug mode, extended: every load and store of IR code checks its
effective address against the null region `[0, data_base)`, the end of
memory and (stores) the read-only data; every indirect call checks its
function pointer for null and for a slot past the end of the table.  A
violation stops the program like a panic, naming the function, the access,
the address and the IR location::

    panic in fault: store of 4 bytes at 0x00000008 in the null region [0, 0x400) (t.ir:6:3)

The instrumentation is generated when IR functions are code-generated again
from their IR at link time (as `--tail-calls=trampoline` does), so objects
need no recompiling; C code is copied unchanged.  Each access becomes

    <addr>  i32.const OFFSET  i32.const F  i32.const FLEN  i32.const L  i32.const LLEN
    call __irld_check_<load|store><width>      ;; returns addr
    <the original load or store>

where F and L are the function's name and the location's text in the
read-only message pool (laid out before code generation, from a scan of the
IR).  The test itself is inlined before that call (`Checks.emit_access`), so
the call happens only on a violation.  A checker compares in i64 (an address plus offset may pass 2**32, as
wasm's effective address does) and, on a violation, calls
`__irld_check_fail`, which writes the message to stderr with WASI `fd_write`
(one iovec per call, as the panic runtime does) and traps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import attrs

from linker.diagnostics import Span
from linker.ir import model as ir
from linker.ir.ops import OPS_BY_NAME, OpKind
from linker.ir.types import FuncType, ValType
from linker.wasm.instr import InstrBuilder

I32, I64 = ValType.I32, ValType.I64
WIDTHS = (1, 2, 4, 8)
SCRATCH = "__irld_check_scratch"      # iovec (8), nwritten (4), hex digits (8)
SCRATCH_SIZE = 20
FAIL = "__irld_check_fail"
CALL_CHECK = "__irld_check_call"
CHECK_PREFIX = "__irld_check"
UNKNOWN_LOCATION = "unknown location"
_PIECES = ("panic in ", ": ", " (", ")\n")
_HEX = "0123456789abcdef"
CHECK_TYPE = FuncType((I32,) * 6, I32)
CALL_CHECK_TYPE = FuncType((I32,) * 5, I32)
FAIL_TYPE = FuncType((I32,) * 9, None)


def checker_name(write: bool, width: int) -> str:
    return f"{CHECK_PREFIX}_{'store' if write else 'load'}{width}"


def location_text(span: Span | None) -> str:
    return UNKNOWN_LOCATION if span is None else f"{span.file}:{span.line}:{span.col}"


def _nodes(f: ir.Func) -> Iterator[ir.Stmt | ir.Terminator]:
    for b in f.blocks:
        yield from b.stmts
        yield b.term


def pool_texts(funcs: Sequence[ir.Func], null_end: int) -> list[str]:
    """Every text checked code may print: the fixed pieces, and each function's
    name and the locations of its statements and terminators."""
    texts = [*_PIECES, _HEX, UNKNOWN_LOCATION, *_reasons(null_end).values()]
    texts += [_what(w, n) for w in (False, True) for n in WIDTHS]
    texts.append(_CALL_WHAT)
    for f in funcs:
        texts.append(f.name)
        texts.append(location_text(f.span))
        texts += [location_text(node.span) for node in _nodes(f)]
    return list(dict.fromkeys(texts))


_CALL_WHAT = "indirect call through function pointer 0x"


def _what(write: bool, width: int) -> str:
    return f"{'store' if write else 'load'} of {width} byte{'s' if width > 1 else ''} at 0x"


def _reasons(null_end: int) -> dict[str, str]:
    return {
        "null": f" in the null region [0, {null_end:#x})",
        "end": " past the end of memory",
        "ro": " into read-only data",
        "null_fn": ": a null function pointer",
        "table": ": past the end of the function table",
    }


@attrs.define(slots=True)
class Checks:
    """Link-wide state of checked mode, as code generation sees it."""

    pool: dict[str, int]                 # text -> address in the message pool
    funcs: dict[str, int]                # checker name -> function index
    null_end: int = 0
    ro: tuple[int, int] = (0, 0)         # the read-only data [start, end)

    def text(self, s: str) -> tuple[int, int]:
        return self.pool[s], len(s.encode())

    def emit_access(self, b: InstrBuilder, fname: str, span: Span | None, op: str,
                    offset: int, addr: int, ea: int) -> None:
        """With the address on the stack: check it for a load or store `op`.

        The test is inline (an out-of-line call per access cost up to 8x on
        wasmtime, which does not inline it); only a violation calls the
        checker, which tests again and reports.  `addr` (i32) and `ea` (i64)
        are locals the caller reserves for this.  With E the effective address
        and M the memory's size in bytes, both in 64 bits:
        violation = (E - null_end) >u (M - (W + null_end))
                    [store: or (E - lo) <u (ro_end - lo), lo = ro_start - W + 1]."""
        info = OPS_BY_NAME[op]
        write = info.kind is OpKind.STORE
        width = info.mem_bytes
        b.local_tee(addr)
        b.op("i64.extend_i32_u")
        if offset:
            b.i64_const(offset)
            b.op("i64.add")
        b.local_tee(ea)
        b.i64_const(self.null_end)
        b.op("i64.sub")
        b.op("memory.size")
        b.op("i64.extend_i32_u")
        b.i64_const(16)
        b.op("i64.shl")
        b.i64_const(width + self.null_end)
        b.op("i64.sub")
        b.op("i64.gt_u")
        if write and self.ro[1] > self.ro[0]:
            lo = self.ro[0] - width + 1
            b.local_get(ea)
            b.i64_const(lo)
            b.op("i64.sub")
            b.i64_const(self.ro[1] - lo)
            b.op("i64.lt_u")
            b.op("i32.or")
        b.if_()
        b.local_get(addr)
        b.i32_const(offset)
        self._site(b, fname, span)
        b.call(self.funcs[checker_name(write, width)])
        b.drop()
        b.end()
        b.local_get(addr)

    def emit_call(self, b: InstrBuilder, fname: str, span: Span | None) -> None:
        """With a function pointer on the stack: check it for an indirect call."""
        self._site(b, fname, span)
        b.call(self.funcs[CALL_CHECK])

    def _site(self, b: InstrBuilder, fname: str, span: Span | None) -> None:
        for ptr_len in (self.text(fname), self.text(location_text(span))):
            b.i32_const(ptr_len[0])
            b.i32_const(ptr_len[1])


CHECKERS: tuple[tuple[str, FuncType], ...] = (
    *((checker_name(w, n), CHECK_TYPE) for w in (False, True) for n in WIDTHS),
    (CALL_CHECK, CALL_CHECK_TYPE), (FAIL, FAIL_TYPE))


@attrs.define(slots=True)
class CheckBodies:
    """Generates the checkers' bodies once the layout is known."""

    checks: Checks
    null_end: int
    ro: tuple[int, int]
    scratch: int
    fd_write: int

    def bodies(self) -> dict[str, tuple[list[ValType], bytes]]:
        out = {checker_name(w, n): self.access(w, n) for w in (False, True) for n in WIDTHS}
        out[CALL_CHECK] = self.call()
        out[FAIL] = self.fail()
        return out

    def _fail_call(self, b: InstrBuilder, what: str, addr: Callable[[], None], why: str,
                   site: int) -> None:
        """Call the failure reporter; the site's (f, flen, loc, llen) are params
        `site`..`site+3`."""
        b.local_get(site)
        b.local_get(site + 1)
        for v in self.checks.text(what):
            b.i32_const(v)
        addr()
        for v in self.checks.text(why):
            b.i32_const(v)
        b.local_get(site + 2)
        b.local_get(site + 3)
        b.call(self.checks.funcs[FAIL])

    def access(self, write: bool, width: int) -> tuple[list[ValType], bytes]:
        # params: addr 0, offset 1, f 2, flen 3, loc 4, llen 5; local ea (i64) 6
        b = InstrBuilder()
        reasons = _reasons(self.null_end)
        what = _what(write, width)

        def addr() -> None:
            b.local_get(6)
            b.op("i32.wrap_i64")
        b.local_get(0)
        b.op("i64.extend_i32_u")
        b.local_get(1)
        b.op("i64.extend_i32_u")
        b.op("i64.add")
        b.local_set(6)
        conditions: list[tuple[Callable[[], None], str]] = [
            (lambda: self._below(b, self.null_end), reasons["null"]),
            (lambda: self._past_memory(b, width), reasons["end"])]
        if write and self.ro[1] > self.ro[0]:
            conditions.append((lambda: self._in_readonly(b, width), reasons["ro"]))
        for test, why in conditions:
            test()
            b.if_()
            self._fail_call(b, what, addr, why, 2)
            b.end()
        b.local_get(0)
        return [I64], b.finish()

    def _below(self, b: InstrBuilder, limit: int) -> None:
        b.local_get(6)
        b.i64_const(limit)
        b.op("i64.lt_u")

    def _past_memory(self, b: InstrBuilder, width: int) -> None:
        b.local_get(6)
        b.i64_const(width)
        b.op("i64.add")
        b.op("memory.size")
        b.op("i64.extend_i32_u")
        b.i64_const(16)
        b.op("i64.shl")
        b.op("i64.gt_u")

    def _in_readonly(self, b: InstrBuilder, width: int) -> None:
        # [ea, ea + width) meets [ro0, ro1)
        b.local_get(6)
        b.i64_const(width)
        b.op("i64.add")
        b.i64_const(self.ro[0])
        b.op("i64.gt_u")
        b.local_get(6)
        b.i64_const(self.ro[1])
        b.op("i64.lt_u")
        b.op("i32.and")

    def call(self) -> tuple[list[ValType], bytes]:
        # params: index 0, f 1, flen 2, loc 3, llen 4
        b = InstrBuilder()
        reasons = _reasons(self.null_end)

        def idx() -> None:
            b.local_get(0)
        b.local_get(0)
        b.op("i32.eqz")
        b.if_()
        self._fail_call(b, _CALL_WHAT, idx, reasons["null_fn"], 1)
        b.end()
        b.local_get(0)
        b.raw(b"\xfc\x10\x00")               # table.size 0
        b.op("i32.ge_u")
        b.if_()
        self._fail_call(b, _CALL_WHAT, idx, reasons["table"], 1)
        b.end()
        b.local_get(0)
        return [], b.finish()

    def fail(self) -> tuple[list[ValType], bytes]:
        # params: f 0, flen 1, what 2, wlen 3, addr 4, why 5, wylen 6, loc 7, llen 8
        b = InstrBuilder()
        hex_at = self.scratch + 12
        for k in range(8):                   # the address as 8 hex digits
            b.i32_const(hex_at + k)
            b.i32_const(self.checks.pool[_HEX])
            b.local_get(4)
            b.i32_const(28 - 4 * k)
            b.op("i32.shr_u")
            b.i32_const(15)
            b.op("i32.and")
            b.op("i32.add")
            b.op("i32.load8_u")
            b.op("i32.store8")
        text = self.checks.text
        pieces: list[tuple[int | None, int]] = [
            text(_PIECES[0]), (None, 0), text(_PIECES[1]), (None, 2), (hex_at, 8),
            (None, 5), text(_PIECES[2]), (None, 7), text(_PIECES[3])]
        for ptr, arg in pieces:
            self._write(b, ptr, arg)
        b.unreachable()
        return [], b.finish()

    def _write(self, b: InstrBuilder, ptr: int | None, arg: int) -> None:
        """fd_write(2) of one piece: a constant (ptr, len) or params (arg, arg+1)."""
        iov = self.scratch
        b.i32_const(iov)
        if ptr is None:
            b.local_get(arg)
        else:
            b.i32_const(ptr)
        b.op("i32.store")
        b.i32_const(iov + 4)
        if ptr is None:
            b.local_get(arg + 1)
        else:
            b.i32_const(arg)
        b.op("i32.store")
        b.i32_const(2)
        b.i32_const(iov)
        b.i32_const(1)
        b.i32_const(iov + 8)
        b.call(self.fd_write)
        b.drop()
