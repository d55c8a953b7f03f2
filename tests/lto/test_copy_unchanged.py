"""A native-mode `--lto` link copies the compiled code of the IR functions no pass
changed (`LiveFunc.as_compiled`), and that code is byte for byte what code
generation from their IR gives; a changed function, and every function in
trampoline, checked or instrumented mode, is generated from its IR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import linker
import linker.writer
from linker.driver import LinkResult
from linker.store.objfile import EntityRecord

ROOT = Path(__file__).resolve().parents[2]
STDLIB = ROOT / "build" / "stdlib.a"


@pytest.fixture(scope="module", params=["interp", "bigdata", "callbacks"])
def objects(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp(request.param)
    irs = sorted((ROOT / "examples" / request.param).glob("*.ir"))
    return [*linker.compile_files(irs, out), str(STDLIB)]


@pytest.fixture
def copied(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The IR functions whose compiled code the emitter copies."""
    names: list[str] = []
    real = linker.writer.relocate_function

    def spy(rec: EntityRecord, *args: object, **kw: object) -> object:
        if rec.obj.has_ir:
            names.append(rec.name)
        return real(rec, *args, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(linker.writer, "relocate_function", spy)
    yield names


def unchanged(res: LinkResult) -> set[str]:
    assert res.program is not None
    return {lf.symbol for lf in res.program.funcs if lf.as_compiled}


def test_unchanged_functions_are_copied(objects: list[str], copied: list[str]) -> None:
    res = linker.link(objects, lto=True)
    assert res.program is not None and res.lto is not None
    keep = unchanged(res)
    assert keep, "some function no pass changed"
    assert set(copied) == keep
    changed = {lf.symbol for lf in res.program.funcs
               if lf.rec.obj.has_ir and not lf.as_compiled}
    assert changed, "some function a pass changed"
    # A function some pass changed, inlined into or retyped, is never marked.
    for sym, effect in res.lto.effects.items():
        if effect.inlined_into or effect.devirtualized or effect.self_tail_loops:
            assert sym not in keep


def test_copied_code_is_what_generation_gives(objects: list[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    copying = linker.link(objects, lto=True)
    monkeypatch.setattr(linker.writer._Emitter, "copies", lambda *_a: False)
    generating = linker.link(objects, lto=True)
    assert copying.wasm == generating.wasm
    named = linker.link(objects, lto=True, strip_all=False)
    monkeypatch.undo()
    assert linker.link(objects, lto=True, strip_all=False).wasm == named.wasm


@pytest.mark.parametrize("how", [{"tail_calls": "trampoline"}, {"checked": True},
                                 {"instrument": True}])
def test_other_modes_generate_everything(objects: list[str], copied: list[str],
                                         how: dict[str, object]) -> None:
    res = linker.link(objects, lto=True, **how)  # type: ignore[arg-type]
    assert unchanged(res)
    assert copied == []


def test_output_runs_as_without_lto(objects: list[str]) -> None:
    import linker.host
    with_lto = linker.link(objects, lto=True)
    without = linker.link(objects)
    assert with_lto.wasm is not None and without.wasm is not None
    a = linker.host.run(with_lto.wasm, ["prog"], capture=True)
    b = linker.host.run(without.wasm, ["prog"], capture=True)
    assert (a.stdout, a.exit_code) == (b.stdout, b.exit_code)


def test_source_map_is_what_generation_gives(objects: list[str], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A copied function's line table is its object's, moved with the relocation
    sites: the same rows code generation makes from the spans."""
    out, smap = tmp_path / "p.wasm", tmp_path / "p.wasm.map"
    copying = linker.link(objects, out, lto=True, strip_all=False, source_map=str(smap))
    copied_map = smap.read_text()
    monkeypatch.setattr(linker.writer._Emitter, "copies", lambda *_a: False)
    generating = linker.link(objects, out, lto=True, strip_all=False, source_map=str(smap))
    assert copying.wasm == generating.wasm
    assert copied_map == smap.read_text()
