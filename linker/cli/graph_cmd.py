"""`irld graph [SYMBOL] REPORT.json | INPUTS...`: the live reference graph as GraphViz DOT.

Without SYMBOL, the whole live graph; with it, the nodes within `--depth`
edges of it (either direction).  Edges are labelled with their kind; roots
are bold.  SYMBOL is the first argument when it is not a report (`.json`)
or an input (`.o`, `.a`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linker.report.analyses import graph
from linker.report.cli_support import (INPUT_SUFFIXES, REPORT_SUFFIX, add_format,
                                       add_link_flags, report_from_args)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "graph", help="the live reference graph as GraphViz DOT",
        description="Print the live reference graph, or a symbol's neighbourhood, as DOT.")
    p.add_argument("sources", nargs="+", metavar="[SYMBOL] REPORT.json|INPUT")
    p.add_argument("--depth", type=int, default=2, metavar="N",
                   help="with SYMBOL: nodes within N edges (default 2)")
    add_format(p)
    add_link_flags(p)
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    sources: list[str] = list(args.sources)
    symbol = None
    if len(sources) > 1 and not sources[0].endswith((REPORT_SUFFIX, *INPUT_SUFFIXES)):
        symbol = sources.pop(0)
    if args.depth < 0:
        args._parser.error("--depth must not be negative")
    report = report_from_args(args, sources)
    text, found = graph(report, args.format, symbol, args.depth)
    if not found and text.startswith("no such symbol: "):
        # An unknown name is an error (stderr, `error:`), not an answer.
        print(f"error: {text.rstrip()}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0 if found else 1
