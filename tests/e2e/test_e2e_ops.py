"""Every op class, end to end: values printed on both engines in both tail-call modes.

Float results are printed as bit patterns (so -0.0, inf and NaN payloads are
exact).  A NaN produced by arithmetic has an unspecified sign and payload in
wasm, so such results are only tested with `x != x`.
"""

from __future__ import annotations

import pytest

from e2e_util import E2E, module

# (print helper, expression, expected output line)
INT32 = [
    ("pi32", "i32.add(2147483647, 1)", "-2147483648"),
    ("pi32", "i32.sub(-2147483648, 1)", "2147483647"),
    ("pi32", "i32.mul(65536, 65536)", "0"),
    ("pi32", "i32.mul(-7, 3)", "-21"),
    ("pi32", "i32.mul(123456789, 987654321)", "-67153019"),
    ("pi32", "i32.div_s(-7, 2)", "-3"),
    ("pi32", "i32.div_u(-7, 2)", "2147483644"),
    ("pi32", "i32.rem_s(-7, 2)", "-1"),
    ("pi32", "i32.rem_u(-7, 2)", "1"),
    ("pi32", "i32.rem_s(-2147483648, -1)", "0"),
    ("pi32", "i32.div_s(-2147483648, 1)", "-2147483648"),
    ("pi32", "i32.and(61680, 65280)", "61440"),
    ("pi32", "i32.or(240, 15)", "255"),
    ("pi32", "i32.xor(-1, 5)", "-6"),
    ("pi32", "i32.shl(1, 33)", "2"),
    ("pi32", "i32.shl(1, 31)", "-2147483648"),
    ("pi32", "i32.shr_s(-8, 1)", "-4"),
    ("pi32", "i32.shr_u(-8, 1)", "2147483644"),
    ("pi32", "i32.shr_u(-1, 32)", "-1"),
    ("px32", "i32.rotl(0x80000001, 1)", "0x00000003"),
    ("px32", "i32.rotr(1, 1)", "0x80000000"),
    ("px32", "i32.rotl(0x12345678, 36)", "0x23456781"),
    ("px32", "i32.rotr(0x12345678, 8)", "0x78123456"),
    ("pi32", "i32.clz(1)", "31"),
    ("pi32", "i32.clz(0)", "32"),
    ("pi32", "i32.ctz(0x80000000)", "31"),
    ("pi32", "i32.ctz(0)", "32"),
    ("pi32", "i32.popcnt(-1)", "32"),
    ("pi32", "i32.popcnt(0x55)", "4"),
    ("pi32", "i32.eqz(0)", "1"),
    ("pi32", "i32.eqz(7)", "0"),
    ("pi32", "i32.extend8_s(128)", "-128"),
    ("pi32", "i32.extend8_s(383)", "127"),
    ("pi32", "i32.extend16_s(32768)", "-32768"),
    ("pi32", "i32.extend16_s(-32769)", "32767"),
    ("pi32", "i32.wrap_i64(4294967301)", "5"),
    ("pi32", "i32.wrap_i64(-1)", "-1"),
    ("pi32", "i32.select(10, 20, 0)", "20"),
    ("pi32", "i32.select(10, 20, -7)", "10"),
    ("pu32", "-1", "4294967295"),
]

