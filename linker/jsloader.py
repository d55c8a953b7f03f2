"""The JS loader outputs of a link (`--emit-js prog.mjs`, or `-o prog.mjs`).

As Asterius writes a per-program stub script beside its common `rts.js`,
a link that asks for JavaScript writes, next to the `.wasm`:

* `prog.mjs`, a small per-program ES module: the `.wasm` URL relative to
  itself, the C signatures of the program's foreign imports and exports
  (`meta`), `instantiate(options)`, and, when Node runs it directly
  (`node prog.mjs ARGS...`), the program as a command;
* `prog.d.mts`, its TypeScript declarations;
* `irld-runtime.mjs` and `irld-runtime.d.mts`, the common runtime shipped in
  `linker/host/js/` and copied unchanged (docs/js.md), with the two files it
  imports only when needed: `irld-trap.mjs` (describing a trap, with the IR
  locations of the program's source map) and `irld-command.mjs` (the stub
  run as a command by Node); a page loads neither unless it describes a trap;
* `irld-dylink.mjs`, the dynamic loader, only when the program imports
  `env.dlopen` or its friends (the runtime loads it on demand; docs/dynamic.md).

`meta` gives each foreign import (`imports[module][field]`) and foreign
export (`exports[name]`) as letters of `linker.ir.ctypes` keys, one per
lowered wasm value: the result first (`v` for none or sret), then the
parameters (`p` for a pointer, a struct passed by pointer, an sret pointer
or a varargs buffer; `l` for each half of a long double).  The runtime
converts with them: unsigned 32-bit and pointers as non-negative numbers,
64-bit integers as BigInt.
"""

from __future__ import annotations

import json
import os
import posixpath
import urllib.parse
from pathlib import Path
from typing import Any

from linker.ir.ctypes import CKind, CSig, is_empty, returns_via_sret, singleton_scalar
from linker.linker_symbols import is_linker_object
from linker.marklive import LiveSet
from linker.store.objfile import EntityKind

RUNTIME_DIR = Path(__file__).resolve().parent / "host" / "js"
RUNTIME_NAME = "irld-runtime.mjs"
RUNTIME_JS = RUNTIME_DIR / RUNTIME_NAME
RUNTIME_DTS = RUNTIME_DIR / "irld-runtime.d.mts"
# every file of the common runtime, copied beside each stub
RUNTIME_FILES = (RUNTIME_JS, RUNTIME_DTS, RUNTIME_DIR / "irld-trap.mjs",
                 RUNTIME_DIR / "irld-command.mjs")
DYLINK_JS = RUNTIME_DIR / "irld-dylink.mjs"
DL_FUNCTIONS = frozenset({"dlopen", "dlsym", "dlclose", "dlerror"})
JS_SUFFIXES = (".mjs",)


def output_paths(output: str | None, emit_js: str | None) -> tuple[str | None, str | None]:
    """(wasm path, JS stub path) of a link: `-o prog.mjs` means prog.wasm beside it;
    `--emit-js prog.mjs` alone also writes prog.wasm beside it."""
    if output is not None and output.endswith(JS_SUFFIXES):
        return os.path.splitext(output)[0] + ".wasm", emit_js or output
    if emit_js is not None and output is None:
        return os.path.splitext(emit_js)[0] + ".wasm", emit_js
    return output, emit_js


def sig_letters(sig: CSig) -> str:
    """The result letter, then one letter per lowered wasm parameter (module docstring)."""
    out = []
    if returns_via_sret(sig.ret):
        out += ["v", "p"]
    elif is_empty(sig.ret):
        out.append("v")
    else:
        scalar = singleton_scalar(sig.ret)
        assert scalar is not None
        out.append(scalar.key())
    for t in sig.fixed_params:
        if is_empty(t):
            continue
        scalar = singleton_scalar(t)
        if scalar is None:
            out.append("p")
        elif scalar.kind is CKind.LONGDOUBLE:
            out += ["l", "l"]
        else:
            out.append(scalar.key())
    if sig.variadic:
        out.append("p")
    return "".join(out)


