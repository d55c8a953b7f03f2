"""The one error type of unusable binary inputs, and opening them.

Objects, archives and the standard wasm object reader each raise a subclass
of `InputFileError`, so the driver reports every one the same way
(`file: error: reason`)."""

from __future__ import annotations

import mmap
from typing import Any


class InputFileError(Exception):
    """A binary input that cannot be used: `file: reason`."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


def map_file(path: str, error: type[InputFileError] = InputFileError) -> Any:
    """The file's bytes, memory-mapped so only the pages a phase reads are loaded
    (b"" for an empty file, which cannot be mapped); `error` names the file on failure."""
    try:
        with open(path, "rb") as fh:
            try:
                return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:
                return b""
    except OSError as exc:
        raise error(path, f"cannot open: {exc.strerror or exc}") from None
