"""Generates main.ir, tables.ir and expected.out of the bigdata example (run: python3 generate.py).

The expected output is computed independently of the IR: the CRC-32 values by zlib.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
N = 200
NAMES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]

def crc_table():
    t = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        t.append(c)
    return t

T = crc_table()

def ring(k):
    return (f"data ring_{k} align 4 = {{ i32 {k * k}, addr ring_{(k + 1) % N}, "
            f"addr name_{k % len(NAMES)} }}")

tables = ["""// bigdata, module 2 of 2: the tables.  Data here points into bigdata.main and back:
//   crc_table     the 256-entry CRC-32 table (reflected polynomial 0xedb88320)
//   ring_K        for even K: a ring of 200 nodes { K*K, next node, name } alternating between
//                 the two modules (odd K live in bigdata.main)
//   names         8 pointers to NUL-terminated names
//   ops           6 function pointers (table indices), half of them defined in bigdata.main
//   slices        pointers into bigdata.main's message, with offsets
module bigdata.tables

func op_add(a: i32, b: i32) -> i32 {
entry:
  return i32.add(a, b)
}

func op_mul(a: i32, b: i32) -> i32 {
entry:
  return i32.mul(a, b)
}

func op_max(a: i32, b: i32) -> i32 {
entry:
  return i32.select(a, b, i32.gt_s(a, b))
}

data ops align 4 = { addr op_add, addr op_sub, addr op_mul, addr op_xor, addr op_max, addr op_shl }
data slices align 4 = { addr message+4, i32 5, addr message+16, i32 3, addr message+40, i32 3 }

// a private symbol with the same name as one in bigdata.main: each module sees its own
private readonly data tag = { bytes "tables\\x00" }
data tables_tag align 4 = { addr tag }
"""]
for i, n in enumerate(NAMES):
    tables.append(f'readonly data name_{i} = {{ bytes "{n}\\x00" }}')
tables.append("data names align 4 = { " + ", ".join(f"addr name_{i}" for i in range(len(NAMES))) + " }")
rows = []
for i in range(0, 256, 8):
    rows.append("  " + ", ".join(f"i32 {v}" for v in T[i:i + 8]))
tables.append("readonly data crc_table align 4 = {\n" + ",\n".join(rows) + "\n}")
for k in range(0, N, 2):
    tables.append(ring(k))

main = ["""// bigdata, module 1 of 2: cross-module data and function-pointer tables.
// Prints the CRC-32 of a message computed with bigdata.tables' crc_table, a walk over a ring of
// 200 data nodes that alternate between the two modules, a call through every entry of a
// function-pointer table in data, slices of the message found through pointers stored in the
// other module, the end of a 70,000-byte blob (more than one wasm page), and a checksum of the
// CRC table's own bytes.
module bigdata.main

extern func print_str(i32, i32)
extern func print_cstr(i32)
extern func print_i32(i32)
extern func print_i64(i64)
extern func print_hex32(i32)
extern func newline()

func op_sub(a: i32, b: i32) -> i32 {
entry:
  return i32.sub(a, b)
}

func op_xor(a: i32, b: i32) -> i32 {
entry:
  return i32.xor(a, b)
}

func op_shl(a: i32, b: i32) -> i32 {
entry:
  return i32.shl(a, b)
}

readonly data message = { bytes "The quick brown fox jumps over the lazy dog" }
private readonly data tag = { bytes "main\\x00" }
private readonly data s_crc = { bytes "crc32(message) = " }
private readonly data s_ring = { bytes "ring: nodes=" }
private readonly data s_sum = { bytes " sum=" }
private readonly data s_node = { bytes "node " }
private readonly data s_colon = { bytes ": " }
private readonly data s_call = { bytes "(1000, 7) = " }
private readonly data s_slice = { bytes "slice: " }
private readonly data s_big = { bytes "big: " }
private readonly data s_table = { bytes "crc32(crc_table) = " }
private readonly data s_tags = { bytes "tags: " }
private readonly data s_sp = { bytes " " }
private readonly data opn_add = { bytes "add\\x00" }
private readonly data opn_sub = { bytes "sub\\x00" }
private readonly data opn_mul = { bytes "mul\\x00" }
private readonly data opn_xor = { bytes "xor\\x00" }
private readonly data opn_max = { bytes "max\\x00" }
private readonly data opn_shl = { bytes "shl\\x00" }
private readonly data op_names align 4 = { addr opn_add, addr opn_sub, addr opn_mul, addr opn_xor, addr opn_max, addr opn_shl }
data big align 8 = { zero 70000, bytes "end of the big blob\\x00" }
private readonly data big_end align 4 = { addr big+70000 }

