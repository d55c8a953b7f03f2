"""`irld report --html REPORT.json -o PAGE.html`: the link report as an interactive page.

With one report (or link inputs, linked in memory as the other report
commands do), the page shows the treemap of the output bytes, the why
explorer, search over live and dead symbols, and the FFI signatures;
`--ffi-baseline BASE.json` (the same program linked `--ffi=exhaustive:N`)
adds the FFI saving.  With two reports, `irld report --html OLD.json
NEW.json`, the page is their diff.  The page is one self-contained file
(`linker.report.htmlpage`), written atomically.
"""

from __future__ import annotations

import argparse
from typing import Any

from linker.compile import write_file_atomic
from linker.report.cli_support import add_link_flags, is_report_path, report_from_args
from linker.report.model import Report, ReportError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "report", help="write the link report as an interactive HTML page",
        description="Write one self-contained HTML page from a link report (.json) or by "
                    "linking the inputs (.o/.a) in memory; with two reports, their diff.")
    p.add_argument("sources", nargs="+", metavar="REPORT.json|INPUT")
    p.add_argument("--html", action="store_true", required=True,
                   help="write HTML (the only format; required so later formats can be added)")
    p.add_argument("-o", dest="output", required=True, metavar="FILE", help="the page to write")
    p.add_argument("--ffi-baseline", metavar="BASE.json",
                   help="the report of the same program linked with --ffi=exhaustive:N, "
                        "to show the FFI saving")
    add_link_flags(p)
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    from linker.cli.main import InputError
    from linker.gcpause import no_cyclic_gc
    paths: list[str] = args.sources
    # Reading a report makes hundreds of thousands of long-lived objects; the cyclic
    # collector re-walking them doubled the time (as in the driver, linker.driver).
    with no_cyclic_gc():
        text = _page(args, paths)
    try:
        write_file_atomic(args.output, text.encode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot write output file {args.output}: "
                         f"{exc.strerror or exc}") from None
    return 0


def _page(args: argparse.Namespace, paths: list[str]) -> str:
    from linker.cli.main import InputError
    from linker.report.htmlpage import diff_html, report_html
    if len(paths) > 2 and all(is_report_path(x) for x in paths):
        args._parser.error("give one report, two reports (for their diff), or link inputs")
    try:
        if len(paths) == 2 and all(is_report_path(x) for x in paths):
            if args.ffi_baseline is not None:
                args._parser.error("--ffi-baseline applies to one report, not a diff")
            text = diff_html(Report.load(paths[0]), Report.load(paths[1]))
        else:
            baseline = Report.load(args.ffi_baseline) if args.ffi_baseline else None
            text = report_html(report_from_args(args), baseline)
    except ReportError as exc:
        raise InputError(str(exc)) from None
    return text