INT64 = [
    ("pi64", "i64.add(9223372036854775807, 1)", "-9223372036854775808"),
    ("pi64", "i64.sub(-9223372036854775808, 1)", "9223372036854775807"),
    ("pi64", "i64.mul(4294967296, 4294967296)", "0"),
    ("pi64", "i64.mul(-3, 3074457345618258603)", "9223372036854775807"),
    ("pi64", "i64.div_s(-7, 2)", "-3"),
    ("pu64", "i64.div_u(-1, 2)", "9223372036854775807"),
    ("pi64", "i64.rem_s(-7, 2)", "-1"),
    ("pi64", "i64.rem_u(-7, 2)", "1"),
    ("pi64", "i64.rem_s(-9223372036854775808, -1)", "0"),
    ("pi64", "i64.and(-1, 4294967296)", "4294967296"),
    ("pi64", "i64.or(1, 9223372036854775807)", "9223372036854775807"),
    ("pi64", "i64.xor(-1, 0)", "-1"),
    ("pi64", "i64.shl(1, 65)", "2"),
    ("pi64", "i64.shl(1, 63)", "-9223372036854775808"),
    ("pi64", "i64.shr_s(-8, 1)", "-4"),
    ("pi64", "i64.shr_u(-1, 60)", "15"),
    ("px64", "i64.rotl(0x8000000000000001, 4)", "0x0000000000000018"),
    ("px64", "i64.rotr(1, 1)", "0x8000000000000000"),
    ("px64", "i64.rotr(0x0123456789abcdef, 68)", "0xf0123456789abcde"),
    ("pi64", "i64.clz(1)", "63"),
    ("pi64", "i64.clz(0)", "64"),
    ("pi64", "i64.ctz(0)", "64"),
    ("pi64", "i64.ctz(4294967296)", "32"),
    ("pi64", "i64.popcnt(-1)", "64"),
    ("pi32", "i64.eqz(0)", "1"),
    ("pi32", "i64.eqz(4294967296)", "0"),
    ("pi64", "i64.extend8_s(255)", "-1"),
    ("pi64", "i64.extend16_s(32767)", "32767"),
    ("pi64", "i64.extend16_s(65535)", "-1"),
    ("pi64", "i64.extend32_s(2147483648)", "-2147483648"),
    ("pi64", "i64.extend_i32_s(-1)", "-1"),
    ("pi64", "i64.extend_i32_u(-1)", "4294967295"),
    ("pi64", "i64.select(1, 2, 0)", "2"),
    ("pi64", "i64.select(1, 2, 1)", "1"),
    ("pu64", "-1", "18446744073709551615"),
]

COMPARE = [
    ("pi32", "i32.eq(-1, 4294967295)", "1"),
    ("pi32", "i32.ne(1, 2)", "1"),
    ("pi32", "i32.lt_s(-1, 0)", "1"),
    ("pi32", "i32.lt_u(-1, 0)", "0"),
    ("pi32", "i32.gt_s(-1, 0)", "0"),
    ("pi32", "i32.gt_u(-1, 0)", "1"),
    ("pi32", "i32.le_s(5, 5)", "1"),
    ("pi32", "i32.le_u(6, 5)", "0"),
    ("pi32", "i32.ge_s(-5, 5)", "0"),
    ("pi32", "i32.ge_u(-5, 5)", "1"),
    ("pi32", "i64.eq(-1, -1)", "1"),
    ("pi32", "i64.ne(-1, 18446744073709551615)", "0"),
    ("pi32", "i64.lt_s(-1, 0)", "1"),
    ("pi32", "i64.lt_u(-1, 0)", "0"),
    ("pi32", "i64.gt_s(4294967296, 1)", "1"),
    ("pi32", "i64.gt_u(1, -1)", "0"),
    ("pi32", "i64.le_s(-9223372036854775808, 9223372036854775807)", "1"),
    ("pi32", "i64.le_u(-9223372036854775808, 9223372036854775807)", "0"),
    ("pi32", "i64.ge_s(0, -1)", "1"),
    ("pi32", "i64.ge_u(0, -1)", "0"),
    ("pi32", "f32.eq(0.0, -0.0)", "1"),
    ("pi32", "f32.ne(nan, nan)", "1"),
    ("pi32", "f32.lt(nan, 1.0)", "0"),
    ("pi32", "f32.gt(inf, 3.0e38)", "1"),
    ("pi32", "f32.le(-inf, -inf)", "1"),
    ("pi32", "f32.ge(nan, nan)", "0"),
    ("pi32", "f64.eq(0.0, -0.0)", "1"),
    ("pi32", "f64.ne(nan, nan)", "1"),
    ("pi32", "f64.lt(-0.0, 0.0)", "0"),
    ("pi32", "f64.gt(1.0, nan)", "0"),
    ("pi32", "f64.le(1.0, 1.0)", "1"),
    ("pi32", "f64.ge(2.0, 1.0)", "1"),
]

