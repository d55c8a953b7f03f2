"""Only what is live: no FFI bytes without FFI use, one handler per used signature,
and the exhaustive baseline's signature count."""

from __future__ import annotations

from pathlib import Path

from linker.ffi import exhaustive_sigs
from linker.ir.ctypes import lower

from ffi_util import link_texts

NO_FFI = """
module noffi
csig unused = sint32(pointer)
func main() -> i32 {
entry:
  return 0
}
"""

CALL_ONLY = """
module callonly
extern func ffi_call(i32, i32, i32, i32)
csig one = sint32(sint32, double)
csig unused = void(float)
data av align 4 = { zero 8 }
data rv align 4 = { zero 8 }
func main() -> i32 {
entry:
  call ffi_call(sig one, 0, @rv, @av)
  return 0
}
"""

FFI_MARKERS = ("ffi", "closure")


def _ffi_names(result: object) -> list[str]:
    mod = result.emitted.module  # type: ignore[attr-defined]
    names = [f.name or "" for f in mod.functions] + [i.name or "" for i in mod.imports]
    names += [g.name or "" for g in mod.globals] + [e.name for e in mod.exports]
    return [n for n in names if any(m in n for m in FFI_MARKERS)]


def test_program_without_ffi_has_zero_ffi_bytes(tmp_path: Path) -> None:
    result = link_texts(tmp_path, [NO_FFI])
    assert result.ffi is None
    assert _ffi_names(result) == []
    assert result.emitted is not None and "__irld_ffi" not in result.emitted.memory.addresses


def test_one_signature_one_handler_and_no_closure_code(tmp_path: Path) -> None:
    result = link_texts(tmp_path, [CALL_ONLY])
    report = result.ffi
    assert report is not None
    assert [s.c_type for s in report.sigs] == ["sint32(sint32, double)"]
    assert report.sigs[0].users == ("main",) and report.sigs[0].pool_slots == 0
    names = _ffi_names(result)
    assert sorted(names) == ["__irld_ffi_call:i(i,d)", "ffi_call"]
    # Scalars need no FFI stack: no memory area, no globals.
    assert report.memory_bytes == 0 and report.stack_bytes == 0
    assert report.total_bytes == report.runtime_bytes + report.handler_bytes


def test_identical_marshalling_shares_a_handler(tmp_path: Path) -> None:
    text = CALL_ONLY.replace("csig unused = void(float)", "csig two = uint32(pointer, double)") \
        .replace("  return 0", "  call ffi_call(sig two, 0, @rv, @av)\n  return 0")
    result = link_texts(tmp_path, [text])
    assert result.ffi is not None
    a, b = result.ffi.sigs
    assert a.handler_shared_with == (b.id,) and b.handler_shared_with == (a.id,)
    assert len([n for n in _ffi_names(result) if n.startswith("__irld_ffi_call:")]) == 1


def test_exhaustive_signature_count_matches_libffi_wasm() -> None:
    sigs = list(exhaustive_sigs(4))
    assert len(sigs) == 1705
    assert len({s.key() for s in sigs}) == 1705
    assert len({lower(s) for s in sigs}) == 1705


def test_exhaustive_mode_links_and_runs(tmp_path: Path) -> None:
    import linker.host
    result = link_texts(tmp_path, [CALL_ONLY], ffi_exhaustive=1)
    assert result.ffi is not None
    assert len(result.ffi.sigs) == 1 + 25 and result.ffi.mode == "exhaustive:1"
    run = linker.host.run(result.wasm or b"", ["x"], capture=True)
    # fn 0 is the null slot: ffi_call traps in call_indirect (the handler ran).
    assert run.exit_code == linker.host.EXIT_TRAP and b"ffi_call" in run.stderr
