"""Benchmark: the HTML report of the 100,000-function program in headless Chromium.

    .venv/bin/python benchmarks/html_report.py [--repeat 5] [--screenshots] [--quick]

Builds the scale benchmark's program once (`benchmarks/run.py`'s cache,
`build/bench/scale/<parameters>/`: 1,000 modules x 100 functions, 20 % live),
links it with `--report` (and, for the FFI saving, with
`--ffi=exhaustive:4 --report`), writes the page with `irld report --html`,
then opens it from `file://` in the distribution's Chromium `--repeat` times,
each in a fresh page, and prints (median, min, max):

* time to interactive: `performance.now()` when the page's script has drawn
  the treemap and the side panel and installed its handlers (`irld.readyAt`,
  measured from the navigation's start: reading the file, parsing the HTML
  and the embedded JSON, building the tree, the layout and the first paint's
  DOM);
* the first painted frame with the treemap (`irld.paintedAt`: a task the
  next animation frame queues, which runs once that frame is painted);
* the time of a search for a symbol plus selecting it (why panel), and of
  switching the treemap to retained sizes (the dominator tree), in the page;
* the page's size and how long `irld report --html` took to write it.

With `--screenshots`, also links the program with `--tail-calls trampoline`
and writes docs/report-treemap.png (the benchmark's page, an entity selected)
docs/report-diff.png (native -> trampoline) and docs/report-libc.png (a
small C program linked with wasi-libc).  Any console error fails the run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gen  # noqa: E402
import run as scale  # noqa: E402

from tests.browser import CHROMIUM_FLAGS, chromium_path  # noqa: E402

IRLD = str(ROOT / ".venv" / "bin" / "irld")
OUT = ROOT / "build" / "bench" / "html"
VIEWPORT = {"width": 1280, "height": 760}


def sh(*argv: str) -> float:
    """Run an irld command from the repository (so its paths, shown in the pages, are short)."""
    start = time.perf_counter()
    subprocess.run([a.replace(f"{ROOT}/", "") for a in argv], check=True, cwd=ROOT)
    return time.perf_counter() - start


def build(quick: bool) -> Path:
    p = gen.Params(modules=50, funcs=40, live=0.2, seed=1, ffi_every=10) if quick else \
        gen.Params(modules=1000, funcs=100, live=0.2, seed=1)
    scale.build(p)
    return scale.CACHE / p.key()


def link(d: Path, name: str, *flags: str) -> Path:
    report = OUT / f"{name}.json"
    if not report.exists():
        sh(IRLD, "link", str(d / "main.o"), str(d / "lib.a"), "-o", str(OUT / f"{name}.wasm"),
           "--report", str(report), *flags)
    return report


class Errors(list[str]):
    def watch(self, page: Any) -> None:
        page.on("console", lambda m: self.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.append(str(e)))


def open_page(browser: Any, path: Path, errors: Errors) -> Any:
    page = browser.new_page(viewport=VIEWPORT)
    errors.watch(page)
    page.goto(path.resolve().as_uri())
    page.wait_for_function("window.irld && window.irld.ready", timeout=60000)
    return page


def deepest_live(page: Any) -> str:
    return str(page.evaluate("""() => { const L = JSON.parse(
        document.getElementById('irld-data').textContent).live;
        let best = 0; for (let v = 0; v < L.n.length; v++)
          if (L.b[v] > 0 && L.dist[v] > L.dist[best]) best = v;
        return L.n[best]; }"""))


def measure(browser: Any, html: Path, repeat: int, errors: Errors) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"ready": [], "painted": [], "select": [], "retained": [],
                                   "drawn": []}
    for _ in range(repeat):
        page = open_page(browser, html, errors)
        page.wait_for_function("irld.paintedAt !== undefined")
        out["ready"].append(page.evaluate("irld.readyAt"))
        out["painted"].append(page.evaluate("irld.paintedAt"))
        out["drawn"].append(page.evaluate("irld.drawn"))
        symbol = deepest_live(page)
        t = page.evaluate("""async (s) => { const t0 = performance.now();
            const q = document.getElementById('q'); q.value = s;
            q.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));
            return performance.now() - t0; }""", symbol)
        assert page.text_content("#sel-name") == symbol
        out["select"].append(t)
        out["retained"].append(page.evaluate("""() => { const t0 = performance.now();
            irld.setArea('retained'); return performance.now() - t0; }"""))
        page.close()
    return out


C_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(void) {
  int xs[] = {5, 3, 9, 1};
  qsort(xs, 4, sizeof xs[0], cmp);
  char *p = malloc(16);
  strcpy(p, "a,b");
  printf("%d %d %s\n", xs[0], xs[3], strchr(p, ','));
  return 0;
}
"""


