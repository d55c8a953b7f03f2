"""The reference interpreter (linker.interp) on hand-written programs, the stdlib tests and the examples."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness import compile_all, link_all
from linker.codegen import TailCallMode
from linker.interp import image_mismatches, run_program, trap_category
from linker.host import RunResult

ROOT = Path(__file__).resolve().parents[2]
STDLIB = {f"std.{p.stem}": p.read_text() for p in sorted((ROOT / "stdlib").glob("*.ir"))}


def interp(tmp_path: Path, modules: dict[str, str], argv: list[str] | None = None,
           stdin: bytes = b"", stdlib: bool = False, **kw: object) -> RunResult:
    mods = dict(modules)
    archived: list[str] = []
    if stdlib:
        mods.update(STDLIB)
        archived = list(STDLIB)
    lr = link_all(compile_all(mods), archived, tmp_path, TailCallMode.NATIVE)
    assert image_mismatches(lr) == []
    return run_program(lr, argv or ["prog"], stdin, **kw)  # type: ignore[arg-type]


COUNTDOWN = """module t.count
func even(n: i32) -> i32 {
entry:
  if i32.eqz(n) then yes else no
yes:
  return 1
no:
  tail call odd(i32.sub(n, 1))
}
func odd(n: i32) -> i32 {
entry:
  if i32.eqz(n) then no else yes
no:
  return 0
yes:
  tail call_indirect (i32) -> i32 [@even](i32.sub(n, 1))
}
func main() -> i32 {
  local r: i32
entry:
  r = call even(N)
  return r
}
"""


def test_tail_calls_run_in_constant_stack(tmp_path: Path) -> None:
    # 200,000 alternating direct and indirect tail calls; the full 10,000,000 of
    # examples/countdown takes about 10 s (docs/testing.md).
    res = interp(tmp_path, {"t.count": COUNTDOWN.replace("N", "200001")})
    assert (res.exit_code, res.trap) == (0, None)
    res = interp(tmp_path, {"t.count": COUNTDOWN.replace("N", "200000")})
    assert res.exit_code == 1


def test_deep_recursion_traps_as_stack_exhaustion(tmp_path: Path) -> None:
    src = """module t.deep
func down(n: i32) -> i32 {
  local r: i32
entry:
  r = call down(i32.add(n, 1))
  return r
}
func main() -> i32 {
  local r: i32
entry:
  r = call down(0)
  return r
}
"""
    res = interp(tmp_path, {"t.deep": src}, max_depth=1000)
    assert res.exit_code == 134 and trap_category(res.trap) == "stack"
    assert res.stderr.decode().startswith("error: wasm trap: call stack exhausted\n  at down\n")


TRAPS = {
    "div": ("r = i32.div_s(x, i32.sub(x, x))", "arithmetic", "integer divide by zero"),
    "overflow": ("r = i32.div_s(-2147483648, i32.sub(x, 2))", "arithmetic", "integer overflow"),
    "trunc": ("r = i32.trunc_f64_s(f64.div(0.0, 0.0))", "arithmetic",
              "invalid conversion to integer"),
    "oob": ("r = i32.load(i32.sub(i32.shl(memory.size(), 16), 3))", "memory",
            "out of bounds memory access"),
    "null": ("r = call_indirect (i32) -> i32 [0](x)", "indirect call",
             "indirect call to a null function pointer"),
    "type": ("r = call_indirect (i64) -> i32 [@f](0)", "indirect call",
             "indirect call type mismatch"),
    "table": ("r = call_indirect (i32) -> i32 [99](x)", "indirect call",
              "indirect call past the end of the function table"),
}


@pytest.mark.parametrize("case", sorted(TRAPS))
def test_traps(tmp_path: Path, case: str) -> None:
    stmt, category, reason = TRAPS[case]
    src = f"""module t.trap
func f(a: i32) -> i32 {{
entry:
  return a
}}
func main() -> i32 {{
  local x: i32, r: i32
entry:
  x = 1
  {stmt}
  return r
}}
"""
    res = interp(tmp_path, {"t.trap": src})
    assert res.exit_code == 134 and trap_category(res.trap) == category
    assert res.trap == f"wasm trap: {reason}"


def test_memory_grow_size_and_the_maximum(tmp_path: Path) -> None:
    src = """module t.grow
extern func print_i32(i32)
extern func newline()
func main() -> i32 {
  local a: i32
entry:
  a = memory.grow(2)
  call print_i32(a)
  call print_i32(memory.size())
  call print_i32(memory.grow(65536))
  i32.store(i32.sub(i32.shl(memory.size(), 16), 4), 7)
  call print_i32(i32.load(i32.sub(i32.shl(memory.size(), 16), 4)))
  call newline()
  return 0
}
"""
    res = interp(tmp_path, {"t.grow": src}, stdlib=True)
    assert res.stdout == b"13-17\n" and res.exit_code == 0


def test_panic_deferred_error_and_ctors(tmp_path: Path) -> None:
    src = """module t.panic
