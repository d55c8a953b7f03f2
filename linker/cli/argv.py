"""What a linker's command line has that argparse has not: response files and
position-dependent flags.

* `@FILE` (any command) is replaced by the arguments in FILE, split as a
  POSIX shell splits words (quotes, backslashes), recursively, as lld and
  GCC read response files.  A file that cannot be read is an error naming it.
* `irld link`: `--whole-archive` ... `--no-whole-archive` apply to the
  archives between them, so each such archive becomes
  `--whole-archive-input ARCHIVE`; `--start-group` and `--end-group` are
  accepted and dropped, because irld searches every archive again for each
  undefined symbol anyway (a group is what it always does).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

MAX_DEPTH = 16      # response files naming themselves must not loop forever


class ResponseFileError(Exception):
    """A response file that cannot be read."""


def expand(argv: Sequence[str], depth: int = 0) -> list[str]:
    """`argv` with every `@FILE` replaced by the arguments it holds."""
    out: list[str] = []
    for arg in argv:
        if not arg.startswith("@") or len(arg) == 1:
            out.append(arg)
            continue
        path = arg[1:]
        if depth >= MAX_DEPTH:
            raise ResponseFileError(f"{path}: response files nested more than {MAX_DEPTH} deep")
        try:
            with open(path, encoding="utf-8") as fh:
                words = shlex.split(fh.read())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ResponseFileError(f"{path}: cannot read response file: {reason}") from None
        out += expand(words, depth + 1)
    return out


def link_positional_flags(argv: list[str]) -> list[str]:
    """Rewrite `irld link`'s position-dependent flags (see the module docstring)."""
    if not argv or argv[0] != "link":
        return argv
    out: list[str] = []
    whole = False
    for arg in argv:
        if arg == "--whole-archive":
            whole = True
        elif arg == "--no-whole-archive":
            whole = False
        elif arg in ("--start-group", "--end-group", "-(", "-)"):
            continue
        elif whole and _is_archive(arg):
            out += ["--whole-archive-input", arg]
        else:
            out.append(arg)
    return out


def _is_archive(path: str) -> bool:
    # By content, as inputs are recognised: an option's value is never an archive.
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == b"!<arch>\n"
    except OSError:
        return False
