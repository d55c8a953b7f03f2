"""Fixtures of the fuzz tests: the harness modules on sys.path, one Checker per worker."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Checker  # noqa: E402


@pytest.fixture(scope="session")
def checker() -> Iterator[Checker]:
    c = Checker()
    yield c
    c.close()
