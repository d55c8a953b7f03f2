"""`irld run --trace=PATTERN` and `--profile=FILE`: the host side of the trace hooks.

A program linked with `irld link --instrument` calls the ``irld_trace``
imports that `linker.tracehooks` describes; `Tracer` implements them for
wasmtime (`hooks`).  It keeps the stack of instrumented frames:

* tracing: each call, tail call and return of a function whose name matches
  the pattern (`fnmatch`, e.g. ``fib`` or ``list.*``) is written as one line,
  indented by the depth of instrumented frames, with the argument values or
  the result (`trace: call fib(10)`, `trace:   return fib = 55`,
  `trace: tail call loop(9, 1)`);
* profiling: every frame opens and closes an event stamped with the host's
  monotonic clock, and `write_profile` writes them in speedscope's "evented"
  format (https://www.speedscope.app/file-format-schema.json), which
  speedscope and the Firefox Profiler's importer open.  Frames left open by
  a trap or `proc_exit` are closed at the end.  The times include the hooks'
  own cost (a host call each), so they show where time goes relative to
  other functions, not absolute speed;
* `--trace-ffi`: each `ffi_call` with its target, its C signature and the
  argument values read through `avalue` and decoded by C type, then the
  value it returned (`FfiInfo`, from the module's `irld.ffi_sigs` section
  and element segments); each closure invocation the same way, with its
  handler, its arguments read through `args`, its `user_data`, and the value
  the handler stored through `ret`.

Under Node (`irld run --engine node`), `node_runner.mjs` implements the
same hooks with the same output; `node_spec` gives it, as JSON, what this
module works out from the wasm file (which functions the pattern matches
and their names; each signature's text and its C types as memory accessors;
each table slot's target), so the matching and the C type text are this
module's and the runner only keeps the stack and formats values
(ECMAScript's Number::toString, which `format_f64` reproduces here).
"""

from __future__ import annotations

import fnmatch
import json
import struct
import time
from collections.abc import Callable
from typing import Any, TextIO

import attrs

from linker.host.wasmtime_host import HostContext, HostFunctions, format_f64
from linker.ir.ctypes import VOID, CKind, CSig, CStruct, CType, parse_key
from linker.ir.types import ValType
from linker.tracehooks import MODULE, SIGS_SECTION, hook_imports


@attrs.frozen(slots=True)
class FfiInfo:
    """What `--trace-ffi` needs from the module: signature id -> C signature
    (the `irld.ffi_sigs` section) and table slot -> function index."""

    sigs: dict[int, CSig]
    table: dict[int, int]

    @staticmethod
    def of(wasm: bytes) -> "FfiInfo":
        from linker.sourcemap import custom_section, table_functions
        raw = custom_section(wasm, SIGS_SECTION) or b""
        sigs = {}
        for line in raw.decode(errors="replace").splitlines():
            num, _sp, key = line.partition(" ")
            sigs[int(num)] = parse_key(key)
        return FfiInfo(sigs, table_functions(wasm))

    def target(self, slot: int, names: dict[int, str]) -> str:
        fid = self.table.get(slot)
        return f"<function pointer {slot}>" if fid is None else names.get(fid, f"<wasm function {fid}>")


_C_FORMATS = {CKind.SINT8: "<b", CKind.UINT8: "<B", CKind.SINT16: "<h", CKind.UINT16: "<H",
              CKind.SINT32: "<i", CKind.UINT32: "<I", CKind.SINT64: "<q", CKind.UINT64: "<Q",
              CKind.FLOAT: "<f", CKind.DOUBLE: "<d"}


def _c_value(ctx: HostContext, t: CType, addr: int) -> str:
    """The C value of type `t` stored at `addr`, as text."""
    if isinstance(t, CStruct):
        return "{" + ", ".join(_c_value(ctx, f, addr + off)
                               for f, off in zip(t.fields, t.offsets())) + "}"
    if t.kind is CKind.POINTER:
        return f"{int.from_bytes(ctx.read(addr, 4), 'little'):#010x}"
    if t.kind is CKind.LONGDOUBLE:
        return f"longdouble {ctx.read(addr, 16).hex()}"
    (v,) = struct.unpack(_C_FORMATS[t.kind], ctx.read(addr, t.size))
    return format_f64(v) if t.kind in (CKind.FLOAT, CKind.DOUBLE) else str(v)


