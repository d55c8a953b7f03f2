"""Fixtures of the report tests: the fixed program built once per worker, goldens."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from linker.cli.main import main

from .program import INPUTS, build

GOLDEN = Path(__file__).parent / "golden"
Capsys = pytest.CaptureFixture[str]


@contextlib.contextmanager
def cwd(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@pytest.fixture(scope="session")
def program_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """app.o, util.o, libmini.a; and the native link's report, map and wasm."""
    d = tmp_path_factory.mktemp("report_program")
    build(d)
    with cwd(d):
        assert main(["link", *INPUTS, "-o", "prog.wasm", "--report", "prog.json",
                     "--map", "prog.map"]) == 0
        assert main(["link", *INPUTS, "-o", "more.wasm", "--report", "more.json",
                     "--root", "strcmp", "--root", "fancy", "--export", "twice"]) == 0
    return d


@pytest.fixture
def prog(program_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The program directory as the working directory (paths in outputs are relative)."""
    monkeypatch.chdir(program_dir)
    return program_dir


def run(argv: list[str], capsys: Capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def check_golden(name: str, text: str) -> None:
    """Compare with tests/report/golden/NAME; IRLD_REGEN_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("IRLD_REGEN_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"missing golden {path}; run with IRLD_REGEN_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from its golden"
