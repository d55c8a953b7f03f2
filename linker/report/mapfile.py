"""The map text (`irld link --map FILE`), in the style of wasm-ld's `-Map`.

Columns as wasm-ld prints them, in hex: `Addr` (memory address; `-` for
what has none), `Off` (file offset in the wasm output), `Size`; then the
three-level hierarchy output section → input → symbol.  Functions are
listed under CODE in function-index order, with `[func N]` and, when they
have a table slot, `[table N]`; a run of functions of one input gets one
input line with the run's offset and size.  Data entities are listed under
DATA in address order; `Off` is `-` for data that lies wholly in a zero run
the segments skip.  Imports are listed under IMPORT with their function
index.  The map is derived from the report, so it matches `--report`.
"""

from __future__ import annotations

from collections.abc import Iterable

from linker.report.model import Entity, Report

HEADER = "    Addr      Off     Size Out     In      Symbol"


def _hex(v: int | None) -> str:
    return "-" if v is None else f"{v:x}"


def _row(addr: int | None, off: int | None, size: int | None, text: str) -> str:
    return f"{_hex(addr):>8} {_hex(off):>8} {_hex(size):>8} {text}"


def _symbol(e: Entity) -> str:
    extra = ""
    if e.func_index is not None:
        extra += f" [func {e.func_index}]"
    if e.table_index is not None:
        extra += f" [table {e.table_index}]"
    return e.name + extra


def _runs(entities: Iterable[Entity]) -> list[list[Entity]]:
    runs: list[list[Entity]] = []
    for e in entities:
        if runs and runs[-1][0].input == e.input:
            runs[-1].append(e)
        else:
            runs.append([e])
    return runs


def map_text(report: Report) -> str:
    lines = [HEADER, _row(None, 0, 8, "HEADER")]
    funcs = sorted((e for e in report.live if e.offset is not None and e.kind == "func"),
                   key=lambda e: e.func_index if e.func_index is not None else -1)
    imports = sorted((e for e in report.live if e.kind in ("import", "foreign")
                      and e.func_index is not None),
                     key=lambda e: (e.func_index or 0, e.name))
    datas = sorted((e for e in report.live if e.kind == "data" and e.address is not None),
                   key=lambda e: (e.address or 0, e.name))
    for sec in report.output["sections"]:
        name = str(sec["name"]).upper()
        lines.append(_row(None, int(sec["offset"]), int(sec["total"]), name))
        if sec["name"] == "import":
            for e in imports:
                lines.append(_row(None, None, None, f"        {e.input}"))
                lines.append(_row(None, None, None, f"                {_symbol(e)}"))
        elif sec["name"] == "code":
            for run in _runs(funcs):
                first = run[0]
                lines.append(_row(None, first.offset, sum(e.bytes for e in run),
                                  f"        {first.input}"))
                for e in run:
                    lines.append(_row(None, e.offset, e.bytes, f"                {_symbol(e)}"))
        elif sec["name"] == "data":
            for seg in report.memory.get("segments", []):
                lines.append(_row(seg["address"], seg["offset"], seg["size"],
                                  f"        segment @{seg['address']:x}"))
            for run in _runs(datas):
                first = run[0]
                end = max((e.address or 0) + e.size for e in run)
                lines.append(_row(first.address, first.offset, end - (first.address or 0),
                                  f"        {first.input}"))
                for e in run:
                    lines.append(_row(e.address, e.offset, e.size, f"                {e.name}"))
    return "\n".join(lines) + "\n"
