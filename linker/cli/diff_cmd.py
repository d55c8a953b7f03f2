"""`irld diff OLD.json NEW.json`: what changed between two links (twiggy's `diff`).

Live entities added, removed, grown and shrunk (matched by symbol), with
byte deltas, largest change first, and the totals.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linker.report.analyses import diff
from linker.report.cli_support import ReportError, add_format
from linker.report.model import Report


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "diff", help="compare the reports of two links",
        description="Compare two link reports: entities added, removed, grown and shrunk.")
    p.add_argument("old", metavar="OLD.json")
    p.add_argument("new", metavar="NEW.json")
    p.add_argument("-n", type=int, default=None, metavar="N", help="show at most N rows")
    add_format(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from linker.cli.main import InputError
    try:
        old, new = Report.load(args.old), Report.load(args.new)
    except ReportError as exc:
        raise InputError(str(exc)) from None
    sys.stdout.write(diff(old, new, args.format, args.n))
    return 0
