"""Fixtures for the dynamic-linking tests: clang -fPIC and wasm-ld -shared/-pie builds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import linker.host

HERE = Path(__file__).parent
INCLUDE = Path(linker.host.__file__).parent / "include"
# clang 14 emits position-independent code for wasm only for the Emscripten
# triple; the programs here use no libc, so the triple changes nothing else.
PIC_FLAGS = ["--target=wasm32-unknown-emscripten", "-fPIC", "-O1", "-fvisibility=default",
             "-nostdlib", f"-I{INCLUDE}", f"-I{HERE}"]

Build = Callable[..., Path]


@pytest.fixture
def pic_build(tmp_path: Path) -> Build:
    """Compile C sources with -fPIC and link them with wasm-ld (`-shared` or `-pie`)."""
    if shutil.which("clang") is None or shutil.which("wasm-ld") is None:
        pytest.skip("clang and wasm-ld are needed")

    def build(output: str, sources: Sequence[str], *, shared: bool,
              libs: Sequence[Path] = (), extra: Sequence[str] = (),
              linker: str = "wasm-ld") -> Path:
        objects = []
        for source in sources:
            obj = tmp_path / (Path(source).stem + ".o")
            subprocess.run(["clang", *PIC_FLAGS, "-c", str(HERE / source), "-o", str(obj)],
                           check=True)
            objects.append(str(obj))
        out = tmp_path / output
        if linker == "irld":
            assert shared, "irld links side modules here; the mains come from wasm-ld"
            subprocess.run([sys.executable, "-m", "linker.cli.main", "link", "--shared",
                            *extra, *objects, "-o", str(out)], check=True)
            return out
        mode = ["-shared"] if shared else ["-pie", "--no-entry", "--export=_start",
                                           "--export-dynamic"]
        subprocess.run(["wasm-ld", *mode, "--experimental-pic", *extra, *objects,
                        *(str(lib) for lib in libs), "-o", str(out)], check=True)
        return out
    return build
