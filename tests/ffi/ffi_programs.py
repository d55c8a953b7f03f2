"""Generated IR test programs for the FFI, modelled on libffi's testsuite.

Each `Case` is one C signature.  `case_module` writes an IR module that
exercises it four ways and checks every value, byte for byte:

1. wasm -> `ffi_call` -> an IR function with the lowered type (checks the
   lowered arguments, writes the sret result, returns the result with
   garbage above 8/16-bit results so the handler's extension is tested);
2. wasm -> a closure (`ffi_closure_alloc`) called with `call_indirect` ->
   `fun(sig, ret, args, user_data)` (checks the signature id, the user data
   and every `*args[i]`, writes the result);
3. wasm -> `ffi_call` -> a host function imported with `foreign import ccall`
   (Python checks the lowered arguments);
4. host -> the closure through the exported table (Python builds the
   lowered arguments and checks the result).

Paths 3 and 4 need the Python host (`host_functions`), so a module made
with `host=False` has paths 1 and 2 only (for Node).  The user data counts
the closure's calls; the run checks the count.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import attrs

from linker.ir.ctypes import CKind, CScalar, CSig, CStruct, CType, lower
from linker.ir.types import FuncType, ValType
from linker.host import HostContext, HostFunctions, HostTrap

import cmodel as cm
from cmodel import S

K = CKind


@attrs.frozen
class Case:
    name: str
    ret: CType
    params: tuple[CType, ...]
    var: tuple[CType, ...] | None = None    # None: not variadic
    user_data: int = 0                      # extra words of user data (closure_simple uses 3)

    @property
    def sig(self) -> CSig:
        if self.var is None:
            return CSig(self.ret, self.params)
        return CSig(self.ret, self.params + self.var, len(self.params))

    @property
    def all_params(self) -> tuple[CType, ...]:
        return self.params + (self.var or ())


def st(*fields: CType) -> CStruct:
    return CStruct(tuple(fields))


i8, u8, i16, u16 = S(K.SINT8), S(K.UINT8), S(K.SINT16), S(K.UINT16)
i32, u32, i64, u64 = S(K.SINT32), S(K.UINT32), S(K.SINT64), S(K.UINT64)
f32, f64, ptr, ld, void = S(K.FLOAT), S(K.DOUBLE), S(K.POINTER), S(K.LONGDOUBLE), S(K.VOID)
small = st(u8, i16)
s12 = st(i32, i32, i32)
s64 = st(*([f64] * 8))
struct1 = st(u8, f64, u32)
nested = st(st(i16, u8), f64)

CASES: tuple[Case, ...] = (
    Case("promotion", i32, (i8, i16, u8, u16)),                       # promotion.c
    Case("many_floats", f32, (f32,) * 13),                              # many.c
    Case("many_mixed", f64, tuple(f64 if i % 3 else i32 for i in range(19))),   # many_mixed.c
    Case("many_small_structs", i32, (small,) * 40),
    Case("many_uint8", u8, (u8,) * 7),                                  # many2.c
    Case("return_ldl", ld, (ld,)),                                      # return_ldl.c
    Case("ld_mixed", ld, (i32, ld, f64)),
    Case("struct1", struct1, (struct1,)),                               # struct1.c
    Case("cls_12byte", s12, (s12, s12)),                                # cls_12byte.c
    Case("cls_64byte", s64, (s64, s64, s64, s64)),                      # cls_64byte.c
    Case("single_entry_i32", st(i32), (st(i32), i32)),                  # single_entry_structs1.c
    Case("single_entry_nested_float", st(st(f32)), (st(st(f32)), f64)),  # single_entry_structs2.c
    Case("single_entry_char", st(i8), (st(u8), st(i8))),                # single_entry_structs3.c
    Case("single_entry_ld", st(ld), (st(ld),)),
    Case("closure_simple", i32, (i32,) * 4, user_data=3),              # closure_simple.c
    Case("closure_fn0", i32, (u64, i32, u16, u16, u8, i8, i64, i32, i64, i32, i16, i64, i32,
                              f64, f32, i64)),                          # closure_fn0.c
    Case("int64", i64, (i64, i64)),
    Case("uint64", u64, (u64, u32)),
    Case("float_double", f64, (f32, f64, f32, i32)),
    Case("float_ret", f32, (f64,)),
    Case("void_ret", void, (ptr, i32)),
    Case("pointer", ptr, (ptr,)),
    Case("sint8_ret", i8, (i8,)),
    Case("uint16_ret", u16, (u16, i16)),
    Case("sint16_ret", i16, (i16, u8)),
    Case("uint32_big", u32, (u32, u32)),
    Case("nested_struct", nested, (nested, i8)),
    Case("struct_floats", st(f32, f32, f32), (st(f32, f32, f32), f32)),
    Case("struct_with_ld", st(ld, i32), (st(ld, i32),)),
    Case("va_2", i32, (i32,), (f64, i32, f64)),                        # va_2.c
    Case("cls_double_va", i32, (ptr,), (f64,)),                         # cls_double_va.c
    Case("va_promoted", f64, (i32,), (f32, i8, u16, i64)),
    Case("va_struct", i32, (i32,), (s12, st(i32), ld)),
    Case("va_none", i32, (ptr,), ()),
    Case("no_args", i32, ()),
    Case("void_void", void, ()),
)


def ctype_text(t: CType) -> str:
    if isinstance(t, CStruct):
        return "struct { " + ", ".join(ctype_text(f) for f in t.fields) + " }"
    return t.kind.value


def sig_text(c: Case) -> str:
    parts = [ctype_text(p) for p in c.params]
    if c.var is not None:
        parts.append("...")
        parts += [ctype_text(p) for p in c.var]
    return f"{ctype_text(c.ret)}({', '.join(parts)})"


def _lit(vt: str, v: Any) -> str:
    if vt in ("f32", "f64"):
        return float(v).hex()
    return str(v)


def _bytes_items(raw: bytes) -> str:
    return ", ".join(f"i8 {b}" for b in raw) if raw else "zero 0"


def _garbage(t: CType, v: Any) -> tuple[str, Any]:
    """The wasm result an implementation returns: small ints with garbage above them."""
    c = cm.collapse(t, v)
    assert c is not None
    s, sv = c
    vt, wv = cm.wasm_scalar(s, sv)
    if s.kind in cm.SMALL:
        bits = cm.INT_BITS[s.kind]
        wv = cm.signed((sv & ((1 << bits) - 1)) | 0x5A5A0000, 32)
    return vt, wv


PRELUDE = """
module ffitest.prelude

