// The dynamic loader of the JS hosts: dlopen/dlsym/dlclose/dlerror over side modules
// (tool-conventions DynamicLinking.md), the counterpart of linker/host/loader.py.  The
// Node runner (node_runner.mjs) and the JS runtime (irld-runtime.mjs, in Node and in
// browsers) use it; it touches no file system: a library source finds and reads
// libraries (`source.find(name)` -> a key or null, `source.read(key)` -> bytes or a
// compiled WebAssembly.Module with its bytes, `source.searched()` for messages,
// `source.identity(key)` when two keys can name one file).
//
// The main program is a static irld (or wasm-ld) module that exports its
// memory and __indirect_function_table; libraries are loaded by dlopen only
// (a position-independent main with a needed list runs under `irld run`).
// Each library gets a region of the shared memory (from the main program's
// exported malloc, else memory.grow) and table slots (table.grow); its
// imports come from the global namespace (the main module's exports, then
// libraries opened with RTLD_GLOBAL, first definition wins), GOT.mem entries
// hold absolute addresses computed before instantiation (LLVM applies data
// relocations from the start function), GOT.func entries a table slot per
// function shared with dlsym.  A library's __wasm_call_ctors runs after it
// and the libraries it needs are instantiated, dependencies first.  Error
// texts are the Python loader's, so every host prints the same.  A library with
// an FFI of its own (linker/shared.py) that imports irld.closure_table_grow
// gets a growth hook bound to its own instance: the new slot calls that
// library's dispatcher, as wasmtime's hook finds it through the caller.

import { closureTableGrow } from './irld-runtime.mjs';

const PAGE = 65536;
const RTLD_NOLOAD = 4;
const RTLD_GLOBAL = 256;
const STACK_SIZE = 65536;
const ERROR_BUFFER_SIZE = 512;
const SPECIAL = new Set(['memory', '__indirect_function_table', '__memory_base', '__table_base',
  '__stack_pointer']);
const INTERNAL = new Set(['__wasm_call_ctors', '__wasm_apply_data_relocs', 'memory',
  '__indirect_function_table', '__stack_pointer', '__memory_base', '__table_base', '_start',
  '__dso_handle', '__tls_base', '__tls_size', '__tls_align']);

// ------------------------------------------------------------------ reading modules

class Reader {
  constructor(bytes, pos = 0, end = bytes.length) { this.b = bytes; this.p = pos; this.end = end; }
  byte() { return this.b[this.p++]; }
  uleb() {
    let result = 0, shift = 0, byte;
    do { byte = this.b[this.p++]; result += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
    return result;
  }
  sleb() {
    let result = 0, shift = 0, byte;
    do { byte = this.b[this.p++]; result |= (byte & 0x7f) << shift; shift += 7; } while (byte & 0x80);
    if (shift < 32 && (byte & 0x40)) result |= -1 << shift;
    return result;
  }
  name() { const n = this.uleb(); const s = new TextDecoder().decode(this.b.subarray(this.p, this.p + n)); this.p += n; return s; }
  limits() { const flags = this.uleb(); const min = this.uleb(); if (flags & 1) this.uleb(); return min; }
}

// dylink.0, the exports, and the i32.const value of each defined global (linker/host/dylink.py).
export function readLinkedModule(bytes) {
  const r = new Reader(bytes, 8);
  const info = { dylink: null, globals: new Map(), mutable: new Map(), exports: [] };
  let importedGlobals = 0;
  while (r.p < bytes.length) {
    const id = r.byte();
    const size = r.uleb();
    const end = r.p + size;
    const s = new Reader(bytes, r.p, end);
    if (id === 0 && s.name() === 'dylink.0') info.dylink = readDylink(s, end);
    if (id === 2) {
      for (let n = s.uleb(); n > 0; n--) {
        s.name(); s.name();
        const kind = s.byte();
        if (kind === 0) s.uleb();
        else if (kind === 1) { s.byte(); s.limits(); }
        else if (kind === 2) s.limits();
        else if (kind === 3) { s.p += 2; importedGlobals++; }
      }
    }
    if (id === 6) {
      const count = s.uleb();
      for (let i = 0; i < count; i++) {
        const index = importedGlobals + i;
        s.byte();
        info.mutable.set(index, s.byte() === 1);
        const op = s.byte();
        if (op === 0x41) info.globals.set(index, s.sleb());
        while (s.b[s.p] !== 0x0b) s.p++;  // rest of the init expression
        s.p++;
      }
    }
    if (id === 7) {
      for (let n = s.uleb(); n > 0; n--) {
        const name = s.name();
        const kind = s.byte();
        info.exports.push({ name, kind, index: s.uleb() });
      }
    }
    r.p = end;
  }
  return info;
}

// The main module's exports as readLinkedModule would give them, from the instance:
// exported immutable i32 globals are data addresses (a global that takes a write is
// mutable, so not one).
function exportedInfo(exports) {
  const info = { dylink: null, globals: new Map(), mutable: new Map(), exports: [] };
  Object.entries(exports).forEach(([name, value], index) => {
    if (typeof value === 'function') { info.exports.push({ name, kind: 0, index }); return; }
    if (!(value instanceof WebAssembly.Global) || typeof value.value !== 'number') return;
    let mutable = true;
    try { value.value = value.value; } catch { mutable = false; }
    info.exports.push({ name, kind: 3, index });
    info.globals.set(index, value.value);
    info.mutable.set(index, mutable);
  });
  return info;
}

function readDylink(s, end) {
  const d = { memorySize: 0, memoryAlign: 0, tableSize: 0, needed: [] };
  while (s.p < end) {
    const kind = s.byte();
    const size = s.uleb();
    const next = s.p + size;
    if (kind === 1) {
      d.memorySize = s.uleb(); d.memoryAlign = s.uleb(); d.tableSize = s.uleb(); s.uleb();
    } else if (kind === 2) {
      for (let n = s.uleb(); n > 0; n--) d.needed.push(s.name());
    }
    s.p = next;
  }
  return d;
}

// ------------------------------------------------------------------ the loader

const align = (value, a) => Math.ceil(value / a) * a;

export class DynamicLoader {
  constructor({ source, imports }) {
    this.source = source;
    this.imports = imports;  // WASI and host functions: the last resort for imports
    this.modules = [];
    this.funcSlots = new Map();
    this.nextHandle = 1;
    this.error = null;
    this.errorBuffer = 0;
  }

