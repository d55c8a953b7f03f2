// irld-runtime.mjs: the common JS runtime of programs linked by irld (docs/js.md).
//
// `irld link --emit-js prog.mjs` writes a per-program stub that imports this file;
// the pair runs the program in Node >= 20 and in browsers, with no bundler. As
// Asterius's rts.js beside its per-program stub, it provides:
// * a WASI preview 1 shim: args, environ, clocks, random, fd_write to callbacks
//   (console by default), fd_read from `stdin`, proc_exit, and an in-memory file
//   system (`files`, preopened as "/") for path_open/fd_read/fd_write; every
//   other preview 1 function answers ENOSYS;
// * FFI closure pool growth (irld.closure_table_grow, docs/runtime.md): one tiny
//   wasm module per closure type, built here, whose function calls the program's
//   `__irld_closure_dispatch_<type>` export with the slot's context, added with
//   table.grow; importing the template slot as that type checks the type;
// * foreign imports bound to JS functions, foreign exports by C name, with C
//   types converted (the stub's `meta`: result letter then parameter letters);
// * panics as `PanicError` (message `panic in <function>: <text>`, the line the
//   program's panic runtime wrote on stderr just before it trapped);
// * the exit status returned by `run()`; never process.exit.
// Two more files are imported only when needed, so a page never loads them otherwise:
// irld-trap.mjs by describeTrap (a trap in `irld run`'s words, with IR locations from
// the program's source map), irld-command.mjs by runMain under Node (`node prog.mjs`).
// Comments stay on their own lines: `minify` in benchmarks/js_runtime_size.py
// removes them and the indentation.

const WASI = 'wasi_snapshot_preview1';
const DISPATCH = '__irld_closure_dispatch_';
const ENOSYS = 52;
const EBADF = 8;
const ENOENT = 44;
const isNode = typeof process == 'object' && !!process.versions?.node;

// proc_exit unwinds the wasm stack with this; run() turns it into a status.
class Exit {
  constructor(status) { this.status = status; }
}

export class ExitError extends Error {
  constructor(status) {
    super(`exit with status ${status}`);
    this.name = 'ExitError';
    this.status = status;
  }
}

export class PanicError extends Error {
  constructor(fn, reason, cause) {
    super(`panic in ${fn}: ${reason}`, { cause });
    this.name = 'PanicError';
    this.function = fn;
    this.reason = reason;
  }
}

// C types of meta letters (linker/ir/ctypes.py keys) crossing the boundary.
const fromWasm = (c, v) => 'BHIp'.includes(c) ? v >>> 0 : c == 'L' ? BigInt.asUintN(64, v) : v;
const toWasm = (c, v) => 'lL'.includes(c) ? BigInt.asIntN(64, BigInt(v)) : v;

// C scalar types for read/write/sizeof: size and DataView accessor.
const SCALARS = {
  sint8: [1, 'Int8'], uint8: [1, 'Uint8'], sint16: [2, 'Int16'], uint16: [2, 'Uint16'],
  sint32: [4, 'Int32'], uint32: [4, 'Uint32'], pointer: [4, 'Uint32'],
  sint64: [8, 'BigInt64'], uint64: [8, 'BigUint64'], float: [4, 'Float32'], double: [8, 'Float64'],
};
const up = (n, a) => Math.ceil(n / a) * a;

// Size, alignment and field offsets of a C type: a scalar name or an array of fields (a struct).
function layout(t) {
  if (!Array.isArray(t)) return { size: SCALARS[t][0], align: SCALARS[t][0] };
  let size = 0, align = 1;
  const offsets = t.map((f) => {
    const l = layout(f);
    size = up(size, l.align);
    align = Math.max(align, l.align);
    return (size += l.size) - l.size;
  });
  return { size: up(size, align), align, offsets };
}