import func "env" "irld_trace_i32" trace(i32)

func fail(tag: i32) {
entry:
  call trace(tag)
  panic "FFI check failed"
}

func expect_i32(a: i32, b: i32, tag: i32) {
entry:
  if i32.ne(a, b) then bad else ok
bad:
  call trace(a)
  call fail(tag)
  return
ok:
  return
}

func expect_i64(a: i64, b: i64, tag: i32) {
entry:
  if i64.ne(a, b) then bad else ok
bad:
  call fail(tag)
  return
ok:
  return
}

func expect_f32(a: f32, b: f32, tag: i32) {
entry:
  call expect_i32(i32.reinterpret_f32(a), i32.reinterpret_f32(b), tag)
  return
}

func expect_f64(a: f64, b: f64, tag: i32) {
entry:
  call expect_i64(i64.reinterpret_f64(a), i64.reinterpret_f64(b), tag)
  return
}

func check_mem(p: i32, q: i32, n: i32, tag: i32) {
  local i: i32
entry:
  i = 0
  jump loop
loop:
  if i32.lt_u(i, n) then body else done
body:
  if i32.ne(i32.load8_u(i32.add(p, i)), i32.load8_u(i32.add(q, i))) then bad else next
next:
  i = i32.add(i, 1)
  jump loop
bad:
  call trace(i)
  call fail(tag)
  return
done:
  return
}

