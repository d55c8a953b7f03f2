"""`irld compile`: IR text files to object files.

Each input is read, parsed, verified and compiled on its own; a failed input
reports all its errors and writes no object, and the next input is still
compiled, so one run shows every error of every file.  With `-j N` inputs are
compiled by N worker processes; outputs do not depend on N, and diagnostics
are printed in input order whatever the order the workers finish in.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import attrs

from linker.compile import compile_module
from linker.diagnostics import DiagnosticError, decode_source
from linker.gcpause import no_cyclic_gc
from linker.output import OutputSet, write_file_atomic


@attrs.frozen
class Job:
    source: str
    output: str


@attrs.frozen
class Outcome:
    """What compiling one input produced: rendered diagnostics, and whether it succeeded."""

    ok: bool
    messages: str = ""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "compile", help="compile IR text files (.ir) to object files (.o)",
        description="Parse, verify and compile IR text files to object files. "
                    "Errors of every input are reported; a failed input writes no object.")
    p.add_argument("inputs", nargs="+", metavar="INPUT.ir", help="IR text files")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="OUT.o",
                     help="object file to write (one input only; default: INPUT with .o)")
    out.add_argument("--out-dir", metavar="DIR",
                     help="write each object to DIR/<input name>.o")
    p.add_argument("-j", "--jobs", type=_positive_int, default=1, metavar="N",
                   help="compile N files in parallel (default 1)")
    p.set_defaults(func=run, _parser=p)


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def object_path(source: str, out_dir: str | None = None) -> str:
    """The default object path of `source`: `.ir` replaced by (or `.o` appended to) the name."""
    base = source[:-3] if source.endswith(".ir") else source
    path = base + ".o"
    if out_dir is not None:
        path = os.path.join(out_dir, os.path.basename(path))
    return path


def plan(args: argparse.Namespace) -> list[Job]:
    """The (input, output) pairs; a usage error exits with status 2."""
    parser: argparse.ArgumentParser = args._parser
    inputs: list[str] = args.inputs
    if args.output is not None:
        if len(inputs) != 1:
            parser.error("-o takes exactly one input; use --out-dir for several")
        return [Job(inputs[0], args.output)]
    jobs = [Job(src, object_path(src, args.out_dir)) for src in inputs]
    seen: dict[str, str] = {}
    for job in jobs:
        key = os.path.normpath(job.output)
        if key in seen:
            parser.error(f"inputs '{seen[key]}' and '{job.source}' would both write "
                         f"'{job.output}'")
        seen[key] = job.source
    return jobs


def run(args: argparse.Namespace) -> int:
    jobs = plan(args)
    # Refuse an object that would overwrite an input (or another object) before
    # any work; each object is then written on its own when its input compiled.
    OutputSet(inputs=[job.source for job in jobs],
              outputs=[("-o" if args.output is not None else "output", job.output)
                       for job in jobs])
    if args.out_dir is not None and not os.path.isdir(args.out_dir):
        try:
            os.makedirs(args.out_dir, exist_ok=True)
        except OSError as exc:
            print(f"irld: error: cannot create directory '{args.out_dir}': "
                  f"{exc.strerror or exc}", file=sys.stderr)
            return 1
    workers = min(args.jobs, len(jobs))
    if workers <= 1:
        outcomes: Iterator[Outcome] = map(compile_job, jobs)
        return _report(outcomes)
    # Workers ignore SIGINT: Ctrl-C reaches the whole process group, and only the
    # parent should answer it (one line, status 130), cancelling what is queued.
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint)
    try:
        # map yields in input order, so diagnostics come out in input order.
        return _report(pool.map(compile_job, jobs))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _report(outcomes: Iterator[Outcome]) -> int:
    status = 0
    for outcome in outcomes:
        if outcome.messages:
            print(outcome.messages, file=sys.stderr)
        if not outcome.ok:
            status = 1
    return status


def compile_job(job: Job) -> Outcome:
    """Compile one input; never raises for bad input (the outcome says what went wrong)."""
    try:
        with open(job.source, "rb") as fh:
            text = decode_source(fh.read(), job.source)
    except OSError as exc:
        return Outcome(False, f"irld: error: cannot read '{job.source}': {exc.strerror or exc}")
    except DiagnosticError as exc:
        return Outcome(False, exc.render())
    sources = {job.source: text}
    try:
        with no_cyclic_gc():
            data = compile_source(text, job.source)
    except DiagnosticError as exc:
        return Outcome(False, exc.render(sources))
    except RecursionError:
        return Outcome(False, f"{job.source}: error: input nests too deeply to compile")
    try:
        write_file_atomic(job.output, data)
    except DiagnosticError as exc:
        return Outcome(False, exc.render())
    return Outcome(True)


def compile_source(text: str, filename: str) -> bytes:
    """Parse, verify and compile IR text; raises DiagnosticError with every error."""
    from linker.ir.parser import parse_module_checked
    return compile_module(*parse_module_checked(text, filename))