// CRC-32 (as zlib's crc32) of n bytes at p.
func crc32(p: i32, n: i32) -> i32 {
  local c: i32, i: i32
entry:
  c = -1
  i = 0
  jump next
next:
  if i32.lt_u(i, n) then byte else done
byte:
  c = i32.xor(i32.load(i32.add(@crc_table, i32.shl(i32.and(i32.xor(c, i32.load8_u(i32.add(p, i))), 255), 2))), i32.shr_u(c, 8))
  i = i32.add(i, 1)
  jump next
done:
  return i32.xor(c, -1)
}

func main() -> i32 {
  local c: i32, node: i32, k: i32, sum: i64, f: i32
entry:
  c = call crc32(@message, 43)
  call print_str(@s_crc, 17)
  call print_hex32(c)
  call newline()
  node = @ring_0
  k = 0
  sum = 0
  jump walk
walk:
  if i32.eq(k, 200) then walked else visit
visit:
  sum = i64.add(sum, i64.extend_i32_u(i32.load(node)))
  if i32.eqz(i32.rem_u(k, 45)) then show_node else advance
show_node:
  call print_str(@s_node, 5)
  call print_i32(k)
  call print_str(@s_colon, 2)
  call print_i32(i32.load(node))
  call print_str(@s_sp, 1)
  call print_cstr(i32.load(node, offset=8))
  call newline()
  jump advance
advance:
  node = i32.load(node, offset=4)
  k = i32.add(k, 1)
  jump walk
walked:
  call print_str(@s_ring, 12)
  call print_i32(k)
  call print_str(@s_sum, 5)
  call print_i64(sum)
  call print_str(@s_sp, 1)
  call print_i32(i32.eq(node, @ring_0))
  call newline()
  k = 0
  jump ops_loop
ops_loop:
  if i32.lt_u(k, 6) then op else ops_done
op:
  f = i32.load(i32.add(@ops, i32.shl(k, 2)))
  c = call_indirect (i32, i32) -> i32 [f](1000, 7)
  call print_cstr(i32.load(i32.add(@op_names, i32.shl(k, 2))))
  call print_str(@s_call, 12)
  call print_i32(c)
  call newline()
  k = i32.add(k, 1)
  jump ops_loop
ops_done:
  call print_str(@s_slice, 7)
  call print_str(i32.load(@slices), i32.load(@slices, offset=4))
  call print_str(@s_sp, 1)
  call print_str(i32.load(@slices, offset=8), i32.load(@slices, offset=12))
  call print_str(@s_sp, 1)
  call print_str(i32.load(@slices, offset=16), i32.load(@slices, offset=20))
  call newline()
  call print_str(@s_big, 5)
  call print_cstr(i32.load(@big_end))
  call newline()
  call print_str(@s_tags, 6)
  call print_cstr(@tag)
  call print_str(@s_sp, 1)
  call print_cstr(i32.load(@tables_tag))
  call newline()
  c = call crc32(@crc_table, 1024)
  call print_str(@s_table, 19)
  call print_hex32(c)
  call newline()
  return 0
}
"""]
for k in range(1, N, 2):
    main.append(ring(k))

open(os.path.join(HERE, "main.ir"), "w").write("\n".join(main) + "\n")
open(os.path.join(HERE, "tables.ir"), "w").write("\n\n".join(tables) + "\n")

msg = b"The quick brown fox jumps over the lazy dog"
out = [f"crc32(message) = 0x{zlib.crc32(msg):08x}"]
for k in range(0, N, 45):
    out.append(f"node {k}: {k*k} {NAMES[k % 8]}")
out.append(f"ring: nodes={N} sum={sum(k*k for k in range(N))} 1")
ops = [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
       ("xor", lambda a, b: a ^ b), ("max", max), ("shl", lambda a, b: a << b)]
for n, f in ops:
    out.append(f"{n}(1000, 7) = {f(1000, 7)}")
out.append(f"slice: {msg[4:9].decode()} {msg[16:19].decode()} {msg[40:43].decode()}")
out.append("big: end of the big blob")
out.append("tags: main tables")
out.append(f"crc32(crc_table) = 0x{zlib.crc32(struct.pack('<256I', *T)):08x}")
open(os.path.join(HERE, "expected.out"), "w").write("\n".join(out) + "\n")
