"""C types: canonical keys (collision-free, no arity cap), BasicCABI lowering, layouts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linker.ffi.abi import var_layout
from linker.ir.ctypes import CKind, CScalar, CSig, CStruct, CType, lower, parse_key
from linker.ir.types import FuncType, ValType

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64
SCALARS = [CScalar(k) for k in CKind if k is not CKind.VOID]


def ctypes_() -> st.SearchStrategy[CType]:
    return st.recursive(st.sampled_from(SCALARS),
                        lambda inner: st.lists(inner, max_size=4).map(
                            lambda fs: CStruct(tuple(fs))), max_leaves=8)


sigs = st.builds(
    lambda ret, params, nfixed: CSig(ret, tuple(params),
                                     None if nfixed is None else min(nfixed, len(params))),
    st.one_of(st.just(CScalar(CKind.VOID)), ctypes_()), st.lists(ctypes_(), max_size=20),
    st.one_of(st.none(), st.integers(0, 20)))


@settings(max_examples=300, deadline=None)
@given(sigs, sigs)
def test_keys_round_trip_and_never_collide(a: CSig, b: CSig) -> None:
    assert parse_key(a.key()) == a
    assert (a.key() == b.key()) == (a == b)


def test_no_arity_cap() -> None:
    many = CSig(CScalar(CKind.FLOAT), (CScalar(CKind.FLOAT),) * 300)
    assert parse_key(many.key()) == many
    assert lower(many) == FuncType((F32,) * 300, F32)


@pytest.mark.parametrize("key", ["i(i,)", "i(ii)", "i(i", "x()", "i()x", "{i(", "i(|"])
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        parse_key(key)


S = CScalar
K = CKind


@pytest.mark.parametrize("sig, want", [
    (CSig(S(K.SINT32), (S(K.SINT8), S(K.SINT16), S(K.UINT8), S(K.UINT16))),
     FuncType((I32,) * 4, I32)),
    (CSig(S(K.LONGDOUBLE), (S(K.LONGDOUBLE),)), FuncType((I32, I64, I64))),
    (CSig(CStruct((S(K.FLOAT),)), (CStruct((CStruct((S(K.DOUBLE),)),)),)),
     FuncType((F64,), F32)),
    (CSig(CStruct((S(K.SINT32), S(K.SINT32))), (CStruct((S(K.UINT8), S(K.DOUBLE))),)),
     FuncType((I32, I32))),
    (CSig(S(K.SINT32), (S(K.POINTER), S(K.DOUBLE), S(K.FLOAT)), 1),
     FuncType((I32, I32), I32)),
    (CSig(S(K.VOID), (CStruct((CStruct(()), S(K.SINT64))),)), FuncType((I64,))),
])
def test_basic_c_abi_lowering(sig: CSig, want: FuncType) -> None:
    assert lower(sig) == want


def test_varargs_buffer_layout() -> None:
    # float -> double, char -> int, struct -> pointer, long double at 16.
    slots, size = var_layout((S(K.FLOAT), S(K.SINT8), CStruct((S(K.SINT32), S(K.SINT32))),
                              S(K.LONGDOUBLE), S(K.SINT64)))
    assert [(s.offset, s.size) for s in slots] == [(0, 8), (8, 4), (12, 4), (16, 16), (32, 8)]
    assert size == 48 and slots[0].promote


def test_struct_layout() -> None:
    t = CStruct((S(K.UINT8), S(K.DOUBLE), S(K.UINT32)))
    assert (t.offsets(), t.size, t.align) == ([0, 8, 16], 24, 8)
    assert CStruct((S(K.LONGDOUBLE), S(K.SINT32))).size == 32
