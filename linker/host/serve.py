"""`irld serve prog.wasm [args...]`: a local web page that runs a program and shows its output.

For a human to look at a program in a browser: a loopback HTTP server
(`http.server`, one thread per request) answers three paths, reading the
files on every request so a relink shows on reload:

* `/`: the page: the program's stdout, its stderr in red, then its exit
  status (or the panic or trap), run by the JS runtime as soon as it loads;
* `/irld-runtime.mjs`: the common JS runtime (`linker/host/js/`), and
  `/irld-trap.mjs`, which it imports to describe a trap;
* `/<name>.wasm`: the program;
* its source map, when the program names one beside it (`irld link
  --source-map`; a path in the wasm's directory, read when the server
  starts): a trap or panic then shows its backtrace with IR locations, as
  `irld run` prints it.

Browsers run module scripts and fetch wasm only over HTTP, never from
`file://`, hence the server.  `directory_server` serves a directory the
same way (with the JavaScript and wasm MIME types module scripts and
`WebAssembly` need); the browser tests use it.
"""

from __future__ import annotations

import html
import json
import os
import threading
import urllib.parse
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RUNTIME_JS = Path(__file__).resolve().parent / "js" / "irld-runtime.mjs"
TRAP_JS = RUNTIME_JS.with_name("irld-trap.mjs")

MIME = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
        ".html": "text/html; charset=utf-8", ".json": "application/json",
        ".d.mts": "text/plain; charset=utf-8"}

PAGE = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>{title} · irld</title>
<style>
body {{ font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; }}
pre {{ background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 1em;
      white-space: pre-wrap; min-height: 3em; }}
.stderr {{ color: #b3261e; }}
#status {{ font-weight: 600; }}
</style>
<h1>{title}</h1>
<p>argv: <code>{argv}</code></p>
<pre id="output"></pre>
<p id="status">running…</p>
<script type="module">
import {{ describeTrap, instantiate }} from './irld-runtime.mjs';
const output = document.getElementById('output');
const status = document.getElementById('status');
const put = (cls) => (text) => {{
  const span = document.createElement('span');
  span.className = cls;
  span.textContent = text;
  output.append(span);
}};
try {{
  const prog = await instantiate({wasm}, {{ args: {args}, stdout: put('stdout'), stderr: put('stderr') }});
  status.textContent = `exit status ${{prog.run()}}`;
}} catch (e) {{
  // a trap or panic as irld run prints it (IR locations when the source map is served)
  const trap = e.name == 'PanicError' || e instanceof WebAssembly.RuntimeError || e instanceof RangeError;
  put('stderr')(trap ? await describeTrap(e) : `${{e.name}}: ${{e.message}}\\n`);
  status.textContent = e.name == 'PanicError' ? `${{e.message}} (exit status 134)`
    : trap ? `wasm trap (exit status 134)` : `failed: ${{e.message}}`;
}}
status.dataset.done = 'true';
</script>
</html>
"""


def page(wasm_name: str, args: list[str]) -> bytes:
    """The page that runs `wasm_name` (a path relative to the page) with argv `args`."""
    return PAGE.format(title=html.escape(wasm_name), argv=html.escape(" ".join(args)),
                       wasm=json.dumps("./" + wasm_name), args=json.dumps(args)).encode()


class _Handler(SimpleHTTPRequestHandler):
    """Answers GET from `routes` (path -> bytes producer), else from `directory`."""

    routes: dict[str, Callable[[], bytes]] = {}

    def __init__(self, *args: Any, routes: dict[str, Callable[[], bytes]] | None = None,
                 **kwargs: Any) -> None:
        self.routes = routes or {}
        super().__init__(*args, **kwargs)

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        name = os.fspath(path)
        for suffix, mime in MIME.items():
            if name.endswith(suffix):
                return mime
        return super().guess_type(path)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        route = self.routes.get(path)
        if route is None:
            if self.routes:
                self.send_error(404)
                return
            super().do_GET()
            return
        try:
            body = route()
        except OSError as exc:
            self.send_error(404, str(exc.strerror or exc))
            return
        self.send_response(200)
        self.send_header("Content-Type", MIME[".html"] if path == "/" else self.guess_type(path))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # quiet: a test or a terminal does not need a line per request
        return


def program_server(wasm: str | os.PathLike[str], args: list[str], host: str = "127.0.0.1",
                   port: int = 8000) -> ThreadingHTTPServer:
    """A server (not yet serving) for the page that runs `wasm` with argv `args`."""
    path = Path(wasm)
    name = path.name
    routes: dict[str, Callable[[], bytes]] = {
        "/": lambda: page(name, args),
        "/irld-runtime.mjs": RUNTIME_JS.read_bytes,
        "/irld-trap.mjs": TRAP_JS.read_bytes,
        f"/{name}": path.read_bytes,
    }
    map_name = _source_map_name(path)
    if map_name is not None:
        routes[f"/{urllib.parse.quote(map_name)}"] = (path.parent / map_name).read_bytes
    return ThreadingHTTPServer((host, port), partial(_Handler, routes=routes))


def _source_map_name(wasm: Path) -> str | None:
    """The file name of the source map the program names, when it is beside the program."""
    from linker.sourcemap import SourceMapError, url_of
    try:
        url = url_of(wasm.read_bytes())
    except (OSError, SourceMapError, IndexError, ValueError):
        return None
    if url is None or "/" in url or "\\" in url or url in ("", ".", ".."):
        return None
    return url


def directory_server(directory: str | os.PathLike[str], host: str = "127.0.0.1",
                     port: int = 0) -> ThreadingHTTPServer:
    """A server (not yet serving) for the files under `directory`."""
    return ThreadingHTTPServer((host, port),
                               partial(_Handler, directory=os.fspath(directory)))


def start_in_thread(server: ThreadingHTTPServer) -> str:
    """Serve on a daemon thread; returns the base URL (`server.shutdown()` stops it)."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/"
