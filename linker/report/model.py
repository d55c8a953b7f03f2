"""The link report as a value, and its JSON form (schema `irld-report/1`, docs/report.md).

A `Report` is built once from a link (`linker.report.build`) or read back
from its JSON file (`Report.from_json`); every analysis (`why`, `top`,
`garbage`, `dominators`, `diff`, `graph`) and the map text work on this
value alone, so they give the same answers on a fresh link and on a saved
report.

The parts the analyses need are typed (`Entity`, `RootInfo`,
`UnloadedMember`); the descriptive parts (inputs, memory and table layout,
the panic message pool, FFI signatures, counts, timings, output sections)
are kept as the JSON objects they are written as.  The schema string is
checked on reading: a report of another major version is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

SCHEMA = "irld-report/1"

LINKER_INPUT = "<linker>"
UNDEFINED_INPUT = "<undefined>"


class ReportError(Exception):
    """A report file that cannot be used (unreadable, not JSON, another schema)."""


@attrs.define(slots=True, eq=False)
class Entity:
    """One entity of the link, live or dead.

    `size`: for a live function, its code body bytes (instructions); for a
    dead function, the size of its encoded IR body in the object file; for
    data, its size in memory.  `bytes`: what it costs in the output (0 when
    dead): for a function, its whole code-section entry (size prefix, local
    declarations, body, `end`); for data, its bytes that the data segments
    carry (zero runs the segments skip are free).  `refs`: the symbols it
    references with the edge kind, including edges the linker adds (ctors
    and archive-member exports, calls to the panic runtime, trampoline
    thunks)."""

    name: str
    kind: str
    input: str
    live: bool
    size: int
    bytes: int = 0
    parent: str | None = None          # reason: the referencing symbol (None: a root)
    reason: str | None = None          # reason: the edge kind (or the root kind)
    func_index: int | None = None
    table_index: int | None = None
    address: int | None = None
    offset: int | None = None          # file offset of its bytes in the wasm output
    refs: list[tuple[str, str]] = attrs.Factory(list)
    lto: dict[str, Any] | None = None  # --lto: what became of it (linker.lto.whole.Effect)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "input": self.input,
                               "size": self.size}
        if self.live:
            out["bytes"] = self.bytes
            out["reason"] = {"parent": self.parent, "kind": self.reason}
            out["func_index"] = self.func_index
            out["table_index"] = self.table_index
            out["address"] = self.address
            out["offset"] = self.offset
        out["refs"] = [[s, k] for s, k in self.refs]
        if self.lto:
            out["lto"] = self.lto
        return out

    @staticmethod
    def from_json(d: Mapping[str, Any], live: bool) -> "Entity":
        reason = d.get("reason") or {}
        return Entity(
            name=str(d["name"]), kind=str(d["kind"]), input=str(d["input"]), live=live,
            size=int(d["size"]), bytes=int(d.get("bytes", 0)),
            parent=reason.get("parent"), reason=reason.get("kind"),
            func_index=d.get("func_index"), table_index=d.get("table_index"),
            address=d.get("address"), offset=d.get("offset"),
            refs=[(str(s), str(k)) for s, k in d.get("refs", [])], lto=d.get("lto"))


@attrs.frozen(slots=True)
class RootInfo:
    """A root of discovery (or of the linker's own code) and where it comes from."""

    symbol: str
    kind: str
    origin: str

    def to_json(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "kind": self.kind, "origin": self.origin}


@attrs.frozen(slots=True)
class UnloadedMember:
    """An archive member nothing pulled in: never loaded, listed from the archive index."""

    archive: str
    member: str
    size: int                      # bytes of the member object file
    symbols: tuple[str, ...]       # what the archive index says it defines

    @property
    def label(self) -> str:
        return f"{self.archive}({self.member})"

    def to_json(self) -> dict[str, Any]:
        return {"archive": self.archive, "member": self.member, "size": self.size,
                "symbols": list(self.symbols)}


@attrs.define(slots=True, eq=False)
class Report:
    """The whole report; see docs/report.md for each field."""

    output: dict[str, Any]                 # path, bytes, sections
    options: dict[str, Any]
    inputs: list[dict[str, Any]]
    objects: list[dict[str, Any]]
    roots: list[RootInfo]
    live: list[Entity]
    dead: list[Entity]
    unloaded: list[UnloadedMember]
    memory: dict[str, Any]
    table: dict[str, Any]
    panic_pool: list[dict[str, Any]]
    ffi: list[dict[str, Any]]
    counts: dict[str, Any]
    timings: list[dict[str, Any]]
    irld: str = ""
    ffi_totals: dict[str, Any] = attrs.Factory(dict)
    _by_name: dict[str, Entity] | None = attrs.field(default=None, repr=False)

    # ------------------------------------------------------------ lookups

    @property
    def output_bytes(self) -> int:
        return int(self.output.get("bytes", 0))

    def live_entity(self, name: str) -> Entity | None:
        if self._by_name is None:
            self._by_name = {e.name: e for e in self.live}
        return self._by_name.get(name)

    def dead_named(self, name: str) -> list[Entity]:
        return [e for e in self.dead if e.name == name]

    def members_defining(self, name: str) -> list[UnloadedMember]:
        return [m for m in self.unloaded if name in m.symbols]

    def entities(self) -> Iterator[Entity]:
        yield from self.live
        yield from self.dead

    def input_totals(self) -> list[dict[str, Any]]:
        """Per input (load order, then the linker's own): live and dead counts and bytes."""
        totals: dict[str, dict[str, Any]] = {}

        def row(name: str) -> dict[str, Any]:
            r = totals.get(name)
            if r is None:
                r = totals[name] = {"input": name, "live": 0, "live_bytes": 0,
                                    "dead": 0, "dead_size": 0}
            return r

        for o in self.objects:
            row(str(o["name"]))
        for e in self.live:
            r = row(e.input)
            r["live"] += 1
            r["live_bytes"] += e.bytes
        for e in self.dead:
            r = row(e.input)
            r["dead"] += 1
            r["dead_size"] += e.size
        return list(totals.values())

    # ------------------------------------------------------------ JSON

    def to_json(self, *, timings: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "irld": self.irld,
            "output": self.output,
            "options": self.options,
            "inputs": self.inputs,
            "objects": self.objects,
            "roots": [r.to_json() for r in self.roots],
            "live": [e.to_json() for e in self.live],
            "dead": [e.to_json() for e in self.dead],
            "unloaded_members": [m.to_json() for m in self.unloaded],
            "totals": self.input_totals(),
            "memory": self.memory,
            "table": self.table,
            "panic_pool": self.panic_pool,
            "ffi": self.ffi,
            "ffi_totals": self.ffi_totals,
            "counts": self.counts,
        }
        if timings:
            out["timings"] = self.timings
        return out

    def dumps(self, *, timings: bool = True) -> str:
        """The JSON text: one top-level key per line, and each element of a top-level
        list (an entity, a root, ...) on a line of its own, so the file is readable
        and diffs line by line, while every value is written by the C encoder (an
        indented `json.dumps` is several times slower on a large report)."""
        enc = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
        parts = []
        for key, value in self.to_json(timings=timings).items():
            if isinstance(value, list) and value:
                body = ",\n  ".join(enc(v) for v in value)
                parts.append(f"{enc(key)}: [\n  {body}\n ]")
            else:
                parts.append(f"{enc(key)}: {enc(value)}")
        return "{\n " + ",\n ".join(parts) + "\n}\n"

    @staticmethod
    def from_json(d: Any) -> "Report":
        if not isinstance(d, dict):
            raise ReportError("not an irld report (expected a JSON object)")
        schema = d.get("schema")
        if not isinstance(schema, str) or not schema.startswith("irld-report/"):
            raise ReportError("not an irld report (no \"schema\": \"irld-report/N\")")
        if schema != SCHEMA:
            raise ReportError(f"report schema {schema} is not supported (this irld reads "
                              f"{SCHEMA})")
        try:
            return Report(
                output=dict(d["output"]), options=dict(d.get("options", {})),
                inputs=list(d.get("inputs", [])), objects=list(d.get("objects", [])),
                roots=[RootInfo(str(r["symbol"]), str(r["kind"]), str(r["origin"]))
                       for r in d["roots"]],
                live=[Entity.from_json(e, True) for e in d["live"]],
                dead=[Entity.from_json(e, False) for e in d.get("dead", [])],
                unloaded=[UnloadedMember(str(m["archive"]), str(m["member"]), int(m["size"]),
                                         tuple(str(s) for s in m["symbols"]))
                          for m in d.get("unloaded_members", [])],
                memory=dict(d.get("memory", {})), table=dict(d.get("table", {})),
                panic_pool=list(d.get("panic_pool", [])), ffi=list(d.get("ffi", [])),
                counts=dict(d.get("counts", {})), timings=list(d.get("timings", [])),
                irld=str(d.get("irld", "")), ffi_totals=dict(d.get("ffi_totals", {})))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ReportError(f"corrupt report: {exc!r}") from None

    @staticmethod
    def load(path: str) -> "Report":
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except OSError as exc:
            raise ReportError(f"{path}: cannot open: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ReportError(f"{path}: not JSON: {exc}") from None
        try:
            return Report.from_json(data)
        except ReportError as exc:
            raise ReportError(f"{path}: {exc}") from None
