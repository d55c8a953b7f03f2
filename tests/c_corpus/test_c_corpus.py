"""The C corpus linked by wasm-ld and by irld from the same objects.

Every program of `tests/c_corpus/` (several files, its own library archive,
constructors with priorities, weak definitions replaced by strong ones,
function pointers, stdio, malloc, string and math functions of wasi-libc) is
compiled once (`corpus.build`, cached under build/c_corpus/), linked by
wasm-ld and by irld (`irld link` on the command line, as a user would), and
both outputs run under wasmtime and Node: all four runs must print the same
bytes and exit with the same status, and irld's output must validate and be
at most 2% larger than wasm-ld's (with --compress-relocations, which irld
does by default; docs/objects.md explains the remaining difference).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corpus import PROGRAMS, Built, build, missing_tools
from linker.host import run as run_wasmtime
from linker.host import run_node
from linker.host.common import RunResult

WASM_LD = shutil.which("wasm-ld")
NODE = shutil.which("node")
WASM_VALIDATE = shutil.which("wasm-validate")
IRLD = str(Path(sys.executable).with_name("irld"))
REASON = missing_tools() or (None if WASM_LD is not None else "wasm-ld is needed")
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

# What each program must show, so a linker that drops a constructor or picks
# a weak default over the strong definition cannot pass by both being wrong.
SIGNS = {
    "calc": (b"calc: 18 builtins registered before main", b"  error 1 (eval)", 4),
    "json": (b'"ms": 30,', b"140 blocks allocated, 0 still live", 3),
    "stats": (b"stats: 4 digits", b"== 3. covariance ==", 4),
    "wordfreq": (b"linking (899 chars)           166 words,  76 stop words,  69 distinct,"
                 b"   325 probes", b"'absent': not found", 50),
}


def link_both(b: Built, out: Path) -> tuple[Path, Path]:
    assert WASM_LD is not None
    ref, mine = out / f"{b.name}.wasm-ld.wasm", out / f"{b.name}.irld.wasm"
    # wasi-libc's members carry DWARF: compare both without it.
    # wasm-ld's --compress-relocations is what irld does by default: compare like with like.
    subprocess.run([WASM_LD, *b.link_inputs(), "--strip-debug", "--compress-relocations",
                    "-o", str(ref)], check=True)
    done = subprocess.run([IRLD, "link", *b.link_inputs(), "--entry", "_start", "--strip-debug",
                           "-o", str(mine)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""          # no warnings on a correct C program
    return ref, mine


def runs(wasm: Path, name: str) -> list[RunResult]:
    out = [run_wasmtime(str(wasm), [name], capture=True, timeout=60)]
    if NODE is not None:
        out.append(run_node(str(wasm), [name], timeout=60))
    return out


@pytest.mark.parametrize("name", PROGRAMS)
def test_corpus_program_runs_like_wasm_ld(name: str, tmp_path: Path) -> None:
    ref, mine = link_both(build(name), tmp_path)
    if WASM_VALIDATE is not None:
        subprocess.run([WASM_VALIDATE, str(mine)], check=True)
    expected, got = runs(ref, name), runs(mine, name)
    assert len({r.stdout for r in expected + got}) == 1, got[0].stdout.decode(errors="replace")
    assert {r.exit_code for r in expected + got} == {SIGNS[name][2]}
    assert all(r.stderr == b"" for r in expected + got)
    for sign in SIGNS[name][:2]:
        assert isinstance(sign, bytes) and sign in got[0].stdout
    ratio = mine.stat().st_size / ref.stat().st_size
    assert ratio <= 1.02, f"irld {mine.stat().st_size} B, wasm-ld {ref.stat().st_size} B"


@pytest.mark.skipif(shutil.which("wasm-objdump") is None, reason="wabt is needed")
def test_corpus_programs_use_what_they_claim(tmp_path: Path) -> None:
    """Each program has several files, an archive, weak definitions and
    constructors with priorities, as clang compiled them."""
    for name in PROGRAMS:
        b = build(name)
        members = tmp_path / name
        members.mkdir()
        subprocess.run(["llvm-ar", "x", str(b.archive)], cwd=members, check=True)
        objs = [*b.objects, *sorted(members.glob("*.o"))]
        assert len(b.objects) >= 2 and len(objs) >= 5, name
        dump = subprocess.run(["wasm-objdump", "-x", *map(str, objs)], capture_output=True,
                              text=True, check=True).stdout
        assert "binding=weak" in dump, f"{name}: no weak definition"
        priorities = {line.split("priority=")[1] for line in dump.splitlines()
                      if "priority=" in line}
        assert len(priorities) >= 2, f"{name}: constructors of one priority only"