  // `bytes` may be null (a page that compiled from a URL): the exports then tell it all.
  attachStaticMain(instance, bytes, path) {
    const exports = instance.exports;
    this.memory = exports.memory;
    this.table = exports.__indirect_function_table;
    this.stackPointer = exports.__stack_pointer instanceof WebAssembly.Global ? exports.__stack_pointer : null;
    this.main = { name: path, path, info: bytes ? readLinkedModule(bytes) : exportedInfo(exports), instance, handle: this.nextHandle++,
      memoryBase: 0, tableBase: 0, needed: [], refcount: 1, isGlobal: true };
    this.modules.push(this.main);
  }

  searched() { return this.source.searched(); }

  find(name) { return this.source.find(name); }

  byPath(path, batch = []) {
    const id = (key) => this.source.identity?.(key) ?? key;
    const real = id(path);
    return [...this.modules, ...batch].find((m) => id(m.path) === real) ?? null;
  }

  open(path, name) {
    let bytes = this.source.read(path), module;
    try {
      // a source may hand over a module it compiled ahead (browsers refuse to compile
      // big modules synchronously on the main thread)
      if (bytes.module) ({ module, bytes } = bytes);
      else module = new WebAssembly.Module(bytes);
    } catch (error) {
      throw new LoadError([`${path}: not a valid wasm module: ${error.message}`]);
    }
    const info = readLinkedModule(bytes);
    if (info.dylink === null) throw new LoadError([`${path}: not a shared library (no dylink.0 section)`]);
    return { name, path, info, module, handle: this.nextHandle++, needed: [], refcount: 1, isGlobal: true };
  }

  neededClosure(root) {
    const batch = [];
    const queue = [root];
    const problems = [];
    while (queue.length > 0) {
      const current = queue.shift();
      for (const name of current.info.dylink?.needed ?? []) {
        const path = this.find(name);
        if (path === null) {
          problems.push(`${current.name}: cannot find needed library ${name} (searched ${this.searched()})`);
          continue;
        }
        const known = this.byPath(path, batch);
        if (known !== null) { if (!current.needed.includes(known)) current.needed.push(known); continue; }
        const lib = this.open(path, name);
        current.needed.push(lib);
        batch.push(lib);
        queue.push(lib);
      }
    }
    if (problems.length > 0) throw new LoadError(problems);
    return batch;
  }

  allocate(size, alignment) {
    if (size === 0) return 0;
    const malloc = this.main.instance.exports.malloc;
    if (typeof malloc === 'function') {
      const raw = malloc(size + alignment - 1) >>> 0;
      if (raw === 0) throw new LoadError([`malloc of ${size} bytes for a library failed`]);
      return align(raw, alignment);
    }
    const base = this.memory.grow(Math.ceil((size + alignment) / PAGE)) * PAGE;
    return align(base, alignment);
  }

  dataSymbols(m) {
    const found = new Map();
    for (const e of m.info.exports) {
      if (e.kind !== 3 || INTERNAL.has(e.name)) continue;
      const value = m.info.globals.get(e.index);
      if (value === undefined || m.info.mutable.get(e.index) !== false) continue;
      found.set(e.name, ((m.info.dylink !== null ? m.memoryBase : 0) + value) >>> 0);
    }
    return found;
  }

