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
