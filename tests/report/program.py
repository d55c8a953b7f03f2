"""The fixed program the report tests link: two objects and an archive of four members.

`app` (entry `main`) calls into `util` (command line) and into `libmini.a`
(`str`, `mem`, `io` are pulled in; `extra` is never loaded).  It covers
calls, a tail call through the table, address-taken functions, data with
relocations, a global, a ctor, a host import, a panic (so the linker adds
its panic runtime and message pool) and dead code in every loaded object.
"""

from __future__ import annotations

from pathlib import Path

from linker import compile_text
from linker.store.archive import archive_bytes

APP = r"""
module app

extern func strdup(i32) -> i32
extern func strlen(i32) -> i32
extern func print_str(i32, i32)
extern func twice(i32) -> i32
extern func apply(i32, i32) -> i32

private readonly data greeting = { bytes "hello, report\n\x00" }
data handlers align 4 = { addr inc, addr twice }
data scratch align 8 = { zero 64, i32 1 }

func inc(x: i32) -> i32 {
entry:
  return i32.add(x, 1)
}

func main() -> i32 {
  local p: i32, n: i32
entry:
  p = call strdup(@greeting)
  n = call strlen(p)
  call print_str(p, n)
  i32.store(@scratch, n)
  n = call apply(@handlers, 3)
  if i32.eqz(n) then bad else ok
ok:
  return 0
bad:
  panic "apply returned zero"
}

func never_called() -> i32 {
  local r: i32
entry:
  r = call twice(5)
  return i32.add(r, 1)
}
"""

UTIL = r"""
module util

extern func malloc(i32) -> i32
extern func free(i32)

global counter: i32 = 0

func twice(x: i32) -> i32 {
entry:
  counter = i32.add(counter, 1)
  return i32.mul(x, 2)
}

func apply(tbl: i32, x: i32) -> i32 {
  local f: i32
entry:
  f = i32.load(tbl, offset=4)
  tail call_indirect (i32) -> i32 [f](x)
}

func util_init() {
entry:
  counter = 0
  return
}
ctor util_init

func dead_util(n: i32) -> i32 {
  local p: i32
entry:
  p = call malloc(n)
  call free(p)
  return p
}
"""

STR = r"""
module str

extern func malloc(i32) -> i32
extern func memcpy(i32, i32, i32) -> i32

func strlen(s: i32) -> i32 {
  local e: i32
entry:
  e = s
  jump scan
scan:
  if i32.load8_u(e) then more else done
more:
  e = i32.add(e, 1)
  jump scan
done:
  return i32.sub(e, s)
}

func strdup(s: i32) -> i32 {
  local n: i32, p: i32
entry:
  n = call strlen(s)
  n = i32.add(n, 1)
  p = call malloc(n)
  tail call memcpy(p, s, n)
}

func strcmp(a: i32, b: i32) -> i32 {
entry:
  return i32.sub(i32.load8_u(a), i32.load8_u(b))
}
"""

MEM = r"""
module mem

data brk align 4 = { i32 0 }

func malloc(n: i32) -> i32 {
  local p: i32
entry:
  p = i32.load(@brk)
  if i32.eqz(p) then first else bump
first:
  p = @__heap_base
  jump bump
bump:
  i32.store(@brk, i32.add(p, i32.and(i32.add(n, 7), -8)))
  return p
}

func memcpy(d: i32, s: i32, n: i32) -> i32 {
  local i: i32
entry:
  i = 0
  jump loop
loop:
  if i32.lt_u(i, n) then copy else done
copy:
  i32.store8(i32.add(d, i), i32.load8_u(i32.add(s, i)))
  i = i32.add(i, 1)
  jump loop
done:
  return d
}

func free(p: i32) {
entry:
  return
}
"""

IO = r"""
module io

import func "wasi_snapshot_preview1" "fd_write" fd_write(i32, i32, i32, i32) -> i32

data iov align 4 = { zero 8 }
data nwritten align 4 = { zero 4 }

func print_str(s: i32, n: i32) {
  local r: i32
entry:
  i32.store(@iov, s)
  i32.store(@iov, n, offset=4)
  r = call fd_write(1, @iov, 1, @nwritten)
  return
}

func print_char(c: i32) {
entry:
  return
}
"""

EXTRA = r"""
module extra

func fancy(x: i32) -> i32 {
entry:
  return i32.mul(x, x)
}
"""

SOURCES = {"app.o": APP, "util.o": UTIL}
MEMBERS = {"str.o": STR, "mem.o": MEM, "io.o": IO, "extra.o": EXTRA}
INPUTS = ["app.o", "util.o", "libmini.a"]


def build(directory: Path) -> None:
    """Write the objects and the archive into `directory`."""
    for name, text in SOURCES.items():
        (directory / name).write_bytes(compile_text(text, name.replace(".o", ".ir")))
    members = [(name, compile_text(text, name.replace(".o", ".ir")))
               for name, text in MEMBERS.items()]
    (directory / "libmini.a").write_bytes(archive_bytes(members))