// The bytes of a source: bytes, a file (Node) or a URL.
async function bytesOf(source) {
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return source;
  const url = String(source);
  if (isNode && (url.startsWith('file:') || !/^[a-z][a-z0-9+.-]*:/i.test(url))) {
    const { readFile } = await import('node:fs/promises');
    return readFile(url.startsWith('file:') ? new URL(url) : url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

const compile = async (source) =>
  source instanceof WebAssembly.Module ? source : WebAssembly.compile(await bytesOf(source));

// A stdout/stderr sink: the caller's callback(text, bytes), else console by lines.
function sink(callback, log) {
  const decoder = new TextDecoder();
  let line = '';
  const write = (bytes) => {
    const text = decoder.decode(bytes, { stream: true });
    if (callback) return callback(text, bytes);
    const lines = (line + text).split('\n');
    line = lines.pop();
    lines.forEach((l) => log(l));
  };
  write.flush = () => {
    if (!callback && line) log(line);
    line = '';
  };
  return write;
}

const leb = (n) => n < 128 ? [n] : [(n & 127) | 128, ...leb(n >> 7)];
const vec = (items) => [...leb(items.length), ...items.flat()];
const name = (s) => vec([...s].map((c) => c.charCodeAt(0)));
const VT = { i: 0x7f, j: 0x7e, f: 0x7d, d: 0x7c };

// The growth module of a closure type, in dynCall letters (result first): imports the
// template slot `t` (as that type), the dispatcher `d` and the context global `c`; its
// export `f` calls d(c, params...).
function growModule(sig) {
  const params = [...sig.slice(1)];
  const functype = (ps) => [0x60, ...vec(ps.map((c) => [VT[c]])), ...(sig[0] == 'v' ? [0] : [1, VT[sig[0]]])];
  const section = (id, items) => [id, ...leb(vec(items).length), ...vec(items)];
  const body = [0, 0x23, 0, ...params.flatMap((_, i) => [0x20, ...leb(i)]), 0x10, 1, 0x0b];
  return new WebAssembly.Module(new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [functype(params), functype(['i', ...params])]),
    ...section(2, [[...name('e'), ...name('t'), 0, 0], [...name('e'), ...name('d'), 0, 1],
      [...name('e'), ...name('c'), 3, 0x7f, 0]]),
    ...section(3, [[0]]),
    ...section(7, [[...name('f'), 0, 2]]),
    ...section(10, [vec(body)]),
  ]));
}

const growModules = {};

// irld.closure_table_grow(template, ctx): a new table slot calling the dispatcher of
// the template's type with ctx, or 0 (also node_runner.mjs's). Only instantiation knows the template's type:
// it fails (LinkError) for every candidate type but the right one.
export function closureTableGrow(exports, template, ctx) {
  const table = exports.__indirect_function_table;
  let t;
  try { t = table?.get(template >>> 0); } catch { return 0; }
  if (!t) return 0;
  for (const [key, d] of Object.entries(exports)) {
    const sig = key.slice(DISPATCH.length);
    if (!key.startsWith(DISPATCH) || sig.length != t.length + 1) continue;
    let slot;
    try {
      growModules[sig] ??= growModule(sig);
      slot = new WebAssembly.Instance(growModules[sig], { e: { t, d, c: ctx } }).exports.f;
    } catch { continue; }
    try { return table.grow(1, slot); } catch { return 0; }
  }
  return 0;
}

/**
 * Compile and instantiate an irld program; see docs/js.md and irld-runtime.d.mts.
 * options: args, env, imports, stdout, stderr, stdin, files, meta.
 */
