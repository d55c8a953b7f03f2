"""What the debugging tests share besides fixtures (a module of its own: `from conftest
import ...` finds whichever directory's conftest was imported first)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# build({"a.ir": text, ...}, *link_flags) -> the linked wasm (the `build` fixture)
Build = Callable[..., Path]


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line of `text` containing `needle`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)
