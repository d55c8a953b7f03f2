"""Headless Chromium for the browser tests, driven by Playwright for Python.

Chromium comes from the distribution (`/usr/bin/chromium`, which `.ci/run` installs);
Playwright's own browser downloads are never used. The flags are the ones a closed
network and a root user need: no sandbox, no background connections.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync")


def chromium_path() -> str | None:
    """The distribution's Chromium, or `$IRLD_CHROMIUM` when set."""
    return os.environ.get("IRLD_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")


@contextmanager
def browser() -> Iterator[Any]:
    """A launched headless Chromium; skips the test when Chromium or Playwright is missing
    (CI installs both, so there the test runs)."""
    path = chromium_path()
    if path is None:
        pytest.skip("chromium not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=list(CHROMIUM_FLAGS))
        try:
            yield b
        finally:
            b.close()