FLOAT = [
    ("pf64", "f64.add(0.1, 0.2)", "0x3fd3333333333334"),
    ("pf64", "f64.sub(1.0, 3.0)", "0xc000000000000000"),
    ("pf64", "f64.mul(1.5, 3.25)", "0x4013800000000000"),
    ("pf64", "f64.div(7.0, 2.0)", "0x400c000000000000"),
    ("pf64", "f64.div(1.0, 0.0)", "0x7ff0000000000000"),
    ("pf64", "f64.div(-1.0, 0.0)", "0xfff0000000000000"),
    ("pf64", "f64.mul(-0.0, 5.0)", "0x8000000000000000"),
    ("pf64", "f64.neg(0.0)", "0x8000000000000000"),
    ("pf64", "f64.neg(nan)", "0xfff8000000000000"),
    ("pf64", "f64.abs(-nan:0x1234)", "0x7ff0000000001234"),
    ("pf64", "nan", "0x7ff8000000000000"),
    ("pf64", "-inf", "0xfff0000000000000"),
    ("pf64", "-0.0", "0x8000000000000000"),
    ("pf64", "0x1.8p1", "0x4008000000000000"),
    ("pf64", "f64.copysign(2.0, -1.0)", "0xc000000000000000"),
    ("pf64", "f64.copysign(-2.0, 0.0)", "0x4000000000000000"),
    ("pf64", "f64.min(0.0, -0.0)", "0x8000000000000000"),
    ("pf64", "f64.max(-0.0, 0.0)", "0x0000000000000000"),
    ("pf64", "f64.ceil(-0.5)", "0x8000000000000000"),
    ("pf64", "f64.floor(-0.5)", "0xbff0000000000000"),
    ("pf64", "f64.trunc(-1.7)", "0xbff0000000000000"),
    ("pf64", "f64.nearest(2.5)", "0x4000000000000000"),
    ("pf64", "f64.nearest(-0.5)", "0x8000000000000000"),
    ("pf64", "f64.sqrt(16.0)", "0x4010000000000000"),
    ("pf32", "f32.add(16777216.0, 1.0)", "0x4b800000"),
    ("pf32", "f32.div(1.5, 3.0)", "0x3f000000"),
    ("pf32", "f32.mul(3.0e38, 10.0)", "0x7f800000"),
    ("pf32", "f32.neg(0.0)", "0x80000000"),
    ("pf32", "f32.abs(-inf)", "0x7f800000"),
    ("pf32", "nan:0x200000", "0x7fa00000"),
    ("pf32", "f32.min(-0.0, 0.0)", "0x80000000"),
    ("pf32", "f32.max(1.0, 2.0)", "0x40000000"),
    ("pf32", "f32.copysign(1.0, -0.0)", "0xbf800000"),
    ("pf32", "f32.ceil(1.25)", "0x40000000"),
    ("pf32", "f32.floor(-1.25)", "0xc0000000"),
    ("pf32", "f32.trunc(-1.75)", "0xbf800000"),
    ("pf32", "f32.nearest(3.5)", "0x40800000"),
    ("pf32", "f32.sqrt(2.25)", "0x3fc00000"),
    ("pf32", "f32.sub(1.0, 1.0)", "0x00000000"),
    ("pi32", "f64.ne(f64.sqrt(-1.0), f64.sqrt(-1.0))", "1"),
    ("pi32", "f32.ne(f32.min(1.0, nan), f32.min(1.0, nan))", "1"),
    ("pi32", "f64.ne(f64.sub(inf, inf), 0.0)", "1"),
]

