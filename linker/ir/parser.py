"""The IR text parser: `parse_module(text, filename) -> Module`.

Two passes, both linear:

1. **Syntax.**  lark builds the LALR(1) parse table of `grammar.lark`, the
   contextual lexer's terminal set per parser state, and the callbacks of
   `_Collector`, an inline transformer whose methods run at each reduction
   and build small raw tuples ``(tag, fields...)`` whose leaves are tokens,
   so no parse tree is ever built.  `_FastLALR` runs those tables with a
   tighter loop than lark's (same states, same terminals, same callbacks;
   see its docstring); `IRLD_PARSER=lark` selects lark's own loop, and the
   tests check that both build the same modules.  Function bodies, nearly
   all of the text, are read by `_BodyParser`, recursive descent that lexes
   each token in the LALR state the table would be in and builds the raw
   tuples the callbacks would build, without the reductions; on anything
   wrong it gives up and the file is parsed again by the LALR loop alone,
   which reports the errors.  Finished module items are appended to a list
   as a side effect, so the items before a syntax error survive it.
2. **Build.**  `_Builder` turns the raw items into `linker.ir.model` nodes.  It
   first collects every declaration (so calls and global references may point
   forward), then types each function body top-down: a constant gets its type
   from its context (op operand, local, callee parameter, return type, data
   item width), names resolve to a param or local first, then to a declared
   global, and every operand is checked against the op table.

Error recovery is panic mode at the item level: after a syntax error the
parser resumes, with the `items` start symbol, at the next line that begins
with a top-level keyword (`func`, `data`, `global`, ...), so one file reports
all its syntax errors and the semantic errors of every item that parsed.  A
function whose header parsed before its body broke still declares its
signature, so calls to it do not cascade into "undeclared function" errors.
Every problem is a `Diagnostic` with a span; `parse_module` raises one
`DiagnosticError` with all of them, sorted by position.  No lark exception
or Python traceback escapes (an internal bug becomes an "internal error"
diagnostic).

Speed (the benchmark parses multi-megabyte files): the cyclic GC is paused
while the passes allocate, tokens are tuples (`_Tok`), punctuation has no
token object, and the hot grammar rules avoid lark's child-filter wrappers.
"""

from __future__ import annotations

import gc
import math
import os
import re
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any

import attrs
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import ContextualLexer
from lark.parsers.lalr_analysis import Shift

from linker.diagnostics import Diagnostic, DiagnosticError, Span
from linker.ir.ctypes import CKind, CScalar, CSig, CStruct, CType, lower
from linker.ir.model import (AddrItem, Assign, BasicBlock, Branch, BytesItem, Call, CallIndirect,
                             Const, Ctor, CSigDecl, CTypeDecl, Data, DataItem, Export, Expr,
                             ExternFunc, ExternGlobal, FloatItem, ForeignExport, ForeignImport,
                             Func, Global, GlobalGet, GlobalSet, ImportFunc, IntItem, Item, Jump,
                             Load, LocalGet, Module, OpExpr, Panic, Param, Return, SigRef, Stmt,
                             Store, Switch, SymRef, TailCall, TailCallIndirect, Terminator,
                             Unreachable, ZeroItem)
from linker.ir.ops import OPS_BY_NAME, Op, OpKind
from linker.ir.types import FuncType, ValType

__all__ = ["ParsedBodies", "parse_module", "parse_module_checked"]

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
_VALTYPES: dict[str, ValType] = {t.value: t for t in ValType}
_INT_RANGE: dict[ValType, tuple[int, int]] = {
    I32: (-(1 << 31), (1 << 32) - 1),
    I64: (-(1 << 63), (1 << 64) - 1),
}
_I32_BOUNDS, _I64_BOUNDS = _INT_RANGE[I32], _INT_RANGE[I64]
_WIDTH_RANGE: dict[int, tuple[int, int]] = {w: (-(1 << (w - 1)), (1 << w) - 1) for w in (8, 16, 32, 64)}
_DATA_WIDTHS: dict[str, tuple[bool, int]] = {
    "i8": (False, 8), "i16": (False, 16), "i32": (False, 32), "i64": (False, 64),
    "f32": (True, 32), "f64": (True, 64),
}
_CSCALARS: dict[str, CScalar] = {k.value: CScalar(k) for k in CKind}
_U32_MAX = (1 << 32) - 1
_OFF_MIN = -(1 << 31)
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_OPS_BY_CALLEE: dict[str, Op] = {name + "(": op for name, op in OPS_BY_NAME.items()}
# A line that starts a top-level item: where parsing resumes after a syntax error.
_SYNC = re.compile(r"^(?:private|readonly|import|extern|global|data|export|ctor|ctype|csig"
                   r"|foreign|func)\b(?![ \t]*:)", re.M)
_MAX_SYNTAX_ERRORS = 100
_RECURSION_LIMIT = 20000  # expression nesting the builder accepts (CPython 3.11+ frames are cheap)

_TOKEN_NAMES = {
    "NAME": "name", "LABEL_DEF": "label", "INT": "integer", "FLOAT": "float",
    "STRING": "string", "SYMREF": "'@symbol'", "ADDR_TARGET": "symbol",
    "OFFSET_ARG": "'offset=N'", "DEST": "'name ='", "CALLEE": "'name('",
    "$END": "end of file",
}


# ---------------------------------------------------------------- pass 1: syntax


Raw = Any  # a `_Tok` or a raw node: a tuple (tag, fields...) or a list


class _Collector(Transformer[Token, Any]):
    """Inline transformer: runs at each LALR reduction and builds raw tuples.

    Statements, terminators and expressions become ``(tag, fields...)``;
    lists reuse lark's fresh children list; items are appended to `found`.
    """

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        self.reset()

    def reset(self) -> None:
        # Not `items`: lark looks callbacks up by rule name, and `items` is a rule.
        self.found: list[tuple[Any, ...]] = []
        self.module: Token | None = None
        self.pending_head: list[Any] | None = None

    # items
    def module_head(self, c: list[Any]) -> None:
        self.module = c[0]

    def import_func(self, c: list[Any]) -> None:
        self.found.append(("import", c))

    def extern_func(self, c: list[Any]) -> None:
        self.found.append(("extern_func", c))

    def extern_global(self, c: list[Any]) -> None:
        self.found.append(("extern_global", c))

    def global_def(self, c: list[Any]) -> None:
        self.found.append(("global", c))

    def data_def(self, c: list[Any]) -> None:
        self.found.append(("data", c))

    def export_sym(self, c: list[Any]) -> None:
        self.found.append(("export", c))

    def export_func(self, c: list[Any]) -> None:
        # The Func was appended by func_def; the Export follows it.
        head = c[1][1][0]
        self.found.append(("export", [c[0], head[1] if head[0].type == "PRIVATE" else head[0]]))

    def ctor(self, c: list[Any]) -> None:
        self.found.append(("ctor", c))

    def ctype_decl(self, c: list[Any]) -> None:
        self.found.append(("ctype", c))

    def csig_decl(self, c: list[Any]) -> None:
        self.found.append(("csig", c))

    def foreign_import(self, c: list[Any]) -> None:
        self.found.append(("fimport", c))

    def foreign_import_link(self, c: list[Any]) -> None:
        # No host module and field: a C function the link defines.
        self.found.append(("fimport", [None, None, *c]))

    def foreign_export(self, c: list[Any]) -> None:
        self.found.append(("fexport", c))

    def func_head(self, c: list[Any]) -> list[Any]:
        # Reduced before the body is parsed: if the body has a syntax error,
        # the header still declares the function (see `_parse_syntax`).
        self.pending_head = c
        return c

    def func_def(self, c: list[Any]) -> tuple[str, list[Any]]:
        item = ("func", c)
        self.found.append(item)
        self.pending_head = None
        return item

    def param(self, c: list[Any]) -> list[Any]:
        return c

    def body(self, c: list[Any]) -> tuple[str, list[Any]]:
        return ("body", c)

    def functype(self, c: list[Any]) -> list[Any]:
        return c

    def csig(self, c: list[Any]) -> list[Any]:
        return c

    def cstruct(self, c: list[Any]) -> tuple[str, list[Any]]:
        return ("struct", c)

    def num_item(self, c: list[Any]) -> tuple[str, list[Any]]:
        return ("num", c)

    def zero_item(self, c: list[Any]) -> tuple[str, list[Any]]:
        return ("zero", c)

    def addr_item(self, c: list[Any]) -> tuple[str, list[Any]]:
        return ("addr", c)

    def bytes_item(self, c: list[Any]) -> tuple[str, list[Any]]:
        return ("bytes", c)

    def local_decl(self, c: list[Any]) -> tuple[str, list[Any]]:
        return ("local", c)

    # The callbacks below run once per statement or operand: keep them tiny.
    # Each builds a tuple ``(tag, fields...)``; a missing list is [].

    def block(self, c: list[Any]) -> tuple[Any, ...]:
        if len(c) == 3:
            return ("block", c[0], c[1], c[2])
        if len(c) == 1:
            return ("block", c[0], [], None)
        x = c[1]
        if x.__class__ is list:
            return ("block", c[0], x, None)
        return ("block", c[0], [], x)

    def stmts_first(self, c: list[Any]) -> list[Any]:
        return c

    def stmts_next(self, c: list[Any]) -> list[Any]:
        lst: list[Any] = c[0]
        lst.append(c[1])
        return lst

    names_first = stmts_first

    def names_next(self, c: list[Any]) -> list[Any]:
        lst: list[Any] = c[0]
        lst.append(c[2])
        return lst

    def assign(self, c: list[Any]) -> tuple[Any, ...]:
        return ("assign", c[0], c[1])

    def assign_call(self, c: list[Any]) -> tuple[Any, ...]:
        # DEST CALL CALLEE [arglist] RPAR
        return ("assign_call", c[0], c[2], c[3] if len(c) == 5 else [])

    def assign_call_indirect(self, c: list[Any]) -> tuple[Any, ...]:
        # DEST CALL_INDIRECT functype LSQB expr RSQB LPAR [arglist] RPAR
        return ("assign_call_indirect", c[0], c[1], c[2], c[4], c[7] if len(c) == 9 else [])

    def op_stmt(self, c: list[Any]) -> tuple[Any, ...]:
        return ("op_stmt", c[0], c[1] if len(c) == 3 else [])

    def call(self, c: list[Any]) -> tuple[Any, ...]:
        return ("call", c[1], c[2] if len(c) == 4 else [])

    def call_indirect(self, c: list[Any]) -> tuple[Any, ...]:
        # CALL_INDIRECT functype LSQB expr RSQB LPAR [arglist] RPAR
        return ("call_indirect", c[0], c[1], c[3], c[6] if len(c) == 8 else [])

    def jump(self, c: list[Any]) -> tuple[Any, ...]:
        return ("jump", c[0], c[1])

    def branch(self, c: list[Any]) -> tuple[Any, ...]:
        return ("branch", c[0], c[1], c[3], c[5])

    def switch(self, c: list[Any]) -> tuple[Any, ...]:
        # SWITCH expr LSQB [names] RSQB ELSE NAME
        return ("switch", c[0], c[1], c[3] if len(c) == 7 else [], c[-1])

    def ret(self, c: list[Any]) -> tuple[Any, ...]:
        return ("ret", c[0], c[1] if len(c) == 2 else None)

    def tail_call(self, c: list[Any]) -> tuple[Any, ...]:
        return ("tail_call", c[0], c[2], c[3] if len(c) == 5 else [])

    def tail_call_indirect(self, c: list[Any]) -> tuple[Any, ...]:
        # TAIL CALL_INDIRECT functype LSQB expr RSQB LPAR [arglist] RPAR
        return ("tail_call_indirect", c[0], c[1], c[2], c[4], c[7] if len(c) == 9 else [])

    def unreachable(self, c: list[Any]) -> tuple[Any, ...]:
        return ("unreachable", c[0])

    def panic(self, c: list[Any]) -> tuple[Any, ...]:
        return ("panic", c[0], c[1])

    def expr(self, c: list[Any]) -> Any:
        # The fast driver never calls this: it treats the rule as a unit reduction.
        return c[0]

    def app(self, c: list[Any]) -> tuple[Any, ...]:
        return ("app", c[0], c[1] if len(c) == 3 else [])

    def sigref(self, c: list[Any]) -> tuple[Any, ...]:
        return ("sigref", c[0], c[1])

    arg_first = stmts_first
    arg_next = names_next


