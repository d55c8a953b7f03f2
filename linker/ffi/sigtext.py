"""C signatures written as text: `--ffi-signatures FILE` and `IRLD_FFI_SIGNATURE`.

One signature per line (blank lines and `#` comments are ignored):

    RESULT [,] ( PARAM, PARAM, ... )

where each type is one of

* libffi's and the IR's names: `void sint8 uint8 sint16 uint16 sint32 uint32
  sint64 uint64 float double pointer longdouble`;
* C's spellings on wasm32: `char` (signed), `signed char`, `unsigned char`,
  `short`, `int`, `long` (32 bits), `long long`, each with `signed` or
  `unsigned`, `float`, `double`, `long double`, `_Bool`/`bool`, the
  `<stdint.h>` and `<stddef.h>` typedefs (`int8_t` ... `uint64_t`,
  `intptr_t`, `uintptr_t`, `size_t`, `ssize_t`, `ptrdiff_t`), libffi's
  `ffi_arg`/`ffi_sarg`; `const`/`volatile` are ignored;
* any type followed by `*` (a pointer: `char *`, `struct point *`);
* `struct { T, T, ... }` (fields separated by `,` or `;`, nested freely).

A line may end with `pool N`: the closure pool of that signature (as the
IR's `csig ... pool N`), e.g. `pool 0` for a signature only `ffi_call`
uses.  A parameter `...` makes the signature variadic: the types after it are
those of one call's variadic arguments (libffi's `ffi_prep_cif_var`), e.g.
`int(const char *, ..., int, double)`.  The optional comma after the result
is what `IRLD_FFI_SIGNATURE(double, (int, float))` stringifies to.

The grammar is a small recursive descent over tokens (identifiers, `*`,
`{ } ( ) , ; ...`); errors name the line and the offending token.
"""

from __future__ import annotations

import re

from linker.ir.ctypes import CKind, CScalar, CSig, CStruct, CType

_TOKEN = re.compile(r"\s*(?:(\.\.\.)|([A-Za-z_][A-Za-z_0-9]*)|([*{}(),;])|([0-9]+))")
_QUALIFIERS = frozenset({"const", "volatile", "restrict", "__restrict"})

# (sign, base) -> kind; sign is "", "signed" or "unsigned".
_C_NAMES: dict[tuple[str, str], CKind] = {
    ("", "char"): CKind.SINT8, ("signed", "char"): CKind.SINT8,
    ("unsigned", "char"): CKind.UINT8,
    **{(s, b): CKind.SINT16 for s in ("", "signed") for b in ("short", "short int")},
    **{("unsigned", b): CKind.UINT16 for b in ("short", "short int")},
    **{(s, b): CKind.SINT32 for s in ("", "signed") for b in ("int", "long", "long int")},
    **{("unsigned", b): CKind.UINT32 for b in ("int", "long", "long int")},
    **{(s, b): CKind.SINT64 for s in ("", "signed") for b in ("long long", "long long int")},
    **{("unsigned", b): CKind.UINT64 for b in ("long long", "long long int")},
    ("", "float"): CKind.FLOAT, ("", "double"): CKind.DOUBLE,
    ("", "long double"): CKind.LONGDOUBLE, ("", "void"): CKind.VOID,
    ("", "_Bool"): CKind.UINT8, ("", "bool"): CKind.UINT8,
}
_TYPEDEFS: dict[str, CKind] = {
    "int8_t": CKind.SINT8, "uint8_t": CKind.UINT8, "int16_t": CKind.SINT16,
    "uint16_t": CKind.UINT16, "int32_t": CKind.SINT32, "uint32_t": CKind.UINT32,
    "int64_t": CKind.SINT64, "uint64_t": CKind.UINT64, "intptr_t": CKind.SINT32,
    "uintptr_t": CKind.UINT32, "size_t": CKind.UINT32, "ssize_t": CKind.SINT32,
    "ptrdiff_t": CKind.SINT32, "ffi_arg": CKind.UINT32, "ffi_sarg": CKind.SINT32,
    **{k.value: k for k in CKind},
}


