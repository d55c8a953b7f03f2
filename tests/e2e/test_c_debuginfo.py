"""DWARF of `-g` C objects, relocated into irld's output (linker/debuginfo.py).

Two C files compiled with `-g`, linked with wasi-libc (whose members carry
DWARF too) by irld and by wasm-ld: `llvm-dwarfdump --verify` accepts irld's
output, it has wasm-ld's compile units, a live function's `DW_AT_low_pc` is
its body's offset in the code section (found independently, by
`wasm-objdump -d`), a dead one's is the tombstone ("dead code"), a global's
location is its address, and `--strip-debug` leaves every `.debug_*` out.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import linker
from linker.host import run as run_wasi

CLANG = shutil.which("clang")
WASM_LD = shutil.which("wasm-ld")
DWARFDUMP = shutil.which("llvm-dwarfdump")
OBJDUMP = shutil.which("wasm-objdump")
WASI_LIB = Path("/usr/lib/wasm32-wasi")
pytestmark = pytest.mark.skipif(
    None in (CLANG, WASM_LD, DWARFDUMP, OBJDUMP) or not (WASI_LIB / "libc.a").exists(),
    reason="clang, wasm-ld, llvm-dwarfdump, wabt and wasi-libc are needed")

A_C = """
int counter = 3;
static int dead_helper(int x) { return x * 5; }
int never_called(int x) { return dead_helper(x) + 1; }
int square(int x) { int y = x * x; return y + counter; }
"""

B_C = """
#include <stdio.h>
int square(int);
extern int counter;
struct pt { int x, y; };
static struct pt origin = {1, 2};
int main(void) { counter += origin.y; printf("%d\\n", square(7)); return 0; }
"""


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("dwarf")
    for name, src in (("a", A_C), ("b", B_C)):
        (d / f"{name}.c").write_text(src)
        subprocess.run([str(CLANG), "--target=wasm32-wasi", "--sysroot=/usr", "-O1", "-g",
                        "-c", f"{name}.c", "-o", f"{name}.o"], cwd=d, check=True)
    inputs = [str(WASI_LIB / "crt1-command.o"), str(d / "a.o"), str(d / "b.o"),
              str(WASI_LIB / "libc.a")]
    subprocess.run([str(WASM_LD), *inputs, "-o", str(d / "ref.wasm")], check=True)
    linker.link(inputs, str(d / "out.wasm"), entry="_start")
    linker.link(inputs, str(d / "stripped.wasm"), entry="_start", strip_debug=True)
    return d


def dwarf(path: Path, *args: str) -> str:
    return subprocess.run([str(DWARFDUMP), *args, str(path)], capture_output=True, text=True,
                          check=True).stdout


def subprogram(info: str, name: str) -> str:
    """The attributes of the DW_TAG_subprogram named `name` (its definition)."""
    for block in info.split("\n\n"):
        if "DW_TAG_subprogram" in block and f'DW_AT_name\t("{name}")' in block \
                and "DW_AT_low_pc" in block:
            return block
    raise AssertionError(f"no subprogram {name}")


def code_offset(path: Path, func: str) -> int:
    """Where `func`'s body starts, relative to the code section's contents."""
    heads = subprocess.run([str(OBJDUMP), "-h", str(path)], capture_output=True, text=True,
                           check=True).stdout
    m = re.search(r"Code start=0x([0-9a-f]+)", heads)
    dis = subprocess.run([str(OBJDUMP), "-d", str(path)], capture_output=True, text=True,
                         check=True).stdout
    f = re.search(rf"^([0-9a-f]+) func\[\d+\] <{re.escape(func)}>:", dis, re.M)
    assert m is not None and f is not None
    return int(f.group(1), 16) - int(m.group(1), 16)


def test_dwarfdump_verify_accepts_the_output(linked: Path) -> None:
    out = subprocess.run([str(DWARFDUMP), "--verify", str(linked / "out.wasm")],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "No errors." in out.stdout, out.stdout[-2000:]
    count = [dwarf(linked / n, "--debug-info").count("DW_TAG_compile_unit")
             for n in ("out.wasm", "ref.wasm")]
    assert count[0] == count[1] > 2


def test_function_addresses_are_code_offsets(linked: Path) -> None:
    info = dwarf(linked / "out.wasm", "--debug-info")
    low = re.search(r"DW_AT_low_pc\t\(0x([0-9a-f]+)\)", subprogram(info, "square"))
    assert low is not None
    assert int(low.group(1), 16) == code_offset(linked / "out.wasm", "square")
    assert "DW_AT_low_pc\t(dead code)" in subprogram(info, "never_called")
    # The line table names a.c at square's first instruction.
    lookup = dwarf(linked / "out.wasm", f"--lookup={int(low.group(1), 16) + 2}")
    assert "a.c" in lookup and "square" in lookup


def test_variable_locations_are_addresses(linked: Path) -> None:
    info = dwarf(linked / "out.wasm", "--debug-info")
    block = next(b for b in info.split("\n\n")
                 if "DW_TAG_variable" in b and 'DW_AT_name\t("counter")' in b
                 and "DW_AT_location" in b)
    addr = re.search(r"DW_OP_addr 0x([0-9a-f]+)", block)
    assert addr is not None
    result = linker.link([str(WASI_LIB / "crt1-command.o"), str(linked / "a.o"),
                          str(linked / "b.o"), str(WASI_LIB / "libc.a")], None, entry="_start")
    assert result.emitted is not None
    assert int(addr.group(1), 16) == result.emitted.memory.addresses["counter"]


def test_strip_debug_and_behaviour(linked: Path) -> None:
    heads = subprocess.run([str(OBJDUMP), "-h", str(linked / "stripped.wasm")],
                           capture_output=True, text=True, check=True).stdout
    assert ".debug_" not in heads
    assert ".debug_info" in subprocess.run([str(OBJDUMP), "-h", str(linked / "out.wasm")],
                                           capture_output=True, text=True, check=True).stdout
    runs = [run_wasi(str(linked / n), [n], capture=True, timeout=60)
            for n in ("out.wasm", "stripped.wasm", "ref.wasm")]
    assert {(r.stdout, r.exit_code) for r in runs} == {(b"54\n", 0)}
    if shutil.which("wasm-validate"):
        subprocess.run(["wasm-validate", str(linked / "out.wasm")], check=True)
