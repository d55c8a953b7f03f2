"""Golden outputs of `irld link --report/--map` and of every report command.

Refresh with `IRLD_REGEN_GOLDEN=1 pytest tests/report`.  Timings and peak
memory vary from run to run and are left out of the JSON golden; paths are
relative to the program directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Capsys, check_golden, run

COMMANDS = {
    "why_malloc.txt": ["why", "malloc", "prog.json"],
    "why_all_counter.txt": ["why", "counter", "prog.json", "--all", "--max", "3"],
    "why_panic_pool.txt": ["why", "__irld_panic_messages", "prog.json"],
    "why_dead.txt": ["why", "never_called", "prog.json"],
    "why_dead_unreferenced.txt": ["why", "strcmp", "prog.json"],
    "why_unloaded.txt": ["why", "fancy", "prog.json"],
    "why_malloc.json": ["why", "malloc", "prog.json", "--format", "json"],
    "why_malloc.csv": ["why", "malloc", "prog.json", "--format", "csv"],
    "top.txt": ["top", "prog.json", "-n", "10"],
    "top_by_input.txt": ["top", "prog.json", "--by-input"],
    "top.csv": ["top", "prog.json", "-n", "0", "--format", "csv"],
    "top.json": ["top", "prog.json", "-n", "5", "--format", "json"],
    "garbage.txt": ["garbage", "prog.json", "-n", "0"],
    "garbage.csv": ["garbage", "prog.json", "-n", "0", "--format", "csv"],
    "dominators.txt": ["dominators", "prog.json"],
    "dominators_depth1.txt": ["dominators", "prog.json", "--depth", "1"],
    "dominators.csv": ["dominators", "prog.json", "--format", "csv"],
    "diff.txt": ["diff", "prog.json", "more.json"],
    "diff.json": ["diff", "prog.json", "more.json", "--format", "json"],
    "graph.dot": ["graph", "prog.json"],
    "graph_strdup.dot": ["graph", "strdup", "prog.json", "--depth", "1"],
    "graph_strdup.json": ["graph", "strdup", "prog.json", "--depth", "1", "--format", "json"],
    "graph.csv": ["graph", "prog.json", "--format", "csv"],
}


@pytest.mark.parametrize("golden", sorted(COMMANDS))
def test_command_golden(golden: str, prog: Path, capsys: Capsys) -> None:
    code, out, err = run(COMMANDS[golden], capsys)
    assert (code, err) == (0, "")
    check_golden(golden, out)


def test_map_golden(prog: Path) -> None:
    check_golden("prog.map", (prog / "prog.map").read_text())


def test_report_json_golden(prog: Path) -> None:
    data = json.loads((prog / "prog.json").read_text())
    assert data["schema"] == "irld-report/1"
    timings = data.pop("timings")
    assert [t["phase"] for t in timings][-1] == "report"
    assert all(t["seconds"] >= 0 and t["peak_rss_kb"] >= 0 for t in timings)
    check_golden("prog.report.json", json.dumps(data, indent=1) + "\n")


def test_commands_link_inputs_directly(prog: Path, capsys: Capsys) -> None:
    """Given .o/.a inputs, a command links in memory: the same answers as the report."""
    from_report = run(["dominators", "prog.json"], capsys)
    direct = run(["dominators", "app.o", "util.o", "libmini.a"], capsys)
    assert direct == from_report
    code, out, _ = run(["why", "fancy", "app.o", "util.o", "libmini.a", "--root", "fancy"],
                       capsys)
    assert code == 0
    assert out.splitlines() == ["fancy (libmini.a(extra.o))", "  root: root fancy (--root)"]