# ---------------------------------------------------------------- fast contextual lexing


class _Tok(tuple[Any, ...]):
    """A token as the fast lexer makes it: a tuple, so creating one is cheap.

    It has the attributes of a lark `Token` that lark's parser and our code
    read.  Tokens never span lines (newlines only occur in the ignored gaps).
    """

    __slots__ = ()

    type = property(itemgetter(0))
    value = property(itemgetter(1))
    start_pos = property(itemgetter(2))
    line = property(itemgetter(3))
    end_line = property(itemgetter(3))
    column = property(itemgetter(4))
    end_column = property(itemgetter(5))

    @property
    def end_pos(self) -> int:
        end: int = self[2] + len(self[1])
        return end

    def __repr__(self) -> str:
        return f"Token({self[0]!r}, {self[1]!r})"


_KEYWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Terminals whose tokens no callback reads (the fast driver pushes None for them).
_VALUELESS = frozenset({
    "COMMA", "RPAR", "LPAR", "LSQB", "RSQB", "LBRACE", "RBRACE", "COLON", "EQUAL", "THEN",
    "ELSE", "CALL", "MODULE", "FUNC", "DATA", "LOCAL", "GLOBAL", "EXTERN", "IMPORT", "EXPORT",
    "CTOR", "CTYPE", "CSIG", "FOREIGN", "CCALL", "ALIGN", "POOL", "PRIORITY", "ZERO", "ADDR",
    "BYTES"})
# lark's exception constructors are untyped; the driver raises them as lark would.
_unexpected_token: Any = UnexpectedToken
_unexpected_chars: Any = UnexpectedCharacters
_NAME_CONT = r"(?![A-Za-z0-9_.$])"


class _Unsupported(Exception):
    """The fast driver cannot lex some parser state; use lark's own loop instead."""


class _FastLALR:
    """lark's LALR(1) tables and callbacks, driven by a tighter loop.

    lark builds the grammar, the parse table, the contextual lexer's
    per-state terminal sets and the transformer callbacks; this class only
    replaces lark's per-token machinery (generator-based lexer, token
    objects with eight attributes, a method call and an assert per
    parser action), which costs about half of the parse time.  It does what
    lark's contextual lexer does: in each parser state it matches only the
    terminals that state accepts, with the ignored gap as an atomic prefix
    of one regex per state.  Keywords that the state's NAME would also match
    carry a "no identifier character follows" look-ahead, which is what
    lark's "unless" callback decides after matching NAME.  Errors are raised
    as lark's `UnexpectedToken` / `UnexpectedCharacters`, as lark would.
    `IRLD_PARSER=lark` selects lark's own loop (tests compare the two).
    """

    def __init__(self, lark: Lark) -> None:
        frontend: Any = lark.parser
        parser = frontend.parser.parser
        table = parser.parse_table
        callbacks = parser.callbacks
        self.start_states: dict[str, int] = table.start_states
        self.end_states: dict[str, int] = table.end_states
        self.table_states: dict[int, dict[str, Any]] = table.states
        n_states = max(table.states) + 1
        self.actions: list[dict[str, Any]] = [{} for _ in range(n_states)]
        for state, acts in table.states.items():
            compiled: dict[str, Any] = {}
            for sym, (action, arg) in acts.items():
                if action is Shift:
                    compiled[sym] = arg
                    continue
                callback = callbacks[arg]
                if getattr(callback, "__func__", None) is _Collector.expr:
                    callback = None  # `expr: X` passes X through: a unit reduction
                compiled[sym] = (len(arg.expansion), arg.origin.name, callback)
            self.actions[state] = compiled
        self.lexer: Any = frontend.lexer
        self.patterns: list[Any] = [None] * n_states
        self.by_terminals: dict[frozenset[str], Any] = {}
        root = self.lexer.root_lexer
        ignore = [t for t in root.terminals if t.name in root.ignore_types]
        gap = "|".join(f"(?:{t.pattern.to_regexp()})" for t in ignore)
        self.gap_re = f"(?>(?:{gap})*)"
        self.gap: Any = re.compile(self.gap_re).match
        self.root = self._pattern([t for t in root.terminals if t.name not in root.ignore_types])
        self.body: _BodyParser | None = None    # set by `_get_parser`

    def expected(self, stack: list[int]) -> set[str]:
        """The terminals the parser could shift next from `stack`.

        An LALR state may reduce on terminals that a later state rejects
        (lookaheads merged from other contexts), so each candidate is tried
        on a copy of the stack, as the parser would run it.
        """
        actions = self.actions
        out: set[str] = set()
        for term in actions[stack[-1]]:
            if not term.isupper():
                continue
            sim = list(stack)
            while True:
                act = actions[sim[-1]].get(term)
                if act is None:
                    break
                if act.__class__ is int:
                    out.add(term)
                    break
                size, origin, _ = act
                if size:
                    del sim[-size:]
                goto = actions[sim[-1]].get(origin)
                if goto is None:
                    break
                sim.append(goto)
                if term == "$END" and sim[-1] in self.end_states.values():
                    out.add(term)
                    break
        return out

    def _pattern(self, terms: list[Any]) -> Any:
        regexes = [t for t in terms if t.pattern.type == "re"]
        groups: list[tuple[int, int, str]] = []
        for t in terms:
            if t.pattern.type == "re":
                groups.append((-t.priority, 2, f"(?P<{t.name}>{t.pattern.to_regexp()})"))
                continue
            value: str = t.pattern.value
            body = re.escape(value)
            if _KEYWORD.match(value):
                rivals = [r.name for r in regexes if r.priority == t.priority
                          and re.fullmatch(r.pattern.to_regexp(), value)]
                if rivals and "NAME" in rivals:
                    body += _NAME_CONT
                groups.append((-t.priority, 0, f"(?P<{t.name}>{body})"))
            else:
                groups.append((-t.priority, 1, f"(?P<{t.name}>{body})"))
        # Stable sort: lark's order (longest strings first) within each class.
        groups.sort(key=lambda g: (g[0], g[1]))
        return re.compile(self.gap_re + "(?:" + "|".join(g[2] for g in groups) + ")").match

    def compile_state(self, state: int) -> Any:
        lexer: Any = self.lexer.lexers[state]
        terms = [t for t in lexer.terminals if t.name not in lexer.ignore_types]
        key = frozenset(t.name for t in terms)
        pattern = self.by_terminals.get(key)
        if pattern is None:
            names = {t.name for t in terms}
            for t in terms:
                if t.pattern.type == "str" and _KEYWORD.match(t.pattern.value):
                    rivals = {r.name for r in terms if r.pattern.type == "re"
                              and r.priority == t.priority
                              and re.fullmatch(r.pattern.to_regexp(), t.pattern.value)}
                    if rivals - {"NAME"}:
                        raise _Unsupported(t.name)
            if not names:
                raise _Unsupported(state)
            pattern = self.by_terminals[key] = self._pattern(terms)
        self.patterns[state] = pattern
        return pattern

    def parse(self, text: str, start: str, pos: int, line: int, bodies: bool = True) -> None:
        """Parse `text[pos:]` (which begins line `line`) from start symbol `start`.

        With `bodies`, function bodies are read by `_BodyParser`, which
        raises `_Bail` on anything it does not take.
        """
        actions = self.actions
        body_parser = self.body
        body_starts = body_parser.starts if bodies and body_parser is not None else frozenset()
        after_body = -1     # the LALR state after a body's '}': the next token is lexed there
        body_last = (0, 1, 1)
        patterns = self.patterns
        valueless = _VALUELESS
        end_state = self.end_states[start]
        state: int = self.start_states[start]
        state_stack = [state]
        value_stack: list[Any] = []
        new = tuple.__new__
        tok_cls = _Tok
        count = text.count
        rfind = text.rfind
        line_start = pos
        last: tuple[int, int, int] = (0, 1, 1)  # start, line, end column of the last token
        while True:
            lex_state = state
            if after_body >= 0:
                lex_state, after_body = after_body, -1
            match = patterns[lex_state]
            if match is None:
                match = self.compile_state(lex_state)
            m = match(text, pos)
            if m is None:
                if self.gap(text, pos).end() >= len(text):
                    break
                self.lex_error(text, pos, line, line_start, state_stack)
            type_ = m.lastgroup
            start_ = m.start(type_)
            if start_ != pos:
                nl = count("\n", pos, start_)
                if nl:
                    line += nl
                    line_start = rfind("\n", pos, start_) + 1
            pos = m.end()
            col = start_ - line_start + 1
            # Punctuation carries no value: the callbacks never look at it.
            tok = None if type_ in valueless else new(
                tok_cls, (type_, text[start_:pos], start_, line, col, col + pos - start_))
            while True:
                act = actions[state].get(type_)
                if act.__class__ is int:
                    if act in body_starts:
                        assert body_parser is not None
                        value, after_body, pos, line, line_start, body_last = body_parser.parse(
                            text, pos, line, line_start, act)
                        goto_body = actions[state].get("body")
                        if goto_body.__class__ is not int:
                            raise _Bail
                        state = goto_body
                        state_stack.append(state)
                        value_stack.append(value)
                        break
                    state = act
                    state_stack.append(state)
                    value_stack.append(tok)
                    break
                if act is None:
                    bad = new(tok_cls, (type_, text[start_:pos], start_, line, col,
                                        col + pos - start_))
                    raise _unexpected_token(bad, self.expected(state_stack))
                size, origin, callback = act
                if callback is None:
                    state = actions[state_stack[-2]][origin]
                    state_stack[-1] = state
                    continue
                if size:
                    children = value_stack[-size:]
                    del state_stack[-size:]
                    del value_stack[-size:]
                else:
                    children = []
                value_stack.append(callback(children))
                state = actions[state_stack[-1]][origin]
                state_stack.append(state)
            last = body_last if after_body >= 0 else (start_, line, col + pos - start_)
        end_tok = new(tok_cls, ("$END", "", last[0], last[1], last[2], last[2]))
        while state != end_state:
            act = actions[state].get("$END")
            if act is None or act.__class__ is int:
                raise _unexpected_token(end_tok, self.expected(state_stack))
            size, origin, callback = act
            if callback is None:
                state = actions[state_stack[-2]][origin]
                state_stack[-1] = state
                continue
            if size:
                children = value_stack[-size:]
                del state_stack[-size:]
                del value_stack[-size:]
            else:
                children = []
            value_stack.append(callback(children))
            state = actions[state_stack[-1]][origin]
            state_stack.append(state)

    def lex_error(self, text: str, pos: int, line: int, line_start: int,
                  stack: list[int]) -> None:
        """Raise lark's error for the text at `pos` that state `state` cannot lex."""
        gap_end = self.gap(text, pos).end()
        nl = text.count("\n", pos, gap_end)
        if nl:
            line += nl
            line_start = text.rfind("\n", pos, gap_end) + 1
        col = gap_end - line_start + 1
        m = self.root(text, gap_end)
        expected = self.expected(stack)
        if m is not None and m.end() > gap_end:
            type_ = m.lastgroup
            start_ = m.start(type_)
            value = text[start_:m.end()]
            tok = tuple.__new__(_Tok, (type_, value, start_, line, col, col + len(value)))
            raise _unexpected_token(tok, expected)
        raise _unexpected_chars(text, gap_end, line, col, allowed=expected)


