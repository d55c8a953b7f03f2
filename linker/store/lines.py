"""Line tables: where each compiled function's code comes from in the IR source.

A line table of one function is a list of (code offset, location) rows in
increasing offset order: the code from that offset up to the next row was
generated from the IR statement, terminator or branch condition at
`file:line:col`; offset -1 (`ENTRY`) is the function's entry (its
declaration), where an engine reports a stack overflow.  Offsets count from the start of the function's body (the
locals vector included), as relocation offsets do, so the linker can move
them exactly as it moves the bytes when it shrinks relocation sites
(`shifted`).  This is DWARF's line-number program reduced to what a source
map needs (DWARF v5 section 6.2), without the state machine.

In an object the tables live in the custom section `irld.lines`, written
after `irld.ir` and read only when a link asks for locations (`--source-map`):
msgpack ``[files, [[function number, flat rows], ...]]`` where each row is
``offset, file index, line, col`` and the function number counts defined
functions in code-section order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgpack

from linker.diagnostics import Span

LINES_SECTION = "irld.lines"
ENTRY = -1

Location = tuple[str, int, int]          # file, line, column (1-based)
LineTable = list[tuple[int, Location]]   # (code offset, location), offsets increasing


class LinesError(ValueError):
    """An `irld.lines` section that does not decode."""


def table_from_spans(rows: Sequence[tuple[int, Span]], base: int = 0) -> LineTable:
    """Codegen's (offset, span) rows as a line table, offsets moved by `base`."""
    return [(off if off == ENTRY else off + base, (s.file, s.line, s.col)) for off, s in rows]


def encode_lines(tables: Sequence[tuple[int, LineTable]]) -> bytes:
    """The `irld.lines` payload of (function number, table) pairs."""
    files: dict[str, int] = {}
    funcs: list[Any] = []
    for number, table in tables:
        flat: list[int] = []
        for off, (file, line, col) in table:
            flat += (off, files.setdefault(file, len(files)), line, col)
        funcs.append([number, flat])
    packed: bytes = msgpack.packb([list(files), funcs], use_bin_type=True)
    return packed


def decode_lines(payload: bytes) -> dict[int, LineTable]:
    """Inverse of `encode_lines`: function number -> table; LinesError if malformed."""
    try:
        files, funcs = msgpack.unpackb(payload, raw=False, strict_map_key=False)
        out: dict[int, LineTable] = {}
        for number, flat in funcs:
            out[int(number)] = [(int(flat[i]), (str(files[flat[i + 1]]), int(flat[i + 2]),
                                                int(flat[i + 3])))
                                for i in range(0, len(flat), 4)]
        return out
    except (ValueError, TypeError, IndexError, msgpack.UnpackException) as exc:
        raise LinesError(f"corrupt '{LINES_SECTION}' section: {exc}") from None


def shifted(table: LineTable, moves: Sequence[tuple[int, int]], base: int) -> LineTable:
    """`table` after the bytes moved: `moves` lists (site offset, bytes removed
    there) in offset order, as relocation-site compression reports them; each
    row's offset is then made relative to `base` (the new start of the code)."""
    out: LineTable = []
    k, removed = 0, 0
    for off, loc in table:
        if off == ENTRY:
            out.append((off, loc))
            continue
        while k < len(moves) and moves[k][0] < off:
            removed += moves[k][1]
            k += 1
        out.append((off - removed - base, loc))
    return out
