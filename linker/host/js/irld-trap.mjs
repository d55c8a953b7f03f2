// irld-trap.mjs: a trap described as `irld run` prints it (docs/js.md, docs/debugging.md).
//
// irld-runtime.mjs imports this file only when `describeTrap` is called, so a page that
// never describes a trap never loads it. The description is `error: wasm trap: <reason>`
// in wasmtime's words (V8's messages mapped, as linker/host/backtrace.py and
// node_runner.mjs do), or `error: panic` when the panic runtime or a --checked check
// trapped (their frames left out), then one `  at <function>` line per wasm frame of the
// engine's stack, innermost first. When the module names a source map in its
// `sourceMappingURL` section (`irld link --source-map`), the map is fetched (read from
// disk under Node for file: URLs), relative to the URL or path the program was
// instantiated from, and each frame gets its IR `(file:line:col)`: the location of the
// last mapping at or before the frame's byte offset, as linker/sourcemap.py's
// `SourceMap.lookup` finds it. A map that cannot be read leaves the names alone.

// V8's stack lines of wasm frames: `at name (wasm://wasm/<id>:wasm-function[N]:0xOFFSET)`,
// the offset a byte offset in the module file.
export const FRAME = /^\s*at (?:(.+?) \()?\S*:wasm-function\[(\d+)\]:0x([0-9a-f]+)\)?$/;
export const WORDS = {
  'Maximum call stack size exceeded': 'call stack exhausted',
  'memory access out of bounds': 'out of bounds memory access',
  'table index is out of bounds': 'indirect call past the end of the function table',
  'null function or function signature mismatch': 'indirect call to a null function pointer or of the wrong type',
  'divide result unrepresentable': 'integer overflow',
  'divide by zero': 'integer divide by zero',
  'remainder by zero': 'integer divide by zero',
  'float unrepresentable in integer range': 'invalid conversion to integer',
  unreachable: 'unreachable instruction executed',
};
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const isNode = typeof process == 'object' && !!process.versions?.node;

/**
 * `error` (thrown by a program's run() or export) as `irld run` prints it; `origin` is
 * [module, source] of the program it came from, when the runtime knows it.
 */
export async function describeTrap(error, origin = []) {
  const trap = error?.name == 'PanicError' ? error.cause : error;
  const frames = [];
  for (const line of String(trap?.stack ?? '').split('\n')) {
    const m = FRAME.exec(line);
    if (m) frames.push([m[1] ?? `<wasm function ${m[2]}>`, parseInt(m[3], 16)]);
  }
  let k = 0;
  while (/^__irld_(panic$|check)/.test(frames[k]?.[0])) k++;
  const locate = await sourceMap(...origin);
  const where = (offset) => {
    const loc = locate(offset);
    return loc ? ` (${loc})` : '';
  };
  return [k ? 'error: panic' : `error: wasm trap: ${WORDS[trap?.message] ?? trap?.message}`,
    ...frames.slice(k).map(([name, offset]) => `  at ${name}${where(offset)}`)].join('\n') + '\n';
}

/** offset -> "file:line:col" or undefined, from the source map `module` names. */
async function sourceMap(module, source) {
  try {
    const [section] = WebAssembly.Module.customSections(module, 'sourceMappingURL');
    const base = await baseUrl(source);
    if (!section || !base) return () => {};
    // the URL as a wasm name: LEB128 length, then UTF-8
    const b = new Uint8Array(section);
    let n = 0, i = 0, byte;
    do n += ((byte = b[i]) & 127) * 2 ** (7 * i++); while (byte & 128);
    const url = new URL(new TextDecoder().decode(b.subarray(i, i + n)), base);
    const text = url.protocol == 'file:' && isNode
      ? await (await import('node:fs/promises')).readFile(url, 'utf8')
      : await (await fetch(url)).text();
    return lookup(JSON.parse(text));
  } catch {
    return () => {};
  }
}

// The URL the program came from: a URL, a URL string, or (in Node) a file path.
async function baseUrl(source) {
  if (source instanceof URL) return source;
  if (typeof source != 'string') return;
  if (isNode && !/^[a-z][a-z0-9+.-]*:/i.test(source)) return (await import('node:url')).pathToFileURL(source);
  return new URL(source, globalThis.document?.baseURI ?? globalThis.location?.href);
}

// A v3 map of a wasm module: one generated line whose columns are byte offsets; each
// segment holds VLQ deltas of (offset, source, line, column), or of the offset alone
// where the code maps to no source.
function lookup(map) {
  const rows = [];
  const state = [0, 0, 0, 0];
  for (const segment of map.mappings.split(';')[0].split(',')) {
    if (!segment) continue;
    const fields = [];
    let value = 0, shift = 0;
    for (const c of segment) {
      const digit = B64.indexOf(c);
      if (digit < 0) throw new Error(`bad mappings digit ${c}`);
      value += (digit & 31) * 2 ** shift;
      shift += 5;
      if (!(digit & 32)) {
        fields.push(value % 2 ? -(value - 1) / 2 : value / 2);
        value = shift = 0;
      }
    }
    fields.slice(0, 4).forEach((d, j) => { state[j] += d; });
    const file = fields.length >= 4 ? map.sources[state[1]] : undefined;
    rows.push([state[0], file == null ? undefined : `${file}:${state[2] + 1}:${state[3] + 1}`]);
  }
  // stable: of mappings at one offset, the last one wins
  rows.sort((a, b) => a[0] - b[0]);
  return (offset) => {
    let found;
    for (const [at, loc] of rows) {
      if (at > offset) break;
      found = loc;
    }
    return found;
  };
}
