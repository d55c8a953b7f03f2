// Run a WASI command (the output of `irld link`) under Node's node:wasi.
//
//   node node_runner.mjs [--argv0=NAME] [--library-path=DIR]... [--trace-spec=FILE]
//                        [--trace-fd=N] [--] prog.wasm [args...]
//
// The Node counterpart of linker/host/wasmtime_host.py's `run`, with the same contract
// (docs/runtime.md): WASI preview 1 with an empty environment and no preopened
// directories, argv = [NAME or prog.wasm, args...], the same `env` host
// functions, and `irld.closure_table_grow` as the JS loader's runtime does it
// (js/irld-runtime.mjs builds a small wasm module per closure type that calls the
// program's dispatcher, and adds its function to the table).  Exit status: the
// program's WASI exit code; 134 after a trap, with `error: wasm trap: <reason>`
// (`error: panic` after a panic) and `  at <function>` lines on stderr, each
// with its IR `(file:line:col)` when the module names a source map; 1 for a file that cannot be run;
// 2 for a usage error.
//
// --trace-spec=FILE (JSON, linker/host/trace.py's node_spec) turns on `irld run --trace`
// and `--trace-ffi` for a program linked with --instrument: the `irld_trace` hooks write
// the same lines as linker/host/trace.py's Tracer does under wasmtime, to fd N
// (--trace-fd, default 2, stderr).

import * as fs from 'node:fs';
import { readFileSync, writeSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import process from 'node:process';
import { closureTableGrow } from './js/irld-runtime.mjs';
import { DynamicLoader, fileLibraries } from './js/irld-dylink.mjs';
// V8's wasm stack lines and its trap messages in wasmtime's words, as the JS runtime has
// them (linker/host/backtrace.py holds the same table)
import { FRAME as WASM_FRAME, WORDS as TRAP_WORDS } from './js/irld-trap.mjs';

const EXIT_TRAP = 134;

// node:wasi warns that it is experimental on first use; that line would
// pollute the program's stderr, so drop that one warning and keep the rest.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'ExperimentalWarning' && String(warning).includes('WASI')) return;
  return emitWarning.call(process, warning, ...rest);
};
const { WASI } = await import('node:wasi');

// Synchronous writes, so host output interleaves with WASI's fd_write (also
// synchronous) in program order even when stderr is a pipe.
function stderr(text) {
  writeSync(2, text);
}

function fail(status, message) {
  stderr(message + '\n');
  process.exit(status);
}

const libraryPath = [];
let traceSpec = null;
let traceFd = 2;

function parseArgs(argv) {
  let argv0 = null;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { i++; break; }
    if (arg.startsWith('--argv0=')) { argv0 = arg.slice('--argv0='.length); continue; }
    if (arg.startsWith('--library-path=')) { libraryPath.push(arg.slice('--library-path='.length)); continue; }
    if (arg.startsWith('--trace-spec=')) {
      traceSpec = JSON.parse(readFileSync(arg.slice('--trace-spec='.length), 'utf8'));
      continue;
    }
    if (arg.startsWith('--trace-fd=')) { traceFd = Number(arg.slice('--trace-fd='.length)); continue; }
    if (arg.startsWith('--')) fail(2, `node_runner: error: unknown option ${arg}`);
    break;
  }
  if (i >= argv.length) fail(2, 'usage: node node_runner.mjs [--argv0=NAME] [--] prog.wasm [args...]');
  const path = argv[i];
  return { path, args: [argv0 ?? path, ...argv.slice(i + 1)] };
}

// ECMAScript Number::toString is the reference format of `trace f64`
// (linker/host/wasmtime_host.py's format_f64 reproduces it).
const hostImports = {
  env: {
    irld_trace_i32: (v) => stderr(`trace i32: ${v}\n`),
    irld_trace_i64: (v) => stderr(`trace i64: ${v}\n`),
    irld_trace_f64: (v) => stderr(`trace f64: ${String(v)}\n`),
    irld_clock_ms: () => performance.now(),
  },
  irld: {
    closure_table_grow: (template, ctx) => closureTableGrow(instance.exports, template, ctx),
    ffi_call_dynamic: (fn, types, values, key) => ffiCallDynamic(fn, types, values, key),
  },
  // The hooks of `irld link --instrument` (linker/tracehooks.py lists them): without
  // --trace-spec every name of the module is a no-op, so instrumented programs run.
  irld_trace: new Proxy({}, { get: () => () => {} }),
};