# C kind -> how node_runner.mjs reads it: a DataView accessor, or "pointer" / "longdouble"
_JS_ACCESSORS = {CKind.SINT8: "Int8", CKind.UINT8: "Uint8", CKind.SINT16: "Int16",
                 CKind.UINT16: "Uint16", CKind.SINT32: "Int32", CKind.UINT32: "Uint32",
                 CKind.SINT64: "BigInt64", CKind.UINT64: "BigUint64", CKind.FLOAT: "Float32",
                 CKind.DOUBLE: "Float64", CKind.POINTER: "pointer", CKind.LONGDOUBLE: "longdouble"}


def _js_type(t: CType) -> Any:
    """A C type as node_runner.mjs decodes it: an accessor name, or a struct's [offset, type]s."""
    if isinstance(t, CStruct):
        return [[off, _js_type(f)] for f, off in zip(t.fields, t.offsets())]
    return _JS_ACCESSORS[t.kind]


def node_spec(wasm: bytes, pattern: str | None, ffi: bool) -> dict[str, Any]:
    """What node_runner.mjs needs for --trace=PATTERN / --trace-ffi (a JSON object):
    `traced` (function index -> name, the defined functions whose name, or
    `<wasm function N>`, matches the pattern as `Tracer.traced` decides), and with
    `ffi`, `sigs` (signature id -> its text, parameter and result types; result
    None for void) and `targets` (table slot -> `FfiInfo.target`)."""
    from linker.sourcemap import function_entries, function_names
    names = function_names(wasm)
    traced: dict[str, str] = {}
    if pattern is not None:
        for fid in sorted(function_entries(wasm)):
            name = names.get(fid, f"<wasm function {fid}>")
            if fnmatch.fnmatchcase(name, pattern):
                traced[str(fid)] = name
    spec: dict[str, Any] = {"traced": traced}
    if ffi:
        info = FfiInfo.of(wasm)
        spec["sigs"] = {str(k): {"text": str(sig), "params": [_js_type(p) for p in sig.params],
                                 "ret": None if sig.ret == VOID else _js_type(sig.ret)}
                        for k, sig in sorted(info.sigs.items())}
        spec["targets"] = {str(slot): info.target(slot, names) for slot in sorted(info.table)}
    return spec


def _show(t: ValType, v: Any) -> str:
    if t is ValType.F32 or t is ValType.F64:
        return format_f64(float(v))
    return str(int(v))


