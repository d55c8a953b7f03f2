"""The lazy store: input order, precedence, duplicates, lazy members and bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from linker.compile import compile_module
from linker.diagnostics import DiagnosticError
from linker.ir.model import BasicBlock, Call, Data, ExternFunc, Func, ImportFunc, Item, IntItem
from linker.ir.model import Module, Return
from linker.ir.types import FuncType, ValType
from linker.store.archive import archive_bytes
from linker.store.objfile import EntityKind
from linker.store.store import Store, check_loaded

I32 = ValType.I32
FD_WRITE = FuncType((I32, I32, I32, I32), I32)


def func(name: str, *calls: str, private: bool = False) -> Func:
    body = BasicBlock("entry", tuple(Call(None, c, ()) for c in calls), Return())
    return Func(name, (), None, (), (body,), private=private)


def mod(module: str, *items: Item) -> bytes:
    return compile_module(Module(module, tuple(items)))


class Files:
    def __init__(self, root: Path) -> None:
        self.root = root

    def obj(self, name: str, *items: Item) -> str:
        path = self.root / f"{name}.o"
        path.write_bytes(mod(name, *items))
        return str(path)

    def ar(self, name: str, *members: tuple[str, tuple[Item, ...]]) -> str:
        path = self.root / name
        path.write_bytes(archive_bytes([(f"{m}.o", mod(m, *items)) for m, items in members]))
        return str(path)


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def render(exc: pytest.ExceptionInfo[DiagnosticError]) -> str:
    return exc.value.render()


# ---------------------------------------------------------------- order and precedence


def test_objects_load_first_then_archives_in_order(files: Files) -> None:
    lib = files.ar("lib.a", ("m", (func("f"),)))
    a = files.obj("a", func("main"))
    b = files.obj("b", func("g"))
    store = Store.open([lib, a, b])
    assert [o.name for o in store.objects] == [a, b]
    assert [ar.name for ar in store.archives] == [lib]
    assert store.command_line_objects == 2
    assert store.lookup("f") is None            # lazy: lookup never pulls
    rec = store.resolve("f")
    assert rec is not None and rec.obj.name == f"{lib}(m.o)"
    assert [o.name for o in store.objects] == [a, b, f"{lib}(m.o)"]
    assert store.lookup("f") is rec


def test_object_definition_beats_archive(files: Files) -> None:
    lib = files.ar("lib.a", ("m", (func("f"), func("g"))))
    a = files.obj("a", func("f"))
    store = Store.open([a, lib])
    rec = store.resolve("f")
    assert rec is not None and rec.obj.name == a
    assert not store.archives[0].is_loaded(0)   # never pulled for a defined symbol
    assert store.is_lazy("g") and not store.is_lazy("main")


def test_first_archive_wins(files: Files) -> None:
    lib1 = files.ar("one.a", ("x", (func("f"),)))
    lib2 = files.ar("two.a", ("y", (func("f"),)))
    store = Store.open([lib2, lib1])
    rec = store.resolve("f")
    assert rec is not None and rec.obj.name == f"{lib2}(y.o)"
    assert not store.archives[1].is_loaded(0)
    assert store.duplicates == []


def test_pulled_member_brings_all_its_definitions(files: Files) -> None:
    lib = files.ar("lib.a", ("m", (func("f"), func("g"), Data("d", (IntItem(8, 1),)))),
                   ("n", (func("h"),)))
    store = Store.open([lib])
    store.resolve("g")
    assert [r for r in ("f", "g", "d", "h") if store.lookup(r) is not None] == ["f", "g", "d"]
    assert store.stats.indices_read == 2        # archive index + member m


# ---------------------------------------------------------------- duplicates


def test_all_duplicates_reported_together_naming_both_inputs(files: Files) -> None:
    a = files.obj("a", func("foo"), func("bar"), func("ok_a"))
    b = files.obj("b", func("foo"), func("ok_b"))
    c = files.obj("c", func("bar"), func("foo"))
    store = Store.open([a, b, c])
    with pytest.raises(DiagnosticError) as info:
        check_loaded(store)
    assert render(info) == (
        "error: duplicate symbol: foo\n"
        f">>> defined in {a}\n>>> defined in {b}\n>>> defined in {c}\n"
        "error: duplicate symbol: bar\n"
        f">>> defined in {a}\n>>> defined in {c}")


def test_duplicate_against_pulled_member(files: Files) -> None:
    lib = files.ar("lib.a", ("b", (func("helper"), func("foo"))))
    a = files.obj("a", func("foo"))
    store = Store.open([a, lib])
    check_loaded(store)                          # nothing pulled yet: no duplicate
    store.resolve("helper")
    with pytest.raises(DiagnosticError) as info:
        check_loaded(store)
    assert render(info) == (f"error: duplicate symbol: foo\n>>> defined in {a}\n"
                            f">>> defined in {lib}(b.o)")


def test_private_symbols_do_not_clash(files: Files) -> None:
    a = files.obj("a", func("helper", private=True), func("fa", "helper"))
    b = files.obj("b", func("helper", private=True), func("fb", "helper"))
    store = Store.open([a, b])
    assert store.duplicates == []
    ha, hb = store.lookup("a$helper"), store.lookup("b$helper")
    assert ha is not None and hb is not None and ha.private and hb.private
    fa = store.lookup("fa")
    assert fa is not None and [s for s, _ in fa.refs] == ["a$helper"]


def test_identical_imports_merge(files: Files) -> None:
    imp = ImportFunc("fd_write", "wasi_snapshot_preview1", "fd_write", FD_WRITE)
    a = files.obj("a", imp, func("fa"))
    b = files.obj("b", imp, func("fb"))
    store = Store.open([a, b])
    assert store.duplicates == []
    rec = store.lookup("fd_write")
    assert rec is not None and rec.kind is EntityKind.IMPORT and rec.obj.name == a


def test_differing_imports_are_an_error(files: Files) -> None:
    a = files.obj("a", ImportFunc("fd_write", "wasi_snapshot_preview1", "fd_write", FD_WRITE))
    b = files.obj("b", ImportFunc("fd_write", "env", "fd_write", FD_WRITE))
    c = files.obj("c", ImportFunc("fd_write", "wasi_snapshot_preview1", "fd_write",
                                  FuncType((I32,), I32)))
    with pytest.raises(DiagnosticError) as info:
        check_loaded(Store.open([a, b, c]))
    assert render(info) == (
        "error: conflicting imports for symbol: fd_write\n"
        f'>>> imported as "wasi_snapshot_preview1" "fd_write" (i32, i32, i32, i32) -> i32 in {a}\n'
        f'>>> imported as "env" "fd_write" (i32, i32, i32, i32) -> i32 in {b}\n'
        f'>>> imported as "wasi_snapshot_preview1" "fd_write" (i32) -> i32 in {c}')


def test_import_and_definition_are_duplicates(files: Files) -> None:
    a = files.obj("a", ImportFunc("f", "env", "f", FuncType()))
    b = files.obj("b", func("f"))
    with pytest.raises(DiagnosticError, match="duplicate symbol: f"):
        check_loaded(Store.open([a, b]))


# ---------------------------------------------------------------- bad inputs


def test_unsupported_and_unreadable_inputs_reported_together(files: Files,
                                                             tmp_path: Path) -> None:
    src = tmp_path / "prog.ir"
    src.write_text("module prog\n")
    junk = tmp_path / "junk.o"
    junk.write_bytes(b"hello world, not an object")
    missing = str(tmp_path / "missing.a")
    with pytest.raises(DiagnosticError) as info:
        Store.open([str(src), str(junk), missing, str(tmp_path / "x.o")])
    assert render(info) == (
        f"{src}: error: unknown file type: expected a WebAssembly object file or an archive; "
        "compile it with `irld compile` first\n"
        f"{junk}: error: unknown file type: expected a WebAssembly object file or an archive\n"
        f"{missing}: error: cannot open: No such file or directory\n"
        f"{tmp_path / 'x.o'}: error: cannot open: No such file or directory")


# ---------------------------------------------------------------- bodies and counts


def test_bodies_decode_on_demand(files: Files) -> None:
    a = files.obj("a", func("f", "g"), func("g"), Data("d", (IntItem(32, 5),)),
                  ExternFunc("h", FuncType()))
    store = Store.open([a])
    assert store.stats.bodies_decoded == 0 and store.stats.indices_read == 1
    f = store.body("f")
    assert isinstance(f, Func) and f.name == "f"
    rec = store.lookup("d")
    assert rec is not None
    d = store.body(rec)
    assert isinstance(d, Data) and d.items == (IntItem(32, 5),)
    assert store.stats.bodies_decoded == 2
    with pytest.raises(KeyError):
        store.body("h")


def test_counts(files: Files) -> None:
    lib = files.ar("lib.a", ("m", (func("f"), func("g", private=True))),
                   ("n", (func("h"), func("i"), func("j"))))
    a = files.obj("a", func("main"), func("x"))
    store = Store.open([a, lib])
    c = store.counts()
    assert (c.objects, c.archives, c.members, c.members_loaded) == (1, 1, 2, 0)
    assert (c.loaded, c.in_store) == (2, 2 + 1 + 3)
    store.resolve("f")
    c = store.counts()
    assert (c.members_loaded, c.loaded, c.in_store) == (1, 4, 4 + 3)
