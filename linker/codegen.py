"""Code generation: one IR function to a wasm function body.

Each function's CFG goes through the relooper (`relooper.structure`), whose
flat instruction stream maps one to one onto wasm control instructions;
block payloads, conditions and exits are emitted where they stand.
Expressions are emitted in post-order with an explicit stack (wasm's stack
order), so deep expression trees cannot exhaust Python's recursion limit.
Every symbol reference is already resolved to a constant or an index by the
`Resolver` the caller provides.

Evaluation order (the IR's semantics, matched by the interpreter): operands
left to right; a store evaluates its address, then its value; an indirect
call evaluates its arguments, then its target.

Local traffic and structure (what binaryen's simplify-locals, vacuum and
remove-unused-brs do after other code generators; docs/lto.md, "Code
generation"): a value whose local is read next goes straight to that read
on the wasm stack (`plan_stack`), `local.tee` when the local is read again,
and locals left unread get no slot; redundant `br`s, empty blocks and
tail-position returns are dropped from the relooper's stream (`_peephole`,
`_tail_exits`), `if (i32.eqz c)` swaps its arms, and a final `if` whose arms
both exit takes the function's result type.

Tail calls:
* native: `return_call` / `return_call_indirect` (Wasm 3.0);
* trampoline (Asterius's mini-interpreter, for engines without tail calls):
  a tail call stores its arguments in per-type argument globals, stores the
  table index of the callee's *thunk* in the `pending` global and returns a
  dummy value; every call site that may leave a pending tail call runs the
  driver for its result type, a loop that calls the pending thunk (which
  loads the arguments and calls the callee) until nothing is pending.  The
  stack does not grow with the length of a tail-call chain.

Benchmark hook: with the environment variable `IRLD_NAIVE_RELOOPER=1` (read
when this module is imported) every function is structured by
`relooper.structure_naive`, Asterius's one-loop dispatcher, instead of the
relooper, so `benchmarks/run.py` can compare the speed of the two outputs.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable, Mapping, Sequence, Set
from typing import Any, NamedTuple, Protocol, cast

import attrs

from relooper import CFG, structure, structure_naive
from relooper.tree import (DISPATCH, Br, BrIf, BrTable, BlockStart, Code, Else, End, Exit,
                           IfStart, Instr, LoopStart, Node, SetDispatch, instructions)

from linker.checked import Checks
from linker.coalesce import coalesce
# Re-exported: defined apart so the link core can use them without this module.
from linker.conventions import PANIC_SYMBOL as PANIC_SYMBOL
from linker.conventions import SIG_SYMBOL_PREFIX as SIG_SYMBOL_PREFIX
from linker.conventions import TailCallMode as TailCallMode
from linker.tracehooks import TraceHooks
from linker.diagnostics import Span
from linker.ir import model as ir
from linker.ir.types import FuncType, ValType
from linker.wasm.instr import InstrBuilder
from linker.wasm.leb128 import write_uleb
from linker.wasm.reloc import RelocType

_U64, _F64 = struct.Struct("<Q"), struct.Struct("<d")
_U32, _F32 = struct.Struct("<I"), struct.Struct("<f")
# See the module docstring: a benchmark hook choosing Asterius's dispatcher.
_STRUCTURE = structure_naive if os.environ.get("IRLD_NAIVE_RELOOPER") == "1" else structure
_BRANCHING = (ir.Jump, ir.Branch, ir.Switch)


class Resolver(Protocol):
    """What codegen needs to know about the linked program."""

    @property
    def func_types(self) -> Mapping[str, FuncType]: ...
    @property
    def global_types(self) -> Mapping[str, ValType]: ...

    def func_index(self, symbol: str) -> int: ...
    def symref(self, symbol: str, offset: int) -> int: ...
    def global_index(self, symbol: str) -> int: ...
    def type_index(self, ft: FuncType) -> int: ...
    def panic_call(self, function: str, message: str) -> tuple[int, int, int, int, int]:
        """(panic function index, fname ptr, fname len, msg ptr, msg len)."""
        ...


@attrs.define(slots=True)
class Trampoline:
    """Link-wide state of trampoline mode (see the module docstring)."""

    pending_global: int
    arg_globals: dict[ValType, list[int]]
    thunk_slot: Callable[[str], int]            # callee symbol -> table index of its thunk
    indirect_thunk_base: Callable[[FuncType], int]  # type -> base of its thunk region
    driver: Callable[[ValType | None], int]     # result type -> driver function index
    may_tail: Callable[[str], bool]             # does a direct callee leave a pending call?
    any_tail: bool = False                      # may an indirect callee leave one?
    table_base_size: int = 0                    # slots of the real table (before thunk regions)


PADDED_ZERO = b"\x80\x80\x80\x80\x00"       # a relocation site: 0 as a 5-byte LEB
FFI_CALL = "ffi_call"                        # the dynamic FFI's call (linker.ffi.plan)
ENTRY = -1          # a line-table offset: the function's entry, before any code


@attrs.frozen(slots=True)
class RelocSite:
    """A symbolic reference in object-mode code: `offset` is the position of
    its padded LEB in the body (without the locals); `target` is a symbol, or
    a function type for a type index."""

    type: RelocType
    offset: int
    target: str | FuncType
    addend: int = 0


@attrs.define(slots=True)
class Sites:
    """Object mode (`linker.compile`): what symbolic references need to know,
    and the sites of one function as it is generated."""

    functions: frozenset[str]                   # symbols that name functions
    csig_keys: Mapping[str, str]                # module-local csig name -> key
    string: Callable[[str], str]                # panic-pool text -> its data symbol
    sites: list[RelocSite] = attrs.Factory(list)


@attrs.define(slots=True)
class FuncContext:
    resolver: Resolver
    sig_ids: Mapping[str, int]                  # module-local csig name -> link-time id
    mode: TailCallMode = TailCallMode.NATIVE
    trampoline: Trampoline | None = None
    sites: Sites | None = None                  # object mode: relocations, not indices
    # Source locations: (offset in the code, IR span) of each statement, exit
    # and branch condition, in code order; None: not recorded.
    lines: list[tuple[int, Span]] | None = None
    checks: Checks | None = None                # --checked: instrument memory and calls
    trace: TraceHooks | None = None             # --instrument: report entry, exit, tail calls


def compile_function(f: ir.Func, ctx: FuncContext) -> tuple[list[ValType], bytes]:
    """The wasm locals (beyond params) and body bytes of `f`."""
    if ctx.trace is None and ctx.checks is None and f.blocks:
        f = coalesce(f, initial_zeros(f))
    gen = _FuncGen(f, ctx)
    return gen.run()


class _FuncGen:
    def __init__(self, f: ir.Func, ctx: FuncContext) -> None:
        self.f = f
        self.ctx = ctx
        self.r = ctx.resolver
        self.b = InstrBuilder()
        # Index of each IR local for writes (-1: dropped, its writes become
        # `drop`) and for reads (-1: its one read takes the stackified value).
        self.local_index: dict[str, int] = {}
        self.read_index: dict[str, int] = {}
        self.local_types: dict[str, ValType] = {p.name: p.type for p in f.params}
        self.local_types.update((p.name, p.type) for p in f.locals)
        self.locals: list[ValType] = []
        # Stackified statements by block index (see `plan_stack`), and the
        # values waiting for their one read: (value, span), or ON_STACK.
        # By block index: the stackified statements, each with whether its
        # read tees the value into the local.  By local: the stackified values
        # waiting for their read, innermost last (see `stack_stmt`).
        self.plan: dict[int, dict[int, int]] = {}     # _STACK, _TEE or _SKIP
        # (block, statement) of a stackified call -> the constants the next
        # statement evaluates before reading its result: emitted before the
        # call, and skipped (`hoisted`) where they stand.
        self.hoist: dict[tuple[int, int], tuple[ir.Expr, ...]] = {}
        self.hoisted = 0
        self.subst: dict[str, list[_Pending]] = {}
        self.live: list[frozenset[str]] | None = None      # `_live_out`, when first needed
        self.temp: dict[ValType, int] = {}
        self.own: dict[str, int] = {}
        self.lines = ctx.lines
        self.checks = ctx.checks
        self.tracking = self.lines is not None or self.checks is not None
        self.cur_span: Span | None = f.span     # the location code is now generated for
        # Branch conditions are emitted apart from their terminator: their
        # location is the terminator's.
        self.cond_spans: dict[int, Span] = {}
        if self.tracking:
            for blk in f.blocks:
                t = blk.term
                if isinstance(t, (ir.Branch, ir.Switch)) and t.span is not None:
                    self.cond_spans[id(t.cond if isinstance(t, ir.Branch) else t.index)] = t.span

    def mark(self, span: Span | None) -> None:
        """Record that the code from here on comes from `span`."""
        if span is None:
            return
        self.cur_span = span
        lines = self.lines
        if lines is None:
            return
        pos = len(self.b.buf)
        if lines and lines[-1][0] == pos:
            lines[-1] = (pos, span)      # nothing was emitted for the previous one
        else:
            lines.append((pos, span))

    def own_local(self, key: str, t: ValType) -> int:
        """A local reserved for one purpose (`temp_local`'s are shared)."""
        idx = self.own.get(key)
        if idx is None:
            idx = len(self.f.params) + len(self.locals)
            self.locals.append(t)
            self.own[key] = idx
        return idx

    def check_access(self, op: str, offset: int) -> None:
        checks = self.checks
        assert checks is not None
        checks.emit_access(self.b, self.f.name, self.cur_span, op, offset,
                           self.own_local("check_addr", ValType.I32),
                           self.own_local("check_ea", ValType.I64))

    def temp_local(self, t: ValType) -> int:
        idx = self.temp.get(t)
        if idx is None:
            idx = len(self.f.params) + len(self.locals)
            self.locals.append(t)
            self.temp[t] = idx
        return idx

    def run(self) -> tuple[list[ValType], bytes]:
        f = self.f
        if self.lines is not None and f.span is not None:
            # Offset -1: the function's entry (where a stack-overflow trap is).
            self.lines.append((ENTRY, f.span))
        if f.deferred_error is not None:
            self.assign_locals({}, {})
            self.mark(f.span)
            self.emit_panic(f.deferred_error)
            return self.locals, self.b.finish()
        instrs = list(instructions(self.structure()))
        reads = _count_reads(f)
        consumed: dict[str, int] = {}
        if self.ctx.trace is None and self.checks is None:
            consumed = self.plan_stack(instrs, reads)
        dispatch = self.assign_locals(reads, consumed, _uses_dispatch(instrs))
        trace = self.ctx.trace
        if trace is not None:
            self.fid = self.r.func_index(f.name)
            trace.entry(self.b, self.fid, [(i, p.type) for i, p in enumerate(f.params)])
        if f.result is None and trace is None:
            instrs = _silent_dropped(instrs, f)
        instrs = _swap_eqz_ifs(_branch_arms(_peephole(instrs), self.cond_spans),
                               self.cond_spans)
        ends_in_exit = self.emit_tree(instrs, dispatch)
        if f.result is not None and not ends_in_exit:
            # Every path left through an Exit; the end is unreachable but must
            # type-check (after an exit instruction the stack is polymorphic).
            self.b.unreachable()
        return self.locals, self.b.finish()

    def structure(self) -> list[Node]:
        """The relooper's tree of the function's CFG."""
        f = self.f
        tree: list[Node]
        if (len(f.blocks) == 1 and not isinstance(f.blocks[0].term, _BRANCHING)
                and _STRUCTURE is structure):
            # One block ending in an exit (half the functions of typical code):
            # what the relooper would return, without building a graph.
            tree = [Code(0, 0), Exit(f.blocks[0].term)]
        else:
            cfg = CFG()
            label_ids = {b.label: cfg.add_block(i) for i, b in enumerate(f.blocks)}
            for b in f.blocks:
                _set_terminator(cfg, label_ids[b.label], b.term, label_ids)
            tree = _STRUCTURE(cfg)
        return tree

    def assign_locals(self, reads: Mapping[str, int], consumed: Mapping[str, int],
                      dispatch: bool = False) -> int:
        """Number the params and the IR locals still read: a local never read,
        or read only where stackified values go, needs no slot.  Slots are
        grouped by type (in order of first appearance), so the local
        declarations are one run per type however inlining interleaved them;
        the relooper's dispatch variable, when `dispatch`, joins the i32s.
        Returns its slot (-1: none)."""
        f = self.f
        li, ri = self.local_index, self.read_index
        for i, p in enumerate(f.params):
            li[p.name] = ri[p.name] = i
        kept: dict[ValType, list[str | None]] = {}
        for p in f.locals:
            if reads.get(p.name, 0) <= consumed.get(p.name, 0):
                li[p.name] = ri[p.name] = -1
            else:
                kept.setdefault(p.type, []).append(p.name)
        if dispatch:
            kept.setdefault(ValType.I32, []).append(None)
        slot = -1
        base = len(f.params)
        for t, names in kept.items():
            for name in names:
                idx = base + len(self.locals)
                self.locals.append(t)
                if name is None:
                    slot = self.temp[t] = idx
                else:
                    li[name] = ri[name] = idx
        for name in consumed:
            ri[name] = -1
        return slot

    # ------------------------------------------------------------ stackifying

    def plan_stack(self, instrs: Sequence[Instr], reads: Mapping[str, int]) -> dict[str, int]:
        """Choose the statements whose value goes straight to its next read.

        A statement `x = value` (or a call with destination x) is stackified
        when the first read of x after it is in the next thing evaluated: the
        next statement of its block, or the block's terminator when the
        relooper emits that right after the block's code.  A pure value (no
        call in it) is emitted in place of that read, which moves it past what
        the next statement evaluates before the read: allowed only when
        nothing there can trap or touch memory (expressions write nothing, so
        only a trap could tell the order).  A call's result is left on the
        wasm stack, so its read must be the very first thing evaluated, with
        no block opened in between.  When x is read again later, the read
        becomes `local.tee` (binaryen's simplify-locals does the same); when
        it is not (the only read, or the next statement assigns x again, or
        returns), the local may go.  Returns, by local, how many of its reads
        take a value without a tee; a local with no other read gets no slot.
        Found in the IR before any code is emitted, so that dropped locals
        get no slot."""
        follows = _term_follows(self.f, instrs)
        tr = self.ctx.trampoline
        trampoline = self.ctx.mode is TailCallMode.TRAMPOLINE
        consumed: dict[str, int] = {}
        zeroed = initial_zeros(self.f)
        for bi, blk in enumerate(self.f.blocks):
            stmts = blk.stmts
            chosen: dict[int, int] = {}
            skips = zeroed if bi == 0 else frozenset()
            stack_in: set[int] = set()  # statements reading a call's result left on the stack
            # Consumers of the values now on the stack, innermost last: a value
            # pushed under them must be consumed first (last in, first out).
            open_: list[int] = []
            # By consumer: the locals whose call results wait for it on the
            # stack, in push order; consumers whose constants were hoisted.
            under: dict[int, list[str]] = {}
            hoisted: set[int] = set()
            info: list[tuple[frozenset[str], int]] | None = None   # by statement, when needed
            # By consumer: the stackified assignments whose values it reads.  Their
            # values are evaluated where it is, so what they read and may do counts
            # as its own when it is moved in turn.
            producers: dict[int, list[int]] = {}
            pending: set[str] = set()   # locals some stackified assignment wrote
            for k, s in enumerate(stmts):
                while open_ and open_[-1] <= k:
                    open_.pop()
                cls = type(s)
                if k in skips:
                    chosen[k] = _SKIP
                    continue
                if cls is ir.Assign:
                    dest: str | None = cast(ir.Assign, s).local
                    on_stack = k in stack_in
                elif cls is ir.Call or cls is ir.CallIndirect:
                    dest = cast(ir.Call | ir.CallIndirect, s).dest
                    on_stack = True
                    if dest is not None and (
                            self.call_result(s) is None
                            or (tr is not None and (tr.may_tail(cast(ir.Call, s).callee)
                                                    if cls is ir.Call else tr.any_tail))):
                        dest = None     # the trampoline driver needs the value in a local
                else:
                    dest = None
                n = 0 if dest is None else reads.get(dest, 0)
                if n == 0:
                    continue
                assert dest is not None
                if info is None:
                    info = [_value_info(_stmt_exprs(x)) for x in stmts]
                if cls is ir.Assign and k in producers:
                    info[k] = _merged_info(info, k, producers[k])
                c = _consumer(stmts, info, k, dest, cls is not ir.Assign, skips)
                in_place = False
                if c < 0 and cls is ir.Assign:
                    # It cannot move to its read: evaluated where it stands, its
                    # value may wait on the stack as a call's result does.
                    c = _consumer(stmts, info, k, dest, True, skips)
                    in_place = on_stack = True
                if c < 0 or on_stack and open_ and c > open_[-1]:
                    continue
                # A result over results its reader reads first (`a = f(); b = g();
                # h(a + b)`): allowed when those reads come first, in push order.
                below: Sequence[str] = ()
                if on_stack and open_ and c == open_[-1]:
                    if c in hoisted or c not in under:
                        continue
                    below = under[c]
                if c < len(stmts):
                    nxt = stmts[c]
                    exprs = _stmt_exprs(nxt)
                    direct = True
                    # Assigned again by the reader, or by a later statement of the
                    # block before any read: the value is dead after this read.
                    kills = _dest(nxt) == dest or _rewritten(stmts, info, c, dest)
                else:
                    mode = follows.get(bi, 0)
                    if mode == 0:
                        continue
                    exprs = _term_exprs(blk.term, trampoline)
                    direct = mode == 2
                    kills = type(blk.term) in _LEAVING
                where, count = _read_position(exprs, dest, below)
                if below and where != 0:
                    continue
                if where == 1 and not on_stack and (
                        _reads_before(exprs, dest) & info[k][0] & pending):
                    # Moved past a read of a local whose stackified value it is to
                    # read: that read would take the value first.
                    continue
                kills = kills and count == 1
                if (where == 1 and on_stack and direct and c == k + 1 and k not in stack_in
                        and cls is not ir.Assign and not below):
                    # `f(1, 2, x)` after `x = g()`: the constants go before the call.
                    lead = _constant_lead(exprs)
                    if lead and _read_position(exprs[lead:], dest)[0] == 0:
                        self.hoist[(bi, k)] = exprs[:lead]
                        hoisted.add(c)
                        where = 0
                if where == 0 and (direct or not on_stack) or where == 1 and not on_stack:
                    tee = n > 1 and not kills and (
                        count > 1 or self.live_after(bi, c, dest, trampoline))
                    chosen[k] = (_TEE if tee else _STACK) + (_IN_PLACE if in_place else 0)
                    if not tee:
                        consumed[dest] = consumed.get(dest, 0) + 1
                    else:
                        consumed.setdefault(dest, 0)
                    if cls is ir.Assign and c < len(stmts) and not in_place:
                        producers.setdefault(c, []).append(k)
                        pending.add(dest)
                    if on_stack:
                        stack_in.add(c)
                        if not below:
                            open_.append(c)
                        under.setdefault(c, []).append(dest)
            if chosen:
                self.plan[bi] = chosen
        return consumed

    def live_after(self, bi: int, c: int, x: str, trampoline: bool) -> bool:
        """Whether local x may be read after statement c of block bi (c = the
        number of statements: after the terminator) before it is written: a
        value whose next read is its last needs no `local.tee`."""
        blk = self.f.blocks[bi]
        stmts = blk.stmts
        for j in range(c + 1, len(stmts)):
            if x in _value_info(_stmt_exprs(stmts[j]))[0]:
                return True
            if _dest(stmts[j]) == x:
                return False
        if c < len(stmts) and x in _value_info(_term_exprs(blk.term, trampoline))[0]:
            return True
        if self.live is None:
            self.live = _live_out(self.f, trampoline)
        return x in self.live[bi]

    def call_result(self, s: ir.Stmt) -> ValType | None:
        if type(s) is ir.Call:
            return self.callee_result(s.callee, None)
        return cast(ir.CallIndirect, s).type.result

    # ------------------------------------------------------------ control

    def emit_tree(self, instrs: Sequence[Instr], dispatch: int) -> bool:
        """Emit the relooper's instruction stream; whether it ends in an exit
        or a branch (after which the function's end is unreachable)."""
        # Payloads are what `run` put in the CFG: block indices, IR expressions
        # (conditions, switch indexes) and IR terminators (exits).
        b = self.b
        last = len(instrs) - 1
        # A function ending in `if ... exit else ... exit end`, or a loop whose
        # body ends so: the trailing constructs take the function's result
        # type and the returns at their arms' ends fall out of them (`return`
        # left out).
        typed: set[int] = set()
        at_end = {last}
        if self.f.result is not None and self.ctx.trace is None:
            typed, exits = _final_tail(instrs)
            at_end |= exits
        if self.f.result is None:
            at_end = _tail_exits(instrs)
        for pos, ins in enumerate(instrs):
            match ins:
                case Code(payload=i):
                    plan = self.plan.get(cast(int, i))
                    if plan is None:
                        for s in self.f.blocks[cast(int, i)].stmts:
                            self.emit_stmt(s)
                    else:
                        for k, s in enumerate(self.f.blocks[cast(int, i)].stmts):
                            act = plan.get(k)
                            if act is None:
                                self.emit_stmt(s)
                            elif act != _SKIP:
                                self.stack_stmt(s, act & _TEE != 0,
                                                self.hoist.get((cast(int, i), k), ()),
                                                act & _IN_PLACE != 0)
                case BlockStart():
                    b.block()
                case LoopStart():
                    b.loop(self.f.result if pos in typed else None)
                case IfStart(cond=c):
                    self.mark(self.cond_spans.get(id(c)))
                    self.emit_expr(cast(ir.Expr, c))
                    b.if_(self.f.result if pos in typed else None)
                case Else():
                    b.else_()
                case End():
                    b.end()
                case Br(depth=d):
                    b.br(d)
                case BrIf(cond=c, depth=d):
                    self.mark(self.cond_spans.get(id(c)))
                    self.emit_expr(cast(ir.Expr, c))
                    b.br_if(d)
                case BrTable(index=x, depths=ds, default=dflt):
                    if x is DISPATCH:
                        b.local_get(dispatch)
                    else:
                        self.mark(self.cond_spans.get(id(x)))
                        self.emit_expr(cast(ir.Expr, x))
                    b.br_table(ds, dflt)
                case SetDispatch(value=v):
                    b.i32_const(v)
                    b.local_set(dispatch)
                case Exit(payload=t):
                    # A return at the very end: the function's end returns.
                    self.emit_exit(cast(ir.Terminator, t), pos in at_end and (
                        b.depth == 0 or typed or self.f.result is None)
                        and self.ctx.trace is None)
        return bool(typed) or last >= 0 and type(instrs[last]) in (Exit, Br, BrTable)

    def emit_exit(self, t: ir.Terminator, at_end: bool = False) -> None:
        b = self.b
        if self.tracking:
            self.mark(t.span)
        match t:
            case ir.Return(value=v):
                if v is not None:
                    self.emit_expr(v)
                trace = self.ctx.trace
                if trace is not None:
                    res = self.f.result
                    trace.exit(b, self.fid, res, -1 if res is None else self.temp_local(res))
                if not at_end:
                    b.return_()
            case ir.Unreachable():
                b.unreachable()
            case ir.Panic(message=m, function=fn):
                self.emit_panic(m, fn)
            case ir.TailCall(callee=c, args=args):
                self.emit_tail_call(c, args)
            case ir.TailCallIndirect(type=ty, target=tg, args=args):
                self.emit_tail_call_indirect(ty, tg, args)
            case _:
                raise TypeError(f"not an exit terminator: {t!r}")

    def emit_panic(self, message: str, function: str | None = None) -> None:
        """`panic in <function>: <message>`; the function holding it unless LTO
        inlined the panic from another (`ir.Panic.function`)."""
        name = self.f.name if function is None else function
        sites = self.ctx.sites
        if sites is not None:
            # Object mode: the two strings are data symbols of the object's panic
            # pool, the panic function a symbol the linker defines.
            for text in (name, message):
                self.site(RelocType.MEMORY_ADDR_SLEB, 0x41, sites.string(text))
                self.b.i32_const(len(text.encode()))
            self.site(RelocType.FUNCTION_INDEX_LEB, 0x10, PANIC_SYMBOL)
            self.b.unreachable()
            return
        fidx, fptr, flen, mptr, mlen = self.r.panic_call(name, message)
        for v in (fptr, flen, mptr, mlen):
            self.b.i32_const(v)
        self.b.call(fidx)
        self.b.unreachable()

    # ------------------------------------------------------------ symbolic references

    def site(self, rtype: RelocType, opcode: int, target: str | FuncType, addend: int = 0) -> None:
        """Object mode: `opcode` and a padded 5-byte LEB the linker patches."""
        sites = self.ctx.sites
        assert sites is not None
        buf = self.b.buf
        buf.append(opcode)
        sites.sites.append(RelocSite(rtype, len(buf), target, addend))
        buf += PADDED_ZERO

    def call_op(self, opcode: int, callee: str) -> None:
        """`call` (0x10) or `return_call` (0x12) of a symbol."""
        if self.ctx.sites is not None:
            self.site(RelocType.FUNCTION_INDEX_LEB, opcode, callee)
            return
        self.b.buf.append(opcode)
        write_uleb(self.b.buf, self.r.func_index(callee))

    def call_indirect_op(self, opcode: int, ty: FuncType) -> None:
        """`call_indirect` (0x11) or `return_call_indirect` (0x13) through table 0."""
        if self.ctx.sites is not None:
            self.site(RelocType.TYPE_INDEX_LEB, opcode, ty)
        else:
            self.b.buf.append(opcode)
            write_uleb(self.b.buf, self.r.type_index(ty))
        self.b.buf.append(0)

    def global_op(self, opcode: int, name: str) -> None:
        """`global.get` (0x23) or `global.set` (0x24) of a symbol."""
        if self.ctx.sites is not None:
            self.site(RelocType.GLOBAL_INDEX_LEB, opcode, name)
            return
        self.b.buf.append(opcode)
        write_uleb(self.b.buf, self.r.global_index(name))

    def symref(self, symbol: str, offset: int) -> None:
        """`@symbol+offset`: a data address, or a function's table index."""
        sites = self.ctx.sites
        if sites is None:
            self.b.i32_const(self.r.symref(symbol, offset))
            return
        if symbol not in sites.functions:
            self.site(RelocType.MEMORY_ADDR_SLEB, 0x41, symbol, offset)
            return
        # Table-index relocations carry no addend (Linking.md).
        self.site(RelocType.TABLE_INDEX_SLEB, 0x41, symbol)
        if offset:
            self.b.i32_const(offset)
            self.b.op("i32.add")

    def sigref(self, name: str) -> None:
        """An FFI signature's link-time id: an absolute symbol the linker defines."""
        sites = self.ctx.sites
        if sites is None:
            self.b.i32_const(self.ctx.sig_ids[name])
            return
        self.site(RelocType.MEMORY_ADDR_SLEB, 0x41, SIG_SYMBOL_PREFIX + sites.csig_keys[name])

    # ------------------------------------------------------------ tail calls

    def emit_tail_call(self, callee: str, args: Sequence[ir.Expr]) -> None:
        if self.ctx.trace is not None:
            self.ctx.trace.tail(self.b)
        skip = self.take_hoisted()
        for a in args[skip:]:
            self.emit_expr(a)
        if self.ctx.mode is TailCallMode.NATIVE:
            self.call_op(0x12, callee)
            return
        tr = self.ctx.trampoline
        assert tr is not None
        self.store_tail_args(args)
        self.b.i32_const(tr.thunk_slot(callee))
        self.b.global_set(tr.pending_global)
        self.return_dummy()

    def emit_tail_call_indirect(self, ty: FuncType, target: ir.Expr,
                                args: Sequence[ir.Expr]) -> None:
        if self.ctx.trace is not None:
            self.ctx.trace.tail(self.b)
        skip = self.take_hoisted()
        for a in args[skip:]:
            self.emit_expr(a)
        if self.ctx.mode is TailCallMode.NATIVE:
            self.emit_expr(target)
            if self.checks is not None:
                self.checks.emit_call(self.b, self.f.name, self.cur_span)
            self.call_indirect_op(0x13, ty)
            return
        tr = self.ctx.trampoline
        assert tr is not None
        self.store_tail_args(args)
        # The thunk region for this type mirrors the table: slot base + index.  An
        # index past the real table must not land in another type's region: it
        # calls through index 0xFFFFFFFF, past the end of any table, so it traps
        # with the same out-of-bounds table access a native call would.
        tmp = self.temp_local(ValType.I32)
        self.emit_expr(target)
        if self.checks is not None:
            self.checks.emit_call(self.b, self.f.name, self.cur_span)
        self.b.local_tee(tmp)
        self.b.i32_const(tr.table_base_size)
        self.b.op("i32.ge_u")
        self.b.if_()
        self.b.i32_const(-1)
        self.b.call_indirect(self.r.type_index(FuncType()))
        self.b.unreachable()
        self.b.end()
        self.b.local_get(tmp)
        self.b.i32_const(tr.indirect_thunk_base(ty))
        self.b.op("i32.add")
        self.b.global_set(tr.pending_global)
        self.return_dummy()

    def store_tail_args(self, args: Sequence[ir.Expr]) -> None:
        tr = self.ctx.trampoline
        assert tr is not None
        types = [self.expr_type(a) for a in args]
        # Values are on the stack in order; pop them last-first into the globals.
        used: dict[ValType, int] = {}
        slots = []
        for t in types:
            k = used.get(t, 0)
            used[t] = k + 1
            slots.append(tr.arg_globals[t][k])
        for g in reversed(slots):
            self.b.global_set(g)

    def return_dummy(self) -> None:
        t = self.f.result
        if t is ValType.I32:
            self.b.i32_const(0)
        elif t is ValType.I64:
            self.b.i64_const(0)
        elif t is ValType.F32:
            self.b.f32_const(0.0)
        elif t is ValType.F64:
            self.b.f64_const(0.0)
        self.b.return_()

    def finish_call(self, dest: str | None, result: ValType | None, may_tail: bool,
                    keep: bool = False) -> None:
        """After a call: run the trampoline driver if needed, then store or drop
        the result (`keep`: leave it on the stack for its stackified read)."""
        b = self.b
        tr = self.ctx.trampoline
        if self.ctx.mode is TailCallMode.TRAMPOLINE and may_tail and tr is not None:
            if result is None:
                b.global_get(tr.pending_global)
                b.if_()
                b.call(tr.driver(None))
                b.end()
                return
            tmp = self.local_index[dest] if dest is not None else -1
            if tmp < 0:
                tmp = self.temp_local(result)
            b.local_set(tmp)
            b.global_get(tr.pending_global)
            b.if_()
            b.call(tr.driver(result))
            b.local_set(tmp)
            b.end()
            return
        if result is None or keep:
            return
        idx = -1 if dest is None else self.local_index[dest]
        if idx < 0:
            b.drop()
        else:
            b.local_set(idx)

    # ------------------------------------------------------------ statements

    def take_hoisted(self) -> int:
        """How many leading expressions of this statement were emitted
        already (`hoist`).  It resets the count: call it into a variable, never
        inside a slice (mypyc evaluates `args[self.take_hoisted():]` twice on a
        `Sequence`, and the second call answers 0)."""
        n = self.hoisted
        self.hoisted = 0
        return n

    def stack_stmt(self, s: ir.Stmt, tee: bool, hoist: Sequence[ir.Expr] = (),
                   in_place: bool = False) -> None:
        """A stackified statement (`plan_stack`): an assignment's value waits
        for its read (`in_place`: is evaluated here and left on the stack); a
        call runs here and leaves its result on the stack.

        Pending values of one local form a stack: when a stackified value
        itself reads the local (`x = f(); x = x - 1; g(x)`), its own read is
        the older entry, found after the newer one is taken."""
        if type(s) is ir.Assign and in_place:
            if self.tracking:
                self.mark(s.span)
            self.emit_expr(s.value)
            if tee:
                self.b.local_tee(self.local_index[s.local])
            self.subst.setdefault(s.local, []).append(_Pending(None, None, -1))
            return
        if type(s) is ir.Assign:
            entry = _Pending(s.value, s.span, self.local_index[s.local] if tee else -1)
            self.subst.setdefault(s.local, []).append(entry)
            return
        dest = cast(ir.Call | ir.CallIndirect, s).dest
        assert dest is not None
        for e in hoist:
            self.emit_expr(e)
        self.emit_stmt(s, keep=True)
        if tee:
            self.b.local_tee(self.local_index[dest])
        self.hoisted = len(hoist)
        self.subst.setdefault(dest, []).append(_Pending(None, None, -1))

    def emit_stmt(self, s: ir.Stmt, keep: bool = False) -> None:
        b = self.b
        if self.tracking:
            self.mark(s.span)
        # Fast paths for the two commonest statements (no `match` dispatch).
        if isinstance(s, ir.Assign):
            self.emit_expr(s.value)
            idx = self.local_index[s.local]
            if idx < 0:
                b.drop()        # never read: no local (the value may still trap)
            else:
                b.local_set(idx)
            return
        if isinstance(s, ir.Store):
            if self.hoisted:
                self.hoisted = 0        # the address is on the stack already
            else:
                self.emit_expr(s.addr)
            if self.checks is not None:
                self.check_access(s.op, s.offset)
            self.emit_expr(s.value)
            b.op(s.op, s.offset)
            return
        match s:
            case ir.Call(dest=d, callee=c, args=args):
                trace = self.ctx.trace
                ffi = trace is not None and c == FFI_CALL and len(args) == 4
                if ffi:
                    self.trace_ffi("ffi_call", args)
                skip = self.take_hoisted()
                for a in args[skip:]:
                    self.emit_expr(a)
                self.call_op(0x10, c)
                if ffi:
                    self.trace_ffi("ffi_return", (args[0], args[2]))
                tr = self.ctx.trampoline
                self.finish_call(d, self.callee_result(c, d), tr is not None and tr.may_tail(c),
                                 keep)
            case ir.CallIndirect(dest=d, type=ty, target=tg, args=args):
                skip = self.take_hoisted()
                for a in args[skip:]:
                    self.emit_expr(a)
                self.emit_expr(tg)
                if self.checks is not None:
                    self.checks.emit_call(b, self.f.name, self.cur_span)
                self.call_indirect_op(0x11, ty)
                tr = self.ctx.trampoline
                self.finish_call(d, ty.result, tr is not None and tr.any_tail, keep)
            case ir.GlobalSet(name=n, value=v):
                self.emit_expr(v)
                self.global_op(0x24, n)

    def trace_ffi(self, which: str, args: Sequence[ir.Expr]) -> None:
        trace = self.ctx.trace
        assert trace is not None
        for a in args:
            self.emit_expr(a)
        trace.ffi(self.b, which)

    def callee_result(self, callee: str, dest: str | None) -> ValType | None:
        return self.callee_types[callee].result if callee in self.callee_types else None

    @property
    def callee_types(self) -> Mapping[str, FuncType]:
        return self.ctx.resolver.func_types

    # ------------------------------------------------------------ expressions

    def emit_expr(self, e: ir.Expr) -> None:
        # The hottest loop of a link: dispatch on the exact class (IR node
        # classes are final) rather than `match`, and keep pending operators on
        # the same stack as plain markers: an op name (str) or a load's
        # (op, offset) tuple is emitted when popped, after its operands.
        b = self.b
        li = self.read_index
        # Any: nodes, op names and (op, offset) markers share the stack.
        stack: list[Any] = [e]
        pop, push = stack.pop, stack.append
        while stack:
            node = pop()
            cls = type(node)
            if cls is ir.LocalGet:
                idx = li[node.name]
                if idx >= 0:
                    b.local_get(idx)
                    continue
                # A stackified local: a read with a value waiting takes it
                # (a call's result is already on the stack); others read the local.
                waiting = self.subst.get(node.name)
                if not waiting:
                    b.local_get(self.local_index[node.name])
                    continue
                value, span, tee = waiting.pop()
                if value is not None:
                    if self.tracking and span is not None:
                        push(_Restore(self.cur_span))
                        self.mark(span)
                    if tee >= 0:
                        push(tee)
                    push(value)
            elif cls is ir.OpExpr:
                args = node.args
                push(node.op)
                if len(args) == 2:
                    push(args[1])
                    push(args[0])
                else:
                    stack.extend(reversed(args))
            elif cls is str:
                b.op(node)
            elif cls is ir.Const:
                if node.type is ValType.I32:
                    b.i32_const(int(node.value))
                else:
                    _emit_const(b, node.type, node.value)
            elif cls is ir.Load:
                push((node.op, node.offset))
                push(node.addr)
            elif cls is tuple:
                if self.checks is not None:
                    self.check_access(node[0], node[1])
                b.op(*node)
            elif cls is ir.SymRef:
                self.symref(node.symbol, node.offset)
            elif cls is ir.GlobalGet:
                self.global_op(0x23, node.name)
            elif cls is ir.SigRef:
                self.sigref(node.name)
            elif cls is int:
                b.local_tee(node)       # after a stackified value read again later
            elif cls is _Restore:
                self.mark(node.span)
            else:
                raise TypeError(f"not an expression: {node!r}")

    def expr_type(self, e: ir.Expr) -> ValType:
        from linker.ir.ops import OPS_BY_NAME
        match e:
            case ir.Const(type=t):
                return t
            case ir.LocalGet(name=n):
                return self.local_types[n]
            case ir.OpExpr(op=op) | ir.Load(op=op):
                result = OPS_BY_NAME[op].result
                assert result is not None
                return result
            case ir.GlobalGet(name=n):
                return self.ctx.resolver.global_types[n]
            case ir.SymRef() | ir.SigRef():
                return ValType.I32
        raise TypeError(e)


# ---------------------------------------------------------------- stackifying

class _Pending(NamedTuple):
    """A stackified value waiting for its read: None when a call left it on
    the stack; `tee` the local to keep it in too (-1: none)."""

    value: ir.Expr | None
    span: Span | None
    tee: int


# What `plan_stack` does with a statement: stackify it, stackify it and tee
# the value into its local, or leave it out (a local set to the zero it
# starts with).
_STACK, _TEE, _SKIP = 0, 1, 2
_IN_PLACE = 4       # added to _STACK or _TEE: an assignment evaluated where it stands


def initial_zeros(f: ir.Func) -> set[int]:
    """Statements of the entry block that set a local to zero before anything
    else sets it (locals start at zero: docs/ir.md), when no jump leads back
    to the entry."""
    if not any(type(s) is ir.Assign and type(s.value) is ir.Const for s in f.blocks[0].stmts):
        return set()
    entry = f.blocks[0].label
    for blk in f.blocks:
        t = blk.term
        cls = type(t)
        if (cls is ir.Jump and cast(ir.Jump, t).target == entry
                or cls is ir.Branch and entry in (cast(ir.Branch, t).then, cast(ir.Branch, t).else_)
                or cls is ir.Switch and (entry in cast(ir.Switch, t).targets
                                         or cast(ir.Switch, t).default == entry)):
            return set()
    local_names = {p.name for p in f.locals}
    written: set[str] = set()
    out: set[int] = set()
    for k, s in enumerate(f.blocks[0].stmts):
        d = _dest(s)
        if d is None:
            continue
        if type(s) is ir.Assign and d in local_names and d not in written:
            v = s.value
            if type(v) is ir.Const and _is_zero(v):
                out.add(k)
        written.add(d)
    return out


def _is_zero(c: ir.Const) -> bool:
    """The zero a local starts with (+0.0 for floats: -0.0 differs)."""
    v = c.value
    if isinstance(v, float):
        return v == 0.0 and math.copysign(1.0, v) > 0
    return v == 0


# Terminators after which no local is read again.
_LEAVING = (ir.Return, ir.TailCall, ir.TailCallIndirect)


_dest = ir.stmt_dest     # the local a statement writes (`linker.ir.model` owns it)


@attrs.frozen(slots=True)
class _Restore:
    """emit_expr's marker after a stackified value: the code from here on
    comes from the reading statement again."""

    span: Span | None


# Ops that may trap, or read or change the memory's size: a stackified value
# is never moved past one (loads too).  f32/f64 division does not trap.
_BARRIERS = frozenset(
    ["memory.size", "memory.grow"]
    + [f"{t}.{op}_{s}" for t in ("i32", "i64") for op in ("div", "rem") for s in "su"]
    + [f"{t}.trunc_{f}_{s}" for t in ("i32", "i64") for f in ("f32", "f64") for s in "su"])
_BARRIER = object()     # _read_position's marker: a barrier op completes here
_APPLIED = object()     # _read_position's marker: an op completes here


def _stmt_exprs(s: Any) -> tuple[ir.Expr, ...]:
    """The expressions a statement (an `ir.Stmt`) evaluates, in evaluation order."""
    cls = type(s)
    if cls is ir.Assign:
        return (s.value,)
    if cls is ir.Store:
        return (s.addr, s.value)
    if cls is ir.Call:
        args: tuple[ir.Expr, ...] = s.args
        return args
    if cls is ir.CallIndirect:
        return s.args + (s.target,)     # type: ignore[no-any-return]
    return (s.value,)


def _term_exprs(t: Any, trampoline: bool) -> tuple[ir.Expr, ...]:
    """The expressions a terminator (an `ir.Terminator`) evaluates, in order
    (in trampoline mode an indirect tail call stores its arguments in globals
    before its target: the target is left out)."""
    cls = type(t)
    if cls is ir.Branch:
        return (t.cond,)
    if cls is ir.Return:
        return () if t.value is None else (t.value,)
    if cls is ir.TailCall:
        args: tuple[ir.Expr, ...] = t.args
        return args
    if cls is ir.Switch:
        return (t.index,)
    if cls is ir.TailCallIndirect:
        return t.args if trampoline else t.args + (t.target,)   # type: ignore[no-any-return]
    return ()


# How many statements a value may be moved past (bounds the work).
_SINK_LIMIT = 8


def _consumer(stmts: Sequence[ir.Stmt], info: list[tuple[frozenset[str], int]], k: int,
              dest: str, in_place: bool, skips: Set[int]) -> int:
    """The statement after `k` (len(stmts): the terminator) where `dest`,
    just written by statement k, is read first, if the value may go there
    over the statements in between; -1 if not.  `info`: each statement's
    `_value_info`.

    A call's result (`in_place`: the call runs where it stands) stays on the
    stack under statements that neither read nor write `dest`: each leaves
    the stack as it found it, and nothing changes order.  An assigned value,
    moved to its read, passes only assignments that write neither `dest` nor
    a local the value reads, and whose value cannot trap where the moved one
    could trap otherwise (two loads may swap: either way the same trap)."""
    n = len(stmts)
    reads, traps = info[k]
    for j in range(k + 1, min(n, k + 1 + _SINK_LIMIT)):
        other_reads, other = info[j]
        if dest in other_reads:
            return j
        if j in skips:
            continue
        s = stmts[j]
        if _dest(s) == dest:
            return -1
        if in_place:
            continue
        if type(s) is not ir.Assign or s.local in reads:
            return -1
        if traps == _T_MEMSIZE or other == _T_MEMSIZE or (
                traps and other and not (traps == other == _T_LOAD)):
            return -1
    return n if n - (k + 1) <= _SINK_LIMIT else -1


# What may happen when an expression is evaluated (`_value_info`): nothing
# but a result; a load's out-of-bounds trap; an arithmetic trap; memory.size
# or memory.grow.
_T_NONE, _T_LOAD, _T_ARITH, _T_MEMSIZE = 0, 1, 2, 3


def _rewritten(stmts: Sequence[ir.Stmt], info: Sequence[tuple[frozenset[str], int]],
               c: int, local: str) -> bool:
    """Whether a statement after `stmts[c]` in the block assigns `local` before
    anything reads it (a statement reads its operands before it assigns)."""
    for k in range(c + 1, len(stmts)):
        if local in info[k][0]:
            return False
        if _dest(stmts[k]) == local:
            return True
    return False


def _value_info(exprs: Sequence[ir.Expr]) -> tuple[frozenset[str], int]:
    """The locals the expressions read, and the worst thing their evaluation
    may do (the _T_* ranks)."""
    reads: set[str] = set()
    worst = _T_NONE
    stack: list[Any] = list(exprs)
    pop, push, extend = stack.pop, stack.append, stack.extend
    OpExpr, LocalGet, Load = ir.OpExpr, ir.LocalGet, ir.Load
    while stack:
        x = pop()
        cls = type(x)
        if cls is OpExpr:
            op = x.op
            if op in _BARRIERS:
                worst = max(worst, _T_MEMSIZE if op.startswith("memory.") else _T_ARITH)
            extend(x.args)
        elif cls is LocalGet:
            reads.add(x.name)
        elif cls is Load:
            worst = max(worst, _T_LOAD)
            push(x.addr)
    return frozenset(reads), worst


def _live_out(f: ir.Func, trampoline: bool) -> list[frozenset[str]]:
    """By block index: the locals that may be read after the block before
    being written (backward liveness, iterated over the CFG to a fixpoint)."""
    index = {b.label: i for i, b in enumerate(f.blocks)}
    n = len(f.blocks)
    use: list[frozenset[str]] = []
    defs: list[frozenset[str]] = []
    succ: list[tuple[int, ...]] = []
    preds: list[list[int]] = [[] for _ in range(n)]
    for i, b in enumerate(f.blocks):
        live = set(_value_info(_term_exprs(b.term, trampoline))[0])
        written: set[str] = set()
        for s in reversed(b.stmts):
            d = _dest(s)
            if d is not None:
                live.discard(d)
                written.add(d)
            live |= _value_info(_stmt_exprs(s))[0]
        use.append(frozenset(live))
        defs.append(frozenset(written))
        t = b.term
        targets = ((t.target,) if type(t) is ir.Jump else
                   (t.then, t.else_) if type(t) is ir.Branch else
                   (*t.targets, t.default) if type(t) is ir.Switch else ())
        succ.append(tuple(index[x] for x in targets))
        for x in succ[-1]:
            preds[x].append(i)
    live_in = list(use)
    out: list[frozenset[str]] = [frozenset()] * n
    work = list(range(n))
    queued = set(work)
    while work:
        i = work.pop()
        queued.discard(i)
        lo = frozenset().union(*(live_in[x] for x in succ[i]))
        out[i] = lo
        li = use[i] | (lo - defs[i])
        if li != live_in[i]:
            live_in[i] = li
            for p in preds[i]:
                if p not in queued:
                    queued.add(p)
                    work.append(p)
    return out


def _merged_info(info: Sequence[tuple[frozenset[str], int]], k: int,
                 producers: Sequence[int]) -> tuple[frozenset[str], int]:
    """Statement k's reads and worst effect with those of the stackified values
    it reads (evaluated where k's value is)."""
    reads, worst = info[k]
    for p in producers:
        reads |= info[p][0]
        worst = max(worst, info[p][1])
    return reads, worst


def _reads_before(exprs: Sequence[ir.Expr], name: str) -> set[str]:
    """The locals evaluation of `exprs` reads before it first reads `name`."""
    out: set[str] = set()
    stack: list[Any] = list(reversed(exprs))
    while stack:
        node = stack.pop()
        cls = type(node)
        if cls is ir.LocalGet:
            if node.name == name:
                break
            out.add(node.name)
        elif cls is ir.OpExpr:
            stack.extend(reversed(node.args))
        elif cls is ir.Load:
            stack.append(node.addr)
    return out


def _constant_lead(exprs: Sequence[ir.Expr]) -> int:
    """How many of `exprs` are, from the first, constants (nothing to
    evaluate: they may be emitted earlier)."""
    n = 0
    for e in exprs:
        if type(e) not in (ir.Const, ir.SymRef, ir.SigRef):
            break
        n += 1
    return n


def _count_reads(f: ir.Func) -> dict[str, int]:
    """How many times each local is read in the function's code."""
    reads: dict[str, int] = {}
    get = reads.get
    # Any: IR nodes of every kind, dispatched on their exact class (no casts in
    # this loop: it walks every expression of every function once).
    stack: list[Any] = []
    extend = stack.extend
    for blk in f.blocks:
        for s in blk.stmts:
            extend(_stmt_exprs(s))
        extend(_term_exprs(blk.term, False))
    pop, push = stack.pop, stack.append
    OpExpr, LocalGet, Load = ir.OpExpr, ir.LocalGet, ir.Load
    while stack:
        e = pop()
        cls = type(e)
        if cls is OpExpr:
            extend(e.args)
        elif cls is LocalGet:
            n = e.name
            reads[n] = get(n, 0) + 1
        elif cls is Load:
            push(e.addr)
    return reads


def _read_position(exprs: Sequence[ir.Expr], name: str,
                   below: Sequence[str] = ()) -> tuple[int, int]:
    """Where the evaluation of `exprs` first reads local `name` (0: first of
    all, 1: after other things none of which may trap or touch memory, -1:
    later than that or never), and how many times it reads it.  `below`:
    locals whose values wait on the stack under this one; their first reads,
    in that order, may come before `name`'s and still count as nothing."""
    stack: list[Any] = list(reversed(exprs))
    pop, push = stack.pop, stack.append
    first, where, count = True, -1, 0
    barrier = False
    nb, seen = len(below), 0
    while stack:
        node = pop()
        cls = type(node)
        if cls is ir.LocalGet:
            if node.name == name:
                if count == 0 and not barrier:
                    where = 0 if first and seen == nb else 1
                count += 1
            elif first and seen < nb and node.name == below[seen]:
                seen += 1
                continue
        elif cls is ir.OpExpr:
            if node.op in _BARRIERS:
                push(_BARRIER)
            elif nb:
                push(_APPLIED)      # the op runs on the values below: not first then
            stack.extend(reversed(node.args))
            continue
        elif cls is ir.Load:
            push(_BARRIER)
            push(node.addr)
            continue
        elif node is _BARRIER:
            barrier = True
        first = False
    return where, count


def _term_follows(f: ir.Func, instrs: Sequence[Instr]) -> dict[int, int]:
    """For each block whose terminator the relooper emits right after the
    block's code: 2 when nothing comes in between, 1 when only `block`
    starts do (no code, but a value left on the stack would be out of
    reach)."""
    out: dict[int, int] = {}
    n = len(instrs)
    for k, ins in enumerate(instrs):
        if type(ins) is not Code:
            continue
        bi = cast(int, ins.payload)
        t = f.blocks[bi].term
        j = k + 1
        while j < n and type(instrs[j]) is BlockStart:
            j += 1
        nxt = instrs[j] if j < n else None
        cls = type(nxt)
        if cls is IfStart or cls is BrIf:
            ok = type(t) is ir.Branch and cast(IfStart | BrIf, nxt).cond is t.cond
        elif cls is BrTable:
            ok = type(t) is ir.Switch and cast(BrTable, nxt).index is t.index
        elif cls is Exit:
            ok = cast(Exit, nxt).payload is t
        else:
            ok = False
        mode = (2 if j == k + 1 else 1) if ok else 0
        out[bi] = min(out.get(bi, mode), mode)
    return out


def _swap_eqz_ifs(instrs: list[Instr], cond_spans: dict[int, Span]) -> list[Instr]:
    """`if (i32.eqz c) A else B end` -> `if c B else A end` (one op less).
    Rebuilt with a work stack of index ranges (trees may be 10,000 deep)."""
    n = len(instrs)
    if not any(type(i) is IfStart and _is_eqz(i.cond) for i in instrs):
        return instrs
    match_else: dict[int, int] = {}
    match_end: dict[int, int] = {}
    opened: list[int] = []
    for i, ins in enumerate(instrs):
        cls = type(ins)
        if cls is BlockStart or cls is LoopStart or cls is IfStart:
            opened.append(i)
        elif cls is Else:
            match_else[opened[-1]] = i
        elif cls is End:
            match_end[opened.pop()] = i
    out: list[Instr] = []
    work: list[tuple[int, int] | Instr] = [(0, n)]
    while work:
        item = work.pop()
        if not isinstance(item, tuple):
            out.append(item)
            continue
        a, z = item
        for i in range(a, z):
            ins = instrs[i]
            if type(ins) is IfStart and i in match_else and _is_eqz(ins.cond):
                inner = cast(ir.OpExpr, ins.cond).args[0]
                span = cond_spans.get(id(ins.cond))
                if span is not None:
                    cond_spans[id(inner)] = span
                out.append(IfStart(inner))
                e, end = match_else[i], match_end[i]
                work += [(end + 1, z), instrs[end], (i + 1, e), instrs[e], (e + 1, end)]
                break
            out.append(ins)
    return out


# Integer comparisons and their negations (float ones are not: NaN).
_NEGATED = {f"{t}.{a}": f"{t}.{b}" for t in ("i32", "i64") for a, b in (
    ("eq", "ne"), ("ne", "eq"), ("lt_s", "ge_s"), ("ge_s", "lt_s"), ("lt_u", "ge_u"),
    ("ge_u", "lt_u"), ("gt_s", "le_s"), ("le_s", "gt_s"), ("gt_u", "le_u"), ("le_u", "gt_u"))}


def _negate(c: object, cond_spans: dict[int, Span]) -> tuple[ir.Expr, bool]:
    """A condition true exactly when `c` is false (as a branch condition), and
    whether it costs nothing more than `c`: an inverted integer comparison,
    the operand of `i32.eqz`, else `i32.eqz c`."""
    e = cast(ir.Expr, c)
    out: ir.Expr
    if type(e) is ir.OpExpr and e.op in _NEGATED:
        out, cheap = ir.OpExpr(_NEGATED[e.op], e.args, span=e.span), True
    elif _is_eqz(e):
        out, cheap = cast(ir.OpExpr, e).args[0], True
    else:
        out, cheap = ir.OpExpr("i32.eqz", (e,)), False
    span = cond_spans.get(id(e))
    if span is not None:
        cond_spans[id(out)] = span
    return out, cheap


def _branch_arms(instrs: list[Instr], cond_spans: dict[int, Span]) -> list[Instr]:
    """Ifs whose one arm only branches, or is empty (binaryen's
    remove-unused-brs does the like):

    * `if c (br d) else A end` -> `br_if c; A`, and `if c A else (br d) end`
      -> `br_if !c; A` (to the same target; A no longer nests in the if, so
      not when something branches to the if's own end);
    * `if c else A end` (an empty then arm) -> `if !c A end` when negating c
      costs nothing (an inverted comparison, or dropping an `i32.eqz`);
    * `if c A (br d) else B end` -> `if c A (br d) end B`: the then arm never
      falls through, so B may follow the if (typically a loop's exit:
      `loop (if c (... br 1) end) B end`).

    Branch targets are resolved to the construct they leave (its start's
    position) first and their depths counted again in the new stream."""
    if not any(type(i) is IfStart for i in instrs):
        return instrs
    match_else, match_end, target, targeted = _nesting(instrs)
    replace: dict[int, Instr] = {}      # IfStart position -> its replacement
    drop: set[int] = set()
    for i, e in match_else.items():
        if i in targeted:
            continue
        end = match_end[i]
        c = cast(IfStart, instrs[i]).cond
        if e == i + 2 and type(instrs[i + 1]) is Br:
            replace[i] = BrIf(c, 0)
            target[i] = target[i + 1]
            drop.update((i + 1, e, end))
        elif end == e + 2 and type(instrs[e + 1]) is Br:
            replace[i] = BrIf(_negate(c, cond_spans)[0], 0)
            target[i] = target[e + 1]
            drop.update((e, e + 1, end))
        elif e == i + 1:
            neg, cheap = _negate(c, cond_spans)
            if cheap:
                replace[i] = IfStart(neg)
                drop.add(e)
        elif type(instrs[e - 1]) is Br or type(instrs[e - 1]) is BrTable:
            replace[e] = End()      # the else arm follows the if
            drop.add(end)
    if not replace:
        return instrs
    out: list[Instr] = []
    depth_of: dict[int, int] = {}       # open construct start -> its nesting level
    stack: list[int] = []
    for i, ins in enumerate(instrs):
        if i in drop:
            continue
        ins = replace.get(i, ins)
        cls = type(ins)
        if cls is BlockStart or cls is LoopStart or cls is IfStart:
            depth_of[i] = len(stack)
            stack.append(i)
        elif cls is End:
            stack.pop()
        elif cls is Br or cls is BrIf or cls is BrTable:
            ds = [len(stack) - 1 - depth_of[t] for t in target[i]]
            ins = _with_depths(ins, ds)
        out.append(ins)
    return out


def _nesting(instrs: Sequence[Instr]) -> tuple[dict[int, int], dict[int, int],
                                                dict[int, tuple[int, ...]], set[int]]:
    """The construct structure of a flat stream, by position: each `if` start's
    `else`, each construct start's `end`, each branch's targets (the starts of
    the constructs it leaves), and every start some branch targets."""
    else_of: dict[int, int] = {}
    end_of: dict[int, int] = {}
    target: dict[int, tuple[int, ...]] = {}
    targeted: set[int] = set()
    opened: list[int] = []
    for i, ins in enumerate(instrs):
        cls = type(ins)
        if cls is BlockStart or cls is LoopStart or cls is IfStart:
            opened.append(i)
        elif cls is Else:
            else_of[opened[-1]] = i
        elif cls is End:
            end_of[opened.pop()] = i
        elif cls is Br or cls is BrIf or cls is BrTable:
            t = target[i] = tuple(opened[-1 - d] for d in _depths(ins))
            targeted.update(t)
    return else_of, end_of, target, targeted


def _depths(ins: Instr) -> tuple[int, ...]:
    if isinstance(ins, BrTable):
        return (*ins.depths, ins.default)
    return (cast(Br | BrIf, ins).depth,)


def _with_depths(ins: Instr, ds: list[int]) -> Instr:
    if isinstance(ins, BrTable):
        return BrTable(ins.index, tuple(ds[:-1]), ds[-1])
    if type(ins) is Br:
        return Br(ds[0])
    return BrIf(cast(BrIf, ins).cond, ds[0])


def _is_eqz(c: object) -> bool:
    return type(c) is ir.OpExpr and c.op == "i32.eqz"


def _final_tail(instrs: Sequence[Instr]) -> tuple[set[int], set[int]]:
    """When the stream ends with constructs every way out of which falls off
    the function's end with its result (binaryen gives such trailing ifs and
    loops the function's type): the positions of those constructs' starts,
    and of the exits whose `return` can then be left out.  Each place that
    falls through to a typed construct's end must end in an exit or a branch
    elsewhere: an `if` with both arms (each checked the same way), a loop's
    body, nothing targeting an `if`'s end.  ({}, {}) when not so."""
    typed: set[int] = set()
    exits: set[int] = set()
    n = len(instrs)
    if n < 2 or type(instrs[-1]) is not End:
        return typed, exits
    else_of, end_of, _targets, targeted = _nesting(instrs)
    start = {e: s0 for s0, e in end_of.items()}     # End position -> its construct's start
    work = [n - 1]                      # positions of the last instruction of an arm
    while work:
        k = work.pop()
        cls = type(instrs[k])
        if cls is Exit:
            exits.add(k)
        elif cls is End:
            s0 = start[k]
            kind = type(instrs[s0])
            if kind is LoopStart:
                work.append(k - 1)
            elif kind is IfStart and s0 in else_of and s0 not in targeted:
                work += [else_of[s0] - 1, k - 1]
            else:
                return set(), set()
            typed.add(s0)
        elif cls is not Br and cls is not BrTable:
            return set(), set()
    return typed, exits


def _uses_dispatch(instrs: Sequence[Instr]) -> bool:
    """`relooper.uses_dispatch` on the flat stream."""
    for ins in instrs:
        cls = type(ins)
        if cls is SetDispatch or (cls is BrTable and cast(BrTable, ins).index is DISPATCH):
            return True
    return False


# How far `_falls_through` looks (bounds the work on very deep trees).
_FALL_LIMIT = 64


def _else_ends(instrs: Sequence[Instr]) -> dict[int, int]:
    """The index of the `end` of the `if` each `else` belongs to."""
    out: dict[int, int] = {}
    opened: list[int] = []          # index of each open construct's `else`, or -1
    for i, ins in enumerate(instrs):
        cls = type(ins)
        if cls is BlockStart or cls is LoopStart or cls is IfStart:
            opened.append(-1)
        elif cls is Else:
            opened[-1] = i
        elif cls is End:
            e = opened.pop()
            if e >= 0:
                out[e] = i
    return out


def _falls_through(instrs: Sequence[Instr], i: int, count: int,
                   else_ends: Mapping[int, int]) -> int:
    """Where control falling through to position `i` goes once it has left
    `count` enclosing constructs, when it runs nothing on the way (an `else`
    jumps to its if's `end`; falling off a loop's body leaves it); -1 when
    it would run something first."""
    n = len(instrs)
    closed = steps = 0
    while closed < count:
        steps += 1
        if i >= n or steps > _FALL_LIMIT:
            return -1
        cls = type(instrs[i])
        if cls is End:
            closed += 1
            i += 1
        elif cls is Else:
            i = else_ends[i]
        else:
            return -1
    return i


def _peephole(instrs: list[Instr]) -> list[Instr]:
    """Drop what the relooper's structure leaves redundant: a `br d` that
    goes where falling through goes (the d+1 innermost constructs end right
    after it, and construct d is not a loop, whose label is its start), then
    empty blocks and empty else arms."""
    kept: list[Instr] = []
    opened: list[type] = []         # BlockStart / LoopStart / IfStart of each open construct
    else_ends = _else_ends(instrs)
    for i, ins in enumerate(instrs):
        cls = type(ins)
        if cls is Br:
            d = cast(Br, ins).depth
            if (d < len(opened) and opened[-1 - d] is not LoopStart
                    and _falls_through(instrs, i + 1, d + 1, else_ends) >= 0):
                continue
        elif cls is End:
            opened.pop()
        elif cls is BlockStart or cls is LoopStart or cls is IfStart:
            opened.append(cls)
        kept.append(ins)
    out: list[Instr] = []
    for ins in kept:
        if type(ins) is End:
            if type(out[-1]) is Else:
                out.pop()           # an empty else arm
            if type(out[-1]) is BlockStart:
                out.pop()           # an empty block
                continue
        out.append(ins)
    return out


def _silent_dropped(instrs: list[Instr], f: ir.Func) -> list[Instr]:
    """Without the instructions that emit nothing, so that `_peephole` sees the
    arms and blocks they leave empty: the code of a block without statements,
    and a `return` (no value) that falls through to the function's end."""
    tail = _tail_exits(instrs)
    out: list[Instr] = []
    for i, ins in enumerate(instrs):
        cls = type(ins)
        if cls is Code and not f.blocks[cast(int, cast(Code, ins).payload)].stmts:
            continue
        if i in tail and type(cast(Exit, ins).payload) is ir.Return:
            continue
        out.append(ins)
    return out


def _tail_exits(instrs: Sequence[Instr]) -> set[int]:
    """Positions of exits after which control would fall through to the
    function's end anyway (a `return` there, without a value, can go)."""
    else_ends = _else_ends(instrs)
    out: set[int] = set()
    depth = 0
    for i, ins in enumerate(instrs):
        cls = type(ins)
        if cls is Exit and _falls_through(instrs, i + 1, depth, else_ends) == len(instrs):
            out.add(i)
        elif cls is End:
            depth -= 1
        elif cls is BlockStart or cls is LoopStart or cls is IfStart:
            depth += 1
    return out


def f32_nan_bits(v: float) -> int:
    """The f32 bits of an IR f32 NaN constant.

    The IR keeps an f32 NaN as a double carrying the f32 payload in the top 23
    mantissa bits (`linker.ir.parser`); narrowing it with `struct.pack("<f")`
    sets the quiet bit of a signalling NaN on x86, so it is narrowed by hand."""
    d: int = _U64.unpack(_F64.pack(v))[0]
    return ((d >> 32) & 0x8000_0000) | 0x7F80_0000 | ((d >> 29) & 0x7F_FFFF)


def _emit_const(b: InstrBuilder, t: ValType, v: int | float) -> None:
    if t is ValType.I32:
        b.i32_const(int(v))
    elif t is ValType.I64:
        b.i64_const(int(v))
    elif t is ValType.F32:
        if v != v:
            b.f32_const_bits(f32_nan_bits(float(v)))
        else:
            b.f32_const(float(v))
    else:
        b.f64_const(float(v))


def _set_terminator(cfg: CFG, bid: int, t: ir.Terminator, ids: Mapping[str, int]) -> None:
    match t:
        case ir.Jump(target=l):
            cfg.set_jump(bid, ids[l])
        case ir.Branch(cond=c, then=a, else_=e):
            cfg.set_branch(bid, c, ids[a], ids[e])
        case ir.Switch(index=x, targets=ts, default=d):
            cases: dict[int, list[int]] = {}
            for value, label in enumerate(ts):
                cases.setdefault(ids[label], []).append(value)
            cfg.set_switch(bid, x, cases, default=ids[d])
        case _:
            cfg.set_exit(bid, t)


def write_data_items(image: bytearray, pos: int, d: ir.Data,
                     address: Callable[[str, int, int], int]) -> None:
    """Write `d`'s items into `image` from `pos`; `address(symbol, offset, pos)`
    gives the value of each address item (object mode records a relocation
    at `pos` and returns 0)."""
    for item in d.items:
        match item:
            case ir.IntItem(width=w, value=v):
                n = w // 8
                image[pos:pos + n] = (v & ((1 << w) - 1)).to_bytes(n, "little")
                pos += n
            case ir.FloatItem(width=32, value=v):
                if v != v:   # keep a signalling NaN's payload (see codegen.f32_nan_bits)
                    image[pos:pos + 4] = _U32.pack(f32_nan_bits(v))
                else:
                    image[pos:pos + 4] = _F32.pack(v)
                pos += 4
            case ir.FloatItem(value=v):
                image[pos:pos + 8] = _F64.pack(v)
                pos += 8
            case ir.BytesItem(value=v):
                image[pos:pos + len(v)] = v
                pos += len(v)
            case ir.ZeroItem(size=n):
                pos += n
            case ir.AddrItem(symbol=s, offset=o):
                image[pos:pos + 4] = address(s, o, pos).to_bytes(4, "little")
                pos += 4
