"""The HTML report (`irld report --html`, `irld link --report-html`) in headless Chromium.

The page is opened from `file://` as a user opens it; every answer it shows
is compared with the report's data computed in Python and with the text
commands (`irld why`, `irld diff`).  Any console error or page error fails
the test.  One browser serves the whole module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linker.cli.main import main
from linker.report import Report
from linker.report.analyses import why
from linker.report.graph import dominator_tree, live_graph
from tests.browser import browser

from .conftest import Capsys, cwd, run
from .program import INPUTS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser() as b:
        yield b


@pytest.fixture(scope="module")
def pages(program_dir: Path) -> Path:
    """prog.html (from the report), link.html (from the link), diff.html (prog -> more)."""
    with cwd(program_dir):
        assert main(["report", "--html", "prog.json", "-o", "prog.html"]) == 0
        assert main(["report", "--html", "prog.json", "more.json", "-o", "diff.html"]) == 0
        assert main(["link", *INPUTS, "-o", "prog.wasm", "--report-html", "link.html"]) == 0
    return program_dir


class Page:
    """A page opened from file://, collecting console errors and page errors."""

    def __init__(self, chromium: Any, path: Path, hash_: str = "") -> None:
        self.errors: list[str] = []
        self.page = chromium.new_page(viewport={"width": 1280, "height": 800})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.resolve().as_uri() + hash_)
        self.page.wait_for_function("window.irld && window.irld.ready", timeout=20000)

    def close(self) -> None:
        self.page.close()
        assert self.errors == [], self.errors


@pytest.fixture
def open_page(chromium: Any) -> Iterator[Any]:
    opened: list[Page] = []

    def open_(path: Path, hash_: str = "") -> Any:
        p = Page(chromium, path, hash_)
        opened.append(p)
        return p.page

    yield open_
    for p in opened:
        p.close()


def drawn(page: Any) -> list[str]:
    return list(page.eval_on_selector_all(".e", "es => es.map(e => e.dataset.name)"))


def above(report: Report, sizes: dict[str, int], aggregate: int) -> set[str]:
    """Entities a view of the whole program draws alone: at least 1/aggregate of it."""
    total = sum(sizes.values())
    return {n for n, b in sizes.items() if b > 0 and b >= total / aggregate}


# ---------------------------------------------------------------- the file


def test_page_is_self_contained(pages: Path) -> None:
    text = (pages / "prog.html").read_text()
    assert "<script src" not in text and "<link " not in text
    assert "http://" not in text and "https://" not in text
    assert "default-src 'none'" in text          # the page may load nothing at all


def test_link_writes_the_same_page_as_the_report_command(pages: Path) -> None:
    assert (pages / "link.html").read_bytes() == (pages / "prog.html").read_bytes()


def test_page_is_deterministic_across_hash_seeds(pages: Path, tmp_path: Path) -> None:
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"p{seed}.html"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "linker.cli.main", "report", "--html",
                        "prog.json", "-o", str(out)], cwd=pages, env=env, check=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == (pages / "prog.html").read_bytes()


def test_bad_report_and_usage(prog: Path, capsys: Capsys) -> None:
    code, _out, err = run(["report", "--html", "missing.json", "-o", "x.html"], capsys)
    assert code == 1 and "missing.json" in err and "Traceback" not in err
    assert not (prog / "x.html").exists()
    with pytest.raises(SystemExit) as exc:
        main(["report", "prog.json", "-o", "x.html"])      # --html is required
    assert exc.value.code == 2


# ---------------------------------------------------------------- the treemap


def test_treemap_draws_one_rectangle_per_entity_above_the_threshold(
        pages: Path, open_page: Any) -> None:
    report = Report.load(str(pages / "prog.json"))
    sizes = {e.name: e.bytes for e in report.live}
    page = open_page(pages / "prog.html")
    names = drawn(page)
    assert len(names) == len(set(names))
    assert set(names) == above(report, sizes, 8000)
    assert page.evaluate("irld.threshold") == pytest.approx(sum(sizes.values()) / 8000)


def test_small_entities_are_aggregated(pages: Path, open_page: Any) -> None:
    report = Report.load(str(pages / "prog.json"))
    sizes = {e.name: e.bytes for e in report.live}
    expected = above(report, sizes, 12)
    page = open_page(pages / "prog.html", "#aggregate=12")
    assert set(drawn(page)) == expected
    assert 0 < len(expected) < sum(1 for b in sizes.values() if b > 0)
    rest = page.eval_on_selector_all(".x", "xs => xs.map(x => x.dataset.tip)")
    hidden = sum(1 for b in sizes.values() if b > 0) - len(expected)
    assert sum(int(t.split()[0]) for t in rest) == hidden


