"""`why`: a shortest chain from a root, every step a reference that exists."""

from __future__ import annotations

from pathlib import Path

from linker.report.analyses import WhyStatus, why
from linker.report.graph import chains, distances, live_graph
from linker.report.model import Report


def test_every_live_symbol_has_a_shortest_valid_chain(prog: Path) -> None:
    report = Report.load("prog.json")
    g = live_graph(report)
    dist = distances(g)
    roots = {r.symbol for r in report.roots}
    for e in report.live:
        ans = why(report, e.name, graph=g)
        assert ans.status == WhyStatus.LIVE
        (chain,) = ans.chains
        assert chain[0]["symbol"] == e.name and chain[0]["edge"] is None
        assert chain[-1]["symbol"] in roots
        assert len(chain) - 1 == dist[g.index[e.name]]      # shortest
        for prev, step in zip(chain, chain[1:]):
            referrer = report.live_entity(step["symbol"])
            assert referrer is not None
            assert (prev["symbol"], step["edge"]) in referrer.refs


def test_all_chains_are_distinct_simple_and_sorted(prog: Path) -> None:
    report = Report.load("prog.json")
    g = live_graph(report)
    for e in report.live:
        found = chains(g, g.index[e.name], limit=10)
        paths = [tuple(v for v, _k in c) for c in found]
        assert len(set(paths)) == len(paths)
        assert all(len(set(p)) == len(p) for p in paths)
        assert [len(p) for p in paths] == sorted(len(p) for p in paths)
        for c in found:
            for (v, _), (w, kind) in zip(c, c[1:]):
                assert (v, kind) in g.succ[w]


def test_reason_chains_match_discovery(prog: Path) -> None:
    """The chain `why` prints is as short as the one discovery recorded."""
    report = Report.load("prog.json")
    for e in report.live:
        steps, cur = 0, e
        while cur.parent is not None:
            nxt = report.live_entity(cur.parent)
            assert nxt is not None and (cur.name, cur.reason) in nxt.refs
            cur, steps = nxt, steps + 1
        assert len(why(report, e.name).chains[0]) - 1 <= steps


def test_dead_unloaded_and_unknown(prog: Path) -> None:
    report = Report.load("prog.json")
    free = why(report, "free")
    assert free.status == WhyStatus.DEAD
    assert free.text == ["free (func in libmini.a(mem.o)) is not live; referenced only by "
                         "dead dead_util (util.o)"]
    assert why(report, "never_called").text == [
        "never_called (func in app.o) is not live; not referenced by anything"]
    fancy = why(report, "fancy")
    assert fancy.status == WhyStatus.UNLOADED and fancy.members == ["libmini.a(extra.o)"]
    unknown = why(report, "nope")
    assert (unknown.status, unknown.text) == (WhyStatus.UNKNOWN, ["no such symbol: nope"])
