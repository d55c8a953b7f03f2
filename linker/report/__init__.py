"""The link report: what is in the binary, what it costs, and why (docs/report.md).

`build_report(result, options)` turns a finished link into a `Report`;
`Report.dumps()` / `Report.load(path)` are its JSON form (schema
`irld-report/1`); `map_text(report)` is the wasm-ld-style map; the analyses
behind `irld why / top / garbage / dominators / diff / graph` are in
`linker.report.analyses`, the graph algorithms in `linker.report.graph`.
"""

from __future__ import annotations

from linker.report.build import build_report
from linker.report.mapfile import map_text
from linker.report.model import SCHEMA, Entity, Report, ReportError, RootInfo, UnloadedMember

__all__ = ["SCHEMA", "Entity", "Report", "ReportError", "RootInfo", "UnloadedMember",
           "build_report", "map_text"]