CONVERT = [
    ("pf32", "f32.demote_f64(0.1)", "0x3dcccccd"),
    ("pf64", "f64.promote_f32(0.1)", "0x3fb99999a0000000"),
    ("pf64", "f64.convert_i64_u(-1)", "0x43f0000000000000"),
    ("pf64", "f64.convert_i32_u(-1)", "0x41efffffffe00000"),
    ("pf64", "f64.convert_i32_s(-1)", "0xbff0000000000000"),
    ("pf64", "f64.convert_i64_s(-2)", "0xc000000000000000"),
    ("pf32", "f32.convert_i32_s(16777217)", "0x4b800000"),
    ("pf32", "f32.convert_i32_u(-1)", "0x4f800000"),
    ("pf32", "f32.convert_i64_s(-1)", "0xbf800000"),
    ("pf32", "f32.convert_i64_u(-1)", "0x5f800000"),
    ("px32", "i32.reinterpret_f32(f32.reinterpret_i32(0x7fc00001))", "0x7fc00001"),
    ("px64", "i64.reinterpret_f64(f64.reinterpret_i64(0x7ff8000000000abc))", "0x7ff8000000000abc"),
    ("pf32", "f32.reinterpret_i32(1065353216)", "0x3f800000"),
    ("pi32", "i32.trunc_f64_s(-1.9)", "-1"),
    ("pu32", "i32.trunc_f64_u(4294967295.9)", "4294967295"),
    ("pi32", "i32.trunc_f32_s(-2147483648.0)", "-2147483648"),
    ("pu32", "i32.trunc_f32_u(4294967040.0)", "4294967040"),
    ("pi64", "i64.trunc_f64_s(-9.2e18)", "-9200000000000000000"),
    ("pu64", "i64.trunc_f64_u(1.8e19)", "18000000000000000000"),
    ("pi64", "i64.trunc_f32_s(-1.5)", "-1"),
    ("pi64", "i64.trunc_f32_u(4294967296.0)", "4294967296"),
    ("pi32", "i32.trunc_sat_f64_s(1.0e10)", "2147483647"),
    ("pi32", "i32.trunc_sat_f64_s(-1.0e10)", "-2147483648"),
    ("pi32", "i32.trunc_sat_f64_s(nan)", "0"),
    ("pi32", "i32.trunc_sat_f64_u(-5.0)", "0"),
    ("pu32", "i32.trunc_sat_f64_u(1.0e10)", "4294967295"),
    ("pi32", "i32.trunc_sat_f32_s(inf)", "2147483647"),
    ("pi32", "i32.trunc_sat_f32_u(-5.0)", "0"),
    ("pu64", "i64.trunc_sat_f64_u(1.0e30)", "18446744073709551615"),
    ("pi64", "i64.trunc_sat_f32_s(-inf)", "-9223372036854775808"),
    ("pi64", "i64.trunc_sat_f32_u(nan)", "0"),
    ("pi64", "i64.trunc_sat_f64_s(-1.5)", "-1"),
]

CASES = {"int32": INT32, "int64": INT64, "compare": COMPARE, "float": FLOAT, "convert": CONVERT}


def ops_program(name: str, cases: list[tuple[str, str, str]]) -> tuple[str, str]:
    lines = [f"  call {fn}({expr})" for fn, expr, _ in cases]
    body = "func main() -> i32 {\nentry:\n" + "\n".join(lines) + "\n  return 0\n}\n"
    return module(f"ops.{name}", body), "".join(out + "\n" for _, _, out in cases)


@pytest.mark.parametrize("name", sorted(CASES))
def test_ops(e2e: E2E, name: str) -> None:
    text, expected = ops_program(name, CASES[name])
    e2e.check([text], expected)


# Each of these traps: exit status 134 on both engines.  The operand comes from
# a global (x = 0), so no engine can fold the trap away at compile time.
TRAPS = {
    "i32.div_s by zero": "call pi32(i32.div_s(7, x))",
    "i32.div_u by zero": "call pi32(i32.div_u(7, x))",
    "i32.rem_s by zero": "call pi32(i32.rem_s(7, x))",
    "i64.rem_u by zero": "call pi64(i64.rem_u(7, i64.extend_i32_s(x)))",
    "i32 INT_MIN / -1": "call pi32(i32.div_s(-2147483648, i32.sub(x, 1)))",
    "i64 INT_MIN / -1": "call pi64(i64.div_s(-9223372036854775808, i64.extend_i32_s(i32.sub(x, 1))))",
    "i32.trunc_f64_s out of range": "call pi32(i32.trunc_f64_s(f64.add(2147483648.0, f64.convert_i32_s(x))))",
    "i32.trunc_f32_u negative": "call pi32(i32.trunc_f32_u(f32.sub(-1.0, f32.convert_i32_s(x))))",
    "i64.trunc_f64_s nan": "call pi64(i64.trunc_f64_s(f64.add(nan, f64.convert_i32_s(x))))",
    "i64.trunc_f32_u inf": "call pi64(i64.trunc_f32_u(f32.add(inf, f32.convert_i32_s(x))))",
    "unreachable": "unreachable_here",
}


def trap_program(stmt: str) -> str:
    if stmt == "unreachable_here":
        body = "  call print_char(65)\n  call nl()\n  unreachable\n"
    else:
        body = f"  call print_char(65)\n  call nl()\n  {stmt}\n  return 0\n"
    return module("traps", f"""
global zero: i32 = 0
func main() -> i32 {{
  local x: i32
entry:
  x = zero
{body}}}
""")


@pytest.mark.parametrize("case", sorted(TRAPS))
def test_trap(e2e: E2E, case: str) -> None:
    results = e2e.check([trap_program(TRAPS[case])], "A\n", 134)
    for _wasm, _res, wt, _nd in results:
        assert wt.trap is not None and "wasm trap" in wt.trap, wt.trap
