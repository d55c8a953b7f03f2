"""`irld garbage REPORT.json | INPUTS...`: what the link removed, largest first.

Dead entities of every loaded object with their size (a function: its
encoded IR body in the object file; data: its size in memory), and archive
members never loaded with their size in the archive (twiggy's `garbage`,
wasm-ld's `--print-gc-sections`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linker.report.analyses import garbage
from linker.report.cli_support import add_format, add_link_flags, report_from_args


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "garbage", help="dead entities and unloaded archive members, by size",
        description="List what the link left out: dead entities of loaded objects and "
                    "archive members never loaded.")
    p.add_argument("sources", nargs="+", metavar="REPORT.json|INPUT")
    p.add_argument("-n", type=int, default=20, metavar="N",
                   help="show the N largest (0: all; default 20)")
    add_format(p)
    add_link_flags(p)
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    report = report_from_args(args)
    sys.stdout.write(garbage(report, args.format, args.n))
    return 0
