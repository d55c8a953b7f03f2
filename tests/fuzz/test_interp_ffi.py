"""The interpreter's FFI runtime (linker.interp.ffi) against wasmtime running the generated wasm.

Every program runs on both and must give the same exit status, stdout and
stderr (traces, panics; the trap backtrace aside), and, where the program
calls the `fz.memhash` host function at the end, the same hash of the whole
linear memory: the FFI stack frames, struct copies, varargs buffers, closure
records and descriptors must be where the generated code puts them, byte for
byte.  Programs: the 36 libffi-testsuite signatures of tests/ffi (all at
once and one by one, with and without the Python host paths), closure pools
and their growth (both host models: wasmtime grows the table, Node returns
0), the static adapters, `--ffi=exhaustive:N`, and FFI traps.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest

from harness import compile_all, link_all
import linker.host
from linker.codegen import TailCallMode
from linker.driver import LinkOptions, LinkResult, link
from linker.interp import image_mismatches, run_program, trap_category
from linker.ir.types import FuncType, ValType

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ffi"))
import ffi_programs as fp  # noqa: E402
import test_ffi_closures as closures  # noqa: E402
import test_ffi_static as static  # noqa: E402

I32 = ValType.I32


def _memhash(ctx: Any, size: int) -> None:
    digest = hashlib.sha256(ctx.read(0, size)).hexdigest()
    ctx.write_stderr(f"memory {size}: {digest}\n")


def with_memhash(host: linker.host.HostFunctions | None = None) -> linker.host.HostFunctions:
    h = (host or linker.host.HostFunctions.default()).copy()
    h.add("fz", "memhash", FuncType((I32,)), _memhash)
    return h


def link_modules(tmp: Path, texts: list[str], **options: Any) -> LinkResult:
    modules = {t.split("module ", 1)[1].split()[0]: t for t in texts}
    if not options:
        return link_all(compile_all(modules), [], tmp, TailCallMode.NATIVE)
    paths = []
    for name, data in compile_all(modules).items():
        path = tmp / f"{name}.o"
        path.write_bytes(data)
        paths.append(str(path))
    return link(LinkOptions(inputs=tuple(paths), **options))


def agree(lr: LinkResult, host: linker.host.HostFunctions | None = None,
          growth: bool = True) -> linker.host.RunResult:
    """Run on the interpreter and on wasmtime; everything but the backtrace must match."""
    assert lr.wasm is not None
    assert image_mismatches(lr) == []
    mine = run_program(lr, ["ffi"], host=host, closure_growth=growth)
    theirs = linker.host.run(lr.wasm, ["ffi"], host=host, capture=True)

    def cut(err: bytes) -> bytes:
        return err.split(b"\n  at ")[0]
    assert (mine.exit_code, mine.stdout, cut(mine.stderr)) == \
        (theirs.exit_code, theirs.stdout, cut(theirs.stderr))
    assert trap_category(mine.trap) == trap_category(theirs.trap)
    return mine


def signature_texts(cases: list[tuple[int, fp.Case]], host: bool) -> list[str]:
    decls = "\n".join(f"extern func run_{c.name}()" for _, c in cases)
    calls = "\n  ".join(f"call run_{c.name}()" for _, c in cases)
    main = (f'module ffitest.main\n{decls}\nimport func "fz" "memhash" memhash(i32)\n'
            f"func main() -> i32 {{\nentry:\n  {calls}\n"
            f"  call memhash(i32.shl(memory.size(), 16))\n  return 0\n}}\n")
    return [fp.PRELUDE] + [fp.case_module(i, c, host) for i, c in cases] + [main]


ALL = list(enumerate(fp.CASES))


@pytest.mark.parametrize("host", [False, True], ids=["wasm-only", "with-host"])
def test_all_36_signatures(tmp_path: Path, host: bool) -> None:
    lr = link_modules(tmp_path, signature_texts(ALL, host))
    hf = with_memhash(fp.host_functions(ALL) if host else None)
    run = agree(lr, hf)
    assert run.exit_code == 0 and run.stderr.startswith(b"memory ")
    assert lr.ffi is not None and len(lr.ffi.sigs) == 36


def test_each_signature_alone(tmp_path: Path) -> None:
    """One signature per program: the FFI area, the table slots and the frames move."""
    for index, case in ALL:
        d = tmp_path / case.name
        d.mkdir()
        lr = link_modules(d, signature_texts([(index, case)], True))
        run = agree(lr, with_memhash(fp.host_functions([(index, case)])))
        assert run.exit_code == 0, case.name


def test_exhaustive_mode(tmp_path: Path) -> None:
    cases = [(i, c) for i, c in ALL if c.name in ("int64", "float_double", "cls_12byte",
                                                  "va_promoted", "sint8_ret")]
    lr = link_modules(tmp_path, signature_texts(cases, True), ffi_exhaustive=2)
    assert lr.ffi is not None and lr.ffi.mode == "exhaustive:2"
    assert agree(lr, with_memhash(fp.host_functions(cases))).exit_code == 0


@pytest.mark.parametrize("count,pool,status", [(6, 2, 106), (4, 1, 104), (3, 0, 103),
                                               (3, None, 103), (20, 16, 120)])
def test_closure_pools_and_growth(tmp_path: Path, count: int, pool: int | None,
                                  status: int) -> None:
    text = closures.pool_program(count, pool).replace(
        "finish:\n  return", "finish:\n  call memhash(i32.shl(memory.size(), 16))\n  return")
    text = text.replace("csig add", 'import func "fz" "memhash" memhash(i32)\ncsig add')
    lr = link_modules(tmp_path, [text], closure_growth=True)
    assert agree(lr, with_memhash()).exit_code == status
    # Node's host model: closure_table_grow returns 0
    no_growth = with_memhash()
    no_growth.add("irld", "closure_table_grow", FuncType((I32, I32), I32), lambda ctx, t, c: 0)
    limit = count if pool is None else min(count, pool)
    mine = run_program(lr, ["ffi"], host=with_memhash(), closure_growth=False)
    assert mine.exit_code == 100 + limit
    assert mine.exit_code == agree(lr, no_growth).exit_code


def test_static_adapters(tmp_path: Path) -> None:
    lr = link_modules(tmp_path, [static.PROGRAM])
    assert agree(lr, static._host()).exit_code == 0


TRAPS = {
    # an unknown signature id: ffi_call's br_table default
    "unknown_sig": ("call ffi_call(7, @impl, @rv, @av)", "unreachable"),
    # a freed closure: fun is cleared, the implementation's call_indirect hits slot 0
    "freed": ("code = call ffi_closure_alloc(sig s, @fun, 0)\n  call ffi_closure_free(code)\n"
              "  r = call_indirect (i32) -> i32 [code](1)", "indirect call"),
    # a closure called with another wasm type
    "wrong_type": ("code = call ffi_closure_alloc(sig s, @fun, 0)\n"
                   "  r = call_indirect (f64) -> i32 [code](1.0)", "indirect call"),
    # avalue pointing out of memory
    "bad_avalue": ("call ffi_call(sig s, @impl, @rv, -4)", "memory"),
    # a struct copy from out of memory
    "bad_struct": ("i32.store(@av, -2)\n  call ffi_call(sig t, @impl2, @rv, @av)", "memory"),
    # the FFI stack runs into the grown records: unbounded recursion through closures
    "stack": ("code = call ffi_closure_alloc(sig s, @deep, 0)\n  i32.store(@code, code)\n"
              "  r = call_indirect (i32) -> i32 [code](1)", "unreachable"),
    # wild target of ffi_call
    "bad_target": ("call ffi_call(sig s, 12345, @rv, @av)", "indirect call"),
}

TRAP_PROGRAM = """module traps
extern func ffi_call(i32, i32, i32, i32)
extern func ffi_closure_alloc(i32, i32, i32) -> i32
extern func ffi_closure_free(i32)
csig s = sint32(sint32)
csig t = void(struct { sint32, double, uint8 }, sint8)
data x align 4 = { i32 5 }
data av align 4 = { addr x, addr x }
data rv align 8 = { zero 16 }
data code align 4 = { zero 4 }
func impl(a: i32) -> i32 {
entry:
  return i32.add(a, 1)
}
func impl2(p: i32, b: i32) {
entry:
  return
}
func fun(sg: i32, ret: i32, args: i32, ud: i32) {
entry:
  i32.store(ret, 1)
  return
}
func deep(sg: i32, ret: i32, args: i32, ud: i32) {
  local r: i32
entry:
  r = call_indirect (i32) -> i32 [i32.load(@code)](1)
  i32.store(ret, r)
  return
}
func main() -> i32 {
  local code: i32, r: i32
entry:
  STMT
  return 0
}
"""


@pytest.mark.parametrize("case", sorted(TRAPS))
def test_ffi_traps(tmp_path: Path, case: str) -> None:
    stmt, category = TRAPS[case]
    lr = link_modules(tmp_path, [TRAP_PROGRAM.replace("STMT", stmt)])
    run = agree(lr)
    assert run.exit_code == linker.host.EXIT_TRAP and trap_category(run.trap) == category
