"""`irld` entry point: dispatches to subcommand modules and maps errors to exit codes.

Exit status: 0 success, 1 bad input (diagnostics on stderr), 2 usage error,
130 interrupted (SIGINT).
Each subcommand module provides `register(subparsers)` which adds its parser
and sets `func` to a callable `(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from linker import __version__
from linker.cli.argv import ResponseFileError, expand, link_positional_flags
from linker.diagnostics import DiagnosticError
from linker.store.errors import InputFileError

# Subcommand modules under linker.cli, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = ("compile", "dump", "ar", "link", "run", "why", "top", "garbage",
                             "dominators", "diff", "graph", "report", "config", "serve")


class InputError(Exception):
    """A bad input that is not a diagnostic of a source file (missing file, unwritable path)."""


def build_parser(only: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of those in `only`: a command line
    naming its subcommand first imports just that module (`irld link` does not
    load wasmtime or the report analyses: a third of a small C link's CPU
    time), and `irld --version` none."""
    parser = argparse.ArgumentParser(
        prog="irld", description="irld: a whole-program WebAssembly linker.")
    parser.add_argument("--version", action="version", version=f"irld {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS if only is None else only:
        module = importlib.import_module(f"linker.cli.{name}_cmd")
        module.register(sub)
    return parser


# Commands after which the `irld` process ends without tearing down its heap,
# as lld exits early: every output is committed and closed by then
# (`linker.output`), and freeing a big link's hundreds of thousands of
# objects one by one took a seventh of a warm 100,000-function link's CPU.
EXIT_EARLY = frozenset({"link"})


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; Ctrl-C ends it with status 130 and one line (no traceback).

    Nothing is left behind by an interruption: outputs are committed only at
    the end of a command, and their temporaries go away as the exception
    unwinds (`linker.output`).  Run as the program (`argv` None), a command
    of `EXIT_EARLY` ends the process itself once its output is flushed."""
    try:
        status = _main(argv)
    except KeyboardInterrupt:
        print("irld: interrupted", file=sys.stderr)
        return 130
    if argv is None and _command(sys.argv[1:]) in EXIT_EARLY:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:         # a closed pipe, a full disk: the output is incomplete
            status = status or 1
        os._exit(status)
    return status


def _command(args: Sequence[str]) -> str | None:
    return next((a for a in args if not a.startswith("-")), None)


def _main(argv: Sequence[str] | None) -> int:
    try:
        expanded = link_positional_flags(expand(sys.argv[1:] if argv is None else argv))
    except ResponseFileError as exc:
        print(f"irld: error: {exc}", file=sys.stderr)
        return 1
    first = expanded[0] if expanded else None
    parser = build_parser((first,) if first in COMMANDS else () if first == "--version" else None)
    args, extra = parser.parse_known_args(expanded)
    if extra:
        # A linker's inputs may follow its options (`irld link a.o -o x.wasm lib.a`);
        # anything else left over is an unknown option.
        unknown = [a for a in extra if a.startswith("-") or args.command != "link"]
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.inputs = [*args.inputs, *extra]
    try:
        return int(args.func(args))
    except DiagnosticError as exc:
        print(exc.render(getattr(exc, "sources", None)), file=sys.stderr)
        return 1
    except InputFileError as exc:      # objects, archives, wasm objects
        print(f"{exc.file}: error: {exc.reason}", file=sys.stderr)
        return 1
    except InputError as exc:
        print(f"irld: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
