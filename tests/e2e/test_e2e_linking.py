"""Linking across modules: relocations, function pointers, globals, ctors, deferred errors,
private symbols, many modules, exports and entries, panics, control flow."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

import linker

from e2e_util import E2E, module

# ---------------------------------------------------------------- data relocations

RELOC_A = module("reloc.a", """
readonly data msg = { bytes "abcdefgh" }
data table align 4 = { i32 11, i32 22, i32 33 }
// address of data here (with offsets), address of data in module b, a function's table index
data ptrs align 4 = { addr msg+2, addr table+8, addr bdata+4, addr triple, addr bdata-4, addr ptrs }

func triple(x: i32) -> i32 {
entry:
  return i32.mul(x, 3)
}
""")

RELOC_B = module("reloc.b", """
data bdata align 4 = { i32 100, i32 200, i32 300 }
data before align 4 = { addr table+4 }

func main() -> i32 {
  local p: i32
entry:
  call pi32(i32.load(@table, offset=4))
  call pi32(i32.load(@table+8))
  call pi32(i32.load8_u(i32.load(@ptrs)))
  call pi32(i32.load(i32.load(@ptrs, offset=4)))
  call pi32(i32.load(i32.load(@ptrs, offset=8)))
  p = call_indirect (i32) -> i32 [i32.load(@ptrs, offset=12)](14)
  call pi32(p)
  call pi32(i32.eq(i32.load(@ptrs, offset=12), @triple))
  call pi32(i32.load(i32.add(i32.load(@ptrs, offset=16), 4)))
  call pi32(i32.eq(i32.load(@ptrs, offset=20), @ptrs))
  call pi32(i32.load(i32.load(@before)))
  return 0
}
""")


def test_data_relocations_across_modules(e2e: E2E) -> None:
    e2e.check([RELOC_B, RELOC_A], "22\n33\n99\n33\n200\n42\n1\n100\n1\n22\n")


# ---------------------------------------------------------------- function pointers

FPTR = module("fptr", """
func add(a: i32, b: i32) -> i32 {
entry:
  return i32.add(a, b)
}
func sub(a: i32, b: i32) -> i32 {
entry:
  return i32.sub(a, b)
}
func neg64(a: i64) -> i64 {
entry:
  return i64.sub(0, a)
}
func show(x: f64) {
entry:
  call pf64(x)
  return
}
readonly data ops align 4 = { addr add, addr sub }

func apply(f: i32, a: i32, b: i32) -> i32 {
  local r: i32
entry:
  r = call_indirect (i32, i32) -> i32 [f](a, b)
  return r
}
func neg_via(f: i32) -> i64 {
  local r: i64
entry:
  r = call_indirect (i64) -> i64 [f](-5000000000)
  return r
}

func main() -> i32 {
  local i: i32, r: i32, q: i64
entry:
  i = 0
  jump loop
loop:
  if i32.lt_u(i, 2) then body else rest
body:
  r = call apply(i32.load(i32.add(@ops, i32.shl(i, 2))), 10, 3)
  call pi32(r)
  i = i32.add(i, 1)
  jump loop
rest:
  call_indirect (f64) [@show](2.0)
  q = call neg_via(@neg64)
  call pi64(q)
  call pi32(i32.ne(@add, 0))
  call pi32(i32.ne(@add, @sub))
  return 0
}
""")


def test_function_pointers(e2e: E2E) -> None:
    e2e.check([FPTR], "13\n7\n0x4000000000000000\n5000000000\n1\n1\n")


def _mismatch(call: str) -> str:
    return module("fptr.bad", f"""
