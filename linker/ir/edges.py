"""The kinds of reference edges between symbols (`EdgeKind`).

Kept apart from `linker.ir.refs`, which computes an IR entity's edges from
its body and so imports the whole IR model: every link uses the kinds (the
object index, discovery, the report), and a link of C objects never needs
the model (importing it is a tenth of such a link's start-up).
"""

from __future__ import annotations

import enum


class EdgeKind(enum.Enum):
    """Why one symbol keeps another alive (also the root kinds of discovery)."""

    CALL = "call"
    TAIL_CALL = "tail call"
    ADDRESS = "address taken"
    DATA_REF = "data reference"
    GLOBAL = "global access"
    FFI_SIG = "FFI signature"
    CTOR = "ctor"
    EXPORT = "export"
    ENTRY = "entry"
    ROOT = "root"
    RUNTIME = "linker runtime"

    # Members are singletons compared by identity: hash them by identity too
    # (C-level), not by name through Enum's Python-level `__hash__`; every
    # reference of every body is keyed by (symbol, kind) when compiled.
    __hash__ = object.__hash__
