"""Helpers of the end-to-end tests (imported by basename, so the name is unique): IR text -> objects -> `linker.link` -> wasm, run on wasmtime and Node.

`E2E.check` is the one entry point most tests use: it compiles each module
text (cached per session and worker, keyed by the text), links it with the
print helpers of `prelude.ir` through the public API (`linker.link`) in both
tail-call modes, validates every output with wasmtime and wabt's
`wasm-validate` (a trampoline-mode output must validate *without* the
tail-call feature), runs it with `linker.host.run` and
`linker.host.run_node`, and asserts that both engines agree on stdout and
exit status and match the expectation.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import wasmtime

import linker
import linker.host

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PRELUDE = HERE / "prelude.ir"
MODES = ("native", "trampoline")
WASM_VALIDATE = shutil.which("wasm-validate")
IRLD = str(Path(sys.executable).with_name("irld"))

# Extern declarations of the prelude's print helpers, for test modules.
PRINT = """
extern func pi32(i32)
extern func pu32(i32)
extern func pi64(i64)
extern func pu64(i64)
extern func px32(i32)
extern func px64(i64)
extern func pf32(f32)
extern func pf64(f64)
extern func print_str(i32, i32)
extern func eprint_str(i32, i32)
extern func print_char(i32)
extern func nl()
"""


def module(name: str, body: str) -> str:
    """IR text of module `name`: the print declarations, then `body`."""
    return f"module {name}\n{PRINT}\n{body}"


def _tail_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.wasm_tail_call = True
    return wasmtime.Engine(config)


_ENGINE: wasmtime.Engine | None = None


def validate(wasm: bytes, path: Path, *, tail_calls: bool) -> None:
    """wasmtime's validator, then wasm-validate (with the tail-call feature only if allowed)."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _tail_engine()
    wasmtime.Module.validate(_ENGINE, wasm)
    if WASM_VALIDATE is None:
        return
    cmd = [WASM_VALIDATE] + (["--enable-tail-call"] if tail_calls else []) + [str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"wasm-validate {path.name}:\n{proc.stderr}"


def line_diff(got: bytes, want: bytes) -> str:
    """The differing lines, numbered from 1."""
    g = got.decode(errors="replace").split("\n")
    w = want.decode(errors="replace").split("\n")
    out = [f"line {i + 1}: got {a!r}, expected {b!r}"
           for i, (a, b) in enumerate(zip(g, w)) if a != b]
    if len(g) != len(w):
        out.append(f"{len(g)} lines, expected {len(w)}; tail got {g[len(w):][:5]!r} "
                   f"expected {w[len(g):][:5]!r}")
    return "\n".join(out[:40])


def node_available() -> bool:
    try:
        linker.host.find_node()
        return True
    except linker.host.NodeNotFoundError:
        return False


class E2E:
    """Session-wide builder: compiled objects are cached by source text."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objs: dict[str, Path] = {}
        self.counter = 0
        self.has_node = node_available()
        self.prelude = self.obj(PRELUDE.read_text(), "prelude")

    def obj(self, text: str, stem: str | None = None) -> Path:
        key = hashlib.sha256(text.encode()).hexdigest()[:16]
        hit = self.objs.get(key)
        if hit is not None:
            return hit
        first = text.split(None, 2)[1] if text.startswith("module") else "m"
        path = self.root / f"{stem or first}-{key}.o"
        path.write_bytes(linker.compile_text(text, f"{stem or first}.ir"))
        self.objs[key] = path
        return path

    def fresh(self, suffix: str) -> Path:
        self.counter += 1
        return self.root / f"out{self.counter}{suffix}"

    def archive(self, texts: Sequence[str]) -> Path:
        """An archive of the compiled `texts` (through `irld ar`'s Python entry)."""
        from linker.cli.ar_cmd import create
        out = self.fresh(".a")
        create(str(out), [str(self.obj(t)) for t in texts])
        return out

    def link(self, texts: Sequence[str | Path], mode: str = "native", *, prelude: bool = True,
             output: Path | None = None, **options: Any) -> tuple[Path, Any]:
        """Link the modules (IR text or paths of objects/archives); returns (wasm path, result)."""
        inputs = [t if isinstance(t, Path) else self.obj(t) for t in texts]
        if prelude:
            # After the objects, before any archive (the CLI's order rule does the same).
            inputs.append(self.prelude)
        out = output or self.fresh(".wasm")
        result = linker.link(inputs, out, tail_calls=mode, **options)
        assert result.wasm == out.read_bytes()
        validate(result.wasm, out, tail_calls=mode == "native")
        return out, result

    def run(self, wasm: Path, args: Sequence[str] = (), timeout: float = 60.0
            ) -> tuple[linker.host.RunResult, linker.host.RunResult | None]:
        """Run on wasmtime and on Node; assert both agree on stdout and exit status."""
        argv = ["prog", *args]
        wt = linker.host.run(wasm, argv, capture=True, stdin=b"")
        if not self.has_node:
            return wt, None
        nd = linker.host.run_node(wasm, argv, timeout=timeout)
        assert (wt.exit_code, wt.stdout) == (nd.exit_code, nd.stdout), (
            f"engines disagree on {wasm.name}:\nwasmtime: {wt.exit_code} {wt.stdout!r}\n"
            f"  stderr {wt.stderr!r}\nnode: {nd.exit_code} {nd.stdout!r}\n  stderr {nd.stderr!r}")
        return wt, nd

    def check(self, texts: Sequence[str | Path], stdout: str | bytes | None = None,
              exit: int = 0, *, stderr: str | Sequence[str] = (), args: Sequence[str] = (),
              modes: Sequence[str] = MODES, warnings: Sequence[str] | None = (),
              **options: Any) -> list[Any]:
        """Link in every mode, validate, run on both engines, compare with the expectation.

        `stderr`: substrings each engine's stderr must contain.  `warnings`:
        substrings the link warnings must contain (None: don't check; the
        default, empty, requires no warning at all)."""
        if isinstance(stdout, str):
            stdout = stdout.encode()
        if isinstance(stderr, str):
            stderr = [stderr]
        results = []
        for mode in modes:
            wasm, res = self.link(texts, mode, **options)
            if warnings is not None:
                rendered = [w.render() for w in res.warnings]
                if not warnings:
                    assert rendered == [], rendered
                for w in warnings:
                    assert any(w in r for r in rendered), (w, rendered)
            wt, nd = self.run(wasm, args)
            label = f"[{mode}]"
            if stdout is not None and wt.stdout != stdout:
                pytest.fail(f"{label} stdout differs (stderr: {wt.stderr!r}):\n"
                            + line_diff(wt.stdout, stdout))
            assert wt.exit_code == exit, f"{label} exit {wt.exit_code}, stderr: {wt.stderr!r}"
            for s in stderr:
                assert s.encode() in wt.stderr, f"{label} wasmtime stderr {wt.stderr!r}"
                if nd is not None:
                    assert s.encode() in nd.stderr, f"{label} node stderr {nd.stderr!r}"
            results.append((wasm, res, wt, nd))
        return results


def irld(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
         ) -> subprocess.CompletedProcess[str]:
    """Run the `irld` CLI in a fresh process."""
    return subprocess.run([IRLD, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          check=False, timeout=120)