func f(x: i32) -> i32 {{
entry:
  return x
}}
func main() -> i32 {{
  local r: i64, p: i32
entry:
  p = @f
  call pi32(1)
  {call}
  return 0
}}
""")


def test_call_indirect_type_mismatch_traps(e2e: E2E) -> None:
    e2e.check([_mismatch("r = call_indirect (i64) -> i64 [p](1)")], "1\n", 134,
              stderr="wasm trap")


def test_call_indirect_null_traps(e2e: E2E) -> None:
    e2e.check([_mismatch("call_indirect (i32) -> i32 [i32.sub(p, p)](1)")], "1\n", 134,
              stderr="wasm trap")


def test_call_indirect_out_of_table_traps(e2e: E2E) -> None:
    e2e.check([_mismatch("call_indirect (i32) -> i32 [i32.add(p, 1000)](1)")], "1\n", 134,
              stderr="wasm trap")


# ---------------------------------------------------------------- panics, deferred errors

PANIC = module("panicky", """
func explode(x: i32) -> i32 {
entry:
  if x then boom else fine
fine:
  return 1
boom:
  panic "the answer is not 42"
}
func main() -> i32 {
  local r: i32
entry:
  r = call explode(0)
  call pi32(r)
  r = call explode(1)
  call pi32(r)
  return 0
}
""")


def test_panic_message(e2e: E2E) -> None:
    for _w, _r, wt, nd in e2e.check([PANIC], "1\n", 134,
                                    stderr="panic in explode: the answer is not 42\n"):
        assert wt.stderr.startswith(b"panic in explode: the answer is not 42\n")
        if nd is not None:
            assert nd.stderr.startswith(b"panic in explode: the answer is not 42\n")


DEFERRED_LIB = module("deferred.lib", """
func broken(x: i32) -> i32 deferred "unsupported primop: fooBar#"
func unused_broken() deferred "this one is dead"
func fine() -> i32 {
entry:
  return 5
}
""")

DEFERRED_MAIN = module("deferred.main", """
extern func broken(i32) -> i32
extern func fine() -> i32
func main() -> i32 {
  local r: i32
entry:
  r = call fine()
  call pi32(r)
  r = call broken(r)
  call pi32(r)
  return 0
}
""")


def test_live_deferred_error_warns_and_panics(e2e: E2E) -> None:
    results = e2e.check([DEFERRED_MAIN, DEFERRED_LIB], "5\n", 134,
                        stderr="panic in broken: unsupported primop: fooBar#",
                        warnings=["broken", "unsupported primop: fooBar#"])
    for _w, res, _wt, _nd in results:
        assert len(res.warnings) == 1
        assert "unused_broken" not in res.warnings[0].render()


def test_dead_deferred_error_is_silent(e2e: E2E) -> None:
    text = module("deferred.dead", """
func main() -> i32 {
entry:
  call pi32(3)
  return 0
}
""")
    e2e.check([text, DEFERRED_LIB], "3\n", warnings=[])
    # Through an archive too: the member is not even loaded.
    e2e.check([text, e2e.archive([DEFERRED_LIB])], "3\n", warnings=[])


# ---------------------------------------------------------------- ctors

def _ctor_module(name: str, ctors: list[tuple[str, int | None]], extra: str = "") -> str:
    body = []
    for fn, prio in ctors:
        code = sum(ord(c) for c in fn)
        body.append(f"""
private readonly data s_{fn} = {{ bytes "{fn}\\n" }}
func {fn}() {{
entry:
  call print_str(@s_{fn}, {len(fn) + 1})
  return
}}
ctor {fn}""" + (f" priority {prio}" if prio is not None else ""))
        del code
    return module(name, "\n".join(body) + "\n" + extra)


def test_ctors_priority_then_link_order(e2e: E2E) -> None:
    a = _ctor_module("ctor.a", [("a_late", None), ("a_first", 10), ("a_mid", 50)], """
func a_used() -> i32 {
entry:
  return 1
}
""")
    b = _ctor_module("ctor.b", [("b_mid", 50), ("b_first", 10), ("b_late", None)], """
global b_counter: i32 = 7
""")
    # c has no live entity: its ctor must not run (as an object or as an archive member).
    c = _ctor_module("ctor.c", [("c_never", 1)], """
func c_unused() -> i32 {
entry:
  return 2
}
""")
    d = _ctor_module("ctor.d", [("d_never", 1)], """
func d_unused() -> i32 {
entry:
  return 3
}
""")
    main = module("ctor.main", """
extern func a_used() -> i32
extern global b_counter: i32
private readonly data s_main = { bytes "main\\n" }
func main() -> i32 {
  local r: i32
entry:
  r = call a_used()
  call print_str(@s_main, 5)
  call pi32(b_counter)
  return r
}
""")
    expected = "a_first\nb_first\na_mid\nb_mid\na_late\nb_late\nmain\n7\n"
    e2e.check([main, a, b, c, e2e.archive([d])], expected, 1)


def test_ctors_with_no_entry_run_in_initialize(e2e: E2E) -> None:
    lib = module("ctor.lib", """
