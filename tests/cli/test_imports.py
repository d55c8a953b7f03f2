"""A command imports what it runs, not the whole linker.

`irld link` without `--lto` must not pay for the LTO passes, the reference
interpreter or wasmtime: together they were a third of a small link's CPU
time (0.40 -> 0.30 s for a stdlib link, docs/benchmarks.md).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("wasmtime", "linker.lto", "linker.interp", "linker.report")


def _imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("command", ["link", "compile", "ar"])
def test_command_module_imports_no_heavy_package(command: str) -> None:
    loaded = _imported_after(f"import linker.cli.{command}_cmd")
    assert not {m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_a_plain_link_imports_no_lto() -> None:
    # The whole command, run in-process: parse, link, write.
    loaded = _imported_after(
        "from linker.cli.main import main\n"
        "import os, tempfile\n"
        "d = tempfile.mkdtemp()\n"
        "open(os.path.join(d, 'a.ir'), 'w').write('module a\\nfunc main() -> i32 {\\nentry:\\n  return 0\\n}\\n')\n"
        "assert main(['compile', os.path.join(d, 'a.ir'), '-o', os.path.join(d, 'a.o')]) == 0\n"
        "assert main(['link', os.path.join(d, 'a.o'), '--entry', 'main', '-o', os.path.join(d, 'a.wasm')]) == 0")
    assert "linker.lto" not in loaded and "wasmtime" not in loaded
