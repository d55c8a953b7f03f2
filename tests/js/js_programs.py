"""IR programs of the JS loader tests: closure growth, JS foreign imports, foreign exports,
a panic, an exit status, stdin and files.  Each is linked with the stdlib (`std.io`)."""

from __future__ import annotations

# 40 closures of two signatures with the same arity and different wasm types, from pools of
# 2 slots each: 36 come from the host's growth.  Each closure is called; the sums are printed.
# Exit status: 40 + the closures obtained (80 when growth works, 44 without it).
GROW = """
module grow
extern func ffi_closure_alloc(i32, i32, i32) -> i32
extern func ffi_closure_free(i32)
extern func print_str(i32, i32)
extern func print_i32(i32)
extern func newline()
csig iadd = sint32(sint32) pool 2
csig dadd = double(double) pool 2
private readonly data s_i = { bytes "int closures sum: " }
private readonly data s_d = { bytes "double closures sum: " }

func iadd_fun(sg: i32, ret: i32, args: i32, ud: i32) {
entry:
  i32.store(ret, i32.add(i32.load(i32.load(args)), ud))
  return
}

func dadd_fun(sg: i32, ret: i32, args: i32, ud: i32) {
entry:
  f64.store(ret, f64.add(f64.load(i32.load(args)), f64.convert_i32_s(ud)))
  return
}

func main() -> i32 {
  local i: i32, n: i32, c: i32, isum: i32, dsum: f64, r: i32, d: f64
entry:
  i = 0
  n = 0
  isum = 0
  dsum = 0.0
  jump loop
loop:
  if i32.lt_s(i, 20) then one else done
one:
  c = call ffi_closure_alloc(sig iadd, @iadd_fun, i)
  if i32.eqz(c) then two else icall
icall:
  n = i32.add(n, 1)
  r = call_indirect (i32) -> i32 [c](1000)
  isum = i32.add(isum, r)
  jump two
two:
  c = call ffi_closure_alloc(sig dadd, @dadd_fun, i)
  if i32.eqz(c) then next else dcall
dcall:
  n = i32.add(n, 1)
  d = call_indirect (f64) -> f64 [c](0.5)
  dsum = f64.add(dsum, d)
  jump next
next:
  i = i32.add(i, 1)
  jump loop
done:
  call print_str(@s_i, 18)
  call print_i32(isum)
  call newline()
  call print_str(@s_d, 21)
  call print_i32(i32.trunc_f64_s(f64.mul(dsum, 2.0)))
  call newline()
  return i32.add(40, n)
}
"""

# Foreign imports implemented in JS: a C string and an unsigned value in, a 64-bit value out;
# foreign exports called from JS by their C names.  Exit status 3.
FOREIGN = """
module foreign
foreign import ccall "host" "greet" greet: uint32(pointer, uint32, sint64)
foreign import ccall "host" "twice" twice: sint64(sint64)
foreign export ccall "c_scale" scale: uint32(uint32, sint32)
foreign export ccall "c_sum64" sum64: sint64(sint64, sint64)
foreign export ccall "c_area" area: double(pointer)
extern func print_str(i32, i32)
extern func print_i64(i64)
extern func print_u32(i32)
extern func newline()
private readonly data hello = { bytes "hello from wasm\\00" }
private readonly data s_r = { bytes "greet returned " }
private readonly data s_t = { bytes "twice returned " }

func scale(x: i32, k: i32) -> i32 {
entry:
  return i32.mul(x, k)
}

func sum64(a: i64, b: i64) -> i64 {
entry:
  return i64.add(a, b)
}

// a struct { sint32 w; double h; } at p
func area(p: i32) -> f64 {
entry:
  return f64.mul(f64.convert_i32_s(i32.load(p)), f64.load(p, offset=8))
}

func main() -> i32 {
  local r: i32, t: i64
entry:
  r = call greet(@hello, -1, -5000000000)
  call print_str(@s_r, 15)
  call print_u32(r)
  call newline()
  call print_str(@s_t, 15)
  t = call twice(-21)
  call print_i64(t)
  call newline()
  return 3
}
"""

# A panic two calls deep; main prints first, so stdout has one line.
PANIC = """
module panicky
extern func print_str(i32, i32)
private readonly data s = { bytes "before the panic\\n" }

func explode(x: i32) -> i32 {
entry:
  if i32.gt_s(x, 2) then boom else fine
fine:
  return x
boom:
  panic "x is too large"
}

func main() -> i32 {
  local r: i32
entry:
  call print_str(@s, 17)
  r = call explode(7)
  return r
}
"""

