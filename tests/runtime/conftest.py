"""Fixtures for the runtime tests: node lookup, writing modules to files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import linker.host


@pytest.fixture
def node() -> str:
    """The node executable, or skip the test."""
    try:
        return linker.host.find_node()
    except linker.host.NodeNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def write_wasm(tmp_path: Path) -> Callable[[bytes, str], Path]:
    def write(data: bytes, name: str = "prog.wasm") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path
    return write
