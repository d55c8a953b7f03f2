"""The dynamic loader of the wasmtime host: side modules, GOT imports, dlopen/dlsym/dlclose/dlerror.

The conventions are tool-conventions' DynamicLinking.md (the ABI clang
`-fPIC` and `wasm-ld -shared/-pie --experimental-pic` implement, and
Emscripten's loader follows).  Seed 004 sketches the idea: all modules
share one memory and one function table; the loader gives each module a
region of both and satisfies a module's imports from the exports of the
modules loaded before it.

Loading a set of modules (the main module and the closure of its `dylink.0`
needed list at start-up, or one `dlopen`ed library and its own needed list):

1. Read every module (`linker.host.dylink`): `dylink.0`, imports, exports,
   and the ``i32.const`` value of each global.
2. Lay out: each module gets ``__memory_base``, the start of a region of
   its `dylink.0` memory size aligned to its alignment, and
   ``__table_base``, the first of its table slots.  Regions come from the
   program's exported `malloc` when it has one and the program is running
   (its allocator then knows them), otherwise from `memory.grow`; table
   slots from `table.grow`.  Both are known before anything is
   instantiated.
3. Resolve symbols (the global namespace: the main module's exports, then
   each module loaded with RTLD_GLOBAL in load order; first definition
   wins, as ELF's breadth-first lookup does).  A data symbol is an export
   of an immutable i32 global, its value relative to the defining module's
   ``__memory_base``; so every ``GOT.mem.X`` global gets its final address
   before instantiation, which matters because LLVM runs
   ``__wasm_apply_data_relocs`` from the start section.  ``GOT.func.X``
   gets a table slot for X, shared by all GOT entries and dlsym results of
   X (so function pointers compare equal), filled once X's module exists.
4. Instantiate in load order.  A function import whose definer is not yet
   instantiated (the main module calling into a library it needs) is a
   host stub that calls the definer when first called.
5. Fill the GOT.func slots, run ``__wasm_apply_data_relocs`` if the module
   exports it instead of running it from the start section, then each
   library's ``__wasm_call_ctors``, dependencies first.  The main module's
   ctors are its own `_start`'s business.

Every unresolved symbol of a set is reported together, naming the module
that imports it; nothing is instantiated then.  `dlopen` reports the same
through `dlerror`.  Memory and table slots of a closed library are not
reused (a loader without a way to free wasm instances cannot do better).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import wasmtime

from linker.host.common import HostTrap, RunError
from linker.host.dylink import DylinkError, LinkedModule, ModuleImport, read_linked_module

__all__ = [
    "DEFAULT_STACK_SIZE",
    "DL_FUNCTIONS",
    "RTLD_GLOBAL",
    "RTLD_NOLOAD",
    "DynamicLoader",
    "LoadError",
    "is_dynamic_main",
]

PAGE = 65536
# Where a position-independent main module's data starts (Emscripten's GLOBAL_BASE):
# address 0 stays null and the first KiB catches small null-pointer offsets.
MAIN_MEMORY_BASE = 1024
DEFAULT_STACK_SIZE = 65536
# musl's <dlfcn.h> values, which linker/host/include/dlfcn.h repeats.
RTLD_LAZY, RTLD_NOW, RTLD_NOLOAD, RTLD_GLOBAL = 1, 2, 4, 256
MAIN_HANDLE = 1
# Imports a loader satisfies itself rather than from symbols.
HEAP_BASE = "__heap_base"
HEAP_ALIGN = 16
_ENV_SPECIAL = {"memory", "__indirect_function_table", "__memory_base", "__table_base",
                "__stack_pointer"}
_INTERNAL_EXPORTS = {"__wasm_call_ctors", "__wasm_apply_data_relocs", "__indirect_function_table",
                     "memory", "__stack_pointer", "__memory_base", "__table_base", "_start",
                     "__dso_handle", "__tls_base", "__tls_size", "__tls_align"}
# A side module's FFI exports its closure dispatchers for the host's growth hook
# (linker/shared.py); they are no symbols of the namespace.
_INTERNAL_PREFIX = "__irld_closure_dispatch"
# (name, params, result) of the host functions C and IR call, all in module "env".
DL_FUNCTIONS = (("dlopen", 2, True), ("dlsym", 2, True), ("dlclose", 1, True),
                ("dlerror", 0, True))


class LoadError(RunError):
    """A set of modules that cannot be loaded; `problems` lists every reason, each naming its file."""

    def __init__(self, file: str, problems: Sequence[str]) -> None:
        super().__init__(file, "; ".join(problems))
        self.problems = tuple(problems)

    def render(self) -> str:
        return "\n".join(f"irld run: error: {p}" for p in self.problems)


def is_dynamic_main(data: bytes) -> bool:
    """Whether a main module needs the loader at start-up (it has a `dylink.0` section)."""
    try:
        return read_linked_module(data).dylink is not None
    except DylinkError:
        return False


@attrs.define(eq=False)
class LoadedModule:
    """One module in the process: where it lives and what it defines."""

    name: str  # as named in a needed list or dlopen
    path: str
    info: LinkedModule
    module: wasmtime.Module
    handle: int
    memory_base: int = 0
    table_base: int = 0
    instance: wasmtime.Instance | None = None
    needed: list[LoadedModule] = attrs.field(factory=list)
    refcount: int = 1
    is_global: bool = True

    def data_symbols(self) -> dict[str, int]:
        """Exported data symbols and their absolute addresses."""
        found = {}
        for export in self.info.exports:
            if export.kind != "global" or export.name in _INTERNAL_EXPORTS:
                continue
            value = self.info.global_values.get(export.index)
            if value is None or self.info.global_mutable.get(export.index, True):
                continue
            if self.info.dylink is not None and self.info.dylink.tls_export(export.name):
                continue
            # A static (non-PIC) module's globals are absolute addresses already.
            base = self.memory_base if self.info.dylink is not None else 0
            found[export.name] = (base + value) & 0xFFFFFFFF
        return found

    def function_names(self) -> set[str]:
        return {e.name for e in self.info.exports
                if e.kind == "func" and e.name not in _INTERNAL_EXPORTS
                and not e.name.startswith(_INTERNAL_PREFIX)}

    def export_func(self, store: wasmtime.Store, name: str) -> wasmtime.Func | None:
        if self.instance is None:
            return None
        item = self.instance.exports(store).get(name)
        return item if isinstance(item, wasmtime.Func) else None


class DynamicLoader:
    """Loads modules into one store: shared memory, table and stack pointer, a global namespace."""

    def __init__(self, store: wasmtime.Store, engine: wasmtime.Engine, linker: wasmtime.Linker,
                 search_path: Sequence[str | os.PathLike[str]] = (),
                 stack_size: int = DEFAULT_STACK_SIZE) -> None:
        self.store = store
        self.engine = engine
        self.linker = linker  # WASI and host functions: the last resort for imports
        self.search_path = [Path(p) for p in search_path]
        self.stack_size = stack_size
        self.memory: wasmtime.Memory | None = None
        self.table: wasmtime.Table | None = None
        self.stack_pointer: wasmtime.Global | None = None
        self.modules: list[LoadedModule] = []
        self.main: LoadedModule | None = None
        self.func_slots: dict[str, int] = {}
        self._pending_slots: list[tuple[int, str]] = []
        self._memory_end = 0  # where the next grown region starts
        self._table_reserved = 0  # table slots laid out so far
        self._next_handle = MAIN_HANDLE
        self._error: str | None = None
        self._error_buffer = 0
        self.running = False
        self.split_loaded = False
        self.split_loads = 0

    # ------------------------------------------------------------------ start-up

    def load_main(self, data: bytes, label: str) -> wasmtime.Instance:
        """Load the main module and every library it needs; returns the main instance.

        Raises LoadError when a library is missing or a symbol unresolved, and
        lets wasmtime's traps (a failing ctor) through for the caller to render.
        """
        info = self._read(data, label)
        module = self._compile(data, label)
        main = LoadedModule(label, label, info, module, self._new_handle())
        self.main = main
        batch = [main, *self._needed_closure(main, label)]
        self._load_batch(batch, label)
        assert main.instance is not None
        return main.instance

    def attach_static_main(self, instance: wasmtime.Instance, data: bytes, label: str) -> None:
        """Make a static (non-PIC) main module, already instantiated, the root of the namespace.

        Its exported memory and table become the shared ones; side modules
        are then only loaded by `dlopen`.
        """
        info = self._read(data, label)
        module = self._compile(data, label)
        main = LoadedModule(label, label, info, module, self._new_handle(), instance=instance)
        self.main = main
        self.modules.append(main)
        exports = instance.exports(self.store)
        memory = exports.get("memory")
        table = exports.get("__indirect_function_table")
        stack = exports.get("__stack_pointer")
        self.memory = memory if isinstance(memory, wasmtime.Memory) else None
        self.table = table if isinstance(table, wasmtime.Table) else None
        self.stack_pointer = stack if isinstance(stack, wasmtime.Global) else None

    def install_split(self) -> None:
        """Fill the slots an `irld.split` section reserves with placeholders that load the secondary.

        The first call through any of them reads and instantiates the
        secondary module (linker.split), whose element segment puts the real
        functions into the slots; the placeholder then calls the real one.
        """
        assert self.main is not None
        payload = self.main.info.split
        if payload is None or self.table is None:
            return
        from linker.split import read_split_section
        name, entries = read_split_section(payload)
        table, store = self.table, self.store
        for slot, ft in entries:
            wt_type = _wasmtime_functype(ft.params, () if ft.result is None else (ft.result,))

            def placeholder(*args: Any, slot: int = slot) -> Any:
                self.load_split(name)
                real = table.get(store, slot)
                if not isinstance(real, wasmtime.Func):
                    raise HostTrap(f"{name}: slot {slot} is empty after loading")
                return real(store, *args)
            table.set(store, slot, wasmtime.Func(store, wt_type, placeholder))

    def load_split(self, name: str) -> None:
        """Read and instantiate the secondary module once (its element segment fills the slots)."""
        if self.split_loaded:
            return
        path = self.find_library(name)
        if path is None:
            raise HostTrap(f"{name}: cannot load the split module: no such file "
                           f"(searched {self._searched()})")
        module = wasmtime.Module(self.engine, path.read_bytes())
        assert self.main is not None and self.main.instance is not None
        exports = self.main.instance.exports(self.store)
        values: list[Any] = []
        problems = []
        for imp in module.imports:
            if imp.module == "env" and imp.name == "memory":
                values.append(self.memory)
            elif imp.module == "env" and imp.name == "__indirect_function_table":
                values.append(self.table)
            else:
                value = exports.get(imp.name or "")
                if value is None:
                    problems.append(f"{imp.module}.{imp.name}")
                values.append(value)
        if problems:
            raise HostTrap(f"{path}: not the split module of this program (the program does "
                           f"not export {', '.join(problems)})")
        wasmtime.Instance(self.store, module, values)
        self.split_loaded = True
        self.split_loads += 1

    # ------------------------------------------------------------------ finding files

    def _read(self, data: bytes, label: str) -> LinkedModule:
        try:
            return read_linked_module(data)
        except DylinkError as exc:
            raise LoadError(label, [f"{label}: {exc}"]) from None

    def _compile(self, data: bytes, label: str) -> wasmtime.Module:
        try:
            return wasmtime.Module(self.engine, data)
        except wasmtime.WasmtimeError as exc:
            reason = str(exc).strip().splitlines()[-1].strip()
            raise LoadError(label, [f"{label}: not a valid wasm module: {reason}"]) from None

    def find_library(self, name: str) -> Path | None:
        """A library by name: a path with a slash as given, else the first match on the search path."""
        if "/" in name:
            path = Path(name)
            return path if path.is_file() else None
        for directory in self.search_path:
            candidate = directory / name
            if candidate.is_file():
                return candidate
        return None

    def _by_path(self, path: Path) -> LoadedModule | None:
        resolved = os.path.realpath(path)
        return next((m for m in self.modules if os.path.realpath(m.path) == resolved), None)

    def _needed_closure(self, root: LoadedModule, label: str) -> list[LoadedModule]:
        """The not yet loaded libraries `root` needs, breadth first (ELF's load order)."""
        batch: list[LoadedModule] = []
        queue = [root]
        problems = []
        while queue:
            current = queue.pop(0)
            dylink = current.info.dylink
            for name in dylink.needed if dylink is not None else ():
                path = self.find_library(name)
                if path is None:
                    problems.append(f"{current.name}: cannot find needed library {name} "
                                    f"(searched {self._searched()})")
                    continue
                known = self._by_path(path) or next(
                    (m for m in batch if os.path.realpath(m.path) == os.path.realpath(path)), None)
                if known is not None:
                    if known not in current.needed:
                        current.needed.append(known)
                    continue
                lib = self._open_file(path, name)
                current.needed.append(lib)
                batch.append(lib)
                queue.append(lib)
        if problems:
            raise LoadError(label, problems)
        return batch

    def _searched(self) -> str:
        return ", ".join(str(p) for p in self.search_path) or "no directories"

    def _open_file(self, path: Path, name: str) -> LoadedModule:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LoadError(name, [f"{path}: cannot read: {exc.strerror or exc}"]) from None
        info = self._read(data, str(path))
        if info.dylink is None:
            raise LoadError(name, [f"{path}: not a shared library (no dylink.0 section)"])
        return LoadedModule(name, str(path), info, self._compile(data, str(path)),
                            self._new_handle())

    def _new_handle(self) -> int:
        handle = self._next_handle
        self._next_handle += 1
        return handle

    # ------------------------------------------------------------------ layout

    def _layout(self, batch: list[LoadedModule]) -> None:
        """Give each module of the batch its memory region and table slots."""
        for lm in batch:
            dylink = lm.info.dylink
            assert dylink is not None or lm is self.main
            size = dylink.memory_size if dylink is not None else 0
            align = 1 << (dylink.memory_align if dylink is not None else 0)
            if lm is self.main:
                lm.memory_base = _align(MAIN_MEMORY_BASE, align)
                self._memory_end = lm.memory_base + size
                if lm.info.memory_pages is not None:
                    self._memory_end = max(self._memory_end, lm.info.memory_pages * PAGE)
            else:
                lm.memory_base = self._allocate(size, align)
            table_size = dylink.table_size if dylink is not None else 0
            lm.table_base = self._table_end()
            self._table_reserved = lm.table_base + table_size

    def _table_end(self) -> int:
        """The first table slot not yet laid out or used (slot 0 stays null)."""
        used = self.table.size(self.store) if self.table is not None else 0
        return max(1, used, self._table_reserved)

    def _allocate(self, size: int, align: int) -> int:
        """A region of `size` bytes: from the program's malloc when it runs, else memory.grow."""
        if size == 0:
            return 0
        malloc = self.main.export_func(self.store, "malloc") if self.main is not None else None
        if self.running and malloc is not None:
            raw = malloc(self.store, size + align - 1)
            if not isinstance(raw, int) or raw == 0:
                raise HostTrap(f"malloc of {size} bytes for a library failed")
            return _align(raw & 0xFFFFFFFF, align)
        base = _align(self._memory_end, align)
        self._memory_end = base + size
        return base

    def _ensure_memory(self) -> None:
        """Create or grow the shared memory to cover everything laid out so far."""
        pages = -(-self._memory_end // PAGE)
        if self.memory is None:
            self.memory = wasmtime.Memory(self.store, wasmtime.MemoryType(wasmtime.Limits(pages, None)))
            return
        have = self.memory.size(self.store)
        if pages > have:
            self.memory.grow(self.store, pages - have)

    def _ensure_table(self) -> None:
        want = self._table_end()
        if self.table is None:
            self.table = wasmtime.Table(
                self.store, wasmtime.TableType(wasmtime.ValType.funcref(), wasmtime.Limits(want, None)),
                None)
            return
        have = self.table.size(self.store)
        if want > have:
            self.table.grow(self.store, want - have, None)

    def _heap_base(self) -> int:
        """A position-independent main's `__heap_base` (wasm-ld leaves it to the loader):
        past everything laid out at start-up (the main module, the libraries it needs,
        the stack), so its allocator never hands out a library's memory."""
        base = _align(self._memory_end, HEAP_ALIGN)
        self._memory_end = base
        self._ensure_memory()
        return base

    def _ensure_stack(self) -> None:
        if self.stack_pointer is not None:
            return
        base = self._allocate(self.stack_size, 16)
        self.stack_pointer = wasmtime.Global(
            self.store, wasmtime.GlobalType(wasmtime.ValType.i32(), True),
            wasmtime.Val.i32(base + self.stack_size))

    # ------------------------------------------------------------------ symbols

    def _namespace(self, batch: Sequence[LoadedModule]) -> list[LoadedModule]:
        """Where a batch's imports are looked up: global modules, then the batch, in load order."""
        loaded = [m for m in self.modules if m.is_global]
        return loaded + [m for m in batch if m not in loaded]

    def _find_data(self, name: str, scope: Sequence[LoadedModule]) -> int | None:
        for lm in scope:
            address = lm.data_symbols().get(name)
            if address is not None:
                return address
        return None

    def _find_func(self, name: str, scope: Sequence[LoadedModule]) -> LoadedModule | None:
        return next((lm for lm in scope if name in lm.function_names()), None)

    def _host_func(self, module: str, name: str) -> wasmtime.Func | None:
        try:
            item = self.linker.get(self.store, module, name)
        except wasmtime.WasmtimeError:
            return None
        return item if isinstance(item, wasmtime.Func) else None

    def func_slot(self, name: str, definer: LoadedModule | None) -> int:
        """The table slot holding function `name` (allocated once); filled now or after instantiation."""
        slot = self.func_slots.get(name)
        if slot is not None:
            return slot
        assert self.table is not None
        slot = self.table.grow(self.store, 1, None)
        self.func_slots[name] = slot
        func = definer.export_func(self.store, name) if definer is not None else None
        if func is None and definer is None:
            func = self._host_func("env", name)
        if func is not None:
            self.table.set(self.store, slot, func)
        else:
            self._pending_slots.append((slot, name))
        return slot

    # ------------------------------------------------------------------ loading a batch

    def _load_batch(self, batch: list[LoadedModule], label: str) -> None:
        self._layout(batch)
        scope = self._namespace(batch)
        problems = [p for lm in batch for p in self._check_imports(lm, scope)]
        if problems:
            raise LoadError(label, problems)
        self.modules.extend(batch)
        try:
            for lm in batch:
                self._instantiate(lm, scope)
        except BaseException:
            for lm in batch:
                self.modules.remove(lm)
            raise
        self._fill_pending_slots(scope)
        for lm in batch:
            relocs = lm.export_func(self.store, "__wasm_apply_data_relocs")
            if relocs is not None and lm.info.dylink is not None:
                relocs(self.store)
        for lm in reversed(batch):
            if lm is self.main:
                continue
            ctors = lm.export_func(self.store, "__wasm_call_ctors")
            if ctors is not None:
                ctors(self.store)

    def _instantiate(self, lm: LoadedModule, scope: Sequence[LoadedModule]) -> None:
        """Instantiate one module; a module defining memory or table gives them to the rest."""
        wanted = {imp.name for imp in lm.info.imports if imp.module == "env"}
        if "memory" in wanted:
            self._ensure_memory()
        if "__indirect_function_table" in wanted:
            self._ensure_table()
        if "__stack_pointer" in wanted:
            self._ensure_stack()
        types = [imp.type for imp in lm.module.imports]
        values = [self._import_value(lm, imp, ty, scope) for imp, ty in zip(lm.info.imports, types)]
        lm.instance = wasmtime.Instance(self.store, lm.module, values)
        exports = lm.instance.exports(self.store)
        memory, table = exports.get("memory"), exports.get("__indirect_function_table")
        if self.memory is None and isinstance(memory, wasmtime.Memory):
            self.memory = memory
        if self.table is None and isinstance(table, wasmtime.Table):
            self.table = table
        if self.memory is not None:
            self._ensure_memory()
        if self.table is not None:
            self._ensure_table()

    def _fill_pending_slots(self, scope: Sequence[LoadedModule]) -> None:
        assert self.table is not None
        left = []
        for slot, name in self._pending_slots:
            definer = self._find_func(name, scope)
            func = definer.export_func(self.store, name) if definer is not None else None
            if func is None:
                left.append((slot, name))
                continue
            self.table.set(self.store, slot, func)
        self._pending_slots = left

    def _check_imports(self, lm: LoadedModule, scope: Sequence[LoadedModule]) -> list[str]:
        """Every import of `lm` that nothing satisfies, or satisfies with another type."""
        problems = []
        others = [m for m in scope if m is not lm]
        for imp, wt in zip(lm.info.imports, lm.module.imports):
            weak = lm.info.dylink is not None and lm.info.dylink.weak_import(imp.module, imp.name)
            if (imp.module == "env" and imp.name in _ENV_SPECIAL) or weak:
                continue
            found = True
            if imp.module == "GOT.mem":
                found = (self._find_data(imp.name, scope) is not None
                         or (lm is self.main and imp.name == HEAP_BASE))
            elif imp.module == "GOT.func":
                found = (self._find_func(imp.name, scope) is not None
                         or self._host_func("env", imp.name) is not None)
            elif imp.kind == "func":
                definer = self._find_func(imp.name, others) if imp.module == "env" else None
                if definer is not None:
                    problem = _type_problem(lm, imp.name, wt.type, definer)
                    problems.extend([problem] if problem is not None else [])
                    continue
                found = self._host_func(imp.module, imp.name) is not None
            else:
                found = False
            if not found:
                problems.append(f"{lm.path}: undefined symbol: {imp.name} "
                                f"(import {imp.module}.{imp.name})")
        return problems

    def _import_value(self, lm: LoadedModule, imp: ModuleImport, wt_type: Any,
                      scope: Sequence[LoadedModule]) -> Any:
        """The value of one import that `_check_imports` found resolvable."""
        if imp.module == "env" and imp.name in _ENV_SPECIAL:
            return self._special(lm, imp.name)
        if imp.module == "GOT.mem":
            address = self._find_data(imp.name, scope)
            if address is None and lm is self.main and imp.name == HEAP_BASE:
                address = self._heap_base()
            return self._got(address or 0)
        if imp.module == "GOT.func":
            definer = self._find_func(imp.name, scope)
            if definer is None and self._host_func("env", imp.name) is None:
                return self._got(0)
            return self._got(self.func_slot(imp.name, definer))
        if imp.module == "env":
            definer = self._find_func(imp.name, [m for m in scope if m is not lm])
            if definer is not None:
                ready = definer.export_func(self.store, imp.name)
                return ready if ready is not None else self._lazy(definer, imp.name, wt_type)
        host = self._host_func(imp.module, imp.name)
        return host if host is not None else self._trap_stub(lm, imp.name, wt_type)

    def _special(self, lm: LoadedModule, name: str) -> Any:
        if name == "memory":
            return self.memory
        if name == "__indirect_function_table":
            return self.table
        if name == "__stack_pointer":
            return self.stack_pointer
        value = lm.memory_base if name == "__memory_base" else lm.table_base
        return wasmtime.Global(self.store, wasmtime.GlobalType(wasmtime.ValType.i32(), False),
                               wasmtime.Val.i32(value))

    def _got(self, value: int) -> wasmtime.Global:
        signed = value - (1 << 32) if value >= 1 << 31 else value
        return wasmtime.Global(self.store, wasmtime.GlobalType(wasmtime.ValType.i32(), True),
                               wasmtime.Val.i32(signed))

    def _lazy(self, definer: LoadedModule, name: str, wt_type: wasmtime.FuncType) -> wasmtime.Func:
        """A stub for a function of a module instantiated later; it calls the real one."""
        store = self.store

        def call(*args: Any) -> Any:
            target = definer.export_func(store, name)
            if target is None:
                raise HostTrap(f"{definer.path}: {name} called before its module was instantiated")
            return target(store, *args)

        return wasmtime.Func(store, wt_type, call)

    def _trap_stub(self, lm: LoadedModule, name: str, wt_type: wasmtime.FuncType) -> wasmtime.Func:
        def call(*args: Any) -> Any:
            raise HostTrap(f"{lm.path}: call to undefined weak function {name}")
        return wasmtime.Func(self.store, wt_type, call)

    # ------------------------------------------------------------------ dlopen and friends

    def dlopen(self, name: str, flags: int) -> int:
        """POSIX dlopen: the library's handle (an existing one counts up), or 0 with dlerror set."""
        path = self.find_library(name)
        if path is None:
            return self._fail(f"{name}: cannot open shared library: no such file "
                              f"(searched {self._searched()})")
        known = self._by_path(path)
        if known is not None:
            known.refcount += 1
            known.is_global = known.is_global or bool(flags & RTLD_GLOBAL)
            return known.handle
        if flags & RTLD_NOLOAD:
            return 0
        try:
            lib = self._open_file(path, name)
            lib.is_global = bool(flags & RTLD_GLOBAL)
            batch = [lib, *self._needed_closure(lib, name)]
            self._load_batch(batch, name)
        except LoadError as exc:
            return self._fail("; ".join(exc.problems))
        return lib.handle

    def dlsym(self, handle: int, name: str) -> int:
        """POSIX dlsym: a data address or a function's table slot; 0 with dlerror set if absent."""
        if handle == 0:
            scope = [m for m in self.modules if m.is_global]
            where = "the global namespace"
        else:
            root = self._handle(handle)
            if root is None:
                return self._fail(f"dlsym: invalid handle {handle}")
            scope = _with_dependencies(root)
            where = root.path
        address = self._find_data(name, scope)
        if address is not None:
            return address
        definer = self._find_func(name, scope)
        if definer is not None:
            return self.func_slot(name, definer)
        return self._fail(f"dlsym: {where}: undefined symbol: {name}")

    def dlclose(self, handle: int) -> int:
        lm = self._handle(handle)
        if lm is None:
            self._fail(f"dlclose: invalid handle {handle}")
            return -1
        if lm is self.main:
            return 0
        lm.refcount -= 1
        if lm.refcount == 0:
            # Its symbols leave the namespace; its memory and slots stay (see the docstring).
            self.modules.remove(lm)
        return 0

    def dlerror(self) -> str | None:
        message, self._error = self._error, None
        return message

    def _handle(self, handle: int) -> LoadedModule | None:
        return next((m for m in self.modules if m.handle == handle), None)

    def _fail(self, message: str) -> int:
        self._error = message
        return 0

    def error_buffer(self, size: int) -> int:
        """A region of linear memory for dlerror's message, allocated on first use."""
        if self._error_buffer == 0:
            self._error_buffer = self._allocate(size, 1)
            self._ensure_memory()
        return self._error_buffer


def _with_dependencies(root: LoadedModule) -> list[LoadedModule]:
    """`root` and the libraries it needs, breadth first: dlsym's search order for a handle."""
    order = [root]
    for lm in order:
        for dep in lm.needed:
            if dep not in order:
                order.append(dep)
    return order


def _type_problem(lm: LoadedModule, name: str, want: Any, definer: LoadedModule) -> str | None:
    """A mismatch between the type `lm` imports `name` with and the type `definer` exports."""
    have = next((e.type for e in definer.module.exports if e.name == name), None)
    if not isinstance(have, wasmtime.FuncType) or not isinstance(want, wasmtime.FuncType):
        return None
    if _func_text(have) == _func_text(want):
        return None
    return (f"{lm.path}: function signature mismatch: {name}\n>>> imported as {_func_text(want)} "
            f"by {lm.path}\n>>> defined as {_func_text(have)} in {definer.path}")


def _func_text(ty: wasmtime.FuncType) -> str:
    params = ", ".join(str(p) for p in ty.params)
    results = ", ".join(str(r) for r in ty.results)
    return f"({params}) -> ({results})" if results else f"({params})"


def _wasmtime_functype(params: Sequence[Any], results: Sequence[Any]) -> wasmtime.FuncType:
    make = {"i32": wasmtime.ValType.i32, "i64": wasmtime.ValType.i64,
            "f32": wasmtime.ValType.f32, "f64": wasmtime.ValType.f64}
    return wasmtime.FuncType([make[str(p.value)]() for p in params],
                             [make[str(r.value)]() for r in results])


def _align(value: int, align: int) -> int:
    return (value + align - 1) // align * align


ERROR_BUFFER_SIZE = 512


def define_dl_functions(linker: wasmtime.Linker, get_loader: Callable[[], DynamicLoader | None]) -> None:
    """Define env.dlopen/dlsym/dlclose/dlerror on `linker`; they act on the loader of the run."""
    i32 = wasmtime.ValType.i32()

    def loader(caller: wasmtime.Caller) -> DynamicLoader:
        current = get_loader()
        if current is None:
            raise HostTrap("dlopen: this run has no dynamic loader")
        return current

    def read_string(caller: wasmtime.Caller, address: int) -> str:
        dl = loader(caller)
        assert dl.memory is not None
        data = dl.memory.read(caller, address & 0xFFFFFFFF,
                              min((address & 0xFFFFFFFF) + 4096, dl.memory.data_len(caller)))
        end = bytes(data).find(b"\0")
        if end < 0:
            raise HostTrap(f"string at {address:#x} is not NUL-terminated")
        return bytes(data[:end]).decode("utf-8", "replace")

    def dlopen(caller: wasmtime.Caller, path: int, flags: int) -> int:
        dl = loader(caller)
        if path == 0:
            return MAIN_HANDLE
        return dl.dlopen(read_string(caller, path), flags)

    def dlsym(caller: wasmtime.Caller, handle: int, name: int) -> int:
        dl = loader(caller)
        return _signed(dl.dlsym(handle & 0xFFFFFFFF if handle != -1 else 0,
                                read_string(caller, name)))

    def dlclose(caller: wasmtime.Caller, handle: int) -> int:
        return loader(caller).dlclose(handle)

    def dlerror(caller: wasmtime.Caller) -> int:
        dl = loader(caller)
        message = dl.dlerror()
        if message is None:
            return 0
        buffer = dl.error_buffer(ERROR_BUFFER_SIZE)
        data = message.encode()[:ERROR_BUFFER_SIZE - 1] + b"\0"
        assert dl.memory is not None
        dl.memory.write(caller, data, buffer)
        return buffer

    for name, impl, params in (("dlopen", dlopen, 2), ("dlsym", dlsym, 2),
                               ("dlclose", dlclose, 1), ("dlerror", dlerror, 0)):
        linker.define_func("env", name, wasmtime.FuncType([i32] * params, [i32]), impl,
                           access_caller=True)


def _signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value
