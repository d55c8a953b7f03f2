"""The report commands as functions of a `Report`: why, top, garbage, dominators, diff, graph.

Each returns the command's output as a string in one of the formats of
`linker.report.render` (graph: DOT for text).  Orders are total (size, then
name, then input), so outputs are deterministic.  Percentages are of the
output file's size, as twiggy's are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from linker.report.graph import (META_ROOT, Graph, chains, distances, dominator_tree,
                                 live_graph, neighbourhood)
from linker.report.model import Report
from linker.report.render import Column, pct, percent, render

_NAME = Column("name", "name")
_KIND = Column("kind", "kind")
_INPUT = Column("input", "input")

# How a chain line reads for each edge kind: "<verb> <referrer> (<input>)".
_VERBS = {
    "call": "called by", "tail call": "tail-called by", "address taken": "address taken by",
    "data reference": "referenced from data", "global access": "accessed by",
    "ctor": "a ctor of the module of", "export": "exported by the member pulled in by",
    "FFI signature": "signature used by", "linker runtime": "used by",
}


def _limit(rows: list[dict[str, Any]], n: int | None) -> list[dict[str, Any]]:
    return rows if n is None or n <= 0 else rows[:n]


# ---------------------------------------------------------------- why


class WhyStatus:
    LIVE, DEAD, UNLOADED, UNKNOWN = "live", "dead", "not loaded", "unknown"


@attrs.frozen(slots=True)
class WhyAnswer:
    symbol: str
    status: str
    chains: list[list[dict[str, Any]]]
    referenced_by: list[str]
    members: list[str]
    text: list[str]

    @property
    def found(self) -> bool:
        return self.status != WhyStatus.UNKNOWN


def why(report: Report, symbol: str, *, all_chains: bool = False, limit: int = 5,
        graph: Graph | None = None) -> WhyAnswer:
    """The shortest chain from a root to `symbol` (or up to `limit` chains)."""
    g = graph if graph is not None else live_graph(report)
    node = g.index.get(symbol)
    if node is not None:
        found = chains(g, node, limit if all_chains else 1)
        steps = [[_step(report, g, v, kind) for v, kind in c] for c in found]
        text: list[str] = []
        for i, c in enumerate(steps):
            if all_chains:
                text += ([""] if i else []) + [f"chain {i + 1} ({len(c) - 1} steps):"]
            text += _chain_lines(report, c)
        return WhyAnswer(symbol, WhyStatus.LIVE, steps, [], [], text)
    dead = report.dead_named(symbol)
    if dead:
        referrers = sorted({f"{e.name} ({e.input})" for e in report.dead
                            if any(s == symbol for s, _k in e.refs)})
        where = ", ".join(f"{e.kind} in {e.input}" for e in dead)
        if referrers:
            line = f"{symbol} ({where}) is not live; referenced only by dead " + \
                ", ".join(referrers)
        else:
            line = f"{symbol} ({where}) is not live; not referenced by anything"
        return WhyAnswer(symbol, WhyStatus.DEAD, [], referrers, [], [line])
    loaded = _loaded_member(report, symbol)
    if loaded is not None:
        return _why_member(report, g, loaded)
    members = [m.label for m in report.members_defining(symbol)]
    if members:
        line = (f"{symbol} is not live; defined in {', '.join(members)}, an archive member "
                "nothing pulled in (never loaded)")
        return WhyAnswer(symbol, WhyStatus.UNLOADED, [], [], members, [line])
    return WhyAnswer(symbol, WhyStatus.UNKNOWN, [], [], [], [f"no such symbol: {symbol}"])


def _loaded_member(report: Report, name: str) -> dict[str, Any] | None:
    """The loaded archive member `name` names (`libc.a(printf.o)` matches
    `/usr/lib/wasm32-wasi/libc.a(printf.o)`), or None."""
    if not name.endswith(")") or "(" not in name:
        return None
    for o in report.objects:
        path = str(o.get("name", ""))
        if o.get("pulled_by") is not None and (path == name or path.endswith("/" + name)):
            return o
    return None


def _why_member(report: Report, g: Graph, member: dict[str, Any]) -> WhyAnswer:
    """Why an archive member was loaded: the symbol that pulled it, who named
    that symbol, and the chain to the symbol when it is live."""
    name, symbol, wanted = member["name"], member["pulled_by"], member.get("pulled_for")
    text = [f"{name}: archive member, loaded for {symbol}"]
    if wanted is not None:
        text.append(f"  {symbol} is undefined in {wanted}: every strong undefined symbol "
                    "of a loaded C object pulls its member, live or not (as in wasm-ld)")
    live = [e for e in report.live if e.input == name]
    node = g.index.get(symbol)
    steps: list[list[dict[str, Any]]] = []
    if node is not None:
        steps = [[_step(report, g, v, kind) for v, kind in c] for c in chains(g, node, 1)]
        text.append(f"  {symbol} is live:")
        text += ["  " + line for line in _chain_lines(report, steps[0])]
    text.append(f"  live entities: {len(live)} of {member.get('entities', 0)} "
                f"({sum(e.bytes for e in live)} bytes)")
    return WhyAnswer(name, WhyStatus.LIVE if live else WhyStatus.DEAD, steps,
                     [wanted] if wanted is not None else [], [name], text)


def _step(report: Report, g: Graph, v: int, kind: str | None) -> dict[str, Any]:
    e = report.live_entity(g.names[v])
    return {"symbol": g.names[v], "input": e.input if e is not None else "", "edge": kind}


def _chain_lines(report: Report, steps: list[dict[str, Any]]) -> list[str]:
    first = steps[0]
    lines = [f"{first['symbol']} ({first['input']})"]
    # steps[i]["edge"] is the kind of the edge from steps[i] to steps[i - 1].
    for st in steps[1:]:
        verb = _VERBS.get(st["edge"], f"{st['edge']} from")
        lines.append(f"  {verb} {st['symbol']} ({st['input']})")
    last = steps[-1]["symbol"]
    root = next((r for r in report.roots if r.symbol == last), None)
    if root is not None:
        lines.append(f"  root: {root.kind} {last} ({root.origin})")
    else:
        lines.append(f"  root: {last}")
    return lines


def why_output(report: Report, symbol: str, fmt: str, *, all_chains: bool = False,
               limit: int = 5) -> tuple[str, bool]:
    ans = why(report, symbol, all_chains=all_chains, limit=limit)
    rows = [{"chain": i + 1, "step": j, **st}
            for i, c in enumerate(ans.chains) for j, st in enumerate(c)]
    cols = [Column("chain", "chain"), Column("step", "step"), Column("symbol", "symbol"),
            Column("input", "input"), Column("edge", "edge")]
    summary = {"symbol": symbol, "status": ans.status, "referenced_by": ans.referenced_by,
               "members": ans.members, "message": None if ans.chains else ans.text[0]}
    return render(fmt, rows, cols, summary, text=ans.text), ans.found


# ---------------------------------------------------------------- top


def top(report: Report, fmt: str, n: int | None = 20, by_input: bool = False) -> str:
    total = report.output_bytes
    if by_input:
        rows = [{"input": t["input"], "entities": t["live"], "bytes": t["live_bytes"],
                 "percent": percent(t["live_bytes"], total)}
                for t in report.input_totals() if t["live"]]
        rows.sort(key=lambda r: (-r["bytes"], r["input"]))
        cols = [Column("bytes", "bytes", True), Column("percent", "% of output", True, pct),
                Column("entities", "live", True), _INPUT]
        shown = _limit(rows, n)
    else:
        rows = [{"name": e.name, "kind": e.kind, "input": e.input, "bytes": e.bytes,
                 "percent": percent(e.bytes, total)} for e in report.live]
        rows.sort(key=lambda r: (-r["bytes"], r["name"], r["input"]))
        cols = [Column("bytes", "bytes", True), Column("percent", "% of output", True, pct),
                _KIND, _NAME, _INPUT]
        lto = {e.name: e.lto.get("summary", "") for e in report.live if e.lto}
        if lto:      # --lto: what became of each entity
            for r in rows:
                r["lto"] = lto.get(r["name"], "")
            cols.append(Column("lto", "lto"))
        shown = _limit(rows, n)
    in_entities = sum(e.bytes for e in report.live)
    footer = [
        f"shown: {len(shown)} of {len(rows)}; {sum(r['bytes'] for r in shown)} bytes "
        f"({pct(percent(sum(r['bytes'] for r in shown), total))})",
        f"live entities: {in_entities} bytes ({pct(percent(in_entities, total))}); "
        f"the rest of the {total}-byte output is section headers, types, imports, "
        "exports, the table and names"]
    summary = {"output_bytes": total, "entity_bytes": in_entities, "count": len(rows)}
    return render(fmt, shown, cols, summary, footer)


# ---------------------------------------------------------------- garbage


def garbage(report: Report, fmt: str, n: int | None = 20) -> str:
    total = report.output_bytes
    rows: list[dict[str, Any]] = [
        {"name": e.name, "kind": e.kind, "input": e.input, "size": e.size,
         "percent": percent(e.size, total)} for e in report.dead]
    rows += [{"name": "(member not loaded)", "kind": "member", "input": m.label,
              "size": m.size, "percent": percent(m.size, total)} for m in report.unloaded]
    rows.sort(key=lambda r: (-r["size"], r["name"], r["input"]))
    cols = [Column("size", "size", True), Column("percent", "% of output", True, pct),
            _KIND, _NAME, _INPUT]
    dead_size = sum(e.size for e in report.dead)
    member_size = sum(m.size for m in report.unloaded)
    shown = _limit(rows, n)
    footer = [f"shown: {len(shown)} of {len(rows)}",
              f"dead entities of loaded objects: {len(report.dead)}, {dead_size} bytes "
              "(functions: encoded IR body size, or compiled code for C; data: size in memory)",
              f"archive members never loaded: {len(report.unloaded)}, {member_size} bytes"]
    summary = {"output_bytes": total, "dead": len(report.dead), "dead_size": dead_size,
               "unloaded_members": len(report.unloaded), "unloaded_size": member_size}
    return render(fmt, shown, cols, summary, footer)


# ---------------------------------------------------------------- dominators


def dominators(report: Report, fmt: str, depth: int | None = None,
               n: int | None = None) -> str:
    """The dominator tree with retained sizes; `depth` levels below the meta-root,
    `n` rows at most (children by retained size, then name)."""
    g = live_graph(report)
    tree = dominator_tree(g)
    kids = tree.children()
    names = g.names + [META_ROOT]
    sizes = g.sizes + [0]
    total = report.output_bytes
    rows: list[dict[str, Any]] = []

    def order(vs: list[int]) -> list[int]:
        return sorted(vs, key=lambda v: (-tree.retained[v], names[v]))

    stack: list[tuple[int, int]] = [(tree.meta, 0)]
    while stack and (n is None or n <= 0 or len(rows) < n):
        v, d = stack.pop()
        rows.append({"depth": d, "name": names[v], "retained": tree.retained[v],
                     "percent": percent(tree.retained[v], total), "bytes": sizes[v],
                     "dominator": None if v == tree.meta else names[tree.idom[v]]})
        if depth is None or d < depth:
            stack += [(c, d + 1) for c in reversed(order(kids[v]))]
    cols = [Column("retained", "retained", True),
            Column("percent", "% of output", True, pct), Column("bytes", "bytes", True),
            Column("tree", "dominator tree")]
    shown = [{**r, "tree": "  " * r["depth"] + r["name"]} for r in rows]
    text_rows = shown
    lines = _table_text(text_rows, cols)
    summary = {"output_bytes": total, "live_bytes": tree.retained[tree.meta]}
    csv_cols = [Column("depth", "depth"), Column("name", "name"), Column("dominator", ""),
                Column("retained", ""), Column("percent", ""), Column("bytes", "")]
    if fmt == "csv":
        return render(fmt, rows, csv_cols)
    return render(fmt, rows, cols, summary, text=lines)


def _table_text(rows: list[dict[str, Any]], cols: Sequence[Column]) -> list[str]:
    from linker.report.render import table
    return table(rows, cols)


# ---------------------------------------------------------------- diff


def diff(old: Report, new: Report, fmt: str, n: int | None = None) -> str:
    """Live entities added, removed, grown and shrunk between two links (by name)."""
    a = {e.name: e for e in old.live}
    b = {e.name: e for e in new.live}
    rows: list[dict[str, Any]] = []
    for name in sorted(a.keys() | b.keys()):
        ea, eb = a.get(name), b.get(name)
        before = ea.bytes if ea is not None else 0
        after = eb.bytes if eb is not None else 0
        if ea is None:
            change = "added"
        elif eb is None:
            change = "removed"
        elif after != before:
            change = "grown" if after > before else "shrunk"
        else:
            continue
        e = eb if eb is not None else ea
        assert e is not None
        rows.append({"name": name, "kind": e.kind, "input": e.input, "change": change,
                     "old": before, "new": after, "delta": after - before})
    rows.sort(key=lambda r: (-abs(r["delta"]), r["name"]))
    counts = {c: sum(1 for r in rows if r["change"] == c)
              for c in ("added", "removed", "grown", "shrunk")}
    delta = sum(r["delta"] for r in rows)
    cols = [Column("delta", "delta", True, _signed), Column("old", "old", True),
            Column("new", "new", True), Column("change", "change"), _KIND, _NAME, _INPUT]
    out_delta = new.output_bytes - old.output_bytes
    footer = [
        f"{counts['added']} added, {counts['removed']} removed, {counts['grown']} grown, "
        f"{counts['shrunk']} shrunk; entities {_signed(delta)} bytes",
        f"output: {old.output_bytes} -> {new.output_bytes} bytes ({_signed(out_delta)}, "
        f"{_signed_pct(percent(out_delta, old.output_bytes))})"]
    summary = {"old_output_bytes": old.output_bytes, "new_output_bytes": new.output_bytes,
               "entity_delta": delta, **counts}
    return render(fmt, _limit(rows, n), cols, summary, footer)


def _signed(v: Any) -> str:
    return f"{int(v):+d}"


def _signed_pct(v: float) -> str:
    return f"{v:+.2f}%"


# ---------------------------------------------------------------- graph


def graph(report: Report, fmt: str, symbol: str | None = None,
          depth: int = 2) -> tuple[str, bool]:
    """GraphViz DOT of the live graph, or of `symbol`'s neighbourhood within `depth`."""
    g = live_graph(report)
    if symbol is not None:
        center = g.index.get(symbol)
        if center is None:
            return f"{symbol} is not live\n" if report.dead_named(symbol) or \
                report.members_defining(symbol) else f"no such symbol: {symbol}\n", False
        nodes = neighbourhood(g, center, depth)
    else:
        nodes = list(range(len(g.names)))
    chosen = set(nodes)
    roots = set(g.roots)
    node_rows: list[dict[str, Any]] = []
    for v in nodes:
        e = report.live[v]
        node_rows.append({"name": e.name, "kind": e.kind, "input": e.input, "bytes": e.bytes,
                          "root": v in roots})
    edge_rows: list[dict[str, Any]] = [{"from": g.names[a], "to": g.names[b], "kind": k}
                 for a in nodes for b, k in g.succ[a] if b in chosen]
    if fmt == "json":
        import json
        return json.dumps({"nodes": node_rows, "edges": edge_rows}, indent=1,
                          ensure_ascii=False) + "\n", True
    if fmt == "csv":
        cols = [Column("from", "from"), Column("to", "to"), Column("kind", "kind")]
        return render("csv", edge_rows, cols), True
    lines = ["digraph irld {", "  rankdir=LR;", "  node [shape=box, fontname=monospace];"]
    for r in node_rows:
        styles: list[str] = ["bold"] if r["root"] else []
        if symbol is not None and r["name"] == symbol:
            styles.append("filled")
        style = f', style="{",".join(styles)}"' if styles else ""
        if "filled" in styles:
            style += ", fillcolor=lightyellow"
        label = f"{r['name']}\\n{r['bytes']} B, {r['input']}"
        lines.append(f"  {_dot_id(r['name'])} [label={_dot_id(label, raw=True)}{style}];")
    for r in edge_rows:
        lines.append(f"  {_dot_id(r['from'])} -> {_dot_id(r['to'])} "
                     f"[label={_dot_id(r['kind'])}];")
    lines.append("}")
    return "\n".join(lines) + "\n", True


def _dot_id(s: str, raw: bool = False) -> str:
    escaped = s.replace("\\", "\\\\") if not raw else s
    return '"' + escaped.replace('"', '\\"') + '"'


def distances_from_roots(report: Report) -> dict[str, int]:
    g = live_graph(report)
    return {g.names[i]: d for i, d in enumerate(distances(g))}
