"""WAT test programs for the runtime tests, assembled with wasmtime.wat2wasm."""

from __future__ import annotations

import wasmtime

# A tiny WASI prelude shared by the test programs: `$puts(ptr, len)` writes to
# stdout, `$eputs` to stderr, memory 0..64 is scratch for iovecs.
PRELUDE = """
 (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
 (memory (export "memory") 1)
 (func $write (param $fd i32) (param $ptr i32) (param $len i32)
   (i32.store (i32.const 0) (local.get $ptr))
   (i32.store (i32.const 4) (local.get $len))
   (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
 (func $puts (param $ptr i32) (param $len i32) (call $write (i32.const 1) (local.get $ptr) (local.get $len)))
 (func $eputs (param $ptr i32) (param $len i32) (call $write (i32.const 2) (local.get $ptr) (local.get $len)))
"""


def wat(body: str, prelude: bool = True) -> bytes:
    """Assemble a module; `body` goes inside `(module ...)` after the prelude.

    Wasm wants imports before definitions, so `(import` lines of `body` move first.
    """
    lines = body.splitlines()
    imports = [line for line in lines if line.lstrip().startswith("(import")]
    rest = [line for line in lines if not line.lstrip().startswith("(import")]
    text = "\n".join(imports) + (PRELUDE if prelude else "") + "\n".join(rest)
    return bytes(wasmtime.wat2wasm("(module\n" + text + "\n)"))


HELLO = wat("""
 (data (i32.const 100) "Hello, world!\\n")
 (func $main (export "_start") (call $puts (i32.const 100) (i32.const 14)))
""")

# Prints each argument on its own line.
ARGV = wat("""
 (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
 (data (i32.const 60) "\\n")
 (func $strlen (param $p i32) (result i32) (local $n i32)
   (block $done (loop $next
     (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
     (local.set $n (i32.add (local.get $n) (i32.const 1)))
     (br $next)))
   (local.get $n))
 (func $main (export "_start") (local $argc i32) (local $i i32) (local $p i32)
   (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
   (local.set $argc (i32.load (i32.const 16)))
   (drop (call $args_get (i32.const 1024) (i32.const 4096)))
   (block $done (loop $next
     (br_if $done (i32.ge_u (local.get $i) (local.get $argc)))
     (local.set $p (i32.load (i32.add (i32.const 1024) (i32.mul (local.get $i) (i32.const 4)))))
     (call $puts (local.get $p) (call $strlen (local.get $p)))
     (call $puts (i32.const 60) (i32.const 1))
     (local.set $i (i32.add (local.get $i) (i32.const 1)))
     (br $next))))
""")

# Copies stdin to stdout behind a "got: " prefix.
CAT = wat("""
 (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
 (data (i32.const 100) "got: ")
 (func $main (export "_start")
   (call $puts (i32.const 100) (i32.const 5))
   (block $eof (loop $more
     (i32.store (i32.const 32) (i32.const 8192))
     (i32.store (i32.const 36) (i32.const 4096))
     (br_if $eof (i32.ne (call $fd_read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 40))
                         (i32.const 0)))
     (br_if $eof (i32.eqz (i32.load (i32.const 40))))
     (call $puts (i32.const 8192) (i32.load (i32.const 40)))
     (br $more))))
""")

# Writes to stdout, then exits with status 42.
EXIT42 = wat("""
 (data (i32.const 100) "bye\\n")
 (func $main (export "_start")
   (call $puts (i32.const 100) (i32.const 4))
   (call $proc_exit (i32.const 42)))
""")

# Traps in $boom, called from $helper, called from $main.
TRAP = wat("""
 (data (i32.const 100) "before\\n")
 (func $boom (param i32) (result i32) unreachable)
 (func $helper (drop (call $boom (i32.const 7))))
 (func $main (export "_start")
   (call $puts (i32.const 100) (i32.const 7))
   (call $helper))
""")

# Prints trace values through the default env host functions.
TRACE = wat("""
 (import "env" "irld_trace_i32" (func $ti32 (param i32)))
 (import "env" "irld_trace_i64" (func $ti64 (param i64)))
 (import "env" "irld_trace_f64" (func $tf64 (param f64)))
 (import "env" "irld_clock_ms" (func $clock (result f64)))
 (data (i32.const 100) "out\\n")
 (data (i32.const 110) "note\\n")
 (func $main (export "_start")
   (call $eputs (i32.const 110) (i32.const 5))
   (call $ti32 (i32.const -5))
   (call $puts (i32.const 100) (i32.const 4))
   (call $eputs (i32.const 110) (i32.const 5))
   (call $ti64 (i64.const -9007199254740993))
   (call $tf64 (f64.const 0.1))
   (call $tf64 (f64.const 1e21))
   (call $tf64 (f64.const 1e16))
   (call $tf64 (f64.const -2.5e-7))
   (call $tf64 (f64.const 3))
   (call $tf64 (f64.div (f64.const 0) (f64.const 0)))
   (if (f64.lt (call $clock) (f64.const 0)) (then unreachable)))
""")

LOOP = wat("""
 (func $spin (loop $forever (br $forever)))
 (func $main (export "_start") (call $spin))
""")
