"""Chromium loads a program linked with `--source-map`: the DevTools protocol
reports the wasm script with its source map URL, and the map it names (fetched
as DevTools does, relative to the script) lists the IR file with its text."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from debug_util import Build

from tests.browser import browser

PROG = """module t.web

func square(x: i32) -> i32 {
entry:
  return i32.mul(x, x)
}

func main() -> i32 {
  local r: i32
entry:
  r = call square(7)
  return r
}
"""

PAGE = """<!doctype html><script type=module>
const { instance } = await WebAssembly.instantiateStreaming(fetch('prog.wasm'), {
  wasi_snapshot_preview1: { proc_exit: (code) => { document.title = 'exit ' + code; } },
});
instance.exports._start();
</script>"""


@contextmanager
def serve(root: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm"}

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_devtools_sees_the_ir_source(build: Build, tmp_path: Path) -> None:
    build({"web.ir": PROG}, "--source-map", "prog.wasm.map")
    (tmp_path / "index.html").write_text(PAGE)
    with serve(tmp_path) as base, browser() as b:
        page = b.new_page()
        cdp = page.context.new_cdp_session(page)
        scripts: list[dict[str, Any]] = []
        cdp.on("Debugger.scriptParsed", lambda params: scripts.append(params))
        cdp.send("Debugger.enable")
        page.goto(base + "index.html")
        page.wait_for_function("document.title.startsWith('exit')")
        assert page.title() == "exit 49"
        wasm = [s for s in scripts if s.get("scriptLanguage") == "WebAssembly"]
        assert len(wasm) == 1
        assert wasm[0]["sourceMapURL"] == "prog.wasm.map"
    # DevTools resolves the map against the script's URL; so does this check.
    map_url = urllib.parse.urljoin(base + "prog.wasm", wasm[0]["sourceMapURL"])
    assert map_url == base + "prog.wasm.map"
    source_map = json.loads((tmp_path / "prog.wasm.map").read_text())
    assert source_map["sources"] == ["web.ir"]
    assert source_map["sourcesContent"] == [PROG]
    assert urllib.parse.urljoin(map_url, source_map["sources"][0]) == base + "web.ir"
