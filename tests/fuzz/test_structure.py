"""Structure-aware fuzzing (tests/fuzz/structure.py) in the test run, and one
regression test for each class of hostile input the structure fuzzer found:
objects with valid checksums but wrong shapes, declared sizes that are not
the real ones, malformed reports.  `benchmarks/fuzz_structure.py` runs the
long campaign (`make fuzz-structure`)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest

from harness import env_int
from mutate import CaseResult, Corpus, build_corpus, run_case, seed_texts
from structure import _bodies, _pack_bodies, build_reports, mutate_tree, split_object, \
    structure_case

from linker.compile import compile_module
from linker.ir.parser import parse_module
from linker.store.ar import write_archive
from linker.store.objfile import append_irld_sections

ROOT = Path(__file__).resolve().parents[2]
SEED = env_int("IRLD_FUZZ_SEED", 1_000_000)
CASES = env_int("IRLD_FUZZ_STRUCTURE", 300)
BATCH = 50


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("corpus"), seed_texts(ROOT, generated=2))


@pytest.fixture(scope="module")
def reports(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_reports(corpus, tmp_path_factory.mktemp("reports"))


@pytest.mark.parametrize("batch", range(CASES // BATCH))
def test_structure_mutants_fail_cleanly(corpus: Corpus, reports: list[Path], tmp_path: Path,
                                        batch: int) -> None:
    assert reports, "no valid report to mutate"
    rng = random.Random(SEED + 7919 * batch)
    failures = []
    for i in range(BATCH):
        desc, res = structure_case(corpus, reports, rng, tmp_path)
        if res.problem is not None:
            failures.append(f"case {i} ({desc}): {res.problem}")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- regressions: objects

PROG = """\
module t.shape

data table align 4 = { i32 1, i32 2, bytes "abc" }
global counter: i32 = 0

func helper(x: i32) -> i32 {
  local s: i32
entry:
  s = i32.add(x, 1)
  counter = s
  return s
}

func main() -> i32 {
entry:
  tail call helper(i32.load(@table))
}
"""


def rebuilt(edit_index: Any = None, edit_body: Any = None) -> bytes:
    """PROG's object with its index and/or one body edited, re-encoded with valid CRCs."""
    data = compile_module(parse_module(PROG, "shape.ir"))
    standard, _parts, index, blob = split_object(data)
    bodies = _bodies(index, blob)
    if edit_body is not None:
        edit_body(index, bodies)
        blob = _pack_bodies(index, bodies)
    if edit_index is not None:
        edit_index(index)
    return append_irld_sections(standard, msgpack.packb(index, use_bin_type=True), blob)


def record(index: Any, name: str) -> list[Any]:
    return next(r for r in index["entities"] if r[0] == name)


def body_of(index: Any, bodies: list[Any], name: str) -> Any:
    return bodies[[r[0] for r in index["entities"]].index(name)]


def judge(tmp_path: Path, data: bytes,
          commands: tuple[str, ...] = ("dump", "link", "trampoline")
          ) -> list[tuple[str, CaseResult]]:
    obj = tmp_path / "bad.o"
    obj.write_bytes(data)
    lib = tmp_path / "bad.a"
    lib.write_bytes(write_archive([("bad.o", data, ["main", "helper"])]))
    out = tmp_path / "out.wasm"
    argv = {"dump": ["dump", str(obj)], "link": ["link", str(obj), "-o", str(out)],
            "ar-t": ["ar", "-t", str(lib)],
            "archive": ["link", str(lib), "--root", "main", "-o", str(out)],
            "trampoline": ["link", str(obj), "--tail-calls", "trampoline", "-o", str(out)]}
    results = []
    for cmd in commands:
        res = run_case(argv[cmd], [out])
        assert res.problem is None, f"{cmd}: {res.problem}"
        results.append((cmd, res))
    return results


