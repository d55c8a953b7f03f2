// Run many WASI commands in one Node process (the fuzz harness's Node engine).
//
// Protocol: one JSON request per stdin line, {"wasm": PATH, "args": [...], "out": PREFIX};
// one JSON reply per line, {"exit": N, "trap": MESSAGE|null}.  The program's stdout and
// stderr go to PREFIX.stdout / PREFIX.stderr.  Same contract as linker/host/node_runner.mjs
// (WASI preview 1, empty environment, irld's `env` host functions), minus the process
// start-up per program, which dominated the run time of small fuzz programs.

import { openSync, closeSync, readFileSync, writeSync } from 'node:fs';
import process from 'node:process';
import readline from 'node:readline';

const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'ExperimentalWarning' && String(warning).includes('WASI')) return;
  return emitWarning.call(process, warning, ...rest);
};
const { WASI } = await import('node:wasi');

function runOne(req) {
  const errFd = openSync(req.out + '.stderr', 'w');
  const outFd = openSync(req.out + '.stdout', 'w');
  const inFd = openSync('/dev/null', 'r');
  const log = (text) => writeSync(errFd, text);
  try {
    const wasi = new WASI({ version: 'preview1', args: req.args, env: {}, preopens: {},
                            returnOnExit: true, stdin: inFd, stdout: outFd, stderr: errFd });
    const imports = {
      wasi_snapshot_preview1: wasi.wasiImport,
      env: {
        irld_trace_i32: (v) => log(`trace i32: ${v}\n`),
        irld_trace_i64: (v) => log(`trace i64: ${v}\n`),
        irld_trace_f64: (v) => log(`trace f64: ${String(v)}\n`),
        irld_clock_ms: () => performance.now(),
      },
      irld: { closure_table_grow: () => 0 },
    };
    const module = new WebAssembly.Module(readFileSync(req.wasm));
    let status;
    try {
      const instance = new WebAssembly.Instance(module, imports);
      status = wasi.start(instance);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError) {
        log(`error: wasm trap: ${error.message}\n`);
        return { exit: 134, trap: `wasm trap: ${error.message}` };
      }
      return { exit: 1, trap: null, error: String(error) };
    }
    return { exit: status ?? 0, trap: null };
  } finally {
    closeSync(errFd);
    closeSync(outFd);
    closeSync(inFd);
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  let reply;
  try {
    reply = runOne(JSON.parse(line));
  } catch (error) {
    reply = { exit: 1, trap: null, error: String(error) };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}
