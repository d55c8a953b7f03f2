"""The whole live program as the LTO passes see it, and its effects log.

`Whole.build(program)` decodes the IR of every live IR function (code from C
objects and functions with a deferred error stay opaque) and gathers the
link-time facts the passes use: every callable symbol's type, the
address-taken functions (their table slots are observable, so they keep
them), the symbols that code and data outside the IR refer to (`pinned`:
roots, exports, ctors, C references, data relocations; never removed), the
live read-only data and the globals.  The one canonicalization done at
build time: FFI signature references (`sig NAME`, module-local names)
become their link-time ids, so a body can move between modules (inlining,
identical code folding) without its module's signature table.

`Whole.finish(program)` returns the program emission works on: the same
records, each live IR function carrying its optimized body, minus the
functions and globals the passes made unreachable; a function no pass
changed (its body equal to the decoded one, neither its type nor a
callee's changed) is marked `as_compiled`, and emission copies its
object's code instead of generating it again.  Passes mutate a
`Whole` (as binaryen's passes mutate a Module); the phase as a whole
returns a new program.
"""

from __future__ import annotations

import attrs

from linker.ffi.plan import FFI_CLOSURE_ALLOC, IRLD_CLOSURE_ALLOC, FfiLto, FfiPlan
from linker.ir import model as ir
from linker.ir.types import FuncType, ValType
from linker.lto import start
from linker.lto.estimate import func_bytes
from linker.lto.walk import func_exprs, map_block, symbols_of
from linker.writer import LiveData, LiveFunc, LiveProgram


# Up to this many live IR functions, the cleanup passes (dce, merge-blocks) also visit
# the bodies no other pass changed; above it, only the changed ones (`Whole.todo`).
THOROUGH_LIMIT = 5000


@attrs.define(slots=True)
class Effect:
    """What LTO did to one entity (the report's per-entity `lto` field)."""

    inlined_into: list[str] = attrs.Factory(list)
    folded_into: str | None = None
    removed: bool = False
    devirtualized: int = 0        # call_indirect sites in it made direct
    self_tail_loops: int = 0      # self tail calls in it made a loop
    constant: bool = False        # a global read as its constant initial value
    dropped_params: list[str] = attrs.Factory(list)  # by dae: constant or never read
    dropped_result: bool = False  # by dae: no call used it
    est_before: int | None = None  # estimated code bytes before and after (linker.lto.estimate)
    est_after: int | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.inlined_into:
            out["inlined_into"] = list(self.inlined_into)
        if self.folded_into is not None:
            out["folded_into"] = self.folded_into
        if self.removed:
            out["removed"] = True
        if self.devirtualized:
            out["devirtualized_calls"] = self.devirtualized
        if self.self_tail_loops:
            out["self_tail_loops"] = self.self_tail_loops
        if self.constant:
            out["constant"] = True
        if self.dropped_params:
            out["dropped_params"] = list(self.dropped_params)
        if self.dropped_result:
            out["dropped_result"] = True
        if self.est_before is not None and self.est_after is not None:
            out["est_bytes_before"] = self.est_before
            out["est_bytes_after"] = self.est_after
            out["est_bytes_saved"] = self.est_before - self.est_after
        return out

    @property
    def summary(self) -> str:
        """One line for `irld top`: what became of the entity."""
        parts = []
        if self.inlined_into:
            parts.append(f"inlined into {', '.join(sorted(set(self.inlined_into)))}")
        if self.folded_into is not None:
            parts.append(f"folded into {self.folded_into}")
        if self.devirtualized:
            parts.append(f"{self.devirtualized} calls devirtualized")
        if self.self_tail_loops:
            parts.append("self tail calls as a loop")
        if self.constant:
            parts.append("constant")
        if self.dropped_params:
            parts.append(f"parameters {', '.join(self.dropped_params)} removed")
        if self.dropped_result:
            parts.append("result removed")
        if self.removed:
            parts.append("removed")
        if self.est_before is not None and self.est_after is not None:
            saved = self.est_before - self.est_after
            if saved:
                parts.append(f"~{saved} B saved" if saved > 0 else f"~{-saved} B larger")
        return "; ".join(parts)


