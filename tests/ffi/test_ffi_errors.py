"""Bad FFI input: clear diagnostics, exit status 1, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

IRLD = str(Path(sys.executable).with_name("irld"))


def _irld(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IRLD, *args], capture_output=True, text=True, cwd=cwd)


def _compile(tmp: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    (tmp / f"{name}.ir").write_text(text)
    return _irld("compile", f"{name}.ir", "-o", f"{name}.o", cwd=tmp)


def test_unknown_c_type_and_undeclared_signature(tmp_path: Path) -> None:
    proc = _compile(tmp_path, "bad", """module bad
csig s = sint32(sint9, pointer)
func main() -> i32 {
entry:
  return sig nosuch
}
""")
    assert proc.returncode == 1
    assert "bad.ir:2:17: error: unknown C type 'sint9'" in proc.stderr
    assert "bad.ir:5:14: error: unknown signature 'nosuch'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_empty_struct_by_value_is_a_compile_error(tmp_path: Path) -> None:
    # libffi refuses zero-sized types and BasicCABI drops empty structs, so
    # caller and callee would disagree: the verifier rejects it, with a location.
    proc = _compile(tmp_path, "empty", """module empty
extern func ffi_call(i32, i32, i32, i32)
csig s = void(sint32, struct {})
func main() -> i32 {
entry:
  call ffi_call(sig s, 0, 0, 0)
  return 0
}
""")
    assert proc.returncode == 1
    assert ("empty.ir:3:6: error: struct with no fields used by value in C signature "
            "of 's': void(sint32, struct {  })") in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "empty.o").exists()


def test_foreign_export_type_mismatch_is_a_link_error(tmp_path: Path) -> None:
    assert _compile(tmp_path, "a", """module a
extern func f(i32, i32) -> i32
foreign export ccall "c_f" f: sint32(sint32, sint32)
func main() -> i32 {
entry:
  return 0
}
""").returncode == 0
    assert _compile(tmp_path, "b", """module b
func f(x: i32) -> i32 {
entry:
  return x
}
""").returncode == 0
    proc = _irld("link", "a.o", "b.o", "-o", "ab.wasm", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "error: foreign export 'c_f': type mismatch: f" in proc.stderr
    assert ">>> defined as (i32) -> i32 in b.o" in proc.stderr
    assert ("exported with C signature sint32(sint32, sint32), which lowers to "
            "(i32, i32) -> i32, by a.o") in proc.stderr


def test_foreign_export_mismatch_in_one_module_is_a_verify_error(tmp_path: Path) -> None:
    proc = _compile(tmp_path, "one", """module one
foreign export ccall "c_g" g: double(double)
func g(x: f32) -> f32 {
entry:
  return x
}
""")
    assert proc.returncode == 1
    assert "one.ir:2:" in proc.stderr and "lowers to (f64) -> f64" in proc.stderr


def test_bad_ffi_flag_is_a_usage_error(tmp_path: Path) -> None:
    proc = _irld("link", "x.o", "--ffi", "exhaustive:x", cwd=tmp_path)
    assert proc.returncode == 2
    assert "exhaustive:N" in proc.stderr
