"""The optional mypyc-compiled modules (linker.native, linker.nativebuild).

The finder loads the compiled modules only from a build whose manifest
matches this interpreter and every dependent source, all of them or none: a
changed source, a missing or corrupt manifest, a missing extension file or
``IRLD_PURE=1`` leaves the pure modules.  The manifest's dependency set is
closed under the project's imports and covers every project module the
compiled modules load.  A link gives byte-identical output either way.

The tests that need a build use the one ``make native`` (a dependency of
``make test``) leaves in build/native/, and are skipped without one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from linker import native
from linker.native import COMPILED, MANIFEST, NativeFinder, check_build, find_build
from linker import nativebuild
from linker.nativebuild import dependencies, direct_imports

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gen_c  # noqa: E402


@pytest.fixture(scope="module")
def build_dir() -> Path:
    """The current build's directory (the test is skipped without one)."""
    build = find_build()
    if build is None:
        pytest.skip("no compiled build matches the sources (run make native)")
    return build.directory


@pytest.fixture
def copy(build_dir: Path, tmp_path: Path) -> Path:
    """A copy of the build, under tmp_path/native/, to damage."""
    target = tmp_path / "native" / build_dir.name
    shutil.copytree(build_dir, target)
    return target


def _python(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k != native.PURE_ENV} | env
    return subprocess.run([sys.executable, "-c", code], env=full, cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()


READER = "import linker.native as n, linker.relocate, linker.store.wasm_input; print(n.reader())"


def test_a_fresh_build_is_loaded(build_dir: Path) -> None:
    assert _python(READER) == f"compiled ({build_dir})"
    code = ("import importlib, linker.native as n; "
            "print(all(n.is_compiled(importlib.import_module(m)) for m in n.COMPILED))")
    assert _python(code) == "True"


def test_irld_pure_forces_the_pure_modules(build_dir: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert _python(READER, IRLD_PURE="1") == "pure Python"
    monkeypatch.setenv(native.PURE_ENV, "1")
    assert NativeFinder(build_dir.parent).find_spec(COMPILED[0]) is None


def test_the_finder_serves_every_module_from_one_build(copy: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(native.PURE_ENV, raising=False)         # make test-pure sets it
    finder = NativeFinder(copy.parent)
    for module in COMPILED:
        spec = finder.find_spec(module)
        assert spec is not None and spec.origin is not None
        assert Path(spec.origin).is_relative_to(copy)
    assert finder.find_spec("linker.writer") is None


def _edit_manifest(build: Path, change: str) -> None:
    path = build / MANIFEST
    manifest = json.loads(path.read_text())
    match change:
        case "source":        # as if a dependency's source had been edited since
            manifest["sources"]["linker.wasm.leb128"] = "0" * 64
            manifest["stamps"]["linker.wasm.leb128"] = [0, 0]
        case "compiled source":
            manifest["sources"][COMPILED[1]] = "0" * 64
            manifest["stamps"][COMPILED[1]][1] -= 1         # an older modification time
        case "source, no stamps":
            manifest["sources"][COMPILED[1]] = "0" * 64
            del manifest["stamps"]
        case "abi":
            manifest["abi"] = "cpython-27-pdp11"
        case "module list":
            del manifest["modules"][COMPILED[2]]
        case "extra module":          # built with another list of compiled modules
            manifest["modules"]["linker.writer"] = manifest["modules"][COMPILED[2]]
        case "types":
            manifest["sources"] = ["linker.relocate"]
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("change", ["source", "compiled source", "source, no stamps", "abi",
                                    "module list", "extra module", "types"])
def test_a_stale_or_foreign_build_is_not_loaded(copy: Path, change: str) -> None:
    assert check_build(copy) is not None
    _edit_manifest(copy, change)
    assert check_build(copy) is None
    assert NativeFinder(copy.parent).find_spec(COMPILED[0]) is None


def test_a_source_with_its_recorded_stamp_is_not_hashed(copy: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The stamps as `make native` records them for today's files (a source
    # touched since the build, say by a checkout, has a stale one).
    path = copy / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["stamps"] = {m: native.file_stamp(native.source_file(m)) for m in manifest["sources"]}
    path.write_text(json.dumps(manifest))

    def unreadable(path: Path) -> str | None:
        raise AssertionError(f"{path} hashed")
    monkeypatch.setattr(native, "file_sha256", unreadable)
    assert check_build(copy) is not None


@pytest.mark.parametrize("stamps", ["stale", "absent", "malformed"])
def test_a_source_without_its_stamp_is_hashed(copy: Path, stamps: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = copy / MANIFEST
    manifest = json.loads(path.read_text())
    match stamps:
        case "stale":                # touched (a checkout, say) but not changed
            for stamp in manifest["stamps"].values():
                stamp[1] += 1
        case "absent":               # a manifest from before the stamps
            del manifest["stamps"]
        case "malformed":
            manifest["stamps"] = "yes"
    path.write_text(json.dumps(manifest))
    hashed: list[Path] = []
    real = native.file_sha256

    def counting(p: Path) -> str | None:
        hashed.append(p)
        return real(p)
    monkeypatch.setattr(native, "file_sha256", counting)
    assert check_build(copy) is not None
    assert len(hashed) == len(manifest["sources"])


@pytest.mark.parametrize("damage", ["missing", "corrupt", "not an object", "extension gone"])
def test_a_damaged_build_is_not_loaded(copy: Path, damage: str) -> None:
    manifest = copy / MANIFEST
    match damage:
        case "missing":
            manifest.unlink()
        case "corrupt":
            manifest.write_bytes(manifest.read_bytes()[:40])
        case "not an object":
            manifest.write_text("[1, 2]")
        case "extension gone":
            rel = json.loads(manifest.read_text())["modules"][COMPILED[0]]
            (copy / rel).unlink()
    assert check_build(copy) is None
    finder = NativeFinder(copy.parent)
    assert all(finder.find_spec(m) is None for m in COMPILED)


def test_no_build_directory_means_pure(tmp_path: Path) -> None:
    assert find_build(tmp_path / "nothing") is None


def test_the_dependency_set_is_closed_under_imports() -> None:
    deps = set(dependencies())
    assert set(COMPILED) <= deps
    for module in deps:
        assert direct_imports(module) <= deps, module


def test_the_dependency_set_covers_what_the_compiled_modules_load() -> None:
    code = ("import sys, linker.relocate, linker.store.wasm_input, linker.store.wasmobj; "
            "print(' '.join(m for m in sys.modules if m.startswith(('linker.', 'relooper.'))))")
    loaded = set(_python(code, IRLD_PURE="1").split())
    packages = {m for m in loaded if native.source_path(m).name == "__init__.py"}
    # What a package's __init__ loads (linker.wasm's loads its printer) is no dependency
    # of the compiled code; linker/__init__ loads only linker.native at run time.
    by_packages = set(dependencies(sorted(packages - {"linker"}))) | {"linker.native"}
    assert loaded - packages - by_packages <= set(dependencies())
    assert {"linker.store.objfile", "linker.store.lines"} <= loaded - by_packages


def test_the_manifest_records_every_dependency(build_dir: Path) -> None:
    manifest = json.loads((build_dir / MANIFEST).read_text())
    assert sorted(manifest["sources"]) == dependencies()
    assert set(COMPILED) <= set(manifest["modules"])


@pytest.mark.skipif(not all(shutil.which(t) for t in ("clang", "llvm-ar")),
                    reason="needs clang and llvm-ar")
def test_a_link_is_byte_identical_native_and_pure(build_dir: Path, tmp_path: Path) -> None:
    gen_c.program(gen_c.Params(funcs=300, files=4, live=0.2, seed=7)).write(tmp_path)
    gen_c.compile_dir(tmp_path, jobs=2, log=False)
    lib = gen_c.archive(tmp_path)
    outputs = []
    for pure in ("0", "1"):
        out = tmp_path / f"pure{pure}.wasm"
        env = {k: v for k, v in os.environ.items() if k != native.PURE_ENV}
        p = subprocess.run([sys.executable, "-m", "linker.cli.main", "link", "--no-entry",
                            "--export", "main", str(tmp_path / "obj" / "main.o"), str(lib),
                            "-o", str(out), "-v"], env=env | {native.PURE_ENV: pure},
                           cwd=ROOT, capture_output=True, text=True, check=True)
        reader = "pure Python" if pure == "1" else f"compiled ({build_dir})"
        assert f"irld: object reader: {reader}" in p.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_a_failed_build_warns_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    def no_compiler(lib: Path) -> None:
        lib.mkdir(parents=True)
        os.write(1, b"gcc: not found\n")       # as the compiler writes, to the fd
        raise SystemExit("error: command 'gcc' failed")

    monkeypatch.setattr(nativebuild, "NATIVE_DIR", tmp_path / "native")
    monkeypatch.setattr(nativebuild, "LOG", tmp_path / "build.log")
    monkeypatch.setattr(nativebuild, "compile_modules", no_compiler)
    (tmp_path / "native").mkdir()
    assert nativebuild.main() == 1
    err = capsys.readouterr().err
    assert "gcc: not found" in err and "the pure-Python modules are used" in err
    assert list((tmp_path / "native").iterdir()) == []
    assert find_build(tmp_path / "native") is None