class _Bail(Exception):
    """The body parser met something it does not take: parse the file again without it."""


# Punctuation the body parser lexes without a regex (see `_BodyParser.quick_table`).
_QUICK_PUNCTUATION = {",": "COMMA", ")": "RPAR"}
_EXPR_START = frozenset({"NAME", "INT", "FLOAT", "SYMREF", "CALLEE", "SIG"})
_OPERAND_LEAVES = frozenset({"NAME", "INT", "FLOAT", "SYMREF", "OFFSET_ARG"})
_STMT_START = frozenset({"DEST", "CALLEE", "CALL", "CALL_INDIRECT"})
_TERM_START = frozenset({"JUMP", "IF", "SWITCH", "RETURN", "TAIL", "UNREACHABLE", "PANIC"})


def _star_rule(lark: Lark, prefix: str, first: str) -> str:
    """The name lark gave a list rule (`__<rule>_star_<n>`) whose first item is `first`."""
    for rule in lark.rules:
        name = rule.origin.name
        if name.startswith(prefix) and rule.expansion and rule.expansion[0].name == first:
            return str(name)
    raise _Unsupported(prefix)


class _BodyParser:
    """Recursive descent over a function body, in lockstep with the LALR tables.

    A function body is nearly all of a module's text, and in the LALR loop
    each of its tokens costs one or more reductions, each a Python callback
    on a list sliced off the stack.  This parser reads the body with one
    function per rule of `grammar.lark` (`body`, `local_decl`, `block`,
    `stmt`, `term`, `functype`; operand lists with an explicit stack, since
    expressions nest deeper than Python's recursion limit) and builds the
    same raw tuples the `_Collector` callbacks build.

    It still tracks the LALR state: each token is lexed with the pattern of
    the state the LALR parser would be in (the state after shifting the
    previous token), and shifted from the state the LALR parser would reach
    after its reductions (`goto` on the rule just completed, from the state
    where that rule began), so it splits the text into exactly the tokens
    the LALR parser would, and a token the table cannot shift stops it.
    Anything it does not take (a syntax error, a lexing error, the end of
    the file) raises `_Bail`, and the caller parses the whole file again
    with the plain LALR loop, which reports the error as always.
    """

    def __init__(self, fast: _FastLALR, lark: Lark, collector: _Collector) -> None:
        self.fast = fast
        self.star_locals = _star_rule(lark, "__body_star", "local_decl")
        self.star_blocks = _star_rule(lark, "__body_star", "block")
        self.star_local_names = _star_rule(lark, "__local_decl_star", "COMMA")
        self.star_params = _star_rule(lark, "__functype_star", "COMMA")
        self.make_body = collector.body
        # Per LALR state, once lexed in: its quick punctuation (None when it
        # has none) and its pattern, the two things `shift` needs.
        self.lexers: list[tuple[dict[str, str] | None, Any] | None] = [None] * len(fast.actions)
        self.punctuation = {ch: name for ch, name in _QUICK_PUNCTUATION.items()
                            if lark.get_terminal(name).pattern.type == "str"
                            and lark.get_terminal(name).pattern.value == ch}
        # The states right after a function body's '{' (where `local_decl*` begins).
        self.starts: frozenset[int] = frozenset(
            target for acts in fast.actions
            if (target := acts.get("LBRACE")).__class__ is int
            and self.star_locals in fast.actions[target])

    def quick_table(self, state: int) -> dict[str, str]:
        """The one-character punctuation `state` lexes without its regex.

        When the next character is ',' or ')' (no gap before it), a state
        whose terminals include COMMA or RPAR lexes exactly that token: no
        other terminal can match text starting with either character (all
        begin with a letter, digit, sign, '@', '"', '.', '-', '[', '(' or
        a gap), so every higher-priority alternative of the state's regex fails.
        """
        lexer: Any = self.fast.lexer.lexers[state]
        names = {t.name for t in lexer.terminals if t.name not in lexer.ignore_types}
        return {ch: name for ch, name in self.punctuation.items() if name in names}

    def lexer(self, state: int) -> tuple[dict[str, str] | None, Any]:
        """`state`'s quick punctuation (None if none) and its pattern."""
        match = self.fast.patterns[state]
        if match is None:
            match = self.fast.compile_state(state)
        return self.quick_table(state) or None, match

    def parse(self, text: str, pos: int, line: int, line_start: int,
              b0: int) -> tuple[Any, int, int, int, int, tuple[int, int, int]]:
        """Parse a body from just after its '{' (LALR state `b0`) through its '}'.

        Returns the `body` value, the LALR state after the '}', the position,
        line and line start after it, and the '}' as (start, line, end column).
        """
        fast = self.fast
        star_local_names, star_params = self.star_local_names, self.star_params
        actions = fast.actions
        patterns = fast.patterns
        lexers = self.lexers
        compile_state = fast.compile_state
        valueless = _VALUELESS
        new = tuple.__new__
        tok_cls = _Tok
        count = text.count
        rfind = text.rfind
        t = ""          # the look-ahead token's type
        tok: Any = None  # the look-ahead token (None for punctuation)

        def lex(state: int) -> None:
            """Lex the first token, in state `state`."""
            nonlocal t, tok, pos, line, line_start
            match = patterns[state]
            if match is None:
                match = compile_state(state)
            m = match(text, pos)
            if m is None:
                raise _Bail
            t = m.lastgroup
            start = m.start(t)
            if start != pos:
                nl = count("\n", pos, start)
                if nl:
                    line += nl
                    line_start = rfind("\n", pos, start) + 1
            pos = m.end()
            if t in valueless:
                tok = None
            else:
                col = start - line_start + 1
                tok = new(tok_cls, (t, text[start:pos], start, line, col, col + pos - start))

        def shift(state: int) -> int:
            """Shift the look-ahead from `state`, lex the next token; the new state."""
            # `lex`, inlined: this runs once per token.
            nonlocal t, tok, pos, line, line_start
            target = actions[state].get(t)
            if target.__class__ is not int:
                raise _Bail
            lexer = lexers[target]
            if lexer is None:
                lexer = lexers[target] = self.lexer(target)
            quick, match = lexer
            if quick is not None:
                kind = quick.get(text[pos:pos + 1])
                if kind is not None:
                    t, tok = kind, None
                    pos += 1
                    return target
            m = match(text, pos)
            if m is None:
                raise _Bail
            t = m.lastgroup
            start, end = m.span(t)
            if start != pos:
                nl = count("\n", pos, start)
                if nl:
                    line += nl
                    line_start = rfind("\n", pos, start) + 1
            pos = end
            if t in valueless:
                tok = None
            else:
                col = start - line_start + 1
                tok = new(tok_cls, (t, text[start:end], start, line, col, col + end - start))
            return target

        def goto(state: int, rule: str) -> int:
            target = actions[state].get(rule)
            if target.__class__ is not int:
                raise _Bail
            return target

        def expect(state: int, type_: str) -> int:
            if t != type_:
                raise _Bail
            return shift(state)

        def operands(after_open: int) -> list[Any]:
            """Operands up to and including the ')' (the '(' was shifted to `after_open`)."""
            if t == "RPAR":
                shift(after_open)
                return []
            # Frames of the applications being read: (callee, operands, the
            # state after '(' and `arglist`, where ',' and ')' are shifted).
            frames: list[tuple[Any, list[Any], int]] = [
                (None, [], goto(after_open, "arglist"))]
            at = after_open
            while True:
                if t == "CALLEE":
                    callee = tok
                    inner = shift(at)
                    if t != "RPAR":
                        frames.append((callee, [], goto(inner, "arglist")))
                        at = inner
                        continue
                    shift(inner)
                    value: Any = ("app", callee, [])
                elif t in _OPERAND_LEAVES:
                    value = tok
                    shift(at)
                elif t == "SIG":
                    sig = tok
                    s = shift(at)
                    name = tok
                    expect(s, "NAME")
                    value = ("sigref", sig, name)
                else:
                    raise _Bail
                while True:
                    callee, args, listed = frames[-1]
                    args.append(value)
                    if t == "COMMA":
                        at = shift(listed)
                        break
                    if t != "RPAR":
                        raise _Bail
                    shift(listed)
                    frames.pop()
                    if not frames:
                        return args
                    value = ("app", callee, args)

        def expr(at: int) -> Any:
            if t == "CALLEE":
                callee = tok
                return ("app", callee, operands(shift(at)))
            if t == "SIG":
                sig = tok
                s = shift(at)
                name = tok
                expect(s, "NAME")
                return ("sigref", sig, name)
            if t in _OPERAND_LEAVES and t != "OFFSET_ARG":
                value = tok
                shift(at)
                return value
            raise _Bail

        def functype(at: int) -> list[Any]:
            out: list[Any] = []
            s = expect(at, "LPAR")
            if t == "NAME":
                out.append(tok)
                first = s = shift(s)
                more = False
                while t == "COMMA":
                    s = shift(goto(first, star_params) if more else first)
                    out.append(tok)
                    s = expect(s, "NAME")
                    more = True
                if more:
                    s = goto(first, star_params)
            s = expect(s, "RPAR")
            if t == "ARROW":
                out.append(tok)
                s = shift(s)
                out.append(tok)
                expect(s, "NAME")
            return out

        def indirect(at: int) -> tuple[Any, list[Any], Any, list[Any]]:
            """CALL_INDIRECT functype '[' expr ']' '(' [operands] ')'."""
            ci = tok
            s = shift(at)
            ft = functype(s)
            s = expect(goto(s, "functype"), "LSQB")
            target = expr(s)
            s = expect(goto(s, "expr"), "RSQB")
            s = expect(s, "LPAR")
            return ci, ft, target, operands(s)

        def stmt(at: int) -> tuple[Any, ...]:
            if t == "DEST":
                dest = tok
                s = shift(at)
                if t == "CALL":
                    s = shift(s)
                    callee = tok
                    s = expect(s, "CALLEE")
                    return ("assign_call", dest, callee, operands(s))
                if t == "CALL_INDIRECT":
                    return ("assign_call_indirect", dest, *indirect(s))
                return ("assign", dest, expr(s))
            if t == "CALLEE":
                callee = tok
                return ("op_stmt", callee, operands(shift(at)))
            if t == "CALL":
                s = shift(at)
                callee = tok
                s = expect(s, "CALLEE")
                return ("call", callee, operands(s))
            return ("call_indirect", *indirect(at))

        def term(at: int) -> tuple[Any, ...]:
            kw = tok
            if t == "JUMP":
                s = shift(at)
                target = tok
                expect(s, "NAME")
                return ("jump", kw, target)
            if t == "IF":
                s = shift(at)
                cond = expr(s)
                s = expect(goto(s, "expr"), "THEN")
                then = tok
                s = expect(s, "NAME")
                s = expect(s, "ELSE")
                else_ = tok
                expect(s, "NAME")
                return ("branch", kw, cond, then, else_)
            if t == "SWITCH":
                s = shift(at)
                index = expr(s)
                s = expect(goto(s, "expr"), "LSQB")
                names: list[Any] = []
                if t == "NAME":
                    names.append(tok)
                    shift(s)
                    listed = goto(s, "names")
                    while t == "COMMA":
                        c = shift(listed)
                        names.append(tok)
                        expect(c, "NAME")
                    s = listed
                s = expect(s, "RSQB")
                s = expect(s, "ELSE")
                default = tok
                expect(s, "NAME")
                return ("switch", kw, index, names, default)
            if t == "RETURN":
                s = shift(at)
                if t in _EXPR_START:
                    return ("ret", kw, expr(s))
                return ("ret", kw, None)
            if t == "TAIL":
                s = shift(at)
                if t == "CALL":
                    s = shift(s)
                    callee = tok
                    s = expect(s, "CALLEE")
                    return ("tail_call", kw, callee, operands(s))
                if t != "CALL_INDIRECT":
                    raise _Bail
                return ("tail_call_indirect", kw, *indirect(s))
            if t == "UNREACHABLE":
                shift(at)
                return ("unreachable", kw)
            s = shift(at)   # PANIC
            text_tok = tok
            expect(s, "STRING")
            return ("panic", kw, text_tok)

        def block(at: int) -> tuple[Any, ...]:
            label = tok
            s = shift(at)
            stmts: list[Any] = []
            if t in _STMT_START:
                stmts.append(stmt(s))
                listed = goto(s, "stmts")
                while t in _STMT_START:
                    stmts.append(stmt(listed))
                s = listed
            end = term(s) if t in _TERM_START else None
            return ("block", label, stmts, end)

        def local_decl(at: int) -> tuple[str, list[Any]]:
            s = shift(at)
            names: list[Any] = [tok]
            s = expect(s, "NAME")
            s = expect(s, "COLON")
            names.append(tok)
            first = expect(s, "NAME")
            more = False
            while t == "COMMA":
                s = shift(goto(first, star_local_names) if more else first)
                names.append(tok)
                s = expect(s, "NAME")
                s = expect(s, "COLON")
                names.append(tok)
                s = expect(s, "NAME")
                more = True
            return ("local", names)

        lex(b0)
        children: list[Any] = []
        at = b0
        if t == "LOCAL":
            children.append(local_decl(at))
            at = goto(b0, self.star_locals)
            while t == "LOCAL":
                children.append(local_decl(at))
        if t == "LABEL_DEF":
            first = at
            children.append(block(first))
            at = goto(first, self.star_blocks)
            while t == "LABEL_DEF":
                children.append(block(at))
        if t != "RBRACE":
            raise _Bail
        close_start, close_line = pos - 1, line     # '}' is one character
        end_col = close_start - line_start + 2
        target = actions[at].get("RBRACE")
        if target.__class__ is not int:
            raise _Bail
        return (self.make_body(children), target, pos, line, line_start,
                (close_start, close_line, end_col))