global ready: i32 = 0
func init() {
entry:
  ready = 41
  return
}
ctor init
export "get" func get() -> i32 {
entry:
  return i32.add(ready, 1)
}
""")
    for mode in ("native", "trampoline"):
        wasm, res = e2e.link([lib], mode, prelude=False, entry=None)
        store, inst = _instantiate(wasm)
        exports = inst.exports(store)
        assert "_start" not in exports
        exports["_initialize"](store)
        assert exports["get"](store) == 42


# ---------------------------------------------------------------- globals

GLOBALS_A = module("glob.a", """
global counter: i32 = 5
global big: i64 = -9000000000
global ratio: f64 = 0.5
global small: f32 = -1.5
private global hidden: i32 = 100
func bump() -> i32 {
entry:
  counter = i32.add(counter, 1)
  hidden = i32.add(hidden, 1)
  return hidden
}
""")

GLOBALS_B = module("glob.b", """
extern global counter: i32
extern global big: i64
extern global ratio: f64
extern global small: f32
extern func bump() -> i32
private global hidden: i32 = 200
func main() -> i32 {
  local r: i32
entry:
  r = call bump()
  call pi32(r)
  r = call bump()
  call pi32(r)
  call pi32(counter)
  counter = i32.mul(counter, 10)
  call pi32(counter)
  big = i64.mul(big, 2)
  call pi64(big)
  call pf64(f64.add(ratio, 0.25))
  call pf32(small)
  call pi32(hidden)
  return 0
}
""")


def test_globals_across_modules(e2e: E2E) -> None:
    e2e.check([GLOBALS_B, GLOBALS_A],
              "101\n102\n7\n70\n-18000000000\n0x3fe8000000000000\n0xbfc00000\n200\n")


# ---------------------------------------------------------------- many modules, privates

def test_twenty_modules_with_private_namesakes(e2e: E2E) -> None:
    n = 20
    mods = []
    for k in range(n):
        nxt = (f"  r = call step{k + 1}(i32.add(x, call_helper))\n  return r"
               if k + 1 < n else "  return i32.add(x, call_helper)")
        mods.append(module(f"many.m{k}", f"""
{"extern func step%d(i32) -> i32" % (k + 1) if k + 1 < n else ""}
private readonly data tag = {{ bytes "{chr(65 + k)}" }}
private global seen: i32 = {k}
private func helper() -> i32 {{
entry:
  call print_str(@tag, 1)
  return i32.add(seen, {k * 1000})
}}
func step{k}(x: i32) -> i32 {{
  local r: i32, h: i32
entry:
  h = call helper()
{nxt.replace("call_helper", "h")}
}}
"""))
    main = module("many.main", """
extern func step0(i32) -> i32
func main() -> i32 {
  local r: i32
entry:
  r = call step0(0)
  call nl()
  call pi32(r)
  return 0
}
""")
    total = sum(k + 1000 * k for k in range(n))
    letters = "".join(chr(65 + k) for k in range(n))
    e2e.check([main, *mods], f"{letters}\n{total}\n")


# ---------------------------------------------------------------- entries and exports

def _instantiate(wasm: Path) -> tuple[wasmtime.Store, wasmtime.Instance]:
    config = wasmtime.Config()
    config.wasm_tail_call = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store.set_wasi(wasmtime.WasiConfig())
    return store, linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm)))


LIBRARY = module("lib.exports", """
export "add" func add(a: i32, b: i32) -> i32 {
entry:
  return i32.add(a, b)
}
func fact_acc(n: i64, acc: i64) -> i64 {
entry:
  if i64.eqz(n) then done else more
done:
  return acc
more:
  tail call fact_acc(i64.sub(n, 1), i64.mul(acc, n))
}
export "fact" func fact(n: i64) -> i64 {
entry:
  tail call fact_acc(n, 1)
}
func scale(x: f64, k: f32) -> f64 {
entry:
  return f64.mul(x, f64.promote_f32(k))
}
export "scaled" scale
func helper(x: i32) -> i32 {
entry:
  return i32.mul(x, x)
}
func never(x: i32) -> i32 {
entry:
  return x
}
""")


def test_no_entry_library_exports(e2e: E2E) -> None:
    for mode in ("native", "trampoline"):
        wasm, res = e2e.link([LIBRARY], mode, prelude=False, entry=None, exports=["helper"])
        store, inst = _instantiate(wasm)
        ex = inst.exports(store)
        assert "_start" not in ex and "main" not in ex and "never" not in ex
        assert ex["add"](store, 2, 40) == 42
        assert ex["add"](store, 2147483647, 1) == -2147483648
        assert ex["helper"](store, 12) == 144
        assert ex["scaled"](store, 1.5, 2.0) == 3.0
        # A tail-calling export returns its real result in both modes.
        assert ex["fact"](store, 20) == 2432902008176640000, mode
        assert ex["fact"](store, 5) == 120, mode
        assert "never" not in {e.name for e in res.emitted.module.exports}


def test_export_flag_and_other_entry(e2e: E2E) -> None:
    text = module("entries", """
