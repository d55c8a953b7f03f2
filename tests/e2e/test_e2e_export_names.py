"""Export names: one name, one symbol; the linker's own names are reserved."""

from __future__ import annotations

from pathlib import Path

from e2e_util import irld

A = """module a
extern func g() -> i32
export "run" f
export "memory" f
func f() -> i32 { entry: return 1 }
func main() -> i32 {
  local r: i32
entry:
  r = call g()
  return r
}
"""
B = """module b
export "run" g
export "_start" g
export "twice" g
func g() -> i32 { entry: return 2 }
"""


def test_conflicting_and_reserved_export_names(tmp_path: Path) -> None:
    (tmp_path / "a.ir").write_text(A)
    (tmp_path / "b.ir").write_text(B)
    assert irld("compile", "a.ir", "b.ir", "--out-dir", ".", cwd=tmp_path).returncode == 0
    proc = irld("link", "a.o", "b.o", "-o", "x.wasm", "--export", "g", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: duplicate export name: run\n"
        ">>> exported as f by a.o\n>>> exported as g by b.o\n"
        "error: export name 'memory' is reserved by the linker\n"
        ">>> exported as f by a.o\n"
        "error: export name '_start' is reserved by the linker\n"
        ">>> exported as g by b.o\n")
    assert not (tmp_path / "x.wasm").exists()


def test_one_symbol_under_several_names_is_fine(tmp_path: Path) -> None:
    (tmp_path / "b.ir").write_text(B.replace('export "run" g\nexport "_start" g\n', "")
                                   + 'export "again" g\n')
    assert irld("compile", "b.ir", "-o", "b.o", cwd=tmp_path).returncode == 0
    proc = irld("link", "b.o", "--no-entry", "--export", "g", "-o", "b.wasm", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
