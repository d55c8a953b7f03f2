"""Zero fills are never materialised: a `zero 2147483647` item compiles and links
in well under a second and in little memory (the object stores no trailing
fill; layout and segments work on a sparse image), as wasm-ld leaves .bss to
zero-initialised memory."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linker.cli.main import main
from linker.driver import LinkOptions, link
from linker.layout import ZERO_GAP, segments_of_chunks, split_segments

HUGE = """\
module t.zero

data big = { zero 2147483647 }
data small align 4 = { i32 5, zero 100000, i32 6 }
data tail align 8 = { i64 -1, zero 1000000 }

func main() -> i32 {
entry:
  return i32.add(i32.load(@small), i32.load(@small+100004))
}

export "addr_of_big" func addr_of_big() -> i32 {
entry:
  return i32.add(@big, i32.load(@tail))
}
"""

LIMIT_AS = 1 << 30      # 1 GiB of address space for the whole irld process


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


def irld_limited(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "linker.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, preexec_fn=_limit)


def test_huge_zero_fill_links_fast_in_little_memory(tmp_path: Path) -> None:
    (tmp_path / "z.ir").write_text(HUGE)
    proc = irld_limited(["compile", "z.ir", "-o", "z.o"], tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert (tmp_path / "z.o").stat().st_size < 150_000     # the 100,000-byte inner fill only
    proc = irld_limited(["link", "z.o", "-o", "z.wasm", "--report", "z.json",
                         "--map", "z.map"], tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    wasm = (tmp_path / "z.wasm").read_bytes()
    assert len(wasm) < 1000

    start = time.perf_counter()
    result = link(LinkOptions(inputs=(str(tmp_path / "z.o"),), exports=("addr_of_big",)))
    seconds = time.perf_counter() - start
    assert seconds < 2.0, f"link took {seconds:.2f} s"      # minutes when materialised
    assert result.emitted is not None
    memory = result.emitted.memory
    assert memory.data_end - memory.data_base > 2147483647
    assert [(off, len(raw)) for off, raw in
            ((s.offset, s.data) for s in result.emitted.module.data)] == [
        (memory.addresses["tail"], 8), (memory.addresses["small"], 1),
        (memory.addresses["small"] + 100004, 1)]


@pytest.mark.skipif(shutil.which("wasm-validate") is None, reason="wabt not installed")
def test_huge_zero_fill_output_is_valid(tmp_path: Path) -> None:
    (tmp_path / "z.ir").write_text(HUGE)
    assert main(["compile", str(tmp_path / "z.ir"), "-o", str(tmp_path / "z.o")]) == 0
    assert main(["link", str(tmp_path / "z.o"), "-o", str(tmp_path / "z.wasm")]) == 0
    subprocess.run(["wasm-validate", str(tmp_path / "z.wasm")], check=True)


def test_runs_with_the_fill_zeroed(tmp_path: Path) -> None:
    import linker.host
    text = HUGE.replace("zero 2147483647", "zero 200000")
    (tmp_path / "z.ir").write_text(text)
    assert main(["compile", str(tmp_path / "z.ir"), "-o", str(tmp_path / "z.o")]) == 0
    assert main(["link", str(tmp_path / "z.o"), "-o", str(tmp_path / "z.wasm")]) == 0
    result = linker.host.run((tmp_path / "z.wasm").read_bytes(), ["z"], capture=True)
    assert result.exit_code == 11


def test_stored_zero_fill_is_limited(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    src = tmp_path / "z.ir"
    src.write_text("module t.z\n\ndata mid = { zero 2147483647, i32 1 }\n")
    assert main(["compile", str(src), "-o", str(tmp_path / "z.o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{src}:3:6: error: data 'mid' stores 2147483647 bytes of zero fill "
                          "before its last item (at most 16777216)")
    assert not (tmp_path / "z.o").exists()


@pytest.mark.parametrize("seed", range(20))
def test_sparse_segments_equal_the_dense_cut(seed: int) -> None:
    """segments_of_chunks on sparse chunks == split_segments on the whole image."""
    import random
    rng = random.Random(seed)
    chunks: list[tuple[int, bytes]] = []
    addr = 1024
    for _ in range(rng.randrange(1, 30)):
        addr += rng.choice([0, 1, ZERO_GAP - 1, ZERO_GAP, ZERO_GAP + 1, rng.randrange(200)])
        raw = bytes(rng.choice([0, 0, 1, 255]) for _ in range(rng.randrange(0, 3 * ZERO_GAP)))
        chunks.append((addr, raw))
        addr += len(raw)
    image = bytearray(addr - 1024)
    for a, raw in chunks:
        image[a - 1024:a - 1024 + len(raw)] = raw
    rng.shuffle(chunks)
    assert segments_of_chunks(chunks) == split_segments(1024, image)
