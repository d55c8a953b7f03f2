"""The C version of the scale benchmark's program (benchmarks/gen_c.py): deterministic
output, and at a small size it compiles with clang, links with wasm-ld (objects and
archive) and `main` returns the checksum the generator computes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import c_link  # noqa: E402
import gen_c  # noqa: E402

SMALL = gen_c.Params(funcs=200, files=4, live=0.2, seed=3)

needs_llvm = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("clang", "wasm-ld", "llvm-ar")),
    reason="needs clang, wasm-ld and llvm-ar")


def test_deterministic(tmp_path: Path) -> None:
    a, b = gen_c.program(SMALL), gen_c.program(SMALL)
    assert a.sources == b.sources and a.checksum == b.checksum
    a.write(tmp_path / "a")
    b.write(tmp_path / "b")
    for f in sorted((tmp_path / "a" / "src").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / "src" / f.name).read_bytes()
    assert sorted(a.sources) == ["m0", "m1", "m2", "m3", "main"]
    other = gen_c.program(gen_c.Params(funcs=200, files=4, live=0.2, seed=4))
    assert other.sources != a.sources
    assert 0 < a.live_functions < a.functions == 200
    assert a.address_taken > 0 and a.cross_file_calls > 0


def test_no_includes() -> None:
    for text in gen_c.program(SMALL).sources.values():
        assert "#include" not in text


@needs_llvm
def test_compiles_links_and_runs(tmp_path: Path) -> None:
    prog = gen_c.program(SMALL)
    prog.write(tmp_path)
    r = gen_c.compile_dir(tmp_path, jobs=2)
    assert r["compiled"] == 5
    assert gen_c.compile_dir(tmp_path, jobs=2)["compiled"] == 0     # cached
    lib = gen_c.archive(tmp_path)
    obj = tmp_path / "obj"
    objs = sorted(str(o) for o in obj.glob("*.o"))
    results = []
    for name, inputs in (("objs", objs), ("lib", [str(obj / "main.o"), str(lib)])):
        out = tmp_path / f"{name}.wasm"
        subprocess.run(["wasm-ld", "--no-entry", "--export=main", *inputs, "-o", str(out)],
                       check=True)
        st = c_link.module_stats(str(out))
        assert st["imported_functions"] == 0
        assert 0 < st["functions"] <= prog.live_functions + 2
        results.append(c_link.run_main(str(out)))
    assert results == [prog.checksum, prog.checksum]
    syms = sum(c_link.object_stats(Path(o).read_bytes())["symbols"] for o in objs)
    assert syms > 200