class _TokLexer(ContextualLexer):
    """lark's contextual lexer, handing out its tokens as `_Tok` (lark's own loop, for tests)."""

    def lex(self, lexer_state: Any, parser_state: Any) -> Iterator[Any]:
        new = tuple.__new__
        for t in ContextualLexer.lex(self, lexer_state, parser_state):
            yield new(_Tok, (t.type, t.value, t.start_pos, t.line, t.column, t.end_column))


_lock = threading.Lock()
_parser: tuple[Lark, _Collector, _FastLALR | None] | None = None


def _get_parser() -> tuple[Lark, _Collector, _FastLALR | None]:
    """The process-wide parser (built once; lark caches its tables on disk)."""
    global _parser
    if _parser is None:
        grammar = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
        collector = _Collector()
        lark = Lark(grammar, parser="lalr", lexer="contextual", start=["start", "items"],
                    transformer=collector, propagate_positions=False,
                    maybe_placeholders=False, cache=True)
        lexer = lark.parser.lexer
        if type(lexer) is ContextualLexer:
            lexer.__class__ = _TokLexer
        fast = None if os.environ.get("IRLD_PARSER") == "lark" else _FastLALR(lark)
        if fast is not None:
            try:
                fast.body = _BodyParser(fast, lark, collector)
            except _Unsupported:
                pass
        _parser = (lark, collector, fast)
    return _parser


# ---------------------------------------------------------------- public API


# What the parser proved about the function bodies of a module it built, for
# `linker.ir.verify.verify_module`: id(Func) -> (the Func, its `@sym` operands
# in the order the verifier visits them).  The builder types every body
# against the module's declarations by the verifier's rules (operand, call,
# assignment and return types, locals, labels, constants, offsets, ops) and
# reports each as its own diagnostic, so a module it returns breaks none of
# them; what it does not check is whether an `@sym` names a function with an
# offset or a global, left to the verifier.  The Func is kept (and compared
# by identity) so an id never matches another object.
ParsedBodies = dict[int, tuple[Func, list[SymRef]]]


def parse_module(text: str, filename: str) -> Module:
    """Parse IR text; raise `DiagnosticError` with every error of the file."""
    return _parse(text, filename, stock_lark=False)[0]


def parse_module_checked(text: str, filename: str) -> tuple[Module, ParsedBodies]:
    """`parse_module`, and what the parser proved about the module's function
    bodies (pass it to `verify_module`, which then does not type them again)."""
    return _parse(text, filename, stock_lark=False)


def _parse(text: str, filename: str, *, stock_lark: bool) -> tuple[Module, ParsedBodies]:
    """`parse_module_checked`; `stock_lark` runs lark's own parse loop (for differential tests)."""
    if text.startswith("\ufeff"):
        text = text[1:]         # a UTF-8 byte order mark, as editors on Windows write it
    # The passes allocate millions of small objects and free none of them
    # until the end: the cyclic GC would rescan them over and over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    old_limit = sys.getrecursionlimit()
    builder = _Builder(filename)
    module: Module | None = None
    try:
        with _lock:
            lark, collector, fast = _get_parser()
            if stock_lark:
                fast = None
            try:
                diags = _syntax(lark, fast, collector, text, filename)
                raw_items = collector.found
                module_tok = collector.module
            finally:
                collector.reset()
        builder.diags.extend(diags)
        sys.setrecursionlimit(max(old_limit, _RECURSION_LIMIT))
        module = builder.build(module_tok, raw_items)
    except RecursionError:
        builder.diags.append(_too_deep(text, filename))
    except Exception as exc:  # a bug in this parser: still no traceback for the user
        builder.diags.append(Diagnostic.error(
            f"internal error in the IR parser: {type(exc).__name__}: {exc}", file=filename))
    finally:
        sys.setrecursionlimit(old_limit)
        if gc_was_enabled:
            # Move what the passes allocated out of the youngest generation
            # (O(1)), or the next collection would walk all of it.
            gc.freeze()
            gc.unfreeze()
            gc.enable()
    if builder.diags or module is None:
        diags_sorted = sorted(builder.diags, key=_diag_key)
        raise DiagnosticError(diags_sorted, sources={filename: text})
    return module, builder.checked


_LEXEMES = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?(?:\*/|\Z)|[()]', re.S)


def _too_deep(text: str, filename: str) -> Diagnostic:
    """"nested too deeply", pointing at the first '(' of the deepest nesting
    (strings and comments skipped as the lexer skips them)."""
    depth = deepest = 0
    where = 0
    for m in _LEXEMES.finditer(text):
        if m.group() == "(":
            depth += 1
            if depth > deepest:
                deepest, where = depth, m.start()
        elif m.group() == ")":
            depth = max(depth - 1, 0)
    line = text.count("\n", 0, where) + 1
    col = where - (text.rfind("\n", 0, where) + 1) + 1
    return Diagnostic.error(f"expression nested too deeply ({deepest} levels of parentheses)",
                            Span(filename, line, col, line, col + 1))


def _diag_key(d: Diagnostic) -> tuple[int, int]:
    if d.span is None:
        return (sys.maxsize, 0)
    return (d.span.line, d.span.col)


# ---------------------------------------------------------------- syntax errors


def _syntax(lark: Lark, fast: _FastLALR | None, collector: _Collector, text: str,
            filename: str) -> list[Diagnostic]:
    """Pass 1 into `collector`: with the body parser, then, if that found
    anything wrong, again with the LALR loop alone, which reports errors
    exactly as lark would (the body parser stops at the first one, and its
    state stack after a body is not lark's)."""
    collector.reset()
    try:
        diags = _parse_syntax(lark, fast, collector, text, filename, bodies=True)
        if not diags:
            return diags
    except _Bail:
        pass
    except _Unsupported:
        fast = None
    collector.reset()
    try:
        return _parse_syntax(lark, fast, collector, text, filename, bodies=False)
    except _Unsupported:
        collector.reset()
        return _parse_syntax(lark, None, collector, text, filename, bodies=False)


def _parse_syntax(lark: Lark, fast: _FastLALR | None, collector: _Collector, text: str,
                  filename: str, *, bodies: bool) -> list[Diagnostic]:
    """Parse `text`, resynchronising after each syntax error."""
    diags: list[Diagnostic] = []
    start, chunk_offset, sync_line = "start", -1, 1
    line_starts: list[int] | None = None
    while True:
        try:
            if fast is not None:
                fast.parse(text, start, max(chunk_offset, 0), sync_line, bodies)
            elif chunk_offset <= 0:
                lark.parse(text, start=start)
            else:
                # Pad with newlines so lark's line numbers are those of the file.
                lark.parse("\n" * (sync_line - 1) + text[chunk_offset:], start=start)
            return diags
        except UnexpectedInput as exc:
            diag, line, col, resumable = _syntax_diag(lark, exc, filename, text)
            diags.append(diag)
            head = collector.pending_head
            if head is not None:
                collector.found.append(("func_head", head))
                collector.pending_head = None
        if not resumable or len(diags) >= _MAX_SYNTAX_ERRORS:
            if len(diags) >= _MAX_SYNTAX_ERRORS:
                diags.append(Diagnostic.error("too many syntax errors; giving up", file=filename))
            return diags
        if line_starts is None:
            line_starts = _line_starts(text)
        # Resume at the error's own line if the offending token starts it
        # (a missing '}' before the next item), else at the next line.
        from_line = line if col == 1 else line + 1
        if from_line > len(line_starts):
            return diags
        search_from = max(line_starts[from_line - 1], chunk_offset + 1)
        m = _SYNC.search(text, search_from)
        if m is None:
            return diags
        chunk_offset = m.start()
        sync_line = text.count("\n", 0, chunk_offset) + 1
        start = "items"


