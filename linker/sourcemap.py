"""Source maps (v3) of linked modules: wasm byte offsets -> IR `file:line:col`.

The format is the "Source Map Revision 3 Proposal" (now ECMA-426) as
browsers apply it to WebAssembly: the generated file has one line, and a
mapping's generated column is a byte offset from the start of the module
file (what V8 reports in `wasm-function[i]:0xOFFSET` stack frames and what
DevTools steps through; Emscripten's `wasm-sourcemap.py` writes the same).
Each segment is four base-64 VLQ fields, each a delta from the previous
segment's: generated column, source index, source line and source column
(the last two 0-based).  The module names its map in a `sourceMappingURL`
custom section holding the URL as a wasm name (length-prefixed UTF-8).

Building a map: the linker's line tables (`linker.store.lines`, one per
output function, offsets into the function's code) are placed at the file
offset where each function's code starts, found by walking the code section
of the encoded module.  Reading one back (`SourceMap.parse`, `lookup`) is
what `irld run` does to print a backtrace in IR terms.
"""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from linker.store.lines import ENTRY, LineTable, Location
from linker.wasm.leb128 import read_sleb, read_uleb, uleb

SECTION = "sourceMappingURL"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUE = {c: i for i, c in enumerate(_B64)}


class SourceMapError(ValueError):
    """A map or module that cannot be read."""


# ---------------------------------------------------------------- VLQ


def vlq(value: int) -> str:
    """One base-64 VLQ number: sign in the lowest bit, 5 bits a digit, low first."""
    v = (-value << 1) | 1 if value < 0 else value << 1
    out = []
    while True:
        digit, v = v & 31, v >> 5
        out.append(_B64[digit | (32 if v else 0)])
        if not v:
            return "".join(out)


def decode_vlqs(segment: str) -> list[int]:
    """The numbers of one segment."""
    out: list[int] = []
    value = shift = 0
    for ch in segment:
        digit = _B64_VALUE.get(ch)
        if digit is None:
            raise SourceMapError(f"bad base-64 digit {ch!r} in mappings")
        value |= (digit & 31) << shift
        shift += 5
        if not digit & 32:
            out.append(-(value >> 1) if value & 1 else value >> 1)
            value = shift = 0
    if shift:
        raise SourceMapError("truncated VLQ in mappings")
    return out


# ---------------------------------------------------------------- wasm walking


def _sections(wasm: bytes) -> list[tuple[int, int, int]]:
    """(id, payload start, payload end) of each section."""
    if wasm[:4] != b"\0asm":
        raise SourceMapError("not a wasm module")
    out = []
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, p = read_uleb(wasm, pos + 1)
        out.append((sid, p, p + size))
        pos = p + size
    return out


def code_offsets(wasm: bytes) -> list[tuple[int, int, int]]:
    """File offsets of the entry (its size), of the first instruction (after
    the locals) and of the end of each defined function, in code-section order."""
    for sid, start, _end in _sections(wasm):
        if sid != 10:
            continue
        count, pos = read_uleb(wasm, start)
        out = []
        for _ in range(count):
            size, body = read_uleb(wasm, pos)
            groups, p = read_uleb(wasm, body)
            for _g in range(groups):
                _n, p = read_uleb(wasm, p)
                p += 1
            out.append((pos, p, body + size))
            pos = body + size
        return out
    return []


def imported_functions(wasm: bytes) -> int:
    """How many functions the module imports (they come first in the index space)."""
    for sid, start, _end in _sections(wasm):
        if sid != 2:
            continue
        count, pos = read_uleb(wasm, start)
        funcs = 0
        for _ in range(count):
            for _name in range(2):
                n, pos = read_uleb(wasm, pos)
                pos += n
            kind = wasm[pos]
            pos += 1
            if kind == 0:
                funcs += 1
                _t, pos = read_uleb(wasm, pos)
            elif kind == 1:          # table: reftype, limits
                pos = _skip_limits(wasm, pos + 1)
            elif kind == 2:          # memory: limits
                pos = _skip_limits(wasm, pos)
            else:                    # global: valtype, mutability
                pos += 2
        return funcs
    return 0


