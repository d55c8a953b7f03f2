"""Live-code discovery: roots, reasons, shortest why-chains, undefined symbols, laziness."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest

from linker.codegen import TailCallMode
from linker.compile import compile_module
from linker.diagnostics import DiagnosticError
from linker.driver import PHASES, LinkOptions, link
from linker.ir.ctypes import parse_key
from linker.ir.model import (AddrItem, Assign, BasicBlock, Call, Const, CSigDecl, Ctor, Data, Export,
                             ExternFunc, ExternGlobal, Func, GlobalGet, Global, ImportFunc,
                             IntItem, Item, Module, Param, Return, SigRef, SymRef, TailCall)
from linker.ir.refs import EdgeKind
from linker.ir.types import FuncType, ValType
from linker.marklive import (CallEdge, LiveSet, Reason, UndefinedImport, dead_entities, discover,
                             gc_section_lines, undefined_diagnostics)
from linker.store.archive import archive_bytes
from linker.store.objfile import EntityKind
from linker.store.store import Store

I32 = ValType.I32
K = EdgeKind


def func(name: str, *calls: str, tail: str | None = None, addr: Sequence[str] = (),
         gets: Sequence[str] = (), sigs: Sequence[str] = (), private: bool = False,
         error: str | None = None, types: dict[str, FuncType] | None = None) -> Func:
    """A function calling `calls`, with zero arguments of the types in `types` (default ())."""
    if error is not None:
        return Func(name, (), None, private=private, deferred_error=error)
    types = types or {}

    def args(callee: str) -> tuple[Const, ...]:
        t = types.get(callee, FuncType())
        return tuple(Const(p, 0) for p in t.params)

    stmts: list[object] = [Call(None, c, args(c)) for c in calls]
    stmts += [Assign("p", SymRef(a)) for a in addr]
    stmts += [Assign("p", GlobalGet(g)) for g in gets]
    stmts += [Assign("p", SigRef(s)) for s in sigs]
    locals_ = (Param("p", I32),) if addr or gets or sigs else ()
    term = TailCall(tail, args(tail)) if tail is not None else Return()
    block = BasicBlock("entry", tuple(stmts), term)  # type: ignore[arg-type]
    return Func(name, (), None, locals_, (block,), private=private)


def module(name: str, *items: Item) -> bytes:
    """Compile a module, declaring `extern func`/`extern global` for what it uses elsewhere."""
    defined = {i.name for i in items
               if isinstance(i, (Func, Data, Global, ImportFunc, ExternFunc, ExternGlobal))}
    funcs: dict[str, None] = {}
    globals_: dict[str, None] = {}
    for f in items:
        if not isinstance(f, Func):
            continue
        for b in f.blocks:
            for s in b.stmts:
                if isinstance(s, Call):
                    funcs.setdefault(s.callee, None)
                if isinstance(s, Assign) and isinstance(s.value, GlobalGet):
                    globals_.setdefault(s.value.name, None)
            if isinstance(b.term, TailCall):
                funcs.setdefault(b.term.callee, None)
    externs: list[Item] = [ExternFunc(n, FuncType()) for n in funcs if n not in defined]
    externs += [ExternGlobal(n, I32) for n in globals_ if n not in defined]
    return compile_module(Module(name, tuple(items) + tuple(externs)))


class Files:
    def __init__(self, root: Path) -> None:
        self.root = root

    def obj(self, name: str, *items: Item) -> str:
        path = self.root / f"{name}.o"
        path.write_bytes(module(name, *items))
        return str(path)

    def ar(self, name: str, *members: tuple[str, Sequence[Item]]) -> str:
        path = self.root / name
        path.write_bytes(archive_bytes([(f"{m}.o", module(m, *items))
                                        for m, items in members]))
        return str(path)


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def live_names(ls: LiveSet) -> list[str]:
    return list(ls.live)


def reasons(ls: LiveSet) -> dict[str, tuple[str | None, EdgeKind]]:
    return {s: (r.parent, r.kind) for s, (_, r) in ls.live.items()}


def undefined_text(ls: LiveSet) -> str:
    return DiagnosticError(undefined_diagnostics(ls)).render()


# ---------------------------------------------------------------- roots and reasons


def test_reasons_in_bfs_order(files: Files) -> None:
    a = files.obj("a", func("main", "f", tail="g"), func("f", addr=["d"], gets=["counter"]),
                  func("g", "f"), Data("d", (AddrItem("h"),)), func("h"),
                  Global("counter", I32), func("dead", "f"))
    ls = discover(Store.open([a]))
    assert reasons(ls) == {
        "main": (None, K.ENTRY), "f": ("main", K.CALL), "g": ("main", K.TAIL_CALL),
        "d": ("f", K.ADDRESS), "counter": ("f", K.GLOBAL), "h": ("d", K.DATA_REF)}
    assert [r.symbol for r in ls.roots] == ["main"]
    assert ls.chain("h") == [("h", Reason("d", K.DATA_REF)), ("d", Reason("f", K.ADDRESS)),
                             ("f", Reason("main", K.CALL)), ("main", Reason(None, K.ENTRY))]
    assert ls.modules == ("a",)
    assert ls.unresolved == ()


def test_entry_option(files: Files) -> None:
    a = files.obj("a", func("main", "f"), func("start", "g"), func("f"), func("g"))
    store = Store.open([a])
    assert live_names(discover(store, entry="start")) == ["start", "g"]
    assert live_names(discover(store, entry=None)) == []
    assert live_names(discover(store)) == ["main", "f"]


def test_missing_entry_is_an_error_unless_no_entry(files: Files) -> None:
    a = files.obj("a", func("f"))
    ls = discover(Store.open([a]))
    assert undefined_text(ls) == ("error: entry symbol not defined: main\n"
                                  ">>> pass --no-entry to link without one")
    assert discover(Store.open([a]), entry=None).unresolved == ()


def test_export_and_root_options(files: Files) -> None:
    lib = files.ar("lib.a", ("m", (func("lib_f", "lib_g"), func("lib_g"))),
                   ("n", (func("lib_h"),)))
    a = files.obj("a", func("f"), func("g"))
    ls = discover(Store.open([a, lib]), entry=None, exports=["f"], roots=["lib_f", "g"])
    assert reasons(ls) == {"f": (None, K.EXPORT), "lib_f": (None, K.ROOT),
                           "g": (None, K.ROOT), "lib_g": ("lib_f", K.CALL)}
    assert [(r.symbol, r.kind, r.origin) for r in ls.roots] == [
        ("f", K.EXPORT, "--export"), ("lib_f", K.ROOT, "--root"), ("g", K.ROOT, "--root")]


def test_object_exports_are_roots(files: Files) -> None:
    a = files.obj("a", func("main"), func("api", "helper"), func("helper"),
                  Export("the_api", "api"))
    ls = discover(Store.open([a]))
    assert reasons(ls) == {"main": (None, K.ENTRY), "api": (None, K.EXPORT),
                           "helper": ("api", K.CALL)}
    assert ls.roots[1].origin == f'export "the_api" in {a}'


def test_member_exports_are_roots_only_when_pulled(files: Files) -> None:
    lib = files.ar("lib.a",
                   ("used", (func("used_f"), func("used_api"), Export("api1", "used_api"))),
                   ("unused", (func("unused_f"), func("unused_api"),
                               Export("api2", "unused_api"))))
    a = files.obj("a", func("main", "used_f"))
    store = Store.open([a, lib])
    ls = discover(store)
    assert reasons(ls) == {"main": (None, K.ENTRY), "used_f": ("main", K.CALL),
                           "used_api": ("used_f", K.EXPORT)}
    assert store.archives[0].is_loaded(0) and not store.archives[0].is_loaded(1)


def test_runtime_symbols_are_roots(files: Files) -> None:
    a = files.obj("a", func("main"), func("rt_alloc"))
    ls = discover(Store.open([a]), runtime=["rt_alloc"])
    assert reasons(ls)["rt_alloc"] == (None, K.RUNTIME)


# ---------------------------------------------------------------- ctors


def test_ctor_liveness_follows_module_liveness(files: Files) -> None:
    a = files.obj("a", func("main", "b_f"))
    b = files.obj("b", func("b_f"), func("b_init", "b_helper"), func("b_helper"),
                  Ctor("b_init"))
    c = files.obj("c", func("c_f"), func("c_init"), Ctor("c_init"))
    lib = files.ar("lib.a", ("d", (func("d_f"), func("d_init"), Ctor("d_init", 10))),
                   ("e", (func("e_f"), func("e_init"), Ctor("e_init"))))
    x = files.obj("x", func("x_f", "d_f"))
    store = Store.open([a, b, c, x, lib])
    ls = discover(store)
    assert reasons(ls) == {"main": (None, K.ENTRY), "b_f": ("main", K.CALL),
                           "b_init": ("b_f", K.CTOR), "b_helper": ("b_init", K.CALL)}
    assert ls.modules == ("a", "b")
    # d is pulled (its ctor is live) only when something live references it.
    ls2 = discover(Store.open([a, b, c, x, lib]), roots=["x_f"])
    assert reasons(ls2)["d_init"] == ("d_f", K.CTOR)
    assert "e_init" not in ls2.live and "c_init" not in ls2.live


def test_ctor_alone_does_not_make_its_module_live(files: Files) -> None:
    a = files.obj("a", func("main"))
    b = files.obj("b", func("b_init", "main"), Ctor("b_init"))
    ls = discover(Store.open([a, b]))
    assert live_names(ls) == ["main"]


# ---------------------------------------------------------------- undefined symbols


def test_all_undefined_symbols_reported_with_chains(files: Files) -> None:
    main = files.obj("main", func("main", "foo_user", "bar_user"))
    a = files.obj("a", func("foo_user", "foo"), func("bar_user", "mid"),
                  func("unreached", "nowhere"))
    lib = files.ar("lib.a", ("b", (func("mid", "bar", "foo", tail="bar"),)))
    ls = discover(Store.open([main, a, lib]))
    assert [u.symbol for u in ls.unresolved] == ["foo", "bar"]
    assert undefined_text(ls) == (
        "error: undefined symbol: foo\n"
        f">>> referenced by foo_user ({a})\n"
        f">>> referenced by main ({main})\n"
        ">>> referenced 1 more times\n"
        "error: undefined symbol: bar\n"
        f">>> referenced by mid ({lib}(b.o))\n"
        f">>> referenced by bar_user ({a})\n"
        f">>> referenced by main ({main})\n"
        ">>> referenced 1 more times")


def test_undefined_roots(files: Files) -> None:
    a = files.obj("a", func("main"), Export("api", "nothere"), ExternFunc("nothere", FuncType()))
    ls = discover(Store.open([a]), exports=["gone"], roots=["lost"], allow_undefined=True)
    assert undefined_text(ls) == (
        "error: undefined symbol: gone\n>>> referenced by --export\n"
        "error: undefined symbol: lost\n>>> referenced by --root\n"
        f'error: undefined symbol: nothere\n>>> referenced by export "api" in {a}')


def test_allow_undefined(files: Files) -> None:
    t = FuncType((I32,), I32)
    a = files.obj("a", func("main", "host_fn", addr=["host_data", "ptr_fn"], types={"host_fn": t}),
                  ExternFunc("host_fn", t), ExternFunc("ptr_fn", FuncType((), I32)))
    store = Store.open([a])
    strict = discover(store)
    assert [u.symbol for u in strict.unresolved] == ["host_fn", "host_data", "ptr_fn"]
    ls = discover(store, allow_undefined=True)
    assert ls.unresolved == ()
    assert dict(ls.undefined_imports) == {
        "host_fn": UndefinedImport("host_fn", "env", "host_fn", t, Reason("main", K.CALL)),
        "host_data": UndefinedImport("host_data", "env", "host_data", None,
                                     Reason("main", K.ADDRESS)),
        "ptr_fn": UndefinedImport("ptr_fn", "env", "ptr_fn", FuncType((), I32),
                                  Reason("main", K.ADDRESS)),
    }
    assert ls.call_edges == (CallEdge("main", "host_fn", K.CALL, t, a),)


def test_allow_undefined_still_needs_the_entry(files: Files) -> None:
    a = files.obj("a", func("f"))
    ls = discover(Store.open([a]), allow_undefined=True)
    assert [u.symbol for u in ls.unresolved] == ["main"]


def test_unreachable_undefined_is_not_an_error(files: Files) -> None:
    a = files.obj("a", func("main"), func("dead", "missing"))
    assert discover(Store.open([a])).unresolved == ()


# ---------------------------------------------------------------- other records


def test_ffi_signature_keys_with_first_user(files: Files) -> None:
    sig_a = CSigDecl("cb", parse_key("i(p,p)"))
    sig_b = CSigDecl("other", parse_key("v(d)"))
    a = files.obj("a", sig_a, sig_b, func("main", "f", "g", sigs=["cb"]),
                  func("f", sigs=["other", "cb"]), func("g", sigs=["cb"]),
                  func("dead", sigs=["other"]))
    ls = discover(Store.open([a]))
    assert dict(ls.sigs) == {"i(p,p)": "main", "v(d)": "f"}


def test_cross_object_call_edges_record_declarations(files: Files) -> None:
    t = FuncType((I32,), None)
    a = files.obj("a", func("main", "local", "b_f", tail="b_g", types={"b_g": t}), func("local"),
                  ExternFunc("b_g", t))
    b = files.obj("b", Func("b_f", (), None, (), (BasicBlock("e", (), Return()),)),
                  Func("b_g", (Param("x", I32),), None, (), (BasicBlock("e", (), Return()),)))
    ls = discover(Store.open([a, b]))
    assert ls.call_edges == (CallEdge("main", "b_f", K.CALL, FuncType(), a),
                             CallEdge("main", "b_g", K.TAIL_CALL, t, a))


def test_imports_are_live_entities(files: Files) -> None:
    imp = ImportFunc("fd_write", "wasi", "fd_write", FuncType((I32,) * 4, I32))
    a = files.obj("a", imp, func("main", "b_f"))
    b = files.obj("b", imp, func("b_f", "fd_write", types={"fd_write": imp.type}))
    store = Store.open([a, b])
    ls = discover(store)
    assert reasons(ls)["fd_write"] == ("b_f", K.CALL)
    assert ls.live["fd_write"][0].obj.name == a
    assert dead_entities(store, ls) == []          # b's identical import is merged, not dead
    assert all(ls.is_live(r) for o in store.objects for r in o.records)


def test_gc_section_lines(files: Files) -> None:
    a = files.obj("a", func("main", "used"), func("used"), func("unused"),
                  Data("blob", (IntItem(8, 0),)), Global("g", I32),
                  ImportFunc("h", "env", "h", FuncType()), func("p", private=True))
    lib = files.ar("lib.a", ("m", (func("m_used"), func("m_unused"))),
                   ("n", (func("n_f"),)))
    b = files.obj("b", func("used_b", "m_used"))
    store = Store.open([a, b, lib])
    ls = discover(store, roots=["used_b"])
    assert gc_section_lines(store, ls) == [
        f"removing unused func {a}:(unused)", f"removing unused data {a}:(blob)",
        f"removing unused global {a}:(g)", f"removing unused import {a}:(h)",
        f"removing unused func {a}:(a$p)", f"removing unused func {lib}(m.o):(m_unused)"]


def test_deferred_errors_warn_when_live(files: Files) -> None:
    a = files.obj("a", func("main", "broken"), func("broken", error="unsupported primop"),
                  func("also_broken", error="nope"))
    result = link(LinkOptions(inputs=(a,)))
    assert [w.render() for w in result.warnings] == [
        f"{a}: warning: live func 'broken' could not be compiled: unsupported primop; "
        "calling it will panic"]


def test_live_set_is_immutable(files: Files) -> None:
    a = files.obj("a", func("main"))
    ls = discover(Store.open([a]))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ls.roots = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        ls.live["x"] = ls.live["main"]  # type: ignore[index]


def test_discovery_is_repeatable_on_one_store(files: Files) -> None:
    lib = files.ar("lib.a", ("m", (func("m_f", "m_g"), func("m_g"))))
    a = files.obj("a", func("main", "m_f"))
    store = Store.open([a, lib])
    first = discover(store)
    second = discover(store)
    assert reasons(first) == reasons(second)
    assert first.objects == second.objects


# ---------------------------------------------------------------- laziness at scale


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("big")
    members = []
    for m in range(100):
        fs = [func(f"lib{m}_f{i}", f"lib{m}_f{i + 1}") for i in range(99)]
        fs.append(func(f"lib{m}_f99"))
        fs[7] = func(f"lib{m}_f7", f"lib{(m + 50) % 100}_f99")
        members.append((f"lib{m}.o", module(f"lib{m}", *fs)))
    path = root / "big.a"
    path.write_bytes(archive_bytes(members))
    return str(path)


def test_discovery_decodes_no_body(files: Files, big_archive: str) -> None:
    # main -> lib3_f98 -> lib3_f99; main -> lib60_f99: three library functions.
    a = files.obj("main", func("main", "lib3_f98", "lib60_f99"))
    store = Store.open([a, big_archive])
    assert store.counts().in_store == 1 + 10_000
    ls = discover(store)
    assert live_names(ls) == ["main", "lib3_f98", "lib60_f99", "lib3_f99"]
    assert store.stats.bodies_decoded == 0
    ar = store.archives[0]
    assert [i for i in range(100) if ar.is_loaded(i)] == [3, 60]
    # Indices read: main.o, the archive's symbol index, the two members.
    assert store.stats.indices_read == 4
    for rec in ls.records():
        store.body(rec)
    assert store.stats.bodies_decoded == 4
    assert store.counts().loaded == 201


def test_driver_times_each_phase(files: Files, big_archive: str) -> None:
    a = files.obj("main", func("main", "lib3_f98"))
    result = link(LinkOptions(inputs=(a, big_archive)))
    assert [t.name for t in result.timings] == [name for name, _ in PHASES]
    # Nothing decodes IR: live functions' compiled code is sliced from the
    # objects and patched.  Only the members holding live code are parsed.
    assert list(result.live.live) == ["main", "lib3_f98", "lib3_f99"]
    assert result.store.stats.bodies_decoded == 0
    # Generating code again (trampoline mode) decodes exactly the live bodies.
    again = link(LinkOptions(inputs=(a, big_archive), tail_calls=TailCallMode.TRAMPOLINE))
    assert again.store.stats.bodies_decoded == 3


# ---------------------------------------------------------------- why-chains are shortest


@attrs.define
class Graph:
    """A random program: modules, and the reference graph the test knows independently."""

    modules: dict[str, list[Item]] = attrs.field(factory=dict)
    defined_in: dict[str, str] = attrs.field(factory=dict)
    edges: dict[str, set[tuple[str, EdgeKind]]] = attrs.field(factory=dict)
    ctors: dict[str, list[str]] = attrs.field(factory=dict)
    exports: dict[str, list[str]] = attrs.field(factory=dict)


def random_graph(rng: random.Random, n_modules: int) -> Graph:
    g = Graph()
    names = {m: [f"m{m}_f{i}" for i in range(rng.randint(2, 7))] for m in range(n_modules)}
    names[0][0] = "main"
    all_funcs = [f for fs in names.values() for f in fs]
    datas = [f"m{m}_d" for m in range(n_modules) if rng.random() < 0.5]
    globals_ = [f"m{m}_g" for m in range(n_modules) if rng.random() < 0.5]
    for m, fs in names.items():
        mod = f"m{m}"
        items: list[Item] = []
        for f in fs:
            calls = rng.sample(all_funcs, rng.randint(0, 2)) if rng.random() < 0.7 else []
            tail = rng.choice(all_funcs) if rng.random() < 0.2 else None
            addr = rng.sample(all_funcs + datas, 1) if rng.random() < 0.2 else []
            gets = [rng.choice(globals_)] if globals_ and rng.random() < 0.2 else []
            items.append(func(f, *calls, tail=tail, addr=addr, gets=gets))
            e = {(c, K.CALL) for c in calls} | {(a, K.ADDRESS) for a in addr}
            e |= {(x, K.GLOBAL) for x in gets}
            if tail is not None:
                e.add((tail, K.TAIL_CALL))
            g.edges[f] = e
            g.defined_in[f] = mod
        if f"{mod}_d" in datas:
            target = rng.choice(all_funcs + datas)
            items.append(Data(f"{mod}_d", (AddrItem(target),)))
            g.edges[f"{mod}_d"] = {(target, K.DATA_REF)}
            g.defined_in[f"{mod}_d"] = mod
        if f"{mod}_g" in globals_:
            items.append(Global(f"{mod}_g", I32))
            g.edges[f"{mod}_g"] = set()
            g.defined_in[f"{mod}_g"] = mod
        g.ctors[mod] = [fs[-1]] if rng.random() < 0.3 else []
        items += [Ctor(c) for c in g.ctors[mod]]
        g.exports[mod] = [fs[1]] if rng.random() < 0.3 else []
        items += [Export(f"x_{x}", x) for x in g.exports[mod]]
        g.modules[mod] = items
    return g


def reference_bfs(g: Graph, command_line: set[str]) -> dict[str, int]:
    """Depths on the static graph: refs, plus entity -> ctors of its module, plus
    entity -> exports of its module for archive members; command-line exports are roots."""
    roots = ["main"] + [x for m in g.modules if m in command_line for x in g.exports[m]]
    depth = {r: 0 for r in roots}
    q = deque(roots)
    while q:
        s = q.popleft()
        mod = g.defined_in[s]
        succ = [t for t, _ in g.edges[s]] + g.ctors[mod]
        if mod not in command_line:
            succ += g.exports[mod]
        for t in succ:
            if t not in depth:
                depth[t] = depth[s] + 1
                q.append(t)
    return depth


@pytest.mark.parametrize("seed", range(25))
def test_why_chains_are_shortest_and_real(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    g = random_graph(rng, rng.randint(2, 9))
    mods = list(g.modules)
    n_cmd = rng.randint(1, len(mods))
    command_line = set(mods[:n_cmd])
    inputs = []
    for m in mods[:n_cmd]:
        path = tmp_path / f"{m}.o"
        path.write_bytes(module(m, *g.modules[m]))
        inputs.append(str(path))
    rest = mods[n_cmd:]
    if rest:
        path = tmp_path / "lib.a"
        path.write_bytes(archive_bytes([(f"{m}.o", module(m, *g.modules[m])) for m in rest]))
        inputs.append(str(path))
    store = Store.open(inputs)
    ls = discover(store)
    depth = reference_bfs(g, command_line)
    assert set(ls.live) == set(depth)
    assert ls.unresolved == ()
    for sym, (rec, reason) in ls.live.items():
        assert len(ls.chain(sym)) - 1 == depth[sym], sym
        if reason.parent is None:
            assert reason.kind in (K.ENTRY, K.EXPORT)
            continue
        parent = ls.live[reason.parent][0]
        if reason.kind is K.CTOR:
            assert sym in [c for c, _ in parent.obj.ctors]
        elif reason.kind is K.EXPORT:
            assert sym in [s for _, s in parent.obj.exports]
            assert not store.from_command_line(parent.obj)
        else:
            assert (sym, reason.kind) in parent.refs
    # BFS order: depths never decrease along the live order.
    order = [depth[s] for s in ls.live]
    assert order == sorted(order)
    # Exactly the modules with a live entity are live, and their ctors are live.
    live_mods = {g.defined_in[s] for s in ls.live}
    assert set(ls.modules) == live_mods
    assert all(c in ls.live for m in live_mods for c in g.ctors[m])
    assert store.stats.bodies_decoded == 0


def test_symbols_that_no_entity_defines_kind(files: Files) -> None:
    # A reference kind never invents entity kinds: data stays data, globals stay globals.
    a = files.obj("a", func("main", addr=["d"], gets=["g"]), Data("d", (IntItem(8, 1),)),
                  Global("g", I32))
    ls = discover(Store.open([a]))
    assert [ls.live[s][0].kind for s in ("main", "d", "g")] == [EntityKind.FUNC, EntityKind.DATA,
                                                               EntityKind.GLOBAL]
