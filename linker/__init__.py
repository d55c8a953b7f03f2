"""irld: a whole-program WebAssembly linker (see DESIGN in the README).

The public Python API mirrors the command line::

    import linker

    objs = linker.compile_files(["a.ir", "b.ir"], out_dir="build")   # irld compile
    result = linker.link([*objs, "libstd.a"], "prog.wasm",         # irld link
                         tail_calls="trampoline", exports=["f"])
    result.wasm          # the module's bytes (also written to prog.wasm)
    result.warnings      # e.g. live deferred errors
    result.timings       # one PhaseTiming per driver phase

Both raise `linker.DiagnosticError` on bad input (its `str()` is the
rendered diagnostics, as the CLI prints them); `link` may also raise
`linker.store.objfile.ObjectError` for a corrupt object file.  To run the
result, see `linker.host.run` (wasmtime) and `linker.host.run_node`.

The heavy submodules are imported on first use, so `import linker` (and
importing `linker.ir` alone) stays cheap.  `linker.native` installs the
finder that loads the mypyc-compiled object reader when a matching build
exists (``make native``; ``IRLD_PURE=1`` forces the pure modules).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from linker import native as _native

_native.install()

__version__ = "0.1.0"

__all__ = ["DiagnosticError", "LinkOptions", "LinkResult", "TailCallMode", "compile_files",
           "compile_text", "link", "link_options"]

if TYPE_CHECKING:
    from linker.conventions import TailCallMode
    from linker.diagnostics import DiagnosticError
    from linker.driver import LinkOptions, LinkResult

_LAZY = {
    "DiagnosticError": ("linker.diagnostics", "DiagnosticError"),
    "LinkOptions": ("linker.driver", "LinkOptions"),
    "LinkResult": ("linker.driver", "LinkResult"),
    "TailCallMode": ("linker.codegen", "TailCallMode"),
}

# LinkOptions fields that hold sequences; the API accepts any iterable of strings.
_TUPLE_FIELDS = ("exports", "roots", "runtime_symbols", "library_paths", "libraries",
                 "whole_archives", "allowed_undefined", "ffi_signatures", "lto_passes")
_PATH_FIELDS = ("emit_wat", "report_html", "emit_js", "cache_dir")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'linker' has no attribute {name!r}")


def link_options(inputs: Iterable[str | os.PathLike[str]],
                 output: str | os.PathLike[str] | None = None,
                 **options: Any) -> LinkOptions:
    """The `LinkOptions` that `link` would use (see `link` for the keywords)."""
    import attrs

    from linker.conventions import TailCallMode
    from linker.driver import LinkOptions

    fields = {a.name for a in attrs.fields(LinkOptions)}
    unknown = sorted(set(options) - fields - {"inputs", "output"})
    if unknown or "inputs" in options or "output" in options:
        bad = unknown or [k for k in ("inputs", "output") if k in options]
        raise TypeError(f"link() got unexpected keyword argument(s): {', '.join(bad)}")
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    kw: dict[str, Any] = dict(options)
    for name in _TUPLE_FIELDS:
        if kw.get(name) is not None:
            value = kw[name]
            kw[name] = (value,) if isinstance(value, str) else tuple(os.fspath(v) for v in value)
    for name in _PATH_FIELDS:
        if kw.get(name) is not None:
            kw[name] = os.fspath(kw[name])
    if "tail_calls" in kw and not isinstance(kw["tail_calls"], TailCallMode):
        kw["tail_calls"] = TailCallMode(kw["tail_calls"])
    return LinkOptions(inputs=tuple(os.fspath(p) for p in inputs),
                       output=None if output is None else os.fspath(output), **kw)


def link(inputs: Iterable[str | os.PathLike[str]],
         output: str | os.PathLike[str] | None = None, **options: Any) -> LinkResult:
    """Link objects (.o) and archives (.a) into a wasm module, as `irld link` does.

    `inputs`: paths, objects first then archives (the same order rules as the
    CLI).  `output`: where to write the wasm (atomically); None writes nothing,
    the bytes are in `result.wasm` either way.  Keywords are the fields of
    `linker.driver.LinkOptions`, one per CLI flag:

    ===========================  ============================================
    `entry="main"`               `--entry NAME`; `entry=None` is `--no-entry`
    `exports=[...]`              `--export NAME` (exported and kept)
    `roots=[...]`                `--root NAME`
    `allow_undefined=False`      `--allow-undefined`
    `allowed_undefined=[...]`    `--allow-undefined-file FILE` (its symbols)
    `print_gc_sections=False`    `--print-gc-sections` (`result.gc_sections`)
    `library_paths=[...]`        `-L DIR`
    `libraries=[...]`            `-l NAME`
    `tail_calls="native"`        `--tail-calls native|trampoline` (a string or
                                 `linker.TailCallMode`)
    `data_base=1024`             `--data-base N`
    `initial_memory=None`        `--initial-memory BYTES`
    `max_memory=None`            `--max-memory BYTES`
    `emit_wat=None`              `--emit-wat FILE`
    `compress_relocations=True`  `--no-compress-relocations`: 5-byte sites
    `whole_archives=[...]`       `--whole-archive A.a --no-whole-archive`
    `stack_size=65536`           `-z stack-size=BYTES` (C's stack)
    `stack_first=False`          `--stack-first`
    `import_memory=False`        `--import-memory`
    `export_all=False`           `--export-all`
    `export_dynamic=False`       `--export-dynamic`
    `strip_all=False`            `--strip-all`
    `closure_growth=False`       `--closure-growth=host` (pools grow via host)
    `emit_js=None`               `--emit-js FILE.mjs` (the JS loader)
    `strip_debug=False`          `--strip-debug` (no DWARF of C objects)
    `source_map=None`            `--source-map FILE`
    `checked=False`              `--checked`
    `instrument=False`           `--instrument` (trace hooks)
    `lto=False`                  `--lto` (also `-O1`/`-O2`/`-Os`)
    `lto_passes=None`            `--lto-passes a,b,...` (needs `lto=True`)
    `cache_dir=None`             `--cache-dir DIR`: C objects' index cache
                                 (docs/objects.md; the CLI's default is
                                 $IRLD_INDEX_CACHE_DIR, the API reads no
                                 variable)
    ===========================  ============================================

    Returns the driver's `LinkResult` (`wasm`, `warnings`, `timings`, `live`,
    `store`, `program`, `emitted`, `gc_sections`).  Raises
    `DiagnosticError` on bad input, `TypeError` for an unknown keyword and
    `ValueError` for an unknown tail-call mode.  Warnings are returned, not
    printed.
    """
    from linker import driver
    return driver.link(link_options(inputs, output, **options))


def compile_text(text: str, filename: str = "<string>") -> bytes:
    """Parse, verify and compile IR text; return the object file's bytes.

    Raises `DiagnosticError` with every error of the text."""
    from linker.compile import compile_module
    from linker.ir.parser import parse_module_checked
    return compile_module(*parse_module_checked(text, filename))


def compile_files(sources: Iterable[str | os.PathLike[str]],
                  out_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Compile IR files to object files, as `irld compile [--out-dir DIR]` does.

    Each `x.ir` becomes `x.o` next to it, or in `out_dir` (created if
    missing).  Returns the object paths in input order.  Every input is
    compiled before errors are raised, as one `DiagnosticError` holding the
    diagnostics of all failed inputs; a failed input writes no object."""
    from linker.output import OutputSet, write_file_atomic
    from linker.diagnostics import DiagnosticError

    outputs: list[str] = []
    errors: list[Any] = []
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
    for src in sources:
        src = os.fspath(src)
        stem = os.path.splitext(os.path.basename(src))[0]
        where = os.path.dirname(src) if out_dir is None else os.fspath(out_dir)
        out = os.path.join(where, stem + ".o")
        OutputSet(inputs=[src], outputs=[("output", out)])   # never overwrite the source
        with open(src, encoding="utf-8") as fh:
            text = fh.read()
        try:
            data = compile_text(text, src)
        except DiagnosticError as exc:
            errors.extend(exc.diagnostics)
            continue
        write_file_atomic(out, data)
        outputs.append(out)
    if errors:
        raise DiagnosticError(errors)
    return outputs
