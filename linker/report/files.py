"""Writing the report and the map of a link (`irld link --report FILE --map FILE`)."""

from __future__ import annotations

from linker.compile import write_file_atomic
from linker.diagnostics import Diagnostic, DiagnosticError
from linker.driver import LinkOptions, LinkResult
from linker.report.build import build_report
from linker.report.mapfile import map_text


def write_report_files(result: LinkResult, options: LinkOptions, report_path: str | None,
                       map_path: str | None) -> None:
    """Build the report once and write the JSON and/or the map, each atomically."""
    if report_path is None and map_path is None:
        return
    report = build_report(result, options)
    outputs: list[tuple[str, str]] = []
    if report_path is not None:
        outputs.append((report_path, report.dumps()))
    if map_path is not None:
        outputs.append((map_path, map_text(report)))
    for path, text in outputs:
        try:
            write_file_atomic(path, text.encode("utf-8"))
        except OSError as exc:
            raise DiagnosticError([Diagnostic.error(
                f"cannot write output file {path}: {exc.strerror or exc}")]) from None