def _line_starts(text: str) -> list[int]:
    starts = [0]
    find = text.find
    pos = find("\n")
    while pos >= 0:
        starts.append(pos + 1)
        pos = find("\n", pos + 1)
    return starts


def _syntax_diag(lark: Lark, exc: UnexpectedInput, filename: str,
                 text: str) -> tuple[Diagnostic, int, int, bool]:
    """The diagnostic for a lark error, its line and column, and whether to resume."""
    if isinstance(exc, UnexpectedToken):
        tok: Any = exc.token
        if tok.type == "$END":
            line, col = tok.end_line or 1, tok.end_column or 1
            if not text.strip():
                line, col = 1, 1
            msg = f"unexpected end of file{_expected(lark, exc.expected)}"
            return Diagnostic.error(msg, Span(filename, line, col, line, col + 1)), line, col, False
        line, col = tok.line, tok.column
        msg = f"unexpected {_describe_token(tok)}{_expected(lark, exc.expected)}"
        span = Span(filename, line, col, tok.end_line, tok.end_column)
        return Diagnostic.error(msg, span), line, col, True
    if isinstance(exc, UnexpectedCharacters):
        line, col = exc.line, exc.column
        span = Span(filename, line, col, line, col + 1)
        ch = exc.char
        if ch == '"':
            return Diagnostic.error("unterminated string", span), line, col, True
        rest = _text_at(text, line, col)
        if rest.startswith("/*"):
            return Diagnostic.error("unterminated block comment", span), line, col, False
        return (Diagnostic.error(f"unexpected character {_quote_char(ch)}", span),
                line, col, True)
    # Other lark input errors (not expected with LALR): report at the start.
    span = Span(filename, 1, 1, 1, 2)
    return Diagnostic.error(f"syntax error: {exc}", span), 1, 1, False


def _text_at(text: str, line: int, col: int) -> str:
    pos = 0
    for _ in range(line - 1):
        pos = text.index("\n", pos) + 1
    return text[pos + col - 1:pos + col + 1]


def _quote_char(ch: str) -> str:
    if ch == "'":
        return "\"'\""
    if ch.isprintable():
        return f"'{ch}'"
    return f"'\\x{ord(ch):02x}'" if ord(ch) < 256 else f"'\\u{ord(ch):04x}'"


def _describe_token(tok: Any) -> str:
    value = str(tok.value)
    if len(value) > 24:
        value = value[:21] + "..."
    if tok.type == "STRING":
        return f"string {value}"
    return f"token '{value}'"


def _expected(lark: Lark, names: set[str]) -> str:
    words = sorted({_terminal_word(lark, n) for n in names if not n.startswith("_")})
    if not words:
        return ""
    if len(words) == 1:
        return f" (expected {words[0]})"
    if len(words) == 2:
        return f" (expected {words[0]} or {words[1]})"
    return f" (expected one of {', '.join(words)})"


def _terminal_word(lark: Lark, name: str) -> str:
    if name in _TOKEN_NAMES:
        return _TOKEN_NAMES[name]
    try:
        pattern = lark.get_terminal(name).pattern
    except KeyError:
        return name.lower()
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return name.lower()


# ---------------------------------------------------------------- pass 2: build


class _Unknown:
    """Marks a name absent from a scope (None means "present, type unknown")."""


_MISSING: Any = _Unknown()
# A placeholder expression for code that did not type; never reaches a Module.
_BAD = Const(I32, 0)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _tname(t: ValType | None) -> str:
    return "nothing" if t is None else t.value


class _Decl:
    __slots__ = ("kind", "type", "tok", "is_def")

    def __init__(self, kind: str, type_: Any, tok: Any, is_def: bool) -> None:
        self.kind = kind          # "func", "global" or "data"
        self.type = type_         # FuncType / ValType, or None when it did not resolve
        self.tok = tok
        self.is_def = is_def


class _Header:
    """A function's header as pass A resolved it."""

    __slots__ = ("private", "name", "params", "result", "result_ok", "scope", "first_def")

    def __init__(self, private: bool, name: Any) -> None:
        self.private = private
        self.name = name
        self.params: list[Param] | None = None
        self.result: ValType | None = None
        self.result_ok = True
        self.scope: dict[str, ValType | None] = {}
        self.first_def: dict[str, Any] = {}


def _slot_maker(cls: Any) -> Any:
    """A positional constructor of attrs class `cls` (every field, in order)
    for the builder's hot paths: it sets the slots through their
    descriptors, a third cheaper than a frozen class's `__init__` (which goes
    through `object.__setattr__`), and the objects are the same.  Half a
    million spans and as many nodes on the 5 MB benchmark.  `cls` itself
    when a field has a validator or converter, the class has a post-init
    hook, or a field is not a plain slot."""
    fields = attrs.fields(cls)
    names = [f.name for f in fields]
    if (any(f.validator or f.converter for f in fields)
            or hasattr(cls, "__attrs_post_init__")
            or not all(type(cls.__dict__.get(n)).__name__ == "member_descriptor" for n in names)):
        return cls
    new = object.__new__
    setters = [cls.__dict__[n].__set__ for n in names]
    if len(names) == 2:
        set0, set1 = setters

        def make2(a: Any, b: Any) -> Any:
            obj = new(cls)
            set0(obj, a)
            set1(obj, b)
            return obj
        return make2
    if len(names) == 3:
        set0, set1, set2 = setters

        def make3(a: Any, b: Any, c: Any) -> Any:
            obj = new(cls)
            set0(obj, a)
            set1(obj, b)
            set2(obj, c)
            return obj
        return make3
    if len(names) == 4:
        set0, set1, set2, set3 = setters

        def make4(a: Any, b: Any, c: Any, d: Any) -> Any:
            obj = new(cls)
            set0(obj, a)
            set1(obj, b)
            set2(obj, c)
            set3(obj, d)
            return obj
        return make4
    if len(names) == 5:
        set0, set1, set2, set3, set4 = setters

        def make5(a: Any, b: Any, c: Any, d: Any, e: Any) -> Any:
            obj = new(cls)
            set0(obj, a)
            set1(obj, b)
            set2(obj, c)
            set3(obj, d)
            set4(obj, e)
            return obj
        return make5
    return cls


_make_span: Callable[[str, int, int, int, int], Span] = _slot_maker(Span)
# (positional, the span last)
_make_local: Callable[[str, Span], LocalGet] = _slot_maker(LocalGet)
_make_op: Callable[[str, tuple[Expr, ...], Span], OpExpr] = _slot_maker(OpExpr)
_make_const: Callable[[ValType, int | float, Span], Const] = _slot_maker(Const)
_make_load: Callable[[str, Expr, int, Span], Load] = _slot_maker(Load)
_make_assign: Callable[[str, Expr, Span], Assign] = _slot_maker(Assign)
_make_store: Callable[[str, Expr, Expr, int, Span], Store] = _slot_maker(Store)
_make_call: Callable[[str | None, str, tuple[Expr, ...], Span], Call] = _slot_maker(Call)
_make_block: Callable[[str, tuple[Stmt, ...], Terminator, Span], BasicBlock] = _slot_maker(
    BasicBlock)
_make_jump: Callable[[str, Span], Jump] = _slot_maker(Jump)
_make_branch: Callable[[Expr, str, str, Span], Branch] = _slot_maker(Branch)
_make_return: Callable[[Expr | None, Span], Return] = _slot_maker(Return)
# Ops an application may name, by callee token (`i32.add(`): the op, its
# name, operand types, result and whether it is a load (stores are not values).
_APP_OPS: dict[str, tuple[Op, str, tuple[ValType, ...], ValType | None, bool]] = {
    name + "(": (op, op.name, op.params, op.result, op.kind is OpKind.LOAD)
    for name, op in OPS_BY_NAME.items() if op.kind is not OpKind.STORE}


