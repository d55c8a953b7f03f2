"""Load the mypyc-compiled build of the hot modules when it matches the sources.

`linker.nativebuild` compiles the unchanged sources of `COMPILED` (the object
reader and the relocator: the loops a C link spends its time in) with mypyc
into ``build/native/<key>/``, next to a ``manifest.json`` that names, for
each compiled module, its extension file, the shared mypyc library they all
import, the Python ABI they were built for, and the SHA-256 of every project
source the compiled code depends on (the compiled modules and every project
module they import, transitively: mypyc bakes in what it saw of them, such
as constants and class layouts).

`install()` (run by ``linker/__init__.py``) puts `NativeFinder` first on
`sys.meta_path`.  It does nothing until one of `COMPILED` is imported; then
it picks, once, the first build whose manifest is well-formed, whose ABI is
this interpreter's and whose every recorded hash matches the source on disk,
and serves all of the compiled modules from it, or none: any mismatch, a
missing or corrupt manifest, or a missing extension file leaves every module
to the ordinary (pure-Python) import.  ``IRLD_PURE=1`` in the environment
forces the pure modules.  `reader()` says which was used.

There is one implementation of every loop; a stale build is never loaded, so
editing a source takes effect at once (pure) until ``make native`` runs.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import os
import sys
from collections.abc import Callable, Sequence
from importlib.machinery import ExtensionFileLoader, ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

# The modules mypyc compiles: the object reader, the C objects' index and
# entity records, relocation, and the loops of a link over every loaded or live
# entity (the symbol table, discovery, building the live program, checking each
# irld object's index), the IR body codec (`--lto` decodes every live body:
# 0.92x the 20,000-function LTO link) and the LTO passes' walks and most
# function-local passes (0.92x again; `linker.lto.whole` defines attrs classes
# with factories, which mypyc rejects), and the locals' coalescing of code
# generation (the LTO link's code generation 0.91x; compiling 2% faster), code
# generation itself (`irld compile` 0.93-0.97x the time; code generation in the
# `--lto` and trampoline links) and the relooper it runs (`irld compile` 0.94x
# again).  Not the wasm encoder: compiled, it was
# slower (its time is in bytearray methods and in calls into the uncompiled
# module model).
COMPILED = ("linker.store.wasmobj", "linker.store.wasm_input", "linker.relocate",
            "linker.store.typecodec", "linker.wasm.leb128", "linker.store.records",
            "linker.marklive", "linker.program", "linker.store.store", "linker.store.shapes",
            "linker.store.codec", "linker.lto.walk", "linker.lto.cfg", "linker.lto.precompute",
            "linker.lto.dce", "linker.lto.merge_blocks", "linker.lto.inlining",
            "linker.lto.estimate", "linker.coalesce", "linker.codegen", "relooper.graph",
            "relooper.irreducible", "relooper.structuring")

ROOT = Path(__file__).resolve().parent.parent
_ROOT = str(ROOT)
NATIVE_DIR = ROOT / "build" / "native"
MANIFEST = "manifest.json"
PURE_ENV = "IRLD_PURE"


def abi_tag() -> str:
    """The suffix of this interpreter's extension modules (.cpython-311-x86_64-linux-gnu.so)."""
    return importlib.machinery.EXTENSION_SUFFIXES[0]


def source_path(module: str) -> Path:
    """The source file of a project module (a package's ``__init__.py``)."""
    return Path(source_file(module))


def source_file(module: str) -> str:
    """`source_path` as a string, without pathlib (a link's start asks for 67)."""
    base = os.path.join(_ROOT, *module.split("."))
    package = os.path.join(base, "__init__.py")
    return package if os.path.exists(package) else base + ".py"


_SHA256: list[Callable[[bytes], Any]] = []


def _sha256_function() -> Callable[[bytes], Any]:
    """CPython's own SHA-256 (module _sha2, before 3.12 _sha256), else hashlib's.

    Importing hashlib loads OpenSSL, several ms that a link without the index
    cache does not otherwise pay; the digests are the same.  Found once: a
    failed import searches the whole path again every time (67 calls of it
    cost a link 11 ms)."""
    if not _SHA256:
        _SHA256.append(_find_sha256())
    return _SHA256[0]


