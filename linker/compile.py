"""Compile an IR module to an object file.

Steps: verify (all errors of the module at once); rename private symbols to
`<module>$<name>` so two modules may each define one; compute each entity's
references and FFI signature keys (so discovery never decodes a body);
encode each body on its own (see `linker.store.codec`); write the index.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from linker.diagnostics import DiagnosticError, errors_only
from linker.ir import model as ir
from linker.ir.refs import RefCollector, data_refs, func_refs
from linker.ir.verify import verify_module
from linker.store.codec import encode_data, encode_func, encode_functype
from linker.store.objfile import EntityEntry, EntityKind, write_object_bytes


def private_name(module: str, name: str) -> str:
    """The link-time name of private symbol `name` of `module`."""
    return f"{module}${name}"


def compile_module(m: ir.Module) -> bytes:
    """Verify `m` and return its object file bytes; raises DiagnosticError."""
    errors = errors_only(verify_module(m))
    if errors:
        raise DiagnosticError(errors)
    m = rename_privates(m)
    return _object_bytes(m)


def write_file_atomic(path: str, data: bytes) -> None:
    """Write via a temporary file and rename, so a failure never leaves a partial file."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------- private renaming


def rename_privates(m: ir.Module) -> ir.Module:
    """Rename private definitions and every reference to them in the module."""
    names = {i.name for i in m.items
             if isinstance(i, (ir.Func, ir.Data, ir.Global)) and i.private}
    if not names:
        return m
    mapping = {n: private_name(m.name, n) for n in names}
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


def _rename_block(b: ir.BasicBlock, mp: Mapping[str, str]) -> ir.BasicBlock:
    return attrs.evolve(b, stmts=tuple(_rename_stmt(s, mp) for s in b.stmts),
                        term=_rename_term(b.term, mp))


def _rename_stmt(s: ir.Stmt, mp: Mapping[str, str]) -> ir.Stmt:
    e = lambda x: _rename_expr(x, mp)  # noqa: E731
    match s:
        case ir.Assign(value=v):
            return attrs.evolve(s, value=e(v))
        case ir.Store(addr=a, value=v):
            return attrs.evolve(s, addr=e(a), value=e(v))
        case ir.Call(callee=c, args=args):
            return attrs.evolve(s, callee=mp.get(c, c), args=tuple(map(e, args)))
        case ir.CallIndirect(target=t, args=args):
            return attrs.evolve(s, target=e(t), args=tuple(map(e, args)))
        case ir.GlobalSet(name=n, value=v):
            return attrs.evolve(s, name=mp.get(n, n), value=e(v))
    raise TypeError(s)


def _rename_term(t: ir.Terminator, mp: Mapping[str, str]) -> ir.Terminator:
    e = lambda x: _rename_expr(x, mp)  # noqa: E731
    match t:
        case ir.Branch(cond=c):
            return attrs.evolve(t, cond=e(c))
        case ir.Switch(index=i):
            return attrs.evolve(t, index=e(i))
        case ir.Return(value=v) if v is not None:
            return attrs.evolve(t, value=e(v))
        case ir.TailCall(callee=c, args=args):
            return attrs.evolve(t, callee=mp.get(c, c), args=tuple(map(e, args)))
        case ir.TailCallIndirect(target=tg, args=args):
            return attrs.evolve(t, target=e(tg), args=tuple(map(e, args)))
    return t


def _rename_expr(x: ir.Expr, mp: Mapping[str, str]) -> ir.Expr:
    match x:
        case ir.SymRef(symbol=s) if s in mp:
            return attrs.evolve(x, symbol=mp[s])
        case ir.GlobalGet(name=n) if n in mp:
            return attrs.evolve(x, name=mp[n])
        case ir.OpExpr(args=args):
            return attrs.evolve(x, args=tuple(_rename_expr(a, mp) for a in args))
        case ir.Load(addr=a):
            return attrs.evolve(x, addr=_rename_expr(a, mp))
    return x


# ---------------------------------------------------------------- object assembly


def _sig_keys(c: RefCollector, csigs: Mapping[str, str]) -> list[str]:
    return [csigs[n] for n in c.sig_names]


def _entity(item: ir.Item, csigs: Mapping[str, str]) -> EntityEntry | None:
    match item:
        case ir.Func():
            c = func_refs(item)
            return EntityEntry(item.name, EntityKind.FUNC, item.private,
                               encode_functype(item.type), list(c.refs), _sig_keys(c, csigs),
                               item.deferred_error, encode_func(item))
        case ir.Data():
            c = data_refs(item)
            return EntityEntry(item.name, EntityKind.DATA, item.private,
                               [item.size, item.align, item.readonly], list(c.refs), [],
                               None, encode_data(item))
        case ir.Global():
            return EntityEntry(item.name, EntityKind.GLOBAL, item.private,
                               [item.type.value, item.init], [], [], None)
        case ir.ImportFunc():
            return EntityEntry(item.name, EntityKind.IMPORT, False,
                               [item.module, item.field, encode_functype(item.type)], [], [], None)
        case ir.ForeignImport():
            return EntityEntry(item.name, EntityKind.FOREIGN_IMPORT, False,
                               [item.module, item.field, item.sig.key()], [], [], None)
    return None


def _object_bytes(m: ir.Module) -> bytes:
    csigs = {d.name: d.sig.key() for d in m.csigs}
    entities = [e for e in (_entity(i, csigs) for i in m.items) if e is not None]
    extern_funcs: list[tuple[str, Any]] = [(x.name, encode_functype(x.type)) for x in m.externs]
    return write_object_bytes(
        m.name, entities,
        exports=[(x.name, x.symbol) for x in m.exports],
        ctors=[(x.symbol, x.priority) for x in m.ctors],
        extern_funcs=extern_funcs,
        extern_globals=[(x.name, x.type.value) for x in m.of_type(ir.ExternGlobal)],  # type: ignore[attr-defined]
        csigs=[(d.name, d.sig.key(), d.closure_pool) for d in m.csigs],
        foreign_exports=[(x.name, x.symbol, x.sig.key()) for x in m.foreign_exports])
