"""`irld run prog.wasm [args...]`: run a linked WASI command; the exit status is the program's.

`irld run --interp main.o lib.a ... [-- args...]` links the objects and
archives in memory (nothing is written) and runs the IR on the reference
interpreter (linker.interp) instead of an engine; `--fuel N` bounds its steps.

Options come before the program; everything after it is passed to the
program untouched.  Status 134 means the program trapped (or ran out of fuel
or time); 1 means it could not start (not wasm, unknown imports); 2 is a
usage error.  See docs/runtime.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import linker.host

ENGINES = ("wasmtime", "node")
# 128 + SIGINT, as a shell reports a program stopped by Ctrl-C.
EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fuel", type=_positive_int, metavar="N",
                        help="trap after about N wasm instructions (wasmtime only)")
    parser.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
                        help="trap after this much wall-clock time")
    parser.add_argument("--stdin", metavar="FILE", help="feed FILE to the program's stdin")
    parser.add_argument("--engine", choices=ENGINES, default="wasmtime",
                        help="wasmtime (default) or node (node:wasi); both provide the host functions and closure growth")
    parser.add_argument("--library-path", "-L", metavar="DIR", action="append", default=[],
                        help="search DIR for shared libraries (after the program's directory); "
                             "see docs/dynamic.md")
    parser.add_argument("--interp", action="store_true",
                        help="link the given objects and archives in memory and run the IR on "
                             "the reference interpreter: irld run --interp main.o lib.a "
                             "[-- args...] (docs/testing.md)")
    parser.add_argument("--trace", metavar="PATTERN",
                        help="log calls, tail calls and returns of the functions whose name "
                             "matches PATTERN (fnmatch) with their values; the program must be "
                             "linked with --instrument")
    parser.add_argument("--trace-ffi", action="store_true",
                        help="log every ffi_call with its target, C signature and decoded "
                             "argument and result values (needs --instrument)")
    parser.add_argument("--trace-file", metavar="FILE",
                        help="write the --trace log to FILE instead of stderr")
    parser.add_argument("--profile", metavar="FILE",
                        help="write a profile of the instrumented functions (speedscope's "
                             "evented JSON; speedscope and the Firefox Profiler open it); "
                             "the program must be linked with --instrument (wasmtime only)")
    parser.add_argument("wasm", metavar="prog.wasm", help="a WASI command produced by irld link")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="args",
                        help="arguments passed to the program")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run", help="run a linked program with wasmtime (or node)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None)
    add_arguments(parser)
    parser.set_defaults(func=run_command)


def _error(message: str) -> int:
    print(f"irld run: error: {message}", file=sys.stderr)
    return 1


def run_command(args: argparse.Namespace) -> int:
    if args.interp:
        return _run_interp(args)
    argv = [args.wasm, *args.args]
    stdin: Path | None = None
    if args.stdin is not None:
        stdin = Path(args.stdin)
        if stdin.is_dir() or not os.access(stdin, os.R_OK):
            return _error(f"{args.stdin}: cannot read the --stdin file")
    sys.stdout.flush()
    if args.engine == "node" and args.profile is not None:
        print("irld run: error: --profile needs --engine wasmtime", file=sys.stderr)
        return 2
    trace_out = None
    try:
        trace_out = open(args.trace_file, "w", encoding="utf-8") if args.trace_file else None
    except OSError as exc:
        return _error(f"{args.trace_file}: cannot write the --trace-file: {exc.strerror or exc}")
    if args.engine == "node":
        try:
            return _run_on_node(args, argv, stdin, trace_out)
        finally:
            if trace_out is not None:
                trace_out.close()
    try:
        tracer = _tracer(args, trace_out)
        result = linker.host.run(args.wasm, argv, stdin=stdin, fuel=args.fuel,
                                 timeout=args.timeout, interruptible=True,
                                 host=tracer.hooks(linker.host.HostFunctions.default()),
                                 library_path=args.library_path)
    except linker.host.RunError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("irld run: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if trace_out is not None:
            trace_out.close()
    if args.profile is not None:
        try:
            tracer.write_profile(args.profile, os.path.basename(args.wasm))
        except OSError as exc:
            return _error(f"{args.profile}: cannot write the profile: {exc.strerror or exc}")
    return result.exit_code


def _tracer(args: argparse.Namespace, out: Any) -> Any:
    """The host side of `irld link --instrument`'s hooks (inactive without
    --trace and --profile, so instrumented programs run either way)."""
    from linker.host.trace import FfiInfo, Tracer
    from linker.sourcemap import SourceMapError, function_names
    names: dict[int, str] = {}
    ffi: FfiInfo | None = None
    if args.trace is not None or args.profile is not None or args.trace_ffi:
        try:
            data = Path(args.wasm).read_bytes()
            names = function_names(data)
            ffi = FfiInfo.of(data) if args.trace_ffi else None
        except (OSError, SourceMapError, IndexError, ValueError):
            names = {}      # `run` reports an unreadable or invalid file
    return Tracer(names, args.trace, out if out is not None else sys.stderr,
                  args.profile is not None, ffi)


def _node_trace_spec(args: argparse.Namespace) -> dict[str, Any] | None:
    """node_runner.mjs's view of --trace / --trace-ffi (`linker.host.trace.node_spec`)."""
    from linker.host.trace import node_spec
    from linker.sourcemap import SourceMapError
    if args.trace is None and not args.trace_ffi:
        return None
    try:
        data = Path(args.wasm).read_bytes()
        return node_spec(data, args.trace, args.trace_ffi)
    except (OSError, SourceMapError, IndexError, ValueError):
        return {"traced": {}}      # the run reports an unreadable or invalid file