def foreign_meta(live: LiveSet, exported: set[str]) -> dict[str, dict[str, Any]]:
    """The C signatures of the live foreign imports and of the exported foreign exports."""
    imports: dict[str, dict[str, str]] = {}
    for rec, _reason in live.live.values():
        if rec.kind is EntityKind.FOREIGN_IMPORT:
            module, field, sig = rec.info
            imports.setdefault(module, {})[field] = sig_letters(sig)
    exports = {name: sig_letters(sig) for obj in live.objects if not is_linker_object(obj.name)
               for name, _sym, sig in obj.foreign_exports if name in exported}
    return {"imports": dict(imports), "exports": exports}


def stub_text(stub_path: str, wasm_path: str, meta: dict[str, dict[str, Any]]) -> str:
    """The per-program ES module (its `.wasm` is found relative to the stub's own URL)."""
    rel = os.path.relpath(os.path.abspath(wasm_path), os.path.dirname(os.path.abspath(stub_path)))
    url = urllib.parse.quote(posixpath.join(*rel.split(os.sep)))
    if not url.startswith("."):
        url = "./" + url
    name = os.path.basename(stub_path)
    return f"""\
// {name}: the JS loader of {os.path.basename(wasm_path)}, written by `irld link --emit-js` (docs/js.md).
//   node {name} ARGS...   runs the program as `irld run` does (output, exit status)
//   const prog = await instantiate({{ args, env, imports, stdout, stderr, stdin, files }});
//   prog.run() returns the exit status; prog.exports[C name](...) calls a foreign export
import * as irld from './{RUNTIME_NAME}';

export {{ ExitError, PanicError }} from './{RUNTIME_NAME}';
export const wasmUrl = new URL({json.dumps(url)}, import.meta.url);
export const meta = {json.dumps(meta, sort_keys=True)};

export function instantiate(options = {{}}) {{
  return irld.instantiate(options.source ?? wasmUrl, {{ ...options, meta }});
}}

await irld.runMain(import.meta.url, wasmUrl, meta);
"""


def stub_declarations() -> str:
    return f"""\
import type {{ Options, Program }} from './{RUNTIME_NAME}';
export {{ ExitError, PanicError }} from './{RUNTIME_NAME}';
export declare const wasmUrl: URL;
export declare const meta: {{
  imports: Record<string, Record<string, string>>;
  exports: Record<string, string>;
}};
/** Instantiate this program; `source` overrides where its .wasm comes from. */
export declare function instantiate(
  options?: Omit<Options, 'meta'> & {{ source?: string | URL | BufferSource | WebAssembly.Module }},
): Promise<Program>;
"""


def loader_outputs(stub_path: str, wasm_path: str, live: LiveSet,
                   exported: set[str]) -> list[tuple[str, bytes]]:
    """Every file of the JS loader, as (path, bytes), in a fixed order."""
    directory = os.path.dirname(stub_path)
    base = os.path.splitext(stub_path)[0]
    meta = foreign_meta(live, exported)
    return [
        (stub_path, stub_text(stub_path, wasm_path, meta).encode()),
        (base + ".d.mts", stub_declarations().encode()),
        *((os.path.join(directory, f.name), f.read_bytes()) for f in RUNTIME_FILES),
    ] + ([(os.path.join(directory, DYLINK_JS.name), DYLINK_JS.read_bytes())]
         if imports_dl(live) else [])


def imports_dl(live: LiveSet) -> bool:
    """Whether the program imports `env.dlopen` or its friends (the host's loader)."""
    return any(rec.kind in (EntityKind.IMPORT, EntityKind.FOREIGN_IMPORT)
               and rec.info[0] == "env" and rec.info[1] in DL_FUNCTIONS
               for rec, _reason in live.live.values())
