"""`irld dump`: show what an object file holds.

Prints the module name, the index (one entry per entity: kind, name,
visibility, type, references with their edge kinds, FFI signatures, deferred
error, body size), the exports, ctors, extern declarations, C signatures and
foreign exports, then the bodies as IR text.  `--index-only` decodes no body
(what discovery sees); `--json` prints the same as one JSON object.  A
corrupted, truncated or newer-version file is refused with its name and the
reason (exit status 1), before anything is printed.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from linker.ir import model as ir
from linker.ir.ctypes import CSig, lower, parse_key
from linker.store.objfile import VERSION, EntityKind, EntityRecord, ObjectError, ObjectFile


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dump", help="show the index and bodies of an object file (.o)",
        description="Show an object file: its index, declarations and bodies as IR text.")
    p.add_argument("object", metavar="FILE.o", help="object file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--index-only", action="store_true",
                   help="print the index only (decode no body)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    obj = ObjectFile.open(args.object)
    text: str | None = None
    if not args.index_only:
        # Decode (and check) every body before printing anything, so a
        # corrupt body is refused with no partial output.
        text = _print_ir(rebuild_module(obj))
    if args.json:
        print(json.dumps(to_json(obj, text), indent=2))
    else:
        print(to_text(obj, text), end="")
    return 0


def _print_ir(m: ir.Module) -> str:
    from linker.ir.printer import print_module
    return print_module(m)


# ---------------------------------------------------------------- rebuilding the module


def rebuild_module(obj: ObjectFile) -> ir.Module:
    """The module an object holds (private names as renamed), decoding every body."""
    items: list[ir.Item] = []
    for rec in obj.records:
        match rec.kind:
            case EntityKind.FUNC | EntityKind.DATA:
                items.append(obj.body(rec))
            case EntityKind.GLOBAL:
                vt, init = rec.info
                items.append(ir.Global(rec.name, vt, init, rec.private))
            case EntityKind.IMPORT:
                module, field, ft = rec.info
                items.append(ir.ImportFunc(rec.name, module, field, ft))
            case EntityKind.FOREIGN_IMPORT:
                module, field, sig = rec.info
                items.append(ir.ForeignImport(rec.name, module, field, sig))
    items += [ir.ExternFunc(n, t) for n, t in obj.extern_funcs.items()]
    items += [ir.ExternGlobal(n, t) for n, t in obj.extern_globals.items()]
    for n, (k, pool) in obj.csigs.items():
        try:
            items.append(ir.CSigDecl(n, parse_key(k), pool))
        except ValueError as exc:
            raise ObjectError(obj.name, f"corrupt object index: {exc}") from None
    items += [ir.Export(n, s) for n, s in obj.exports]
    items += [ir.Ctor(s, p) for s, p in obj.ctors]
    items += [ir.ForeignExport(n, s, sig) for n, s, sig in obj.foreign_exports]
    return ir.Module(obj.module, tuple(items))


# ---------------------------------------------------------------- describing the index


def _visibility(rec: EntityRecord) -> str:
    return "private" if rec.private else "global"


def _type_text(rec: EntityRecord) -> str:
    match rec.kind:
        case EntityKind.FUNC:
            return str(rec.info)
        case EntityKind.IMPORT:
            module, field, ft = rec.info
            return f"{ft} from \"{module}\" \"{field}\""
        case EntityKind.FOREIGN_IMPORT:
            module, field, sig = rec.info
            return f"ccall {sig} (wasm {lower(sig)}) from \"{module}\" \"{field}\""
        case EntityKind.DATA:
            size, align, readonly = rec.info
            ro = ", readonly" if readonly else ""
            return f"{size} bytes, align {align}{ro}"
        case EntityKind.GLOBAL:
            vt, init = rec.info
            return f"{vt} = {init!r}"
    return ""


def _json_num(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    return v


def _entity_json(rec: EntityRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"name": rec.name, "kind": rec.kind.value,
                           "visibility": _visibility(rec), "type": _type_text(rec)}
    match rec.kind:
        case EntityKind.FUNC:
            out["params"] = [t.value for t in rec.info.params]
            out["result"] = None if rec.info.result is None else rec.info.result.value
        case EntityKind.IMPORT:
            out["module"], out["field"] = rec.info[0], rec.info[1]
        case EntityKind.FOREIGN_IMPORT:
            out["module"], out["field"] = rec.info[0], rec.info[1]
            out["csig"] = rec.info[2].key()
        case EntityKind.DATA:
            out["size"], out["align"], out["readonly"] = rec.info
        case EntityKind.GLOBAL:
            out["init"] = _json_num(rec.info[1])
    out["refs"] = [{"symbol": s, "edge": k.value} for s, k in rec.refs]
    out["sigs"] = list(rec.sigs)
    out["deferred_error"] = rec.deferred_error
    out["body_bytes"] = rec.body_length
    return out


def to_json(obj: ObjectFile, ir_text: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "file": obj.name, "format_version": VERSION, "module": obj.module,
        "entities": [_entity_json(r) for r in obj.records],
        "exports": [{"name": n, "symbol": s} for n, s in obj.exports],
        "ctors": [{"symbol": s, "priority": p} for s, p in obj.ctors],
        "extern_funcs": [{"name": n, "type": str(t)} for n, t in obj.extern_funcs.items()],
        "extern_globals": [{"name": n, "type": t.value} for n, t in obj.extern_globals.items()],
        "csigs": [{"name": n, "key": k, "closure_pool": p} for n, (k, p) in obj.csigs.items()],
        "foreign_exports": [{"name": n, "symbol": s, "csig": sig.key()}
                            for n, s, sig in obj.foreign_exports],
        "bodies_decoded": obj.stats.bodies_decoded,
    }
    if ir_text is not None:
        out["ir"] = ir_text
    return out


def to_text(obj: ObjectFile, ir_text: str | None) -> str:
    lines = [f"{obj.name}: object format {VERSION}", f"module {obj.module}", "",
             f"index ({len(obj.records)} entities):"]
    for rec in obj.records:
        body = f", body {rec.body_length} bytes" if rec.body_length else ""
        lines.append(f"  {rec.kind.value:<8} {rec.name}  [{_visibility(rec)}]  "
                     f"{_type_text(rec)}{body}")
        if rec.refs:
            refs = ", ".join(f"{s} ({k.value})" for s, k in rec.refs)
            lines.append(f"      refs: {refs}")
        if rec.sigs:
            lines.append(f"      ffi sigs: {', '.join(rec.sigs)}")
        if rec.deferred_error is not None:
            lines.append(f"      deferred error: {rec.deferred_error}")
    sections: list[tuple[str, list[str]]] = [
        ("exports", [f"\"{n}\" -> {s}" for n, s in obj.exports]),
        ("ctors", [f"{s} (priority {p})" for s, p in obj.ctors]),
        ("extern funcs", [f"{n} {t}" for n, t in obj.extern_funcs.items()]),
        ("extern globals", [f"{n}: {t}" for n, t in obj.extern_globals.items()]),
        ("C signatures", [f"{n} = {_csig_text(k)}" + ("" if p is None else f" pool {p}")
                          for n, (k, p) in obj.csigs.items()]),
        ("foreign exports", [f"\"{n}\" -> {s}: {sig}" for n, s, sig in obj.foreign_exports]),
    ]
    for title, entries in sections:
        if entries:
            lines.append("")
            lines.append(f"{title}:")
            lines.extend(f"  {e}" for e in entries)
    if ir_text is not None:
        lines.append("")
        lines.append("bodies:")
        lines.append(ir_text.rstrip("\n"))
    return "\n".join(lines) + "\n"


def _csig_text(key: str) -> str:
    try:
        sig: CSig = parse_key(key)
    except ValueError:
        return f"<malformed key {key!r}>"
    return f"{sig} [{key}]"
