"""The CLI in fresh processes: bad input, determinism across hash seeds, --emit-wat, names in
traps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import wasmtime

from e2e_util import E2E, IRLD, MODES, irld, module
from test_e2e_linking import GLOBALS_A, GLOBALS_B, IRREDUCIBLE, RELOC_A, RELOC_B
from test_e2e_memory import LOADS_EXPECTED, LOADS_STORES
from test_e2e_tailcalls import SIGS, _sigs_expected

# ---------------------------------------------------------------- bad input

BAD = {
    "a": """module a
extern func f(i64) -> i32
func main() -> i32 {
  local r: i32
entry:
  r = call f(1)
  return r
}
""",
    "b": """module b
func f(x: i32) -> i32 {
entry:
  return x
}
""",
    "c": """module c
func f(x: i32) -> i32 {
entry:
  return i32.add(x, 1)
}
func main() -> i32 {
entry:
  return 0
}
""",
    "u": """module u
extern func nothere() -> i32
extern func alsomissing()
func main() -> i32 {
  local r: i32
entry:
  call alsomissing()
  r = call nothere()
  return r
}
""",
    "w": """module w
func main(x: i32) -> i32 {
entry:
  return x
}
""",
    "dat": """module dat
data main = { i32 1 }
""",
}


@pytest.fixture(scope="module")
def bad_objs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    for name, text in BAD.items():
        (d / f"{name}.ir").write_text(text)
    proc = irld("compile", *[f"{n}.ir" for n in BAD], "--out-dir", ".", cwd=d)
    assert proc.returncode == 0, proc.stderr
    (d / "junk.o").write_bytes(b"this is not an object file at all")
    whole = (d / "b.o").read_bytes()
    (d / "half.o").write_bytes(whole[:len(whole) // 2])
    return d


CASES = {
    "signature mismatch": (["a.o", "b.o"],
                           ["function signature mismatch: f", "defined as (i32) -> i32 in b.o",
                            "called as (i64) -> i32 by main in a.o"]),
    "duplicate symbol": (["b.o", "c.o"], ["duplicate symbol: f", "b.o", "c.o"]),
    "undefined symbols": (["u.o"], ["undefined symbol: nothere", "undefined symbol: alsomissing",
                                      "referenced by main (u.o)"]),
    "missing entry": (["b.o"], ["entry symbol not defined: main"]),
    "missing other entry": (["c.o", "--entry", "start"], ["entry symbol not defined: start"]),
    "entry with wrong type": (["w.o"], ["entry function main has type (i32) -> i32"]),
    "entry is data": (["dat.o"], ["entry symbol is not a function: main"]),
    "unknown library": (["c.o", "-L", ".", "-lnosuch"], ["unable to find library -lnosuch"]),
    "missing input": (["c.o", "nothere.o"], ["nothere.o", "cannot open"]),
    "source as input": (["c.o", "a.ir"], ["a.ir", "expected a WebAssembly object file"]),
    "corrupt object": (["c.o", "junk.o"], ["junk.o", "unknown file type"]),
    "truncated object": (["c.o", "half.o"], ["half.o: error"]),
    "undefined export": (["c.o", "--export", "ghost"], ["undefined symbol: ghost"]),
}


def _assert_clean_failure(proc: object, d: Path, before: set[str], outputs: list[str]) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stderr)  # type: ignore[attr-defined]
    err = proc.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in err and err.strip(), err
    for out in outputs:
        assert not os.path.exists(out), f"{out} left behind"
    assert set(os.listdir(d)) == before, set(os.listdir(d)) ^ before


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_link_input(bad_objs: Path, case: str) -> None:
    args, messages = CASES[case]
    before = set(os.listdir(bad_objs))
    proc = irld("link", *args, "-o", "out.wasm", "--emit-wat", "out.wat", cwd=bad_objs)
    _assert_clean_failure(proc, bad_objs, before, [str(bad_objs / "out.wasm"),
                                                   str(bad_objs / "out.wat")])
    for m in messages:
        assert m in proc.stderr, (m, proc.stderr)


@pytest.mark.parametrize("where", ["missing dir", "directory", "wat missing dir"])
def test_unwritable_output(bad_objs: Path, tmp_path: Path, where: str) -> None:
    (tmp_path / "adir").mkdir()
    wasm = {"missing dir": "nosuchdir/out.wasm", "directory": "adir"}.get(where, "ok.wasm")
    extra = ["--emit-wat", "nosuchdir/out.wat"] if where == "wat missing dir" else []
    before = set(os.listdir(tmp_path))
    proc = irld("link", str(bad_objs / "c.o"), "-o", wasm, *extra, cwd=tmp_path)
    _assert_clean_failure(proc, tmp_path, before, [str(tmp_path / "ok.wasm")])
    assert "cannot write output file" in proc.stderr


def test_usage_error_is_status_2(bad_objs: Path) -> None:
    proc = irld("link", "c.o", "--tail-calls", "sideways", cwd=bad_objs)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- determinism

DET_MODULES = {"relocb": RELOC_B, "reloca": RELOC_A, "globb": GLOBALS_B.replace(
    "module glob.b", "module glob.b2").replace("func main()", "func main2()"),
    "globa": GLOBALS_A, "sigs": SIGS.replace("func main()", "func main3()"),
    "irr": IRREDUCIBLE.replace("func main()", "func main4()"),
    "prelude": (Path(__file__).parent / "prelude.ir").read_text()}


def _build_with_seed(tmp_path: Path, seed: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """`irld compile` and `irld link` (both modes, with --emit-wat) under PYTHONHASHSEED=seed."""
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = tmp_path / f"seed{seed}"
    objs = [f"{n}.o" for n in DET_MODULES]
    proc = irld("compile", *[f"{n}.ir" for n in DET_MODULES], "--out-dir", str(out),
                env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    wasm = {}
    for mode in MODES:
        proc = irld("link", *objs, "-o", f"{mode}.wasm", "--emit-wat", f"{mode}.wat",
                    "--export", "main2", "--export", "main3", "--root", "main4",
                    "--tail-calls", mode, env=env, cwd=out)
        assert proc.returncode == 0, proc.stderr
        wasm[mode] = (out / f"{mode}.wasm").read_bytes()
        wasm[mode + ".wat"] = (out / f"{mode}.wat").read_bytes()
    return {o: (out / o).read_bytes() for o in objs}, wasm


def test_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor
    for name, text in DET_MODULES.items():
        (tmp_path / f"{name}.ir").write_text(text)
    seeds = ("0", "1", "987654")
    with ThreadPoolExecutor(len(seeds)) as pool:
        builds = list(pool.map(lambda s: _build_with_seed(tmp_path, s), seeds))
    first_objs, first_wasm = builds[0]
    for seed, (objs, wasm) in zip(seeds[1:], builds[1:]):
        assert objs == first_objs, f"objects differ under PYTHONHASHSEED={seed}"
        assert wasm == first_wasm, f"outputs differ under PYTHONHASHSEED={seed}"


# ---------------------------------------------------------------- --emit-wat

@pytest.mark.parametrize("mode", MODES)
def test_emit_wat_round_trips(e2e: E2E, mode: str) -> None:
    programs = [([LOADS_STORES], LOADS_EXPECTED, 0), ([SIGS], _sigs_expected(), 3),
                ([RELOC_B, RELOC_A], "22\n33\n99\n33\n200\n42\n1\n100\n1\n22\n", 0)]
    for texts, expected, status in programs:
        wat = e2e.fresh(".wat")
        wasm, res = e2e.link(texts, mode, emit_wat=wat)
        rebuilt = e2e.fresh(".wasm")
        rebuilt.write_bytes(wasmtime.wat2wasm(wat.read_text()))
        from e2e_util import validate
        validate(rebuilt.read_bytes(), rebuilt, tail_calls=mode == "native")
        for path in (wasm, rebuilt):
            wt, _nd = e2e.run(path)
            assert (wt.stdout.decode(), wt.exit_code) == (expected, status), path


# ---------------------------------------------------------------- names in traps

def test_trap_names_the_function(e2e: E2E, tmp_path: Path) -> None:
    text = module("named", """
global zero: i32 = 0
func crash_here(x: i32) -> i32 {
entry:
  return i32.div_s(100, x)
}
func middle_frame() -> i32 {
  local r: i32
entry:
  r = call crash_here(zero)
  return r
}
func main() -> i32 {
  local r: i32
entry:
  r = call middle_frame()
  return r
}
""")
    for mode in MODES:
        wasm, _res = e2e.link([text], mode)
        proc = irld("run", str(wasm))
        assert proc.returncode == 134, proc.stderr
        assert "Traceback" not in proc.stderr
        assert "crash_here" in proc.stderr and "middle_frame" in proc.stderr, proc.stderr
        assert proc.stderr.index("crash_here") < proc.stderr.index("middle_frame")
    assert Path(IRLD).exists()