// --trace / --trace-ffi: linker/host/trace.py's Tracer, line for line. `spec.traced`
// names the functions the pattern matches (fid -> name); the stack holds the
// instrumented frames, whose depth indents a line; a tail call replaces the top frame.
function traceHooks(spec, fd) {
  const stack = [];
  let pending = -1, args = [], tailNext = false;
  const log = (fid, text) => {
    if (spec.traced[fid] !== undefined) {
      writeSync(fd, `trace: ${'  '.repeat(Math.max(0, stack.length - 1))}${text}\n`);
    }
  };
  const leave = (fid, result) => {
    log(fid, `return ${spec.traced[fid]}${result === undefined ? '' : ` = ${result}`}`);
    while (stack.length && stack.pop() !== fid);
  };
  // `what target: csig(args)extra`, the arguments read through the pointer array `avalue`
  const ffiEnter = (what, sig, fn, avalue, extra) => {
    const s = spec.sigs?.[sig];
    if (!s) return;
    const view = new DataView(instance.exports.memory.buffer);
    const values = s.params.map((t, k) => cValue(view, t, view.getUint32((avalue >>> 0) + 4 * k, true)));
    const target = spec.targets[fn >>> 0] ?? `<function pointer ${fn >>> 0}>`;
    writeSync(fd, `trace-ffi: ${what} ${target}: ${s.text}(${values.join(', ')})${extra}\n`);
  };
  const ffiLeave = (what, sig, rvalue) => {
    const s = spec.sigs?.[sig];
    if (!s) return;
    const view = new DataView(instance.exports.memory.buffer);
    writeSync(fd, `trace-ffi: ${what} returned ${s.ret === null ? 'void' : cValue(view, s.ret, rvalue >>> 0)}\n`);
  };
  const hooks = {
    enter(fid) { pending = fid; args = []; },
    called() {
      let call = 'call';
      if (tailNext && stack.length) { stack.pop(); call = 'tail call'; }
      tailNext = false;
      stack.push(pending);
      log(pending, `${call} ${spec.traced[pending]}(${args.join(', ')})`);
    },
    tail() { tailNext = true; },
    exit(fid) { leave(fid); },
    ffi_call: (sig, fn, _rvalue, avalue) => ffiEnter('ffi_call', sig, fn, avalue, ''),
    ffi_return: (sig, rvalue) => ffiLeave('ffi_call', sig, rvalue),
    closure: (sig, fun, args, userData) =>
      ffiEnter('closure', sig, fun, args, ` user_data=0x${(userData >>> 0).toString(16).padStart(8, '0')}`),
    closure_return: (sig, ret) => ffiLeave('closure', sig, ret),
  };
  // values as Python's str() of the int, or format_f64 (ECMAScript's Number::toString)
  for (const t of ['i32', 'i64', 'f32', 'f64']) {
    hooks[`arg_${t}`] = (v) => { args.push(String(v)); };
    hooks[`exit_${t}`] = (fid, v) => leave(fid, String(v));
  }
  return hooks;
}