export async function instantiate(source, options = {}) {
  const module = await compile(source);
  const meta = options.meta ?? {};
  const args = (options.args ?? ['prog']).map((a) => `${a}\0`);
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}\0`);
  const enc = new TextEncoder();
  const stdout = sink(options.stdout, console.log);
  const stderr = sink(options.stderr, console.error);
  const files = new Map(Object.entries(options.files ?? {}).map(([k, v]) =>
    [norm(k), typeof v == 'string' ? enc.encode(v) : new Uint8Array(v)]));
  const fds = new Map();
  // fd 3 is the preopened root of `files`, when given
  if (options.files) fds.set(3, { dir: '' });
  let nextFd = 4;
  let stdin = options.stdin ?? new Uint8Array();
  if (typeof stdin == 'string') stdin = enc.encode(stdin);
  // the panic runtime's line: the last thing written before the trap
  let errTail = '', lastFd = 0;
  let instance, memory;

  const dv = () => new DataView(memory.buffer);
  const bytes = (p, n) => new Uint8Array(memory.buffer, p, n);
  const u32 = (p) => dv().getUint32(p, true);
  const setU32 = (p, v) => dv().setUint32(p, v, true);
  const setU64 = (p, v) => dv().setBigUint64(p, BigInt(v), true);
  const text = (p, n) => new TextDecoder().decode(bytes(p, n));
  const iovs = (p, n) => Array.from({ length: n }, (_, i) => bytes(u32(p + 8 * i), u32(p + 8 * i + 4)));
  // strings as NUL-terminated UTF-8 into a pointer array and a buffer
  const strings = (list) => (ptrs, buf) => {
    for (const s of list) {
      setU32(ptrs, buf);
      ptrs += 4;
      const b = enc.encode(s);
      bytes(buf, b.length).set(b);
      buf += b.length;
    }
    return 0;
  };
  const sizes = (list) => (count, size) => {
    setU32(count, list.length);
    setU32(size, list.reduce((n, s) => n + enc.encode(s).length, 0));
    return 0;
  };
  function norm(path) {
    const out = [];
    for (const part of path.split('/')) {
      if (part == '..') out.pop();
      else if (part && part != '.') out.push(part);
    }
    return out.join('/');
  }
  const isDir = (path) => !path || [...files.keys()].some((k) => k.startsWith(path + '/'));
  // filestat: dev, ino, filetype, nlink, size, times
  function filestat(p, path) {
    bytes(p, 64).fill(0);
    dv().setUint8(p + 16, files.has(path) ? 4 : 3);
    setU64(p + 24, 1);
    setU64(p + 32, files.get(path)?.length ?? 0);
    return 0;
  }
  function writeFile(f, chunk) {
    let data = files.get(f.path);
    const at = f.append ? data.length : f.pos;
    if (at + chunk.length > data.length) {
      const grown = new Uint8Array(at + chunk.length);
      grown.set(data);
      files.set(f.path, (data = grown));
    }
    data.set(chunk, at);
    f.pos = at + chunk.length;
  }
  function readInto(buf) {
    if (typeof stdin == 'function') {
      const got = stdin(buf.length);
      buf.set(got);
      return got.length;
    }
    const got = stdin.subarray(0, buf.length);
    buf.set(got);
    stdin = stdin.subarray(got.length);
    return got.length;
  }

  const wasi = {
    args_get: strings(args),
    args_sizes_get: sizes(args),
    environ_get: strings(env),
    environ_sizes_get: sizes(env),
    clock_res_get: (_id, p) => (setU64(p, 1000), 0),
    clock_time_get(id, _precision, p) {
      setU64(p, id == 0 ? BigInt(Date.now()) * 1000000n : BigInt(Math.round(performance.now() * 1e6)));
      return 0;
    },
    random_get(p, n) {
      for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes(p + i, Math.min(65536, n - i)));
      return 0;
    },
    proc_exit(status) { throw new Exit(status); },
    sched_yield: () => 0,
    fd_write(fd, p, n, written) {
      const chunks = iovs(p, n);
      let total = 0;
      for (const c of chunks) {
        total += c.length;
        if (fd == 1 || fd == 2) {
          const copy = c.slice();
          (fd == 1 ? stdout : stderr)(copy);
          if (fd == 2) errTail = (errTail + new TextDecoder().decode(copy)).slice(-4096);
        } else if (fds.get(fd)?.path != null) writeFile(fds.get(fd), c);
        else return EBADF;
      }
      lastFd = fd;
      setU32(written, total);
      return 0;
    },
    fd_read(fd, p, n, read) {
      const f = fds.get(fd);
      if (fd != 0 && f?.path == null) return EBADF;
      let total = 0;
      for (const buf of iovs(p, n)) {
        let got;
        if (fd == 0) got = readInto(buf);
        else {
          const src = files.get(f.path).subarray(f.pos, f.pos + buf.length);
          buf.set(src);
          f.pos += (got = src.length);
        }
        total += got;
        if (got < buf.length) break;
      }
      setU32(read, total);
      return 0;
    },
    fd_seek(fd, offset, whence, p) {
      const f = fds.get(fd);
      if (f?.path == null) return fd < 3 ? 70 : EBADF;
      const base = [0, f.pos, files.get(f.path).length][whence];
      const pos = base + Number(offset);
      if (base == null || pos < 0) return 28;
      setU64(p, (f.pos = pos));
      return 0;
    },
    fd_close: (fd) => (fds.delete(fd) || fd < 3 ? 0 : EBADF),
    fd_fdstat_get(fd, p) {
      const f = fds.get(fd);
      if (fd > 2 && !f) return EBADF;
      bytes(p, 24).fill(0);
      dv().setUint8(p, fd < 3 ? 2 : f.path == null ? 3 : 4);
      setU64(p + 8, 0x1fffffffn);
      setU64(p + 16, 0x1fffffffn);
      return 0;
    },
    fd_fdstat_set_flags: () => 0,
    fd_prestat_get: (fd, p) => fd != 3 || !fds.has(3) ? EBADF : (setU32(p, 0), setU32(p + 4, 1), 0),
    fd_prestat_dir_name: (fd, p) => fd != 3 || !fds.has(3) ? EBADF : (bytes(p, 1)[0] = 47, 0),
    fd_filestat_get(fd, p) {
      const f = fds.get(fd);
      return f ? filestat(p, f.path ?? f.dir) : fd < 3 ? (bytes(p, 64).fill(0), 0) : EBADF;
    },
    path_filestat_get(fd, _flags, p, n, out) {
      const dir = fds.get(fd)?.dir;
      if (dir == null) return EBADF;
      const path = norm(`${dir}/${text(p, n)}`);
      return files.has(path) || isDir(path) ? filestat(out, path) : ENOENT;
    },
    path_open(fd, _dirflags, p, n, oflags, _rights, _inherit, fdflags, out) {
      const dir = fds.get(fd)?.dir;
      if (dir == null) return EBADF;
      const path = norm(`${dir}/${text(p, n)}`);
      let f;
      if (files.has(path)) {
        if (oflags & 4 && oflags & 1) return 20;
        if (oflags & 2) return 54;
        if (oflags & 8) files.set(path, new Uint8Array());
        f = { path, pos: 0, append: fdflags & 1 };
      } else if (isDir(path)) f = { dir: path };
      else if (oflags & 1) {
        files.set(path, new Uint8Array());
        f = { path, pos: 0, append: fdflags & 1 };
      } else return ENOENT;
      fds.set(nextFd, f);
      setU32(out, nextFd++);
      return 0;
    },
  };

  const program = {
    module,
    files,
    ffiFallback: {},
    get instance() { return instance; },
    get memory() { return memory; },
    // read/write a C value: a scalar type name, or an array of field types (a struct)
    read: (p, type) => access(p, type),
    write(p, type, value) { access(p, type, value, true); },
    sizeof: (type) => layout(type).size,
    readString: (p, n) => text(p, n),
    readCString: (p) => text(p, new Uint8Array(memory.buffer, p).indexOf(0)),
    writeCString(p, s) {
      const b = enc.encode(`${s}\0`);
      bytes(p, b.length).set(b);
      return b.length;
    },
    run() {
      try {
        call(instance.exports._start);
        return 0;
      } catch (e) {
        if (e instanceof ExitError) return e.status;
        throw e;
      } finally {
        stdout.flush();
        stderr.flush();
      }
    },
  };

  function access(p, type, value, set) {
    if (!Array.isArray(type)) return dv()[`${set ? 'set' : 'get'}${SCALARS[type][1]}`](p, set ? value : true, true);
    const { offsets } = layout(type);
    return type.map((t, i) => access(p + offsets[i], t, value?.[i], set));
  }

  // Call into wasm; a trap right after the panic line becomes a PanicError.
  function call(f, ...a) {
    lastFd = 0;
    try {
      return f(...a);
    } catch (e) {
      if (e instanceof Exit) throw new ExitError(e.status);
      const m = lastFd == 2 && e instanceof WebAssembly.RuntimeError &&
        /(?:^|\n)panic in (.*?): (.*)\n$/.exec(errTail);
      const error = m ? new PanicError(m[1], m[2], e) : e;
      if (error instanceof Error) traps.set(error, [module, source]);
      throw error;
    }
  }

  const host = {
    env: { irld_clock_ms: () => performance.now() },
    irld: {
      closure_table_grow: (t, c) => closureTableGrow(instance.exports, t, c),
      // --ffi-fallback=host (linker/host/ffi_fallback.py): a call lowered to wasm values
      // in 8-byte slots, slot 0 the result; counted per signature key
      ffi_call_dynamic(fn, types, values, key) {
        const sig = program.readCString(types), k = program.readCString(key);
        const T = { i: 'sint32', j: 'sint64', f: 'float', d: 'double' };
        program.ffiFallback[k] = (program.ffiFallback[k] ?? 0) + 1;
        const r = instance.exports.__indirect_function_table.get(fn >>> 0)(
          ...[...sig.slice(1)].map((t, i) => program.read((values >>> 0) + 8 + 8 * i, T[t])));
        if (sig[0] != 'v') program.write(values >>> 0, T[sig[0]], sig[0] == 'j' ? BigInt.asIntN(64, r) : r);
      },
    },
  };
  // `irld link --instrument`'s hooks: nothing to do here (irld run traces)
  host.irld_trace = new Proxy({}, { get: () => () => {} });
  for (const t of ['i32', 'i64', 'f64']) host.env[`irld_trace_${t}`] = (v) => stderr(enc.encode(`trace ${t}: ${v}\n`));
  const imports = {};
  // dlopen and friends: the loader (irld-dylink.mjs) is loaded only by a program importing them
  let loader;
  if (WebAssembly.Module.imports(module).some((i) => i.module == 'env' && /^dl(open|sym|close|error)$/.test(i.name))) {
    const dl = await import('./irld-dylink.mjs');
    loader = new dl.DynamicLoader({ source: await dl.givenLibraries(options.libraries, bytesOf), imports });
    Object.assign(host.env, loader.functions());
  }
  const missing = [];
  for (const { module: m, name: n, kind } of WebAssembly.Module.imports(module)) {
    const given = options.imports?.[m]?.[n];
    const code = meta.imports?.[m]?.[n];
    let value = given;
    if (typeof given == 'function') {
      value = code
        ? (...a) => toWasm(code[0], given.apply(program, a.map((v, i) => fromWasm(code[i + 1], v))))
        : (...a) => given.apply(program, a);
    } else if (given === undefined && m == WASI && kind == 'function') {
      const f = wasi[n];
      // a fault (RangeError from a view outside memory) is EFAULT, as a host would say
      value = f ? (...a) => { try { return f(...a); } catch (e) { if (e instanceof RangeError) return 21; throw e; } }
        : () => ENOSYS;
    } else if (given === undefined) value = host[m]?.[n];
    if (value === undefined) missing.push(`${m}.${n}${kind == 'function' ? '' : ` (${kind})`}`);
    (imports[m] ??= {})[n] = value;
  }
  if (missing.length) throw new Error(`unknown import${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  instance = await WebAssembly.instantiate(module, imports);
  memory = instance.exports.memory ?? options.imports?.env?.memory;
  loader?.attachStaticMain(instance, null, args[0].slice(0, -1));
  const exports = {};
  for (const [n, f] of Object.entries(instance.exports)) {
    const code = meta.exports?.[n];
    exports[n] = typeof f != 'function' ? f : code
      ? (...a) => fromWasm(code[0], call(f, ...a.map((v, i) => toWasm(code[i + 1], v))))
      : (...a) => call(f, ...a);
  }
  program.exports = exports;
  // a WASI reactor (linked with --no-entry) runs its ctors once, before any export
  if (exports._initialize) exports._initialize();
  return program;
}

// The program each trap came from, for describeTrap: error -> [module, source].
const traps = new WeakMap();

/**
 * A trap as `irld run` prints it (irld-trap.mjs, loaded only now): a promise of
 * `error: wasm trap: <reason>` or `error: panic`, then `  at <function>` lines with
 * their IR locations when the program has a source map.
 */
export const describeTrap = async (error) =>
  (await import('./irld-trap.mjs')).describeTrap(error, traps.get(error));

/**
 * Run the program as a command when `node prog.mjs ARGS...` started the stub at
 * `stubUrl` (irld-command.mjs, loaded only under Node); does nothing in browsers.
 */
export async function runMain(stubUrl, wasmUrl, meta) {
  if (isNode && process.argv[1]) await (await import('./irld-command.mjs')).runMain(stubUrl, wasmUrl, meta);
}
