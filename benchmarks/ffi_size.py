"""FFI code size: specialized (only live signatures) against libffi-wasm's exhaustive set.

A script, not a test: prints bytes per call handler, bytes per closure slot,
the FFI bytes of a program using 3 signatures (through `ffi_call` and
closures) and of the same program linked with `--ffi=exhaustive:4`, and the
ratio.  FFI bytes are counted by `linker.ffi.FfiReport` (function and code
section entries, names, table entries, exports, imports and initialized data
of every FFI piece); the whole module sizes are printed too.

    python benchmarks/ffi_size.py [--exhaustive N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from linker.compile import compile_module
import attrs

from linker import driver
from linker.driver import LinkContext, LinkOptions, LinkResult, Phase, link
from linker.ffi import FfiReport
from linker.ir.parser import parse_module

PROGRAM = """
module bench.ffi3
extern func ffi_call(i32, i32, i32, i32)
extern func ffi_closure_alloc(i32, i32, i32) -> i32
extern func ffi_closure_free(i32)
csig cmp = sint32(pointer, pointer)
csig mix = double(sint32, double, float)
csig pt = struct { sint32, sint32, double }(struct { sint32, sint32, double }, sint64)
data av align 4 = { zero 16 }
data rv align 8 = { zero 16 }

func handler(sg: i32, ret: i32, args: i32, ud: i32) {
entry:
  return
}

func target(a: i32, b: i32) -> i32 {
entry:
  return 0
}

func main() -> i32 {
  local c1: i32, c2: i32, c3: i32
entry:
  call ffi_call(sig cmp, @target, @rv, @av)
  call ffi_call(sig mix, 0, @rv, @av)
  call ffi_call(sig pt, 0, @rv, @av)
  c1 = call ffi_closure_alloc(sig cmp, @handler, 0)
  c2 = call ffi_closure_alloc(sig mix, @handler, 0)
  c3 = call ffi_closure_alloc(sig pt, @handler, 0)
  call ffi_closure_free(c1)
  return 0
}
"""

ONE_CALL = """
module bench.ffi1
extern func ffi_call(i32, i32, i32, i32)
csig cmp = sint32(pointer, pointer)
data av align 4 = { zero 8 }
func main() -> i32 {
entry:
  call ffi_call(sig cmp, 0, 0, @av)
  return 0
}
"""


def _link(tmp: Path, text: str, name: str, phases: tuple[Phase, ...] = driver.PHASES,
          **opts: object) -> LinkResult:
    obj = tmp / f"{name}.o"
    obj.write_bytes(compile_module(parse_module(text, f"{name}.ir")))
    return link(LinkOptions(inputs=(str(obj),), output=str(tmp / f"{name}.wasm"),
                            **opts), phases)  # type: ignore[arg-type]


def _shared_pool_phases() -> tuple[Phase, ...]:
    def ffi_shared(ctx: LinkContext) -> None:
        driver.ffi(ctx)
        assert ctx.ffi_plan is not None
        ctx.ffi_plan = attrs.evolve(ctx.ffi_plan, self_contained_pools=False)
    return tuple((name, ffi_shared if name == "ffi" else fn) for name, fn in driver.PHASES)


def _report(r: LinkResult) -> FfiReport:
    assert r.ffi is not None
    return r.ffi


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exhaustive", type=int, default=4, metavar="N")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        spec = _link(tmp, PROGRAM, "spec")
        rs = _report(spec)
        start = time.perf_counter()
        exh = _link(tmp, PROGRAM, "exh", ffi_exhaustive=args.exhaustive)
        exh_time = time.perf_counter() - start
        re_ = _report(exh)
        one = _report(_link(tmp, ONE_CALL, "one"))
        assert spec.wasm is not None and exh.wasm is not None

        print("per signature (specialized, 3 signatures, pool 16):")
        print(f"  {'signature':<44} {'handler B':>9} {'pool B':>7} {'B/slot':>7}")
        for s in rs.sigs:
            print(f"  {s.c_type:<44} {s.handler_bytes:>9} {s.pool_bytes:>7} "
                  f"{s.pool_bytes / max(s.pool_slots, 1):>7.1f}")
        slots = sum(s.pool_slots for s in rs.sigs)
        handlers = rs.handler_bytes
        print(f"bytes per call handler (mean of 3):        {handlers / 3:.1f}")
        print(f"bytes per closure slot (trampolines+impl): {rs.pool_bytes / slots:.1f}")
        tramp = sum(s.pool_bytes - s.impl_bytes for s in rs.sigs)
        impl = sum(s.impl_bytes for s in rs.sigs)
        print(f"  a trampoline alone: {tramp / slots:.1f}; a shared implementation: "
              f"{impl / 3:.1f}")
        print(f"one signature, ffi_call only: total FFI {one.total_bytes} B "
              f"(handler {one.sigs[0].handler_bytes} B, runtime {one.runtime_bytes} B)")
        print(f"specialized, 3 signatures: FFI {rs.total_bytes} B of a {len(spec.wasm)} B module"
              f" ({rs.functions} functions)")
        print(f"exhaustive:{args.exhaustive} ({len(re_.sigs)} signatures): FFI {re_.total_bytes} B"
              f" of a {len(exh.wasm)} B module ({re_.functions} functions, link {exh_time:.1f} s)")
        print(f"  handlers {re_.handler_bytes} B, closure pools {re_.pool_bytes} B")
        print(f"ratio exhaustive / specialized FFI bytes: {re_.total_bytes / rs.total_bytes:.0f}x")
        print(f"ratio of whole modules: {len(exh.wasm) / len(spec.wasm):.0f}x")
        shared = _report(_link(tmp, PROGRAM, "shared", ffi_exhaustive=args.exhaustive,
                               phases=_shared_pool_phases()))
        print(f"for comparison, exhaustive:{args.exhaustive} with irld's small trampolines "
              f"(one shared implementation per signature): FFI {shared.total_bytes} B, "
              f"ratio {shared.total_bytes / rs.total_bytes:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