class Tracer:
    def __init__(self, names: dict[int, str], pattern: str | None, out: TextIO | None,
                 profile: bool, ffi: FfiInfo | None = None) -> None:
        self.names = names
        self.ffi = ffi
        self.pattern = pattern
        self.out = out
        self.profile = profile
        self.stack: list[int] = []
        self.pending = -1
        self.args: list[str] = []
        self.tail_next = False
        self.frames: dict[int, int] = {}      # function index -> speedscope frame
        self.events: list[dict[str, Any]] = []
        self.start = time.perf_counter_ns()
        self.matches: dict[int, bool] = {}

    def name(self, fid: int) -> str:
        return self.names.get(fid, f"<wasm function {fid}>")

    def traced(self, fid: int) -> bool:
        hit = self.matches.get(fid)
        if hit is None:
            hit = self.pattern is not None and fnmatch.fnmatchcase(self.name(fid), self.pattern)
            self.matches[fid] = hit
        return hit

    def log(self, fid: int, text: str) -> None:
        if self.out is not None and self.traced(fid):
            self.out.write(f"trace: {'  ' * (len(self.stack) - 1)}{text}\n")
            self.out.flush()     # interleave with the program's own stderr writes

    def event(self, kind: str, fid: int) -> None:
        if self.profile:
            frame = self.frames.setdefault(fid, len(self.frames))
            self.events.append({"type": kind, "frame": frame,
                                "at": time.perf_counter_ns() - self.start})

    # ---------------------------------------------------------------- hooks

    def enter(self, _ctx: HostContext, fid: int) -> None:
        self.pending, self.args = fid, []

    def arg(self, t: ValType) -> Callable[[HostContext, Any], None]:
        def impl(_ctx: HostContext, v: Any) -> None:
            self.args.append(_show(t, v))
        return impl

    def called(self, _ctx: HostContext) -> None:
        fid = self.pending
        call = "call"
        if self.tail_next and self.stack:
            self.event("C", self.stack.pop())
            call = "tail call"
        self.tail_next = False
        self.stack.append(fid)
        self.event("O", fid)
        self.log(fid, f"{call} {self.name(fid)}({', '.join(self.args)})")

    def tail(self, _ctx: HostContext) -> None:
        self.tail_next = True

    def leave(self, fid: int, result: str | None) -> None:
        self.log(fid, f"return {self.name(fid)}" + ("" if result is None else f" = {result}"))
        # Frames above `fid` left without a report (they cannot: a return is
        # reported before it happens); pop to it, defensively.
        while self.stack:
            top = self.stack.pop()
            self.event("C", top)
            if top == fid:
                break

    def exit_void(self, _ctx: HostContext, fid: int) -> None:
        self.leave(fid, None)

    def exit_value(self, t: ValType) -> Callable[[HostContext, int, Any], None]:
        def impl(_ctx: HostContext, fid: int, v: Any) -> None:
            self.leave(fid, _show(t, v))
        return impl

    def ffi_call(self, ctx: HostContext, sig: int, fn: int, rvalue: int, avalue: int) -> None:
        self.ffi_enter(ctx, "ffi_call", sig, fn, avalue, "")

    def ffi_return(self, ctx: HostContext, sig: int, rvalue: int) -> None:
        self.ffi_leave(ctx, "ffi_call", sig, rvalue)

    def closure(self, ctx: HostContext, sig: int, fun: int, args: int, user_data: int) -> None:
        self.ffi_enter(ctx, "closure", sig, fun, args,
                       f" user_data={user_data & 0xFFFFFFFF:#010x}")

    def closure_return(self, ctx: HostContext, sig: int, ret: int) -> None:
        self.ffi_leave(ctx, "closure", sig, ret)

    def ffi_enter(self, ctx: HostContext, what: str, sig: int, fn: int, avalue: int,
                  extra: str) -> None:
        """`what fn: csig(args)extra`, the arguments read through the pointer array `avalue`."""
        if self.ffi is None or self.out is None:
            return
        csig = self.ffi.sigs.get(sig)
        if csig is None:
            return
        args = [_c_value(ctx, t, int.from_bytes(ctx.read(avalue + 4 * k, 4), "little"))
                for k, t in enumerate(csig.params)]
        self.out.write(f"trace-ffi: {what} {self.ffi.target(fn, self.names)}: {csig}"
                       f"({', '.join(args)}){extra}\n")
        self.out.flush()

    def ffi_leave(self, ctx: HostContext, what: str, sig: int, rvalue: int) -> None:
        if self.ffi is None or self.out is None:
            return
        csig = self.ffi.sigs.get(sig)
        if csig is None:
            return
        shown = "void" if csig.ret == VOID else _c_value(ctx, csig.ret, rvalue)
        self.out.write(f"trace-ffi: {what} returned {shown}\n")
        self.out.flush()

    def hooks(self, base: HostFunctions) -> HostFunctions:
        """`base` with the ``irld_trace`` imports added."""
        host = base.copy()
        impls: dict[str, Any] = {"enter": self.enter, "called": self.called,
                                 "tail": self.tail, "exit": self.exit_void,
                                 "ffi_call": self.ffi_call, "ffi_return": self.ffi_return,
                                 "closure": self.closure, "closure_return": self.closure_return}
        for t in ValType:
            impls[f"arg_{t.value}"] = self.arg(t)
            impls[f"exit_{t.value}"] = self.exit_value(t)
        for _sym, _module, field, ft in hook_imports():
            host.add(MODULE, field, ft, impls[field], "irld run --trace / --profile")
        return host

    # ---------------------------------------------------------------- profile

    def profile_json(self, name: str) -> dict[str, Any]:
        end = time.perf_counter_ns() - self.start
        events = list(self.events)
        for fid in reversed(self.stack):      # close what a trap or exit left open
            events.append({"type": "C", "frame": self.frames[fid], "at": end})
        frames = sorted(self.frames.items(), key=lambda kv: kv[1])
        return {
            "$schema": "https://www.speedscope.app/file-format-schema.json",
            "shared": {"frames": [{"name": self.name(fid)} for fid, _k in frames]},
            "profiles": [{"type": "evented", "name": name, "unit": "nanoseconds",
                          "startValue": 0, "endValue": end, "events": events}],
            "name": name, "exporter": "irld run --profile",
        }

    def write_profile(self, path: str, name: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.profile_json(name), fh)