# Reads stdin and echoes it upper-cased; exit status 42.
ECHO = """
module echo
extern func read_stdin(i32, i32) -> i32
extern func print_str(i32, i32)
private data buf = { zero 256 }

func main() -> i32 {
  local n: i32, i: i32, c: i32
entry:
  n = call read_stdin(@buf, 256)
  i = 0
  jump loop
loop:
  if i32.lt_s(i, n) then one else done
one:
  c = i32.load8_u(i32.add(@buf, i))
  if i32.and(i32.ge_u(c, 97), i32.le_u(c, 122)) then up else next
up:
  i32.store8(i32.add(@buf, i), i32.sub(c, 32))
  jump next
next:
  i = i32.add(i, 1)
  jump loop
done:
  call print_str(@buf, n)
  return 42
}
"""

# Opens a file of the in-memory file system, prints it, and writes another. Exit 0.
FILES = """
module files
import func "wasi_snapshot_preview1" "path_open" path_open(i32, i32, i32, i32, i32, i64, i64, i32, i32) -> i32
import func "wasi_snapshot_preview1" "fd_read" fd_read(i32, i32, i32, i32) -> i32
import func "wasi_snapshot_preview1" "fd_write" fd_write(i32, i32, i32, i32) -> i32
extern func print_str(i32, i32)
private readonly data name = { bytes "data/in.txt" }
private readonly data outname = { bytes "out.txt" }
private readonly data msg = { bytes "written by wasm" }
private data buf = { zero 64 }
private data iov align 4 = { addr buf, i32 64 }
private data oiov align 4 = { addr msg, i32 15 }
private data fd align 4 = { zero 4 }
private data n align 4 = { zero 4 }

func main() -> i32 {
  local r: i32
entry:
  r = call path_open(3, 0, @name, 11, 0, -1, -1, 0, @fd)
  if r then fail else read
read:
  r = call fd_read(i32.load(@fd), @iov, 1, @n)
  if r then fail else show
show:
  call print_str(@buf, i32.load(@n))
  r = call path_open(3, 0, @outname, 7, 1, -1, -1, 0, @fd)
  if r then fail else write
write:
  r = call fd_write(i32.load(@fd), @oiov, 1, @n)
  if r then fail else ok
ok:
  return 0
fail:
  return r
}
"""

# The --ffi-fallback=host protocol called directly: mul(-3, 10**12) through the host.
DYNAMIC = """
module dynamic
import func "irld" "ffi_call_dynamic" dyn(i32, i32, i32, i32)
extern func print_i64(i64)
extern func newline()
private readonly data types = { bytes "jij\\00" }
private readonly data key = { bytes "l(i,l)\\00" }
private data slots align 8 = { zero 24 }

func mul(a: i32, b: i64) -> i64 {
entry:
  return i64.mul(i64.extend_i32_s(a), b)
}

func main() -> i32 {
entry:
  i32.store(@slots, -3, offset=8)
  i64.store(@slots, 1000000000000, offset=16)
  call dyn(@mul, @types, @slots, @key)
  call print_i64(i64.load(@slots))
  call newline()
  call dyn(@mul, @types, @slots, @key)
  return 0
}
"""

# irld's env host functions (docs/runtime.md): the same stderr on every host.
TRACE = """
module trace
import func "env" "irld_trace_i32" trace_i32(i32)
import func "env" "irld_trace_i64" trace_i64(i64)
import func "env" "irld_trace_f64" trace_f64(f64)
import func "env" "irld_clock_ms" clock_ms() -> f64

func main() -> i32 {
  local t: f64
entry:
  call trace_i32(-5)
  call trace_i64(-5000000000)
  call trace_f64(0.1)
  call trace_f64(1e21)
  t = call clock_ms()
  if f64.ge(t, 0.0) then ok else bad
ok:
  return 0
bad:
  return 1
}
"""

# A trap that is not a panic: integer division by zero two calls deep.
TRAP = """
module trap

func divide(a: i32, b: i32) -> i32 {
entry:
  return i32.div_s(a, b)
}

func main() -> i32 {
  local r: i32
entry:
  r = call divide(7, 0)
  return r
}
"""

# A panic at the bottom of a recursion (main -> step x4 -> check), linked with --source-map:
# the backtrace in IR terms as `irld run` prints it.
DEEP = """
module deep

func check(n: i32) -> i32 {
entry:
  if i32.gt_s(n, 3) then bad else ok
ok:
  return n
bad:
  panic "n is too large"
}

func step(n: i32) -> i32 {
  local r: i32
entry:
  r = call check(n)
  if i32.eqz(r) then done else more
more:
  r = call step(i32.add(n, 1))
  return r
done:
  return 0
}

func main() -> i32 {
  local r: i32
entry:
  r = call step(1)
  return r
}
"""