def _find_sha256() -> Callable[[bytes], Any]:
    for name in ("_sha2", "_sha256"):
        try:
            function: Callable[[bytes], Any] = getattr(importlib.import_module(name), "sha256")
            return function
        except (ImportError, AttributeError):
            continue
    import hashlib
    return hashlib.sha256


def file_stamp(path: str | Path) -> list[int] | None:
    """A source file's size and modification time (ns), or None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def file_sha256(path: Path) -> str | None:
    """The hex SHA-256 of a file's bytes, or None when it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return str(_sha256_function()(data).hexdigest())


class Build:
    """A usable build: module name -> its extension file."""

    def __init__(self, directory: Path, files: dict[str, Path]) -> None:
        self.directory = directory
        self.files = files


def _str_map(value: Any) -> dict[str, str] | None:
    """`value` if it is a dict of str to str, else None."""
    if not isinstance(value, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return None
    return value


def check_build(directory: Path) -> Build | None:
    """The build in `directory` if its manifest matches this interpreter and the sources."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("abi") != abi_tag():
        return None
    modules = _str_map(manifest.get("modules"))
    sources = _str_map(manifest.get("sources"))
    if modules is None or sources is None:
        return None
    if {m for m in modules if not m.endswith("__mypyc")} != set(COMPILED):
        return None
    if not set(COMPILED) <= set(sources):
        return None
    if not _sources_match(sources, manifest.get("stamps")):
        return None
    files = {name: directory / rel for name, rel in modules.items()}
    if not all(path.is_file() for path in files.values()):
        return None
    return Build(directory, files)


def _sources_match(sources: dict[str, str], stamps: Any) -> bool:
    """Whether every source still has the SHA-256 the build recorded.

    A source whose size and modification time are the ones recorded when it
    was hashed (`stamps`, taken before the hashing) is not read again: the rule
    CPython's bytecode cache uses, and a link's start 5 ms faster; any other
    source is hashed."""
    if not isinstance(stamps, dict):
        stamps = {}
    for module, digest in sources.items():
        path = source_file(module)
        stamp = stamps.get(module)
        if stamp is not None and stamp == file_stamp(path):
            continue
        if file_sha256(Path(path)) != digest:
            return False
    return True


def find_build(native_dir: Path = NATIVE_DIR) -> Build | None:
    """The newest usable build under `native_dir`, or None."""
    try:
        dirs = sorted((d for d in native_dir.iterdir() if d.is_dir()),
                      key=lambda d: d.stat().st_mtime, reverse=True)
    except OSError:
        return None
    for directory in dirs:
        build = check_build(directory)
        if build is not None:
            return build
    return None


class NativeFinder:
    """Serves the compiled modules from one matching build, decided on first use.

    A meta path finder by shape (`find_spec`), not by base class: importing
    importlib.abc would load importlib.resources and tempfile, which a link
    does not otherwise import."""

    def __init__(self, native_dir: Path = NATIVE_DIR) -> None:
        self.native_dir = native_dir
        self.build: Build | None = None
        self.decided = False

    def choose(self) -> Build | None:
        """The build to load from (None: pure), decided once."""
        if not self.decided:
            self.decided = True
            if os.environ.get(PURE_ENV, "") not in ("", "0"):
                self.build = None
            else:
                self.build = find_build(self.native_dir)
        return self.build

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname not in COMPILED and not fullname.endswith("__mypyc"):
            return None
        build = self.choose()
        if build is None or fullname not in build.files:
            return None
        origin = str(build.files[fullname])
        spec = ModuleSpec(fullname, ExtensionFileLoader(fullname, origin), origin=origin)
        spec.has_location = True
        return spec


_FINDER: NativeFinder | None = None


def install() -> None:
    """Put the finder first on `sys.meta_path` (once)."""
    global _FINDER
    if _FINDER is None:
        _FINDER = NativeFinder()
        sys.meta_path.insert(0, _FINDER)


def reader() -> str:
    """Which object reader this process uses: 'compiled (<build dir>)' or 'pure Python'."""
    import linker.store.wasmobj as wasmobj
    if not is_compiled(wasmobj):
        return "pure Python"
    build = _FINDER.build if _FINDER is not None else None
    where = build.directory if build is not None else Path(wasmobj.__file__ or "").parent
    return f"compiled ({where})"


def is_compiled(module: ModuleType) -> bool:
    """Whether `module` was loaded from an extension file."""
    origin = module.__file__ or ""
    return any(origin.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES)
