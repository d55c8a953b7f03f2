"""`irld link --instrument` + `irld run --trace=PATTERN` / `--profile=FILE`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from debug_util import Build

import linker.host
from linker.cli.main import main
from linker.host.trace import Tracer, node_spec
from linker.sourcemap import function_names

PROG = """module t.fib

func fib(n: i32) -> i32 {
  local a: i32, b: i32
entry:
  if i32.lt_s(n, 2) then small else big
small:
  return n
big:
  a = call fib(i32.sub(n, 1))
  b = call fib(i32.sub(n, 2))
  return i32.add(a, b)
}

func loop(n: i32, acc: i64, x: f64) -> i64 {
entry:
  if i32.eqz(n) then done else more
done:
  return acc
more:
  tail call loop(i32.sub(n, 1), i64.add(acc, -1), f64.mul(x, 0.5))
}

func main() -> i32 {
  local r: i32, x: i64
entry:
  r = call fib(3)
  x = call loop(2, 10, 3.0)
  return r
}
"""

TRACE = """\
trace: call main()
trace:   call fib(3)
trace:     call fib(2)
trace:       call fib(1)
trace:       return fib = 1
trace:       call fib(0)
trace:       return fib = 0
trace:     return fib = 1
trace:     call fib(1)
trace:     return fib = 1
trace:   return fib = 2
trace:   call loop(2, 10, 3)
trace:   tail call loop(1, 9, 1.5)
trace:   tail call loop(0, 8, 0.75)
trace:   return loop = 8
trace: return main = 2
"""


ENGINES = ["wasmtime", "node"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine of `irld run`: node_runner.mjs traces as linker/host/trace.py does."""
    if request.param == "node":
        try:
            linker.host.find_node()
        except linker.host.NodeNotFoundError as exc:
            pytest.skip(str(exc))
    return str(request.param)


@pytest.mark.parametrize("mode", ["native", "trampoline"])
def test_trace_everything(build: Build, capfd: pytest.CaptureFixture[str], mode: str,
                          engine: str) -> None:
    wasm = build({"fib.ir": PROG}, "--instrument", "--tail-calls", mode)
    capfd.readouterr()
    assert main(["run", "--engine", engine, "--trace", "*", str(wasm)]) == 2
    assert capfd.readouterr().err == TRACE


def test_trace_pattern_to_a_file(build: Build, tmp_path: Path,
                                 capfd: pytest.CaptureFixture[str], engine: str) -> None:
    wasm = build({"fib.ir": PROG}, "--instrument")
    capfd.readouterr()
    assert main(["run", "--engine", engine, "--trace", "lo?p", "--trace-file", "t.txt",
                 str(wasm)]) == 2
    assert capfd.readouterr().err == ""
    want = [line for line in TRACE.splitlines(keepends=True) if "loop" in line]
    assert (tmp_path / "t.txt").read_text() == "".join(want)


def _check_balanced(events: list[dict[str, object]]) -> None:
    stack: list[object] = []
    last = 0
    for e in events:
        assert isinstance(e["at"], int) and e["at"] >= last
        last = e["at"]
        if e["type"] == "O":
            stack.append(e["frame"])
        else:
            assert e["type"] == "C" and stack.pop() == e["frame"]
    assert stack == []


def test_profile_is_a_speedscope_evented_profile(build: Build, tmp_path: Path) -> None:
    wasm = build({"fib.ir": PROG}, "--instrument")
    assert main(["run", "--profile", "prof.json", str(wasm)]) == 2
    doc = json.loads((tmp_path / "prof.json").read_text())
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    names = [f["name"] for f in doc["shared"]["frames"]]
    assert names == ["main", "fib", "loop"]
    (profile,) = doc["profiles"]
    assert profile["type"] == "evented" and profile["unit"] == "nanoseconds"
    events = profile["events"]
    _check_balanced(events)
    opened = [names[e["frame"]] for e in events if e["type"] == "O"]
    # main, 5 calls of fib, loop entered once and replaced by two tail calls.
    assert opened == ["main"] + ["fib"] * 5 + ["loop"] * 3
    assert events[0]["at"] >= profile["startValue"]
    assert events[-1]["at"] <= profile["endValue"]


