"""Fixtures of the JS loader and plain-WASI tests: every example linked once per worker."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from js_util import Example, Site, build_examples, build_site   # noqa: E402


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Example]:
    """Each example under examples/, linked against the stdlib, as the plain WASI
    command `irld link` writes by default."""
    return build_examples(tmp_path_factory.mktemp("examples"))


@pytest.fixture
def node() -> str:
    import linker.host
    try:
        return linker.host.find_node()
    except linker.host.NodeNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def site(examples: dict[str, Example], tmp_path_factory: pytest.TempPathFactory) -> Site:
    """One directory holding every example and test program linked with --emit-js, and the
    test driver harness.mjs: what the Node and browser tests load."""
    return build_site(examples, tmp_path_factory.mktemp("site"))