func main() -> i32 {
entry:
  call pi32(1)
  return 0
}
func other() -> i32 {
entry:
  call pi32(2)
  return 9
}
func quiet() {
entry:
  call pi32(3)
  return
}
func extra(x: i32) -> i32 {
entry:
  return i32.add(x, 1)
}
""")
    results = e2e.check([text], "2\n", 9, entry="other", exports=["extra"])
    for wasm, res, _wt, _nd in results:
        store, inst = _instantiate(wasm)
        assert inst.exports(store)["extra"](store, 4) == 5
        names = {s for s in res.live.live}
        assert "main" not in names and "other" in names
    # An entry returning nothing exits with status 0.
    e2e.check([text], "3\n", 0, entry="quiet")


# ---------------------------------------------------------------- control flow

IRREDUCIBLE = module("cf.irreducible", """
// A loop with two entries (left, right): irreducible.
func walk(start_right: i32, n: i32) -> i32 {
  local i: i32, acc: i32
entry:
  i = 0
  acc = 0
  if start_right then right else left
left:
  call print_char(76)
  acc = i32.add(i32.mul(acc, 3), 1)
  i = i32.add(i, 1)
  if i32.ge_s(i, n) then out else left_next
left_next:
  if i32.and(i, 1) then right else left
right:
  call print_char(82)
  acc = i32.add(i32.mul(acc, 3), 2)
  i = i32.add(i, 1)
  if i32.ge_s(i, n) then out else right_next
right_next:
  if i32.and(i, 2) then left else right
out:
  call nl()
  return acc
}
func main() -> i32 {
  local r: i32
entry:
  r = call walk(0, 7)
  call pi32(r)
  r = call walk(1, 9)
  call pi32(r)
  return 0
}
""")


def _walk(start_right: bool, n: int) -> tuple[str, int]:
    """Python model of `walk`."""
    s, acc, i, right = "", 0, 0, start_right
    while True:
        s += "R" if right else "L"
        acc = acc * 3 + (2 if right else 1)
        i += 1
        if i >= n:
            return s, acc
        right = bool(i & 1) if not right else not (i & 2)


def test_irreducible_control_flow(e2e: E2E) -> None:
    (s1, a1), (s2, a2) = _walk(False, 7), _walk(True, 9)
    e2e.check([IRREDUCIBLE], f"{s1}\n{a1}\n{s2}\n{a2}\n")


SWITCH = module("cf.switch", """
func classify(x: i32) -> i32 {
entry:
  switch x [a, b, a, c, b, a] else d
a:
  return 10
b:
  return 20
c:
  return 30
d:
  return 40
}
// A switch whose targets loop back: counts down through shared blocks.
func churn(n: i32) -> i32 {
  local acc: i32
entry:
  acc = 0
  jump top
top:
  if i32.le_s(n, 0) then done else dispatch
dispatch:
  switch i32.rem_u(n, 4) [even, odd, even] else odd
even:
  acc = i32.add(acc, n)
  n = i32.sub(n, 1)
  jump top
odd:
  acc = i32.sub(acc, 1)
  n = i32.sub(n, 1)
  jump top
done:
  return acc
}
func main() -> i32 {
  local i: i32, r: i32
entry:
  i = -1
  jump loop
loop:
  if i32.lt_s(i, 8) then body else done
body:
  r = call classify(i)
  call pi32(r)
  i = i32.add(i, 1)
  jump loop
done:
  r = call churn(20)
  call pi32(r)
  return 0
}
""")


def test_switch_with_shared_targets(e2e: E2E) -> None:
    table = [10, 20, 10, 30, 20, 10]
    out = [table[i] if 0 <= i < len(table) else 40 for i in range(-1, 8)]
    acc = 0
    for n in range(20, 0, -1):
        acc = acc + n if n % 4 in (0, 2) else acc - 1
    e2e.check([SWITCH], "".join(f"{v}\n" for v in out) + f"{acc}\n")


def test_extern_global_type_mismatch_is_a_link_error(e2e: E2E) -> None:
    g1 = module("gm.def", """
