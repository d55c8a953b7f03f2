"""Compile IR texts, link them through the driver, validate and run the output."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from linker.compile import compile_module
from linker.driver import LinkOptions, LinkResult, link
from linker.ir.parser import parse_module

WASM_VALIDATE = shutil.which("wasm-validate")


def compile_texts(tmp: Path, texts: Sequence[str]) -> list[str]:
    paths = []
    for i, text in enumerate(texts):
        m = parse_module(text, f"m{i}.ir")
        path = tmp / f"m{i}.o"
        path.write_bytes(compile_module(m))
        paths.append(str(path))
    return paths


def link_texts(tmp: Path, texts: Sequence[str], **options: Any) -> LinkResult:
    out = tmp / "prog.wasm"
    result = link(LinkOptions(inputs=tuple(compile_texts(tmp, texts)), output=str(out),
                              **options))
    assert result.wasm is not None
    validate(result.wasm, tmp)
    return result


def validate(wasm: bytes, tmp: Path) -> None:
    """wabt's wasm-validate (with tail calls) accepts the module."""
    if WASM_VALIDATE is None:
        return
    path = tmp / "validate.wasm"
    path.write_bytes(wasm)
    proc = subprocess.run([WASM_VALIDATE, "--enable-tail-call", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
