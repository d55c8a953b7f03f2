"""The plugin example through the JS loader (`--emit-js`): `node main.mjs` as a command,
and a page in headless Chromium handing the runtime its libraries, both printing what
`irld run` prints (docs/dynamic.md, "In the JS runtime")."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linker.host import NodeNotFoundError, find_node
from linker.host.serve import directory_server, start_in_thread
from tests.browser import browser
from test_plugins import MAIN_EXPORTS, PLUGIN_FLAGS, PLUGIN_NAMES, PLUGINS, irld

STDLIB = Path(__file__).resolve().parents[2] / "build" / "stdlib.a"
EXPECTED = (PLUGINS / "expected.out").read_text()
MISSING = "dlerror: missing.so.wasm: cannot open shared library: no such file (searched "


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plugins-js")
    stdlib = STDLIB
    if not stdlib.exists():
        pytest.skip("build/stdlib.a is missing (make stdlib)")
    for name in ("main", *PLUGIN_NAMES):
        done = irld("compile", PLUGINS / f"{name}.ir", "-o", out / f"{name}.o")
        assert done.returncode == 0, done.stderr
    for name in PLUGIN_NAMES:
        done = irld("link", "--shared", *PLUGIN_FLAGS.get(name, []), out / f"{name}.o",
                    "-o", out / f"{name}.so.wasm")
        assert done.returncode == 0, done.stderr
    done = irld("link", out / "main.o", stdlib, *MAIN_EXPORTS, "-o", out / "main.mjs")
    assert done.returncode == 0, done.stderr
    (out / "index.html").write_text("<!doctype html><title>plugins</title>")
    return out


def test_emit_js_ships_the_loader_only_to_programs_that_dlopen(site: Path, tmp_path: Path) -> None:
    assert (site / "irld-dylink.mjs").read_bytes() == \
        (Path(__file__).resolve().parents[2] / "linker/host/js/irld-dylink.mjs").read_bytes()
    done = irld("link", site / "shapes.o", STDLIB, "--no-entry", "--export", "rect_area",
                "-o", tmp_path / "plain.mjs")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "irld-dylink.mjs").exists()


def test_node_runs_the_stub_as_irld_run_does(site: Path) -> None:
    try:
        node = find_node()
    except NodeNotFoundError as exc:
        pytest.skip(str(exc))
    done = subprocess.run([node, "main.mjs"], cwd=site, capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, EXPECTED, "")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser() as b:
        yield b


def test_the_browser_runs_the_plugins_it_is_given(site: Path, chromium: Any) -> None:
    server = directory_server(site)
    url = start_in_thread(server)
    page = chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url + "index.html")
        result = page.evaluate("""async () => {
            const { instantiate } = await import('./main.mjs');
            let stdout = '', stderr = '';
            const prog = await instantiate({
                args: ['main.wasm'],
                libraries: { 'shapes.so.wasm': './shapes.so.wasm',
                             'mapper.so.wasm': await (await fetch('./mapper.so.wasm')).arrayBuffer(),
                             'scaler.so.wasm': new URL('./scaler.so.wasm', location.href) },
                stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; } });
            return { status: prog.run(), stdout, stderr };
        }""")
    finally:
        page.close()
        server.shutdown()
        server.server_close()
    assert errors == []
    lines = result["stdout"].splitlines(keepends=True)
    want = EXPECTED.splitlines(keepends=True)
    # Everything but where a missing library was looked for: a page has no directories.
    assert (result["status"], lines[:-1], result["stderr"]) == (0, want[:-1], "")
    assert lines[-1] == MISSING + ("the libraries given: shapes.so.wasm, mapper.so.wasm, "
                                   "scaler.so.wasm)\n")
