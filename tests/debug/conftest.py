"""Fixtures for the debugging tests: building IR programs with locations."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import linker.host
from linker.cli.main import main as irld_main

sys.path.insert(0, str(Path(__file__).parent))

from debug_util import Build  # noqa: E402


@pytest.fixture
def node() -> str:
    """The node executable, or skip the test."""
    try:
        return linker.host.find_node()
    except linker.host.NodeNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Build:
    """build({"a.ir": text, ...}, *link_flags) -> the linked wasm, compiled and
    linked in `tmp_path` (the working directory, so IR paths are relative)."""
    monkeypatch.chdir(tmp_path)

    def run(files: dict[str, str], *flags: str, out: str = "prog.wasm") -> Path:
        objs: list[str] = []
        for name, text in files.items():
            Path(name).write_text(text)
            obj = name.removesuffix(".ir") + ".o"
            assert irld_main(["compile", name, "-o", obj]) == 0
            objs.append(obj)
        assert irld_main(["link", *objs, "-o", out, *flags]) == 0
        return tmp_path / out
    return run
