"""Trace hooks (`irld link --instrument`): IR functions report their calls to the host.

Each live IR function, code-generated again from its IR at link time (as
`--checked` does), calls host imports of module ``irld_trace``:

* on entry: ``enter(f)``, then ``arg_<t>(v)`` for each parameter, then
  ``called()``; `f` is the function's index in the output module (its name
  is in the name section);
* before each `return`: ``exit_<t>(f, v)`` with the result, or ``exit(f)``;
* before each tail call: ``tail()``; the callee's own entry then reports
  itself, and replaces the caller's frame;
* around each `call ffi_call(sig, fn, rvalue, avalue)`: ``ffi_call(sig, fn,
  rvalue, avalue)`` before and ``ffi_return(sig, rvalue)`` after (the
  arguments are evaluated again: IR expressions have no side effects); the
  custom section `irld.ffi_sigs` lists each signature id's key
  (``id key`` lines), so the host can decode the values;
* in each closure implementation the linker generates (`linker.ffi.gen`),
  once the `args` array is filled: ``closure(sig, fun, args, user_data)``
  before the handler ``fun(sig, ret, args, user_data)`` runs, and
  ``closure_return(sig, ret)`` after it; `args` and `ret` have the shapes of
  `ffi_call`'s `avalue` and `rvalue`.

`irld run --trace=PATTERN`, `--trace-ffi` (wasmtime and Node) and
`--profile=FILE` (wasmtime) implement these imports (`linker.host.trace`,
`linker/host/node_runner.mjs`); without those flags they do nothing, so an
instrumented program runs anywhere the host provides them.
A trap or a panic leaves without an exit report.
"""

from __future__ import annotations

import attrs

from linker.ir.types import FuncType, ValType
from linker.wasm.instr import InstrBuilder

MODULE = "irld_trace"
_T = tuple(ValType)


# The closure hooks' symbols, as the FFI generator finds them among the writer's imports.
CLOSURE_HOOK = "__irld_trace_closure"
CLOSURE_RETURN_HOOK = "__irld_trace_closure_return"


def hook_imports() -> list[tuple[str, str, str, FuncType]]:
    """(symbol, module, field, type) of every hook, for the writer's imports."""
    out = [("enter", FuncType((ValType.I32,), None)), ("called", FuncType()),
           ("tail", FuncType()), ("exit", FuncType((ValType.I32,), None))]
    out += [("ffi_call", FuncType((ValType.I32,) * 4, None)),
            ("ffi_return", FuncType((ValType.I32,) * 2, None)),
            ("closure", FuncType((ValType.I32,) * 4, None)),
            ("closure_return", FuncType((ValType.I32,) * 2, None))]
    out += [(f"arg_{t.value}", FuncType((t,), None)) for t in _T]
    out += [(f"exit_{t.value}", FuncType((ValType.I32, t), None)) for t in _T]
    return [(f"__irld_trace_{name}", MODULE, name, ft) for name, ft in out]


@attrs.define(slots=True)
class TraceHooks:
    """The hooks' function indices, as code generation uses them."""

    funcs: dict[str, int]               # hook field name -> function index

    @staticmethod
    def from_symbols(indices: dict[str, int]) -> "TraceHooks":
        return TraceHooks({field: indices[sym] for sym, _m, field, _t in hook_imports()})

    def entry(self, b: InstrBuilder, fid: int, params: list[tuple[int, ValType]]) -> None:
        b.i32_const(fid)
        b.call(self.funcs["enter"])
        for local, t in params:
            b.local_get(local)
            b.call(self.funcs[f"arg_{t.value}"])
        b.call(self.funcs["called"])

    def exit(self, b: InstrBuilder, fid: int, result: ValType | None, temp: int) -> None:
        """Before a `return` (its value, if any, on the stack; `temp` a local of its type)."""
        if result is None:
            b.i32_const(fid)
            b.call(self.funcs["exit"])
            return
        b.local_set(temp)
        b.i32_const(fid)
        b.local_get(temp)
        b.call(self.funcs[f"exit_{result.value}"])
        b.local_get(temp)

    def tail(self, b: InstrBuilder) -> None:
        b.call(self.funcs["tail"])

    def ffi(self, b: InstrBuilder, which: str) -> None:
        """`ffi_call` or `ffi_return`, its arguments on the stack."""
        b.call(self.funcs[which])


SIGS_SECTION = "irld.ffi_sigs"


def sigs_section(sig_ids: dict[str, int]) -> bytes:
    """The `irld.ffi_sigs` payload: one ``id key`` line per signature."""
    return "".join(f"{i} {k}\n" for k, i in sorted(sig_ids.items(), key=lambda kv: kv[1])
                   ).encode()
