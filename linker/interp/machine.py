"""The reference interpreter: runs a linked program from its IR, with wasm semantics.

Input: a `LinkResult` after emission, for what only the link knows (data
addresses, table slots, the data image, globals, ctors, the entry).  The
memory image is rebuilt from the emitted data segments, so relocations are
the linker's; everything else comes from the IR, not from the wasm code, so
a codegen or relooper bug shows up as a disagreement with the engines.

How it runs (a closure compiler, as in "interpreters/" of xDSL but to
Python source for speed):

* every IR function is cut into *steps*: a step is the straight-line code of
  a block up to (and including) a call statement or the terminator; each
  step becomes one Python function `step(L) -> next` over the frame's
  locals list `L`.  Expressions are flattened in post-order (wasm's stack
  order, so operands evaluate left to right and traps happen in program
  order) into assignments to temporaries, with an explicit work stack:
  no recursion, whatever the nesting depth.
* a step returns the next step index (an int) for jumps, branches and
  switches, or a request tuple: `(CALL, callee, args, dest, resume)`,
  `(RET, value)`, `(TAIL, callee, args)`.
* `_run` is the machine: an explicit frame stack of suspended callers; a
  call pushes, a return pops, a tail call replaces the current frame, so
  tail-call chains of any length run in constant Python stack and memory.
  Deep non-tail recursion traps ("call stack exhausted") at `max_depth`.

Evaluation order follows `linker.codegen`: operands left to right; a store
evaluates its address, then its value; an indirect call evaluates its
arguments, then its target.  Memory accesses go through `struct` at
`address + offset` (no wrap-around, as in wasm32), whose range errors are the
out-of-bounds traps.

The `_start` protocol is the emitter's: ctors in order, then the entry, then
`proc_exit(result)` when it returns an i32; after LTO, the IR `_start` it
made (`LiveProgram.start`, the same calls, optimized).  A panic (or a call of a function
with a deferred error) writes ``panic in <f>: <msg>`` to stderr and traps
like the panic runtime's `unreachable`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from linker.interp import semantics as sem
from linker.interp.semantics import Trap
from linker.interp.ffi import FfiLayout, FfiRuntime, small_result, wrap_import
from linker.ir import model as ir
from linker.ir.ctypes import CKind
from linker.ir.ops import OPS_BY_NAME, OpKind
from linker.ir.types import FuncType, ValType
from linker.layout import PAGE
from linker.writer import PROC_EXIT_SYMBOL, WASI, LiveProgram

CALL, RET, TAIL = 0, 1, 2
MAX_PAGES = 65536
DEFAULT_MAX_DEPTH = 20_000

HostImpl = Callable[[list[Any]], Any]


class InterpError(Exception):
    """The program cannot be interpreted (an import nobody provides, an unsupported feature)."""


class OutOfFuel(Exception):
    """The step limit was reached."""


class Exit(Exception):
    """WASI `proc_exit`."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@attrs.define(slots=True, eq=False)
class Function:
    """A callable of the program: IR steps, or a host implementation."""

    name: str
    type: FuncType
    type_id: int
    zeros: list[Any] = attrs.Factory(list)   # initial values of the non-parameter locals
    steps: list[Callable[[list[Any]], Any]] = attrs.Factory(list)
    host: HostImpl | None = None


def zero(t: ValType) -> Any:
    return 0.0 if t.is_float else 0


def normalize(t: ValType, v: int | float) -> Any:
    """A constant in the interpreter's representation of type `t`."""
    if t is ValType.I32:
        return int(v) & sem.M32
    if t is ValType.I64:
        return int(v) & sem.M64
    if t is ValType.F32:
        return sem.fround(float(v))
    return float(v)


_FORMAT_NAMES = {"<I": "U32", "<Q": "U64", "<f": "F32", "<d": "F64", "<b": "I8", "<B": "U8",
                 "<h": "I16", "<H": "U16", "<i": "I32"}


