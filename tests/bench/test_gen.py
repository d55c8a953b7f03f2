"""The scale benchmark's program generator (benchmarks/gen.py): its output, at a
small size, parses, compiles, archives, links and runs, deterministically."""

from __future__ import annotations

import sys
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gen  # noqa: E402

import linker.host  # noqa: E402
from linker.codegen import TailCallMode  # noqa: E402
from linker.compile import compile_module  # noqa: E402
from linker.driver import LinkOptions, link  # noqa: E402
from linker.ir.parser import parse_module  # noqa: E402
from linker.store.archive import archive_bytes  # noqa: E402

SMALL = gen.Params(modules=8, funcs=12, live=0.3, seed=3, ffi=True, ffi_every=3)


def _build(tmp: Path, p: gen.Params) -> tuple[gen.Program, str, str]:
    prog = gen.program(p)
    objs = {stem: compile_module(parse_module(text, f"{stem}.ir"))
            for stem, text in prog.modules.items()}
    main = tmp / "main.o"
    main.write_bytes(objs.pop("main"))
    lib = tmp / "lib.a"
    lib.write_bytes(archive_bytes([(f"{s}.o", b) for s, b in objs.items()]))
    return prog, str(main), str(lib)


def _run(wasm: bytes) -> int:
    result = linker.host.run(wasm, ["prog"], stdin=b"", capture=True)
    assert result.trap is None, result.stderr
    return result.exit_code


def test_deterministic() -> None:
    assert gen.program(SMALL).modules == gen.program(SMALL).modules
    other = gen.program(attrs.evolve(SMALL, seed=4))
    assert other.modules != gen.program(SMALL).modules


def test_links_and_runs(tmp_path: Path) -> None:
    prog, main, lib = _build(tmp_path, SMALL)
    assert prog.ffi_users >= 1 and 0 < prog.live_functions < prog.functions
    codes = []
    for mode in TailCallMode:
        res = link(LinkOptions(inputs=(main, lib), tail_calls=mode))
        assert res.wasm is not None
        # Dead library functions are not linked; FFI signatures are live.
        assert len(res.program.funcs) < prog.functions
        assert res.live.sigs
        codes.append(_run(res.wasm))
    assert codes[0] == codes[1] and 0 <= codes[0] < 64
    eager = link(LinkOptions(inputs=(main, lib), eager_decode=True))
    lazy = link(LinkOptions(inputs=(main, lib)))
    assert eager.wasm == lazy.wasm
    assert eager.store.stats.bodies_decoded > lazy.store.stats.bodies_decoded


def test_matches_interpreter_without_ffi(tmp_path: Path) -> None:
    from linker.interp import run_program
    p = gen.Params(modules=6, funcs=10, live=0.4, seed=5, ffi=False)
    prog, main, lib = _build(tmp_path, p)
    assert prog.ffi_users == 0
    res = link(LinkOptions(inputs=(main, lib)))
    assert res.wasm is not None
    expected = run_program(res, ["prog"])
    assert expected.trap is None
    assert _run(res.wasm) == expected.exit_code


@pytest.mark.parametrize("kernel", ["sieve", "matmul", "statemachine", "interp", "tailcalls"])
def test_loop_kernels_compile(kernel: str) -> None:
    text = (ROOT / "benchmarks" / "loops" / f"{kernel}.ir").read_text()
    compile_module(parse_module(text, f"{kernel}.ir"))
