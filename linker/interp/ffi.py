"""The linker's FFI runtime, interpreted: `ffi_call`, closure pools, growth and the static adapters.

The linker generates the dynamic FFI as wasm code with no IR (`linker.ffi.gen`);
the interpreter reproduces what that code does, observable byte for byte:

* the same memory: the `__irld_ffi` area holds the closure descriptors (16 B
  per signature: first record, pool size, wasm type class, template slot),
  the pool records (16 B: `sig` (0 = free), `fun`, `user_data`) and the
  64 KiB FFI region (grown records from the bottom, the FFI stack from the
  top, 16-byte aligned frames); the frames have the generated code's sizes
  and offsets, so every pointer a program sees (struct copies, varargs
  buffers, `args` arrays, `ret` buffers) has the same value;
* the same table: the pool trampolines of each signature (in signature
  order), then one template slot per `pool 0` signature, as the last slots
  of the link's table; `ffi_closure_alloc` returns the same indices;
* the same marshalling (`linker.ffi.abi` gives the C ABI layout of each
  signature): 8/16-bit arguments loaded with their extension, results of
  8/16-bit integer type widened to a 4-byte `ffi_arg`, non-singleton
  structs copied (byte by byte from the end, as `__irld_ffi_copy`) to the
  FFI stack, sret through `rvalue`, long double as two i64, the varargs
  buffer (floats promoted, small integers widened);
* the same frames: `ffi_call`, the call handler, the closure trampoline and
  the shared implementation are interpreter functions whose steps do the
  marshalling and hand the call to the machine, so a callee that calls
  back into the FFI nests on the machine's frame stack, traps unwind
  through them, and the step limit counts them;
* pool growth, the wasmtime host model (`linker.host`'s
  `irld.closure_table_grow`): the table grows by one slot that calls the
  closure dispatcher of the template's wasm type with the grown record; the
  grown index is the table's size before.  `growth=False` models a host that
  cannot grow (the host returns 0, so `ffi_closure_alloc` returns 0 once a pool is
  exhausted and no freed grown slot fits).

Static FFI: a `foreign import ccall` whose result is an 8/16-bit integer is
wrapped to re-extend the host's result (`wrap_import`); a `foreign export
ccall` with such a result is extended when a host calls the export
(`linker.interp.hostctx`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from linker.ffi.abi import (EXTEND, Kind, access, handler_frame, impl_frame, sig_layout,
                            small_int)
from linker.ffi.gen import (AREA, DESC, FFI_STACK_SIZE as STACK_SIZE, FUN_TYPE, GROWN_RECORD,
                            HANDLER_TYPE, RECORD, dispatch_export)
from linker.ffi.plan import FfiPlan, SigPlan
from linker.interp import semantics as sem
from linker.interp.semantics import Trap
from linker.ir import model as ir
from linker.ir.ctypes import CKind, CScalar, CSig, lower
from linker.ir.types import FuncType, ValType

if TYPE_CHECKING:
    from linker.interp.machine import Function, Machine

I32 = ValType.I32
CALL_TYPE = FuncType((I32, I32, I32, I32), None)
ALLOC_TYPE = FuncType((I32, I32, I32), I32)
FREE_TYPE = FuncType((I32,), None)
M32 = sem.M32

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")

Loader = Callable[[bytearray, int], Any]
Storer = Callable[[bytearray, int, Any], None]


def _loader(op: str) -> Loader:
    fmt, suffix = sem.load_format(op)
    s = struct.Struct(fmt)
    mask = sem.M64 if "i64" in op else M32
    if suffix:   # a sign-extending load: the signed value in the unsigned representation
        def load_signed(m: bytearray, a: int) -> Any:
            v: int = s.unpack_from(m, a)[0]
            return v & mask
        return load_signed

    def load(m: bytearray, a: int) -> Any:
        return s.unpack_from(m, a)[0]
    return load


def _storer(op: str) -> Storer:
    fmt, _suffix = sem.store_format(op)
    s = struct.Struct(fmt)
    mask = {"<B": 0xFF, "<H": 0xFFFF, "<I": M32}.get(fmt)
    if mask is None:
        def store(m: bytearray, a: int, v: Any) -> None:
            s.pack_into(m, a, v)
        return store

    def store_masked(m: bytearray, a: int, v: Any) -> None:
        s.pack_into(m, a, v & mask)
    return store_masked


def extend(kind: CKind, v: int) -> int:
    """An i32 holding an 8/16-bit C integer, re-extended as its C type says."""
    op, mask = EXTEND[kind]
    if op is None:
        return v & mask
    bits = 8 if op == "i32.extend8_s" else 16
    sign = 1 << (bits - 1)
    return ((((v & ((1 << bits) - 1)) ^ sign) - sign)) & M32


def u32(m: bytearray, a: int) -> int:
    v: int = _U32.unpack_from(m, a)[0]
    return v


def put_u32(m: bytearray, a: int, v: int) -> None:
    _U32.pack_into(m, a, v & M32)


def copy_bytes(m: bytearray, dst: int, src: int, n: int) -> None:
    """`__irld_ffi_copy`: byte by byte from the end, addresses wrapping as i32."""
    size = len(m)
    while n:
        n -= 1
        s = (src + n) & M32
        d = (dst + n) & M32
        if s >= size or d >= size:
            raise Trap(sem.OUT_OF_BOUNDS)
        m[d] = m[s]


# ---------------------------------------------------------------- frame layouts


# ---------------------------------------------------------------- static layout


class FfiLayout:
    """Where the FFI lives in memory and in the table, computed from the plan and the layout."""

    def __init__(self, plan: FfiPlan, area: int, table_size: int) -> None:
        self.plan = plan
        self.layouts = {s.id: sig_layout(s.sig) for s in plan.sigs}
        self.closure_sigs: list[SigPlan] = list(plan.sigs) if plan.alloc else []
        self.total_pool = sum(s.pool for s in self.closure_sigs)
        self.templates = [s for s in self.closure_sigs if s.pool == 0 and plan.growth]
        self.slots = self.total_pool + len(self.templates)
        self.table_base = table_size - self.slots
        self.area = area
        self.desc_size = DESC * len(plan.sigs) if self.closure_sigs else 0
        self.records = area + self.desc_size
        self.region = self.records + RECORD * self.total_pool
        self.needs_stack = bool(self.closure_sigs) or (plan.call and any(
            handler_frame(lay)[0] > 0 for lay in self.layouts.values()))
        self.tclass: dict[FuncType, int] = {}
        for s in self.closure_sigs:
            self.tclass.setdefault(s.lowered, len(self.tclass) + 1)

    def descriptors(self) -> bytes:
        """The initial contents of the descriptor table (at the area's start)."""
        if not self.closure_sigs:
            return b""
        out = bytearray()
        slot, tslot = 0, self.total_pool
        for s in self.plan.sigs:
            template = 0
            if s.pool > 0:
                template = self.table_base + slot
            elif self.plan.growth:
                template = self.table_base + tslot
                tslot += 1
            for v in (self.records + RECORD * slot, s.pool, self.tclass[s.lowered], template):
                out += _U32.pack(v & M32)
            slot += s.pool
        return bytes(out)


def ffi_layout(link_result: Any) -> FfiLayout | None:
    """The FFI layout of a linked program, None when it has no FFI runtime."""
    plan = link_result.program.ffi
    if plan is None or not plan.runtime_live:
        return None
    emitted = link_result.emitted
    return FfiLayout(plan, emitted.memory.addresses.get(AREA, 0), emitted.table.size)


# ---------------------------------------------------------------- the runtime


class FfiRuntime:
    """The FFI functions of one interpreted instance (see the module docstring)."""

    def __init__(self, machine: Machine, layout: FfiLayout, growth: bool = True) -> None:
        from linker.interp.machine import Function
        self.Function = Function
        self.m = machine
        self.lay = layout
        self.plan = layout.plan
        self.growth = growth
        self.sp = layout.region + STACK_SIZE
        self.lo = layout.region
        self.grown = 0
        self.grown_slots = 0          # table slots the host added
        self.impls: dict[int, Function] = {}
        self.funcs: dict[str, Function] = {}
        self.table: list[Function] = []
        plan = self.plan
        if plan.call:
            handlers = {s.id: self._handler(s) for s in plan.sigs}
            self.funcs["ffi_call"] = self._ffi_call(handlers)
        for s in layout.closure_sigs:
            self.impls[s.id] = self._impl(s)
        slot = 0
        for s in layout.closure_sigs:
            for k in range(s.pool):
                rec = layout.records + RECORD * (slot + k)
                self.table.append(self._trampoline(s, k, rec))
            slot += s.pool
        for s in layout.templates:
            self.table.append(self._template(s))
        if plan.alloc:
            moved = plan.lto.alloc_args if plan.lto is not None else ()
            self.funcs["ffi_closure_alloc"] = self._host(
                "ffi_closure_alloc", plan.lto.alloc_type() if plan.lto is not None and moved
                else ALLOC_TYPE, self._with_moved(moved))
        if plan.free:
            self.funcs["ffi_closure_free"] = self._host("ffi_closure_free", FREE_TYPE, self.free)

    # ------------------------------------------------------------ helpers

    def _fn(self, name: str, ft: FuncType, nlocals: int,
            steps: list[Callable[[list[Any]], Any]]) -> Function:
        return self.Function(name, ft, self.m.type_id(ft), [0] * nlocals, steps)

    def _host(self, name: str, ft: FuncType, impl: Callable[[list[Any]], Any]) -> Function:
        return self.Function(name, ft, self.m.type_id(ft), host=impl)

    def alloca(self, n: int) -> int:
        """`__irld_ffi_alloca`: a frame of `n` bytes below the stack pointer."""
        p = (self.sp - n) & M32
        if p < self.lo:
            raise Trap(sem.UNREACHABLE)
        self.sp = p
        return p

    # ------------------------------------------------------------ ffi_call

    def _ffi_call(self, handlers: dict[int, Function]) -> Function:
        from linker.interp.machine import CALL
        table = handlers

        def step0(L: list[Any]) -> Any:
            h = table.get(L[0])
            if h is None:
                raise Trap(sem.UNREACHABLE)   # an unknown signature id: br_table's default
            return (CALL, h, [L[1], L[2], L[3]], -1, 1)

        return self._fn("ffi_call", CALL_TYPE, 0, [step0, _ret0])

    def _handler(self, s: SigPlan) -> Function:
        """The call handler `(fn, rvalue, avalue)` of one signature."""
        from linker.interp.machine import CALL
        lay = self.lay.layouts[s.id]
        frame, copies, vbase, vcopies = handler_frame(lay)
        ft = lower(lay.sig)
        type_id = self.m.type_id(ft)
        M = self.m.memory
        rt = self
        icall = self.m.icall
        # (kind, offset of avalue[i], loader, byte offset of the scalar / struct size,
        #  frame offset of the copy)
        fixed: list[tuple[Kind, int, Loader | None, int, int]] = []
        for i, p in enumerate(lay.params):
            load = None
            if p.kind is Kind.SCALAR:
                assert p.scalar is not None
                load = _loader(access(p.scalar).load)
            fixed.append((p.kind, 4 * i, load,
                          p.size if p.kind is Kind.INDIRECT else p.offset, copies[i]))
        # (kind, offset of avalue[i], loader, storer, offset / size, buffer slot, copy offset)
        var: list[tuple[Kind, int, Loader | None, Storer | None, int, int, int]] = []
        nfixed = lay.sig.nfixed
        if nfixed is not None:
            for j, v in enumerate(lay.var):
                p = v.place
                load = store = None
                if p.kind is Kind.SCALAR:
                    assert p.scalar is not None
                    load = _loader(access(p.scalar).load)
                    if v.promote:
                        store = _storer("f64.store")
                    elif small_int(p.scalar):
                        store = _storer("i32.store")
                    else:
                        store = _storer(access(p.scalar).store)
                var.append((p.kind, 4 * (nfixed + j), load, store,
                            p.size if p.kind is Kind.INDIRECT else p.offset,
                            vbase + v.offset, vcopies[j]))
        result_store: Callable[[int, Any], None] | None = None
        if lay.result is not None:
            r = lay.result
            assert r.scalar is not None
            if isinstance(r.ctype, CScalar) and small_int(r.scalar):
                kind = r.scalar

                def result_store(rv: int, v: Any, kind: CKind = kind) -> None:
                    put_u32(M, rv, extend(kind, v))
            else:
                st = _storer(access(r.scalar).store)
                roff = r.offset

                def result_store(rv: int, v: Any, st: Storer = st, roff: int = roff) -> None:
                    st(M, rv + roff, v)
        sret = lay.sret
        dest = 4 if ft.result is not None else -1

        def step0(L: list[Any]) -> Any:
            avalue = L[2]
            F = 0
            if frame:
                F = rt.alloca(frame)
                L[3] = F
            args: list[Any] = [L[1]] if sret else []
            for kind, aoff, load, off, copy in fixed:
                if kind is Kind.SCALAR:
                    assert load is not None
                    args.append(load(M, u32(M, avalue + aoff) + off))
                elif kind is Kind.LONGDOUBLE:
                    args.append(_U64.unpack_from(M, u32(M, avalue + aoff) + off)[0])
                    args.append(_U64.unpack_from(M, u32(M, avalue + aoff) + off + 8)[0])
                elif kind is Kind.INDIRECT:
                    dst = (F + copy) & M32
                    copy_bytes(M, dst, u32(M, avalue + aoff), off)
                    args.append(dst)
            if nfixed is not None:
                for kind, aoff, load, store, off, so, copy in var:
                    if kind is Kind.SCALAR:
                        assert load is not None and store is not None
                        store(M, F + so, load(M, u32(M, avalue + aoff) + off))
                    elif kind is Kind.LONGDOUBLE:
                        for half in (0, 8):
                            v = _U64.unpack_from(M, u32(M, avalue + aoff) + off + half)[0]
                            _U64.pack_into(M, F + so + half, v)
                    elif kind is Kind.INDIRECT:
                        dst = (F + copy) & M32
                        copy_bytes(M, dst, u32(M, avalue + aoff), off)
                        put_u32(M, F + so, dst)
                args.append((F + vbase) & M32)
            target = icall(L[0], type_id)
            return (CALL, target, args, dest, 1)

        def step1(L: list[Any]) -> Any:
            if result_store is not None:
                result_store(L[1], L[4])
            if frame:
                rt.sp = (L[3] + frame) & M32
            return _RET0

        return self._fn(f"__irld_ffi_call:{s.key}", HANDLER_TYPE, 2, [step0, step1])

    # ------------------------------------------------------------ closures

    def _impl(self, s: SigPlan) -> Function:
        """The shared implementation `impl(record, params...)`."""
        from linker.interp.machine import CALL, RET
        lay = self.lay.layouts[s.id]
        ft = s.lowered
        n = len(ft.params)
        frame, roff, slots, dslots = impl_frame(lay)
        M = self.m.memory
        rt = self
        icall = self.m.icall
        fun_type = self.m.type_id(FUN_TYPE)
        sig_id = s.id
        base = 1
        iF = n + 1                   # local: the frame pointer
        fixed: list[tuple[Kind, int, Storer | None, int]] = []
        for i, p in enumerate(lay.params):
            store = None
            if p.kind is Kind.SCALAR:
                assert p.scalar is not None
                store = _storer(access(p.scalar).store)
            fixed.append((p.kind, 4 * i, store, slots[i] + p.offset if slots[i] >= 0 else 0))
        set_slot = [slots[i] for i in range(len(lay.params))]
        nfixed = lay.sig.nfixed
        var: list[tuple[Kind, bool, int, int, int]] = []
        if nfixed is not None:
            for j, v in enumerate(lay.var):
                var.append((v.place.kind, v.promote, 4 * (nfixed + j), v.offset, dslots[j]))
        sret = lay.sret
        load_result: Callable[[int], Any] | None = None
        if lay.result is not None:
            r = lay.result
            assert r.scalar is not None
            if isinstance(r.ctype, CScalar) and small_int(r.scalar):
                kind = r.scalar

                def load_result(F: int, kind: CKind = kind) -> Any:
                    return extend(kind, u32(M, F + roff))
            else:
                ld = _loader(access(r.scalar).load)
                off = roff + r.offset

                def load_result(F: int, ld: Loader = ld, off: int = off) -> Any:
                    return ld(M, F + off)

        def step0(L: list[Any]) -> Any:
            R = L[0]
            F = rt.alloca(frame)
            L[iF] = F
            wp = base + 1 if sret else base
            for i, (kind, aoff, store, voff) in enumerate(fixed):
                if kind is Kind.SCALAR:
                    assert store is not None
                    store(M, F + voff, L[wp])
                    put_u32(M, F + aoff, F + set_slot[i])
                    wp += 1
                elif kind is Kind.LONGDOUBLE:
                    _U64.pack_into(M, F + voff, L[wp])
                    _U64.pack_into(M, F + voff + 8, L[wp + 1])
                    wp += 2
                    put_u32(M, F + aoff, F + set_slot[i])
                elif kind is Kind.INDIRECT:
                    put_u32(M, F + aoff, L[wp])
                    wp += 1
                else:
                    put_u32(M, F + aoff, F)
            if nfixed is not None:
                vb = L[wp]
                for kind, promote, aoff, voff, dslot in var:
                    if kind is Kind.INDIRECT:
                        put_u32(M, F + aoff, u32(M, vb + voff))
                    elif promote:
                        d = _F64.unpack_from(M, vb + voff)[0]
                        _F32.pack_into(M, F + dslot, sem.fround(d))
                        put_u32(M, F + aoff, F + dslot)
                    else:
                        put_u32(M, F + aoff, vb + voff)
            if sret:
                ret = L[base]
            else:
                ret = (F + roff) & M32 if roff > 0 else F
            ud = u32(M, R + 8)
            fun = icall(u32(M, R + 4), fun_type)
            return (CALL, fun, [sig_id, ret, F, ud], -1, 1)

        def step1(L: list[Any]) -> Any:
            F = L[iF]
            v = None if load_result is None else load_result(F)
            rt.sp = (F + frame) & M32
            return _RET0 if load_result is None else (RET, v)

        impl_type = FuncType((I32, *ft.params), ft.result)
        return self._fn(f"__irld_closure:{s.key}", impl_type, 2, [step0, step1])

    def _trampoline(self, s: SigPlan, k: int, rec: int) -> Function:
        from linker.interp.machine import CALL, RET
        impl = self.impls[s.id]
        n = len(s.lowered.params)
        has_result = s.lowered.result is not None

        def step0(L: list[Any]) -> Any:
            return (CALL, impl, [rec, *L[:n]], n if has_result else -1, 1)

        def step1(L: list[Any]) -> Any:
            return (RET, L[n]) if has_result else _RET0

        return self._fn(f"__irld_closure:{s.id}.{k}", s.lowered, 1, [step0, step1])

    def _template(self, s: SigPlan) -> Function:
        def step0(L: list[Any]) -> Any:
            raise Trap(sem.UNREACHABLE)
        return self._fn(f"__irld_closure_template:{s.id}", s.lowered, 0, [step0])

    def _grown_slot(self, ft: FuncType, ctx: int) -> Function:
        """A host-made table slot: calls the dispatcher of `ft` with the grown record."""
        from linker.interp.machine import CALL, RET
        group = [s for s in self.lay.closure_sigs if s.lowered == ft]
        impls = [(s.id, self.impls[s.id]) for s in group]
        last = impls[-1][1]
        M = self.m.memory
        n = len(ft.params)
        has_result = ft.result is not None

        def step0(L: list[Any]) -> Any:
            impl = last
            if len(impls) > 1:
                sig = u32(M, ctx)
                for sid, f in impls[:-1]:
                    if sig == sid:
                        impl = f
                        break
            return (CALL, impl, [ctx, *L[:n]], n if has_result else -1, 1)

        def step1(L: list[Any]) -> Any:
            return (RET, L[n]) if has_result else _RET0

        # wasmtime shows the dispatcher's frame, not the host function's
        name = dispatch_export(ft) if len(impls) > 1 else impls[0][1].name
        return self._fn(name, ft, 1, [step0, step1])

    def table_grow(self, template: int, ctx: int) -> int:
        """`irld.closure_table_grow` as `linker.host` does it on wasmtime (0 when growth is off)."""
        if not self.growth:
            return 0
        table = self.m.table
        if template >= len(table):
            return 0
        t = table[template]
        if t is None or not any(s.lowered == t.type for s in self.lay.closure_sigs):
            return 0
        table.append(self._grown_slot(t.type, ctx))
        self.grown_slots += 1
        return len(table) - 1

    def alloc(self, args: list[Any]) -> int:
        """`ffi_closure_alloc(sig, fun, user_data) -> code`."""
        sig, fun, ud = args
        M = self.m.memory
        lay = self.lay
        if (sig - 1) & M32 >= len(self.plan.sigs):
            return 0
        d = ((sig << 4) + lay.area - DESC) & M32
        r = u32(M, d)
        e = (r + (u32(M, d + 4) << 4)) & M32
        while r < e:
            if u32(M, r) == 0:
                self._claim(r, sig, fun, ud)
                return (((r - lay.records) & M32) >> 4) + lay.table_base & M32
            r = (r + RECORD) & M32
        if not self.plan.growth:
            return 0
        r = self.grown
        while r:
            if u32(M, r) == 0 and u32(M, r + 16) == u32(M, d + 8):
                self._claim(r, sig, fun, ud)
                return u32(M, r + 12)
            r = u32(M, r + 20)
        r = self.lo
        if (r + GROWN_RECORD) & M32 > self.sp:
            return 0
        code = self.m.closure_table_grow([u32(M, d + 12), r]) & M32
        if code == 0:
            return 0
        self.lo = (r + GROWN_RECORD) & M32
        put_u32(M, r + 12, code)
        put_u32(M, r + 16, u32(M, d + 8))
        put_u32(M, r + 20, self.grown)
        self.grown = r
        self._claim(r, sig, fun, ud)
        return code

    def _with_moved(self, moved: tuple[Any, ...]) -> Callable[[list[Any]], Any]:
        """`alloc` taking only the arguments LTO left in the calls: the constants it
        moved into the function (`FfiLto.alloc_args`) fill the other places."""
        if not moved:
            return self.alloc
        def alloc(args: list[Any]) -> int:
            it = iter(args)
            full = [next(it) if c is None else
                    (int(c.value) & M32 if isinstance(c, ir.Const)
                     else self.m.symref(c.symbol, c.offset)) for c in moved]
            return self.alloc(full)
        return alloc

    def _claim(self, r: int, sig: int, fun: int, ud: int) -> None:
        M = self.m.memory
        put_u32(M, r, sig)
        put_u32(M, r + 4, fun)
        put_u32(M, r + 8, ud)

    def free(self, args: list[Any]) -> None:
        """`ffi_closure_free(code)`: the record is free and its `fun` cleared."""
        code = args[0]
        M = self.m.memory
        lay = self.lay
        if lay.total_pool:
            r = (code - lay.table_base) & M32
            if r < lay.total_pool:
                r = ((r << 4) + lay.records) & M32
                put_u32(M, r, 0)
                put_u32(M, r + 4, 0)
                return
        if self.plan.growth:
            r = self.grown
            while r:
                if u32(M, r + 12) == code:
                    put_u32(M, r, 0)
                    put_u32(M, r + 4, 0)
                    return
                r = u32(M, r + 20)


def _ret0(L: list[Any]) -> Any:
    return _RET0


_RET0: tuple[int, None] = (1, None)


# ---------------------------------------------------------------- static FFI


def wrap_import(kind: CKind, impl: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    """The adapter in front of a foreign import with an 8/16-bit result."""
    def adapter(args: list[Any]) -> Any:
        return extend(kind, impl(args))
    return adapter


def small_result(sig: CSig) -> CKind | None:
    """The 8/16-bit integer kind of a signature's result (these get an adapter), else None."""
    if isinstance(sig.ret, CScalar) and small_int(sig.ret.kind):
        return sig.ret.kind
    return None