class Machine:
    """One instance of a linked program: memory, globals, table, functions."""

    def __init__(self, prog: LiveProgram, memory: bytearray, max_pages: int,
                 data_addresses: dict[str, int], table_slots: dict[str, int], table_size: int,
                 hosts: dict[tuple[str, str], tuple[FuncType, HostImpl]],
                 stderr: bytearray, max_depth: int = DEFAULT_MAX_DEPTH,
                 ffi: FfiLayout | None = None, closure_growth: bool = True) -> None:
        self.prog = prog
        self.memory = memory
        self.max_pages = max_pages
        self.stderr = stderr
        self.max_depth = max_depth
        self.data = data_addresses
        self.type_ids: dict[FuncType, int] = {}
        self.globals: list[Any] = []
        self.global_index: dict[str, int] = {}
        for sym, vt, init in prog.globals:
            self.global_index[sym] = len(self.globals)
            self.globals.append(normalize(vt, init))
        self.funcs: dict[str, Function] = {}
        plan = prog.ffi
        adapters: dict[str, CKind] = {}
        if plan is not None:
            for sym, sig in plan.import_adapters:
                small = small_result(sig)
                if small is not None:
                    adapters[sym] = small
        grow = hosts.get(("irld", "closure_table_grow"))
        self.host_table_grow: HostImpl | None = None if grow is None else grow[1]
        self.backtrace: list[str] = []
        self.nesting = 0
        self.depth = 0           # frames of the runs suspended in host calls
        self.fuel: list[int] | None = None
        for sym, module, field, ft in prog.imports:
            host = hosts.get((module, field))
            if host is None and (module, field) == ("irld", "closure_table_grow"):
                host = (FuncType((ValType.I32, ValType.I32), ValType.I32),
                        self.closure_table_grow)
            if host is None:
                raise InterpError(f"unknown import {module}.{field} {ft}")
            if host[0] != ft:
                raise InterpError(f"import {module}.{field} has type {ft}, "
                                  f"but the interpreter provides {host[0]}")
            impl = host[1]
            kind = adapters.get(sym)
            if kind is not None:   # a foreign import with an 8/16-bit result: re-extend it
                impl = wrap_import(kind, impl)
            self.funcs[sym] = Function(sym, ft, self.type_id(ft), host=impl)
        for lf in prog.funcs:
            f = lf.func
            zeros = [zero(p.type) for p in f.locals]
            self.funcs[lf.symbol] = Function(f.name, f.type, self.type_id(f.type), zeros)
        if prog.start is not None:
            self.add_start(prog.start, hosts)
        self.table: list[Function | None] = [None] * table_size
        self.table_slots = table_slots
        for sym, slot in table_slots.items():
            self.table[slot] = self.funcs.get(sym)
        self.ffi: FfiRuntime | None = None
        if ffi is not None:
            self.ffi = FfiRuntime(self, ffi, closure_growth)
            self.funcs.update(self.ffi.funcs)
            for slot, fn in enumerate(self.ffi.table, ffi.table_base):
                self.table[slot] = fn
        self._compile()

    def add_start(self, f: ir.Func, hosts: dict[tuple[str, str], tuple[FuncType, HostImpl]]) -> None:
        """`_start` as LTO made it (`LiveProgram.start`), and the `proc_exit` it calls
        under the writer's symbol for it."""
        if PROC_EXIT_SYMBOL not in self.funcs:
            ft, impl = hosts[(WASI, "proc_exit")]
            self.funcs[PROC_EXIT_SYMBOL] = Function(PROC_EXIT_SYMBOL, ft, self.type_id(ft),
                                                    host=impl)
        self.funcs[f.name] = Function(f.name, f.type, self.type_id(f.type),
                                      [zero(p.type) for p in f.locals])

    def type_id(self, ft: FuncType) -> int:
        return self.type_ids.setdefault(ft, len(self.type_ids))

    # ------------------------------------------------------------ compilation

    def _compile(self) -> None:
        ns: dict[str, Any] = dict(sem.HELPERS)
        ns.update(M=self.memory, G=self.globals, Trap=Trap, UNREACHABLE=sem.UNREACHABLE,
                  icall=self.icall, grow=self.grow, panic=self.panic, RET0=(RET, None))
        for fmt, name in _FORMAT_NAMES.items():
            s = struct.Struct(fmt)
            ns[f"LD_{name}"] = s.unpack_from
            ns[f"ST_{name}"] = s.pack_into
        funcs = list(self.funcs.values())
        ns["F"] = funcs
        index = {sym: i for i, sym in enumerate(self.funcs)}
        src: list[str] = []
        names: list[tuple[Function, list[str]]] = []
        for lf in self.prog.funcs:
            fc = _FuncCompiler(self, lf.func, lf.sig_ids, index, ns, len(names))
            src.extend(fc.compile())
            names.append((self.funcs[lf.symbol], fc.step_names))
        start = self.prog.start
        if start is not None:
            fc = _FuncCompiler(self, start, {}, index, ns, len(names))
            src.extend(fc.compile())
            names.append((self.funcs[start.name], fc.step_names))
        code = compile("\n".join(src) + "\n", "<irld-interp>", "exec")
        exec(code, ns)  # noqa: S102 - source generated above from the verified IR
        for fn, step_names in names:
            fn.steps = [ns[n] for n in step_names]

    def symref(self, symbol: str, offset: int) -> int:
        if symbol in self.data:
            return (self.data[symbol] + offset) & sem.M32
        if symbol in self.table_slots:
            return (self.table_slots[symbol] + offset) & sem.M32
        raise InterpError(f"address of '{symbol}' is not available")

    # ------------------------------------------------------------ runtime helpers

    def icall(self, index: int, type_id: int) -> Function:
        if index >= len(self.table):
            raise Trap(sem.TABLE_BOUNDS)
        f = self.table[index]
        if f is None:
            raise Trap(sem.NULL_ELEMENT)
        if f.type_id != type_id:
            raise Trap(sem.BAD_SIGNATURE)
        return f

    def grow(self, delta: int) -> int:
        old = len(self.memory) // PAGE
        if old + delta > self.max_pages:
            return sem.M32
        self.memory.extend(bytes(delta * PAGE))
        return old

    def closure_table_grow(self, args: list[Any]) -> int:
        """`irld.closure_table_grow(template, closure_ctx)`: a registry's own hook if one was
        given, else the interpreter's model of `linker.host`'s (see `linker.interp.ffi`)."""
        if self.host_table_grow is not None:
            v: int = self.host_table_grow(args)
            return v
        if self.ffi is None:
            return 0
        return self.ffi.table_grow(args[0], args[1])

    def panic(self, function: str, message: str) -> None:
        self.stderr += f"panic in {function}: {message}\n".encode()
        raise Trap(sem.UNREACHABLE)

    # ------------------------------------------------------------ execution

    def call(self, fn: Function, args: list[Any], fuel: list[int] | None = None) -> Any:
        """Run `fn(args)` to completion; raises Trap, Exit or OutOfFuel.

        The backtrace of a trap (innermost first) is left in `self.backtrace`.  A host
        function may call back into the program (`call` again, with the same `fuel`): the
        nested run counts towards the same depth limit and step budget, and a trap's
        backtrace continues with the frames of the runs it unwinds."""
        if self.nesting == 0:
            self.backtrace = []
            self.fuel = fuel
        if fn.host is not None:
            return fn.host(args)
        self.nesting += 1
        frames: list[tuple[Function, list[Any], int, int]] = []
        cur = fn
        steps = fn.steps
        L = args + fn.zeros
        pc = 0
        max_depth = self.max_depth - self.depth
        budget = -1 if fuel is None else fuel[0]
        try:
            while True:
                if budget >= 0:
                    if budget == 0:
                        raise OutOfFuel()
                    budget -= 1
                r = steps[pc](L)
                if r.__class__ is int:
                    pc = r
                    continue
                kind = r[0]
                if kind == CALL:
                    callee = r[1]
                    if callee.host is not None:
                        if fuel is not None:
                            fuel[0] = budget
                        self.depth += len(frames) + 1
                        try:
                            v = callee.host(r[2])
                        finally:
                            self.depth -= len(frames) + 1
                        if fuel is not None:
                            budget = fuel[0]
                        if r[3] >= 0:
                            L[r[3]] = v
                        pc = r[4]
                        continue
                    if len(frames) >= max_depth:
                        raise Trap(sem.STACK_EXHAUSTED)
                    frames.append((cur, L, r[3], r[4]))
                    cur = callee
                    steps = callee.steps
                    L = r[2]
                    L += callee.zeros
                    pc = 0
                    continue
                if kind == TAIL:
                    callee = r[1]
                    if callee.host is None:
                        cur = callee
                        steps = callee.steps
                        L = r[2]
                        L += callee.zeros
                        pc = 0
                        continue
                    if fuel is not None:
                        fuel[0] = budget
                    self.depth += len(frames) + 1
                    try:
                        r = (RET, callee.host(r[2]))
                    finally:
                        self.depth -= len(frames) + 1
                    if fuel is not None:
                        budget = fuel[0]
                v = r[1]
                if not frames:
                    return v
                cur, L, dest, pc = frames.pop()
                steps = cur.steps
                if dest >= 0:
                    L[dest] = v
        except struct.error:
            self._trace(cur, frames)
            raise Trap(sem.OUT_OF_BOUNDS) from None
        except (Trap, OutOfFuel):
            self._trace(cur, frames)
            raise
        except RecursionError:  # pragma: no cover - no Python recursion in the machine
            self._trace(cur, frames)
            raise Trap(sem.STACK_EXHAUSTED) from None
        finally:
            self.nesting -= 1
            if fuel is not None:
                fuel[0] = max(budget, 0)

    def _trace(self, cur: Function, frames: Sequence[tuple[Function, list[Any], int, int]]) -> None:
        self.backtrace += [cur.name] + [f[0].name for f in reversed(frames)]


