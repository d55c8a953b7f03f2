"""Writing the report and the map of a link (`irld link --report FILE --map FILE`)."""

from __future__ import annotations

from linker.driver import LinkOptions, LinkResult
from linker.output import stage_outputs
from linker.report.build import build_report
from linker.report.mapfile import map_text


def write_report_files(result: LinkResult, options: LinkOptions, report_path: str | None,
                       map_path: str | None, *, reproducible: bool = False) -> None:
    """Build the report once and write the JSON and/or the map (`linker.output`);
    `reproducible` leaves out the `timings` block (times and peak memory)."""
    if report_path is None and map_path is None:
        return
    report = build_report(result, options)
    files: list[tuple[str, str, bytes]] = []
    if report_path is not None:
        files.append(("--report", report_path, report.dumps(timings=not reproducible).encode("utf-8")))
    if map_path is not None:
        files.append(("--map", map_path, map_text(report).encode("utf-8")))
    # Joins the command's output set: committed with the wasm, or not at all.
    stage_outputs(files, inputs=options.inputs)
