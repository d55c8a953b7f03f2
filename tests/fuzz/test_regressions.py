"""Replay every minimised program in tests/fuzz/regressions/ through the differential harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import REGRESSIONS, Checker, load_regression

CASES = sorted(d for d in REGRESSIONS.iterdir() if d.is_dir()) if REGRESSIONS.is_dir() else []


@pytest.mark.parametrize("case", CASES, ids=[d.name for d in CASES])
def test_regression_agrees(checker: Checker, case: Path) -> None:
    modules, archived = load_regression(case)
    verdict = checker.check(modules, archived)
    assert verdict.ok, f"{case.name} ({(case / 'NOTE').read_text().strip()}):\n" + \
        "\n".join(verdict.problems)


def test_minimiser_shrinks_while_the_predicate_holds(tmp_path: Path) -> None:
    """Delta debugging on a generated program, with a stand-in for "still disagrees":
    it still links and still stores a byte."""
    from harness import compile_all, link_all
    from linker.codegen import TailCallMode
    from progen import generate
    p = generate(7)

    def still_fails(mods: dict[str, str]) -> bool:
        link_all(compile_all(mods), p.archived, tmp_path, TailCallMode.NATIVE)
        return any("i32.store8(" in t or "i64.store8(" in t
                   for n, t in mods.items() if n != "fz.rt")

    assert still_fails(p.modules)
    from harness import minimise
    small = minimise(p.modules, p.archived, still_fails, budget=150)
    assert still_fails(small)
    assert sum(map(len, small.values())) < sum(map(len, p.modules.values())) * 0.8