def _skip_limits(wasm: bytes, pos: int) -> int:
    flags = wasm[pos]
    _lo, pos = read_uleb(wasm, pos + 1)
    if flags & 1:
        _hi, pos = read_uleb(wasm, pos)
    return pos


def custom_section(wasm: bytes, name: str) -> bytes | None:
    """The payload (after the name) of the first custom section `name`."""
    for sid, start, end in _sections(wasm):
        if sid != 0:
            continue
        n, p = read_uleb(wasm, start)
        if wasm[p:p + n] == name.encode():
            return wasm[p + n:end]
    return None


def function_names(wasm: bytes) -> dict[int, str]:
    """Function index -> name from the `name` section's function names (spec 7.4.1)."""
    payload = custom_section(wasm, "name")
    out: dict[int, str] = {}
    if payload is None:
        return out
    pos = 0
    while pos < len(payload):
        sub = payload[pos]
        size, p = read_uleb(payload, pos + 1)
        if sub == 1:
            count, q = read_uleb(payload, p)
            for _ in range(count):
                index, q = read_uleb(payload, q)
                n, q = read_uleb(payload, q)
                out[index] = payload[q:q + n].decode(errors="replace")
                q += n
        pos = p + size
    return out


def table_functions(wasm: bytes) -> dict[int, int]:
    """Table slot -> function index, from the active element segments of the
    form irld writes (flags 0, `i32.const N end`, function indices)."""
    out: dict[int, int] = {}
    for sid, start, _end in _sections(wasm):
        if sid != 9:
            continue
        count, pos = read_uleb(wasm, start)
        for _ in range(count):
            if wasm[pos] != 0 or wasm[pos + 1] != 0x41:
                return out
            base, pos = read_sleb(wasm, pos + 2)
            pos += 1                          # end
            n, pos = read_uleb(wasm, pos)
            for k in range(n):
                out[base + k], pos = read_uleb(wasm, pos)
    return out


def with_url_section(wasm: bytes, url: str) -> bytes:
    """`wasm` with a `sourceMappingURL` custom section appended (code offsets
    do not move: custom sections may follow every other section)."""
    raw, u = SECTION.encode(), url.encode()
    content = uleb(len(raw)) + raw + uleb(len(u)) + u
    return wasm + b"\0" + uleb(len(content)) + content


def url_of(wasm: bytes) -> str | None:
    """The URL a module's `sourceMappingURL` section names, if any."""
    payload = custom_section(wasm, SECTION)
    if payload is None:
        return None
    n, p = read_uleb(payload, 0)
    return payload[p:p + n].decode(errors="replace")


# ---------------------------------------------------------------- building


def build(wasm: bytes, lines: Mapping[int, LineTable], map_dir: str,
          read_source: Any = None) -> dict[str, Any]:
    """The source map (a JSON object) of module `wasm` whose function `i`
    (function index space) has line table `lines[i]`.  Source paths are
    written relative to `map_dir` (where the map goes) and their text is
    embedded (`sourcesContent`) when `read_source(path)` returns it."""
    starts = code_offsets(wasm)
    imports = imported_functions(wasm)
    rows: list[tuple[int, Location | None]] = []
    for index in sorted(lines):
        entry, base, end = starts[index - imports]
        rows += [(entry if off == ENTRY else base + off, loc) for off, loc in lines[index]]
        rows.append((end, None))       # what follows is not this function's
    rows.sort(key=lambda r: r[0])     # stable: an entry row stays before its code
    if rows:
        # Node's decoder (node:module SourceMap, v20) gives the last segment of
        # a map the previous segment's source even when it has none; one more
        # unmapped segment, at the end of the module, keeps the real ones right.
        rows.append((len(wasm), None))
    files: dict[str, int] = {}
    segments: list[str] = []
    prev = [0, 0, 0, 0]
    for offset, where in rows:
        if where is None:
            # A one-field segment: this offset maps to no source.
            segments.append(vlq(offset - prev[0]))
            prev[0] = offset
            continue
        file, line, col = where
        cur = [offset, files.setdefault(file, len(files)), line - 1, col - 1]
        segments.append("".join(vlq(c - p) for c, p in zip(cur, prev)))
        prev = cur
    reader = read_source if read_source is not None else _read_text
    return {
        "version": 3,
        "sources": [_relative(f, map_dir) for f in files],
        "sourcesContent": [reader(f) for f in files],
        "names": [],
        "mappings": ",".join(segments),
    }