class _Builder:
    """Pass 2: raw items to model nodes, with typing and name resolution."""

    def __init__(self, filename: str) -> None:
        self.file = filename
        self.diags: list[Diagnostic] = []
        self.decls: dict[str, _Decl] = {}
        self.ctypes: dict[str, CType | None] = {}
        self.ctype_toks: dict[str, Any] = {}
        self.csigs: dict[str, Any] = {}
        self.exports: dict[str, Any] = {}
        # Per-function state.
        self.scope: dict[str, ValType | None] = {}
        self.labels: dict[str, Any] = {}
        self.fname = ""
        self.result: ValType | None = None
        self.result_known = True
        # The function being built's `@sym` operands (what the verifier still
        # checks, see `ParsedBodies`), and every function built so far.
        self.symrefs: list[SymRef] = []
        self.checked: ParsedBodies = {}

    # ------------------------------------------------------------ helpers

    def span(self, tok: Any) -> Span:
        line = tok[3]  # tokens never span lines
        return _make_span(self.file, line, tok[4], line, tok[5])

    def error(self, msg: str, tok: Any, notes: tuple[str, ...] = ()) -> None:
        self.diags.append(Diagnostic.error(msg, self.span(tok), notes=notes))

    def note_at(self, tok: Any, msg: str) -> tuple[str, ...]:
        return (f"{self.file}:{tok.line}:{tok.column}: note: {msg}",)

    def valtype(self, tok: Any) -> ValType | None:
        t = _VALTYPES.get(tok.value)
        if t is None:
            self.error(f"unknown type '{tok.value}'", tok)
        return t

    def functype(self, toks: list[Any]) -> FuncType | None:
        """`(i32, i64) -> f32` from functype's children (NAMEs, then ARROW NAME)."""
        params: list[ValType | None] = []
        result: ValType | None = None
        ok = True
        i = 0
        while i < len(toks):
            tok = toks[i]
            if tok.type == "ARROW":
                result = self.valtype(toks[i + 1])
                ok = ok and result is not None
                break
            t = self.valtype(tok)
            ok = ok and t is not None
            params.append(t)
            i += 1
        if not ok:
            return None
        return FuncType(tuple(p for p in params if p is not None), result)

    def string(self, tok: Any) -> bytes | None:
        """The bytes a string literal denotes: UTF-8 of its text, escapes decoded."""
        body: str = tok.value[1:-1]
        if "\\" not in body:
            return body.encode("utf-8", "surrogatepass")
        out = bytearray()
        i, n = 0, len(body)
        while i < n:
            j = body.find("\\", i)
            if j < 0:
                out += body[i:].encode("utf-8", "surrogatepass")
                break
            out += body[i:j].encode("utf-8", "surrogatepass")
            esc = body[j + 1]
            simple = _ESCAPES.get(esc)
            if simple is not None:
                out.append(simple)
                i = j + 2
                continue
            if esc == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[j + 2:j + 4]):
                out.append(int(body[j + 2:j + 4], 16))
                i = j + 4
                continue
            col = tok.column + 1 + j
            bad = body[j:j + 4] if esc == "x" else body[j:j + 2]
            self.diags.append(Diagnostic.error(
                f"invalid escape '{bad}' in string",
                Span(self.file, tok.line, col, tok.line, col + len(bad))))
            return None
        return bytes(out)

    def text(self, tok: Any) -> str | None:
        """A string literal used as text (names, messages): must be UTF-8."""
        data = self.string(tok)
        if data is None:
            return None
        try:
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            self.error("string is not valid UTF-8", tok)
            return None

    def int_lit(self, tok: Any, lo: int, hi: int, what: str) -> int | None:
        if tok.type != "INT":
            self.error(f"expected an integer literal for {what}, got '{tok.value}'", tok)
            return None
        v = _int(tok.value)
        if not lo <= v <= hi:
            self.error(f"integer literal {_shown(tok.value)} out of range for {what}", tok)
            return None
        return v

    def float_lit(self, tok: Any, bits: int) -> float | None:
        what = "f32" if bits == 32 else "f64"
        v = _float(tok.value, bits)
        if v is None:
            self.error(f"float literal {_shown(tok.value)} out of range for {what}", tok)
        return v

    def const(self, tok: Any, want: ValType | None) -> Const:
        if want is None:
            return _BAD
        line = tok[3]
        if want is I32 or want is I64:
            if tok[0] == "INT":
                text = tok[1]
                # A plain decimal literal, the common case: `_int`'s value.
                v = int(text) if len(text) < 19 and text.isdigit() else _int(text)
                # Not `_INT_RANGE[want]`: hashing an enum is a Python-level call.
                lo, hi = _I32_BOUNDS if want is I32 else _I64_BOUNDS
                if lo <= v <= hi:
                    return _make_const(want, v, _make_span(self.file, line, tok[4], line, tok[5]))
            lo, hi = _INT_RANGE[want]
            self.int_lit(tok, lo, hi, want.value)  # reports the error
            return _BAD
        fv = self.float_lit(tok, 32 if want is F32 else 64)
        if fv is None:
            return _BAD
        return _make_const(want, fv, _make_span(self.file, line, tok[4], line, tok[5]))

    def sym_offset(self, tok: Any, text: str) -> tuple[str, int] | None:
        """`name+off` / `name-off` (an ADDR_TARGET or SYMREF without '@')."""
        cut = max(text.find("+"), text.find("-"))
        if cut < 0:
            return text, 0
        off = _int(text[cut:])
        if not _OFF_MIN <= off <= _U32_MAX:
            self.error(f"symbol offset {text[cut:]} out of range", tok)
            return None
        return text[:cut], off

    def declare(self, name_tok: Any, kind: str, type_: Any, is_def: bool) -> None:
        name = name_tok.value
        old = self.decls.get(name)
        if old is None:
            self.decls[name] = _Decl(kind, type_, name_tok, is_def)
            return
        if old.is_def and is_def:
            self.error(f"duplicate definition of '{name}'", name_tok,
                       self.note_at(old.tok, "first defined here"))
            return
        if old.kind != kind or (old.type is not None and type_ is not None and old.type != type_):
            self.error(f"conflicting declaration of '{name}'", name_tok,
                       self.note_at(old.tok, "previously declared here"))
            return
        if is_def:
            self.decls[name] = _Decl(kind, type_, name_tok, True)

    def unique(self, table: dict[str, Any], tok: Any, msg: str) -> None:
        name = tok.value
        first = table.get(name)
        if first is not None:
            self.error(msg.format(name), tok, self.note_at(first, "first defined here"))
        else:
            table[name] = tok

    # ------------------------------------------------------------ module

    def build(self, module_tok: Any, raws: list[tuple[Any, ...]]) -> Module | None:
        # Pass A: every declaration, so bodies may reference later items.
        out: list[Any] = []
        for tag, c in raws:
            item = getattr(self, "item_" + tag)(c)
            if item is not None:
                out.append(item)
        # Pass B: function bodies.
        items: list[Item] = []
        for item in out:
            if isinstance(item, tuple):
                func = self.func_body(item[0], item[1])
                if func is not None:
                    items.append(func)
            else:
                items.append(item)
        if module_tok is None:
            return None
        name = module_tok.value
        return Module(name, tuple(items), span=self.span(module_tok))

    def item_import(self, c: list[Any]) -> Item | None:
        module, field, name, ft_raw = c
        ft = self.functype(ft_raw)
        self.declare(name, "func", ft, True)
        m, f = self.text(module), self.text(field)
        if ft is None or m is None or f is None:
            return None
        return ImportFunc(name.value, m, f, ft, span=self.span(name))

    def item_extern_func(self, c: list[Any]) -> Item | None:
        name, ft_raw = c
        ft = self.functype(ft_raw)
        self.declare(name, "func", ft, False)
        if ft is None:
            return None
        return ExternFunc(name.value, ft, span=self.span(name))

    def item_extern_global(self, c: list[Any]) -> Item | None:
        name, type_tok = c
        t = self.valtype(type_tok)
        self.declare(name, "global", t, False)
        if t is None:
            return None
        return ExternGlobal(name.value, t, span=self.span(name))

    def item_global(self, c: list[Any]) -> Item | None:
        private = c[0].type == "PRIVATE"
        name, type_tok, lit = c[1:] if private else c
        t = self.valtype(type_tok)
        self.declare(name, "global", t, True)
        if t is None:
            return None
        init = self.const(lit, t)
        if init is _BAD:
            return None
        return Global(name.value, t, init.value, private, span=self.span(name))

    def item_data(self, c: list[Any]) -> Item | None:
        i = 0
        private = readonly = False
        if _is_tok(c[i]) and c[i].type == "PRIVATE":
            private, i = True, i + 1
        if _is_tok(c[i]) and c[i].type == "READONLY":
            readonly, i = True, i + 1
        name = c[i]
        i += 1
        self.declare(name, "data", None, True)
        align = 1
        ok = True
        if i < len(c) and _is_tok(c[i]) and c[i].type == "INT":
            a = self.int_lit(c[i], 1, 1 << 30, "an alignment")
            if a is not None and a & (a - 1):
                self.error(f"alignment {c[i].value} is not a power of two", c[i])
                a = None
            ok = a is not None
            align = a or 1
            i += 1
        items: list[DataItem] = []
        for tag, ic in c[i:]:
            item = self.data_item(tag, ic)
            if item is None:
                ok = False
            else:
                items.append(item)
        if not ok:
            return None
        return Data(name.value, tuple(items), align, readonly, private, span=self.span(name))

    def data_item(self, tag: str, c: list[Any]) -> DataItem | None:
        tok = c[-1]
        span = self.span(tok)
        if tag == "num":
            kind = _DATA_WIDTHS.get(c[0].value)
            if kind is None:
                self.error(f"unknown data item type '{c[0].value}'", c[0])
                return None
            is_float, width = kind
            span = Span(self.file, c[0].line, c[0].column, tok.end_line, tok.end_column)
            if is_float:
                fv = self.float_lit(tok, width)
                return None if fv is None else FloatItem(width, fv, span=span)
            lo, hi = _WIDTH_RANGE[width]
            iv = self.int_lit(tok, lo, hi, c[0].value)
            return None if iv is None else IntItem(width, iv, span=span)
        if tag == "zero":
            n = self.int_lit(tok, 0, _U32_MAX, "a zero fill size")
            return None if n is None else ZeroItem(n, span=span)
        if tag == "addr":
            so = self.sym_offset(tok, tok.value)
            return None if so is None else AddrItem(so[0], so[1], span=span)
        data = self.string(tok)
        return None if data is None else BytesItem(data, span=span)

    def item_export(self, c: list[Any]) -> Item | None:
        name_tok, sym = c
        name = self.text(name_tok)
        self.unique(self.exports, name_tok, "duplicate export {}")
        if name is None:
            return None
        return Export(name, sym.value, span=self.span(name_tok))

    def item_ctor(self, c: list[Any]) -> Item | None:
        sym = c[0]
        priority = 65535
        if len(c) > 1:
            p = self.int_lit(c[1], 0, _U32_MAX, "a ctor priority")
            if p is None:
                return None
            priority = p
        return Ctor(sym.value, priority, span=self.span(sym))

    def ctype(self, raw: Raw, result: bool = False) -> CType | None:
        if raw.__class__ is not tuple:
            name = raw.value
            scalar = _CSCALARS.get(name)
            if scalar is not None:
                if scalar.kind is CKind.VOID and not result:
                    self.error("'void' is only allowed as a result type", raw)
                    return None
                return scalar
            if name in self.ctypes:
                return self.ctypes[name]
            self.error(f"unknown C type '{name}'", raw)
            return None
        fields = [self.ctype(f) for f in raw[1][1:]]
        if any(f is None for f in fields):
            return None
        return CStruct(tuple(f for f in fields if f is not None))

    def csig(self, c: list[Any]) -> CSig | None:
        ret = self.ctype(c[0], result=True)
        params: list[CType] = []
        nfixed: int | None = None
        ok = ret is not None
        for p in c[1:]:
            if _is_tok(p) and p.type == "ELLIPSIS":
                if nfixed is not None:
                    self.error("a signature may have only one '...'", p)
                    ok = False
                nfixed = len(params)
                continue
            t = self.ctype(p)
            if t is None:
                ok = False
            else:
                params.append(t)
        if not ok or ret is None:
            return None
        return CSig(ret, tuple(params), nfixed)

    def item_ctype(self, c: list[Any]) -> Item | None:
        name, raw = c
        if name.value in _CSCALARS:
            self.error(f"'{name.value}' is a built-in C type", name)
            return None
        t = self.ctype(raw)
        if name.value in self.ctype_toks:
            self.unique(self.ctype_toks, name, "duplicate definition of C type '{}'")
            return None
        self.ctype_toks[name.value] = name
        self.ctypes[name.value] = t
        if t is None:
            return None
        return CTypeDecl(name.value, t, span=self.span(name))

    def item_csig(self, c: list[Any]) -> Item | None:
        name, sig_raw = c[0], c[1]
        self.unique(self.csigs, name, "duplicate definition of signature '{}'")
        sig = self.csig(sig_raw)
        pool: int | None = None
        if len(c) > 2:
            pool = self.int_lit(c[2], 0, _U32_MAX, "a closure pool size")
            if pool is None:
                return None
        if sig is None:
            return None
        return CSigDecl(name.value, sig, pool, span=self.span(name))

    def item_fimport(self, c: list[Any]) -> Item | None:
        module, field, name, sig_raw = c
        sig = self.csig(sig_raw)
        self.declare(name, "func", None if sig is None else lower(sig), True)
        # Without a host module and field: a C function the link defines.
        m, f = ("", name.value) if module is None else (self.text(module), self.text(field))
        if sig is None or m is None or f is None:
            return None
        return ForeignImport(name.value, m, f, sig, span=self.span(name))

    def item_fexport(self, c: list[Any]) -> Item | None:
        name_tok, sym, sig_raw = c
        name = self.text(name_tok)
        self.unique(self.exports, name_tok, "duplicate export {}")
        sig = self.csig(sig_raw)
        if sig is None or name is None:
            return None
        return ForeignExport(name, sym.value, sig, span=self.span(name_tok))

    def func_header(self, head: list[Any]) -> _Header:
        i = 0
        private = head[0].type == "PRIVATE"
        if private:
            i = 1
        h = _Header(private, head[i])
        i += 1
        params: list[Param] | None = []
        while i < len(head) and head[i].__class__ is list:
            pname, ptype = head[i]
            t = self.valtype(ptype)
            self.local_name(pname, h.first_def)
            h.scope.setdefault(pname.value, t)
            if t is None or params is None:
                params = None
            else:
                params.append(Param(pname.value, t, span=self.span(pname)))
            i += 1
        h.params = params
        if i < len(head):  # ARROW NAME
            h.result = self.valtype(head[i + 1])
            h.result_ok = h.result is not None
        ft = None if params is None or not h.result_ok else FuncType(
            tuple(p.type for p in params), h.result)
        self.declare(h.name, "func", ft, True)
        return h

    def local_name(self, tok: Any, first_def: dict[str, Any]) -> None:
        name = tok.value
        if not _PLAIN_NAME.match(name):
            self.error(f"invalid local name '{name}' (no '.' or '$' allowed)", tok)
        first = first_def.get(name)
        if first is not None:
            self.error(f"duplicate local '{name}'", tok, self.note_at(first, "first defined here"))
        else:
            first_def[name] = tok

    def item_func(self, c: list[Any]) -> tuple[_Header, list[Any]]:
        return (self.func_header(c[0]), c)

    def item_func_head(self, c: list[Any]) -> None:
        # A function whose body had a syntax error: declare it, build nothing.
        self.func_header(c)

    # ------------------------------------------------------------ functions

    def func_body(self, h: _Header, c: list[Any]) -> Func | None:
        self.scope = h.scope
        self.fname = h.name.value
        self.result = h.result
        self.result_known = h.result_ok
        name = h.name
        if _is_tok(c[1]):  # DEFERRED STRING
            reason = self.text(c[2])
            if h.params is None or not h.result_ok or reason is None:
                return None
            func = Func(name.value, tuple(h.params), h.result, (), (), h.private, reason,
                        span=self.span(name))
            self.checked[id(func)] = (func, [])
            return func
        locals_: list[Param] = []
        ok = h.params is not None and h.result_ok
        raw_blocks: list[tuple[Any, ...]] = []
        for r in c[1][1]:
            if r[0] == "block":
                raw_blocks.append(r)
                continue
            bc = r[1]
            for j in range(0, len(bc), 2):
                lname, ltype = bc[j], bc[j + 1]
                t = self.valtype(ltype)
                self.local_name(lname, h.first_def)
                self.scope.setdefault(lname.value, t)
                if t is None:
                    ok = False
                else:
                    locals_.append(Param(lname.value, t, span=self.span(lname)))
        labels: dict[str, Any] = {}
        for r in raw_blocks:
            label = _label_text(r[1])
            first = labels.get(label)
            if first is not None:
                self.error(f"duplicate label '{label}'", _name_tok(r[1]),
                           self.note_at(first, "first defined here"))
            else:
                labels[label] = r[1]
        self.labels = labels
        if not raw_blocks:
            self.error(f"function '{name.value}' has no blocks", name)
            return None
        n_diags = len(self.diags)
        symrefs: list[SymRef] = []
        self.symrefs = symrefs
        blocks = [self.block(r) for r in raw_blocks]
        if not ok or len(self.diags) != n_diags or h.params is None:
            return None
        func = Func(name.value, tuple(h.params), h.result, tuple(locals_),
                    tuple(b for b in blocks if b is not None), h.private, None,
                    span=self.span(name))
        self.checked[id(func)] = (func, symrefs)
        return func

    def block(self, r: tuple[Any, ...]) -> BasicBlock | None:
        _, label_tok, raw_stmts, raw_term = r
        stmts: list[Stmt] = []
        builders = self.builders
        for sr in raw_stmts:
            stmt = builders[sr[0]](self, sr)
            if stmt is not None:
                stmts.append(stmt)
        name_tok = _name_tok(label_tok)
        lspan = self.span(name_tok)
        if raw_term is None:
            self.error(f"block '{name_tok.value}' has no terminator", name_tok)
            return None
        term = builders[raw_term[0]](self, raw_term)
        if term is None:
            return None
        return _make_block(name_tok.value, tuple(stmts), term, lspan)

    def target(self, tok: Any) -> str:
        name: str = tok.value
        if name not in self.labels:
            self.error(f"unknown label '{name}'", tok)
        return name

    # ------------------------------------------------------------ expressions

    def expr(self, raw: Raw, want: ValType | None) -> tuple[Expr, ValType | None]:
        """Build `raw` with constants typed `want`; return it and its type (None: unknown)."""
        if raw.__class__ is _Tok:
            tok: Any = raw
            tt = tok[0]  # a _Tok is (type, value, start, line, column, end column)
            if tt == "NAME":
                name = tok[1]
                t = self.scope.get(name, _MISSING)
                if t is not _MISSING:
                    line = tok[3]
                    return _make_local(name, _make_span(self.file, line, tok[4], line, tok[5])), t
                decl = self.decls.get(name)
                if decl is not None and decl.kind == "global":
                    line = tok[3]
                    return GlobalGet(name, span=_make_span(self.file, line, tok[4], line,
                                                     tok[5])), decl.type
                if decl is not None:
                    self.error(f"'{name}' is a {'function' if decl.kind == 'func' else 'data'} "
                               f"symbol, not a local or global (write @{name} for its "
                               f"{'table index' if decl.kind == 'func' else 'address'})", tok)
                else:
                    self.error(f"unknown local or global '{name}'", tok)
                return _BAD, None
            if tt == "INT" or tt == "FLOAT":
                c = self.const(tok, want)
                return c, (None if c is _BAD else want)
            if tt == "SYMREF":
                so = self.sym_offset(tok, tok.value[1:])
                if so is None:
                    return _BAD, I32
                ref = SymRef(so[0], so[1], span=self.span(tok))
                self.symrefs.append(ref)
                return ref, I32
            # An `offset=N` operand out of place.
            self.error("'offset=' must be the last operand of a load or store", tok)
            return _BAD, None
        if raw[0] == "app":
            return self.app(raw[1], raw[2])
        name_tok = raw[2]
        if name_tok.value not in self.csigs:
            self.error(f"unknown signature '{name_tok.value}'", name_tok)
        return SigRef(name_tok.value, span=self.span(raw[1])), I32

    def op_args(self, args: list[Any]) -> tuple[list[Any], Any]:
        """Split a trailing `offset=N` off an operand list."""
        if args:
            last = args[-1]
            if last.__class__ is not tuple and last.type == "OFFSET_ARG":
                return args[:-1], last
        return args, None

    def app(self, callee: Any, args: list[Any]) -> tuple[Expr, ValType | None]:
        info = _APP_OPS.get(callee[1])
        if info is None:
            return self.app_slow(callee, args, _OPS_BY_CALLEE.get(callee[1]))
        op, op_name, want, result, is_load = info
        offset = 0
        if args and args[-1][0] == "OFFSET_ARG":  # raw nodes start with a lowercase tag
            if not is_load:
                return self.app_slow(callee, args, op)
            offset = self.mem_offset(args[-1])
            args = args[:-1]
        if len(args) != len(want):
            return self.app_slow(callee, args, op)
        out: list[Expr] = []
        expr = self.expr
        scope = self.scope
        for a, w in zip(args, want):
            # A local, the most common operand, is built here (as `expr` builds it).
            t = _MISSING if a[0] != "NAME" else scope.get(a[1], _MISSING)
            if t is _MISSING:
                e, t = expr(a, w)
            else:
                line = a[3]
                e = _make_local(a[1], _make_span(self.file, line, a[4], line, a[5]))
            if t is not w and t is not None:
                self.error(f"operand {len(out) + 1} of {op_name} has type {t.value}, "
                           f"expected {w.value}", _first_tok(a))
            out.append(e)
        col = callee[4]
        line = callee[3]
        span = _make_span(self.file, line, col, line, col + len(op_name))
        if is_load:
            return _make_load(op_name, out[0], offset, span), result
        return _make_op(op_name, tuple(out), span), result

    def app_slow(self, callee: Any, raw_args: list[Any], op: Op | None) -> tuple[Expr, ValType | None]:
        """`app` for everything but an op with the right operand count and no offset."""
        name_tok = _name_tok(callee)
        args, offset_tok = self.op_args(raw_args)
        if op is None:
            self.error(f"unknown op '{name_tok.value}'", name_tok)
            self.args_untyped(args)
            return _BAD, None
        if op.kind is OpKind.STORE:
            self.error(f"store '{op.name}' has no result and cannot be used as a value", name_tok)
            self.args_untyped(args)
            return _BAD, None
        typed = self.operands(op, name_tok, args)
        span = self.span(name_tok)
        if op.kind is OpKind.LOAD:
            offset = self.mem_offset(offset_tok)
            return Load(op.name, typed[0] if typed else _BAD, offset, span=span), op.result
        if offset_tok is not None:
            self.error(f"op '{op.name}' takes no offset", offset_tok)
        return OpExpr(op.name, tuple(typed), span=span), op.result

    def operands(self, op: Op, name_tok: Any, args: list[Any]) -> list[Expr]:
        want = op.params
        if len(args) != len(want):
            self.error(f"op '{op.name}' has {_plural(len(args), 'operand')}, "
                       f"expected {len(want)}", name_tok)
        out: list[Expr] = []
        expr = self.expr
        for i, a in enumerate(args):
            w = want[i] if i < len(want) else None
            e, t = expr(a, w)
            if t is not w and t is not None and w is not None:
                self.error(f"operand {i + 1} of {op.name} has type {t.value}, "
                           f"expected {w.value}", _first_tok(a))
            out.append(e)
        return out

    def args_untyped(self, args: list[Any]) -> None:
        for a in args:
            if not _is_tok(a) or a.type == "NAME":
                self.expr(a, None)

    def mem_offset(self, tok: Any) -> int:
        if tok is None:
            return 0
        text = tok.value
        v = _int(text[text.index("=") + 1:].strip())
        if not 0 <= v <= _U32_MAX:
            self.error(f"memory offset {text[text.index('=') + 1:].strip()} out of range "
                       f"(0 to {_U32_MAX})", tok)
            return 0
        return v

    def typed(self, raw: Raw, want: ValType | None, what: str) -> Expr:
        """An expression that must have type `want` ("what" names it in the message)."""
        e, t = self.expr(raw, want)
        if t is not want and t is not None and want is not None:
            self.error(f"{what} has type {t.value}, expected {want.value}", _first_tok(raw))
        return e

    def call_args(self, ft: FuncType | None, args: list[Any], at: Any,
                  what: str) -> tuple[Expr, ...]:
        if ft is None:
            self.args_untyped(args)
            return ()
        want = ft.params
        if len(args) != len(want):
            self.error(f"{what} has {_plural(len(args), 'argument')}, expected {len(want)}", at)
        out: list[Expr] = []
        expr = self.expr
        for i, a in enumerate(args):
            w = want[i] if i < len(want) else None
            e, t = expr(a, w)
            if t is not w and t is not None and w is not None:
                self.error(f"argument {i + 1} of {what} has type {t.value}, "
                           f"expected {w.value}", _first_tok(a))
            out.append(e)
        return tuple(out)

    def callee(self, tok: Any) -> FuncType | None:
        name = tok.value
        decl = self.decls.get(name)
        if decl is None:
            self.error(f"call to undeclared function '{name}' "
                       f"(add an 'extern func' declaration)", tok)
            return None
        if decl.kind != "func":
            self.error(f"'{name}' is not a function", tok)
            return None
        ft: FuncType | None = decl.type
        return ft

    def dest_local(self, tok: Any, result: ValType | None, have_type: bool, what: str) -> None:
        name = tok.value
        t = self.scope.get(name, _MISSING)
        if t is _MISSING:
            decl = self.decls.get(name)
            if decl is not None and decl.kind == "global":
                self.error(f"the result of a call must go to a local, not global '{name}'", tok)
            else:
                self.error(f"unknown local '{name}'", tok)
            return
        if not have_type:
            return
        if result is None:
            self.error(f"{what} has no result to assign", tok)
        elif t is not None and t is not result:
            self.error(f"{what} returns {result.value}, but '{name}' has type {t.value}", tok)

    # ------------------------------------------------------------ statements

    def s_assign(self, r: tuple[Any, ...]) -> Stmt | None:
        raw = r[2]
        fused = r[1]        # `x =` (`_name_tok`, without the token it would make)
        name = fused[1][:-1].rstrip()
        t = self.scope.get(name, _MISSING)
        if t is not _MISSING:
            e, et = self.expr(raw, t)
            if et is not t and et is not None and t is not None:
                self.error(f"cannot assign {et.value} to '{name}' of type {t.value}",
                           _first_tok(raw))
            line, col = fused[3], fused[4]
            return _make_assign(name, e, _make_span(self.file, line, col, line, col + len(name)))
        dest = _name_tok(fused)
        decl = self.decls.get(name)
        if decl is not None and decl.kind == "global":
            gt = decl.type
            e, et = self.expr(raw, gt)
            if et is not gt and et is not None and gt is not None:
                self.error(f"cannot assign {et.value} to global '{name}' of type {gt.value}",
                           _first_tok(raw))
            return GlobalSet(name, e, span=self.span(dest))
        self.error(f"unknown local or global '{name}'", dest)
        self.expr(raw, None)
        return None

    def s_assign_call(self, r: tuple[Any, ...]) -> Stmt | None:
        dest, callee_tok = _name_tok(r[1]), _name_tok(r[2])
        ft = self.callee(callee_tok)
        what = f"call to '{callee_tok.value}'"
        args = self.call_args(ft, r[3], callee_tok, what)
        self.dest_local(dest, None if ft is None else ft.result, ft is not None, what)
        return _make_call(dest.value, callee_tok.value, args, self.span(callee_tok))

    def indirect(self, ci_tok: Any, ft_raw: list[Any], target_raw: Raw,
                 raw_args: list[Any]) -> tuple[FuncType | None, Expr, tuple[Expr, ...]]:
        ft = self.functype(ft_raw)
        target = self.typed(target_raw, I32, "call target")
        args = self.call_args(ft, raw_args, ci_tok, "call_indirect")
        return ft, target, args

    def s_assign_call_indirect(self, r: tuple[Any, ...]) -> Stmt | None:
        dest = _name_tok(r[1])
        ft, target, args = self.indirect(*r[2:])
        self.dest_local(dest, None if ft is None else ft.result, ft is not None, "call_indirect")
        if ft is None:
            return None
        return CallIndirect(dest.value, ft, target, args, span=self.span(r[2]))

    def s_op_stmt(self, r: tuple[Any, ...]) -> Stmt | None:
        name_tok = _name_tok(r[1])
        op = OPS_BY_NAME.get(name_tok.value)
        args, offset_tok = self.op_args(r[2])
        if op is None:
            self.error(f"unknown op '{name_tok.value}'", name_tok)
            self.args_untyped(args)
            return None
        if op.kind is not OpKind.STORE:
            self.error(f"op '{op.name}' is not a statement (only stores are; "
                       f"assign its result to a local)", name_tok)
            self.args_untyped(args)
            return None
        typed = self.operands(op, name_tok, args)
        offset = self.mem_offset(offset_tok)
        if len(typed) != 2:
            return None
        return _make_store(op.name, typed[0], typed[1], offset, self.span(name_tok))

    def s_call(self, r: tuple[Any, ...]) -> Stmt | None:
        callee_tok = _name_tok(r[1])
        ft = self.callee(callee_tok)
        args = self.call_args(ft, r[2], callee_tok, f"call to '{callee_tok.value}'")
        return _make_call(None, callee_tok.value, args, self.span(callee_tok))

    def s_call_indirect(self, r: tuple[Any, ...]) -> Stmt | None:
        ft, target, args = self.indirect(*r[1:])
        if ft is None:
            return None
        return CallIndirect(None, ft, target, args, span=self.span(r[1]))

    # ------------------------------------------------------------ terminators

    def t_jump(self, r: tuple[Any, ...]) -> Terminator | None:
        return _make_jump(self.target(r[2]), self.span(r[1]))

    def t_branch(self, r: tuple[Any, ...]) -> Terminator | None:
        cond = self.typed(r[2], I32, "branch condition")
        return _make_branch(cond, self.target(r[3]), self.target(r[4]), self.span(r[1]))

    def t_switch(self, r: tuple[Any, ...]) -> Terminator | None:
        index = self.typed(r[2], I32, "switch index")
        targets = tuple(self.target(t) for t in r[3])
        default = self.target(r[4])
        if not targets:
            self.error("switch has an empty jump table", r[1])
        return Switch(index, targets, default, span=self.span(r[1]))

    def t_ret(self, r: tuple[Any, ...]) -> Terminator | None:
        kw, raw = r[1], r[2]
        if raw is None:
            if self.result is not None:
                self.error(f"return without a value in '{self.fname}', "
                           f"which returns {self.result.value}", kw)
            return Return(None, span=self.span(kw))
        if self.result is None:
            if self.result_known:
                self.error(f"return with a value in '{self.fname}', which returns nothing",
                           _first_tok(raw))
            self.expr(raw, None)
            return Return(None, span=self.span(kw))
        value = self.typed(raw, self.result, "return value")
        return _make_return(value, self.span(kw))

    def check_tail(self, result: ValType | None, at: Any, what: str) -> None:
        if result is not self.result and self.result_known:
            self.error(f"{what} returns {_tname(result)}, but '{self.fname}' "
                       f"returns {_tname(self.result)}", at)

    def t_tail_call(self, r: tuple[Any, ...]) -> Terminator | None:
        callee_tok = _name_tok(r[2])
        ft = self.callee(callee_tok)
        what = f"tail call to '{callee_tok.value}'"
        args = self.call_args(ft, r[3], callee_tok, what)
        if ft is not None:
            self.check_tail(ft.result, callee_tok, what)
        return TailCall(callee_tok.value, args, span=self.span(r[1]))

    def t_tail_call_indirect(self, r: tuple[Any, ...]) -> Terminator | None:
        ft, target, args = self.indirect(*r[2:])
        if ft is None:
            return None
        self.check_tail(ft.result, r[2], "tail call_indirect")
        return TailCallIndirect(ft, target, args, span=self.span(r[1]))

    def t_unreachable(self, r: tuple[Any, ...]) -> Terminator | None:
        return Unreachable(span=self.span(r[1]))

    def t_panic(self, r: tuple[Any, ...]) -> Terminator | None:
        msg = self.text(r[2])
        if msg is None:
            return None
        return Panic(msg, span=self.span(r[1]))

    builders: dict[str, Any] = {
        "assign": s_assign, "assign_call": s_assign_call,
        "assign_call_indirect": s_assign_call_indirect, "op_stmt": s_op_stmt,
        "call": s_call, "call_indirect": s_call_indirect,
        "jump": t_jump, "branch": t_branch, "switch": t_switch, "ret": t_ret,
        "tail_call": t_tail_call, "tail_call_indirect": t_tail_call_indirect,
        "unreachable": t_unreachable, "panic": t_panic,
    }