// The C value of type `t` (node_spec's form) at `address`, as trace.py's _c_value writes it.
function cValue(view, t, address) {
  if (Array.isArray(t)) return `{${t.map(([off, f]) => cValue(view, f, address + off)).join(', ')}}`;
  if (t === 'pointer') return `0x${view.getUint32(address, true).toString(16).padStart(8, '0')}`;
  if (t === 'longdouble') {
    const bytes = new Uint8Array(view.buffer, address, 16);
    return `longdouble ${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  }
  return String(view[`get${t}`](address, true));
}

// --ffi-fallback=host (linker/host/ffi_fallback.py has the protocol): irld's
// libffi lowered the call to wasm values; call table entry `fn` with them.
const fallbackCounts = new Map();

function cString(memory, address) {
  const bytes = new Uint8Array(memory.buffer);
  let end = address >>> 0;
  while (bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(address >>> 0, end));
}

function ffiCallDynamic(fn, types, values, key) {
  const { memory, __indirect_function_table: table } = instance.exports;
  const letters = cString(memory, types);
  const name = cString(memory, key);
  fallbackCounts.set(name, (fallbackCounts.get(name) ?? 0) + 1);
  const view = new DataView(memory.buffer);
  const base = values >>> 0;
  const args = [...letters.slice(1)].map((t, k) => {
    const at = base + 8 + 8 * k;
    switch (t) {
      case 'i': return view.getInt32(at, true);
      case 'j': return view.getBigInt64(at, true);
      case 'f': return view.getFloat32(at, true);
      default: return view.getFloat64(at, true);
    }
  });
  const result = table.get(fn >>> 0)(...args);
  const out = new DataView(memory.buffer);   // the call may have grown memory
  switch (letters[0]) {
    case 'i': out.setInt32(base, result, true); break;
    case 'j': out.setBigInt64(base, BigInt.asIntN(64, result), true); break;
    case 'f': out.setFloat32(base, result, true); break;
    case 'd': out.setFloat64(base, result, true); break;
  }
}

function fallbackSummary() {
  if (fallbackCounts.size === 0) return;
  const parts = [...fallbackCounts.keys()].sort().map((k) => {
    const n = fallbackCounts.get(k);
    return `${k} (${n} call${n === 1 ? '' : 's'})`;
  });
  stderr(`irld: ffi host fallback: ${parts.join(', ')}\n`);
}

const PANIC_FUNCTION = '__irld_panic';

// The source map the module names in its sourceMappingURL section (irld link
// --source-map), decoded by Node's own SourceMap; null when there is none.
function sourceMapOf(module, wasmPath) {
  const sections = WebAssembly.Module.customSections(module, 'sourceMappingURL');
  if (sections.length === 0) return null;
  const bytes = new Uint8Array(sections[0]);
  let len = 0, shift = 0, i = 0;
  for (; i < bytes.length; i++) {
    len |= (bytes[i] & 0x7f) << shift;
    shift += 7;
    if (!(bytes[i] & 0x80)) { i++; break; }
  }
  let url = new TextDecoder().decode(bytes.subarray(i, i + len));
  if (url.startsWith('file://')) url = url.slice('file://'.length);
  if (url.includes('://')) return null;
  try {
    const mapPath = isAbsolute(url) ? url : join(dirname(wasmPath), url);
    return new SourceMap(JSON.parse(readFileSync(mapPath, 'utf8')));
  } catch {
    return null;
  }
}

function locate(map, offset) {
  if (map === null) return '';
  const e = map.findEntry(0, offset);
  if (!e || e.originalSource === undefined) return '';
  return ` (${e.originalSource}:${e.originalLine + 1}:${e.originalColumn + 1})`;
}

function trap(error) {
  fallbackSummary();
  const frames = [];
  for (const line of String(error.stack ?? '').split('\n')) {
    const m = WASM_FRAME.exec(line);
    if (m) frames.push({ name: m[1] ?? `<wasm function ${m[2]}>`, offset: parseInt(m[3], 16) });
  }
  // The panic runtime's frames (a panic, or a failed check of --checked).
  const runtime = (f) => f.name === PANIC_FUNCTION || f.name.startsWith('__irld_check');
  let k = 0;
  while (k < frames.length && runtime(frames[k])) k++;
  const panic = k > 0;
  const words = TRAP_WORDS[error.message] ?? error.message;
  const lines = [panic ? 'error: panic' : `error: wasm trap: ${words}`];
  const map = sourceMap();
  for (const f of frames.slice(k)) lines.push(`  at ${f.name}${locate(map, f.offset)}`);
  fail(EXIT_TRAP, lines.join('\n'));
}

// --split=ROOTS (linker/split.py, as the wasmtime loader's install_split): each table slot
// the `irld.split` section lists gets a placeholder whose first call loads the secondary
// module, whose element segment puts the real functions in the slots. A placeholder is a
// JS function of the slot's type, made a table-worthy wasm function by a two-line module
// that imports it and exports it again.
function installSplit(module, instance, libraries) {
  const [section] = WebAssembly.Module.customSections(module, 'irld.split');
  if (!section) return;
  const b = new Uint8Array(section);
  let p = 0;
  const uleb = () => { let v = 0, shift = 0, x; do { x = b[p++]; v += (x & 127) * 2 ** shift; shift += 7; } while (x & 128); return v; };
  const bytes = (n) => b.subarray(p, (p += n));
  const name = new TextDecoder().decode(bytes(uleb()));
  const slots = Array.from({ length: uleb() }, () => [uleb(), uleb()]);
  const types = Array.from({ length: uleb() }, () => {
    const start = p;
    p++;               // 0x60
    bytes(uleb());     // parameters
    bytes(uleb());     // results
    return b.slice(start, p);
  });
  const table = instance.exports.__indirect_function_table;
  let loaded = false;
  const load = () => {
    if (loaded) return;
    const file = libraries.find(name);
    if (file === null) {
      throw new WebAssembly.RuntimeError(
        `${name}: cannot load the split module: no such file (searched ${libraries.searched()})`);
    }
    const secondary = new WebAssembly.Module(libraries.read(file));
    const given = { memory: instance.exports.memory, __indirect_function_table: table };
    const imports = {};
    const missing = [];
    for (const imp of WebAssembly.Module.imports(secondary)) {
      const value = (imp.module === 'env' ? given[imp.name] : undefined) ?? instance.exports[imp.name];
      if (value === undefined) missing.push(`${imp.module}.${imp.name}`);
      (imports[imp.module] ??= {})[imp.name] = value;
    }
    if (missing.length > 0) {
      throw new WebAssembly.RuntimeError(`${file}: not the split module of this program (the ` +
        `program does not export ${missing.join(', ')})`);
    }
    new WebAssembly.Instance(secondary, imports);
    loaded = true;
  };
  const wasmSection = (id, body) => [id, ...leb(body.length), ...body];
  const str = (text) => [text.length, ...new TextEncoder().encode(text)];
  // one wrapper module per function type, instantiated per slot
  const wrappers = types.map((type) => new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...wasmSection(1, [1, ...type]), ...wasmSection(2, [1, ...str('e'), ...str('f'), 0, 0]),
    ...wasmSection(7, [1, ...str('f'), 0, 0])])));
  for (const [slot, type] of slots) {
    const placeholder = (...args) => { load(); return table.get(slot)(...args); };
    table.set(slot, new WebAssembly.Instance(wrappers[type], { e: { f: placeholder } }).exports.f);
  }
}

function leb(n) {
  const out = [];
  do { out.push((n & 127) | (n >= 128 ? 128 : 0)); n = Math.floor(n / 128); } while (n > 0);
  return out;
}

function isTrap(error) {
  // Stack exhaustion is a RangeError in V8, not a WebAssembly.RuntimeError.
  return error instanceof WebAssembly.RuntimeError || error instanceof RangeError;
}

function describe(kind) {
  return kind === 'function' ? '' : ` (${kind})`;
}

const { path, args } = parseArgs(process.argv.slice(2));
if (traceSpec !== null) hostImports.irld_trace = traceHooks(traceSpec, traceFd);
Error.stackTraceLimit = 40;

let bytes;
try {
  bytes = readFileSync(path);
} catch (error) {
  fail(1, `${path}: error: cannot read: ${error.message}`);
}

let module;
try {
  module = await WebAssembly.compile(bytes);
} catch (error) {
  fail(1, `${path}: error: not a valid wasm module: ${error.message}`);
}
let cachedMap;
function sourceMap() {
  if (cachedMap === undefined) cachedMap = sourceMapOf(module, path);
  return cachedMap;
}

const wasi = new WASI({ version: 'preview1', args, env: {}, preopens: {}, returnOnExit: true });
const imports = { ...hostImports, wasi_snapshot_preview1: wasi.wasiImport };
// dlopen and friends (docs/dynamic.md): libraries are searched beside the program, then in
// each --library-path.
const loader = new DynamicLoader({ source: fileLibraries(fs, [dirname(path), ...libraryPath]), imports });
imports.env = { ...loader.functions(), ...imports.env };

// Node cannot reflect import types, so the names alone are listed.
const missing = WebAssembly.Module.imports(module).filter(
  (imp) => imp.kind !== 'function' || typeof imports[imp.module]?.[imp.name] !== 'function');
if (missing.length > 0) {
  fail(1, missing.map((imp) =>
    `irld run: error: ${path}: unknown import ${imp.module}.${imp.name}${describe(imp.kind)}`).join('\n'));
}

let instance;
try {
  instance = await WebAssembly.instantiate(module, imports);
} catch (error) {
  if (isTrap(error)) trap(error);
  fail(1, `${path}: error: ${error.message}`);
}

loader.attachStaticMain(instance, bytes, path);
installSplit(module, instance, fileLibraries(fs, [dirname(path), ...libraryPath]));
let status;
try {
  status = wasi.start(instance);
} catch (error) {
  if (isTrap(error)) trap(error);
  fail(1, `${path}: error: ${error.message}`);
}
fallbackSummary();
process.exit(status ?? 0);
