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
  other functions, not absolute speed.
"""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Callable
from typing import Any, TextIO

from linker.host.wasmtime_host import HostContext, HostFunctions, format_f64
from linker.ir.types import ValType
from linker.tracehooks import MODULE, hook_imports


def _show(t: ValType, v: Any) -> str:
    if t is ValType.F32 or t is ValType.F64:
        return format_f64(float(v))
    return str(int(v))


class Tracer:
    def __init__(self, names: dict[int, str], pattern: str | None, out: TextIO | None,
                 profile: bool) -> None:
        self.names = names
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

    def hooks(self, base: HostFunctions) -> HostFunctions:
        """`base` with the ``irld_trace`` imports added."""
        host = base.copy()
        impls: dict[str, Any] = {"enter": self.enter, "called": self.called,
                                 "tail": self.tail, "exit": self.exit_void}
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


