"""`irld dump`: show what an object file holds.

Prints the module name, the index (one entry per entity: kind, name,
visibility, type, references with their edge kinds, FFI signatures, deferred
error, body size), the exports, ctors, extern declarations, C signatures and
foreign exports, then the standard WebAssembly object sections (each
section with its size, the symbol table, the data segments, relocation
counts per target section, init functions, target features), then the
bodies as IR text.  `--index-only` decodes no body (what discovery sees; the
standard sections are parsed, which decodes no IR); `--json` prints the same
as one JSON object, the standard sections under "wasm".  A corrupted,
truncated or newer-version file is refused with its name and the reason
(exit status 1), before anything is printed.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from linker.ir import model as ir
from linker.ir.ctypes import CSig, lower, parse_key
from linker.store.objfile import VERSION, EntityKind, EntityRecord, ObjectError, ObjectFile
from linker.store.wasmobj import (WASM_SEG_FLAG_RETAIN, WASM_SEG_FLAG_STRINGS, WASM_SEG_FLAG_TLS,
                                  WASM_SYM_ABSOLUTE, WASM_SYM_BINDING_LOCAL,
                                  WASM_SYM_BINDING_WEAK, WASM_SYM_EXPLICIT_NAME,
                                  WASM_SYM_EXPORTED, WASM_SYM_NO_STRIP, WASM_SYM_TLS,
                                  WASM_SYM_UNDEFINED, WASM_SYM_VISIBILITY_HIDDEN, SymKind,
                                  WasmObject, WasmObjectError)
from linker.wasm.leb128 import uleb


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
    # Parse (and check) the standard sections and, unless --index-only, decode
    # every body before printing anything, so a corrupt file is refused with
    # no partial output.
    wasm = describe_wasm(obj)
    text: str | None = None
    if not args.index_only:
        text = _print_ir(rebuild_module(obj))
    if args.json:
        print(json.dumps(to_json(obj, text, wasm), indent=2))
    else:
        print(to_text(obj, text, wasm), end="")
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


def to_json(obj: ObjectFile, ir_text: str | None,
            wasm: dict[str, Any] | None = None) -> dict[str, Any]:
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
        "wasm": wasm if wasm is not None else describe_wasm(obj),
        "bodies_decoded": obj.stats.bodies_decoded,
    }
    if ir_text is not None:
        out["ir"] = ir_text
    return out


def to_text(obj: ObjectFile, ir_text: str | None, wasm: dict[str, Any] | None = None) -> str:
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
    lines += _wasm_text(wasm if wasm is not None else describe_wasm(obj))
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


# ---------------------------------------------------------------- the standard sections


SECTION_NAMES: dict[int, str] = {
    0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global",
    7: "export", 8: "start", 9: "element", 10: "code", 11: "data", 12: "datacount", 13: "tag"}
SYMBOL_KINDS: dict[SymKind, str] = {
    SymKind.FUNCTION: "func", SymKind.DATA: "data", SymKind.GLOBAL: "global",
    SymKind.SECTION: "section", SymKind.TAG: "tag", SymKind.TABLE: "table"}
_SYM_FLAGS: tuple[tuple[int, str], ...] = (
    (WASM_SYM_VISIBILITY_HIDDEN, "hidden"), (WASM_SYM_UNDEFINED, "undefined"),
    (WASM_SYM_EXPORTED, "exported"), (WASM_SYM_EXPLICIT_NAME, "explicit_name"),
    (WASM_SYM_NO_STRIP, "no_strip"), (WASM_SYM_TLS, "tls"), (WASM_SYM_ABSOLUTE, "absolute"))
_KNOWN_SYM_FLAGS = (WASM_SYM_BINDING_WEAK | WASM_SYM_BINDING_LOCAL
                    | sum(bit for bit, _ in _SYM_FLAGS))
_SEG_FLAGS: tuple[tuple[int, str], ...] = (
    (WASM_SEG_FLAG_STRINGS, "strings"), (WASM_SEG_FLAG_TLS, "tls"),
    (WASM_SEG_FLAG_RETAIN, "retain"))


def symbol_flags(flags: int) -> list[str]:
    """The binding (global, local or weak), then each other flag set, by name."""
    binding = ("weak" if flags & WASM_SYM_BINDING_WEAK else
               "local" if flags & WASM_SYM_BINDING_LOCAL else "global")
    words = [binding] + [word for bit, word in _SYM_FLAGS if flags & bit]
    if flags & WASM_SYM_BINDING_WEAK and flags & WASM_SYM_BINDING_LOCAL:
        words.append("local")
    if flags & ~_KNOWN_SYM_FLAGS:
        words.append(f"0x{flags & ~_KNOWN_SYM_FLAGS:x}")
    return words


def describe_wasm(obj: ObjectFile) -> dict[str, Any]:
    """The object's standard sections as plain data (the "wasm" key of `--json`).

    Parses the code, data and linking sections and the relocations; decodes
    no IR body.  Raises `ObjectError` for a malformed object.
    """
    w = obj.wasm()
    try:
        w.load_relocs()
    except WasmObjectError as exc:
        raise ObjectError(obj.name, exc.reason) from None
    return {
        "sections": [_section_json(i, sid, name, start, end)
                     for i, (sid, name, start, end) in enumerate(w.sections)],
        "symbols": [_symbol_json(w, i) for i in range(len(w.symbols))],
        "segments": [{"index": i, "name": s.name, "p2align": s.alignment,
                      "flags": [word for bit, word in _SEG_FLAGS if s.flags & bit],
                      "size": s.size} for i, s in enumerate(w.segments)],
        "relocations": _reloc_counts(w),
        "init_funcs": [{"priority": p, "symbol_index": k, "symbol": _sym_name(w, k)}
                       for p, k in w.init_funcs],
        "target_features": [prefix + name for prefix, name in w.target_features],
    }


def _section_json(index: int, sid: int, name: str, start: int, end: int) -> dict[str, Any]:
    size = end - start
    if sid == 0:  # the section's size includes its name
        raw = name.encode()
        size += len(uleb(len(raw))) + len(raw)
    return {"index": index, "id": sid, "name": name or SECTION_NAMES.get(sid, f"id {sid}"),
            "custom": sid == 0, "size": size}


def _sym_name(w: WasmObject, k: int) -> str:
    return w.symbols[k].name if 0 <= k < len(w.symbols) else f"<symbol {k}>"


def _symbol_json(w: WasmObject, i: int) -> dict[str, Any]:
    s = w.symbols[i]
    out: dict[str, Any] = {"index": i, "kind": SYMBOL_KINDS.get(s.kind, str(int(s.kind))),
                           "name": s.name, "flags": symbol_flags(s.flags),
                           "flags_value": s.flags}
    match s.kind:
        case SymKind.DATA:
            if not s.undefined:
                if s.absolute:
                    out["address"] = s.offset
                else:
                    out["segment"] = s.index
                    out["segment_name"] = (w.segments[s.index].name
                                           if 0 <= s.index < len(w.segments) else None)
                    out["offset"] = s.offset
                out["size"] = s.size
        case SymKind.SECTION:
            out["section"] = s.index
        case _:
            out[SYMBOL_KINDS.get(s.kind, "index")] = s.index
            if s.undefined and s.import_module is not None:
                out["import"] = {"module": s.import_module, "field": s.import_name}
    return out


def _reloc_counts(w: WasmObject) -> list[dict[str, Any]]:
    """Relocation counts by target section: code, data, then custom sections."""
    out: list[dict[str, Any]] = []
    targets: list[tuple[int | None, int]] = [(w.code_section, len(w.code_relocs)),
                                             (w.data_section, len(w.data_relocs))]
    targets += [(k, len(rs)) for k, rs in sorted(w.custom_relocs.items())]
    for index, count in targets:
        if index is None or not count:
            continue
        sid, name, _start, _end = w.sections[index]
        out.append({"section": name or SECTION_NAMES.get(sid, f"id {sid}"),
                    "section_index": index, "count": count})
    return out


def _symbol_text(sym: dict[str, Any]) -> str:
    where = ""
    kind = sym["kind"]
    if "import" in sym:
        where = f"  import \"{sym['import']['module']}\" \"{sym['import']['field']}\""
        where += f" ({kind} {sym[kind]})" if kind in sym else ""
    elif "segment" in sym:
        seg = "" if sym["segment_name"] is None else f" ({sym['segment_name']})"
        where = f"  segment {sym['segment']}{seg} offset {sym['offset']} size {sym['size']}"
    elif "address" in sym:
        where = f"  address {sym['address']} size {sym['size']}"
    elif "section" in sym:
        where = f"  section {sym['section']}"
    elif kind in sym:
        where = f"  {kind} {sym[kind]}"
    return (f"  {sym['index']:>3}  {kind:<7} {sym['name']}  [{', '.join(sym['flags'])}]"
            f"{where}")


def _wasm_text(wasm: dict[str, Any]) -> list[str]:
    lines = ["", "sections:"]
    for sec in wasm["sections"]:
        name = f"custom \"{sec['name']}\"" if sec["custom"] else sec["name"]
        lines.append(f"  {sec['index']:>3}  {sec['id']:>2} {name:<24} {sec['size']:>8} bytes")
    lines += ["", f"symbols ({len(wasm['symbols'])}):"]
    lines += [_symbol_text(sym) for sym in wasm["symbols"]]
    blocks: list[tuple[str, list[str]]] = [
        (f"segments ({len(wasm['segments'])})",
         [f"  {s['index']:>3}  {s['name']}  {s['size']} bytes, align {1 << s['p2align']}"
          + (f" [{', '.join(s['flags'])}]" if s["flags"] else "") for s in wasm["segments"]]),
        ("relocations", [f"  {r['section']} (section {r['section_index']}): {r['count']}"
                         for r in wasm["relocations"]]),
        ("init functions", [f"  {f['symbol']} (symbol {f['symbol_index']}, "
                            f"priority {f['priority']})" for f in wasm["init_funcs"]]),
        ("target features", [f"  {f}" for f in wasm["target_features"]]),
    ]
    for title, entries in blocks:
        if entries:
            lines += ["", f"{title}:", *entries]
    return lines