global counter: i32 = 5
data blob = { i32 1 }
func f() -> i32 {
entry:
  return counter
}
""")
    g2 = module("gm.use", """
extern global counter: i64
extern global blob: i32
extern func f() -> i32
func main() -> i32 {
  local r: i32
entry:
  r = call f()
  call pi64(counter)
  call pi32(blob)
  return 0
}
""")
    with pytest.raises(linker.DiagnosticError) as info:
        e2e.link([g2, g1])
    text = str(info.value)
    assert "global type mismatch: counter" in text
    assert "defined as i32 in" in text and "gm.def" in text
    assert "declared as i64 by main in" in text and "gm.use" in text
    assert "global access to non-global symbol: blob" in text


MISC_CFG = module("cfg.shapes", """
// A loop back to the entry block, a branch with equal targets, an unreachable block,
// a self loop, a single-target switch, zero-initialised locals, a block ending in unreachable.
func loop_to_entry(n: i32) -> i32 {
  local acc: i32
entry:
  acc = i32.add(acc, n)
  n = i32.sub(n, 1)
  if i32.gt_s(n, 0) then entry else out
out:
  return acc
}
func same_targets(c: i32) -> i32 {
entry:
  if c then a else a
a:
  return 5
dead:
  return 6
}
func one_switch(c: i32) -> i32 {
entry:
  switch c [d] else d
d:
  return 9
}
func zero_locals() -> i64 {
  local x: i64, y: f64
entry:
  return i64.add(x, i64.trunc_f64_s(y))
}
func self_loop(n: i32) -> i32 {
entry:
  jump l
l:
  n = i32.sub(n, 1)
  if i32.gt_s(n, 0) then l else out
out:
  return n
}
func ends_unreachable(c: i32) -> i32 {
entry:
  if c then r else u
r:
  return 1
u:
  unreachable
}
func main() -> i32 {
  local r: i32, q: i64
entry:
  r = call loop_to_entry(4)
  call pi32(r)
  r = call same_targets(0)
  call pi32(r)
  r = call one_switch(3)
  call pi32(r)
  q = call zero_locals()
  call pi64(q)
  r = call self_loop(5)
  call pi32(r)
  r = call ends_unreachable(1)
  call pi32(r)
  return 0
}
""")


def test_cfg_shapes(e2e: E2E) -> None:
    e2e.check([MISC_CFG], "10\n5\n9\n0\n0\n1\n")


def test_private_function_pointers_and_import_in_table(e2e: E2E) -> None:
    pa = module("priv.a", """
import func "wasi_snapshot_preview1" "proc_exit" pexit(i32)
data exitp align 4 = { addr pexit }
private func h() -> i32 {
entry:
  return 1
}
func geta() -> i32 {
entry:
  return @h
}
""")
    pb = module("priv.b", """
extern func geta() -> i32
private func h() -> i32 {
entry:
  return 2
}
func main() -> i32 {
  local p: i32, r: i32
entry:
  p = call geta()
  r = call_indirect () -> i32 [p]()
  call pi32(r)
  r = call_indirect () -> i32 [@h]()
  call pi32(r)
  call pi32(i32.ne(p, @h))
  call_indirect (i32) [i32.load(@exitp)](7)
  return 0
}
""")
    e2e.check([pb, pa], "1\n2\n1\n", 7)


def test_tail_call_to_deferred_and_indirect_tail_mismatch(e2e: E2E) -> None:
    deferred = module("tail.deferred", """
func bad(x: i32) -> i32 deferred "nope"
func main() -> i32 {
entry:
  tail call bad(1)
}
""")
    e2e.check([deferred], "", 134, stderr="panic in bad: nope", warnings=["bad"])
    mismatch = module("tail.mismatch", """
func f(x: i64) -> i32 {
entry:
  return 1
}
func g(x: i32) -> i32 {
entry:
  tail call_indirect (i32) -> i32 [x](x)
}
func main() -> i32 {
  local r: i32
entry:
  call pi32(1)
  r = call g(@f)
  call pi32(r)
  return 0
}
""")
    e2e.check([mismatch], "1\n", 134, stderr="wasm trap")
