"""The interactive HTML report: one self-contained page per report, or per pair of reports.

`report_html(report)` and `diff_html(old, new)` return the text of one HTML
file that needs nothing but a browser: no network, no external script, and it
works from `file://`.  The page's script (`htmlpage.js`), its style sheet
(`htmlpage.css`) and its skeleton (`htmlpage.html`) are package data, inlined
when the page is written; the report's data is embedded as one JSON object.

The data is column-oriented, so the 100,000-function benchmark's page stays
a few megabytes: the live entities are parallel arrays indexed by entity
number (name, input number, colour class, bytes, retained size, immediate
dominator, the first reference of the breadth-first search from the roots),
their references a compressed sparse row (offsets, targets, edge-kind
numbers); strings that repeat (inputs, edge kinds) are tables referenced by
number.  What the page would otherwise have to recompute from the whole
reference graph is computed here with the analyses the commands use
(`linker.report.graph`), so the page shows the same answers as `irld why`
and `irld dominators`:

* the why-chain of a live entity is the breadth-first search's parent
  pointers (`graph.bfs`, as `irld why` uses via `shortest_chain`);
* retained sizes and the dominator tree come from `graph.dominator_tree`
  (Cooper, Harvey, Kennedy 2001);
* for a dead entity, the dead entities that reference it (as `irld why`
  answers "referenced only by dead X" or "not referenced by anything").

The page draws a squarified treemap (Bruls, Huizing, van Wijk, "Squarified
Treemaps", 2000) itself; see `htmlpage.js`.  The output is deterministic:
every order comes from the report's own lists, and timings are left out.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from linker.report.graph import Graph, bfs, dominator_tree, live_graph, shortest_chain
from linker.report.model import LINKER_INPUT, UNDEFINED_INPUT, Entity, Report

PAGE_VERSION = 1

# Colour classes of entities (the page's legend lists them in this order).
CLASSES = ("IR code", "C code", "IR data", "C data", "FFI", "linker code", "linker data",
           "other")
_FFI_PREFIXES = ("__irld_ffi", "__irld_closure")
# Dead referrers listed per dead entity; the count says how many there are in all.
MAX_DEAD_REFERRERS = 20
# Changed entities of a diff page that carry their why-chain (the largest changes).
MAX_DIFF_CHAINS = 2000
Search = tuple[list[int], list[tuple[int, str] | None]]


class _Table:
    """A string table: each distinct string gets the next number."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, s: str) -> int:
        i = self._index.get(s)
        if i is None:
            i = self._index[s] = len(self.items)
            self.items.append(s)
        return i


def entity_class(e: Entity, c_inputs: set[str]) -> int:
    """The colour class (index into CLASSES) of an entity."""
    code = e.kind in ("func", "foreign")
    if e.name.startswith(_FFI_PREFIXES):
        return CLASSES.index("FFI")
    if e.input == LINKER_INPUT:
        return CLASSES.index("linker code" if code else "linker data")
    if e.kind not in ("func", "foreign", "data") or e.input == UNDEFINED_INPUT:
        return CLASSES.index("other")
    c = e.input in c_inputs
    if code:
        return CLASSES.index("C code" if c else "IR code")
    return CLASSES.index("C data" if c else "IR data")


def c_inputs(report: Report) -> set[str]:
    """Inputs that are C objects (clang's), from the report's `objects[].ir`."""
    return {str(o["name"]) for o in report.objects if o.get("ir") is False}


