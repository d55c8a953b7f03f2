"""`irld serve prog.wasm [args...]`: serve a page that runs the program in a browser.

The page (linker.host.serve) shows the program's stdout, its stderr and its
exit status, run by the JS runtime; the server listens on 127.0.0.1:8000
unless `--host`/`--port` say otherwise, and stops on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

EXIT_INTERRUPTED = 130


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve", help="serve a web page that runs a linked program in the browser",
        description="Serve a page that runs a linked program (.wasm) with the JS runtime and "
                    "shows its output.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free one)")
    p.add_argument("program", metavar="PROG.wasm", help="the linked program")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the program")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from linker.host.serve import program_server
    if not os.path.isfile(args.program):
        print(f"irld serve: error: {args.program}: no such file", file=sys.stderr)
        return 1
    try:
        server = program_server(args.program, [os.path.basename(args.program), *args.args],
                                args.host, args.port)
    except OSError as exc:
        print(f"irld serve: error: cannot listen on {args.host}:{args.port}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 1
    host, port = server.server_address[:2]
    print(f"irld serve: {args.program} at http://{host!s}:{port}/ (Ctrl-C to stop)",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        server.server_close()
    return 0