class SignatureSyntaxError(ValueError):
    """A line that is not a signature; the message says what was expected."""


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            bad = text[pos:].strip()[:1]
            raise SignatureSyntaxError(f"unexpected character {bad!r}")
        out.append(m.group(m.lastindex or 0))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.toks = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, want: str) -> None:
        got = self.peek()
        if got != want:
            raise SignatureSyntaxError(
                f"expected '{want}', found {'end of line' if got is None else repr(got)}")
        self.pos += 1

    def ctype(self) -> CType:
        if self.peek() == "struct" and self.toks[self.pos + 1:self.pos + 2] == ["{"]:
            self.pos += 2
            fields: list[CType] = []
            while self.peek() != "}":
                fields.append(self.ctype())
                if self.peek() in (",", ";"):
                    self.pos += 1
                elif self.peek() != "}":
                    raise SignatureSyntaxError(f"expected ',' or '}}' in struct, found "
                                               f"{self.peek()!r}")
            self.pos += 1
            return self.pointers(CStruct(tuple(fields)))
        words: list[str] = []
        while (tok := self.peek()) is not None and (tok[0].isalpha() or tok[0] == "_"):
            words.append(tok)
            self.pos += 1
        if not words:
            got = self.peek()
            raise SignatureSyntaxError(
                f"expected a type, found {'end of line' if got is None else repr(got)}")
        if self.peek() == "*":
            return self.pointers(CScalar(CKind.POINTER))
        return CScalar(_scalar(words))

    def pointers(self, t: CType) -> CType:
        if self.peek() != "*":
            return t
        while self.peek() == "*":
            self.pos += 1
        return CScalar(CKind.POINTER)

    def signature(self) -> CSig:
        ret = self.ctype()
        if self.peek() == ",":
            self.pos += 1
        self.take("(")
        params: list[CType] = []
        nfixed: int | None = None
        while self.peek() != ")":
            if self.peek() == "...":
                if nfixed is not None:
                    raise SignatureSyntaxError("'...' appears twice")
                nfixed = len(params)
                self.pos += 1
            else:
                t = self.ctype()
                if isinstance(t, CScalar) and t.kind is CKind.VOID:
                    if params or self.peek() != ")":
                        raise SignatureSyntaxError("void is not a parameter type")
                    continue                      # `int(void)`: no parameters
                params.append(t)
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != ")":
                got = self.peek()
                raise SignatureSyntaxError(
                    f"expected ',' or ')', found {'end of line' if got is None else repr(got)}")
        self.pos += 1
        return CSig(ret, tuple(params), nfixed)

    def pool(self) -> int | None:
        if self.peek() is None:
            return None
        if self.peek() != "pool" or not (self.toks[self.pos + 1:self.pos + 2] or ["x"])[0].isdigit():
            raise SignatureSyntaxError(f"unexpected {self.peek()!r} after the parameters "
                                       "(only 'pool N' may follow)")
        n = int(self.toks[self.pos + 1])
        self.pos += 2
        if self.peek() is not None:
            raise SignatureSyntaxError(f"unexpected {self.peek()!r} after 'pool {n}'")
        return n


def _scalar(words: list[str]) -> CKind:
    words = [w for w in words if w not in _QUALIFIERS]
    if len(words) == 1 and words[0] in _TYPEDEFS:
        return _TYPEDEFS[words[0]]
    sign = ""
    rest = []
    for w in words:
        if w in ("signed", "unsigned"):
            sign = w
        else:
            rest.append(w)
    base = " ".join(rest) if rest else "int"
    kind = _C_NAMES.get((sign, base))
    if kind is None:
        shown = " ".join(words)
        raise SignatureSyntaxError(f"unknown C type '{shown}' (write a struct as "
                                   "'struct { T, ... }', a typedef as its underlying type)")
    return kind


def parse_declaration(text: str) -> tuple[CSig, int | None]:
    """One line: the signature and its `pool N` (None when not given);
    SignatureSyntaxError says what is wrong."""
    p = _Parser(_tokens(text))
    sig = p.signature()
    return sig, p.pool()


def parse_signature(text: str) -> CSig:
    """One signature (no `pool N`)."""
    p = _Parser(_tokens(text))
    sig = p.signature()
    if p.peek() is not None:
        raise SignatureSyntaxError(f"unexpected {p.peek()!r} after the parameters")
    return sig


def parse_lines(text: str) -> list[tuple[int, str, tuple[CSig, int | None] | str]]:
    """Each non-blank, non-comment line: (line number, text, (signature, pool) or
    error message)."""
    out: list[tuple[int, str, tuple[CSig, int | None] | str]] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            out.append((no, line, parse_declaration(line)))
        except SignatureSyntaxError as exc:
            out.append((no, line, str(exc)))
    return out
