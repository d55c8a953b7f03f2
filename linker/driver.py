"""The link driver: a flat list of phases, each a timed function (lld's `Writer::run`).

`link(options)` runs `PHASES` in order on one `LinkContext`; each phase reads
what earlier phases left on the context and adds its own result.  A phase
that finds problems raises one `DiagnosticError` holding all of them; a
phase with nothing to do (e.g. the gc-sections listing when not asked for)
returns at once.  Later work (decoding live bodies, FFI, layout, resolution,
code generation, emission, the report) adds phases to the list.

The cyclic garbage collector is paused while the phases run (`linker.gcpause`):
a link allocates hundreds of thousands of long-lived index records (each in
a cycle with its object file), and the collector re-walking that growing
heap cost as much as the work itself (discovery of 100,000 entities: about
1.7 s with it, 0.8 s without; `benchmarks/store_discovery.py`).  Reference
counting still frees everything acyclic; the cycles live as long as the
store anyway.

Current phases:

1. find inputs: `-l NAME` finds `libNAME.a` (or `NAME.a`) in the `-L`
   directories, each directory in order;
2. open store: object and archive indices only (`linker.store.store`);
3. discover: the live set from the roots (`linker.marklive`);
4. check symbols: duplicate definitions (including those in archive members
   pulled during discovery), a missing entry, undefined symbols: all
   reported in one error;
5. gc sections: with `print_gc_sections`, the dead entities of every loaded
   object;
6. check types: the entry's type, and every cross-object call against the
   definition (`linker.program`);
7. ffi: what the FFI must generate (live signatures with their link-time
   ids, runtime functions, adapters) and the checks only the linker can make
   (`linker.ffi.plan`, the one owner of signature ids);
8. decode: the live program emission works on (`linker.program`): records
   of the live functions and data, decoding no IR unless a later phase asks;
9. lto: with `--lto`, the whole-program passes on the live IR, which emission
   then generates code for (`linker.lto`); C code is untouched;
10. emit: layout, then each live function's compiled code copied and its
   relocations patched (`linker.relocate`), or, in a tail-call mode other
   than the objects' (trampoline), code generated again from the IR; the
   linker's own functions (`linker.writer`);
11. encode: the wasm binary (`linker.wasm`);
12. write: the output (and `--emit-wat`), atomically; nothing is written
    when any phase failed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from linker.diagnostics import Diagnostic, DiagnosticError, errors_only
from linker.gcpause import no_cyclic_gc
from linker.conventions import TailCallMode
from linker.ffi.plan import DEFAULT_CLOSURE_POOL, RUNTIME_FUNCS, FfiOptions, FfiPlan, plan_ffi
from linker.jsloader import loader_outputs, output_paths
from linker.layout import LTO_ZERO_GAP, ZERO_GAP, LayoutError
from linker.linker_symbols import CALL_DTORS, linker_archive
from linker.marklive import (LiveSet, deferred_error_warnings, discover, gc_section_lines,
                             undefined_diagnostics)
from linker.output import OutputSet, declare_inputs, stage_outputs
from linker.output import active as active_outputs
from linker.program import (RESERVED_EXPORT_PREFIX, RESERVED_EXPORTS, build_program, entry_diagnostics, export_diagnostics,
                            signature_diagnostics)
from linker.store.store import StoreCounts, Store
from linker.store.objfile import EntityKind
from linker.store.wasm_input import object_from_buffer
from linker.wasm.encode import encode_module
from linker.writer import EmitOptions, EmitResult, LinkError, LiveProgram, emit_program

if TYPE_CHECKING:
    # Imported by the lto phase only: the passes bring the interpreter's semantics, and a
    # link without --lto should not pay for importing them.
    from linker.lto import LtoReport
    from linker.ffi.gen import FfiReport


@attrs.frozen(slots=True)
class LinkOptions:
    """Everything a link needs; the CLI flags map one to one onto these fields.

    `entry`: the entry symbol, None for `--no-entry`.  `exports`: symbols to
    export and keep (`--export`).  `roots`: symbols to keep (`--root`).
    `runtime_symbols`: what the linker's own runtime needs (roots too).
    `allow_undefined`: an undefined function a live entity references
    becomes a host import `"env" "<name>"` typed by the referencing module's
    `extern func` declaration; any other undefined symbol becomes the
    address of a stub that panics when used (see `linker.marklive`).
    `libraries` (`-l`) are searched in `library_paths` (`-L`) and go after
    the inputs, in order."""

    inputs: tuple[str, ...]
    output: str | None = None
    entry: str | None = "main"
    exports: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()
    runtime_symbols: tuple[str, ...] = ()
    allow_undefined: bool = False
    allowed_undefined: tuple[str, ...] = ()   # --allow-undefined-file: these symbols only
    print_gc_sections: bool = False
    library_paths: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()
    verbose: bool = False
    tail_calls: TailCallMode = TailCallMode.NATIVE
    data_base: int = attrs.field(default=1024, validator=lambda _i, _a, v: _check_data_base(v))
    initial_memory: int | None = None
    max_memory: int | None = None
    emit_wat: str | None = None
    ffi_exhaustive: int | None = None       # --ffi=exhaustive:N (None: specialized)
    ffi_closure_pool: int = DEFAULT_CLOSURE_POOL
    # --closure-growth=host: exhausted closure pools grow through the host import
    # irld.closure_table_grow (on by itself with emit_js); off, the output is plain WASI.
    closure_growth: bool = False
    # --emit-js FILE.mjs (or -o FILE.mjs): the JS loader beside the wasm (linker.jsloader)
    emit_js: str | None = None
    # Benchmark/test hook (hidden `--eager-decode`): the open-store phase decodes
    # every body of every input object and archive member up front and keeps
    # them, as an eager linker does, so the cost of not being lazy can be
    # measured (`benchmarks/run.py`).  The link's output does not change.
    eager_decode: bool = False
    # Relocation sites at their minimal width in the output (wasm-ld's
    # --compress-relocations, which irld does by default: no output keeps
    # offsets into code that would move).
    compress_relocations: bool = True
    whole_archives: tuple[str, ...] = ()   # every member loaded, as objects (--whole-archive)
    stack_size: int = 65536                # -z stack-size=, when C's stack pointer is live
    stack_first: bool = False              # --stack-first
    strip_all: bool = False                # --strip-all: no name section
    report_html: str | None = None         # --report-html FILE: the interactive report page
    strip_debug: bool = False              # --strip-debug: no .debug_* sections
    export_all: bool = False               # --export-all
    export_dynamic: bool = False           # --export-dynamic
    import_memory: bool = False            # --import-memory: env.memory, not defined
    ffi_signatures: tuple[str, ...] = ()   # --ffi-signatures FILE: C signatures for libffi
    ffi_fallback_host: bool = False        # --ffi-fallback=host: the host calls the rest
    source_map: str | None = None          # --source-map FILE: a v3 map to IR locations
    checked: bool = False                  # --checked: IR code checks memory and calls
    instrument: bool = False               # --instrument: IR code reports calls to the host
    lto: bool = False                      # --lto (or -O1/-O2/-Os): passes on the live IR
    lto_passes: tuple[str, ...] | None = None   # --lto-passes=a,b (None: the default pipeline)
    shared: bool = False                   # --shared: a side module (linker.shared)
    needed: tuple[str, ...] = ()           # --needed: libraries in the side module's dylink.0
    pie: bool = False                      # --pie: a position-independent main (linker.shared)
    split: tuple[str, ...] = ()            # --split=ROOTS: cold code to a secondary (linker.split)
    # --cache-dir DIR: what reading and discovery compute per C object, kept between
    # links (linker.store.objcache); the output is the same with and without it.
    cache_dir: str | None = None


def _check_data_base(value: int) -> None:
    if not 1 <= value < 1 << 32:
        raise ValueError(f"data_base {value} out of range: at least 1 (address 0 is the "
                         "null pointer) and below 2**32")


@attrs.frozen(slots=True)
class PhaseTiming:
    """A phase's wall time, and the process's peak resident set size (KiB,
    `getrusage` `ru_maxrss`, a high-water mark) when the phase ended."""

    name: str
    seconds: float
    peak_rss_kb: int = 0


@attrs.define(slots=True)
class LinkContext:
    """Mutable state threaded through the phases."""

    options: LinkOptions
    input_paths: list[str] = attrs.field(factory=list)
    store: Store | None = None
    live: LiveSet | None = None
    warnings: list[Diagnostic] = attrs.field(factory=list)
    gc_sections: list[str] = attrs.field(factory=list)
    ffi_plan: FfiPlan | None = None
    exports: tuple[str, ...] = ()          # --export, plus --export-all/--export-dynamic's
    program: LiveProgram | None = None
    emitted: EmitResult | None = None
    wasm: bytes | None = None
    eager_bodies: list[object] = attrs.field(factory=list)   # LinkOptions.eager_decode
    source_map: bytes | None = None        # LinkOptions.source_map: the map's JSON
    lto: LtoReport | None = None

    def require_store(self) -> Store:
        assert self.store is not None, "phase order: store not opened"
        return self.store

    def require_live(self) -> LiveSet:
        assert self.live is not None, "phase order: discovery not run"
        return self.live


@attrs.frozen(slots=True)
class LinkResult:
    store: Store
    live: LiveSet
    timings: tuple[PhaseTiming, ...]
    warnings: tuple[Diagnostic, ...]
    gc_sections: tuple[str, ...]
    program: LiveProgram | None = None
    emitted: EmitResult | None = None
    wasm: bytes | None = None
    lto: LtoReport | None = None

    @property
    def counts(self) -> StoreCounts:
        return self.store.counts()

    @property
    def ffi(self) -> FfiReport | None:
        """Per live C signature: its users and the bytes of its handler and pool."""
        return None if self.emitted is None else self.emitted.ffi


# ---------------------------------------------------------------- phases


def find_inputs(ctx: LinkContext) -> None:
    opts = ctx.options
    ctx.input_paths = list(opts.inputs)
    errors = []
    for lib in opts.libraries:
        path = find_library(lib, opts.library_paths)
        if path is None:
            # irld's own libffi (linker.ffi.library, which imports subprocess and tempfile
            # to build it: here, not at the top); position independent for side modules
            from linker.ffi import library
            if lib == library.NAME:
                path = library.library_path(pic=opts.shared or opts.pie)
        if path is None:
            where = ", ".join(opts.library_paths) if opts.library_paths else "no -L directory"
            errors.append(Diagnostic.error(
                f"unable to find library -l{lib} (looked for lib{lib}.a and {lib}.a "
                f"in {where})"))
        else:
            ctx.input_paths.append(path)
    if errors:
        raise DiagnosticError(errors)
    declare_inputs(ctx.input_paths)     # an output may not be an -l library either


def find_library(name: str, dirs: tuple[str, ...]) -> str | None:
    """`-l NAME`: the first `libNAME.a` or `NAME.a` in the directories, in order."""
    for d in dirs:
        for candidate in (f"lib{name}.a", f"{name}.a"):
            path = os.path.join(d, candidate)
            if os.path.isfile(path):
                return path
    return None


def open_store(ctx: LinkContext) -> None:
    cache = None
    if ctx.options.cache_dir:
        from linker.store.objcache import IndexCache
        cache = IndexCache(ctx.options.cache_dir)
    ctx.store = Store.open(ctx.input_paths, whole_archives=ctx.options.whole_archives,
                           cache=cache)
    ctx.store.fallbacks.append(linker_archive(RUNTIME_FUNCS, stats=ctx.store.stats))
    if ctx.options.eager_decode:
        ctx.eager_bodies = eager_decode_all(ctx.store)


def eager_decode_all(store: Store) -> list[object]:
    """Every body of every loaded object and of every archive member (each
    member read as its own object, so the archive's lazy pulling is unchanged):
    the eager baseline of `LinkOptions.eager_decode`."""
    objs = list(store.objects)
    for ar in store.archives:
        objs += [object_from_buffer(ar.buf, m.offset, m.length, ar.member_label(i),
                                        store.stats) for i, m in enumerate(ar.members)]
    return [obj.body(rec) for obj in objs for rec in obj.records
            if rec.kind in (EntityKind.FUNC, EntityKind.DATA)]


# What a position-independent module imports from its loader (linker.shared); clang's
# -fPIC code reads them as globals, for addresses of its own data and functions.
PIC_BASES = frozenset({"__memory_base", "__table_base"})


def discover_live(ctx: LinkContext) -> None:
    opts = ctx.options
    ctx.exports = opts.exports + dynamic_exports(ctx.require_store(), opts)
    store = ctx.require_store()
    # wasm-ld's command semantics: libc's dtors run when the entry returns
    # (`linker_symbols.CALL_DTORS`); resolve() pulls the member defining them.
    dtors = (CALL_DTORS,) if (opts.entry is not None and not opts.shared
                              and store.resolve(CALL_DTORS) is not None) else ()
    ctx.live = discover(store, entry=opts.entry, exports=ctx.exports,
                        roots=opts.roots, runtime=opts.runtime_symbols, after_entry=dtors,
                        allow_undefined=opts.allow_undefined,
                        allowed_undefined=frozenset(opts.allowed_undefined),
                        provided=PIC_BASES if opts.shared or opts.pie else frozenset())


def dynamic_exports(store: Store, opts: LinkOptions) -> tuple[str, ...]:
    """`--export-all`: every defined function and data symbol of the loaded inputs
    that is not local; `--export-dynamic`: those of them not hidden (wasm-ld's
    default visibility).  Exported means kept alive too."""
    if not (opts.export_all or opts.export_dynamic):
        return ()
    names: dict[str, None] = {}
    for obj in store.objects:
        for rec in obj.records:
            if (rec.kind in (EntityKind.FUNC, EntityKind.DATA) and not rec.private
                    and rec.name not in opts.exports and rec.name not in RESERVED_EXPORTS
                    and not rec.name.startswith(RESERVED_EXPORT_PREFIX) and (opts.export_all or not rec.hidden)
                    and store.defined.get(rec.name) is rec):
                names[rec.name] = None
    return tuple(names)


def check_symbols(ctx: LinkContext) -> None:
    store, live = ctx.require_store(), ctx.require_live()
    errors = store.duplicate_diagnostics() + undefined_diagnostics(live)
    if errors:
        raise DiagnosticError(errors)
    ctx.warnings.extend(deferred_error_warnings(live))


def gc_sections(ctx: LinkContext) -> None:
    if ctx.options.print_gc_sections:
        ctx.gc_sections = gc_section_lines(ctx.require_store(), ctx.require_live())


def check_types(ctx: LinkContext) -> None:
    live = ctx.require_live()
    found = (entry_diagnostics(live, ctx.options.entry) + signature_diagnostics(live)
             + export_diagnostics(live, ctx.exports))
    errors = errors_only(found)
    if errors:
        raise DiagnosticError(errors)
    ctx.warnings.extend(d for d in found if d not in errors)


def ffi(ctx: LinkContext) -> None:
    opts = ctx.options
    plan, errors = plan_ffi(ctx.require_live(),
                            FfiOptions(opts.ffi_exhaustive, opts.ffi_closure_pool,
                                       closure_growth(opts), opts.ffi_signatures,
                                       opts.ffi_fallback_host))
    if errors:
        raise DiagnosticError(errors)
    ctx.ffi_plan = plan


def closure_growth(opts: LinkOptions) -> bool:
    """Whether exhausted closure pools grow through the host: `--closure-growth=host`,
    or a JS loader is written (its runtime implements the growth import)."""
    return opts.closure_growth or output_paths(opts.output, opts.emit_js)[1] is not None


def decode(ctx: LinkContext) -> None:
    assert ctx.ffi_plan is not None, "phase order: FFI not planned"
    ctx.program = build_program(ctx.require_store(), ctx.require_live(), ctx.ffi_plan,
                                ctx.options.entry, ctx.exports)


def lto(ctx: LinkContext) -> None:
    """--lto: the whole-program passes on the live IR (`linker.lto`)."""
    opts = ctx.options
    if not opts.lto:
        return
    assert ctx.program is not None, "phase order: program not decoded"
    from linker.lto import PASSES, default_pipeline, run_lto, unknown_passes
    passes = (default_pipeline(opts.tail_calls is TailCallMode.TRAMPOLINE)
              if opts.lto_passes is None else opts.lto_passes)
    bad = unknown_passes(passes)
    if bad:
        raise DiagnosticError([Diagnostic.error(
            f"unknown LTO pass: {name} (known: {', '.join(sorted(PASSES))})") for name in bad])
    # `_start` as IR (linker.lto.start), except where another writer makes it
    # (linker.shared: --shared, --pie) or --instrument traces the entry as a function.
    ctx.program, ctx.lto = run_lto(ctx.program, passes, measure=opts.verbose,
                                   ir_start=not (opts.instrument or opts.checked or opts.shared))


def emit(ctx: LinkContext) -> None:
    opts = ctx.options
    assert ctx.program is not None, "phase order: program not decoded"
    try:
        ctx.emitted = emit_program(ctx.program, EmitOptions(
            tail_calls=opts.tail_calls, data_base=opts.data_base,
            initial_memory=opts.initial_memory, max_memory=opts.max_memory,
            compress_relocations=opts.compress_relocations and not keeps_debug(ctx),
            stack_size=opts.stack_size,
            stack_first=opts.stack_first, names=not opts.strip_all,
            import_memory=opts.import_memory, lines=opts.source_map is not None,
            checked=opts.checked, instrument=opts.instrument, from_ir=opts.lto,
            zero_gap=LTO_ZERO_GAP if opts.lto else ZERO_GAP))
    except (LinkError, LayoutError) as exc:
        raise DiagnosticError([Diagnostic.error(str(exc))]) from None


def encode(ctx: LinkContext) -> None:
    assert ctx.emitted is not None, "phase order: nothing emitted"
    ctx.wasm = encode_module(ctx.emitted.module)


def keeps_debug(ctx: LinkContext) -> bool:
    """The output gets the C objects' DWARF (`linker/debuginfo.py`); then code
    offsets must not move, so relocation sites stay 5 bytes wide, as in wasm-ld."""
    opts = ctx.options
    if opts.strip_debug or opts.strip_all:
        return False
    from linker.debuginfo import debug_objects
    return bool(debug_objects(ctx.require_store()))


def debug_info(ctx: LinkContext) -> None:
    if not keeps_debug(ctx):
        return
    from linker.debuginfo import DebugInfoError, custom_section_bytes, debug_sections
    assert ctx.wasm is not None and ctx.emitted is not None
    try:
        sections = debug_sections(ctx.require_store(), ctx.require_live(), ctx.emitted,
                                  ctx.wasm)
    except DebugInfoError as exc:
        raise DiagnosticError([Diagnostic.error(exc.reason, file=exc.file)]) from None
    ctx.wasm += custom_section_bytes(sections)


def source_map(ctx: LinkContext) -> None:
    """`--source-map FILE`: the map (`linker.sourcemap`), and the module's
    `sourceMappingURL` section naming it relative to the output."""
    path = ctx.options.source_map
    if path is None:
        return
    assert ctx.wasm is not None and ctx.emitted is not None
    from linker import sourcemap
    map_dir = os.path.dirname(path)
    ctx.source_map = sourcemap.dumps(sourcemap.build(ctx.wasm, ctx.emitted.lines, map_dir))
    out_dir = os.path.dirname(ctx.options.output or path)
    url = os.path.relpath(os.path.abspath(path), os.path.abspath(out_dir or "."))
    ctx.wasm = sourcemap.with_url_section(ctx.wasm, url.replace(os.sep, "/"))


def write_output(ctx: LinkContext) -> None:
    """Stage the wasm (and --emit-wat) in the command's output set, or write them
    together now when no command runs one (`linker.output`)."""
    opts = ctx.options
    assert ctx.wasm is not None and ctx.emitted is not None
    files: list[tuple[str, str, bytes]] = []
    wasm_path, js_path = output_paths(opts.output, opts.emit_js)
    js_flag = "--emit-js" if opts.emit_js is not None else "-o"
    if wasm_path is not None:
        files.append(("-o" if wasm_path == opts.output else js_flag, wasm_path, ctx.wasm))
    if js_path is not None and wasm_path is not None:
        exported = {e.name for e in ctx.emitted.module.exports}
        files += [(js_flag, path, data) for path, data in
                  loader_outputs(js_path, wasm_path, ctx.require_live(), exported)]
    if opts.source_map is not None and ctx.source_map is not None:
        files.append(("--source-map", opts.source_map, ctx.source_map))
    if opts.emit_wat is not None:
        from linker.wasm.wat import to_wat
        files.append(("--emit-wat", opts.emit_wat, to_wat(ctx.emitted.module).encode()))
    if opts.report_html is not None:
        files.append(("--report-html", opts.report_html, report_html_bytes(ctx)))
    stage_outputs(files, inputs=ctx.input_paths + list(opts.whole_archives))


def report_html_bytes(ctx: LinkContext) -> bytes:
    """The interactive HTML report of this link (`--report-html`, linker.report.htmlpage)."""
    from linker.report.build import build_report
    from linker.report.htmlpage import report_html
    result = LinkResult(ctx.require_store(), ctx.require_live(), (), tuple(ctx.warnings),
                        tuple(ctx.gc_sections), ctx.program, ctx.emitted, ctx.wasm)
    return report_html(build_report(result, ctx.options)).encode("utf-8")


def peak_rss_kb() -> int:
    """The process's peak resident set size so far, in KiB (Linux reports KiB,
    macOS bytes); 0 where `resource` is unavailable."""
    try:
        import resource
    except ImportError:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def command_outputs(options: LinkOptions) -> contextlib.AbstractContextManager[object]:
    """The outputs of a link from Python, checked before any work and committed
    together at the end; a command that made its own set (`irld link`) keeps it."""
    if active_outputs() is not None:
        return contextlib.nullcontext()
    return OutputSet(inputs=(*options.inputs, *options.whole_archives),
                     outputs=[("-o", options.output), ("--emit-wat", options.emit_wat)])


Phase = tuple[str, Callable[[LinkContext], None]]

PHASES: tuple[Phase, ...] = (
    ("find inputs", find_inputs),
    ("open store", open_store),
    ("discover", discover_live),
    ("check symbols", check_symbols),
    ("gc sections", gc_sections),
    ("check types", check_types),
    ("ffi", ffi),
    ("decode", decode),
    ("lto", lto),
    ("emit", emit),
    ("encode", encode),
    ("debug info", debug_info),
    ("source map", source_map),
    ("write", write_output),
)


def link(options: LinkOptions, phases: tuple[Phase, ...] = PHASES) -> LinkResult:
    """Run the phases in order; raises DiagnosticError (or ObjectError) on bad input."""
    if options.shared and options.lto:
        # Side modules and PIE mains are written from the objects' compiled code
        # (linker/shared.py); the bodies LTO changed would be ignored.
        kind = "--pie" if options.pie else "--shared"
        raise DiagnosticError([Diagnostic.error(
            f"--lto cannot be used with {kind}: side modules and position-independent "
            "mains are linked from compiled code only")])
    ctx = LinkContext(options)
    timings = []
    with command_outputs(options), no_cyclic_gc():
        for name, phase in phases:
            start = time.perf_counter()
            phase(ctx)
            timings.append(PhaseTiming(name, time.perf_counter() - start, peak_rss_kb()))
    if ctx.store is not None and ctx.store.cache is not None:
        ctx.store.cache.flush()     # after the outputs: the link succeeded
    return LinkResult(ctx.require_store(), ctx.require_live(), tuple(timings),
                      tuple(ctx.warnings), tuple(ctx.gc_sections), ctx.program, ctx.emitted,
                      ctx.wasm, ctx.lto)
