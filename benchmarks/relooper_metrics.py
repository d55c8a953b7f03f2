"""Code-size and speed figures of the relooper against the naive dispatcher.

Over the fuzz corpus (``fuzz_relooper.make_case``, fixed seed), for
``relooper.structure`` and ``relooper.structure_naive`` (Asterius's one loop
around one ``br_table``):

* control bytes: the tree's block/loop/if/else/end/br/br_if/br_table and
  dispatch-variable instructions encoded as wasm (LEB128 immediates), each
  payload counted as one byte (``relooper.testing.control_bytes``);
* dispatch-variable writes (static count; 0 on every reducible graph);
* maximum nesting depth of constructs;
* structuring time per 1,000 blocks (process CPU time, so that other
  load on the machine does not inflate it).

Prints a Markdown table (the numbers recorded in docs/benchmarks.md).

    python benchmarks/relooper_metrics.py [--seed 1] [--count 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from fuzz_relooper import make_case  # noqa: E402

from relooper import CFG, Node, max_nesting, structure, structure_naive  # noqa: E402
from relooper.testing import (  # noqa: E402
    Spec,
    control_bytes,
    count_dispatch_writes,
    is_reducible,
    spec_to_cfg,
)

Structurer = Callable[[CFG], list[Node]]


class Totals:
    def __init__(self) -> None:
        self.graphs = 0
        self.blocks = 0
        self.bytes = 0
        self.writes = 0
        self.nesting = 0
        self.seconds = 0.0

    def add(self, spec: Spec, structurer: Structurer) -> None:
        cfg = spec_to_cfg(spec)
        began = time.process_time()
        tree = structurer(cfg)
        self.seconds += time.process_time() - began
        self.graphs += 1
        self.blocks += len(spec)
        self.bytes += control_bytes(tree)
        self.writes += count_dispatch_writes(tree)
        self.nesting = max(self.nesting, max_nesting(tree))

    def ms_per_1000_blocks(self) -> float:
        return 1000 * 1000 * self.seconds / max(self.blocks, 1)


def measure(seed: int, count: int) -> dict[tuple[str, str], Totals]:
    totals = {(kind, name): Totals() for kind in ("reducible", "irreducible", "all") for name in ("relooper", "naive")}
    for index in range(count):
        spec = make_case(seed, index)["spec"]
        kind = "reducible" if is_reducible(spec) else "irreducible"
        for name, structurer in (("relooper", structure), ("naive", structure_naive)):
            totals[kind, name].add(spec, structurer)
            totals["all", name].add(spec, structurer)
    return totals


def deep_timings() -> list[str]:
    chain: Spec = [["jump", b + 1] for b in range(9_999)] + [["exit"]]
    depth = 5000
    loops: Spec = [["jump", k + 1] for k in range(depth)]
    loops += [["branch", k, 2 * depth - k] for k in range(depth - 1, -1, -1)] + [["exit"]]
    lines = []
    for name, spec in (("10,000-block chain", chain), ("5,000 nested loops (10,001 blocks)", loops)):
        cfg = spec_to_cfg(spec)
        began = time.process_time()
        structure(cfg)
        lines.append(f"- {name}: {1000 * (time.process_time() - began):.0f} ms")
    return lines


def report(seed: int, count: int, totals: dict[tuple[str, str], Totals]) -> list[str]:
    lines = [
        f"Corpus: fuzz_relooper seed {seed}, {count} graphs "
        f"({totals['reducible', 'relooper'].graphs} reducible, "
        f"{totals['irreducible', 'relooper'].graphs} irreducible, "
        f"{totals['all', 'relooper'].blocks} blocks). "
        f"Python {platform.python_version()}, {os.cpu_count()} cores.",
        "",
        "| graphs | method | control bytes | naive / relooper | dispatch writes | max nesting | ms per 1,000 blocks |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind in ("reducible", "irreducible", "all"):
        ours = totals[kind, "relooper"]
        naive = totals[kind, "naive"]
        ratio = naive.bytes / max(ours.bytes, 1)
        for name, t in (("relooper", ours), ("naive", naive)):
            shown_ratio = f"{ratio:.2f}" if name == "relooper" else ""
            lines.append(
                f"| {kind} | {name} | {t.bytes:,} | {shown_ratio} | {t.writes:,} | {t.nesting} "
                f"| {t.ms_per_1000_blocks():.1f} |"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args(argv)
    totals = measure(args.seed, args.count)
    print("\n".join(report(args.seed, args.count, totals)))
    print()
    print("\n".join(deep_timings()))
    if totals["reducible", "relooper"].writes:
        print("ERROR: the relooper wrote the dispatch variable on a reducible graph")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
