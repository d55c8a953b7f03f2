"""Traps and panics in IR terms through the JS loader (issue 20): a program linked with
`--source-map` and `--emit-js`, run as `node prog.mjs` or described by `describeTrap` in a
Node program or a Chromium page, shows the backtrace with IR `file:line:col` exactly as
`irld run` prints it on wasmtime and on Node."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import js_programs
from js_util import Site
from test_js_node import IRLD, node_cmd
from tests.browser import browser
from linker.host.serve import directory_server, program_server, start_in_thread


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def trap_want() -> str:
    src = js_programs.TRAP
    return ("error: wasm trap: integer divide by zero\n"
            f"  at divide (trap.ir:{line_of(src, 'i32.div_s')}:3)\n"
            f"  at main (trap.ir:{line_of(src, 'r = call divide')}:12)\n"
            "  at _start\n")


def deep_want() -> str:
    src = js_programs.DEEP
    return ("error: panic\n"
            f"  at check (deep.ir:{line_of(src, 'panic')}:3)\n"
            f"  at step (deep.ir:{line_of(src, 'r = call check')}:12)\n"
            + f"  at step (deep.ir:{line_of(src, 'r = call step(i32')}:12)\n" * 3
            + f"  at main (deep.ir:{line_of(src, 'r = call step(1)')}:12)\n"
            "  at _start\n")


PANIC_LINE = "panic in check: n is too large\n"


def irld_run(site: Site, engine: str, wasm: str) -> tuple[int, bytes, bytes]:
    proc = subprocess.run([IRLD, "run", "--engine", engine, wasm], cwd=site.dir,
                          capture_output=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize(("name", "stderr"), [
    ("maptrap", trap_want()), ("deep", PANIC_LINE + deep_want())])
def test_command_prints_the_ir_backtrace_as_irld_run(site: Site, node: str, name: str,
                                                     stderr: str) -> None:
    mine = node_cmd(node, site, name)
    assert (mine.returncode, mine.stdout, mine.stderr.decode()) == (134, b"", stderr)
    for engine in ("wasmtime", "node"):
        assert irld_run(site, engine, f"{name}.wasm") == (134, b"", stderr.encode())


def node_script(node: str, cwd: Path, script: str) -> str:
    proc = subprocess.run([node, "--input-type=module", "-e", script], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_describe_trap_in_a_node_program(site: Site, node: str) -> None:
    out = node_script(node, site.dir, """
import { runProgram } from './harness.mjs';
for (const p of ['./maptrap.mjs', './deep.mjs']) process.stdout.write((await runProgram(p)).trap);
""")
    assert out == trap_want() + deep_want()


def test_no_map_or_no_base_url_gives_names_only(site: Site, node: str, tmp_path: Path) -> None:
    # instantiated from bytes: no URL to find the map from
    out = node_script(node, site.dir, """
import { readFileSync } from 'node:fs';
import { instantiate } from './maptrap.mjs';
import { describeTrap } from './irld-runtime.mjs';
const prog = await instantiate({ source: readFileSync('maptrap.wasm') });
try { prog.run(); } catch (e) { process.stdout.write(await describeTrap(e)); }
""")
    names_only = "error: wasm trap: integer divide by zero\n  at divide\n  at main\n  at _start\n"
    assert out == names_only
    # the map is not beside the wasm: the command prints names only, as irld run does
    for f in ("maptrap.mjs", "maptrap.wasm", "irld-runtime.mjs", "irld-trap.mjs",
              "irld-command.mjs"):
        shutil.copy(site.dir / f, tmp_path / f)
    proc = subprocess.run([node, "maptrap.mjs"], cwd=tmp_path, capture_output=True, timeout=120)
    assert (proc.returncode, proc.stderr.decode()) == (134, names_only)
    # a map that is not JSON: the same
    (tmp_path / "maptrap.wasm.map").write_text("{not json")
    proc = subprocess.run([node, "maptrap.mjs"], cwd=tmp_path, capture_output=True, timeout=120)
    assert (proc.returncode, proc.stderr.decode()) == (134, names_only)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser() as b:
        yield b


def test_describe_trap_in_the_browser(chromium: Any, site: Site) -> None:
    (site.dir / "index.html").write_text("<!doctype html><title>irld tests</title>")
    server = directory_server(site.dir)
    url = start_in_thread(server)
    requested: list[str] = []
    try:
        page = chromium.new_page()
        page.on("request", lambda r: requested.append(r.url.removeprefix(url)))
        page.goto(url + "index.html")
        run = "async (stub) => (await import('./harness.mjs')).runProgram(stub)"
        # no trap described: the page loads neither the trap part nor the command part
        assert page.evaluate(run, "./hello.mjs")["status"] == 0
        assert "irld-trap.mjs" not in requested and "irld-command.mjs" not in requested
        trap = page.evaluate(run, "./maptrap.mjs")
        deep = page.evaluate(run, "./deep.mjs")
        assert (trap["trap"], deep["trap"]) == (trap_want(), deep_want())
        assert deep["stderr"] == PANIC_LINE
        assert "irld-trap.mjs" in requested and "maptrap.wasm.map" in requested
        assert "irld-command.mjs" not in requested
        page.close()
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("name", "output", "status"), [
    ("maptrap", trap_want(), "wasm trap (exit status 134)"),
    ("deep", PANIC_LINE + deep_want(), "panic in check: n is too large (exit status 134)")])
def test_irld_serve_page_shows_the_ir_backtrace(chromium: Any, site: Site, name: str,
                                                 output: str, status: str) -> None:
    server = program_server(site.dir / f"{name}.wasm", [f"{name}.wasm"], port=0)
    url = start_in_thread(server)
    try:
        page = chromium.new_page()
        page.goto(url)
        page.wait_for_selector("#status[data-done]")
        assert page.text_content("#output") == output
        assert page.text_content("#status") == status
        page.close()
    finally:
        server.shutdown()
        server.server_close()
