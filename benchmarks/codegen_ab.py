"""Code generation alone, A/B: this checkout's `linker/codegen.py` against another one.

    .venv/bin/python benchmarks/codegen_ab.py --baseline OLD/linker/codegen.py [--mb 2] [--rounds 5]

Generates the IR of `compile_throughput.py` (`genir.py`, seed 1), parses it
once, then runs `compile_function` on every function with each codegen
module, alternated A B A B for --rounds rounds in one process (the machine is
shared and noisy; the best round of each is kept), and prints seconds and the
total body bytes of each.  The baseline file is loaded as a module of its own
(`git show REV:linker/codegen.py > /tmp/old_codegen.py` gives one); the rest
of `linker` is this checkout's.  Object mode (relocation sites), as `irld
compile` generates code.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.genir import generate_text  # noqa: E402
import linker.codegen  # noqa: E402
from linker.ir import model as ir  # noqa: E402
from linker.ir.parser import parse_module  # noqa: E402
from linker.ir.types import FuncType, ValType  # noqa: E402


class _Types:
    """The resolver of object mode: types only (`linker.object_assembly`)."""

    def __init__(self, m: ir.Module) -> None:
        self.funcs: dict[str, FuncType] = {}
        self.globals: dict[str, ValType] = {}
        for item in m.items:
            if isinstance(item, ir.Func):
                self.funcs[item.name] = FuncType(tuple(p.type for p in item.params), item.result)
            elif isinstance(item, ir.ExternFunc):
                self.funcs[item.name] = item.type
            elif isinstance(item, (ir.Global, ir.ExternGlobal)):
                self.globals[item.name] = item.type

    @property
    def func_types(self) -> Mapping[str, FuncType]:
        return self.funcs

    @property
    def global_types(self) -> Mapping[str, ValType]:
        return self.globals

    def func_index(self, symbol: str) -> int:
        raise AssertionError("object mode")

    def symref(self, symbol: str, offset: int) -> int:
        raise AssertionError("object mode")

    def global_index(self, symbol: str) -> int:
        raise AssertionError("object mode")

    def type_index(self, ft: FuncType) -> int:
        raise AssertionError("object mode")

    def panic_call(self, function: str, message: str) -> tuple[int, int, int, int, int]:
        raise AssertionError("object mode")


def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("baseline_codegen", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["baseline_codegen"] = mod
    spec.loader.exec_module(mod)
    return mod


def one_round(cg: Any, m: ir.Module, funcs: list[ir.Func]) -> tuple[float, int]:
    res = _Types(m)
    fn_names = frozenset(res.funcs)
    size = 0
    t = time.perf_counter()
    for f in funcs:
        sites = cg.Sites(fn_names, {}, lambda text: "__str")
        rows: list[Any] = []
        _, body = cg.compile_function(f, cg.FuncContext(res, {}, sites=sites, lines=rows))
        size += len(body)
    return time.perf_counter() - t, size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", required=True, metavar="CODEGEN.py")
    ap.add_argument("--mb", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    text = generate_text(1, int(args.mb * 1_000_000))
    m = parse_module(text, "gen.ir")
    funcs = [i for i in m.items if isinstance(i, ir.Func)]
    old = load(args.baseline)
    best = {"baseline": (float("inf"), 0), "this": (float("inf"), 0)}
    for _ in range(args.rounds):
        for name, cg in (("baseline", old), ("this", linker.codegen)):
            t, size = one_round(cg, m, funcs)
            if t < best[name][0]:
                best[name] = (t, size)
    print(f"{len(funcs):,} functions, {len(text):,} bytes of IR text, best of {args.rounds} "
          "rounds alternated")
    for name, (t, size) in best.items():
        print(f"{name:<9} {t:7.3f} s  {len(funcs) / t:8,.0f} funcs/s  {size:>10,} body bytes")
    ratio = best["this"][0] / best["baseline"][0]
    print(f"time this/baseline: {ratio:.3f}; bytes: "
          f"{best['this'][1] / best['baseline'][1]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