def assert_refused(results: list[tuple[str, CaseResult]], message: str) -> None:
    for cmd, res in results:
        assert res.status == 1, (cmd, res.stderr)
        assert message in res.stderr and "bad." in res.stderr, (cmd, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1, (cmd, res.stderr)


@pytest.mark.parametrize("edit, message", [
    # ZeroDivisionError from alignment 0 (layout)
    (lambda ix: record(ix, "table")[3].__setitem__(1, 0),
     "entities[0][3][1]: expected an integer in [1, 65536], got 0"),
    (lambda ix: record(ix, "table")[3].__setitem__(1, 3), "expected a power of two, got 3"),
    # OverflowError / a 2**64-byte item (layout, report)
    (lambda ix: record(ix, "table")[3].__setitem__(0, 2**63),
     "entities[0][3][0]: expected an integer in [0, 4294967295]"),
    # AttributeError in the printer and discovery: a name that is not a string
    (lambda ix: record(ix, "helper").__setitem__(0, 7), "expected a string, got 7"),
    # IndexError: a record too short, a kind out of range
    (lambda ix: record(ix, "helper").pop(), "expected an entity record of 12 fields"),
    (lambda ix: record(ix, "helper").__setitem__(1, 9), "expected an integer in [0, 4], got 9"),
    # KeyError: a missing part of the index
    (lambda ix: ix.pop("exports"), "corrupt object index: exports: expected a value"),
    # TypeError: references that are not (symbol, edge) pairs
    (lambda ix: record(ix, "main").__setitem__(4, ["helper"]),
     "expected a list of (symbol, edge) pairs"),
    (lambda ix: record(ix, "main").__setitem__(4, ["helper", 99]), "got 99"),
    # a body declared past the end of the IR section
    (lambda ix: record(ix, "main").__setitem__(8, 2**31), "[8]: expected an integer in [0, "),
    (lambda ix: record(ix, "main").__setitem__(7, record(ix, "main")[7] + 40),
     "[7]: expected a body inside the"),
])
def test_index_shapes_are_checked(tmp_path: Path, edit: Any, message: str) -> None:
    assert_refused(judge(tmp_path, rebuilt(edit_index=edit)), message)


def _set_bytes_item(index: Any, bodies: list[Any]) -> None:
    items = body_of(index, bodies, "table")
    items[items.index("b") + 1] = 2**31       # bytes(2**31) would allocate 2 GiB


def test_declared_byte_string_is_not_allocated(tmp_path: Path) -> None:
    start = time.perf_counter()
    results = judge(tmp_path, rebuilt(edit_body=_set_bytes_item), ("dump",))
    assert time.perf_counter() - start < 10
    assert_refused(results, "corrupt body of 'table': bytes item holds 2147483648")


def _body_edit(name: str, change: Any) -> Any:
    def edit(index: Any, bodies: list[Any]) -> None:
        change(body_of(index, bodies, name))
    return edit


def _retag(code: list[Any], old: Any, new: Any) -> None:
    code[code.index(old)] = new


@pytest.mark.parametrize("edit, message", [
    (_body_edit("helper", lambda b: b.__setitem__(0, [["x", "i128"]])), "not a value type"),
    (_body_edit("helper", lambda b: _retag(b[4], "i32.add", "i32.frobnicate")),
     "not an operation here: 'i32.frobnicate'"),
    (_body_edit("helper", lambda b: _retag(b[4], "i32.add", "i32.load")),
     "not an operation here: 'i32.load'"),
    (_body_edit("helper", lambda b: _retag(b[4], "entry", 12)), "expected a name or text"),
    (_body_edit("table", lambda b: b.__setitem__(2, 2**40)),
     "expected an integer in [-2147483648, 4294967295], got 1099511627776"),
])
def test_body_shapes_are_checked(tmp_path: Path, edit: Any, message: str) -> None:
    # Data bodies are decoded for `dump` and the interpreter; a link copies the segment.
    commands = ("dump",) if "table" in message or "1099511627776" in message else \
        ("dump", "trampoline")
    assert_refused(judge(tmp_path, rebuilt(edit_body=edit), commands), message)


def test_inconsistent_body_is_a_link_error(tmp_path: Path) -> None:
    """Types right, references wrong: an undefined local reaches code generation."""
    def edit(b: list[Any]) -> None:
        code = b[4]
        code[_local_use(code)] = "nosuch"
    results = judge(tmp_path, rebuilt(edit_body=_body_edit("helper", edit)), ("trampoline",))
    assert_refused(results, "the IR of 'helper' does not compile")


def _local_use(code: list[Any]) -> int:
    """The position of the name in the first `local s` read (tag LOCAL = 1)."""
    for i in range(len(code) - 1):
        if code[i] == 1 and code[i + 1] == "s":
            return i + 1
    raise AssertionError("no local read in the body")


def test_archive_member_with_wrong_shapes(tmp_path: Path) -> None:
    """`ar -t` lists from the archive's symbol table (the member is not opened, and
    must not crash); a link that pulls the member refuses it, naming it."""
    data = rebuilt(edit_index=lambda ix: record(ix, "helper").__setitem__(0, 7))
    (_, listing), (_, linked) = judge(tmp_path, data, ("ar-t", "archive"))
    assert listing.status == 0 and "bad.o" in listing.stderr + "bad.o"
    assert linked.status == 1 and "bad.a(bad.o): error: corrupt object index" in \
        linked.stderr, linked.stderr


# ---------------------------------------------------------------- regressions: reports


@pytest.fixture(scope="module")
def report_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("rep")
    (d / "p.ir").write_text(PROG)
    assert run_case(["compile", str(d / "p.ir"), "-o", str(d / "p.o")]).status == 0
    assert run_case(["link", str(d / "p.o"), "--report", str(d / "p.json")]).status == 0
    return (d / "p.json").read_text()


def _sizes(text: str, value: str) -> str:
    return text.replace('"size": 11', f'"size": {value}', 1).replace(
        '"bytes": ', f'"bytes": {value}, "was": ', 1)


@pytest.mark.parametrize("mutate, message", [
    (lambda t: _sizes(t, "Infinity"), "not JSON: Infinity is not a JSON number"),
    (lambda t: _sizes(t, "NaN"), "not JSON: NaN is not a JSON number"),
    (lambda t: _sizes(t, str(2**64)), "expected an integer in [0, 4294967295]"),
    (lambda t: _sizes(t, "-1"), "expected an integer in [0, 4294967295]"),
    (lambda t: t.replace('"live":', '"alive":', 1), "live: expected a value, got nothing"),
    (lambda t: t.replace('"name": "main"', '"name": ["main"]', 1), "expected a string"),
    (lambda t: "[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
    (lambda t: t.replace('"live": [', '"live": [' + "[" * 100_000 + "]" * 100_000 + ",", 1),
     "JSON nested too deeply"),
])
@pytest.mark.parametrize("command", ["dominators", "top --by-input", "graph", "diff", "why"])
def test_malformed_reports(tmp_path: Path, report_text: str, mutate: Any, message: str,
                           command: str) -> None:
    good = tmp_path / "good.json"
    good.write_text(report_text)
    bad = tmp_path / "bad.json"
    bad.write_text(mutate(report_text))
    json_ok = message.startswith("not JSON") or "nested" in message
    if not json_ok:
        json.loads(bad.read_text())           # the mutant is JSON, only its shape is wrong
    argv = {"dominators": ["dominators", str(bad)], "top --by-input": ["top", "--by-input",
                                                                       str(bad)],
            "graph": ["graph", str(bad)], "diff": ["diff", str(good), str(bad)],
            "why": ["why", "main", str(bad)]}[command]
    res = run_case(argv)
    assert res.problem is None, res.problem
    assert res.status == 1 and message in res.stderr and str(bad) in res.stderr, res.stderr


# ---------------------------------------------------------------- the judge itself


def test_judge_counts_an_internal_error_as_a_failure(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash the parser catches and rewords ("internal error in the IR parser:
    KeyError ...") is a failure, not a clean diagnostic."""
    import linker.ir.parser as parser

    def planted(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("planted")
    monkeypatch.setattr(parser._Builder, "build", planted)
    src = tmp_path / "x.ir"
    src.write_text(PROG)
    res = run_case(["compile", str(src), "-o", str(tmp_path / "x.o")])
    assert res.status == 1 and "internal error in the IR parser" in res.stderr
    assert res.problem is not None and res.problem.startswith("internal error")


def _rename_helper(index: Any) -> None:
    record(index, "helper")[0] = "helper2"
    refs = record(index, "main")[4]
    refs[refs.index("helper")] = "helper2"


def test_relocations_that_disagree_with_the_index(tmp_path: Path) -> None:
    """The index says main calls helper2; the code's relocation names helper (found
    by the 13,000-case campaign as a KeyError in emission)."""
    assert_refused(judge(tmp_path, rebuilt(edit_index=_rename_helper), ("link",)),
                   "a relocation in 'main' refers to 'helper', which its index does not list")


# ---------------------------------------------------------------- the fast index check


def _explains(index: Any, kinds: int, edges: int, size: int) -> bool:
    """Whether the explaining check accepts `index` (what it raises, the object
    reader turns into a diagnostic)."""
    from linker.store.shapes import _explain_index
    try:
        _explain_index(index, kinds, edges, size)
    except (ValueError, TypeError, KeyError, IndexError):
        return False
    return True


def test_the_fast_index_check_gives_the_explaining_checks_verdict() -> None:
    """`check_index` takes `index_ok`'s yes without asking the combinators: on the
    indices of real objects (every example, the standard library) and on 3,000
    random damages of them, the two verdicts are the same."""
    import copy
    from linker.store.objfile import EDGE_CODES, KIND_CODES
    from linker.store.shapes import index_ok
    kinds, edges = len(KIND_CODES), len(EDGE_CODES)
    sources = sorted([*ROOT.glob("examples/*/*.ir"), *ROOT.glob("stdlib/*.ir")])
    indices = []
    for path in sources:
        _std, _parts, index, blob = split_object(
            compile_module(parse_module(path.read_text(), str(path))))
        assert index_ok(index, kinds, edges, len(blob)), path
        indices.append((index, len(blob)))
    rng = random.Random(SEED)
    verdicts = {True: 0, False: 0}
    for _ in range(3000):
        index, size = rng.choice(indices)
        damaged = mutate_tree(copy.deepcopy(index), rng, rng.choice([1, 1, 2, 3]))
        size = size if rng.random() < 0.8 else rng.randrange(size + 1)
        fast = index_ok(damaged, kinds, edges, size)
        assert fast == _explains(damaged, kinds, edges, size), damaged
        verdicts[fast] += 1
    assert min(verdicts.values()) > 100, verdicts       # both verdicts exercised
