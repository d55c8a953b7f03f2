"""Output of the report commands: aligned text tables, CSV, JSON.

Every command builds rows (dicts with fixed keys) and a few summary values;
`render` prints them in the chosen format.  Text tables right-align numbers
and left-align names, as twiggy does; CSV has one header row of the keys;
JSON is `{"rows": [...], <summary keys>...}`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

FORMATS = ("text", "json", "csv")


@attrs.frozen(slots=True)
class Column:
    key: str
    header: str
    right: bool = False
    show: Callable[[Any], str] = str


def percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def pct(value: Any) -> str:
    return f"{float(value):.2f}%"


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> list[str]:
    cells = [[c.header for c in columns]]
    cells += [[c.show(r[c.key]) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for n, row in enumerate(cells):
        parts = [cell.rjust(w) if c.right else cell.ljust(w)
                 for cell, w, c in zip(row, widths, columns)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def render(fmt: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column],
           summary: Mapping[str, Any] | None = None, footer: Sequence[str] = (),
           text: Sequence[str] | None = None) -> str:
    """`text` replaces the table in text format (for trees and chains)."""
    if fmt == "json":
        value: dict[str, Any] = dict(summary or {})
        value["rows"] = list(rows)
        return json.dumps(value, indent=1, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        keys = [c.key for c in columns]
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(keys)
        for r in rows:
            w.writerow(["" if r.get(k) is None else r.get(k) for k in keys])
        return buf.getvalue()
    lines = list(text) if text is not None else table(rows, columns)
    lines += footer
    return "\n".join(lines) + "\n"