extern func print_i32(i32)
global g: i32 = 0
func first() {
entry:
  g = i32.add(i32.mul(g, 10), 1)
  return
}
func second() {
entry:
  g = i32.add(i32.mul(g, 10), 2)
  return
}
ctor second priority 200
ctor first priority 100
func broken(x: i32) -> i32 deferred "uses an unsupported primop"
func main() -> i32 {
  local r: i32
entry:
  call print_i32(g)
  r = call broken(g)
  return r
}
"""
    res = interp(tmp_path, {"t.panic": src}, stdlib=True)
    assert res.stdout == b"12" and res.exit_code == 134
    assert res.stderr.decode().startswith("panic in broken: uses an unsupported primop\n")
    assert trap_category(res.trap) == "unreachable"


def test_wasi_args_stdin_and_exit_status(tmp_path: Path) -> None:
    src = """module t.wasi
import func "wasi_snapshot_preview1" "fd_read" fd_read(i32, i32, i32, i32) -> i32
import func "wasi_snapshot_preview1" "fd_write" fd_write(i32, i32, i32, i32) -> i32
import func "wasi_snapshot_preview1" "environ_sizes_get" environ_sizes_get(i32, i32) -> i32
extern func argc() -> i32
data buf align 4 = { zero 16 }
data iov align 4 = { addr buf, i32 16 }
data n align 4 = { zero 8 }
func main() -> i32 {
  local e: i32
entry:
  e = call fd_read(0, @iov, 1, @n)
  i32.store(@iov, i32.load(@n), offset=4)
  e = call fd_write(1, @iov, 1, @n)
  e = call environ_sizes_get(@n, @n+4)
  e = call argc()
  return i32.add(i32.load(@n), e)
}
"""
    res = interp(tmp_path, {"t.wasi": src}, ["prog", "a", "b"], b"hello", stdlib=True)
    assert (res.stdout, res.exit_code) == (b"hello", 3)


def test_step_limit_reports_out_of_fuel(tmp_path: Path) -> None:
    src = """module t.loop
func main() -> i32 {
entry:
  jump entry
}
"""
    res = interp(tmp_path, {"t.loop": src}, max_steps=1000)
    assert res.exit_code == 134 and trap_category(res.trap) == "fuel"


def _expected_programs() -> list[tuple[str, list[Path], Path, list[str]]]:
    cases = []
    for p in sorted((ROOT / "tests" / "stdlib").glob("*.ir")):
        args_file = p.with_suffix(".args")
        args = args_file.read_text().splitlines() if args_file.exists() else []
        cases.append((p.stem, [p], p.with_suffix(".expected"), args))
    for d in sorted((ROOT / "examples").iterdir()):
        srcs = sorted(d.glob("*.ir"))
        if not srcs or not (d / "expected.out").exists() or d.name == "countdown":
            continue
        if any(d.glob("*.c")):      # the interpreter runs IR only: C has no IR to run
            continue
        args = (d / "args").read_text().splitlines() if (d / "args").exists() else []
        cases.append((d.name, srcs, d / "expected.out", args))
    return cases


@pytest.mark.parametrize("name,srcs,expected,args", _expected_programs(),
                         ids=[c[0] for c in _expected_programs()])
def test_stdlib_programs_and_examples(tmp_path: Path, name: str, srcs: list[Path],
                                      expected: Path, args: list[str]) -> None:
    modules = {}
    for s in srcs:
        t = s.read_text()
        modules[t.split("module ", 1)[1].split()[0]] = t
    res = interp(tmp_path, modules, ["prog", *args], stdlib=True)
    assert res.stdout == expected.read_bytes()
    exit_file = expected.with_suffix(".exit")
    assert res.exit_code == (int(exit_file.read_text()) if exit_file.exists() else 0)


def test_ten_million_tail_calls_timing(tmp_path: Path) -> None:
    """Not a benchmark: checks the machine stays linear (100,000 calls well under a second each)."""
    res = None
    start = time.perf_counter()
    res = interp(tmp_path, {"t.count": COUNTDOWN.replace("N", "100000")})
    assert res.exit_code == 1
    assert time.perf_counter() - start < 30


def test_cli_run_interp(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from linker.cli.main import main
    from linker.compile import compile_module
    from linker.ir.parser import parse_module
    from linker.store.archive import archive_bytes
    fib = ROOT / "examples" / "fib" / "fib.ir"
    obj = tmp_path / "fib.o"
    obj.write_bytes(compile_module(parse_module(fib.read_text(), str(fib))))
    lib = tmp_path / "std.a"
    lib.write_bytes(archive_bytes([(f"{n}.o", compile_module(parse_module(t, n)))
                                   for n, t in STDLIB.items()]))
    assert main(["run", "--interp", str(obj), str(lib), "--", "10"]) == 0
    assert capfd.readouterr().out == "fib(10) = 55\n"
    assert main(["run", "--interp", "--fuel", "50", str(obj), str(lib), "--", "20"]) == 134
    assert "error: out of fuel (limit 50)" in capfd.readouterr().err
    assert main(["run", "--interp", str(obj)]) == 1   # undefined symbols: a link diagnostic
    assert "undefined symbol" in capfd.readouterr().err
