"""Size of the common JS runtime (linker/host/js/*.mjs), as shipped and minified.

A script, not a test.  For each file of the runtime (`irld-runtime.mjs`, what
every page loads; `irld-trap.mjs`, loaded only to describe a trap;
`irld-command.mjs`, loaded only by `node prog.mjs`), prints the bytes (and
gzip -9 bytes) of:

* the file as shipped (readable, commented);
* `strip`: this script's own deterministic minifier: drops comment lines and
  indentation, nothing else (the runtime keeps its comments on their own
  lines for this); it changes no token, so it cannot change behaviour;
* esbuild `--minify --format=esm` (whitespace, syntax and local names), when an
  `esbuild` executable is given (`--esbuild PATH`) or found on PATH or in
  `--npm-dir`/node_modules/.bin; `--install` first runs
  `npm install esbuild@VERSION --prefix NPM_DIR` (from the npm registry).

Each variant is checked by running, under Node, the `callbacks` example
(`node callbacks.mjs` beside the variant's files must print the expected
output) and a program that divides by zero, linked with `--source-map`
(`node trap.mjs` must print the trap and its IR backtrace exactly as
`irld run` does), so a size is only reported for a runtime that works.

    python benchmarks/js_runtime_size.py [--esbuild PATH | --install] [--npm-dir DIR]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import linker
import linker.host
from linker.jsloader import RUNTIME_DIR

FILES = ("irld-runtime.mjs", "irld-trap.mjs", "irld-command.mjs")
TRAP_IR = """module t.trap

func divide(a: i32, b: i32) -> i32 {
entry:
  return i32.div_s(a, b)
}

func main() -> i32 {
  local r: i32
entry:
  r = call divide(7, 0)
  return r
}
"""

ROOT = Path(__file__).resolve().parents[1]
ESBUILD_VERSION = "0.28.2"


def strip(text: str) -> str:
    """Comment lines and indentation removed; every other byte kept."""
    lines = (line.strip() for line in text.splitlines())
    return "".join(line + "\n" for line in lines if line and not line.startswith("//"))


def esbuild_path(given: str | None, npm_dir: Path) -> str | None:
    if given is not None:
        return given
    local = npm_dir / "node_modules" / ".bin" / "esbuild"
    return str(local) if local.exists() else shutil.which("esbuild")


def esbuild(exe: str, text: str) -> str:
    proc = subprocess.run([exe, "--minify", "--format=esm", "--loader=js"], input=text,
                          capture_output=True, text=True, check=True)
    return proc.stdout


def check(files: dict[str, str], work: Path) -> bool:
    """The callbacks example and a trap with a source map, linked with --emit-js, run
    through these runtime texts as they do through the shipped ones."""
    ex = ROOT / "examples" / "callbacks"
    obj = work / "callbacks.o"
    obj.write_bytes(linker.compile_text((ex / "callbacks.ir").read_text(), "callbacks.ir"))
    linker.link([obj, ROOT / "build" / "stdlib.a"], emit_js=work / "callbacks.mjs")
    trap = work / "trap.o"
    trap.write_bytes(linker.compile_text(TRAP_IR, "trap.ir"))
    linker.link([trap], work / "trap.wasm", emit_js=work / "trap.mjs",
                source_map=work / "trap.wasm.map")
    for name, text in files.items():
        (work / name).write_text(text)
    proc = subprocess.run(["node", "callbacks.mjs"], cwd=work, capture_output=True)
    ok = proc.returncode == 0 and proc.stdout == (ex / "expected.out").read_bytes()
    mine = subprocess.run(["node", "trap.mjs"], cwd=work, capture_output=True)
    want = linker.host.run(str(work / "trap.wasm"), ["trap.wasm"], capture=True)
    return ok and (mine.returncode, mine.stderr) == (want.exit_code, want.stderr) \
        and b"(trap.ir:" in mine.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--esbuild", metavar="PATH", help="an esbuild executable")
    ap.add_argument("--npm-dir", type=Path, default=ROOT / "build" / "npm",
                    help="where --install puts esbuild (default build/npm)")
    ap.add_argument("--install", action="store_true",
                    help=f"npm install esbuild@{ESBUILD_VERSION} into --npm-dir first")
    args = ap.parse_args()
    if args.install:
        args.npm_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                        str(args.npm_dir), f"esbuild@{ESBUILD_VERSION}"], check=True)
    texts = {name: (RUNTIME_DIR / name).read_text() for name in FILES}
    variants = {"as shipped": texts,
                "strip (comments, indentation)": {n: strip(t) for n, t in texts.items()}}
    exe = esbuild_path(args.esbuild, args.npm_dir)
    if exe is not None:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
        variants[f"esbuild {version.strip()} --minify"] = {n: esbuild(exe, t)
                                                           for n, t in texts.items()}
    else:
        print("(no esbuild: pass --esbuild PATH or --install for the esbuild row)",
              file=sys.stderr)
    print(f"{'variant':34} {'file':18} {'bytes':>7} {'gzip -9':>8}  runs")
    ok = True
    for name, files in variants.items():
        with tempfile.TemporaryDirectory() as tmp:
            works = check(files, Path(tmp))
        ok &= works
        for file, body in files.items():
            raw = body.encode()
            print(f"{name:34} {file:18} {len(raw):7,} "
                  f"{len(gzip.compress(raw, 9, mtime=0)):8,}  {'yes' if works else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