def _run_on_node(args: argparse.Namespace, argv: list[str], stdin: Path | None,
                 trace_out: Any) -> int:
    if args.fuel is not None:
        print("irld run: error: --fuel needs --engine wasmtime", file=sys.stderr)
        return 2
    data = stdin.read_bytes() if stdin is not None else None
    try:
        result = linker.host.run_node(args.wasm, argv, data, timeout=args.timeout, capture=False,
                                      library_path=args.library_path,
                                      trace_spec=_node_trace_spec(args),
                                      trace_fd=trace_out.fileno() if trace_out is not None else 2)
    except linker.host.NodeNotFoundError as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        print("irld run: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return result.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry (``python -m linker.cli.run_cmd``), same behaviour as ``irld run``."""
    parser = argparse.ArgumentParser(prog="irld run", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except BrokenPipeError:
        return 1


def _run_interp(args: argparse.Namespace) -> int:
    """`--interp`: inputs up to `--` are linked (not written), the rest are the program's args."""
    from linker.diagnostics import DiagnosticError
    from linker.driver import LinkOptions, link
    from linker.interp import InterpError, run_program
    rest = list(args.args)
    cut = rest.index("--") if "--" in rest else len(rest)
    inputs, program_args = [args.wasm, *rest[:cut]], rest[cut + 1:]
    if args.engine != "wasmtime" or args.timeout is not None:
        print("irld run: error: --interp takes no --engine or --timeout (use --fuel to bound "
              "the number of interpreter steps)", file=sys.stderr)
        return 2
    stdin = b""
    if args.stdin is not None:
        try:
            stdin = Path(args.stdin).read_bytes()
        except OSError as exc:
            return _error(f"{args.stdin}: cannot read the --stdin file: {exc.strerror or exc}")
    try:
        result = link(LinkOptions(inputs=tuple(inputs)))
    except DiagnosticError as exc:
        print(exc.render(getattr(exc, "sources", None)), file=sys.stderr)
        return 1
    try:
        run = run_program(result, [inputs[0], *program_args], stdin, max_steps=args.fuel)
    except InterpError as exc:
        return _error(f"cannot interpret the program: {exc}")
    except KeyboardInterrupt:
        print("irld run: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    sys.stdout.buffer.write(run.stdout)
    sys.stdout.flush()
    sys.stderr.buffer.write(run.stderr)
    sys.stderr.flush()
    return run.exit_code


if __name__ == "__main__":
    sys.exit(main())
