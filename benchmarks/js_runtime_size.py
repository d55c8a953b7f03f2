"""Size of the common JS runtime (linker/host/js/irld-runtime.mjs), as shipped and minified.

A script, not a test.  Prints the bytes (and gzip -9 bytes) of:

* the file as shipped (readable, commented);
* `strip`: this script's own deterministic minifier: drops comment lines and
  indentation, nothing else (the runtime keeps its comments on their own
  lines for this); it changes no token, so it cannot change behaviour;
* esbuild `--minify --format=esm` (whitespace, syntax and local names), when an
  `esbuild` executable is given (`--esbuild PATH`) or found on PATH or in
  `--npm-dir`/node_modules/.bin; `--install` first runs
  `npm install esbuild@VERSION --prefix NPM_DIR` (from the npm registry).

Each minified variant is checked by running the `callbacks` example through
it under Node (`node callbacks.mjs` beside the minified runtime must print
the expected output), so a size is only reported for a runtime that works.

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
from linker.jsloader import RUNTIME_JS, RUNTIME_NAME

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


def check(runtime: str, work: Path) -> bool:
    """The callbacks example, linked with --emit-js, runs through this runtime text."""
    ex = ROOT / "examples" / "callbacks"
    obj = work / "callbacks.o"
    obj.write_bytes(linker.compile_text((ex / "callbacks.ir").read_text(), "callbacks.ir"))
    linker.link([obj, ROOT / "build" / "stdlib.a"], emit_js=work / "callbacks.mjs")
    (work / RUNTIME_NAME).write_text(runtime)
    proc = subprocess.run(["node", str(work / "callbacks.mjs")], capture_output=True)
    return proc.returncode == 0 and proc.stdout == (ex / "expected.out").read_bytes()


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
    text = RUNTIME_JS.read_text()
    variants = {"as shipped": text, "strip (comments, indentation)": strip(text)}
    exe = esbuild_path(args.esbuild, args.npm_dir)
    if exe is not None:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
        variants[f"esbuild {version.strip()} --minify"] = esbuild(exe, text)
    else:
        print("(no esbuild: pass --esbuild PATH or --install for the esbuild row)",
              file=sys.stderr)
    print(f"{'variant':34} {'bytes':>7} {'gzip -9':>8}  runs")
    ok = True
    for name, body in variants.items():
        raw = body.encode()
        with tempfile.TemporaryDirectory() as tmp:
            works = check(body, Path(tmp))
        ok &= works
        print(f"{name:34} {len(raw):7,} {len(gzip.compress(raw, 9, mtime=0)):8,}  "
              f"{'yes' if works else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
