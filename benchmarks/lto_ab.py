"""A/B the link time of the 100,000-function program between two trees.

    .venv/bin/python benchmarks/lto_ab.py --base /work/main [--repeat 3] [--program m1000]

Each link runs in a fresh process (`benchmarks/lto.py`'s MEASURE script, this
venv's Python, the tree under test first on PYTHONPATH), in the order
base --lto, new --lto, new without LTO, repeated and so alternated; printed:
the median wall time, CPU time (user + system: less sensitive than wall time
to the other processes of a shared machine), peak RSS, the phase times and
the LTO pass times of each, the LTO links' ratio to the link without LTO, and whether the two trees'
`--lto` outputs are byte-identical.  The program is the one `benchmarks/lto.py`
links (`benchmarks/gen.py`, built once into build/bench/scale/; `--program
m200` for a 20,000-function one).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import launch  # noqa: E402
from lto import MEASURE  # noqa: E402

# The measuring script, with the process's CPU time added to what it prints.
SCRIPT = MEASURE.replace('"peak_rss_mb"', '"cpu_s": ru.ru_utime + ru.ru_stime, "passes": '
                         '[[p.name, p.seconds] for p in (res.lto.passes if res.lto else ())], '
                         '"peak_rss_mb"')
OUT = ROOT / "build" / "bench" / "lto_ab"


def program(modules: int) -> list[str]:
    import gen
    import run as scale
    p = gen.Params(modules=modules, funcs=100, live=0.2, seed=1)
    scale.build(p)
    d = scale.CACHE / p.key()
    return [str(d / "main.o"), str(d / "lib.a")]


def fresh(tree: Path, inputs: list[str], output: Path, lto: bool) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = launch.fresh([sys.executable, "-c", SCRIPT, json.dumps(
        {"inputs": inputs, "output": str(output), "lto": lto})], check=True,
        capture_output=True, text=True, cwd=tree, env=env)
    r: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return r


def summary(name: str, rs: list[dict[str, Any]]) -> dict[str, float]:
    med = {k: statistics.median(r[k] for r in rs) for k in ("link_s", "cpu_s", "peak_rss_mb")}
    phases = {k: statistics.median(r["phases"][k] for r in rs) for k in rs[0]["phases"]}
    top = ", ".join(f"{k} {v:.2f}" for k, v in phases.items() if v >= 0.05)
    print(f"{name:<14} wall {med['link_s']:6.2f} s  cpu {med['cpu_s']:6.2f} s  "
          f"RSS {med['peak_rss_mb']:4.0f} MB  ({top})")
    walls = ", ".join(f"{r['link_s']:.2f}" for r in rs)
    print(f"{'':<14} each wall {walls}")
    if rs[0]["passes"]:
        passes = [statistics.median(r["passes"][i][1] for r in rs)
                  for i in range(len(rs[0]["passes"]))]
        print(f"{'':<14} passes " + ", ".join(
            f"{name} {t:.2f}" for (name, _), t in zip(rs[0]["passes"], passes)))
    return med


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, required=True, help="the other tree (e.g. /work/main)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--program", default="m1000", choices=["m1000", "m200"])
    args = ap.parse_args(argv)
    inputs = program(int(args.program[1:]))
    OUT.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict[str, Any]]] = {"base --lto": [], "new --lto": [], "new no LTO": []}
    for _ in range(args.repeat):
        runs["base --lto"].append(fresh(args.base, inputs, OUT / "base.wasm", True))
        runs["new --lto"].append(fresh(ROOT, inputs, OUT / "new.wasm", True))
        runs["new no LTO"].append(fresh(ROOT, inputs, OUT / "plain.wasm", False))
    print(f"{args.program}: fresh process per link, median of {args.repeat}, alternated")
    med = {name: summary(name, rs) for name, rs in runs.items()}
    plain = med["new no LTO"]
    for name in ("base --lto", "new --lto"):
        print(f"{name}: {med[name]['link_s'] / plain['link_s']:.1f}x the wall time, "
              f"{med[name]['cpu_s'] / plain['cpu_s']:.1f}x the CPU time of the link without LTO")
    same = (OUT / "base.wasm").read_bytes() == (OUT / "new.wasm").read_bytes()
    print(f"--lto outputs byte-identical: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
