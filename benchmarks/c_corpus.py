"""The C corpus (tests/c_corpus/) linked by wasm-ld and by irld, side by side.

    .venv/bin/python benchmarks/c_corpus.py [--runs 7] [--programs calc,json] [--json FILE]

For each program: compile once (`tests/c_corpus/corpus.py`, cached under
build/c_corpus/), then link crt1 + the program's objects + its archive +
wasi-libc's libc.a + compiler-rt with

* `wasm-ld ... --strip-debug`                          (wasm-ld),
* `wasm-ld ... --strip-debug --compress-relocations`   (wasm-ld -c),
* `irld link ... --entry _start --strip-debug`         (irld; it compresses by default),

one warm-up each, then `--runs` rounds, each round running the three in
turn (so drift of the shared machine hits all alike), every run a fresh
process timed with `os.wait4` (`benchmarks/c_link.py`'s `measure`; irld's
time includes starting Python; `-v` gives the time of its link phases
alone).  Prints per program the median wall time and the output size of
each, irld's phase time, and irld's ratios; then checks that all outputs of
a program print the same and exit the same under wasmtime.
Exit status 1 if a link fails or the outputs disagree.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "c_corpus"))

from c_link import _irld, measure  # noqa: E402
from corpus import PROGRAMS, build, missing_tools  # noqa: E402

LINKERS = ("wasm-ld", "wasm-ld -c", "irld")
PHASE = re.compile(r"^irld: phase [^:]+: ([0-9.]+) ms$", re.M)


def commands(inputs: list[str], out: Path, wasm_ld: str) -> dict[str, list[str]]:
    return {
        "wasm-ld": [wasm_ld, *inputs, "--strip-debug", "-o", str(out / "wasm-ld.wasm")],
        "wasm-ld -c": [wasm_ld, *inputs, "--strip-debug", "--compress-relocations",
                       "-o", str(out / "wasm-ld-c.wasm")],
        "irld": [_irld(), "link", *inputs, "--entry", "_start", "--strip-debug", "-v",
                 "-o", str(out / "irld.wasm")],
    }


def output_of(cmd: list[str]) -> Path:
    return Path(cmd[cmd.index("-o") + 1])


def bench_program(name: str, runs: int, wasm_ld: str, out: Path) -> dict[str, Any]:
    cmds = commands(build(name).link_inputs(), out, wasm_ld)
    times: dict[str, list[float]] = {k: [] for k in cmds}
    phases: list[float] = []                    # irld's own phases (-v), without start-up
    for k, cmd in cmds.items():                   # warm-up, and the outputs we check
        m = measure(cmd, out / f"{k}.log")
        if m["rc"] != 0:
            raise SystemExit(f"{name}: {k} failed ({m['rc']}):\n{m['log']}")
    for _ in range(runs):
        for k, cmd in cmds.items():
            m = measure(cmd, out / f"{k}.log")
            times[k].append(m["wall_s"])
            if k == "irld":
                phases.append(sum(float(x) for x in PHASE.findall(m["log"])) / 1000)
    res: dict[str, Any] = {k: {"median_s": statistics.median(v), "runs_s": v,
                               "bytes": output_of(cmds[k]).stat().st_size}
                           for k, v in times.items()}
    res["irld"]["phases_median_s"] = statistics.median(phases)
    return res


def same_behaviour(name: str, out: Path) -> bool:
    from linker.host import run
    results = {(r.stdout, r.exit_code) for r in
               (run(str(output_of(c)), [name], capture=True, timeout=60)
                for c in commands([], out, "wasm-ld").values())}
    return len(results) == 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--programs", default=",".join(PROGRAMS))
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    wasm_ld = shutil.which("wasm-ld")
    missing = missing_tools() or (None if wasm_ld else "wasm-ld is needed")
    if missing is not None or wasm_ld is None:
        print(f"c_corpus: {missing}", file=sys.stderr)
        return 1
    results: dict[str, Any] = {}
    ok = True
    print(f"{'program':<9} " + "".join(f"{k + ' ms':>13}{k + ' B':>13}" for k in LINKERS)
          + f"{'irld phases ms':>16}{'time ratio':>12}{'size ratio':>12}{'size ratio -c':>15}")
    for name in args.programs.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            res = bench_program(name, args.runs, wasm_ld, Path(tmp))
            same = same_behaviour(name, Path(tmp))
        ok &= same
        results[name] = {**res, "same_output": same}
        row = "".join(f"{res[k]['median_s'] * 1000:>13.0f}{res[k]['bytes']:>13,}"
                      for k in LINKERS)
        irld, ref, refc = res["irld"], res["wasm-ld"], res["wasm-ld -c"]
        print(f"{name:<9} {row}{irld['phases_median_s'] * 1000:>16.0f}"
              f"{irld['median_s'] / ref['median_s']:>12.2f}"
              f"{irld['bytes'] / ref['bytes']:>12.3f}{irld['bytes'] / refc['bytes']:>15.3f}"
              + ("" if same else "   OUTPUTS DIFFER"))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