class _FuncCompiler:
    """Python source for the steps of one IR function (see the module docstring)."""

    def __init__(self, m: Machine, f: ir.Func, sig_ids: dict[str, int], index: dict[str, int],
                 ns: dict[str, Any], number: int) -> None:
        self.m = m
        self.f = f
        self.sig_ids = sig_ids
        self.index = index
        self.ns = ns
        self.prefix = f"f{number}"
        self.local_index: dict[str, int] = {}
        self.local_type: dict[str, ValType] = {}
        for p in (*f.params, *f.locals):
            self.local_index[p.name] = len(self.local_index)
            self.local_type[p.name] = p.type
        self.step_names: list[str] = []
        self.lines: list[str] = []
        self.temps = 0

    def const_name(self, value: Any) -> str:
        name = f"C{len(self.ns)}"
        self.ns[name] = value
        return name

    def compile(self) -> list[str]:
        f = self.f
        if f.deferred_error is not None:
            self.begin()
            self.emit(f"panic({f.name!r}, {f.deferred_error!r})")
            return self.lines
        starts: dict[str, int] = {}
        pc = 0
        for b in f.blocks:
            starts[b.label] = pc
            pc += 1 + sum(1 for s in b.stmts if isinstance(s, (ir.Call, ir.CallIndirect)))
        self.starts = starts
        for b in f.blocks:
            self.begin()
            for s in b.stmts:
                self.stmt(s)
            self.term(b.term)
        return self.lines

    def begin(self) -> None:
        name = f"{self.prefix}_{len(self.step_names)}"
        self.step_names.append(name)
        self.lines.append(f"def {name}(L):")

    def emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    # ------------------------------------------------------------ expressions

    def leaf(self, e: ir.Expr) -> str:
        match e:
            case ir.LocalGet(name=n):
                return f"L[{self.local_index[n]}]"
            case ir.GlobalGet(name=n):
                if n not in self.m.global_index:
                    raise InterpError(f"global '{n}' is not available")
                return f"G[{self.m.global_index[n]}]"
            case ir.Const(type=t, value=v):
                value = normalize(t, v)
                return f"({value})" if t.is_int else self.const_name(value)
            case ir.SymRef(symbol=s, offset=o):
                return f"({self.m.symref(s, o)})"
            case ir.SigRef(name=n):
                if n not in self.sig_ids:
                    raise InterpError(f"C signature '{n}' has no link-time id")
                return f"({self.sig_ids[n]})"
        raise TypeError(e)

    def expr(self, root: ir.Expr) -> str:
        """Emit the assignments computing `root`; return an operand naming its value."""
        if not isinstance(root, (ir.OpExpr, ir.Load)):
            return self.leaf(root)
        vals: list[str] = []
        stack: list[tuple[ir.Expr, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if isinstance(node, ir.OpExpr):
                if not done:
                    stack.append((node, True))
                    stack.extend((a, False) for a in reversed(node.args))
                    continue
                n = len(node.args)
                operands = vals[len(vals) - n:] if n else []
                del vals[len(vals) - n:]
                vals.append(self.op(node.op, operands))
            elif isinstance(node, ir.Load):
                if not done:
                    stack.append((node, True))
                    stack.append((node.addr, False))
                    continue
                fmt, suffix = sem.load_format(node.op)
                t = self.temp()
                self.emit(f"{t} = LD_{_FORMAT_NAMES[fmt]}(M, {vals.pop()} + {node.offset})[0]"
                          f"{suffix}")
                vals.append(t)
            else:
                vals.append(self.leaf(node))
        return vals[0]

    def op(self, name: str, operands: list[str]) -> str:
        op = OPS_BY_NAME[name]
        t = self.temp()
        if op.kind is OpKind.MEMORY:
            if name == "memory.size":
                self.emit(f"{t} = len(M) >> 16")
            else:
                self.emit(f"{t} = grow({operands[0]})")
            return t
        tmpl = sem.template(op)
        if tmpl is None:
            raise InterpError(f"op {name} cannot appear in an expression")
        self.emit(f"{t} = {tmpl.format(*operands)}")
        return t

    def args(self, args: Sequence[ir.Expr]) -> str:
        return "[" + ", ".join(self.expr(a) for a in args) + "]"

    # ------------------------------------------------------------ statements

    def stmt(self, s: ir.Stmt) -> None:
        match s:
            case ir.Assign(local=name, value=v):
                self.emit(f"L[{self.local_index[name]}] = {self.expr(v)}")
            case ir.Store(op=op, addr=a, value=v, offset=o):
                addr = self.expr(a)
                value = self.expr(v)
                fmt, suffix = sem.store_format(op)
                self.emit(f"ST_{_FORMAT_NAMES[fmt]}(M, {addr} + {o}, {value}{suffix})")
            case ir.GlobalSet(name=n, value=v):
                value = self.expr(v)
                if n not in self.m.global_index:
                    raise InterpError(f"global '{n}' is not available")
                self.emit(f"G[{self.m.global_index[n]}] = {value}")
            case ir.Call(dest=d, callee=c, args=args):
                self.call(d, f"F[{self.callee(c)}]", self.args(args))
            case ir.CallIndirect(dest=d, type=ty, target=tg, args=args):
                argv = self.args(args)
                target = self.expr(tg)
                self.call(d, f"icall({target}, {self.m.type_id(ty)})", argv)

    def callee(self, symbol: str) -> int:
        if symbol not in self.index:
            raise InterpError(f"function '{symbol}' is not available to the interpreter")
        return self.index[symbol]

    def call(self, dest: str | None, callee: str, argv: str) -> None:
        d = -1 if dest is None else self.local_index[dest]
        resume = len(self.step_names)
        self.emit(f"return ({CALL}, {callee}, {argv}, {d}, {resume})")
        self.begin()

    def term(self, t: ir.Terminator) -> None:
        starts = self.starts
        match t:
            case ir.Jump(target=l):
                self.emit(f"return {starts[l]}")
            case ir.Branch(cond=c, then=a, else_=b):
                self.emit(f"return {starts[a]} if {self.expr(c)} else {starts[b]}")
            case ir.Switch(index=x, targets=ts, default=d):
                table = self.const_name(tuple(starts[l] for l in ts))
                i = self.expr(x)
                self.emit(f"return {table}[{i}] if {i} < {len(ts)} else {starts[d]}")
            case ir.Return(value=v):
                self.emit("return RET0" if v is None else f"return ({RET}, {self.expr(v)})")
            case ir.TailCall(callee=c, args=args):
                self.emit(f"return ({TAIL}, F[{self.callee(c)}], {self.args(args)})")
            case ir.TailCallIndirect(type=ty, target=tg, args=args):
                argv = self.args(args)
                target = self.expr(tg)
                self.emit(f"return ({TAIL}, icall({target}, {self.m.type_id(ty)}), {argv})")
            case ir.Unreachable():
                self.emit("raise Trap(UNREACHABLE)")
            case ir.Panic(message=msg, function=fn):
                self.emit(f"panic({self.f.name if fn is None else fn!r}, {msg!r})")
            case _:
                raise TypeError(t)

