"""Host runners: run a linked program (a WASI command) on an engine, as `irld run` does.

* `wasmtime_host`: `run` on wasmtime-py with WASI preview 1, irld's host
  functions (`HostFunctions`, `HostContext`; the default registry holds the
  ``env`` debugging helpers and the FFI closure growth hook
  ``irld.closure_table_grow``), fuel and time limits, and trap rendering;
* `node_host`: `run_node` under Node's ``node:wasi`` through
  ``node_runner.mjs`` (package data next to it), and `find_node`;
* `common`: what both share: `RunResult`, `TrapFrame`, `render_trap`,
  `EXIT_TRAP` and the errors (`RunError` and its subclasses, `HostTrap`,
  `NodeNotFoundError`).

The contract (WASI subset, exit statuses, host functions, closure growth) is
written down in docs/runtime.md.  The public names are re-exported here::

    from linker import host
    result = host.run("prog.wasm", ["prog", "20"], capture=True)
    result.exit_code, result.stdout, result.trap
"""

from __future__ import annotations

from linker.host.common import (
    EXIT_TRAP,
    HostImportError,
    HostTrap,
    InvalidModuleError,
    NodeNotFoundError,
    RunError,
    RunResult,
    TrapFrame,
    render_trap,
)
from linker.host.node_host import NODE_RUNNER, NODE_TIMEOUT, find_node, run_node
from linker.host.wasmtime_host import (
    CLOSURE_DISPATCH_EXPORT,
    TABLE_EXPORT,
    HostContext,
    HostFunction,
    HostFunctions,
    closure_dispatch_export,
    format_f64,
    run,
)

__all__ = [
    "CLOSURE_DISPATCH_EXPORT",
    "EXIT_TRAP",
    "NODE_RUNNER",
    "NODE_TIMEOUT",
    "TABLE_EXPORT",
    "HostContext",
    "HostFunction",
    "HostFunctions",
    "HostImportError",
    "HostTrap",
    "InvalidModuleError",
    "NodeNotFoundError",
    "RunError",
    "RunResult",
    "TrapFrame",
    "closure_dispatch_export",
    "find_node",
    "format_f64",
    "run",
    "render_trap",
    "run_node",
]
