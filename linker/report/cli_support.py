"""What the report commands share: where the report comes from, and `--format`.

A report command reads either one report file (`.json`, written by
`irld link --report`) or, for convenience, link inputs (`.o` objects and
`.a` archives) with the link flags that change what is live; it then
links in memory (nothing is written) and builds the report.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from linker.cli.link_flags import add_liveness_flags, liveness_options
from linker.driver import LinkOptions, link
from linker.report.build import build_report
from linker.report.model import Report, ReportError
from linker.report.render import FORMATS

REPORT_SUFFIX = ".json"
INPUT_SUFFIXES = (".o", ".a")


def add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="output format (default: text)")


def add_link_flags(p: argparse.ArgumentParser) -> None:
    """The `irld link` flags that decide what is live (used when linking inputs)."""
    add_liveness_flags(p.add_argument_group("when linking inputs instead of reading a report"))


def is_report_path(path: str) -> bool:
    return path.endswith(REPORT_SUFFIX)


def check_sources(p: argparse.ArgumentParser, paths: Sequence[str]) -> None:
    """Usage errors: one report, or only link inputs, never a mix."""
    reports = [x for x in paths if is_report_path(x)]
    if not paths:
        p.error("expected a report (.json) or link inputs (.o/.a)")
    if reports and len(paths) > 1:
        p.error("give one report (.json), or link inputs (.o/.a), not both")
    others = [x for x in paths if not is_report_path(x) and not x.endswith(INPUT_SUFFIXES)]
    if others:
        p.error(f"not a report (.json) or link input (.o/.a): {others[0]}")


def load_report(paths: Sequence[str], args: argparse.Namespace) -> Report:
    """The report of `paths`: a report file, or a fresh in-memory link of the inputs.

    Raises ReportError, DiagnosticError or ObjectError on bad input."""
    if len(paths) == 1 and is_report_path(paths[0]):
        return Report.load(paths[0])
    options = LinkOptions(inputs=tuple(paths), output=None, **liveness_options(args))
    return build_report(link(options), options)


__all__ = ["ReportError", "add_format", "add_link_flags", "check_sources", "load_report"]


def report_from_args(args: argparse.Namespace, sources: Sequence[str] | None = None) -> Report:
    """The report `sources` (default: the command's `sources`) name; usage
    errors exit 2, bad input exit 1."""
    from linker.cli.main import InputError
    paths = args.sources if sources is None else sources
    check_sources(args._parser, paths)
    try:
        return load_report(paths, args)
    except ReportError as exc:
        raise InputError(str(exc)) from None
