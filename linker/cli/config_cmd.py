"""`irld config`: compiler and linker flags for irld's libffi, as `pkg-config` prints them.

    irld config --cflags     # -I<dir>: the directory of ffi.h and irld_ffi.h
    irld config --libs       # -lffi: `irld link` finds it with no -L
    irld config --libffi     # the path of libffi.a (built on first use), for other linkers

Several flags print their values on one line, in the order given above.
"""

from __future__ import annotations

import argparse
from typing import Any

from linker.diagnostics import Diagnostic, DiagnosticError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "config", help="print -I/-l flags for irld's libffi (pkg-config style)",
        description="Print the flags that compile and link C code against irld's ffi.h.")
    p.add_argument("--cflags", action="store_true", help="the -I flag of ffi.h and irld_ffi.h")
    p.add_argument("--libs", action="store_true", help="the -l flag of the library")
    p.add_argument("--libffi", action="store_true",
                   help="the path of libffi.a (built and cached when missing)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from linker.ffi.library import NAME, include_dir, library_path
    if not (args.cflags or args.libs or args.libffi):
        raise DiagnosticError([Diagnostic.error("irld config: give --cflags, --libs or --libffi")])
    out = []
    if args.cflags:
        out.append(f"-I{include_dir()}")
    if args.libs:
        out.append(f"-l{NAME}")
    if args.libffi:
        out.append(library_path())
    print(" ".join(out))
    return 0