@attrs.define(slots=True)
class Whole:
    funcs: dict[str, ir.Func]                 # live IR functions, link order
    types: dict[str, FuncType]                # every callable symbol
    pinned: set[str]                          # referenced from outside the IR code
    address_taken: set[str]
    readonly: dict[str, LiveData]             # live read-only IR data
    globals: dict[str, tuple[ValType, int | float]]
    effects: dict[str, Effect] = attrs.Factory(dict)
    thorough: bool = True                      # small program: cleanups visit every function
    start: str | None = None                   # `_start` made an IR function (linker.lto.start)
    step: int = 0                              # bumped by every update
    changed_at: dict[str, int] = attrs.Factory(dict)
    last_run: dict[str, int] = attrs.Factory(dict)
    # A linker-generated function's constant arguments `dae` moved out of the calls
    # (`dae.ffi_runtime`): per original parameter the constant, None where kept.
    moved_args: dict[str, tuple[ir.Const | ir.SymRef | None, ...]] = attrs.Factory(dict)
    linker_ffi: frozenset[str] = frozenset()   # FFI runtime functions the linker generates
    _refs: dict[str, tuple[ir.Func, frozenset[str]]] = attrs.Factory(dict)

    def update(self, name: str, new: ir.Func) -> None:
        """Replace a body (a no-op when the pass returned the same object)."""
        if self.funcs.get(name) is new:
            return
        self.step += 1
        self.funcs[name] = new
        self.changed_at[name] = self.step

    def todo(self, pass_name: str, everything: bool = False) -> list[str]:
        """The functions a pass visits: all on its first run (with `everything`), else
        those some pass changed since it last ran.  Bodies nobody changed are the
        compiled ones, already clean; a cleanup pass that skips them keeps the LTO link
        of a 100,000-function program near the cost of code generation."""
        last = self.last_run.get(pass_name)
        self.last_run[pass_name] = self.step
        if last is None and everything:
            return list(self.funcs)
        since = -1 if last is None else last
        return [n for n in self.funcs if self.changed_at.get(n, -2) > since]

    def refs_of(self, name: str) -> frozenset[str]:
        """The symbols function `name` refers to, cached per body."""
        f = self.funcs[name]
        hit = self._refs.get(name)
        if hit is not None and hit[0] is f:
            return hit[1]
        syms = frozenset(symbols_of(f))
        self._refs[name] = (f, syms)
        return syms

    def effect(self, sym: str) -> Effect:
        e = self.effects.get(sym)
        if e is None:
            e = self.effects[sym] = Effect()
        return e

    @classmethod
    def build(cls, prog: LiveProgram, ir_start: bool = False) -> "Whole":
        """The program's live IR; with `ir_start`, `_start` too when it can be IR
        (`linker.lto.start`), and the entry and ctors it calls are no roots of their own."""
        funcs: dict[str, ir.Func] = {}
        types: dict[str, FuncType] = {}
        for sym, _m, _f, ft in prog.imports:
            types[sym] = ft
        for lf in prog.funcs:
            types[lf.symbol] = lf.type
        ir_start = ir_start and start.wanted(prog, types)
        pinned: set[str] = set(prog.ctors) | set(prog.address_taken)
        if ir_start:
            pinned = set(prog.address_taken) | set(prog.ctors).difference(start.called(prog))
        elif prog.entry is not None:
            pinned.add(prog.entry)
        pinned.update(sym for _name, sym in prog.exports)
        for lf in prog.funcs:
            if not lf.rec.obj.has_ir or lf.func.deferred_error is not None:
                pinned.add(lf.symbol)
                pinned.update(sym for sym, _kind in lf.rec.refs)
                continue
            funcs[lf.symbol] = _resolve_sigs(lf.func, lf.sig_ids)
        readonly: dict[str, LiveData] = {}
        for d in prog.datas:
            pinned.update(sym for sym, _kind in d.rec.refs)
            if d.readonly and d.rec.obj.has_ir:
                readonly[d.name] = d
        pinned.update(s for s, _seg, _off in prog.aliases)
        globals_ = {sym: (vt, init) for sym, vt, init in prog.globals}
        if ir_start:
            types.update(start.start_types())
            funcs[start.START] = start.start_func(prog, types)
            pinned.add(start.START)
        return cls(funcs, types, pinned, set(prog.address_taken), readonly, globals_,
                   thorough=len(funcs) <= THOROUGH_LIMIT,
                   start=start.START if ir_start else None,
                   linker_ffi=frozenset() if prog.ffi is None else prog.ffi.linker_funcs)

    def estimate(self, before: dict[str, ir.Func]) -> None:
        """Record the estimated code bytes of every function the passes changed."""
        for name, f in before.items():
            after = self.funcs.get(name)
            if after is f:
                continue
            before_b, after_b = func_bytes(f), 0 if after is None else func_bytes(after)
            if before_b == after_b and name not in self.effects:
                continue
            e = self.effect(name)
            e.est_before, e.est_after = before_b, after_b

    def finish(self, prog: LiveProgram) -> LiveProgram:
        funcs: list[LiveFunc] = []
        retyped = {lf.symbol for lf in prog.funcs
                   if self.types.get(lf.symbol, lf.type) != lf.type}     # by `dae`
        for lf in prog.funcs:
            if lf.rec.obj.has_ir and lf.symbol not in self.funcs and lf.symbol not in self.pinned:
                continue        # made unreachable by the passes
            body = self.funcs.get(lf.symbol)
            if body is None:
                funcs.append(lf)
                continue
            ft = self.types.get(lf.symbol, lf.type)
            same = self._as_compiled(lf, body, retyped)
            funcs.append(attrs.evolve(lf, decoded=lf.decoded if same else body,
                                      as_compiled=same,
                                      retyped=None if ft == lf.type else ft))
        globals_ = [g for g in prog.globals if g[0] in self.globals]
        # The panic pool keeps the texts of the code before the passes (dropped
        # blocks and functions included), so no address moves: a program may
        # observe its data addresses, and LTO must not change what it computes.
        texts = [t for lf in prog.funcs for t in lf.rec.texts]
        return attrs.evolve(prog, funcs=funcs, globals=globals_, panic_texts=texts,
                            start=None if self.start is None else self.funcs[self.start],
                            ffi=None if prog.ffi is None else self._ffi_lto(prog.ffi))

    def _ffi_lto(self, plan: FfiPlan) -> FfiPlan:
        """The FFI plan with what LTO knows (`linker.ffi.plan.FfiLto`)."""
        sig: int | None = None
        moved = self.moved_args.get(FFI_CLOSURE_ALLOC, ())
        args = moved
        if plan.alloc and not moved:
            args = self.constant_args(FFI_CLOSURE_ALLOC, (IRLD_CLOSURE_ALLOC,)) or ()
        first = args[0] if args else None
        if isinstance(first, ir.Const) and first.type is ValType.I32:
            sig = int(first.value)
        return attrs.evolve(plan, lto=FfiLto(alloc_sig=sig, alloc_args=moved))

    def constant_args(self, callee: str, aliases: tuple[str, ...] = ()
                      ) -> tuple[ir.Const | ir.SymRef | None, ...] | None:
        """Per parameter of `callee`, the constant (a number, or an `@sym`: a link-time
        constant) every call passes (None where the calls differ or pass something
        else).  None when some call may be out of
        sight or there is none: `callee` (or another name of it, `aliases`) is
        pinned (called from C code or data, exported, a root), address-taken, or
        named by an `@` in the IR.  One walk of every live IR body."""
        names = {callee, *aliases}
        if names & self.pinned or names & self.address_taken:
            return None
        seen: list[tuple[ir.Expr, ...]] = []
        for f in self.funcs.values():
            if not _calls_into(f, names, seen):
                return None
        if not seen:
            return None
        return tuple(_same_const([args[i] for args in seen if i < len(args)])
                     for i in range(len(seen[0])))

    def _as_compiled(self, lf: LiveFunc, body: ir.Func, retyped: set[str]) -> bool:
        """Whether the object's compiled code of `lf` is still its code
        (`LiveFunc.as_compiled`): its body is the one `build` decoded, and neither
        its type nor any callee's changed.  (A call's code follows the callee's
        type as well as the IR: a call with no destination drops the result only
        when there is one, and `dae` may remove a result its callers never used.)"""
        if lf.symbol in retyped or not _unchanged(body, lf.decoded):
            return False
        return not (retyped and retyped & self.refs_of(lf.symbol))

    def referenced(self) -> set[str]:
        """Every symbol some live IR function refers to."""
        out: set[str] = set()
        for f in self.funcs.values():
            out.update(symbols_of(f))
        return out


