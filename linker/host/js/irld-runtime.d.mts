// TypeScript declarations of irld-runtime.mjs (docs/js.md).

/** A C type for `read`/`write`/`sizeof`: a scalar name, or an array of field types (a struct). */
export type CType =
  | 'sint8' | 'uint8' | 'sint16' | 'uint16' | 'sint32' | 'uint32' | 'pointer'
  | 'sint64' | 'uint64' | 'float' | 'double'
  | CType[];

/** A value of a CType: numbers, BigInt for 64-bit integers, arrays for structs. */
export type CValue = number | bigint | CValue[];

/** Receives what the program writes: the text (UTF-8, decoded as a stream) and the raw bytes. */
export type Sink = (text: string, bytes: Uint8Array) => void;

export interface Meta {
  /** imports[module][field]: result letter, then one letter per wasm parameter. */
  imports?: Record<string, Record<string, string>>;
  /** exports[C name]: the same letters. */
  exports?: Record<string, string>;
}

export interface Options {
  /** argv, argv[0] first (default ['prog']). */
  args?: string[];
  /** The environment (default: empty). */
  env?: Record<string, string>;
  /**
   * Host functions by wasm module and field: the program's foreign imports, or
   * overrides of the runtime's own. Called with `this` the Program; with the
   * stub's meta, unsigned and pointer arguments arrive as non-negative numbers and
   * 64-bit integers as BigInt (a 64-bit result may be a number or a BigInt).
   */
  imports?: Record<string, Record<string, Function | WebAssembly.Memory | WebAssembly.Table | WebAssembly.Global>>;
  /** fd 1; default: console.log, line by line. */
  stdout?: Sink;
  /** fd 2; default: console.error, line by line. */
  stderr?: Sink;
  /** fd 0: all of it, or a reader returning up to n bytes (empty at end of file). */
  stdin?: string | Uint8Array | ((n: number) => Uint8Array);
  /** An in-memory file system preopened as "/": path -> contents. */
  files?: Record<string, string | Uint8Array | ArrayBuffer>;
  /**
   * Side modules that `dlopen` may open (docs/dynamic.md), by the name it is given:
   * bytes or a URL, all fetched and compiled before the program
   * starts; or a library source (`find(name)`, `read(key)`, `searched()`), or a
   * function returning one, given the loader's `fileLibraries(fs, dirs)` (as
   * `node prog.mjs` searches beside the program).
   */
  libraries?: Record<string, string | URL | BufferSource> | LibrarySource
    | ((loader: { fileLibraries(fs: unknown, dirs: string[]): LibrarySource }) => LibrarySource);
  /** C signatures of foreign imports and exports (the per-program stub passes them). */
  meta?: Meta;
}

export interface LibrarySource {
  find(name: string): string | null;
  read(key: string): Uint8Array | { module: WebAssembly.Module; bytes: Uint8Array };
  searched(): string;
  identity?(key: string): string;
}

export interface Program {
  readonly module: WebAssembly.Module;
  readonly instance: WebAssembly.Instance;
  readonly memory: WebAssembly.Memory;
  /** Every export; foreign exports by C name with C types converted. Traps and panics throw. */
  exports: Record<string, any>;
  /** Calls per C signature key that took `--ffi-fallback=host`'s dynamic path. */
  ffiFallback: Record<string, number>;
  /** The in-memory file system after the run (paths without a leading slash). */
  files: Map<string, Uint8Array>;
  /**
   * Runs `_start` (ctors, the entry). Returns the exit status (0 when the entry
   * returns normally); throws PanicError for a panic and WebAssembly.RuntimeError
   * (or RangeError, stack exhaustion) for another trap.
   */
  run(): number;
  read(pointer: number, type: CType): CValue;
  write(pointer: number, type: CType, value: CValue): void;
  /** Size in bytes of a C type under the wasm32 C ABI (natural alignment). */
  sizeof(type: CType): number;
  readString(pointer: number, length: number): string;
  readCString(pointer: number): string;
  /** Writes UTF-8 and a NUL at pointer; returns the bytes written. */
  writeCString(pointer: number, text: string): number;
}

/** Compile and instantiate an irld program (a URL, a path in Node, bytes or a module). */
export declare function instantiate(
  source: string | URL | BufferSource | WebAssembly.Module, options?: Options): Promise<Program>;

/** A program's `panic "reason"` in `function`; message `panic in <function>: <reason>`. */
export declare class PanicError extends Error {
  readonly function: string;
  readonly reason: string;
  readonly cause: WebAssembly.RuntimeError;
}

/** proc_exit called from a foreign export (run() returns the status instead). */
export declare class ExitError extends Error {
  readonly status: number;
}

/**
 * `error: wasm trap: <reason>` (or `error: panic`) and `  at <function>` lines, as
 * `irld run` prints them, for an error thrown by `run()` or an export; each frame
 * with its IR `(file:line:col)` when the program has a source map (`irld link
 * --source-map`, the map beside the .wasm). Loads irld-trap.mjs (and the map) on demand.
 */
export declare function describeTrap(error: unknown): Promise<string>;

/** `irld.closure_table_grow` on an instance's exports: the new slot's index, or 0. */
export declare function closureTableGrow(
  exports: WebAssembly.Exports, template: number, ctx: number): number;

/**
 * Runs the program as a command when `node stub.mjs` started it (loads
 * irld-command.mjs, under Node only); otherwise does nothing.
 */
export declare function runMain(stubUrl: string, wasmUrl: URL, meta: Meta): Promise<void>;
