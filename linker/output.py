"""Every file irld writes goes through here: one transaction per command.

A command declares all its outputs, with its inputs, before doing any work
(`OutputSet(inputs=..., outputs=[(flag, path), ...])`), stages each file's
bytes when it is ready (`write(path, data)`), and the set commits them all
together when the command's `with` block ends without an exception; on any
failure (an exception, Ctrl-C) every temporary is removed and every existing
file is left exactly as it was.  The rules, as a careful linker keeps them
(GNU ld: "input file is the same as output file"; lld's `FileOutputBuffer`
for the temporary-then-rename scheme):

* **Refusals, before any work.**  An output that is one of the inputs, or
  two outputs that are one file, is an error (`OutputError`, a
  `DiagnosticError`).  Existing files are compared by device and inode, so
  hard links, symlinks and `./x` vs `x` are all caught; names that do not
  exist yet are compared by their resolved real path.  A directory as output
  (`-o .`) is refused with "is a directory".  Non-regular files (character
  devices such as `/dev/null` or a terminal, FIFOs) are exempt from the
  identity rules: writing the same stream twice is harmless, and
  `irld compile /dev/stdin -o /dev/stdout` on one terminal is fine.
* **Non-regular files are written in place**, never replaced: renaming a
  regular file onto `/dev/null` as root would destroy the device.
* **Temporaries** are created in the target's directory (so the final rename
  stays on one file system and is atomic) by `tempfile.mkstemp`, whose names
  are unpredictable and whose open uses `O_CREAT|O_EXCL|O_NOFOLLOW`: a
  symlink planted at the name is never followed.  Their mode becomes the
  usual `0666 & ~umask` before the rename.
* **Commit**: the bytes of every output are already in their temporaries
  when the commit starts (so a full disk or an unwritable directory fails
  before anything changes); the in-place writes come first (they are the
  ones that can still fail), then one `os.replace` per regular output, with
  SIGINT blocked so Ctrl-C cannot land between two renames.

How a command adds an output:

    with OutputSet(inputs=args.inputs, outputs=[("-o", args.output),
                                                 ("--my-flag", args.my_file)]) as out:
        ...work...
        out.write(args.my_file, data)      # staged; committed when the block ends

Code that cannot see the set (a phase deep in the driver, or an older
caller) calls `write_file_atomic(path, data)` or `stage_outputs(...)`: while
a command's set is active (`active()`) the file joins that set (an
undeclared path is checked against the inputs and the other outputs when it
joins); with no active set it is written and committed at once, alone.
`declare_inputs(paths)` adds inputs found late (e.g. `-l` libraries).
"""

from __future__ import annotations

import contextvars
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Sequence
from types import TracebackType

import attrs

from linker.diagnostics import Diagnostic, DiagnosticError


class OutputError(DiagnosticError):
    """An output that may not be written (refused, or the write failed)."""

    def __init__(self, message: str) -> None:
        super().__init__([Diagnostic.error(message)])