_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, '"': 34}


def _is_tok(x: Any) -> bool:
    """Raw nodes are tuples and lists (or None for punctuation); tokens are `_Tok`."""
    return x.__class__ is _Tok


def _label_text(tok: Any) -> str:
    text: str = tok.value
    return text[:-1].rstrip()


def _name_tok(tok: Any) -> Any:
    """The name part of a fused token (`entry:`, `r =`, `i32.add(`) as a NAME token."""
    if tok[0] == "NAME":
        return tok
    name = tok[1][:-1].rstrip()
    col = tok[4]
    return tuple.__new__(_Tok, ("NAME", name, tok[2], tok[3], col, col + len(name)))


def _first_tok(raw: Raw) -> Any:
    """The token that starts an expression (where its diagnostics point)."""
    if raw.__class__ is _Tok:
        return raw
    return _name_tok(raw[1])


# More significant digits than this is out of range for every type (10**310 and
# 16**310 both exceed f64's maximum), so such a literal is not converted: CPython
# refuses int() of more than 4,300 decimal digits, and the conversion is quadratic.
_MAX_DIGITS = 310
_TOO_LONG = 1 << 1300      # stands for the value of such a literal; fails every range check


def _int(text: str) -> int:
    body = text.lstrip("+-")
    hexa = "x" in body or "X" in body
    digits = body[2:] if hexa else body
    significant = digits.lstrip("0")
    negative = text.startswith("-")
    if len(significant) > _MAX_DIGITS:
        return -_TOO_LONG if negative else _TOO_LONG
    value = int(significant or "0", 16 if hexa else 10)
    return -value if negative else value