def test_profile_closes_frames_left_open_by_a_trap(build: Build, tmp_path: Path) -> None:
    src = PROG.replace("small:\n  return n", "small:\n  unreachable")
    wasm = build({"fib.ir": src}, "--instrument")
    assert main(["run", "--profile", "prof.json", str(wasm)]) == 134
    events = json.loads((tmp_path / "prof.json").read_text())["profiles"][0]["events"]
    _check_balanced(events)


def test_instrumented_program_runs_without_tracing(build: Build, node: str,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    wasm = build({"fib.ir": PROG}, "--instrument")
    capfd.readouterr()
    assert main(["run", str(wasm)]) == 2
    assert main(["run", "--engine", "node", str(wasm)]) == 2
    assert capfd.readouterr().err == ""
    assert linker.host.run_node(wasm, ["prog"]).exit_code == 2


def test_profile_needs_wasmtime(build: Build, capfd: pytest.CaptureFixture[str]) -> None:
    wasm = build({"fib.ir": PROG}, "--instrument")
    assert main(["run", "--engine", "node", "--profile", "p.json", str(wasm)]) == 2
    assert "--profile needs --engine wasmtime" in capfd.readouterr().err


def test_trace_values_on_both_engines(build: Build, node: str) -> None:
    """Negative, 64-bit and float values (f32 and f64 in ECMAScript's form) and an
    unnamed-by-the-pattern function, byte for byte the same under wasmtime and Node."""
    src = PROG.replace("r = call fib(3)", "r = call fib(3)\n  call odd(-7, -5000000000, 1e21, 0.1)")
    src += """
func odd(a: i32, b: i64, c: f64, d: f32) -> f32 {
entry:
  return f32.mul(d, 3.0)
}
"""
    wasm = build({"fib.ir": src}, "--instrument")
    out = io.StringIO()
    tracer = Tracer(function_names(wasm.read_bytes()), "[!f]*", out, False)
    wasmtime = linker.host.run(wasm, ["prog"], capture=True,
                               host=tracer.hooks(linker.host.HostFunctions.default()))
    spec = node_spec(wasm.read_bytes(), "[!f]*", False)
    on_node = linker.host.run_node(wasm, ["prog"], trace_spec=spec)
    assert wasmtime.exit_code == on_node.exit_code == 2
    assert "trace:   call odd(-7, -5000000000, 1e+21, 0.10000000149011612)\n" in out.getvalue()
    assert on_node.stderr.decode() == out.getvalue()


FFI = """module t.ffi

extern func ffi_call(i32, i32, i32, i32)
csig s_add = sint32(sint32, double)
csig s_pt = void(struct { sint16, float }, pointer)

data a1 align 4 = { i32 40 }
data a2 align 8 = { f64 2.5 }
data av align 4 = { addr a1, addr a2 }
data pt align 4 = { i16 -3, zero 2, f32 0.5 }
data bv align 4 = { addr pt, addr av }
data rv align 8 = { zero 8 }

func add(x: i32, y: f64) -> i32 {
entry:
  return i32.add(x, i32.trunc_f64_s(y))
}

func point(p: i32, q: i32) {
entry:
  return
}

func main() -> i32 {
entry:
  call ffi_call(sig s_add, @add, @rv, @av)
  call ffi_call(sig s_pt, @point, 0, @bv)
  return i32.load(@rv)
}
"""


def test_trace_ffi_decodes_c_values(build: Build, capfd: pytest.CaptureFixture[str]) -> None:
    wasm = build({"ffi.ir": FFI}, "--instrument")
    capfd.readouterr()
    assert main(["run", "--trace-ffi", str(wasm)]) == 42
    text = capfd.readouterr().err
    err = text.splitlines()
    assert err[0] == "trace-ffi: ffi_call add: sint32(sint32, double)(40, 2.5)"
    assert err[1] == "trace-ffi: ffi_call returned 42"
    assert err[2].startswith("trace-ffi: ffi_call point: void(struct { sint16, float }, pointer)"
                             "({-3, 0.5}, 0x")
    assert err[3:] == ["trace-ffi: ffi_call returned void"]
    # Node: the same lines, the pointer's value included
    try:
        linker.host.find_node()
    except linker.host.NodeNotFoundError:
        return
    assert main(["run", "--engine", "node", "--trace-ffi", str(wasm)]) == 42
    assert capfd.readouterr().err == text


CLOSURES = """module t.closures

extern func ffi_call(i32, i32, i32, i32)
extern func ffi_closure_alloc(i32, i32, i32) -> i32
csig s_scale = double(sint8, double)
csig s_pair = struct { sint32, double }(sint32)

data a1 align 4 = { i8 -3, zero 3 }
data a2 align 8 = { f64 2.5 }
data av align 4 = { addr a1, addr a2 }
data rv align 8 = { zero 16 }

// x * y * user_data
func scale(sg: i32, ret: i32, args: i32, ud: i32) {
entry:
  f64.store(ret, f64.mul(f64.mul(f64.convert_i32_s(i32.load8_s(i32.load(args))),
                                 f64.load(i32.load(args, offset=4))), f64.convert_i32_s(ud)))
  return
}

// {n, n / 2}, through the struct result's sret pointer
func pair(sg: i32, ret: i32, args: i32, ud: i32) {
  local n: i32
entry:
  n = i32.load(i32.load(args))
  i32.store(ret, n)
  f64.store(ret, f64.div(f64.convert_i32_s(n), 2.0), offset=8)
  return
}

func main() -> i32 {
  local c: i32, p: i32, d: f64
entry:
  c = call ffi_closure_alloc(sig s_scale, @scale, 4)
  d = call_indirect (i32, f64) -> f64 [c](7, 0.5)
  call ffi_call(sig s_scale, c, @rv, @av)
  p = call ffi_closure_alloc(sig s_pair, @pair, 0)
  call_indirect (i32, i32) [p](@rv, 7)
  return i32.add(i32.trunc_f64_s(d), i32.load(@rv))
}
"""


def test_trace_ffi_logs_closure_invocations(build: Build, capfd: pytest.CaptureFixture[str]) -> None:
    """Each closure invocation: handler, C signature, arguments decoded through `args`,
    user_data, then the value the handler stored through `ret` (sret for a struct);
    a closure called through ffi_call nests inside the ffi_call's lines."""
    wasm = build({"closures.ir": CLOSURES}, "--instrument")
    capfd.readouterr()
    assert main(["run", "--trace-ffi", str(wasm)]) == 21       # 7 * 0.5 * 4 = 14, then 7
    err = capfd.readouterr().err.splitlines()
    scale = "trace-ffi: closure scale: double(sint8, double)"
    assert err[0] == f"{scale}(7, 0.5) user_data=0x00000004"
    assert err[1] == "trace-ffi: closure returned 14"
    # The target is the closure's trampoline: slot 0 of signature 1's pool.
    assert err[2] == "trace-ffi: ffi_call __irld_closure:1.0: double(sint8, double)(-3, 2.5)"
    assert err[3] == f"{scale}(-3, 2.5) user_data=0x00000004"
    assert err[4] == "trace-ffi: closure returned -30"
    assert err[5] == "trace-ffi: ffi_call returned -30"
    assert err[6:] == ["trace-ffi: closure pair: struct { sint32, double }(sint32)(7) "
                       "user_data=0x00000000",
                       "trace-ffi: closure returned {7, 3.5}"]
    # Node: the same lines
    try:
        linker.host.find_node()
    except linker.host.NodeNotFoundError:
        return
    assert main(["run", "--engine", "node", "--trace-ffi", str(wasm)]) == 21
    assert capfd.readouterr().err.splitlines() == err


def test_trace_ffi_closures_of_the_callbacks_example(
        build: Build, capfd: pytest.CaptureFixture[str]) -> None:
    """examples/callbacks: one closure line and one return line per comparison."""
    repo = Path(__file__).resolve().parents[2]
    root = repo / "examples" / "callbacks"
    if not (repo / "build" / "stdlib.a").exists():
        pytest.skip("build/stdlib.a is missing (make stdlib)")
    wasm = build({"callbacks.ir": (root / "callbacks.ir").read_text()}, "--instrument",
                 str(repo / "build" / "stdlib.a"))
    capfd.readouterr()
    assert main(["run", "--trace-ffi", str(wasm)]) == 0
    captured = capfd.readouterr()
    assert captured.out == (root / "expected.out").read_text()
    lines = captured.err.splitlines()
    calls = [x for x in lines if x.startswith("trace-ffi: closure compare: "
                                              "sint32(pointer, pointer)(0x")]
    returns = [x for x in lines if x.startswith("trace-ffi: closure returned ")]
    # 40 + 53 comparisons by the sorts, and the two direct calls.
    assert len(calls) == len(returns) == 40 + 53 + 2
    assert {x.rsplit(" ", 1)[1] for x in returns} <= {"-1", "0", "1"}
