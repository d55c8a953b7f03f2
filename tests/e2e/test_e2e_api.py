"""The public Python API (`linker.link`, `linker.compile_files`, `linker.compile_text`) and the
examples linked against the stdlib, both modes, both engines."""

from __future__ import annotations

from pathlib import Path

import pytest

import linker
from e2e_util import E2E, MODES, ROOT, module

HELLO = module("api.hello", """
func main() -> i32 {
entry:
  call pi32(42)
  return 0
}
""")


def test_link_api_options(e2e: E2E, tmp_path: Path) -> None:
    obj = e2e.obj(HELLO)
    # No output: nothing written, the bytes are in the result.
    res = linker.link([obj, e2e.prelude])
    assert res.wasm is not None and res.wasm.startswith(b"\0asm")
    assert [t.name for t in res.timings][-1] == "write"
    assert isinstance(res, linker.LinkResult)
    out = tmp_path / "x.wasm"
    wat = tmp_path / "x.wat"
    res2 = linker.link([str(obj), e2e.prelude], out, tail_calls=linker.TailCallMode.TRAMPOLINE,
                       emit_wat=wat, exports=("pi32",), roots=["nl"])
    assert out.read_bytes() == res2.wasm and wat.read_text().startswith("(module")
    assert {e.name for e in res2.emitted.module.exports} >= {"_start", "pi32"}
    assert linker.link_options([obj], None, entry=None).entry is None
    assert linker.link_options(obj, None, libraries="std").libraries == ("std",)
    with pytest.raises(TypeError, match="bogus"):
        linker.link([obj], bogus=1)
    with pytest.raises(ValueError):
        linker.link([obj], tail_calls="sideways")
    with pytest.raises(linker.DiagnosticError, match="undefined symbol: pi32"):
        linker.link([obj])


def test_compile_files_api(tmp_path: Path) -> None:
    good = tmp_path / "good.ir"
    good.write_text(HELLO)
    bad = tmp_path / "bad.ir"
    bad.write_text("module bad\nfunc main() -> i32 {\nentry:\n  return i32.addd(1, 2)\n}\n")
    out = linker.compile_files([good], tmp_path / "objs")
    assert out == [str(tmp_path / "objs" / "good.o")]
    assert Path(out[0]).read_bytes() == linker.compile_text(HELLO, str(good))
    with pytest.raises(linker.DiagnosticError) as info:
        linker.compile_files([bad, good], tmp_path / "objs2")
    assert "bad.ir:4" in str(info.value)
    assert not (tmp_path / "objs2" / "bad.o").exists()
    assert (tmp_path / "objs2" / "good.o").exists()


# Examples written in IR alone (a mixed IR + C example runs in tests/stdlib).
EXAMPLES = sorted(d for d in (ROOT / "examples").iterdir()
                  if d.is_dir() and (d / "expected.out").exists() and not any(d.glob("*.c"))
                  and not any(d.glob("lib/*.c")))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda d: d.name)
def test_example(e2e: E2E, stdlib_archive: Path, example: Path) -> None:
    objs = [e2e.obj(p.read_text(), f"{example.name}.{p.stem}") for p in sorted(example.glob("*.ir"))]
    args = (example / "args").read_text().split() if (example / "args").exists() else []
    expected = (example / "expected.out").read_bytes()
    status = int((example / "expected.exit").read_text()) if (example / "expected.exit").exists() else 0
    for mode in MODES:
        wasm, _res = e2e.link([*objs, stdlib_archive], mode, prelude=False)
        wt, _nd = e2e.run(wasm, args)
        assert (wt.stdout, wt.exit_code) == (expected, status), (mode, wt.stderr)
