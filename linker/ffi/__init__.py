"""The link-time specialized FFI: only the C signatures live code uses get code.

`plan_ffi` (the driver's "ffi" phase) decides what to generate from the live
set; `FfiEmitter` generates it during emission; `FfiReport` says what it
cost.  See docs/ffi.md for the design, the ABI and the runtime API.
"""

from linker.ffi.gen import FFI_STACK_SIZE, Drive, FfiEmitter, FfiReport, SigReport, dispatch_export
from linker.ffi.plan import (DEFAULT_CLOSURE_POOL, FFI_CALL, FFI_CLOSURE_ALLOC, FFI_CLOSURE_FREE,
                             RUNTIME_FUNCS, FfiOptions, FfiPlan, SigPlan, exhaustive_sigs,
                             plan_ffi)

__all__ = [
    "DEFAULT_CLOSURE_POOL", "Drive", "FFI_CALL", "FFI_CLOSURE_ALLOC", "FFI_CLOSURE_FREE",
    "FFI_STACK_SIZE", "FfiEmitter", "FfiOptions", "FfiPlan", "FfiReport", "RUNTIME_FUNCS",
    "SigPlan", "SigReport", "dispatch_export", "exhaustive_sigs", "plan_ffi",
]
