"""Diagnostics: one type for every problem irld reports, rendered in the style of lld and clang.

A `Diagnostic` has a severity, a message, an optional source `Span` and notes.
Text-format problems render as::

    file:line:col: error: message
      source line
          ^~~~

Binary inputs (object files, archives) have no line: their diagnostics name the
file and the reason (``file: error: message``).  Phases collect every problem
they find and raise one `DiagnosticError` holding all of them, so a user sees
every error of a phase at once.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

import attrs


@attrs.frozen(slots=True)
class Span:
    """A 1-based source range: line/col of the first and one past the last character."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@attrs.frozen(slots=True)
class Diagnostic:
    """One reported problem; `file` names the input when there is no span."""

    severity: Severity
    message: str
    span: Span | None = None
    file: str | None = None
    notes: tuple[str, ...] = ()

    @staticmethod
    def error(message: str, span: Span | None = None, *, file: str | None = None,
              notes: Iterable[str] = ()) -> "Diagnostic":
        return Diagnostic(Severity.ERROR, message, span, file, tuple(notes))

    @staticmethod
    def warning(message: str, span: Span | None = None, *, file: str | None = None,
                notes: Iterable[str] = ()) -> "Diagnostic":
        return Diagnostic(Severity.WARNING, message, span, file, tuple(notes))

    def render(self, source: str | None = None) -> str:
        """Render as text; `source` is the text of the span's file, for the caret line."""
        where = _location(self)
        lines = [f"{where}{self.severity.value}: {self.message}"]
        if self.span is not None and source is not None:
            lines.extend(_caret_lines(self.span, source))
        lines.extend(self.notes)
        return "\n".join(lines)


def _location(diag: Diagnostic) -> str:
    if diag.span is not None:
        return f"{diag.span.file}:{diag.span.line}:{diag.span.col}: "
    if diag.file is not None:
        return f"{diag.file}: "
    return ""


def _caret_lines(span: Span, source: str) -> list[str]:
    src_lines = source.splitlines()
    if not 1 <= span.line <= len(src_lines):
        return []
    text = src_lines[span.line - 1].replace("\t", " ")
    start = max(span.col - 1, 0)
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    else:
        width = 1
    width = max(1, min(width, max(len(text) - start, 1)))
    if len(text) > _MAX_SHOWN:
        # A window of a very long line around the caret (a generated line may be megabytes).
        left = max(0, min(start - _MAX_SHOWN // 3, len(text) - _MAX_SHOWN))
        text = text[left:left + _MAX_SHOWN]
        start -= left
        width = max(1, min(width, len(text) - start))
    return [f"  {text}", "  " + " " * start + "^" + "~" * (width - 1)]


_MAX_SHOWN = 160    # characters of a source line shown under a diagnostic


class DiagnosticError(Exception):
    """Raised by a phase with every diagnostic it collected (at least one error)."""

    def __init__(self, diagnostics: Sequence[Diagnostic],
                 sources: dict[str, str] | None = None) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        # File name -> text, so the renderer can show the source line and caret.
        self.sources: dict[str, str] = dict(sources or {})
        super().__init__("\n".join(d.render() for d in self.diagnostics))

    def render(self, sources: dict[str, str] | None = None) -> str:
        """Render all diagnostics; `sources` (or the attached ones) give caret lines."""
        sources = {**self.sources, **(sources or {})}
        out = []
        for d in self.diagnostics:
            src = sources.get(d.span.file) if d.span is not None else None
            out.append(d.render(src))
        return "\n".join(out)


def errors_only(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diags if d.severity is Severity.ERROR]


def decode_source(data: bytes, filename: str) -> str:
    """Source text from its bytes: UTF-8, a leading byte order mark dropped; invalid
    UTF-8 is one error at its line and column (the column counts characters)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line_start = data.rfind(b"\n", 0, start) + 1
        line = data.count(b"\n", 0, start) + 1
        col = len(data[line_start:start].decode("utf-8", "replace")) + 1
        bad = data[start:start + 1].hex()
        raise DiagnosticError([Diagnostic.error(
            f"invalid UTF-8 (byte 0x{bad}); IR text must be UTF-8",
            Span(filename, line, col, line, col + 1))]) from None
