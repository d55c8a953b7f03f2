"""Session-scoped fixtures of the end-to-end tests (helpers live in e2e_util.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import linker
from e2e_util import ROOT, E2E


@pytest.fixture(scope="session")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> E2E:
    return E2E(tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="session")
def stdlib_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive of stdlib/*.ir."""
    from linker.cli.ar_cmd import create
    root = tmp_path_factory.mktemp("stdlib")
    objs = linker.compile_files(sorted((ROOT / "stdlib").glob("*.ir")), root)
    out = root / "libstd.a"
    create(str(out), objs)
    return out
