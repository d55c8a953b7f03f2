"""Memory layout limits: a layout that cannot be valid wasm is refused at link time."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e_util import irld, module
from linker import LinkOptions

BIG_DATA = module("big", """data blob = { zero 8, i32 1 }
func main() -> i32 {
entry:
  return i32.load(@blob, offset=8)
}
""")


@pytest.fixture(scope="module")
def big_obj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("limits")
    (d / "big.ir").write_text(BIG_DATA)
    assert irld("compile", "big.ir", "-o", "big.o", cwd=d).returncode == 0
    return d


@pytest.mark.parametrize("flags, message", [
    (["--data-base", "0xFFFFFFF8"], "error: data does not fit in the 4 GiB address space"),
    (["--initial-memory", "65536", "--data-base", "70000"],
     "error: initial memory too small: 65536 bytes, the data needs 131072 (2 pages)"),
    (["--initial-memory", "131072", "--max-memory", "65536"],
     "error: maximum memory too small: 65536 bytes, the initial memory is 131072 bytes"),
    (["--max-memory", "65536", "--data-base", "65530"],
     "error: maximum memory too small: 65536 bytes, the initial memory is 131072 bytes"),
])
def test_layout_that_cannot_fit_is_an_error(big_obj: Path, flags: list[str],
                                             message: str) -> None:
    out = big_obj / ("out" + "".join(c for c in "".join(flags) if c.isalnum()) + ".wasm")
    proc = irld("link", "big.o", "-o", out.name, *flags, cwd=big_obj)
    assert proc.returncode == 1, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_data_may_end_exactly_at_4_gib(big_obj: Path) -> None:
    # 12 bytes at 0xFFFFFFF0 end at 0xFFFFFFFC; the heap base rounds up to 2**32.
    proc = irld("link", "big.o", "-o", "edge.wasm", "--data-base", "0xFFFFFFF0", cwd=big_obj)
    assert proc.returncode == 0, proc.stderr


def test_data_base_zero_is_a_usage_error(big_obj: Path) -> None:
    proc = irld("link", "big.o", "--data-base", "0", cwd=big_obj)
    assert proc.returncode == 2
    assert "address 0 is the null pointer" in proc.stderr


def test_data_base_zero_refused_by_the_python_api() -> None:
    with pytest.raises(ValueError, match="null pointer"):
        LinkOptions(inputs=("x.o",), data_base=0)


def test_initial_and_max_memory_are_honoured(big_obj: Path) -> None:
    proc = irld("link", "big.o", "-o", "ok.wasm", "--initial-memory", "196608",
                "--max-memory", "262144", cwd=big_obj)
    assert proc.returncode == 0, proc.stderr
    run = irld("run", "ok.wasm", cwd=big_obj)
    assert run.returncode == 1  # main returns the i32 stored after the 8 zero bytes
    wasm = (big_obj / "ok.wasm").read_bytes()
    # memory section: id 5, one memory with a maximum (flag 1), min 3, max 4 pages
    assert bytes([0x05, 0x04, 0x01, 0x01, 0x03, 0x04]) in wasm
