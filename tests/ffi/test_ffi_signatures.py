"""Every generated case (libffi-testsuite signatures) through ffi_call and closures,
from wasm and from the host, on wasmtime (both tail-call modes) and Node."""

from __future__ import annotations

from pathlib import Path

import pytest

import linker.host
from linker.wasm.instr import decode_body

import ffi_programs as fp
from ffi_util import link_texts

ALL = list(enumerate(fp.CASES))


def _texts(cases: list[tuple[int, fp.Case]], host: bool) -> list[str]:
    return ([fp.PRELUDE] + [fp.case_module(i, c, host) for i, c in cases]
            + [fp.main_module([c for _, c in cases])])


def test_at_least_25_signatures() -> None:
    assert len({c.sig.key() for c in fp.CASES}) >= 25


@pytest.mark.parametrize("mode", ["native", "trampoline"])
def test_all_signatures_wasm_and_host(tmp_path: Path, mode: str) -> None:
    from linker.codegen import TailCallMode
    result = link_texts(tmp_path, _texts(ALL, host=True), tail_calls=TailCallMode(mode))
    assert result.ffi is not None and len(result.ffi.sigs) == len(fp.CASES)
    run = linker.host.run(result.wasm or b"", ["ffi"], host=fp.host_functions(ALL), capture=True)
    assert (run.exit_code, run.stderr) == (0, b"")


def test_all_signatures_on_node(tmp_path: Path) -> None:
    try:
        linker.host.find_node()
    except linker.host.NodeNotFoundError as exc:
        pytest.skip(str(exc))
    result = link_texts(tmp_path, _texts(ALL, host=False))
    run = linker.host.run_node(result.wasm or b"", ["ffi"])
    assert (run.exit_code, run.stderr) == (0, b"")


@pytest.mark.parametrize("index", range(len(fp.CASES)), ids=[c.name for c in fp.CASES])
def test_one_signature_one_handler(tmp_path: Path, index: int) -> None:
    case = fp.CASES[index]
    result = link_texts(tmp_path, _texts([(index, case)], host=True))
    run = linker.host.run(result.wasm or b"", ["ffi"], host=fp.host_functions([(index, case)]),
                          capture=True)
    assert (run.exit_code, run.stderr) == (0, b"")
    report = result.ffi
    assert report is not None
    assert [s.key for s in report.sigs] == [case.sig.key()]
    assert set(report.sigs[0].users) == {f"run_{case.name}", f"c{index}_fun"}
    assert report.sigs[0].handler_bytes > 0 and report.sigs[0].pool_slots == 16
    assert result.emitted is not None
    names = [f.name or "" for f in result.emitted.module.functions]
    assert len([n for n in names if n.startswith("__irld_ffi_call:")]) == 1
    assert len([n for n in names if n.startswith("__irld_closure:")]) == 17   # impl + 16 slots
    # ffi_call has one br_table and the handler one call_indirect.
    mod = result.emitted.module
    ffi_call = mod.function(result.emitted.func_indices["ffi_call"])
    assert [op for op, _ in decode_body(ffi_call.body)].count("br_table") == 1
    handler = next(f for f in mod.functions if (f.name or "").startswith("__irld_ffi_call:"))
    assert [op for op, _ in decode_body(handler.body)].count("call_indirect") == 1
