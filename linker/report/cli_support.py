"""What the report commands share: where the report comes from, and `--format`.

A report command reads either one report file (`.json`, written by
`irld link --report`) or, for convenience, link inputs (`.iro` objects and
`.ira` archives) with the link flags that change what is live; it then
links in memory (nothing is written) and builds the report.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from linker.codegen import TailCallMode
from linker.driver import LinkOptions, link
from linker.report.build import build_report
from linker.report.model import Report, ReportError
from linker.report.render import FORMATS

REPORT_SUFFIX = ".json"
INPUT_SUFFIXES = (".iro", ".ira")


def add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="output format (default: text)")


def add_link_flags(p: argparse.ArgumentParser) -> None:
    """The `irld link` flags that decide what is live (used when linking inputs)."""
    g = p.add_argument_group("when linking inputs instead of reading a report")
    entry = g.add_mutually_exclusive_group()
    entry.add_argument("--entry", metavar="NAME", default="main",
                       help="entry symbol (default: main)")
    entry.add_argument("--no-entry", action="store_true", help="link without an entry symbol")
    g.add_argument("--export", metavar="NAME", action="append", default=[],
                   help="export symbol NAME (and keep it)")
    g.add_argument("--root", metavar="NAME", action="append", default=[],
                   help="keep symbol NAME alive")
    g.add_argument("--allow-undefined", action="store_true",
                   help="undefined functions become host imports")
    g.add_argument("-L", dest="library_paths", metavar="DIR", action="append", default=[],
                   help="directory to search for -l libraries")
    g.add_argument("-l", dest="libraries", metavar="NAME", action="append", default=[],
                   help="link libNAME.ira (or NAME.ira) from the -L directories")
    g.add_argument("--tail-calls", choices=[m.value for m in TailCallMode], default="native",
                   help="native or trampoline (default: native)")


def is_report_path(path: str) -> bool:
    return path.endswith(REPORT_SUFFIX)


def check_sources(p: argparse.ArgumentParser, paths: Sequence[str]) -> None:
    """Usage errors: one report, or only link inputs, never a mix."""
    reports = [x for x in paths if is_report_path(x)]
    if not paths:
        p.error("expected a report (.json) or link inputs (.iro/.ira)")
    if reports and len(paths) > 1:
        p.error("give one report (.json), or link inputs (.iro/.ira), not both")
    others = [x for x in paths if not is_report_path(x) and not x.endswith(INPUT_SUFFIXES)]
    if others:
        p.error(f"not a report (.json) or link input (.iro/.ira): {others[0]}")


def load_report(paths: Sequence[str], args: argparse.Namespace) -> Report:
    """The report of `paths`: a report file, or a fresh in-memory link of the inputs.

    Raises ReportError, DiagnosticError or ObjectError on bad input."""
    if len(paths) == 1 and is_report_path(paths[0]):
        return Report.load(paths[0])
    libraries: list[str] = getattr(args, "libraries", [])
    options = LinkOptions(
        inputs=tuple(paths), output=None,
        entry=None if getattr(args, "no_entry", False) else getattr(args, "entry", "main"),
        exports=tuple(getattr(args, "export", [])), roots=tuple(getattr(args, "root", [])),
        allow_undefined=bool(getattr(args, "allow_undefined", False)),
        library_paths=tuple(getattr(args, "library_paths", [])), libraries=tuple(libraries),
        tail_calls=TailCallMode(getattr(args, "tail_calls", "native")))
    return build_report(link(options), options)


__all__ = ["ReportError", "add_format", "add_link_flags", "check_sources", "load_report"]