def _shown(literal: str) -> str:
    """A literal as a message quotes it: a long one shortened, with its length."""
    if len(literal) <= 40:
        return literal
    return f"{literal[:12]}...{literal[-6:]} ({len(literal)} characters)"


def _float(text: str, bits: int) -> float | None:
    """The value of a float (or integer) literal as a `bits`-wide float; None if out of range."""
    body = text.lstrip("+-")
    neg = text.startswith("-")
    if body.startswith("nan"):
        mant_bits = 52 if bits == 64 else 23
        payload = int(body[6:], 16) if len(body) > 3 else 1 << (mant_bits - 1)
        if not 0 < payload < (1 << mant_bits):
            return None
        if bits == 32:
            payload <<= 29  # an f32 NaN widened to a double keeps its payload on top
        raw = (int(neg) << 63) | (0x7FF << 52) | payload
        v: float = struct.unpack("<d", struct.pack("<Q", raw))[0]
        return v
    try:
        if body.startswith(("0x", "0X")):
            if "p" in body or "P" in body:
                v = float.fromhex(text)
            else:
                whole = _int(text)
                if abs(whole) >= _TOO_LONG:
                    return None
                v = float(whole)
        else:
            v = float(text)
    except (OverflowError, ValueError):
        return None
    if math.isinf(v) and not body.startswith("inf"):
        return None
    if bits == 32 and not math.isinf(v):
        try:
            v = struct.unpack("<f", struct.pack("<f", v))[0]
        except OverflowError:
            return None
    return v
