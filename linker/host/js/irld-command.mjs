// irld-command.mjs: `node prog.mjs ARGS...`, the per-program stub run as a command (docs/js.md).
//
// irld-runtime.mjs's runMain imports this file only under Node, so pages never load it.
// The program runs as `irld run prog.wasm ARGS...` runs it: argv[0] the .wasm path
// relative to the working directory, an empty environment, the process's stdin, stdout
// and stderr, the program's exit status; after a trap or panic, the trap described as
// `irld run` prints it (irld-trap.mjs: IR locations when the program has a source map)
// and status 134; 1 when it cannot start.

import * as fs from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeTrap, instantiate, PanicError } from './irld-runtime.mjs';

const real = (p) => { try { return fs.realpathSync(p); } catch { return null; } };
const out = (fd) => (_text, bytes) => fs.writeSync(fd, bytes);

// fd 0 read with blocking reads; a non-blocking stdin (EAGAIN) is polled every 10 ms
function stdin(n) {
  const buf = new Uint8Array(n);
  for (;;) {
    try { return buf.subarray(0, fs.readSync(0, buf)); } catch (e) {
      if (e.code == 'EOF') return buf.subarray(0, 0);
      if (e.code != 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/** Runs the program when the process started the stub at `stubUrl`; otherwise does nothing. */
export async function runMain(stubUrl, wasmUrl, meta) {
  if (real(process.argv[1]) != real(fileURLToPath(stubUrl))) return;
  Error.stackTraceLimit = 40;
  let prog;
  try {
    const argv0 = relative(process.cwd(), fileURLToPath(wasmUrl));
    prog = await instantiate(wasmUrl, {
      meta, env: {}, stdout: out(1), stderr: out(2), stdin, args: [argv0, ...process.argv.slice(2)],
      // dlopen searches beside the program, as irld run does
      libraries: (dl) => dl.fileLibraries(fs, [dirname(argv0)]),
    });
  } catch (e) {
    fs.writeSync(2, `${fileURLToPath(wasmUrl)}: error: ${e.message}\n`);
    process.exitCode = 1;
    return;
  }
  // as irld run: the signatures that took --ffi-fallback=host's slow path, at exit
  const summary = () => {
    const n = (k) => prog.ffiFallback[k];
    const keys = Object.keys(prog.ffiFallback).sort();
    if (keys.length) {
      fs.writeSync(2, `irld: ffi host fallback: ${keys.map((k) =>
        `${k} (${n(k)} call${n(k) == 1 ? '' : 's'})`).join(', ')}\n`);
    }
  };
  try {
    process.exitCode = prog.run();
    summary();
  } catch (e) {
    // stack exhaustion is a RangeError in V8
    if (!(e instanceof WebAssembly.RuntimeError || e instanceof RangeError || e instanceof PanicError)) throw e;
    summary();
    fs.writeSync(2, await describeTrap(e));
    process.exitCode = 134;
  }
}
