"""`irld dominators REPORT.json | INPUTS...`: retained sizes (twiggy's `dominators`).

The dominator tree of the live reference graph under a meta-root linked to
every root (Cooper–Harvey–Kennedy; `linker.report.graph`): an entity's
retained size is the bytes that would leave the output if it did.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linker.report.analyses import dominators
from linker.report.cli_support import add_format, add_link_flags, report_from_args


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "dominators", help="the dominator tree of the live graph, with retained sizes",
        description="Show each live entity's retained size in the dominator tree of the "
                    "live reference graph.")
    p.add_argument("sources", nargs="+", metavar="REPORT.json|INPUT")
    p.add_argument("--depth", type=int, default=None, metavar="D",
                   help="show D levels below the meta-root (default: all)")
    p.add_argument("-n", type=int, default=None, metavar="N", help="show at most N rows")
    add_format(p)
    add_link_flags(p)
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    report = report_from_args(args)
    sys.stdout.write(dominators(report, args.format, args.depth, args.n))
    return 0
