"""What both host runners share: how a run ended, and why a program could not run.

A run ends in one of the ways `linker.host.wasmtime_host` describes; both
runners (`run` on wasmtime, `run_node` on Node) report it as a `RunResult`:
the exit status, the captured output, and for a trap (status `EXIT_TRAP`,
134) its message and a backtrace of `TrapFrame`s, innermost first, which
`render_trap` prints as ``error: <message>`` and ``  at <name>`` lines
(``  at <name> (<file>:<line>:<col>)`` where the program's source map
locates the frame, see `linker.host.backtrace`).  The
reference interpreter (`linker.interp`) returns the same shape.

A program that cannot be started raises `RunError` (`InvalidModuleError`,
`HostImportError`); a host function stops the program with `HostTrap`;
`run_node` raises `NodeNotFoundError` when there is no node.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs

__all__ = [
    "EXIT_TRAP",
    "HostImportError",
    "HostTrap",
    "InvalidModuleError",
    "NodeNotFoundError",
    "RunError",
    "RunResult",
    "TrapFrame",
    "Wasm",
    "render_trap",
]

# Exit status of a run that trapped: 128 + SIGABRT, as wasmtime's CLI reports.
EXIT_TRAP = 134
# Backtraces of deep recursion are cut to the innermost and outermost frames.
_BACKTRACE_HEAD = 30
_BACKTRACE_TAIL = 5

# A program: the binary itself (wasmtime.wat2wasm returns a bytearray) or a path.
Wasm = bytes | bytearray | memoryview | str | os.PathLike[str]


# --------------------------------------------------------------------------- errors


class RunError(Exception):
    """A program that cannot be started: bad file, unknown imports, not a WASI command."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason

    def render(self) -> str:
        """The diagnostic as the CLI prints it (``file: error: reason``)."""
        return f"{self.file}: error: {self.reason}"


class InvalidModuleError(RunError):
    """The input is not a valid wasm binary."""


class HostImportError(RunError):
    """Imports that the host does not provide, or provides with another type; all are listed."""

    def __init__(self, file: str, problems: Sequence[str]) -> None:
        super().__init__(file, "; ".join(problems))
        self.problems = tuple(problems)

    def render(self) -> str:
        return "\n".join(f"irld run: error: {self.file}: {p}" for p in self.problems)


class NodeNotFoundError(Exception):
    """`run_node` was asked to run but no `node` executable exists (tests turn this into a skip)."""


class HostTrap(Exception):
    """Raised by a host function to stop the program with a trap and this message."""


# --------------------------------------------------------------------------- results


@attrs.frozen(slots=True)
class TrapFrame:
    """One frame of a trap's backtrace, innermost first."""

    name: str  # from the name section, or "<wasm function N>"
    func_index: int
    module_offset: int  # -1 when unknown
    location: str | None = None  # IR "file:line:col" from the program's source map


@attrs.frozen(slots=True)
class RunResult:
    """How a run ended.  `stdout`/`stderr` are empty unless the run captured them."""

    exit_code: int
    stdout: bytes
    stderr: bytes
    trap: str | None  # "wasm trap: <reason>", "out of fuel ...", "timed out ..."; None if no trap
    frames: tuple[TrapFrame, ...] = ()


def render_trap(message: str, frames: Sequence[TrapFrame]) -> str:
    """``error: <message>`` and one ``  at <name>`` line per frame, long backtraces elided."""
    lines = [f"error: {message}"]
    names = [f"  at {frame.name}" + ("" if frame.location is None else f" ({frame.location})")
             for frame in frames]
    if len(names) > _BACKTRACE_HEAD + _BACKTRACE_TAIL:
        hidden = len(names) - _BACKTRACE_HEAD - _BACKTRACE_TAIL
        names = names[:_BACKTRACE_HEAD] + [f"  ... {hidden} more frames"] + names[-_BACKTRACE_TAIL:]
    return "\n".join(lines + names) + "\n"
