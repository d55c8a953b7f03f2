// The JS loader tests' driver, the same in Node and in the browser: import a program's
// stub, instantiate it with captured output, run it, and describe what happened as JSON
// (BigInts as strings; a trap or panic also as describeTrap renders it).

const show = (v) => typeof v == 'bigint' ? `${v}n` : v;

// The `foreign` test program's host functions, as a page would write them.
function foreignImports(seen) {
  return {
    host: {
      greet(p, u, big) {
        seen.push(this.readCString(p), u, show(big), typeof big);
        return u - 1;
      },
      twice: (x) => Number(x) * 2,
    },
  };
}

export async function runProgram(stubUrl, { args = ['prog'], stdin, files, foreign = false } = {}) {
  const { instantiate } = await import(stubUrl);
  let stdout = '', stderr = '';
  const seen = [];
  const prog = await instantiate({
    args, stdin, files, imports: foreign ? foreignImports(seen) : undefined,
    stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; },
  });
  const result = { seen };
  try {
    result.status = prog.run();
  } catch (e) {
    result.error = { name: e.name, message: e.message, function: e.function, reason: e.reason,
      isError: e instanceof Error };
    // the trap as `irld run` prints it (the runtime loads irld-trap.mjs and the source map now)
    result.trap = await (await import('./irld-runtime.mjs')).describeTrap(e);
  }
  if (foreign) {
    const x = prog.exports;
    const p = prog.memory.buffer.byteLength - 32;
    prog.write(p, ['sint32', 'double'], [6, 2.5]);
    result.exports = [x.c_scale(3000000000, 1), show(x.c_sum64(2n ** 62n, 5)), x.c_area(p),
      prog.sizeof(['sint32', 'double']), prog.read(p, ['sint32', 'double'])];
  }
  result.files = Object.fromEntries([...prog.files].map(([k, v]) => [k, new TextDecoder().decode(v)]));
  return { ...result, stdout, stderr };
}