def test_retained_treemap_is_the_dominator_tree(pages: Path, open_page: Any) -> None:
    report = Report.load(str(pages / "prog.json"))
    g = live_graph(report)
    tree = dominator_tree(g)
    total = tree.retained[tree.meta]
    kids = tree.children()
    page = open_page(pages / "prog.html")
    page.click("#modes button[data-area=retained]")
    assert page.evaluate("irld.threshold") == pytest.approx(total / 8000)
    # Every entity with bytes is drawn once, inside the group of its immediate dominator.
    assert set(drawn(page)) == {n for n, b in zip(g.names, g.sizes) if b > 0}
    for v, d in enumerate(tree.idom[:-1]):
        if d == tree.meta or g.sizes[v] == 0:
            continue
        inside = page.locator(f".g[data-key='d{d}'] .e[data-name='{g.names[v]}']")
        assert inside.count() == 1, (g.names[v], g.names[d])
    # The top-level groups are the meta-root's children that dominate something.
    heads = set(page.eval_on_selector_all("#map > .g > .h", "hs => hs.map(h => h.title)"))
    assert heads == {g.names[v] for v in kids[tree.meta]
                     if any(tree.retained[c] > 0 for c in kids[v])}


def test_click_zooms_and_breadcrumb_zooms_out(pages: Path, open_page: Any) -> None:
    page = open_page(pages / "prog.html")
    page.click("#map .g[data-key='alibmini.a'] > .h")
    crumbs = page.text_content("#crumbs")
    assert "libmini.a" in crumbs
    report = Report.load(str(pages / "prog.json"))
    in_lib = {e.name for e in report.live if e.input.startswith("libmini.a(") and e.bytes > 0}
    assert set(drawn(page)) == in_lib
    page.click("#crumbs a")
    assert len(drawn(page)) > len(in_lib)


# ---------------------------------------------------------------- why and search


def deepest(report: Report) -> str:
    g = live_graph(report)
    return max((e for e in report.live if e.bytes > 0),
               key=lambda e: (len(why(report, e.name, graph=g).chains[0]), e.name)).name


def search_and_pick(page: Any, symbol: str, status: str) -> None:
    page.fill("#q", symbol)
    row = f"#results .r[data-name='{symbol}'][data-status={status}]"
    page.wait_for_selector(row)
    page.click(row)


def test_search_and_click_shows_the_why_chain(pages: Path, open_page: Any,
                                              capsys: Capsys) -> None:
    report = Report.load(str(pages / "prog.json"))
    symbol = deepest(report)
    with cwd(pages):
        code, out, _err = run(["why", symbol, "prog.json", "--format", "json"], capsys)
    assert code == 0
    chain = [r["symbol"] for r in json.loads(out)["rows"]]
    assert len(chain) >= 3
    page = open_page(pages / "prog.html")
    search_and_pick(page, symbol, "live")
    assert page.text_content("#sel-name") == symbol
    shown = page.eval_on_selector_all("#why-chain li[data-sym]", "ls => ls.map(l => l.dataset.sym)")
    assert shown == chain
    assert page.locator(f".e.sel[data-name='{symbol}']").count() == 1


def test_dead_symbol_says_why_it_is_dead(pages: Path, open_page: Any, capsys: Capsys) -> None:
    report = Report.load(str(pages / "prog.json"))
    page = open_page(pages / "prog.html")
    seen = set()
    for e in report.dead:
        if e.name in seen or len(report.dead_named(e.name)) != 1:
            continue
        seen.add(e.name)
        with cwd(pages):
            _code, out, _err = run(["why", e.name, "prog.json", "--format", "json"], capsys)
        answer = json.loads(out)
        search_and_pick(page, e.name, "dead")
        text = page.text_content("#why-dead")
        referrers = page.eval_on_selector_all("#why-dead a.sym", "as => as.map(a => a.textContent)")
        expected = sorted({r.rsplit(" (", 1)[0] for r in answer["referenced_by"]})
        assert sorted(referrers) == expected
        assert ("not referenced by anything" in text) == (not expected)
    assert seen


def test_unloaded_member_symbol(pages: Path, open_page: Any) -> None:
    report = Report.load(str(pages / "prog.json"))
    m = report.unloaded[0]
    page = open_page(pages / "prog.html")
    search_and_pick(page, m.symbols[0], "unloaded")
    assert m.label in page.text_content("#why-dead")