@attrs.frozen
class _Identity:
    """What makes two paths one file: (device, inode) when it exists, else its real path."""

    key: tuple[int, int] | str
    regular: bool      # a regular file, or a name that does not exist yet

    @staticmethod
    def of(path: str) -> "_Identity | None":
        """None when `path` cannot be examined (the write will then report why)."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return _Identity(os.path.realpath(path), True)
        except OSError:
            return None
        return _Identity((st.st_dev, st.st_ino), stat.S_ISREG(st.st_mode))


@attrs.define
class _Staged:
    path: str
    flag: str
    data: bytes | None = None
    temp: str | None = None        # the temporary holding `data` (regular outputs)
    in_place: bool = False         # a device or FIFO: written directly at commit


_ACTIVE: contextvars.ContextVar["OutputSet | None"] = contextvars.ContextVar(
    "irld_output_set", default=None)


def active() -> "OutputSet | None":
    """The output set of the command running now, if any."""
    return _ACTIVE.get()


class OutputSet:
    """The outputs of one command, committed together (see the module docstring)."""

    def __init__(self, inputs: Iterable[str | None] = (),
                 outputs: Iterable[tuple[str, str | None]] = ()) -> None:
        self._inputs: list[tuple[str, _Identity]] = []
        self._outputs: dict[str, _Staged] = {}
        self._ids: dict[str, _Identity] = {}
        self._token: contextvars.Token[OutputSet | None] | None = None
        self.declare_inputs(inputs)
        problems = [p for flag, path in outputs if path is not None
                    for p in self._declare(flag, path)]
        if problems:
            raise DiagnosticError([Diagnostic.error(p) for p in problems])

    # ------------------------------------------------------------ declaring

    def declare_inputs(self, paths: Iterable[str | None]) -> None:
        """Add inputs; an already declared output that is one of them is refused."""
        problems = []
        for path in paths:
            if path is None:
                continue
            ident = _Identity.of(path)
            if ident is None or not ident.regular:
                continue
            self._inputs.append((path, ident))
            for staged in self._outputs.values():
                if self._ids.get(staged.path) == ident:
                    problems.append(_same_as_input(staged, path))
        if problems:
            raise DiagnosticError([Diagnostic.error(p) for p in problems])

    def declare(self, flag: str, path: str) -> None:
        """Declare one more output (`flag` names it in messages, e.g. "--map")."""
        problems = self._declare(flag, path)
        if problems:
            raise DiagnosticError([Diagnostic.error(p) for p in problems])

    def _declare(self, flag: str, path: str) -> list[str]:
        known = self._outputs.get(path)
        if known is not None:
            # The same flag declared again (a phase staging what its command declared)
            # is the same output; two flags naming one path are two outputs.
            if known.flag == flag or known.in_place:
                return []
            return [f"{known.flag} and {flag} name the same file: {path}"]
        staged = _Staged(path, flag)
        if os.path.isdir(path):
            return [f"cannot write output file {path}: is a directory"]
        ident = _Identity.of(path)
        problems: list[str] = []
        if ident is not None and ident.regular:
            problems += [_same_as_input(staged, name) for name, i in self._inputs if i == ident]
            problems += [f"{other.flag} and {flag} name the same file: {path}"
                         for other in self._outputs.values()
                         if self._ids.get(other.path) == ident]
            self._ids[path] = ident
        staged.in_place = ident is not None and not ident.regular
        self._outputs[path] = staged
        return problems

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self._outputs)

    # ------------------------------------------------------------ writing

    def write(self, path: str, data: bytes, flag: str = "output") -> None:
        """Stage `data` for `path` (declaring it if needed); nothing is visible before commit."""
        if path not in self._outputs:
            self.declare(flag, path)
        staged = self._outputs[path]
        staged.data = data
        if staged.in_place:
            return
        self._drop_temp(staged)
        staged.temp = _write_temp(path, data)

    def commit(self) -> None:
        """Make every staged output visible; in-place writes first, then the renames."""
        staged = [s for s in self._outputs.values() if s.data is not None]
        for s in staged:
            if s.in_place:
                _write_in_place(s.path, s.data or b"")
        with _sigint_blocked():
            for s in staged:
                if s.temp is not None:
                    _replace(s.temp, s.path)
                    s.temp = None

    def discard(self) -> None:
        """Remove every temporary; existing files stay as they were."""
        for staged in self._outputs.values():
            self._drop_temp(staged)

    @staticmethod
    def _drop_temp(staged: _Staged) -> None:
        if staged.temp is not None:
            try:
                os.unlink(staged.temp)
            except OSError:
                pass
            staged.temp = None

    # ------------------------------------------------------------ the command's scope

    def __enter__(self) -> "OutputSet":
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._token is not None:
            _ACTIVE.reset(self._token)
            self._token = None
        if exc_type is not None:
            self.discard()
            return
        try:
            self.commit()
        finally:
            self.discard()


def _same_as_input(staged: _Staged, input_path: str) -> str:
    if os.path.normpath(input_path) == os.path.normpath(staged.path):
        return f"output file {staged.path} ({staged.flag}) is also an input; refusing to " \
               f"overwrite it"
    return f"output file {staged.path} ({staged.flag}) is the same file as input " \
           f"{input_path}; refusing to overwrite it"


def _cannot_write(path: str, exc: OSError) -> OutputError:
    return OutputError(f"cannot write output file {path}: {exc.strerror or exc}")


def _write_temp(path: str, data: bytes) -> str:
    directory = os.path.dirname(path) or "."
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                    dir=directory)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise
    return temp


def _write_in_place(path: str, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def _replace(temp: str, path: str) -> None:
    try:
        os.replace(temp, path)
    except OSError as exc:
        raise _cannot_write(path, exc) from None


_UMASK: list[int] = []


def _umask() -> int:
    """The process's umask (read once: `os.umask` can only be read by setting it)."""
    if not _UMASK:
        old = os.umask(0o022)
        os.umask(old)
        _UMASK.append(old)
    return _UMASK[0]


class _sigint_blocked:
    """Defer SIGINT while the renames run (main thread only; elsewhere a no-op)."""

    def __enter__(self) -> None:
        self._blocked = (threading.current_thread() is threading.main_thread()
                         and hasattr(signal, "pthread_sigmask"))
        if self._blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    def __exit__(self, *exc: object) -> None:
        if self._blocked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


# ---------------------------------------------------------------- compatible entry points


def stage_outputs(files: Sequence[tuple[str, str, bytes]], inputs: Iterable[str] = ()) -> None:
    """Write `(flag, path, data)` files: into the active set, or as a set of their own."""
    current = active()
    if current is not None:
        current.declare_inputs(inputs)
        for flag, path, _data in files:
            current.declare(flag, path)
        for flag, path, data in files:
            current.write(path, data, flag)
        return
    with OutputSet(inputs, [(flag, path) for flag, path, _ in files]) as out:
        for flag, path, data in files:
            out.write(path, data, flag)


def write_file_atomic(path: str, data: bytes) -> None:
    """One output file, written as `stage_outputs` writes (kept for older callers).

    Raises `OutputError` (a `DiagnosticError`; no longer a bare `OSError`)."""
    current = active()
    if current is not None and path in current.paths:
        current.write(path, data)       # declared by its command, under its own flag
        return
    stage_outputs([("output", path, data)])


def declare_inputs(paths: Iterable[str]) -> None:
    """Tell the active set (if any) about inputs found while the command runs."""
    current = active()
    if current is not None:
        current.declare_inputs(paths)