func copy_mem(p: i32, q: i32, n: i32) {
  local i: i32
entry:
  i = 0
  jump loop
loop:
  if i32.lt_u(i, n) then body else done
body:
  i32.store8(i32.add(p, i), i32.load8_u(i32.add(q, i)))
  i = i32.add(i, 1)
  jump loop
done:
  return
}
"""

DECLS = """
extern func fail(i32)
extern func expect_i32(i32, i32, i32)
extern func expect_i64(i64, i64, i32)
extern func expect_f32(f32, f32, i32)
extern func expect_f64(f64, f64, i32)
extern func check_mem(i32, i32, i32, i32)
extern func copy_mem(i32, i32, i32)
extern func ffi_call(i32, i32, i32, i32)
extern func ffi_closure_alloc(i32, i32, i32) -> i32
extern func ffi_closure_free(i32)
"""


class _Tags:
    def __init__(self, base: int) -> None:
        self.n = base

    def __call__(self) -> int:
        self.n += 1
        return self.n


def values(c: Case) -> list[Any]:
    return [cm.sample(t, 3 * i + len(c.name)) for i, t in enumerate(c.all_params)]


def ret_value(c: Case) -> Any:
    return cm.sample(c.ret, 11 + len(c.name))


def has_result(c: Case) -> bool:
    return not (isinstance(c.ret, CScalar) and c.ret.kind is K.VOID)


def case_module(index: int, c: Case, host: bool) -> str:
    """The IR module of one case; `run_<name>()` runs its paths."""
    p = f"c{index}_"
    tag = _Tags(index * 1000)
    vals = values(c)
    rv = ret_value(c)
    ft = lower(c.sig)
    sret = has_result(c) and cm.sret(c.ret)
    nfixed = len(c.params)
    out = [f"module ffitest.{c.name}", DECLS, f"csig {p}s = {sig_text(c)}"]
    if host:
        out.append(f'foreign import ccall "host" "f{index}" {p}hf: {sig_text(c)}')
        out.append(f'import func "host" "call{index}" {p}host_call(i32, i32) -> i32')
    # Argument values, the avalue array, result buffers, the varargs buffer.
    for i, (t, v) in enumerate(zip(c.all_params, vals)):
        out.append(f"data {p}a{i} align 16 = {{ {_bytes_items(cm.to_bytes(t, v))} }}")
    av = ", ".join(f"addr {p}a{i}" for i in range(len(vals)))
    out.append(f"data {p}av align 4 = {{ {av if av else 'zero 4'} }}")
    rbytes = cm.ffi_ret_bytes(c.ret, rv) if has_result(c) else b""
    rsize = max(16, len(rbytes))
    out.append(f"data {p}fret align 16 = {{ {_bytes_items(rbytes)} }}")
    for buf in ("rv1", "rv3", "sret"):
        out.append(f"data {p}{buf} align 16 = {{ zero {rsize} }}")
    out.append(f"data {p}ud align 4 = {{ zero {4 * (1 + c.user_data)} }}")
    out.append(f"data {p}scratch align 16 = {{ zero 4096 }}")
    vlay = cm.var_layout(list(c.var or ()))
    if c.var is not None:
        items: list[str] = []
        pos = 0
        for j, (off, size, how) in enumerate(vlay):
            if off > pos:
                items.append(f"zero {off - pos}")
            i = nfixed + j
            if how == "ptr":
                items.append(f"addr {p}a{i}")
            else:
                raw = cm.var_slot_bytes(c.all_params[i], vals[i], how)
                items.append(_bytes_items(raw))
                out.append(f"data {p}v{j} align 16 = {{ {_bytes_items(raw)} }}")
            pos = off + size
        out.append(f"data {p}vbuf align 16 = {{ {', '.join(items) if items else 'zero 16'} }}")

    # 1. The implementation called by ffi_call.
    params = []
    for k, vt in enumerate(ft.params):
        params.append(f"x{k}: {vt.value}")
    res = f" -> {ft.result.value}" if ft.result is not None else ""
    body = []
    w = 1 if sret else 0
    for i, (t, v) in enumerate(zip(c.params, vals)):
        if cm.is_empty(t):
            continue
        if cm.indirect(t):
            body.append(f"call check_mem(x{w}, @{p}a{i}, {t.size}, {tag()})")
            w += 1
            continue
        for vt, wv in cm.wasm_param(t, v):
            body.append(f"call expect_{vt}(x{w}, {_lit(vt, wv)}, {tag()})")
            w += 1
    if c.var is not None:
        for j, (off, size, how) in enumerate(vlay):
            i = nfixed + j
            if how == "ptr":
                t = c.all_params[i]
                body.append(f"call check_mem(i32.load(x{w}, offset={off}), @{p}a{i}, {t.size}, "
                            f"{tag()})")
            else:
                body.append(f"call check_mem(i32.add(x{w}, {off}), @{p}v{j}, {size}, {tag()})")
    if sret:
        body.append(f"call copy_mem(x0, @{p}fret, {len(rbytes)})")
    if ft.result is not None:
        vt, wv = _garbage(c.ret, rv)
        body.append(f"return {_lit(vt, wv)}")
    else:
        body.append("return")
    out.append(f"func {p}impl({', '.join(params)}){res} {{\nentry:\n  " + "\n  ".join(body)
               + "\n}")

    # 2. The closure's fun(sig, ret, args, user_data).
    body = [f"call expect_i32(sg, sig {p}s, {tag()})", f"call expect_i32(ud, @{p}ud, {tag()})"]
    for i, (t, v) in enumerate(zip(c.all_params, vals)):
        size = len(cm.to_bytes(t, v))
        body.append(f"call check_mem(i32.load(args, offset={4 * i}), @{p}a{i}, {size}, {tag()})")
    body.append("i32.store(ud, i32.add(i32.load(ud), 1))")
    if has_result(c):
        body.append(f"call copy_mem(ret, @{p}fret, {len(rbytes)})")
    body.append("return")
    out.append(f"func {p}fun(sg: i32, ret: i32, args: i32, ud: i32) {{\nentry:\n  "
               + "\n  ".join(body) + "\n}")

    # The run: every path.
    locals_ = ["code: i32", "ok: i32"]
    if ft.result is not None:
        locals_.append(f"r: {ft.result.value}")
    body = [f"call ffi_call(sig {p}s, @{p}impl, @{p}rv1, @{p}av)"]
    if has_result(c):
        body.append(f"call check_mem(@{p}rv1, @{p}fret, {len(rbytes)}, {tag()})")
    body.append(f"code = call ffi_closure_alloc(sig {p}s, @{p}fun, @{p}ud)")
    body.append(f"call expect_i32(i32.eqz(code), 0, {tag()})")
    args: list[str] = []
    if sret:
        args.append(f"@{p}sret")
    for i, (t, v) in enumerate(zip(c.params, vals)):
        if cm.is_empty(t):
            continue
        if cm.indirect(t):
            args.append(f"@{p}a{i}")
        else:
            args += [_lit(vt, wv) for vt, wv in cm.wasm_param(t, v)]
    if c.var is not None:
        args.append(f"@{p}vbuf")
    sig_ft = "(" + ", ".join(vt.value for vt in ft.params) + ")" + res
    dest = "r = " if ft.result is not None else ""
    body.append(f"{dest}call_indirect {sig_ft} [code]({', '.join(args)})")
    if ft.result is not None:
        c2 = cm.collapse(c.ret, rv)
        assert c2 is not None
        vt, wv = cm.wasm_scalar(c2[0], c2[1])
        body.append(f"call expect_{vt}(r, {_lit(vt, wv)}, {tag()})")
    if sret:
        body.append(f"call check_mem(@{p}sret, @{p}fret, {len(rbytes)}, {tag()})")
    calls = 1
    if host:
        body.append(f"call ffi_call(sig {p}s, @{p}hf, @{p}rv3, @{p}av)")
        if has_result(c):
            body.append(f"call check_mem(@{p}rv3, @{p}fret, {len(rbytes)}, {tag()})")
        body.append(f"ok = call {p}host_call(code, @{p}scratch)")
        body.append(f"call expect_i32(ok, 1, {tag()})")
        calls = 2
    body.append(f"call expect_i32(i32.load(@{p}ud), {calls}, {tag()})")
    body.append("call ffi_closure_free(code)")
    body.append("return")
    out.append(f"func run_{c.name}() {{\n  local {', '.join(locals_)}\nentry:\n  "
               + "\n  ".join(body) + "\n}")
    return "\n\n".join(out) + "\n"


def main_module(cases: list[Case], extra: str = "") -> str:
    decls = "\n".join(f"extern func run_{c.name}()" for c in cases)
    calls = "\n  ".join(f"call run_{c.name}()" for c in cases)
    return f"module ffitest.main\n{decls}\n{extra}\nfunc main() -> i32 {{\nentry:\n  {calls}\n  return 0\n}}\n"


# ---------------------------------------------------------------- the Python host


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise HostTrap(f"FFI host check failed: {what}")


def _same(vt: str, got: Any, want: Any) -> bool:
    if vt == "f32":
        return struct.pack("<f", got) == struct.pack("<f", want)
    if vt == "f64":
        return struct.pack("<d", got) == struct.pack("<d", want)
    bits = 32 if vt == "i32" else 64
    return cm.signed(got, bits) == cm.signed(want, bits)


def host_functions(cases: list[tuple[int, Case]],
                   base: HostFunctions | None = None) -> HostFunctions:
    """`host.f<i>` (the foreign imports) and `host.call<i>` (call the closure) per case."""
    host = (base or HostFunctions.default()).copy()
    for index, c in cases:
        host.add("host", f"f{index}", lower(c.sig), _foreign(c))
        host.add("host", f"call{index}", FuncType((ValType.I32, ValType.I32), ValType.I32),
                 _caller(c))
    return host


def _foreign(c: Case) -> Callable[..., Any]:
    vals = values(c)
    rv = ret_value(c)
    sret = has_result(c) and cm.sret(c.ret)
    ft = lower(c.sig)

    def impl(ctx: HostContext, *args: Any) -> Any:
        w = 1 if sret else 0
        for i, (t, v) in enumerate(zip(c.params, vals)):
            if cm.indirect(t):
                _check(ctx.read(args[w], t.size) == cm.to_bytes(t, v), f"{c.name} arg {i}")
                w += 1
                continue
            for vt, wv in cm.wasm_param(t, v):
                _check(_same(vt, args[w], wv), f"{c.name} arg {i}: {args[w]!r} != {wv!r}")
                w += 1
        if c.var is not None:
            vb = args[w]
            for j, (off, size, how) in enumerate(cm.var_layout(list(c.var))):
                i = len(c.params) + j
                t = c.all_params[i]
                if how == "ptr":
                    p = int.from_bytes(ctx.read(vb + off, 4), "little")
                    _check(ctx.read(p, t.size) == cm.to_bytes(t, vals[i]), f"{c.name} var {j}")
                else:
                    _check(ctx.read(vb + off, size) == cm.var_slot_bytes(t, vals[i], how),
                           f"{c.name} var {j}")
        if sret:
            ctx.write(args[0], cm.to_bytes(c.ret, rv))
        if ft.result is None:
            return None
        _vt, wv = _garbage(c.ret, rv)
        return wv
    return impl


def _caller(c: Case) -> Callable[..., Any]:
    vals = values(c)
    rv = ret_value(c)
    sret = has_result(c) and cm.sret(c.ret)
    ft = lower(c.sig)

    def impl(ctx: HostContext, code: int, scratch: int) -> int:
        table = ctx.table()
        _check(table is not None, "no exported table")
        assert table is not None
        func = table.get(ctx.store, code)
        _check(func is not None, f"closure slot {code} is empty")
        pos = scratch + 64
        args: list[Any] = []
        if sret:
            args.append(scratch)
        copies: dict[int, int] = {}
        for i, (t, v) in enumerate(zip(c.all_params, vals)):
            if cm.indirect(t):
                ctx.write(pos, cm.to_bytes(t, v))
                copies[i] = pos
                pos += (t.size + 15) // 16 * 16
        for i, (t, v) in enumerate(zip(c.params, vals)):
            if cm.indirect(t):
                args.append(copies[i])
            else:
                args += [wv for _vt, wv in cm.wasm_param(t, v)]
        if c.var is not None:
            vb = pos
            for j, (off, size, how) in enumerate(cm.var_layout(list(c.var))):
                i = len(c.params) + j
                if how == "ptr":
                    ctx.write(vb + off, copies[i].to_bytes(4, "little"))
                else:
                    ctx.write(vb + off, cm.var_slot_bytes(c.all_params[i], vals[i], how))
            args.append(vb)
        result = func(ctx.caller, *args)
        if ft.result is not None:
            c2 = cm.collapse(c.ret, rv)
            assert c2 is not None
            vt, wv = cm.wasm_scalar(c2[0], c2[1])
            _check(_same(vt, result, wv), f"{c.name} closure result {result!r} != {wv!r}")
        if sret:
            _check(ctx.read(scratch, c.ret.size) == cm.to_bytes(c.ret, rv),
                   f"{c.name} closure sret result")
        return 1
    return impl