def test_dominator_subtree_is_what_would_go(pages: Path, open_page: Any) -> None:
    report = Report.load(str(pages / "prog.json"))
    g = live_graph(report)
    tree = dominator_tree(g)
    kids = tree.children()
    v = max(range(len(g.names)), key=lambda i: (len(kids[i]), g.names[i]))
    page = open_page(pages / "prog.html")
    page.evaluate(f"irld.select({json.dumps(g.names[v])})")
    text = page.text_content("#panel")
    assert f"{tree.retained[v]:,}" in text
    dominated = page.eval_on_selector_all(
        "#panel .card:nth-child(3) table a.sym", "as => as.map(a => a.textContent)")
    assert sorted(dominated) == sorted(g.names[c] for c in kids[v])


# ---------------------------------------------------------------- diff

_CHANGES = {"added": "appeared", "removed": "disappeared", "grown": "grew", "shrunk": "shrank"}


def test_diff_lists_the_changed_entities(pages: Path, open_page: Any, capsys: Capsys) -> None:
    with cwd(pages):
        code, out, _err = run(["diff", "prog.json", "more.json", "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)["rows"]
    assert rows
    page = open_page(pages / "diff.html")
    listed = page.eval_on_selector_all(
        "tr.chg", "rs => rs.map(r => [r.dataset.name, r.dataset.change])")
    assert [tuple(x) for x in listed] == [(r["name"], _CHANGES[r["change"]]) for r in rows]
    # The treemap colours each changed entity by its change and draws the disappeared too.
    for name, change in listed:
        rect = page.locator(f".e[data-name='{name}']")
        if rect.count():
            assert (change == "disappeared") == ("gone" in (rect.get_attribute("class") or ""))


# ---------------------------------------------------------------- FFI

FFI_PROGRAM = """
module ffiuse
extern func ffi_call(i32, i32, i32, i32)
extern func ffi_closure_alloc(i32, i32, i32) -> i32
csig cmp = sint32(pointer, pointer)
csig mix = double(sint32, double, float)
data av align 4 = { zero 16 }
data rv align 8 = { zero 16 }

func handler(sg: i32, ret: i32, args: i32, ud: i32) {
entry:
  return
}

func sorter() {
entry:
  call ffi_call(sig cmp, 0, @rv, @av)
  return
}

func main() -> i32 {
  local c: i32
entry:
  call sorter()
  call ffi_call(sig mix, 0, @rv, @av)
  c = call ffi_closure_alloc(sig cmp, @handler, 0)
  return 0
}
"""


def test_ffi_panel_lists_live_signatures_and_the_saving(tmp_path: Path, open_page: Any) -> None:
    (tmp_path / "ffiuse.ir").write_text(FFI_PROGRAM)
    with cwd(tmp_path):
        assert main(["compile", "ffiuse.ir", "-o", "ffiuse.o"]) == 0
        assert main(["link", "ffiuse.o", "-o", "f.wasm", "--report", "f.json"]) == 0
        assert main(["link", "ffiuse.o", "-o", "x.wasm", "--report", "x.json",
                     "--ffi=exhaustive:4"]) == 0
        assert main(["report", "--html", "f.json", "--ffi-baseline", "x.json",
                     "-o", "f.html"]) == 0
    report, base = Report.load(str(tmp_path / "f.json")), Report.load(str(tmp_path / "x.json"))
    page = open_page(tmp_path / "f.html")
    page.click(".tabs button[data-tab=FFI]")
    rows = page.eval_on_selector_all(
        "tr[data-sig]", "rs => rs.map(r => [r.dataset.sig, [...r.querySelectorAll('a.sym')]"
        ".map(a => a.textContent)])")
    assert [r[0] for r in rows] == [str(f["signature"]) for f in report.ffi]
    assert [sorted(r[1]) for r in rows] == [sorted(f["users"]) for f in report.ffi]
    assert {u for r in rows for u in r[1]} == {"sorter", "main"}
    saving = int(base.ffi_totals["total_bytes"]) - int(report.ffi_totals["total_bytes"])
    assert saving > 0
    assert f"{saving:,} FFI bytes" in page.text_content("#ffi-saving")


# ---------------------------------------------------------------- C and wasi-libc

C_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
  int xs[] = {5, 3, 9, 1};
  qsort(xs, 4, sizeof xs[0], cmp);
  printf("%d %d\n", xs[0], xs[3]);
  return 0;
}
"""
SYSROOT = Path("/usr/lib/wasm32-wasi")


def test_c_program_with_libc_members(tmp_path: Path, open_page: Any) -> None:
    clang = shutil.which("clang")
    if clang is None or not (SYSROOT / "libc.a").exists():
        pytest.skip("clang and wasi-libc are needed")
    (tmp_path / "h.c").write_text(C_PROGRAM)
    subprocess.run([clang, "--target=wasm32-wasi", "--sysroot=/usr", "-O1", "-c", "h.c"],
                   cwd=tmp_path, check=True)
    with cwd(tmp_path):
        assert main(["link", str(SYSROOT / "crt1-command.o"), "h.o", str(SYSROOT / "libc.a"),
                     "--entry", "_start", "-o", "h.wasm", "--report", "h.json",
                     "--report-html", "h.html"]) == 0
    report = Report.load(str(tmp_path / "h.json"))
    printf = report.live_entity("printf")
    assert printf is not None and printf.input == f"{SYSROOT}/libc.a(printf.o)"
    page = open_page(tmp_path / "h.html")
    # libc.a groups its members; each member groups its entities; C is coloured as C.
    member = page.locator(f".g[data-key='a{SYSROOT}/libc.a'] .g[data-key='i{printf.input}'] "
                          ".e[data-name=printf]")
    assert member.count() == 1
    classes = page.evaluate("""() => { const d = JSON.parse(
        document.getElementById('irld-data').textContent);
        return d.live.n.map((n, v) => [n, d.classes[d.live.c[v]]]); }""")
    for (name, cls), e in zip(classes, report.live):
        assert name == e.name
        if e.input.startswith(str(SYSROOT)) and e.bytes > 0:
            assert cls in ("C code", "C data"), (name, cls)
    member.click()
    assert page.text_content("#sel-name") == "printf"
    assert "C code" in page.text_content("#panel")


def test_diff_filters_by_change(pages: Path, open_page: Any, capsys: Capsys) -> None:
    with cwd(pages):
        _code, out, _err = run(["diff", "prog.json", "more.json", "--format", "json"], capsys)
    appeared = [r["name"] for r in json.loads(out)["rows"] if r["change"] == "added"]
    page = open_page(pages / "diff.html")
    page.click(".tabs button[data-change=appeared]")
    listed = page.eval_on_selector_all("tr.chg", "rs => rs.map(r => r.dataset.name)")
    assert listed == appeared
    page.click(".tabs button[data-change=shrank]")
    assert page.locator("tr.chg").count() == 0


def test_layout_tiles_the_view_in_proportion(pages: Path, open_page: Any) -> None:
    """The top level of the treemap covers the view exactly, without overlaps, each
    rectangle's area in proportion to its bytes (the squarified layout)."""
    page = open_page(pages / "prog.html", "#aggregate=12")
    for area in ("own", "retained"):
        page.evaluate(f"irld.setArea('{area}')")
        w, h = page.evaluate("(m => [m.clientWidth, m.clientHeight])(document.getElementById('map'))")
        rects = page.eval_on_selector_all(
            "#map > .g, #map > .e, #map > .x",
            "es => es.map(e => [e.offsetLeft, e.offsetTop, e.offsetWidth, e.offsetHeight,"
            " +e.dataset.size])")
        total = sum(r[4] for r in rects)
        assert len(rects) >= 2
        assert sum(r[2] * r[3] for r in rects) == pytest.approx(w * h, rel=0.02)
        for x, y, rw, rh, size in rects:
            assert rw * rh == pytest.approx(w * h * size / total, rel=0.05, abs=40)
            assert 0 <= x and x + rw <= w + 1 and 0 <= y and y + rh <= h + 1
        for i, a in enumerate(rects):
            for b in rects[i + 1:]:
                overlap_x = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
                overlap_y = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
                assert overlap_x <= 1 or overlap_y <= 1


def test_diff_shows_why_a_change_is_live(pages: Path, open_page: Any, capsys: Capsys) -> None:
    with cwd(pages):
        _code, out, _err = run(["diff", "prog.json", "more.json", "--format", "json"], capsys)
        row = json.loads(out)["rows"][0]
        report = "more.json" if row["change"] != "removed" else "prog.json"
        _code, out, _err = run(["why", row["name"], report, "--format", "json"], capsys)
    chain = [r["symbol"] for r in json.loads(out)["rows"]]
    page = open_page(pages / "diff.html")
    page.click(f"tr.chg[data-name='{row['name']}'] a.sym")
    assert page.text_content("#sel-name") == row["name"]
    shown = page.eval_on_selector_all("#why-chain li[data-sym]", "ls => ls.map(l => l.dataset.sym)")
    assert shown == chain


def test_unwritable_page_fails_the_link_and_leaves_nothing(prog: Path, capsys: Capsys) -> None:
    code, _out, err = run(["link", *INPUTS, "-o", "gone.wasm", "--report-html",
                           "no/such/dir/p.html"], capsys)
    assert code == 1 and "no/such/dir/p.html" in err and "Traceback" not in err
    assert not (prog / "gone.wasm").exists()
