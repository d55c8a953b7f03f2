"""`precompute-propagate`: constant folding and propagation with link-time constants.

Per function, to a fixed point (binaryen's `precompute-propagate` does the
same on its tree IR):

* an op whose operands are constants is evaluated with the reference
  interpreter's semantics (`linker.interp.semantics.evaluate`), so the
  folded value is the one the program would compute; an op that would trap
  or yield a NaN (whose bits wasm leaves open) is left alone;
* identities: `x + 0`, `x - 0`, `x | 0`, `x ^ 0`, `x * 1`, shifts by 0;
  `@d + c` becomes `@d+c` for data symbols (a link-time constant);
* a load from live read-only data at a constant address becomes the value
  stored there, and a 32-bit load of an `addr f` item becomes `@f`, which
  `directize` can then turn into a direct call.  Writing read-only data is
  undefined (docs/ir.md: it "may be placed in a read-only area");
* a local assigned exactly once, to a constant, is replaced by the
  constant in every read the assignment dominates (Cooper et al.'s
  dominators, `linker.lto.cfg`) and that is not before it in its block;
* a branch or switch on a constant becomes a jump.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

import attrs

from linker.interp.semantics import HELPERS, Trap, template
from linker.ir import model as ir
from linker.ir.ops import OPS_BY_NAME
from linker.ir.types import ValType
from linker.lto.cfg import idoms, dominates, stmt_reads, stmt_writes, term_reads
from linker.lto.walk import func_exprs, map_block, map_expr, map_stmt, map_term, per_func, \
    successors
from linker.lto.whole import Whole
from linker.writer import LiveData

_MASK = {ValType.I32: 0xFFFF_FFFF, ValType.I64: 0xFFFF_FFFF_FFFF_FFFF}
_EVAL: dict[str, Callable[..., Any]] = {}
_IDENTITY_ZERO = ("add", "sub", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr")

_LOADS = {  # op -> (bytes, struct format, result type)
    "i32.load": (4, "<I", ValType.I32), "i64.load": (8, "<Q", ValType.I64),
    "i32.load8_s": (1, "<b", ValType.I32), "i32.load8_u": (1, "<B", ValType.I32),
    "i32.load16_s": (2, "<h", ValType.I32), "i32.load16_u": (2, "<H", ValType.I32),
    "i64.load8_s": (1, "<b", ValType.I64), "i64.load8_u": (1, "<B", ValType.I64),
    "i64.load16_s": (2, "<h", ValType.I64), "i64.load16_u": (2, "<H", ValType.I64),
    "i64.load32_s": (4, "<i", ValType.I64), "i64.load32_u": (4, "<I", ValType.I64),
    "f32.load": (4, "<f", ValType.F32), "f64.load": (8, "<d", ValType.F64),
}


def _evaluator(op: str) -> Callable[..., Any] | None:
    fn = _EVAL.get(op)
    if fn is None:
        tmpl = template(OPS_BY_NAME[op])
        if tmpl is None:
            return None
        names = [f"_a{i}" for i in range(len(OPS_BY_NAME[op].params))]
        fn = eval(  # noqa: S307 - the interpreter's own templates
            f"lambda {', '.join(names)}: {tmpl.format(*names)}", dict(HELPERS))
        _EVAL[op] = fn
    return fn


def const_value(c: ir.Const) -> int | float:
    """The interpreter's representation: unsigned ints, floats as they are."""
    if c.type.is_int:
        return int(c.value) & _MASK[c.type]
    return float(c.value)


def fold_op(e: ir.OpExpr) -> ir.Expr:
    for a in e.args:
        if type(a) is not ir.Const:
            return _identity(e)
    op = OPS_BY_NAME[e.op]
    if op.result is None:
        return _identity(e)
    fn = _evaluator(e.op)
    if fn is None:
        return e
    try:
        v = fn(*(const_value(a) for a in e.args if isinstance(a, ir.Const)))
    except (Trap, ArithmeticError, ValueError):
        return e
    if isinstance(v, float) and math.isnan(v):
        return e
    return ir.Const(op.result, v)


def _identity(e: ir.OpExpr) -> ir.Expr:
    if len(e.args) != 2 or type(e.args[1]) is not ir.Const:
        return e
    a, b = e.args
    ty, _, base = e.op.partition(".")
    if ty not in ("i32", "i64") or not isinstance(b, ir.Const):
        return e
    v = const_value(b)
    if (v == 0 and base in _IDENTITY_ZERO) or (v == 1 and base == "mul"):
        return a
    return e