def libc_page() -> Path:
    """A small C program linked with wasi-libc (`crt1-command.o h.o libc.a`)."""
    sysroot = "/usr/lib/wasm32-wasi"
    (OUT / "h.c").write_text(C_PROGRAM)
    subprocess.run(["clang", "--target=wasm32-wasi", "--sysroot=/usr", "-O1", "-c", "h.c"],
                   cwd=OUT, check=True)
    subprocess.run([IRLD, "link", f"{sysroot}/crt1-command.o", "h.o", f"{sysroot}/libc.a",
                    "--entry", "_start", "-o", "h.wasm", "--report-html", "h.html"],
                   cwd=OUT, check=True)
    return OUT / "h.html"


def screenshots(browser: Any, html: Path, diff: Path, errors: Errors) -> None:
    page = open_page(browser, html, errors)
    symbol = "m250_f1" if "m250_f1" in page.content() else deepest_live(page)
    page.evaluate(f"irld.select({symbol!r})")
    page.screenshot(path=str(ROOT / "docs" / "report-treemap.png"))
    page.close()
    page = open_page(browser, diff, errors)
    page.click(".tabs button[data-change=grew]")
    page.screenshot(path=str(ROOT / "docs" / "report-diff.png"))
    page.close()
    page = open_page(browser, libc_page(), errors)
    page.evaluate("irld.select('printf')")
    page.screenshot(path=str(ROOT / "docs" / "report-libc.png"))
    page.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--screenshots", action="store_true")
    ap.add_argument("--quick", action="store_true", help="a small program (smoke run)")
    args = ap.parse_args(argv)
    d = build(args.quick)
    OUT.mkdir(parents=True, exist_ok=True)
    report = link(d, "native")
    base = link(d, "exhaustive", "--ffi=exhaustive:4")
    html = OUT / "native.html"
    write_s = sh(IRLD, "report", "--html", str(report), "--ffi-baseline", str(base),
                 "-o", str(html))
    from playwright.sync_api import sync_playwright
    errors = Errors()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_FLAGS))
        res = measure(browser, html, args.repeat, errors)
        if args.screenshots:
            tramp = link(d, "trampoline", "--tail-calls", "trampoline")
            diff = OUT / "diff.html"
            sh(IRLD, "report", "--html", str(report), str(tramp), "-o", str(diff))
            screenshots(browser, html, diff, errors)
        browser.close()
    if errors:
        print("page errors:", *errors, sep="\n  ", file=sys.stderr)
        return 1
    print(f"page: {html.stat().st_size:,} bytes (report JSON {report.stat().st_size:,} bytes); "
          f"irld report --html: {write_s:.2f} s")
    print(f"entity rectangles drawn: {int(res['drawn'][0])}")
    for key, label in (("ready", "time to interactive (script done)"),
                       ("painted", "first frame painted"), ("select", "search + select + why"),
                       ("retained", "switch to retained (dominator tree)")):
        v = res[key]
        print(f"{label}: median {statistics.median(v):.0f} ms "
              f"(min {min(v):.0f}, max {max(v):.0f}, n={len(v)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
