"""C signatures as text (`--ffi-signatures`, IRLD_FFI_SIGNATURE): the spellings
accepted, the canonical keys they give, and the errors for the others."""

from __future__ import annotations

import pytest

from linker.ffi.sigtext import SignatureSyntaxError, parse_declaration, parse_lines, parse_signature


@pytest.mark.parametrize(("text", "key"), [
    ("double(int, float)", "d(i,f)"),
    ("double, (int, float)", "d(i,f)"),                   # as IRLD_FFI_SIGNATURE stringifies
    ("sint32(pointer, pointer)", "i(p,p)"),               # the IR's names
    ("void(void)", "v()"),
    ("char(signed char, unsigned char, _Bool)", "b(b,B,B)"),
    ("short(unsigned short, short int, unsigned short int)", "h(H,h,H)"),
    ("long(unsigned long, long int, unsigned, signed)", "i(I,i,I,i)"),
    ("long long(unsigned long long, long long int)", "l(L,l)"),
    ("long double(long double)", "D(D)"),
    ("uint64_t(int8_t, uint16_t, size_t, intptr_t, ffi_arg)", "L(b,H,I,i,I)"),
    ("const char *(const struct point *, void *, int **)", "p(p,p,p)"),
    ("struct { int, double }(struct { char; struct { float } }, struct {} *)",
     "{i,d}({b,{f}},p)"),
    ("int(const char *, ...)", "i(p|)"),
    ("int(const char *, ..., int, double)", "i(p|i,d)"),
    ("int(..., int)", "i(|i)"),
])
def test_spellings_give_canonical_keys(text: str, key: str) -> None:
    assert parse_signature(text).key() == key


@pytest.mark.parametrize(("text", "message"), [
    ("int(struct point)", "unknown C type 'struct point' (write a struct as 'struct { T, ... }', "
                          "a typedef as its underlying type)"),
    ("int(my_t)", "unknown C type 'my_t'"),
    ("double(int,, float)", "expected a type, found ','"),
    ("int(int", "expected ',' or ')', found end of line"),
    ("int int(int)", "unknown C type 'int int'"),
    ("int", "expected '(', found end of line"),
    ("int(int, void)", "void is not a parameter type"),
    ("int(..., ...)", "'...' appears twice"),
    ("int(int) x", "unexpected 'x' after the parameters"),
    ("int(int) $", "unexpected character '$'"),
])
def test_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SignatureSyntaxError) as info:
        parse_signature(text)
    assert str(info.value).startswith(message)


def test_pool_and_lines() -> None:
    assert parse_declaration("int(int) pool 3")[1] == 3
    assert parse_declaration("int(int)")[1] is None
    with pytest.raises(SignatureSyntaxError, match="only 'pool N' may follow"):
        parse_declaration("int(int) pool x")
    lines = parse_lines("# header\n\nint(int)  # trailing\nint(\n  \nvoid() pool 0\n")
    assert [(no, text) for no, text, _ in lines] == [(3, "int(int)"), (4, "int("),
                                                    (6, "void() pool 0")]
    assert isinstance(lines[1][2], str) and not isinstance(lines[0][2], str)
