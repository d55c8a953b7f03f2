"""`irld top REPORT.json | INPUTS...`: the largest live entities (twiggy's `top`).

Bytes are what each entity costs in the output file (a function's whole
code entry; data bytes the segments carry) and their percent of the file;
`--by-input` sums them per input (object, `archive(member)` or `<linker>`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linker.report.analyses import top
from linker.report.cli_support import add_format, add_link_flags, report_from_args


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "top", help="the largest live entities of a link",
        description="List the live entities that cost the most bytes in the output.")
    p.add_argument("sources", nargs="+", metavar="REPORT.json|INPUT")
    p.add_argument("-n", type=int, default=20, metavar="N",
                   help="show the N largest (0: all; default 20)")
    p.add_argument("--by-input", action="store_true", help="group by input")
    add_format(p)
    add_link_flags(p)
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    report = report_from_args(args)
    sys.stdout.write(top(report, args.format, args.n, args.by_input))
    return 0
