"""The link-time specialized FFI: only the C signatures live code uses get code.

`plan_ffi` (the driver's "ffi" phase) decides what to generate from the live
set; `FfiEmitter` generates it during emission; `FfiReport` says what it
cost.  See docs/ffi.md for the design, the ABI and the runtime API.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linker.ffi.gen import (FFI_STACK_SIZE, Drive, FfiEmitter, FfiReport, SigReport,
                                dispatch_export)
    from linker.ffi.plan import (DEFAULT_CLOSURE_POOL, FFI_CALL, FFI_CLOSURE_ALLOC,
                                 FFI_CLOSURE_FREE, RUNTIME_FUNCS, FfiOptions, FfiPlan, SigPlan,
                                 exhaustive_sigs, plan_ffi)

# The names below come from their submodule on first use (PEP 562): every link
# plans the FFI (`linker.ffi.plan`), but only one with FFI calls generates code
# (`linker.ffi.gen`, with the ABI and the trace hooks), and importing a
# submodule runs this file first.
_GEN = frozenset({"FFI_STACK_SIZE", "Drive", "FfiEmitter", "FfiReport", "SigReport",
                  "dispatch_export"})


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'linker.ffi' has no attribute {name!r}")
    import importlib
    module = importlib.import_module("linker.ffi.gen" if name in _GEN else "linker.ffi.plan")
    return getattr(module, name)


__all__ = [
    "DEFAULT_CLOSURE_POOL", "Drive", "FFI_CALL", "FFI_CLOSURE_ALLOC", "FFI_CLOSURE_FREE",
    "FFI_STACK_SIZE", "FfiEmitter", "FfiOptions", "FfiPlan", "FfiReport", "RUNTIME_FUNCS",
    "SigPlan", "SigReport", "dispatch_export", "exhaustive_sigs", "plan_ffi",
]
