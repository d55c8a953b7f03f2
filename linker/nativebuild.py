"""Build the optional mypyc-compiled modules: ``python -m linker.nativebuild``.

mypyc (part of mypy) compiles the unchanged sources of `linker.native.COMPILED`
to C extension modules; `linker.native` loads them instead of the pure modules
when they match the sources.  There is no second implementation: the compiled
modules are these sources, type-checked (strict) and translated.

The build goes to ``build/native/<key>/``, where the key hashes the SHA-256 of
the list of compiled modules, every dependent source (`dependencies`: the compiled modules and every project
module they import, transitively, found by parsing their imports, so a new
import cannot be missed), mypy's version, the Python ABI and this file.  A
build whose key exists and still matches is not redone.  The directory holds
the extension files (``linker/store/wasmobj.<abi>.so`` ..., and the shared
``<hash>__mypyc.<abi>.so``) and ``manifest.json``, written last:
``{"abi", "mypy", "key", "modules": {name: file}, "sources": {module: sha256},
"stamps": {module: [size, mtime_ns]}}`` (the stamps let a link skip hashing
an unchanged source; a build that is found up to date gets fresh stamps).
Scratch files (generated C, objects, mypy's cache, the log of mypyc and the
C compiler, ``build.log``) go to ``build/native-work``.
Other builds are removed after a successful one.

Exit status 0 when a matching build exists afterwards, 1 when mypy, mypyc or
the C compiler failed (the message says why; the pure modules still work).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib
import importlib.machinery
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

from linker.native import (COMPILED, MANIFEST, NATIVE_DIR, ROOT, abi_tag, check_build,
                           file_sha256, file_stamp, source_path)

PROJECT_PACKAGES = ("linker", "relooper")
WORK_DIR = ROOT / "build" / "native-work"
LOG = WORK_DIR / "build.log"


def is_project_module(module: str) -> bool:
    """Whether `module` is one of the project's modules with a source file."""
    if module.split(".")[0] not in PROJECT_PACKAGES:
        return False
    return source_path(module).is_file()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` names (relative ones resolved)."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".")
    if not source_path(module).name == "__init__.py":
        package = package[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def direct_imports(module: str) -> set[str]:
    """The project modules `module`'s source imports (anywhere, TYPE_CHECKING too)."""
    tree = ast.parse(source_path(module).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if is_project_module(m)}


def dependencies(modules: Iterable[str] = COMPILED) -> list[str]:
    """`modules` and every project module they import, transitively, sorted."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(direct_imports(module) - seen)
    return sorted(seen)


def source_hashes(modules: Iterable[str]) -> dict[str, str]:
    """module -> SHA-256 of its source."""
    hashes: dict[str, str] = {}
    for module in modules:
        digest = file_sha256(source_path(module))
        if digest is None:
            raise OSError(f"cannot read {source_path(module)}")
        hashes[module] = digest
    return hashes


def build_key(sources: dict[str, str]) -> str:
    """The build directory's name: a hash of everything the build depends on."""
    parts = {"compiled": COMPILED, "sources": sources, "mypy": version("mypy"), "abi": abi_tag(),
             "nativebuild": file_sha256(Path(__file__))}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _module_name(lib: Path, path: Path) -> str | None:
    """The module an extension file under `lib` holds (None if not an extension)."""
    rel = path.relative_to(lib).as_posix()
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if rel.endswith(suffix):
            return rel[:-len(suffix)].replace("/", ".")
    return None


def compile_modules(lib: Path) -> None:
    """Run mypyc on `COMPILED` and the C compiler, extension files under `lib`."""
    os.environ["MYPY_CACHE_DIR"] = str(WORK_DIR / "mypy-cache")
    from mypyc.build import mypycify
    setuptools: Any = importlib.import_module("setuptools")     # no type stubs installed

    shutil.rmtree(WORK_DIR / "c", ignore_errors=True)         # another build's C
    paths = [str(source_path(m).relative_to(ROOT)) for m in COMPILED]
    # One C file per module (`multi_file`), compiled side by side: the shared
    # library as one file was a single 13 MB compile on one core.
    extensions = mypycify(paths, opt_level="3", target_dir=str(WORK_DIR / "c"), multi_file=True)
    dist = setuptools.Distribution({"name": "irld-native", "ext_modules": extensions})
    command = dist.get_command_obj("build_ext")
    setattr(command, "build_lib", str(lib))
    setattr(command, "build_temp", str(WORK_DIR / "tmp"))
    build_extensions = command.build_extensions

    def build_in_parallel() -> None:
        _compile_in_parallel(command.compiler, os.cpu_count() or 1)
        build_extensions()
    command.build_extensions = build_in_parallel
    dist.run_command("build_ext")


def _compile_in_parallel(cc: Any, jobs: int) -> None:
    """Make the C compiler object `cc` compile an extension's sources side by
    side: distutils compiles them one after another (its `CCompiler.compile`,
    whose steps this follows)."""
    import concurrent.futures

    def compile_sources(sources: list[str], output_dir: str | None = None,
                        macros: Any = None, include_dirs: Any = None, debug: bool = False,
                        extra_preargs: Any = None, extra_postargs: Any = None,
                        depends: Any = None) -> list[str]:
        macros, objects, extra_postargs, pp_opts, build = cc._setup_compile(
            output_dir, macros, include_dirs, sources, depends, extra_postargs)
        cc_args = cc._get_cc_args(pp_opts, debug, extra_preargs)

        def one(obj: str) -> None:
            src, ext = build[obj]
            cc._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            list(pool.map(one, [o for o in objects if o in build]))
        return list(objects)
    cc.compile = compile_sources


@contextlib.contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (the C compiler's too) to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(log, "wb") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def source_stamps(modules: Iterable[str]) -> dict[str, list[int]]:
    """module -> its source's [size, mtime_ns], taken before the hashing (`linker.native`)."""
    stamps: dict[str, list[int]] = {}
    for module in modules:
        stamp = file_stamp(source_path(module))
        if stamp is not None:
            stamps[module] = stamp
    return stamps


def write_manifest(directory: Path, key: str, sources: dict[str, str],
                   stamps: dict[str, list[int]]) -> None:
    """Name every extension file under `directory` and the sources they match."""
    modules: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        name = _module_name(directory, path)
        if name is not None:
            modules[name] = path.relative_to(directory).as_posix()
    manifest = {"abi": abi_tag(), "mypy": version("mypy"), "key": key,
                "modules": modules, "sources": sources, "stamps": stamps}
    scratch = directory / f"{MANIFEST}.tmp{os.getpid()}"
    scratch.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(scratch, directory / MANIFEST)       # a link reading it sees old or new


def prune(keep: Path) -> None:
    """Remove every build but `keep`."""
    for other in NATIVE_DIR.iterdir():
        if other != keep and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)


def build() -> Path:
    """Build (unless a matching build exists) and return the build's directory."""
    modules = dependencies()
    stamps = source_stamps(modules)
    sources = source_hashes(modules)
    key = build_key(sources)
    target = NATIVE_DIR / key
    if check_build(target) is not None:
        write_manifest(target, key, sources, stamps)
        return target
    scratch = NATIVE_DIR / f"{key}.tmp{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        with output_to(LOG):
            compile_modules(scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    if source_hashes(sources) != sources:
        shutil.rmtree(scratch, ignore_errors=True)
        raise RuntimeError("a source changed during the build; run it again")
    write_manifest(scratch, key, sources, stamps)
    shutil.rmtree(target, ignore_errors=True)
    scratch.rename(target)
    prune(target)
    return target


def _log_tail(lines: int = 15) -> str:
    """The end of the build log (the compiler's or mypy's complaint)."""
    try:
        return "\n".join(LOG.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def main() -> int:
    start = time.perf_counter()
    try:
        target = build()
    except (Exception, SystemExit) as exc:      # mypy's errors exit; gcc's raise
        print(_log_tail(), file=sys.stderr)
        print(f"irld: native build failed ({exc!r}, log in {LOG}); "
              "the pure-Python modules are used", file=sys.stderr)
        return 1
    print(f"irld: compiled modules in {target.relative_to(ROOT)} "
          f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
