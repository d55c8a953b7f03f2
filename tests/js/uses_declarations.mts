// Compiled by tsc in test_js_node.py: the declarations cover what a TypeScript user writes.
import { instantiate, PanicError, ExitError } from './foreign.mjs';
import * as irld from './irld-runtime.mjs';
import type { Program, CType } from './irld-runtime.mjs';

const t: CType = ['sint32', ['double', 'uint8']];
const prog: Program = await instantiate({
  args: ['x'], env: { A: 'b' }, stdin: 'hi', files: { 'a.txt': 'x' },
  stdout: (text, bytes) => { console.log(text, bytes.length); },
  imports: { host: { greet(this: Program, p: number) { return this.readCString(p).length; } } },
});
const status: number = prog.run();
const v = prog.read(0, t);
prog.write(0, 'sint64', 5n);
const n: number = prog.sizeof(t);
try { prog.exports.c_scale(1, 2); } catch (e) { if (e instanceof PanicError) console.log(e.function, e.reason); if (e instanceof ExitError) console.log(e.status); }
const p2 = await irld.instantiate(new Uint8Array(8), { meta: { imports: {}, exports: {} } });
const described: string = await irld.describeTrap(new Error('x'));
console.log(status, v, n, p2.files.size, described, irld.closureTableGrow(prog.instance.exports, 1, 2));
