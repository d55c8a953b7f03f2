"""Structure-aware fuzzing: decoded objects, archives and reports, mutated in their
shapes, types, sizes and nesting, and re-encoded with valid checksums.

Byte-level mutation (tests/fuzz/mutate.py) mostly dies at the first checksum
or msgpack check; this fuzzer gets past them, to the code that trusts what it
decoded.  An irld object is split into its standard sections, its index (the
msgpack tree of `irld.index`) and its IR bodies; one of them is mutated; the
object is put together again (`append_irld_sections`: fresh CRCs of the index
and of the standard sections; body offsets, lengths and CRCs recomputed unless
the mutation is aimed at them).  Archives are rebuilt (`write_archive`) from
such objects with mutated symbol lists, or get their header fields and symbol
table rewritten.  Reports (`irld-report/1` JSON) get the same tree mutations
plus non-finite numbers, 2**64 sizes and nesting 100,000 deep.

A tree mutation picks a node of the decoded value and replaces it by another
type (int, str, None, float, bool, bytes, list, dict), an extreme integer
(0, -1, 2**31, 2**32, 2**63, 2**64, -2**63), a long string, an empty or deep
list; or deletes, duplicates or swaps list elements; or drops a dict key.

Each case runs the irld commands that read the input (`link` with both
tail-call modes, `dump`, `ar -t`, `run --interp`, `why`/`top`/`garbage`/
`dominators`/`diff`/`graph`) in-process with `mutate.run_case`: status 0 or 1,
a diagnostic on failure, no traceback, no internal error, no hang (alarm).
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

from mutate import CaseResult, Corpus, run_case

from linker.store.objfile import INDEX_SECTION, IR_SECTION, append_irld_sections, \
    scan_sections
from linker.store.lines import LINES_SECTION
from linker.wasm.leb128 import uleb

STDLIB = Path(__file__).resolve().parents[2] / "build" / "stdlib.a"
EXTREME_INTS = [0, -1, 1, 2, 3, 255, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63,
                2**64 - 1, -2**31, -2**63]


# ---------------------------------------------------------------- tree mutations


def _nodes(value: Any, path: tuple[Any, ...] = (), out: list[tuple[Any, ...]] | None = None,
           limit: int = 20000) -> list[tuple[Any, ...]]:
    """Paths to every node of a decoded tree (iteratively; at most `limit`)."""
    out = [] if out is None else out
    stack = [(value, path)]
    while stack and len(out) < limit:
        v, p = stack.pop()
        out.append(p)
        if isinstance(v, list):
            stack.extend((x, (*p, i)) for i, x in enumerate(v))
        elif isinstance(v, dict):
            stack.extend((x, (*p, k)) for k, x in v.items())
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        value = value[k]
    return value


def _deep(depth: int, leaf: Any = 0) -> Any:
    v: Any = leaf
    for _ in range(depth):
        v = [v]
    return v


def random_value(rng: random.Random, like: Any = None) -> Any:
    r = rng.random()
    if r < 0.3:
        return rng.choice(EXTREME_INTS)
    if r < 0.4:
        return rng.choice(["", "x", "main", "i32", "f64", "\0", "é" * 3, "a" * 10000,
                           "nan", "void", "sint8"])
    if r < 0.5:
        return rng.choice([None, True, False])
    if r < 0.6:
        return rng.choice([0.5, -0.0, 1e308, float("inf"), float("nan")])
    if r < 0.65:
        return rng.choice([b"", b"\xff" * 8])
    if r < 0.8:
        return rng.choice([[], [0], ["x", 0], [None], [[]], _deep(rng.choice([3, 50, 900]))])
    if r < 0.85:
        return {}
    if isinstance(like, int) and not isinstance(like, bool):
        return like + rng.choice([-1, 1, 2**16, -2**16])
    if isinstance(like, str) and like:
        return like[:-1] if rng.random() < 0.5 else like + "x"
    if isinstance(like, list) and like:
        return like[:rng.randrange(len(like))]
    return rng.choice(EXTREME_INTS)


def mutate_tree(value: Any, rng: random.Random, steps: int = 1) -> Any:
    """`value` (a decoded msgpack/JSON tree) with `steps` random node mutations."""
    for _ in range(steps):
        paths = _nodes(value)
        path = rng.choice(paths)
        if not path:
            value = random_value(rng, value)
            continue
        parent = _get(value, path[:-1])
        key = path[-1]
        old = parent[key]
        r = rng.random()
        if isinstance(parent, list) and r < 0.15:
            del parent[key]
        elif isinstance(parent, list) and r < 0.25:
            parent.insert(key, old if rng.random() < 0.5 else random_value(rng))
        elif isinstance(parent, list) and r < 0.3 and len(parent) > 1:
            j = rng.randrange(len(parent))
            parent[key], parent[j] = parent[j], parent[key]
        elif isinstance(parent, dict) and r < 0.2:
            del parent[key]
        else:
            parent[key] = random_value(rng, old)
    return value


# ---------------------------------------------------------------- objects


def _section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


def split_object(data: bytes) -> tuple[bytes, list[tuple[int, str, bytes]], Any, bytes]:
    """(standard bytes, standard sections as (id, name, payload), index tree, bodies bytes);
    the `irld.lines` section is left out."""
    sections = scan_sections(data, 0, len(data), "x")
    standard_end = 8
    parts: list[tuple[int, str, bytes]] = []
    index: Any = None
    bodies = b""
    for sid, name, s0, s1 in sections:
        if sid == 0 and name == INDEX_SECTION:
            index = msgpack.unpackb(data[s0 + 12:s1], raw=False, strict_map_key=False)
        elif sid == 0 and name == IR_SECTION:
            bodies = data[s0:s1]
        elif sid == 0 and name == LINES_SECTION:
            continue        # optional source locations: the mutants go without them
        else:
            parts.append((sid, name, data[s0:s1]))
            standard_end = s1
    return data[:standard_end], parts, index, bodies


def join_standard(parts: list[tuple[int, str, bytes]]) -> bytes:
    out = bytearray(b"\0asm\1\0\0\0")
    for sid, name, payload in parts:
        if sid == 0:
            raw = name.encode()
            payload = uleb(len(raw)) + raw + payload
        out += _section(sid, payload)
    return bytes(out)


def _bodies(index: Any, blob: bytes) -> list[Any]:
    out = []
    for r in index["entities"]:
        off, length = r[7], r[8]
        out.append(msgpack.unpackb(blob[off:off + length], raw=False, strict_map_key=False)
                   if length else None)
    return out


def _pack_bodies(index: Any, bodies: list[Any]) -> bytes:
    import zlib
    blob = bytearray()
    for r, body in zip(index["entities"], bodies):
        if body is None:
            continue
        raw = msgpack.packb(body, use_bin_type=True)
        r[7], r[8], r[9] = len(blob), len(raw), zlib.crc32(raw)
        blob += raw
    return bytes(blob)


def _mutate_leb_section(payload: bytes, rng: random.Random) -> bytes:
    """A standard section's payload with a count, size or index field changed."""
    b = bytearray(payload)
    if not b:
        return bytes(b)
    r = rng.random()
    pos = rng.randrange(len(b))
    if r < 0.4:        # a LEB at a random place becomes a large or odd value
        value = rng.choice([0, 1, 127, 128, 2**14, 2**31, 2**32 - 1, 2**35])
        end = pos
        while end < len(b) and b[end] & 0x80:
            end += 1
        b[pos:end + 1] = uleb(value)
    elif r < 0.6:
        b[0:1] = uleb(rng.choice([0, 1, 1000, 2**31]))      # the section's item count
    elif r < 0.8:
        del b[pos:pos + rng.randrange(1, 16)]
    else:
        b[pos] ^= 1 << rng.randrange(8)
    return bytes(b)


