"""Helpers of tests/js: build the examples, run a wasm on Node's own `node:wasi`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import attrs

import linker
from linker.cli.ar_cmd import create
from linker.compile import compile_module
from linker.demo import c_compiler, needs_libc
from linker.ir.parser import parse_module
from linker.toolchain import debian_libc

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIRS = sorted(d for d in (ROOT / "examples").iterdir()
                      if d.is_dir() and (d / "expected.out").exists())

# Node's own WASI and nothing else: the program must import only WASI.
PLAIN_NODE_WASI = """
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
const [path, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [path, ...args], env: {}, returnOnExit: true });
const module = new WebAssembly.Module(readFileSync(path));
const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport });
process.exitCode = wasi.start(instance);
"""


@attrs.frozen
class Example:
    name: str
    dir: Path                  # the example's sources
    objects: tuple[str, ...]   # its objects and the stdlib archive, ready for a link
    wasm: Path                 # linked with the default options
    args: tuple[str, ...]
    expected: bytes
    status: int


def build_examples(out: Path) -> dict[str, Example]:
    """Every example that can be built here (one needing wasi-libc only with Debian's)."""
    stdlib = out / "libstd.a"
    create(str(stdlib), linker.compile_files(sorted((ROOT / "stdlib").glob("*.ir")),
                                             out / "stdlib"))
    found = {}
    for d in EXAMPLE_DIRS:
        libc = debian_libc() if needs_libc(d) else None
        if needs_libc(d) and libc is None:
            continue
        cc = list(libc.cc) if libc is not None else c_compiler()
        work = out / d.name
        work.mkdir()
        objs = []
        for src in sorted(d.glob("*.ir")):
            obj = work / f"{src.stem}.o"
            obj.write_bytes(compile_module(parse_module(src.read_text(), str(src))))
            objs.append(str(obj))
        for src in sorted(d.glob("*.c")):
            obj = work / f"{src.stem}.o"
            subprocess.run([*cc, "-O1", "-c", str(src), "-o", str(obj)], check=True)
            objs.append(str(obj))
        members = []
        for src in sorted(d.glob("lib/*.c")):
            obj = work / f"lib_{src.stem}.o"
            subprocess.run([*cc, "-O1", "-c", str(src), "-o", str(obj)], check=True)
            members.append(str(obj))
        if members:
            create(str(work / f"lib{d.name}.a"), members)
            objs.append(str(work / f"lib{d.name}.a"))
        objs += [*(libc.libs if libc is not None else ()), str(stdlib)]
        wasm = work / f"{d.name}.wasm"
        linker.link(objs, wasm)
        args = (d / "args").read_text().split() if (d / "args").exists() else []
        status = int((d / "expected.exit").read_text()) if (d / "expected.exit").exists() else 0
        found[d.name] = Example(d.name, d, tuple(objs), wasm, tuple(args),
                                (d / "expected.out").read_bytes(), status)
    return found


def example(examples: dict[str, Example], name: str) -> Example:
    """The built example, or skip: it needs wasi-libc, which is not installed."""
    if name not in examples:
        import pytest
        pytest.skip(f"{name} needs Debian's wasi-libc and clang")
    return examples[name]


PROGRAMS = ("grow", "foreign", "panic", "echo", "files", "dynamic", "trace", "trap")
# Linked with --source-map (the map `NAME.wasm.map` beside the wasm): name -> the program
# of js_programs.py, compiled from `<program>.ir`.
MAPPED = {"deep": "DEEP", "maptrap": "TRAP"}


@attrs.frozen
class Site:
    dir: Path
    examples: dict[str, Example]


def build_site(examples: dict[str, Example], out: Path) -> Site:
    import js_programs
    stdlib = examples["hello"].objects[-1]
    for ex in examples.values():
        linker.link(ex.objects, emit_js=out / f"{ex.name}.mjs")
    for name in PROGRAMS:
        obj = out / f"{name}.o"
        obj.write_bytes(linker.compile_text(getattr(js_programs, name.upper()), f"{name}.ir"))
        linker.link([obj, stdlib], out / f"{name}.mjs")
    for name, program in MAPPED.items():
        obj = out / f"{name}.o"
        obj.write_bytes(linker.compile_text(getattr(js_programs, program), f"{program.lower()}.ir"))
        linker.link([obj, stdlib], out / f"{name}.wasm", emit_js=out / f"{name}.mjs",
                    source_map=out / f"{name}.wasm.map")
    shutil.copy(Path(__file__).with_name("harness.mjs"), out / "harness.mjs")
    return Site(out, examples)


def node_api(node: str, site: Site, program: str, **options: object) -> dict[str, Any]:
    """runProgram (harness.mjs) in Node: the program's stub used as a library."""
    script = (f"import {{ runProgram }} from './harness.mjs';\n"
              f"const r = await runProgram('./{program}.mjs', {json.dumps(options)});\n"
              "console.log(JSON.stringify(r));\n")
    proc = subprocess.run([node, "--input-type=module", "-e", script], cwd=site.dir,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def run_plain_node_wasi(node: str, wasm: Path, args: tuple[str, ...],
                        cwd: Path) -> subprocess.CompletedProcess[bytes]:
    script = cwd / "plain_wasi.mjs"
    script.write_text(PLAIN_NODE_WASI)
    return subprocess.run([node, "--no-warnings", str(script), str(wasm), *args],
                          capture_output=True, timeout=120, check=False)