  functionNames(m) {
    // A side module's closure dispatchers (linker/shared.py) are for the growth hook only.
    return new Set(m.info.exports.filter((e) => e.kind === 0 && !INTERNAL.has(e.name)
      && !e.name.startsWith('__irld_closure_dispatch')).map((e) => e.name));
  }

  findData(name, scope) {
    for (const m of scope) { const a = this.dataSymbols(m).get(name); if (a !== undefined) return a; }
    return null;
  }

  findFunc(name, scope) { return scope.find((m) => this.functionNames(m).has(name)) ?? null; }

  hostFunc(module, name) {
    const f = this.imports[module]?.[name];
    return typeof f === 'function' ? f : null;
  }

  funcSlot(name, definer) {
    let slot = this.funcSlots.get(name);
    if (slot !== undefined) return slot;
    slot = this.table.grow(1);
    this.funcSlots.set(name, slot);
    const f = definer?.instance?.exports[name];
    if (f !== undefined) this.table.set(slot, f);
    else (this.pending ??= []).push([slot, name]);
    return slot;
  }

  loadBatch(batch, scope) {
    for (const m of batch) {
      const d = m.info.dylink;
      m.memoryBase = this.allocate(d.memorySize, 2 ** d.memoryAlign);
      m.tableBase = this.table.grow(d.tableSize);
    }
    const problems = batch.flatMap((m) => this.check(m, scope));
    if (problems.length > 0) throw new LoadError(problems);
    this.modules.push(...batch);
    try {
      for (const m of batch) m.instance = new WebAssembly.Instance(m.module, this.importObject(m, scope));
    } catch (error) {
      this.modules = this.modules.filter((m) => !batch.includes(m));
      throw error;
    }
    for (const [slot, name] of this.pending ?? []) {
      const f = this.findFunc(name, scope)?.instance?.exports[name];
      if (f !== undefined) this.table.set(slot, f);
    }
    this.pending = [];
    for (const m of [...batch].reverse()) m.instance.exports.__wasm_call_ctors?.();
  }

  check(m, scope) {
    const problems = [];
    const others = scope.filter((s) => s !== m);
    for (const imp of WebAssembly.Module.imports(m.module)) {
      if (imp.module === 'env' && SPECIAL.has(imp.name)) continue;
      if (imp.module === 'irld' && imp.name === 'closure_table_grow') continue;  // the loader's own
      let found;
      if (imp.module === 'GOT.mem') found = this.findData(imp.name, scope) !== null;
      else if (imp.module === 'GOT.func') found = this.findFunc(imp.name, scope) !== null || this.hostFunc('env', imp.name) !== null;
      else if (imp.kind === 'function') {
        found = (imp.module === 'env' && this.findFunc(imp.name, others) !== null) || this.hostFunc(imp.module, imp.name) !== null;
      } else found = false;
      if (!found) problems.push(`${m.path}: undefined symbol: ${imp.name} (import ${imp.module}.${imp.name})`);
    }
    return problems;
  }

  importObject(m, scope) {
    const object = {};
    const i32 = (value, mutable) => new WebAssembly.Global({ value: 'i32', mutable }, value | 0);
    for (const imp of WebAssembly.Module.imports(m.module)) {
      let value;
      if (imp.module === 'env' && SPECIAL.has(imp.name)) value = this.special(m, imp.name, i32);
      else if (imp.module === 'GOT.mem') value = i32(this.findData(imp.name, scope), true);
      else if (imp.module === 'GOT.func') value = i32(this.funcSlot(imp.name, this.findFunc(imp.name, scope)), true);
      else {
        const definer = imp.module === 'env' ? this.findFunc(imp.name, scope.filter((s) => s !== m)) : null;
        if (definer !== null) {
          const name = imp.name;
          value = definer.instance?.exports[name] ?? ((...args) => definer.instance.exports[name](...args));
        } else if (imp.module === 'irld' && imp.name === 'closure_table_grow') {
          value = (template, ctx) => closureTableGrow(m.instance.exports, template, ctx);
        } else value = this.hostFunc(imp.module, imp.name);
      }
      (object[imp.module] ??= {})[imp.name] = value;
    }
    return object;
  }

  special(m, name, i32) {
    if (name === 'memory') return this.memory;
    if (name === '__indirect_function_table') return this.table;
    if (name === '__stack_pointer') {
      if (this.stackPointer === null) this.stackPointer = i32(this.allocate(STACK_SIZE, 16) + STACK_SIZE, true);
      return this.stackPointer;
    }
    return i32(name === '__memory_base' ? m.memoryBase : m.tableBase, false);
  }

  // ---------------------------------------------------------------- dlfcn

  fail(message) { this.error = message; return 0; }