def report_data(report: Report, ffi_baseline: Report | None = None) -> dict[str, Any]:
    """The JSON object the page of one report embeds (see the module docstring)."""
    inputs, kinds, ekinds = _Table(), _Table(), _Table()
    for o in report.objects:
        inputs(str(o["name"]))
    g = live_graph(report)
    tree = dominator_tree(g)
    dist, via = bfs(g)
    cin = c_inputs(report)
    live = report.live
    degrees, targets, edge_kinds = [], [], []
    for edges in g.succ:
        for b, k in edges:
            targets.append(b)
            edge_kinds.append(kinds(k))
        degrees.append(len(edges))
    roots = {v: None for v in g.roots}
    root_info = {r.symbol: r for r in report.roots}
    live_json = {
        "n": [e.name for e in live],
        "i": [inputs(e.input) for e in live],
        "c": [entity_class(e, cin) for e in live],
        "k": [ekinds(e.kind) for e in live],
        "b": [e.bytes for e in live],
        "r": tree.retained[:len(live)],
        "d": [-1 if d == tree.meta else d for d in tree.idom[:len(live)]],
        "vp": [-1 if v is None else v[0] for v in via],
        "vk": [-1 if v is None else kinds(v[1]) for v in via],
        "dist": dist,
        "eg": degrees, "et": targets, "ek": edge_kinds,
        "a": [e.address if e.address is not None else -1 for e in live],
        "t": [e.table_index if e.table_index is not None else -1 for e in live],
    }
    roots_json = []
    for v in roots:
        r = root_info.get(g.names[v])
        e = live[v]
        roots_json.append([v, r.kind if r is not None else (e.reason or "root"),
                           r.origin if r is not None else ""])
    return {
        "v": PAGE_VERSION, "mode": "report",
        "title": str(report.output.get("path") or "link report"),
        "irld": report.irld,
        "out": report.output_bytes,
        "sections": [[s.get("name"), s.get("total", s.get("size", 0))]
                     for s in report.output.get("sections", [])],
        "classes": list(CLASSES),
        "live": live_json,
        "dead": _dead_data(report, inputs, ekinds),
        "unloaded": [[m.label, m.size, list(m.symbols)] for m in report.unloaded],
        "roots": roots_json,
        "ffi": _ffi_data(report, g.index),
        "ffit": report.ffi_totals or None,
        "ffib": _baseline(report, ffi_baseline),
        "counts": report.counts,
        "memory": {k: v for k, v in report.memory.items() if k != "segments"},
        "inputs": inputs.items, "kinds": kinds.items, "ekinds": ekinds.items,
        "archives": [[str(i["path"]), int(i.get("members", 0)), int(i.get("members_loaded", 0))]
                     for i in report.inputs if i.get("kind") == "archive"],
    }


def _dead_data(report: Report, inputs: _Table, ekinds: _Table) -> dict[str, Any]:
    """Dead entities, each with the dead entities that reference it: `rc` counts
    them, `rt` lists the first `rmax` of each, entity after entity."""
    dead = report.dead
    by_name: dict[str, list[int]] = {}
    for i, e in enumerate(dead):
        by_name.setdefault(e.name, []).append(i)
    referrers: list[list[int]] = [[] for _ in dead]
    for i, e in enumerate(dead):
        seen: set[str] = set()
        for s, _k in e.refs:
            if s in seen or s not in by_name:
                continue
            seen.add(s)
            for j in by_name[s]:
                referrers[j].append(i)
    rt: list[int] = []
    for rs in referrers:
        rt.extend(rs[:MAX_DEAD_REFERRERS])
    return {
        "n": [e.name for e in dead], "i": [inputs(e.input) for e in dead],
        "k": [ekinds(e.kind) for e in dead], "s": [e.size for e in dead],
        "rt": rt, "rc": [len(rs) for rs in referrers], "rmax": MAX_DEAD_REFERRERS,
    }


def _ffi_data(report: Report, index: dict[str, int]) -> list[dict[str, Any]]:
    """The live C signatures, each with the live entities that use it (the
    report's `ffi[].users`; a report without them gives the first user)."""
    out = []
    for row in report.ffi:
        key = str(row.get("signature"))
        names = row.get("users") or [row.get("first_user")]
        us = [index[n] for n in names if n is not None and n in index]
        out.append({"id": row.get("id"), "sig": key, "c": row.get("c_type"),
                    "w": row.get("wasm_type"), "hb": int(row.get("handler_bytes", 0)),
                    "pb": int(row.get("pool_bytes", 0)), "ps": row.get("pool_slots"),
                    "sh": row.get("handler_shared_with") or [], "b": int(row.get("bytes", 0)),
                    "u": sorted(set(us))})
    return out


def _baseline(report: Report, baseline: Report | None) -> dict[str, Any] | None:
    """The FFI baseline to compare with: the same program linked `--ffi=exhaustive:N`."""
    if baseline is None:
        return None
    t = baseline.ffi_totals
    return {"mode": t.get("mode"), "ffi_bytes": int(t.get("total_bytes", 0)),
            "out": baseline.output_bytes, "sigs": len(baseline.ffi),
            "path": str(baseline.output.get("path") or "")}