def mutate_object(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One structure-aware mutant of an irld object, with valid checksums."""
    standard, parts, index, blob = split_object(data)
    bodies = _bodies(index, blob)
    r = rng.random()
    if r < 0.45:
        what = "index"
        index = mutate_tree(index, rng, rng.randint(1, 3))
        if rng.random() < 0.5 and isinstance(index, dict) and \
                isinstance(index.get("entities"), list):
            try:
                blob = _pack_bodies(index, bodies)
            except (TypeError, IndexError, KeyError, ValueError):
                pass
    elif r < 0.75 and any(b is not None for b in bodies):
        what = "body"
        k = rng.choice([i for i, b in enumerate(bodies) if b is not None])
        bodies[k] = mutate_tree(bodies[k], rng, rng.randint(1, 3))
        try:
            blob = _pack_bodies(index, bodies)
        except (OverflowError, TypeError, ValueError):   # msgpack holds 64-bit integers only
            bodies[k] = [2**63]
            blob = _pack_bodies(index, bodies)
    elif r < 0.85:
        what = "sizes"
        recs = index["entities"]
        rec = rng.choice(recs)
        field = rng.choice([3, 7, 8])      # info (data size/align), body offset, body length
        if field == 3 and isinstance(rec[3], list) and rec[3]:
            rec[3][rng.randrange(len(rec[3]))] = rng.choice(EXTREME_INTS)
        else:
            rec[field] = rng.choice(EXTREME_INTS)
    else:
        what = "standard section"
        k = rng.randrange(len(parts))
        sid, name, payload = parts[k]
        parts[k] = (sid, name, _mutate_leb_section(payload, rng))
        standard = join_standard(parts)
    try:
        raw_index = msgpack.packb(index, use_bin_type=True)
    except (TypeError, ValueError, OverflowError):
        raw_index = msgpack.packb(None)
    return what, append_irld_sections(standard, raw_index, blob)


# ---------------------------------------------------------------- archives


def mutate_archive(objects: list[bytes], rng: random.Random) -> tuple[str, bytes]:
    """An archive of (possibly mutated) objects with a (possibly lying) symbol table."""
    from linker.store.ar import write_archive
    from linker.store.objfile import ObjectFile
    members: list[tuple[str, bytes, list[str]]] = []
    for i, data in enumerate(rng.sample(objects, min(len(objects), rng.randint(1, 3)))):
        try:
            syms = [r.name for r in ObjectFile.from_buffer(data, 0, len(data), "m").records
                    if not r.private]
        except Exception:  # noqa: BLE001 - a mutated corpus object may not open
            syms = []
        if rng.random() < 0.6:
            _, data = mutate_object(data, rng)
        if rng.random() < 0.3:
            syms = mutate_tree(list(syms), rng)
            syms = [s if isinstance(s, str) else "sym" for s in syms] \
                if isinstance(syms, list) else []
        members.append((f"m{i}.o" if rng.random() < 0.9 else "a" * 40 + ".o", data, syms))
    try:
        raw = bytearray(write_archive(members))
    except Exception:  # noqa: BLE001 - the writer may refuse a name; use plain members
        raw = bytearray(write_archive([(f"m{i}.o", d, []) for i, (_n, d, _s)
                                       in enumerate(members)]))
    if rng.random() < 0.4:
        return "archive fields", bytes(_mutate_ar_fields(raw, rng))
    return "archive of mutants", bytes(raw)


def _mutate_ar_fields(raw: bytearray, rng: random.Random) -> bytearray:
    """Rewrite a member header's size/name, or a symbol-table count or offset."""
    pos = 8
    headers = []
    while pos + 60 <= len(raw):
        headers.append(pos)
        try:
            size = int(raw[pos + 48:pos + 58].decode().strip())
        except ValueError:
            break
        pos += 60 + size + (size & 1)
    h = rng.choice(headers)
    r = rng.random()
    if r < 0.4:
        raw[h + 48:h + 58] = str(rng.choice([0, 1, 59, 2**31, 9999999999])).ljust(10).encode()
    elif r < 0.6:
        raw[h:h + 16] = rng.choice([b"/", b"//", b"/999999", b"#1/99999", b"/SYM64/"]) \
            .ljust(16)
    elif raw[h:h + 2] == b"/ " and h + 64 <= len(raw):
        # the GNU symbol table: its count, or one of its offsets
        field = rng.choice([0, 4, 8])
        raw[h + 60 + field:h + 64 + field] = struct.pack(">I", rng.choice(
            [0, 1, 7, 2**16, 2**31, 2**32 - 1]))
    else:
        raw[h + 58:h + 60] = b"x\n"
    return raw


# ---------------------------------------------------------------- reports


def mutate_report(text: str, rng: random.Random) -> str:
    tree = json.loads(text)
    r = rng.random()
    if r < 0.15:
        depth = rng.choice([1000, 100_000])
        return "[" * depth + "]" * depth if rng.random() < 0.5 else \
            text.replace('"live": [', '"live": [' + "[" * depth + "]" * depth + ",", 1)
    if r < 0.35:
        # sizes, counts and addresses: non-finite, negative, 2**64, wrong type
        paths = [p for p in _nodes(tree) if p and p[-1] in
                 ("size", "bytes", "address", "func_index", "table_index", "offset",
                  "data_base", "data_end", "live", "dead", "entities", "index")]
        for p in rng.sample(paths, min(len(paths), rng.randint(1, 4))):
            try:
                parent = _get(tree, p[:-1])     # an earlier change may have replaced it
            except (KeyError, IndexError, TypeError):
                continue
            parent[p[-1]] = rng.choice(
                [float("inf"), float("-inf"), float("nan"), 2**64, -1, 1e300, "12", None,
                 [], {}])
    else:
        tree = mutate_tree(tree, rng, rng.randint(1, 4))
    return json.dumps(tree, allow_nan=True, default=lambda b: b.hex())


# ---------------------------------------------------------------- cases


Runner = Callable[..., CaseResult]
statuses = tuple(range(256))
# (2 is also a usage error, but the argv is fixed and valid: here it is the program's)


def structure_case(corpus: Corpus, reports: list[Path], rng: random.Random, work: Path,
                   runner: Runner = run_case) -> tuple[str, CaseResult]:
    """One structure-aware case; returns (a description, the result)."""
    out = work / "out.wasm"
    kind = rng.random()
    if kind < 0.55:
        base = rng.choice(corpus.objects).read_bytes()
        what, data = mutate_object(base, rng)
        obj = work / "s.o"
        obj.write_bytes(data)
        # With the stdlib and undefined symbols allowed, most unmutated objects link,
        # so a mutant reaches the phases after the readers (codegen, emission).
        others = [str(STDLIB)] if STDLIB.exists() else []
        cmd = rng.choice(["link", "link-trampoline", "dump", "interp"])
        if cmd == "dump":
            return f"dump of object ({what})", runner(["dump", str(obj)], [])
        if cmd == "interp":
            # The program's own exit status passes through (a trap is 134).
            return f"run --interp of object ({what})", runner(
                ["run", "--interp", "--fuel", "100000", str(obj), *others], [], statuses=statuses)
        extra = ["--tail-calls", "trampoline"] if cmd == "link-trampoline" else []
        return f"{cmd} of object ({what})", runner(
            ["link", str(obj), *others, "--no-entry", "--export-all", "--allow-undefined",
             *extra, "-o", str(out)], [out])
    if kind < 0.8:
        objects = [p.read_bytes() for p in corpus.objects]
        what, data = mutate_archive(objects, rng)
        lib = work / "s.a"
        lib.write_bytes(data)
        if rng.random() < 0.3:
            return f"ar -t of archive ({what})", runner(["ar", "-t", str(lib)], [])
        obj = rng.choice(corpus.objects)
        return f"link with archive ({what})", runner(
            ["link", str(obj), str(lib), "--no-entry", "--allow-undefined", "-o", str(out)],
            [out])
    report = work / "s.json"
    base = rng.choice(reports)
    report.write_text(mutate_report(base.read_text(), rng))
    cmd = rng.choice(["why", "top", "top-by-input", "garbage", "dominators", "diff", "graph"])
    argv = {"why": ["why", "main", str(report)], "top": ["top", str(report)],
            "top-by-input": ["top", "--by-input", str(report)],
            "garbage": ["garbage", str(report)], "dominators": ["dominators", str(report)],
            "diff": ["diff", str(base), str(report)], "graph": ["graph", str(report)]}[cmd]
    return f"{cmd} of report", runner(argv, [])


def build_reports(corpus: Corpus, directory: Path) -> list[Path]:
    """Valid reports to mutate: links of the corpus objects (the ones that link)."""
    from linker.cli.main import main
    import contextlib
    import io
    out = []
    others = [str(STDLIB)] if STDLIB.exists() else []
    for k, obj in enumerate(corpus.objects[:12]):
        path = directory / f"r{k}.json"
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            status = main(["link", str(obj), *others, "--no-entry", "--export-all",
                           "--allow-undefined", "--report", str(path)])
        if status == 0:
            out.append(path)
    return out