# Commutative integer ops keep their name when their operands swap; comparisons take
# the mirrored one (`c < x` is `x > c`).
_SWAPPED = {**{b: b for b in ("add", "mul", "and", "or", "xor", "eq", "ne")},
            **{f"{a}_{s}": f"{b}_{s}" for a, b in (("lt", "gt"), ("gt", "lt"), ("le", "ge"),
                                                 ("ge", "le")) for s in "su"}}


def canonical_order(e: ir.OpExpr) -> ir.OpExpr:
    """A constant (or `@sym`) first operand of a commutative integer op or a
    comparison goes second (`1 < x` becomes `x > 1`), as binaryen canonicalizes:
    identities and folding look at the right operand, and code generation can
    leave a call's result on the stack for the op that reads it first.  A
    constant evaluates to nothing and cannot trap, so the order is free."""
    if len(e.args) != 2:
        return e
    a, b = e.args
    if type(a) is not ir.Const and type(a) is not ir.SymRef:
        return e
    if type(b) is ir.Const or type(b) is ir.SymRef:
        return e
    ty, _, base = e.op.partition(".")
    swapped = _SWAPPED.get(base)
    if swapped is None or ty not in ("i32", "i64"):
        return e
    return ir.OpExpr(f"{ty}.{swapped}", (b, a), span=e.span)


class Folder:
    """Expression folding for one program (read-only data, data symbols)."""

    def __init__(self, whole: Whole) -> None:
        self.whole = whole
        self.images: dict[str, tuple[bytearray, bytearray, dict[int, ir.AddrItem]]] = {}

    def expr(self, e: ir.Expr) -> ir.Expr:
        if type(e) is ir.OpExpr:
            # Every rule needs an operand that is a constant or a symbol (or none at all).
            args = e.args
            for a in args:
                if type(a) is ir.Const or type(a) is ir.SymRef:
                    break
            else:
                if args:
                    return e
            if e.op == "i32.add":
                sym = self._symref_add(e)
                if sym is not None:
                    return sym
            return fold_op(canonical_order(e))
        if isinstance(e, ir.Load) and isinstance(e.addr, ir.SymRef):
            return self._load(e, e.addr)
        return e

    def block(self, b: ir.BasicBlock) -> ir.BasicBlock:
        """`b` folded (folding keeps every leaf: `expr` sees inner nodes only)."""
        return _fold_term(map_block(b, self.expr, leaves=False))

    def _is_data(self, sym: str) -> bool:
        return sym not in self.whole.types

    def _symref_add(self, e: ir.OpExpr) -> ir.Expr | None:
        a, b = e.args
        if isinstance(b, ir.SymRef) and isinstance(a, ir.Const):
            a, b = b, a
        if not (isinstance(a, ir.SymRef) and isinstance(b, ir.Const) and self._is_data(a.symbol)):
            return None
        off = (a.offset + int(const_value(b))) & 0xFFFF_FFFF
        if off >= 1 << 31:
            off -= 1 << 32
        return ir.SymRef(a.symbol, off)

    def _load(self, e: ir.Load, ref: ir.SymRef) -> ir.Expr:
        d = self.whole.readonly.get(ref.symbol)
        spec = _LOADS.get(e.op)
        if d is None or spec is None:
            return e
        width, fmt, ty = spec
        pos = ref.offset + e.offset
        if pos < 0 or pos + width > d.size:
            return e
        raw, known, addrs = self._image(d)
        item = addrs.get(pos)
        if item is not None and e.op == "i32.load":
            return ir.SymRef(item.symbol, item.offset)
        if not all(known[pos:pos + width]):
            return e
        v = struct.unpack_from(fmt, raw, pos)[0]
        if not ty.is_int and math.isnan(v):
            return e          # NaN payloads stay in memory, not in constants
        c = ir.Const(ty, v & _MASK[ty] if ty.is_int else v)
        # A load from a constant address is about 6 bytes; a wider constant is not smaller.
        return c if const_bytes(c) <= 6 else e

    def _image(self, d: LiveData) -> tuple[bytearray, bytearray, dict[int, ir.AddrItem]]:
        img = self.images.get(d.name)
        if img is not None:
            return img
        raw, known = bytearray(d.size), bytearray(d.size)
        addrs: dict[int, ir.AddrItem] = {}
        pos = 0
        for item in d.items:
            n = ir.item_size(item)
            chunk = _item_bytes(item)
            if chunk is not None:
                raw[pos:pos + n] = chunk
                known[pos:pos + n] = b"\x01" * n
            elif isinstance(item, ir.AddrItem):
                addrs[pos] = item
            pos += n
        img = self.images[d.name] = (raw, known, addrs)
        return img


def _item_bytes(item: ir.DataItem) -> bytes | None:
    match item:
        case ir.IntItem(width=w, value=v):
            return (v & ((1 << w) - 1)).to_bytes(w // 8, "little")
        case ir.FloatItem(width=w, value=v) if not math.isnan(v):
            return struct.pack("<f" if w == 32 else "<d", v)
        case ir.BytesItem(value=v):
            return v
        case ir.ZeroItem(size=n):
            return bytes(n)
    return None


def fold_function(f: ir.Func, folder: Folder) -> ir.Func:
    # A block's folding depends on the block alone (and the program's read-only data
    # and symbols, which no pass changes): remembered per block object, so the round
    # that confirms a fixed point, and the second run after inlining, fold again only
    # the blocks that changed since.
    blocks = tuple([per_func("fold", b, folder.block) for b in f.blocks])
    f = attrs.evolve(f, blocks=blocks)
    return propagate(f, folder)


def _fold_term(b: ir.BasicBlock) -> ir.BasicBlock:
    t = b.term
    if isinstance(t, ir.Branch) and isinstance(t.cond, ir.Const):
        return attrs.evolve(b, term=ir.Jump(t.then if const_value(t.cond) else t.else_))
    if isinstance(t, ir.Switch) and isinstance(t.index, ir.Const):
        i = int(const_value(t.index))
        return attrs.evolve(b, term=ir.Jump(t.targets[i] if i < len(t.targets) else t.default))
    return b


def propagate(f: ir.Func, folder: Folder) -> ir.Func:
    """Replace reads of single-assignment constant locals the assignment dominates."""
    params = {p.name for p in f.params}
    sites: dict[str, list[tuple[str, int, ir.Expr]]] = {}
    for b in f.blocks:
        for i, s in enumerate(b.stmts):
            if isinstance(s, ir.Assign):
                sites.setdefault(s.local, []).append((b.label, i, s.value))
            elif isinstance(s, (ir.Call, ir.CallIndirect)) and s.dest is not None:
                sites.setdefault(s.dest, []).append((b.label, i, ir.LocalGet(s.dest)))
    consts = {n: v[0] for n, v in sites.items()
              if n not in params and len(v) == 1 and isinstance(v[0][2], (ir.Const, ir.SymRef))}
    if consts:
        counts = _read_counts(f)
        consts = {n: s for n, s in consts.items() if _worth(s[2], counts.get(n, 0))}
    if not consts or not f.blocks:
        return f
    dom = idoms(f)
    blocks = []
    for b in f.blocks:
        if b.label not in dom:
            blocks.append(b)
            continue
        blocks.append(_propagate_block(b, consts, dom, folder))
    return attrs.evolve(f, blocks=tuple(blocks))


def _read_counts(f: ir.Func) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in func_exprs(f):
        if isinstance(e, ir.LocalGet):
            out[e.name] = out.get(e.name, 0) + 1
    return out


def const_bytes(e: ir.Expr) -> int:
    """Bytes of the instruction a constant becomes (a SymRef: a typical address)."""
    match e:
        case ir.Const(type=t, value=v) if t.is_int:
            n = int(v)
            bits = 32 if t is ValType.I32 else 64
            if n >= 1 << (bits - 1):
                n -= 1 << bits
            size = 1
            while not -64 <= n < 64:
                n >>= 7
                size += 1
            return 1 + size
        case ir.Const(type=t):
            return 5 if t is ValType.F32 else 9
    return 3


def _worth(value: ir.Expr, reads: int) -> bool:
    """Whether replacing every read (2-byte `local.get`s) by the constant does not grow
    the code, counting the assignment that then goes (a `local.set` and the constant).
    Addresses and table slots always are: they feed devirtualization and folding."""
    if isinstance(value, ir.SymRef):
        return True
    c = const_bytes(value)
    return reads * (c - 2) <= c + 2


def _propagate_block(b: ir.BasicBlock, consts: dict[str, tuple[str, int, ir.Expr]],
                     dom: dict[str, str], folder: Folder) -> ir.BasicBlock:
    def usable(name: str, pos: int) -> ir.Expr | None:
        site = consts.get(name)
        if site is None:
            return None
        label, i, value = site
        if label == b.label:
            return value if pos > i else None
        return value if dominates(label, b.label, dom) else None

    def at(pos: int) -> Callable[[ir.Expr], ir.Expr]:
        def fn(e: ir.Expr) -> ir.Expr:
            if isinstance(e, ir.LocalGet):
                v = usable(e.name, pos)
                if v is not None:
                    return v
            return folder.expr(e)
        return fn

    from linker.lto.walk import map_stmt, map_term
    touched = {n for n in consts}
    stmts = tuple(map_stmt(s, at(i)) if stmt_reads(s) & touched else s
                  for i, s in enumerate(b.stmts))
    term = b.term
    if term_reads(term) & touched:
        term = map_term(term, at(len(b.stmts)))
    return _fold_term(attrs.evolve(b, stmts=stmts, term=term))


def local_folds(f: ir.Func) -> ir.Func:
    """Constants known without dominators, substituted for `local.get`s: in the entry
    block, a declared int local read before any write there holds the zero every
    local starts with (when no block jumps back to the entry); in any block, a local
    read after the block assigned it a small constant (one no longer than the
    `local.get`) and before it is written again holds that constant."""
    if not f.blocks:
        return f
    zeros = _entry_zeros(f)
    blocks = tuple(_fold_known(b, dict(zeros) if i == 0 else {})
                   for i, b in enumerate(f.blocks))
    if all(a is b for a, b in zip(blocks, f.blocks)):
        return f
    return attrs.evolve(f, blocks=blocks)


def _entry_zeros(f: ir.Func) -> dict[str, ir.Const]:
    entry = f.blocks[0].label
    if any(entry in successors(b.term) for b in f.blocks):
        return {}
    return {p.name: ir.Const(p.type, 0) for p in f.locals if p.type.is_int}


def _fold_known(b: ir.BasicBlock, known: dict[str, ir.Const]) -> ir.BasicBlock:
    """`b` with the reads of `known` locals replaced, in statement order."""
    def fn(e: ir.Expr) -> ir.Expr:
        if isinstance(e, ir.LocalGet):
            return known.get(e.name, e)
        return e

    stmts: list[ir.Stmt] = []
    changed = False
    for st in b.stmts:
        if known and not known.keys().isdisjoint(stmt_reads(st)):
            new = map_stmt(st, fn)
            changed = changed or new != st
            st = new
        _learn(st, known)
        stmts.append(st)
    term = b.term
    if known and not known.keys().isdisjoint(term_reads(term)):
        term = map_term(term, fn)
        changed = changed or term != b.term
    if not changed:
        return b
    return attrs.evolve(b, stmts=tuple(stmts), term=term)


def _learn(st: ir.Stmt, known: dict[str, ir.Const]) -> None:
    written = stmt_writes(st)
    if written is None:
        return
    if isinstance(st, ir.Assign) and type(st.value) is ir.Const and const_bytes(st.value) <= 2:
        known[written] = st.value
    else:
        known.pop(written, None)


def run(whole: Whole) -> None:
    folder = Folder(whole)
    for name in whole.todo("precompute-propagate", everything=True):
        f = whole.funcs[name]
        for _round in range(4):
            pre = local_folds(f)        # the same object when it finds nothing
            if pre is f and not foldable(f, whole):
                break
            new = fold_function(pre, folder)
            if new == f:
                break
            f = new
        whole.update(name, f)


def foldable(f: ir.Func, whole: Whole) -> bool:
    """A quick scan: whether `fold_function` may change anything."""
    params = {p.name for p in f.params}
    for b in f.blocks:
        t = b.term
        if isinstance(t, (ir.Branch, ir.Switch)) and isinstance(
                t.cond if isinstance(t, ir.Branch) else t.index, ir.Const):
            return True
        for s in b.stmts:
            if (isinstance(s, ir.Assign) and s.local not in params
                    and isinstance(s.value, (ir.Const, ir.SymRef))):
                return True
    for e in func_exprs(f):
        if isinstance(e, ir.OpExpr) and e.args and isinstance(e.args[-1], ir.Const):
            if len(e.args) == 1 or isinstance(e.args[0], (ir.Const, ir.SymRef)):
                return True
            if e.op.partition(".")[0] in ("i32", "i64") and const_value(e.args[-1]) in (0, 1):
                return True
        elif isinstance(e, ir.OpExpr) and e.op == "i32.add" and isinstance(e.args[0], ir.Const):
            return True
        elif isinstance(e, ir.OpExpr) and canonical_order(e) is not e:
            return True
        elif isinstance(e, ir.Load) and isinstance(e.addr, ir.SymRef) \
                and e.addr.symbol in whole.readonly:
            return True
    return False


def map_expr_all(f: ir.Func, fn: Callable[[ir.Expr], ir.Expr]) -> ir.Func:
    return attrs.evolve(f, blocks=tuple(map_block(b, fn) for b in f.blocks))


__all__ = ["Folder", "const_value", "fold_op", "map_expr", "map_expr_all", "run"]