# ---------------------------------------------------------------- diff


def diff_data(old: Report, new: Report) -> dict[str, Any]:
    """The JSON object of a diff page: every live entity of either report, by name
    (as `irld diff` matches them), with its bytes before and after."""
    inputs = _Table()
    a = {e.name: e for e in old.live}
    b = {e.name: e for e in new.live}
    cin = c_inputs(old) | c_inputs(new)
    names: list[str] = []
    cols: dict[str, list[int]] = {"i": [], "c": [], "o": [], "w": []}
    for e in [*new.live, *(e for e in old.live if e.name not in b)]:
        ea, eb = a.get(e.name), b.get(e.name)
        names.append(e.name)
        cols["i"].append(inputs(e.input))
        cols["c"].append(entity_class(e, cin))
        cols["o"].append(ea.bytes if ea is not None else -1)
        cols["w"].append(eb.bytes if eb is not None else -1)
    chains, kinds = _diff_chains(old, new, names, cols)
    return {
        "v": PAGE_VERSION, "mode": "diff",
        "title": f"{old.output.get('path') or 'old'} \u2192 {new.output.get('path') or 'new'}",
        "irld": new.irld, "classes": list(CLASSES),
        "outs": [old.output_bytes, new.output_bytes],
        "ents": {"n": names, **cols}, "inputs": inputs.items,
        "chains": chains, "kinds": kinds,
    }


def _diff_chains(old: Report, new: Report, names: list[str],
                 cols: dict[str, list[int]]) -> tuple[dict[str, list[int]], list[str]]:
    """Why each changed entity is live: its shortest chain from a root in the new link
    (in the old one for an entity that disappeared), for the MAX_DIFF_CHAINS largest
    changes (ordered as `irld diff` lists them).  A chain is flat: entity number, then
    the kind number of the edge to the previous step (-1 for the first), and so on."""
    index = {n: i for i, n in enumerate(names)}
    kinds = _Table()

    def delta(v: int) -> int:
        return max(cols["w"][v], 0) - max(cols["o"][v], 0)

    changed = sorted((v for v in range(len(names)) if cols["o"][v] != cols["w"][v]),
                     key=lambda v: (-abs(delta(v)), names[v]))
    searches: dict[bool, tuple[Graph, Search]] = {}
    out: dict[str, list[int]] = {}
    for v in changed[:MAX_DIFF_CHAINS]:
        in_new = cols["w"][v] >= 0
        if in_new not in searches:
            g = live_graph(new if in_new else old)
            searches[in_new] = (g, bfs(g))
        g, search = searches[in_new]
        chain = shortest_chain(g, g.index[names[v]], search)
        if chain is None:
            continue
        flat: list[int] = []
        for node, kind in chain:
            flat += [index[g.names[node]], -1 if kind is None else kinds(kind)]
        out[str(v)] = flat
    return out, kinds.items


# ---------------------------------------------------------------- the page


def _asset(name: str) -> str:
    return resources.files("linker.report").joinpath(name).read_text(encoding="utf-8")


def embed_json(data: Any) -> str:
    """JSON safe inside a <script> element: no `<` can close it or open a comment."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029",
                                                                            "\\u2029")


def page(data: dict[str, Any]) -> str:
    """The HTML text: the skeleton with the style, the data and the script inlined.

    One pass over the skeleton's `{{NAME}}` markers, so nothing inlined is
    scanned for markers again (a symbol may be named anything)."""
    title = str(data.get("title", "irld report"))
    parts = {
        "TITLE": title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
        "CSS": _asset("htmlpage.css"),
        "DATA": embed_json(data),
        "JS": _asset("htmlpage.js"),
    }
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], _asset("htmlpage.html"))


def report_html(report: Report, ffi_baseline: Report | None = None) -> str:
    return page(report_data(report, ffi_baseline))


def diff_html(old: Report, new: Report) -> str:
    return page(diff_data(old, new))


__all__ = ["CLASSES", "diff_data", "diff_html", "page", "report_data", "report_html"]
