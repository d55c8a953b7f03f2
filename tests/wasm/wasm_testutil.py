"""Shared helpers for the encoder tests: a tail-call-enabled wasmtime engine and validators.

Imported by basename (pytest puts this directory on sys.path), so the name is unique.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import wasmtime

WASM_VALIDATE = shutil.which("wasm-validate")


def make_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.wasm_tail_call = True
    return wasmtime.Engine(config)


def validate(wasm: bytes) -> None:
    """Validate with wasmtime and, when installed, wabt's wasm-validate."""
    wasmtime.Module.validate(make_engine(), wasm)
    if WASM_VALIDATE is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.wasm"
        path.write_bytes(wasm)
        proc = subprocess.run([WASM_VALIDATE, "--enable-tail-call", str(path)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def instantiate(wasm: bytes) -> tuple[wasmtime.Store, wasmtime.Instance]:
    engine = make_engine()
    store = wasmtime.Store(engine)
    return store, wasmtime.Instance(store, wasmtime.Module(engine, wasm), [])
