"""`irld why SYMBOL REPORT.json | INPUTS...`: why is this symbol in my binary?

Prints the shortest chain of references from a root to the symbol, one line
per step with the edge kind (lld's `--why-live`, twiggy's `paths`); `--all`
prints up to `--max N` distinct chains, shortest first.  For a dead symbol:
`not live; referenced only by dead X, Y` (or `not referenced by anything`);
for a symbol only an archive member never loaded defines, that member; for
an unknown symbol `error: no such symbol: X` on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linker.report.analyses import why_output
from linker.report.cli_support import add_format, add_link_flags, report_from_args


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "why", help="why a symbol is live: its shortest chain from a root",
        description="Explain why SYMBOL is in the output, from a link report (.json) or by "
                    "linking the inputs (.o/.a) in memory.")
    p.add_argument("symbol", metavar="SYMBOL")
    p.add_argument("sources", nargs="+", metavar="REPORT.json|INPUT")
    p.add_argument("--all", action="store_true", help="list several distinct chains")
    p.add_argument("--max", type=int, default=5, metavar="N",
                   help="at most N chains with --all (default 5)")
    add_format(p)
    add_link_flags(p)
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    if args.max < 1:
        args._parser.error("--max must be at least 1")
    report = report_from_args(args)
    text, found = why_output(report, args.symbol, args.format, all_chains=args.all,
                             limit=args.max)
    if not found and text.startswith("no such symbol: "):
        # An unknown name is an error (stderr, `error:`), not an answer.
        print(f"error: {text.rstrip()}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0 if found else 1
