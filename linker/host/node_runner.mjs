// Run a WASI command (the output of `irld link`) under Node's node:wasi.
//
//   node node_runner.mjs [--argv0=NAME] [--] prog.wasm [args...]
//
// The Node counterpart of linker/host/wasmtime_host.py's `run`, with the same contract
// (docs/runtime.md): WASI preview 1 with an empty environment and no preopened
// directories, argv = [NAME or prog.wasm, args...], the same `env` host
// functions, and `irld.closure_table_grow` returning 0 (plain WASI cannot add
// host functions to a table, so the FFI pool fails cleanly).  Exit status: the
// program's WASI exit code; 134 after a trap, with `error: wasm trap: <reason>`
// and `  at <function>` lines on stderr; 1 for a file that cannot be run;
// 2 for a usage error.

import { readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import process from 'node:process';
import { DynamicLoader } from './node_loader.mjs';

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

function parseArgs(argv) {
  let argv0 = null;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { i++; break; }
    if (arg.startsWith('--argv0=')) { argv0 = arg.slice('--argv0='.length); continue; }
    if (arg.startsWith('--library-path=')) { libraryPath.push(arg.slice('--library-path='.length)); continue; }
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
    closure_table_grow: (_templateIndex, _closureCtx) => 0,
  },
};

// V8 stack lines for wasm frames look like
//   at boom (wasm://wasm/f64d1c82:wasm-function[0]:0x2a)
//   at wasm://wasm/f64d1c82:wasm-function[2]:0x36          (no name)
const WASM_FRAME = /^\s*at (?:(.+?) \()?wasm:\/\/wasm\/[^:]*:wasm-function\[(\d+)\]:0x[0-9a-f]+\)?$/;

function trap(error) {
  const lines = [`error: wasm trap: ${error.message}`];
  for (const line of String(error.stack ?? '').split('\n')) {
    const m = WASM_FRAME.exec(line);
    if (m) lines.push(`  at ${m[1] ?? `<wasm function ${m[2]}>`}`);
  }
  fail(EXIT_TRAP, lines.join('\n'));
}

function isTrap(error) {
  // Stack exhaustion is a RangeError in V8, not a WebAssembly.RuntimeError.
  return error instanceof WebAssembly.RuntimeError || error instanceof RangeError;
}

function describe(kind) {
  return kind === 'function' ? '' : ` (${kind})`;
}

const { path, args } = parseArgs(process.argv.slice(2));
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

const wasi = new WASI({ version: 'preview1', args, env: {}, preopens: {}, returnOnExit: true });
const imports = { ...hostImports, wasi_snapshot_preview1: wasi.wasiImport };
// dlopen and friends (docs/dynamic.md): libraries are searched beside the program, then in
// each --library-path.
const loader = new DynamicLoader({ searchPath: [dirname(path), ...libraryPath], imports });
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
let status;
try {
  status = wasi.start(instance);
} catch (error) {
  if (isTrap(error)) trap(error);
  fail(1, `${path}: error: ${error.message}`);
}
process.exit(status ?? 0);