def _calls_into(f: ir.Func, names: set[str], out: list[tuple[ir.Expr, ...]]) -> bool:
    """Add the arguments of `f`'s direct calls of `names` to `out`; False when `f`
    takes the address of one (a call through it would be out of sight)."""
    if any(isinstance(e, ir.SymRef) and e.symbol in names for e in func_exprs(f)):
        return False
    for b in f.blocks:
        out.extend(s.args for s in b.stmts if isinstance(s, ir.Call) and s.callee in names)
        if isinstance(b.term, ir.TailCall) and b.term.callee in names:
            out.append(b.term.args)
    return True


def _same_const(args: list[ir.Expr]) -> ir.Const | ir.SymRef | None:
    first = args[0] if args else None
    if not isinstance(first, (ir.Const, ir.SymRef)) or any(a != first for a in args):
        return None
    return first


def _unchanged(body: ir.Func, decoded: ir.Func | None) -> bool:
    """Whether `body` is the decoded one: the very object, or a rebuilt equal copy
    (a cleanup pass that visits every body of a small program rebuilds the ones it
    had nothing to do in; IR equality leaves out the spans, and the copy keeps the
    decoded body's, which its compiled code and line table were made from)."""
    return body is decoded or body == decoded


def _resolve_sigs(f: ir.Func, ids: dict[str, int]) -> ir.Func:
    def fn(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.SigRef) and e.name in ids:
            return ir.Const(ValType.I32, ids[e.name])
        return e
    # Most modules declare no C signature: nothing to resolve, no walk of the body.
    if not ids or not any(_has_sigref(b) for b in f.blocks):
        return f
    return attrs.evolve(f, blocks=tuple(map_block(b, fn) for b in f.blocks))


def _has_sigref(b: ir.BasicBlock) -> bool:
    from linker.lto.walk import stmt_exprs, subexprs, term_exprs
    exprs = [e for s in b.stmts for e in stmt_exprs(s)] + list(term_exprs(b.term))
    return any(isinstance(n, ir.SigRef) for e in exprs for n in subexprs(e))