def _relative(path: str, base: str) -> str:
    if not os.path.isabs(path) and not os.path.exists(path):
        return path
    return os.path.relpath(os.path.abspath(path), os.path.abspath(base or "."))


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


def dumps(source_map: Mapping[str, Any]) -> bytes:
    return (json.dumps(source_map, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


# ---------------------------------------------------------------- reading


@attrs.frozen(slots=True)
class SourceMap:
    """A decoded map: generated byte offsets (sorted) and their locations."""

    offsets: tuple[int, ...]
    locations: tuple[Location | None, ...]     # None: unmapped from this offset on
    # function index -> its entry offset in the module (`function_entries`)
    entries: Mapping[int, int] = attrs.field(factory=dict, eq=False)

    @staticmethod
    def parse(text: str | bytes) -> "SourceMap":
        try:
            raw = json.loads(text)
            sources: Sequence[str] = raw["sources"]
            mappings: str = raw["mappings"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceMapError(f"not a source map: {exc}") from None
        offsets: list[int] = []
        locations: list[Location | None] = []
        state = [0, 0, 0, 0]
        for line in mappings.split(";")[:1]:      # wasm: the one generated line
            for seg in filter(None, line.split(",")):
                fields = decode_vlqs(seg)
                for k, delta in enumerate(fields[:4]):
                    state[k] += delta
                offsets.append(state[0])
                if len(fields) >= 4 and 0 <= state[1] < len(sources):
                    locations.append((sources[state[1]], state[2] + 1, state[3] + 1))
                else:
                    locations.append(None)
        order = sorted(range(len(offsets)), key=lambda i: offsets[i])   # stable
        return SourceMap(tuple(offsets[i] for i in order), tuple(locations[i] for i in order))

    def lookup(self, offset: int) -> Location | None:
        """The location of the last mapping at or before byte `offset`."""
        k = bisect.bisect_right(self.offsets, offset) - 1
        return self.locations[k] if k >= 0 else None


def function_entries(wasm: bytes) -> dict[int, int]:
    """Function index -> file offset of its entry, for engines that report a
    frame by function only (wasmtime, for a stack overflow)."""
    imports = imported_functions(wasm)
    return {imports + k: entry for k, (entry, _b, _e) in enumerate(code_offsets(wasm))}


def load_for(wasm_path: str, wasm: bytes) -> SourceMap | None:
    """The map a module on disk names in its `sourceMappingURL` section (a path
    relative to the module, or a file: URL), or None when it names none or the
    map cannot be read (a backtrace then shows function names only)."""
    try:
        url = url_of(wasm)
    except (SourceMapError, IndexError, ValueError):
        return None
    if url is None or "://" in url.removeprefix("file://"):
        return None
    path = url.removeprefix("file://")
    if not os.path.isabs(path):
        path = os.path.join(os.path.dirname(wasm_path), path)
    try:
        with open(path, "rb") as fh:
            smap = SourceMap.parse(fh.read())
        return attrs.evolve(smap, entries=function_entries(wasm))
    except (OSError, SourceMapError, IndexError, ValueError):
        return None
