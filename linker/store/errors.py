"""The one error type of unusable binary inputs: it names the file and the reason.

Objects, archives and the standard wasm object reader each raise a subclass,
so the driver reports every one the same way (`file: error: reason`)."""

from __future__ import annotations


class InputFileError(Exception):
    """A binary input that cannot be used: `file: reason`."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason
