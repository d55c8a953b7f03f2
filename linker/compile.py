"""Compile an IR module to an object file.

Steps: verify (all errors of the module at once); rename private symbols to
`<module>$<name>` so two modules may each define one; compute each entity's
references and FFI signature keys (so discovery never decodes a body);
encode each body on its own (see `linker.store.codec`); write the index.
Function bodies are renamed as they are encoded, not rebuilt first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from linker.diagnostics import Diagnostic, DiagnosticError, errors_only
from linker.ir import model as ir
from linker.ir.ctypes import lower
from linker.ir.refs import EdgeKind, RefCollector, data_refs
from linker.ir.verify import verify_module
from linker.store.codec import encode_data, encode_func, encode_functype
from linker.object_assembly import MAX_STORED_ZERO_FILL, ObjectAssembly, stored_zero_fill
from linker.output import write_file_atomic as write_file_atomic  # its old home
from linker.object_assembly import ObjectAssembly
from linker.store.lines import encode_lines
from linker.store.objfile import EntityEntry, EntityKind, append_irld_sections, encode_index

if TYPE_CHECKING:   # the parser (and lark) is imported only by what parses text
    from linker.ir.parser import ParsedBodies


def private_name(module: str, name: str) -> str:
    """The link-time name of private symbol `name` of `module`."""
    return f"{module}${name}"


def compile_module(m: ir.Module, parsed: ParsedBodies | None = None) -> bytes:
    """Verify `m` and return its object file bytes; raises DiagnosticError.

    `parsed`, from `linker.ir.parser.parse_module_checked`, spares the verifier
    typing again the function bodies the parser typed (see `verify_module`)."""
    errors = errors_only(verify_module(m, parsed)) + _zero_fill_errors(m)
    if errors:
        raise DiagnosticError(errors)
    return _object_bytes(m, _private_names(m))


def _zero_fill_errors(m: ir.Module) -> list[Diagnostic]:
    """Zero fills an object would have to store byte by byte, beyond the limit."""
    out = []
    for d in m.items:
        if isinstance(d, ir.Data) and stored_zero_fill(d) > MAX_STORED_ZERO_FILL:
            out.append(Diagnostic.error(
                f"data '{d.name}' stores {stored_zero_fill(d)} bytes of zero fill before "
                f"its last item (at most {MAX_STORED_ZERO_FILL}): a zero fill is free only "
                "at the end of a data item; move it there or into a data item of its own",
                d.span))
    return out


# ---------------------------------------------------------------- private renaming


def _private_names(m: ir.Module) -> dict[str, str]:
    """Private definition name -> its link-time name."""
    return {i.name: private_name(m.name, i.name) for i in m.items
            if isinstance(i, (ir.Func, ir.Data, ir.Global)) and i.private}


def rename_privates(m: ir.Module) -> ir.Module:
    """Rename private definitions and every reference to them in the module.

    `compile_module` does not call this for function bodies: it renames while
    encoding them (see `_entity`); the object holds what this returns."""
    mapping = _private_names(m)
    if not mapping:
        return m
    return attrs.evolve(m, items=tuple(_rename_item(i, mapping) for i in m.items))


def _rename_item(item: ir.Item, mp: Mapping[str, str]) -> ir.Item:
    r: Callable[[str], str] = lambda s: mp.get(s, s)  # noqa: E731
    match item:
        case ir.Func():
            blocks = tuple(_rename_block(b, mp) for b in item.blocks)
            return attrs.evolve(item, name=r(item.name), blocks=blocks)
        case ir.Data():
            items = tuple(attrs.evolve(d, symbol=r(d.symbol)) if isinstance(d, ir.AddrItem) else d
                          for d in item.items)
            return attrs.evolve(item, name=r(item.name), items=items)
        case ir.Global():
            return attrs.evolve(item, name=r(item.name))
        case ir.Export() | ir.Ctor() | ir.ForeignExport():
            return attrs.evolve(item, symbol=r(item.symbol))
    return item


# Bodies are rebuilt with plain constructors and unchanged subtrees are
# shared: `attrs.evolve` made renaming the slowest step of compiling.


def _rename_block(b: ir.BasicBlock, mp: Mapping[str, str]) -> ir.BasicBlock:
    stmts = tuple([_rename_stmt(s, mp) for s in b.stmts])
    term = _rename_term(b.term, mp)
    if term is b.term and all(x is y for x, y in zip(stmts, b.stmts)):
        return b
    return ir.BasicBlock(b.label, stmts, term, span=b.span)


def _rename_args(args: tuple[ir.Expr, ...], mp: Mapping[str, str]) -> tuple[ir.Expr, ...]:
    new = tuple([_rename_expr(a, mp) for a in args])
    return args if all(x is y for x, y in zip(new, args)) else new


def _rename_stmt(s: ir.Stmt, mp: Mapping[str, str]) -> ir.Stmt:
    match s:
        case ir.Assign(local=l, value=v):
            v2 = _rename_expr(v, mp)
            return s if v2 is v else ir.Assign(l, v2, span=s.span)
        case ir.Store(op=op, addr=a, value=v, offset=o):
            a2, v2 = _rename_expr(a, mp), _rename_expr(v, mp)
            return s if a2 is a and v2 is v else ir.Store(op, a2, v2, o, span=s.span)
        case ir.Call(dest=d, callee=c, args=args):
            args2 = _rename_args(args, mp)
            if args2 is args and c not in mp:
                return s
            return ir.Call(d, mp.get(c, c), args2, span=s.span)
        case ir.CallIndirect(dest=d, type=ft, target=t, args=args):
            t2, args2 = _rename_expr(t, mp), _rename_args(args, mp)
            return s if t2 is t and args2 is args else ir.CallIndirect(d, ft, t2, args2,
                                                                      span=s.span)
        case ir.GlobalSet(name=n, value=v):
            v2 = _rename_expr(v, mp)
            return s if v2 is v and n not in mp else ir.GlobalSet(mp.get(n, n), v2, span=s.span)
    raise TypeError(s)


def _rename_term(t: ir.Terminator, mp: Mapping[str, str]) -> ir.Terminator:
    match t:
        case ir.Branch(cond=c, then=a, else_=b):
            c2 = _rename_expr(c, mp)
            return t if c2 is c else ir.Branch(c2, a, b, span=t.span)
        case ir.Switch(index=i, targets=ts, default=d):
            i2 = _rename_expr(i, mp)
            return t if i2 is i else ir.Switch(i2, ts, d, span=t.span)
        case ir.Return(value=v) if v is not None:
            v2 = _rename_expr(v, mp)
            return t if v2 is v else ir.Return(v2, span=t.span)
        case ir.TailCall(callee=c, args=args):
            args2 = _rename_args(args, mp)
            return t if args2 is args and c not in mp else ir.TailCall(mp.get(c, c), args2,
                                                                      span=t.span)
        case ir.TailCallIndirect(type=ft, target=tg, args=args):
            tg2, args2 = _rename_expr(tg, mp), _rename_args(args, mp)
            return t if tg2 is tg and args2 is args else ir.TailCallIndirect(ft, tg2, args2,
                                                                            span=t.span)
    return t


_POST = object()  # work-stack mark: the node below has its operands renamed


def _rename_expr(x: ir.Expr, mp: Mapping[str, str]) -> ir.Expr:
    cls = type(x)
    if cls is ir.SymRef:
        assert isinstance(x, ir.SymRef)
        return x if x.symbol not in mp else ir.SymRef(mp[x.symbol], x.offset, span=x.span)
    if cls is ir.GlobalGet:
        assert isinstance(x, ir.GlobalGet)
        return x if x.name not in mp else ir.GlobalGet(mp[x.name], span=x.span)
    if cls is not ir.OpExpr and cls is not ir.Load:
        return x
    # Post-order with an explicit stack: generated expressions nest deeper
    # than Python's recursion limit.
    done: list[ir.Expr] = []
    stack: list[object] = [x]
    while stack:
        node = stack.pop()
        if node is _POST:
            node = stack.pop()
            if isinstance(node, ir.OpExpr):
                n = len(node.args)
                args = tuple(done[len(done) - n:])
                del done[len(done) - n:]
                same = all(a is b for a, b in zip(args, node.args))
                done.append(node if same else ir.OpExpr(node.op, args, span=node.span))
            else:
                assert isinstance(node, ir.Load)
                addr = done.pop()
                done.append(node if addr is node.addr
                            else ir.Load(node.op, addr, node.offset, span=node.span))
            continue
        if isinstance(node, ir.OpExpr):
            stack += (node, _POST)
            stack.extend(reversed(node.args))
        elif isinstance(node, ir.Load):
            stack += (node, _POST, node.addr)
        else:
            assert isinstance(node, (ir.Const, ir.LocalGet, ir.GlobalGet, ir.SymRef, ir.SigRef))
            done.append(_rename_expr(node, mp))
    return done[0]


# ---------------------------------------------------------------- object assembly


def _sig_keys(c: RefCollector, csigs: Mapping[str, str]) -> list[str]:
    return [csigs[n] for n in c.sig_names]


def _renamed_refs(c: RefCollector, mp: Mapping[str, str]) -> list[tuple[str, EdgeKind]]:
    if not mp:
        return list(c.refs)
    return list(dict.fromkeys((mp.get(s, s), k) for s, k in c.refs))


def _entity(item: ir.Item, csigs: Mapping[str, str], mp: Mapping[str, str]) -> EntityEntry | None:
    # Function bodies are renamed while they are encoded and their references
    # (collected from the source body) are renamed after: rebuilding every
    # body just to rename it once cost a third of the compile time.
    match item:
        case ir.Func():
            c = RefCollector()      # filled by the encoder's walk of the body
            body = encode_func(item, mp, c)
            return EntityEntry(mp.get(item.name, item.name), EntityKind.FUNC, item.private,
                               encode_functype(item.type), _renamed_refs(c, mp),
                               _sig_keys(c, csigs), item.deferred_error, body)
        case ir.Data():
            d = _rename_item(item, mp) if mp else item
            assert isinstance(d, ir.Data)
            c = data_refs(d)
            return EntityEntry(d.name, EntityKind.DATA, d.private,
                               [d.size, d.align, d.readonly], list(c.refs), [],
                               None, encode_data(d))
        case ir.Global():
            return EntityEntry(mp.get(item.name, item.name), EntityKind.GLOBAL, item.private,
                               [item.type.value, item.init], [], [], None)
        case ir.ImportFunc():
            return EntityEntry(item.name, EntityKind.IMPORT, False,
                               [item.module, item.field, encode_functype(item.type)], [], [], None)
        case ir.ForeignImport(module=""):
            return None      # a C function of the link: an extern reference (`_object_bytes`)
        case ir.ForeignImport():
            return EntityEntry(item.name, EntityKind.FOREIGN_IMPORT, False,
                               [item.module, item.field, item.sig.key()], [], [], None)
    return None


def _object_bytes(m: ir.Module, mp: Mapping[str, str]) -> bytes:
    """The relocatable object: code generated now, the IR and index beside it."""
    csigs = {d.name: d.sig.key() for d in m.csigs}
    entities = [e for e in (_entity(i, csigs, mp) for i in m.items) if e is not None]
    extern_funcs: list[tuple[str, Any]] = [(x.name, encode_functype(x.type)) for x in m.externs]
    # A foreign import without a host module names a C function the link
    # defines: its declared type, checked against the definition, is the lowering.
    extern_funcs += [(x.name, encode_functype(lower(x.sig))) for x in m.items
                     if isinstance(x, ir.ForeignImport) and x.module == ""]
    obj = ObjectAssembly(m, mp, csigs)
    code = obj.build()
    standard = obj.finish()
    # Defined functions are in entity order: each record says where its
    # relocations start, so a link decodes no other function's.
    ranges = iter(obj.w.function_reloc_ranges())
    for e in entities:
        if e.kind is EntityKind.FUNC:
            e.texts = code.texts.get(e.name, [])
            e.relocs = next(ranges)
    index, bodies = encode_index(
        m.name, entities,
        exports=[(x.name, mp.get(x.symbol, x.symbol)) for x in m.exports],
        ctors=[(mp.get(x.symbol, x.symbol), x.priority) for x in m.ctors],
        extern_funcs=extern_funcs,
        extern_globals=[(x.name, x.type.value) for x in m.items if isinstance(x, ir.ExternGlobal)],
        csigs=[(d.name, d.sig.key(), d.closure_pool) for d in m.csigs],
        foreign_exports=[(x.name, mp.get(x.symbol, x.symbol), x.sig.key())
                         for x in m.foreign_exports],
        strings=code.strings)
    return append_irld_sections(standard, index, bodies,
                                encode_lines(code.lines) if code.lines else None)