  dlopen(name, flags) {
    const path = this.find(name);
    if (path === null) return this.fail(`${name}: cannot open shared library: no such file (searched ${this.searched()})`);
    const known = this.byPath(path);
    if (known !== null) { known.refcount++; known.isGlobal ||= Boolean(flags & RTLD_GLOBAL); return known.handle; }
    if (flags & RTLD_NOLOAD) return 0;
    try {
      const lib = this.open(path, name);
      lib.isGlobal = Boolean(flags & RTLD_GLOBAL);
      const batch = [lib, ...this.neededClosure(lib)];
      const scope = [...this.modules.filter((m) => m.isGlobal), ...batch];
      this.loadBatch(batch, scope);
      return lib.handle;
    } catch (error) {
      if (error instanceof LoadError) return this.fail(error.problems.join('; '));
      throw error;
    }
  }

  dlsym(handle, name) {
    let scope, where;
    if (handle === 0) { scope = this.modules.filter((m) => m.isGlobal); where = 'the global namespace'; }
    else {
      const root = this.modules.find((m) => m.handle === handle);
      if (root === undefined) return this.fail(`dlsym: invalid handle ${handle}`);
      scope = [root];
      for (const m of scope) for (const dep of m.needed) if (!scope.includes(dep)) scope.push(dep);
      where = root.path;
    }
    const address = this.findData(name, scope);
    if (address !== null) return address;
    const definer = this.findFunc(name, scope);
    if (definer !== null) return this.funcSlot(name, definer);
    return this.fail(`dlsym: ${where}: undefined symbol: ${name}`);
  }

  dlclose(handle) {
    const m = this.modules.find((x) => x.handle === handle);
    if (m === undefined) { this.fail(`dlclose: invalid handle ${handle}`); return -1; }
    if (m === this.main) return 0;
    if (--m.refcount === 0) this.modules = this.modules.filter((x) => x !== m);
    return 0;
  }

  readString(address) {
    const bytes = new Uint8Array(this.memory.buffer);
    let end = address >>> 0;
    while (bytes[end] !== 0) end++;
    return new TextDecoder().decode(bytes.subarray(address >>> 0, end));
  }

  // env.dlopen and friends, as the program imports them.
  functions() {
    return {
      dlopen: (path, flags) => (path === 0 ? 1 : this.dlopen(this.readString(path), flags)),
      dlsym: (handle, name) => this.dlsym(handle >>> 0, this.readString(name)),
      dlclose: (handle) => this.dlclose(handle),
      dlerror: () => {
        const message = this.error;
        this.error = null;
        if (message === null) return 0;
        if (this.errorBuffer === 0) this.errorBuffer = this.allocate(ERROR_BUFFER_SIZE, 1);
        const data = new TextEncoder().encode(message).subarray(0, ERROR_BUFFER_SIZE - 1);
        const bytes = new Uint8Array(this.memory.buffer);
        bytes.set(data, this.errorBuffer);
        bytes[this.errorBuffer + data.length] = 0;
        return this.errorBuffer;
      },
    };
  }
}

// A library source over files (`fs`: node:fs): a name with a slash is a path, else the
// first directory of `searchPath` holding it.
export function fileLibraries(fs, searchPath) {
  const isFile = (p) => fs.existsSync(p) && fs.statSync(p).isFile();
  return {
    find: (name) => (name.includes('/') ? (isFile(name) ? name : null)
      : searchPath.map((dir) => (dir === '.' || dir === '' ? name : `${dir.replace(/\/$/, '')}/${name}`)).find(isFile) ?? null),
    read: (p) => fs.readFileSync(p),
    identity: (p) => fs.realpathSync(p),
    searched: () => searchPath.join(', ') || 'no directories',
  };
}

// A library source over what a page hands the runtime (`libraries` of instantiate): a
// source already, a function making one from this module's (`node prog.mjs`: the files
// beside the program), or an object of name -> bytes or URL, each fetched and compiled
// here, ahead of the program (dlopen cannot wait).
export async function givenLibraries(libraries = {}, bytesOf) {
  if (typeof libraries === 'function') return libraries({ fileLibraries });
  if (typeof libraries.find === 'function') return libraries;
  const table = new Map();
  for (const [name, value] of Object.entries(libraries)) {
    // the bytes, not only a compiled module: the loader reads dylink.0 and global values
    const bytes = new Uint8Array(await bytesOf(value));
    table.set(name, { module: await WebAssembly.compile(bytes), bytes });
  }
  return {
    find: (name) => (table.has(name) ? name : null),
    read: (name) => table.get(name),
    searched: () => `the libraries given: ${[...table.keys()].join(', ') || 'none'}`,
  };
}

export class LoadError extends Error {
  constructor(problems) { super(problems.join('; ')); this.problems = problems; }
}
