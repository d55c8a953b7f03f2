"""The differential harness: one IR program, five runs, one verdict.

`Checker.check(modules, archived)` compiles the modules (the `archived` ones
into one archive), links twice (`--tail-calls=native` and `trampoline`) and,
with `lto` (the default), twice more with `--lto`, and runs the program on
the reference interpreter (`linker.interp`), on wasmtime
(`linker.host.run`) and on Node (one long-lived `node_batch.mjs`
process) in every link; the LTO links also run on the interpreter (their
optimized IR), and their data image is checked too.  Node's runner cannot grow the table for FFI
closures, so for a program whose closure pools grew, Node is compared with a
second interpreter run using that host model (`closure_growth=False`).  The runs must agree on stdout, exit status, the
trap category (`linker.interp.trap_category`) and the panic line on stderr;
the interpreter's data image must equal the emitted data segments.
`minimise` shrinks a failing program by delta debugging over functions,
blocks and statements (the IR printer writes the reduced modules back).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

import linker.host
from linker.codegen import TailCallMode
from linker.compile import compile_module
from linker.diagnostics import DiagnosticError
from linker.driver import LinkOptions, LinkResult, link
from linker.interp import InterpError, run_program, trap_category
from linker.interp.image import image_mismatches
from linker.ir import model as ir
from linker.ir.parser import parse_module
from linker.ir.printer import print_module
from linker.store.archive import archive_bytes

HERE = Path(__file__).resolve().parent
NODE_BATCH = HERE / "node_batch.mjs"
REGRESSIONS = HERE / "regressions"
ARGV = ["prog"]
RUN_TIMEOUT = 60.0
STEP_LIMIT = 5_000_000   # generated programs take well under 100,000 steps
MODES = (TailCallMode.NATIVE, TailCallMode.TRAMPOLINE)
T = TypeVar("T")


class GeneratorError(Exception):
    """A generated program does not compile or link: a bug in the generator (or the linker)."""


@attrs.frozen
class Outcome:
    stdout: bytes
    exit_code: int
    category: str | None
    panic: str | None

    def describe(self) -> str:
        out = self.stdout.decode(errors="replace")
        if len(out) > 400:
            out = out[:200] + " ... " + out[-200:]
        return f"exit {self.exit_code}, trap {self.category}, panic {self.panic!r}, stdout {out!r}"


def outcome(result: linker.host.RunResult) -> Outcome:
    panic = None
    for line in result.stderr.decode(errors="replace").splitlines():
        if line.startswith("panic in "):
            panic = line
            break
    return Outcome(result.stdout, result.exit_code, trap_category(result.trap), panic)


class NodeBatch:
    """A Node process running WASI commands one request at a time (see node_batch.mjs)."""

    def __init__(self) -> None:
        exe = linker.host.find_node()
        self.proc = subprocess.Popen([exe, str(NODE_BATCH)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def run(self, wasm: Path, argv: Sequence[str]) -> linker.host.RunResult:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        prefix = str(wasm) + ".node"
        self.proc.stdin.write(json.dumps({"wasm": str(wasm), "args": list(argv),
                                          "out": prefix}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("node batch runner died")
        reply = json.loads(line)
        if reply.get("error"):   # not a trap: e.g. invalid wasm; reported as a disagreement
            return linker.host.RunResult(1, b"", reply["error"].encode(),
                                         f"node cannot run the program: {reply['error']}")
        stdout = Path(prefix + ".stdout").read_bytes()
        stderr = Path(prefix + ".stderr").read_bytes()
        return linker.host.RunResult(reply["exit"], stdout, stderr, reply["trap"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def compile_all(modules: dict[str, str]) -> dict[str, bytes]:
    objs = {}
    for name, text in modules.items():
        try:
            objs[name] = compile_module(parse_module(text, f"{name}.ir"))
        except DiagnosticError as exc:
            raise GeneratorError(f"{name} does not compile:\n{exc.render({f'{name}.ir': text})}")
    return objs


def link_all(objs: dict[str, bytes], archived: Sequence[str], directory: Path,
             mode: TailCallMode, lto: bool = False) -> LinkResult:
    inputs = []
    for name, data in objs.items():
        if name in archived:
            continue
        path = directory / f"{name}.o"
        path.write_bytes(data)
        inputs.append(str(path))
    members = [(f"{n}.o", objs[n]) for n in archived if n in objs]
    if members:
        lib = directory / "lib.a"
        lib.write_bytes(archive_bytes(members))
        inputs.append(str(lib))
    try:
        # Growth through the host is opt-in; the fuzzer keeps exercising it.
        return link(LinkOptions(inputs=tuple(inputs), tail_calls=mode, closure_growth=True,
                                lto=lto))
    except DiagnosticError as exc:
        raise GeneratorError(f"link ({mode.value}{', lto' if lto else ''}) failed:\n"
                             f"{exc.render()}")


@attrs.define
class Verdict:
    ok: bool
    problems: list[str]
    reference: Outcome | None = None


class Checker:
    """Runs programs on every engine; holds the Node process and a scratch directory."""

    def __init__(self, use_node: bool = True, lto: bool = True) -> None:
        self.lto = lto
        self.node: NodeBatch | None = None
        # Engines that could not run: named in every summary, never silently dropped.
        self.skipped: dict[str, str] = {}
        if not use_node:
            self.skipped["node"] = "not asked for"
        else:
            try:
                self.node = NodeBatch()
            except linker.host.NodeNotFoundError as exc:
                self.skipped["node"] = f"not found ({exc})"
        self.tmp = tempfile.TemporaryDirectory(prefix="irld-fuzz-")
        self.dir = Path(self.tmp.name)
        self.count = 0

    @property
    def engines(self) -> str:
        """What each program runs on, for summaries: the skipped engines named as such."""
        used = "interpreter + wasmtime" + (" and Node" if self.node is not None else "")
        skipped = "".join(f"; {e} SKIPPED: {why}" for e, why in self.skipped.items())
        return f"{used} in native and trampoline mode{skipped}"

    def close(self) -> None:
        if self.node is not None:
            self.node.close()
        self.tmp.cleanup()

    def check(self, modules: dict[str, str], archived: Sequence[str] = ()) -> Verdict:
        """Every engine, both tail-call modes, with and without LTO, against the interpreter."""
        return self._in_work_dir(lambda work: self._check(modules, archived, work))

    def reference(self, modules: dict[str, str], archived: Sequence[str] = ()) -> Outcome:
        """The interpreter's outcome alone (one native link): what a program does,
        for tests of the generator's mix rather than of the engines."""
        def run(work: Path) -> Outcome:
            native = link_all(compile_all(modules), archived, work, TailCallMode.NATIVE)
            return outcome(run_program(native, ARGV, b"", max_steps=STEP_LIMIT))
        return self._in_work_dir(run)

    def _in_work_dir(self, job: Callable[[Path], T]) -> T:
        self.count += 1
        work = self.dir / f"p{self.count}"
        work.mkdir()
        try:
            return job(work)
        finally:
            for f in work.iterdir():
                f.unlink()
            work.rmdir()
            # A link's store keeps its input files open until it is collected, and the
            # driver leaves its objects in the oldest generation (linker.gcpause's
            # no_cyclic_gc): collect now, or four links a program run out of descriptors.
            gc.collect()

    def _check(self, modules: dict[str, str], archived: Sequence[str], work: Path) -> Verdict:
        objs = compile_all(modules)
        links = {(mode, False): link_all(objs, archived, work, mode) for mode in MODES}
        if self.lto:
            links.update({(mode, True): link_all(objs, archived, work, mode, lto=True)
                          for mode in MODES})
        native = links[(TailCallMode.NATIVE, False)]
        problems = [f"data image: {m}" for m in image_mismatches(native)]
        stats: dict[str, int] = {}
        try:
            ref = outcome(run_program(native, ARGV, b"", max_steps=STEP_LIMIT, stats=stats))
        except InterpError as exc:
            raise GeneratorError(f"interpreter cannot run the program: {exc}")
        if ref.category == "fuel":
            raise GeneratorError(f"the program runs more than {STEP_LIMIT} interpreter steps")
        # Node's runner cannot grow the table for closures (closure_table_grow returns 0):
        # its reference is the interpreter with that host model.
        refs = {"wasmtime": ref, "node": ref}
        if self.node is not None and stats.get("closure_slots_grown"):
            refs["node"] = outcome(run_program(native, ARGV, b"", max_steps=STEP_LIMIT,
                                               closure_growth=False))
        for (mode, lto), lr in links.items():
            assert lr.wasm is not None
            label = mode.value + (", lto" if lto else "")
            runs: list[tuple[str, Callable[[], linker.host.RunResult]]] = [
                ("wasmtime", lambda lr=lr: linker.host.run(lr.wasm or b"", ARGV, stdin=b"",
                                                           capture=True, timeout=RUN_TIMEOUT))]
            if lto:
                # The interpreter runs the optimized IR: a pass that changed the meaning
                # shows here even where the code generator would hide it.
                problems += [f"data image ({label}): {m}" for m in image_mismatches(lr)]
                runs.append(("interp", lambda lr=lr: run_program(lr, ARGV, b"",
                                                                 max_steps=STEP_LIMIT)))
            if self.node is not None:
                path = work / f"{mode.value}{'-lto' if lto else ''}.wasm"
                path.write_bytes(lr.wasm)
                node = self.node
                runs.append(("node", lambda path=path: node.run(path, ARGV)))
            for engine, run in runs:
                try:
                    got = outcome(run())
                except linker.host.RunError as exc:   # e.g. the linker wrote invalid wasm
                    problems.append(f"{engine} ({label}) cannot run the program: "
                                    f"{exc.render()}")
                    continue
                want = refs.get(engine, ref)
                if got != want:
                    problems.append(f"{engine} ({label}) disagrees with the interpreter:\n"
                                    f"  interp: {want.describe()}\n  {engine}: {got.describe()}")
        return Verdict(not problems, problems, ref)


# ---------------------------------------------------------------- minimisation


def _zero(t: ir.ValType | None) -> ir.Expr | None:
    if t is None:
        return None
    return ir.Const(t, 0.0 if t.is_float else 0)


def _candidates(mods: dict[str, ir.Module]) -> list[Callable[[dict[str, ir.Module]],
                                                              dict[str, ir.Module] | None]]:
    """Single-step reductions, biggest first: drop a function body, a block's code, a statement."""
    out: list[Callable[[dict[str, ir.Module]], dict[str, ir.Module] | None]] = []
    for mname, m in mods.items():
        for ii, item in enumerate(m.items):
            if isinstance(item, (ir.Func, ir.Data, ir.Global)) and item.name != "main":
                out.append(_drop_item(mname, ii))
        for ii, item in enumerate(m.items):
            if not isinstance(item, ir.Func) or not item.blocks or _closure_fun(item):
                continue
            out.append(_edit(mname, ii, lambda f: attrs.evolve(f, locals=f.locals, blocks=(
                ir.BasicBlock("entry", (), ir.Return(_zero(f.result))),))))
        for ii, item in enumerate(m.items):
            if not isinstance(item, ir.Func):
                continue
            for bi, b in enumerate(item.blocks):
                if not _closure_fun(item) and (not isinstance(b.term, ir.Return)
                                               or b.term.value != _zero(item.result)):
                    out.append(_edit(mname, ii, _set_term(bi, ir.Return(_zero(item.result)))))
                for si, st in enumerate(b.stmts):
                    if _kept(item, st):
                        continue
                    out.append(_edit(mname, ii, _drop_stmt(bi, si)))
    return out


def _edit(mname: str, index: int, change: Callable[[ir.Func], ir.Func]
          ) -> Callable[[dict[str, ir.Module]], dict[str, ir.Module] | None]:
    def apply(mods: dict[str, ir.Module]) -> dict[str, ir.Module] | None:
        m = mods[mname]
        f = m.items[index]
        assert isinstance(f, ir.Func)
        items = list(m.items)
        items[index] = change(f)
        new = dict(mods)
        new[mname] = attrs.evolve(m, items=tuple(items))
        return new
    return apply


def _drop_item(mname: str, index: int
               ) -> Callable[[dict[str, ir.Module]], dict[str, ir.Module] | None]:
    def apply(mods: dict[str, ir.Module]) -> dict[str, ir.Module] | None:
        m = mods[mname]
        new = dict(mods)
        new[mname] = attrs.evolve(m, items=m.items[:index] + m.items[index + 1:])
        return new
    return apply


def _set_term(bi: int, term: ir.Terminator) -> Callable[[ir.Func], ir.Func]:
    def change(f: ir.Func) -> ir.Func:
        blocks = list(f.blocks)
        if bi < len(blocks):
            blocks[bi] = attrs.evolve(blocks[bi], term=term)
        return attrs.evolve(f, blocks=tuple(blocks))
    return change


def _closure_fun(f: ir.Func) -> bool:
    """A closure handler of the generator (progen's `ffun<k>`)."""
    return f.name.startswith("ffun")


def _kept(f: ir.Func, st: ir.Stmt) -> bool:
    """Statements a reduction keeps: the fuel decrement (what makes every reduced program
    terminate) and a closure handler's stores of its result (an unwritten result reads
    whatever the FFI stack held, which engines may legitimately differ on: NaN signs)."""
    if isinstance(st, ir.GlobalSet) and st.name == "fuel":
        return True
    return (_closure_fun(f) and isinstance(st, ir.Store) and isinstance(st.addr, ir.LocalGet)
            and st.addr.name == "ret")


def _drop_stmt(bi: int, si: int) -> Callable[[ir.Func], ir.Func]:
    def change(f: ir.Func) -> ir.Func:
        blocks = list(f.blocks)
        if bi < len(blocks) and si < len(blocks[bi].stmts):
            b = blocks[bi]
            blocks[bi] = attrs.evolve(b, stmts=b.stmts[:si] + b.stmts[si + 1:])
        return attrs.evolve(f, blocks=tuple(blocks))
    return change


def _unreachable_blocks(f: ir.Func) -> ir.Func:
    """Drop blocks no path from the entry reaches (after terminators were cut)."""
    if not f.blocks:
        return f
    by = {b.label: b for b in f.blocks}
    seen = {f.blocks[0].label}
    work = [f.blocks[0]]
    while work:
        t = work.pop().term
        targets: list[str] = []
        if isinstance(t, ir.Jump):
            targets = [t.target]
        elif isinstance(t, ir.Branch):
            targets = [t.then, t.else_]
        elif isinstance(t, ir.Switch):
            targets = [*t.targets, t.default]
        for l in targets:
            if l not in seen:
                seen.add(l)
                work.append(by[l])
    return attrs.evolve(f, blocks=tuple(b for b in f.blocks if b.label in seen))


def minimise(modules: dict[str, str], archived: Sequence[str],
             still_fails: Callable[[dict[str, str]], bool], budget: int = 400) -> dict[str, str]:
    """Greedy delta debugging: apply each reduction that keeps `still_fails` true."""
    mods = {n: parse_module(t, f"{n}.ir") for n, t in modules.items()}

    def text(ms: dict[str, ir.Module]) -> dict[str, str]:
        return {n: print_module(_clean(m)) for n, m in ms.items()}

    # Candidates are applied last first, so a success does not shift the
    # indices of the ones still to try; unreachable blocks go between passes.
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for cand in reversed(_candidates(mods)):
            if tries >= budget:
                break
            new = cand(mods)
            if new is None:
                continue
            tries += 1
            try:
                ok = still_fails(text(new))
            except GeneratorError:
                ok = False
            if ok:
                mods = new
                changed = True
        mods = {n: _clean(m) for n, m in mods.items()}
    return text(mods)


def _clean(m: ir.Module) -> ir.Module:
    return attrs.evolve(m, items=tuple(_unreachable_blocks(i) if isinstance(i, ir.Func) else i
                                       for i in m.items))


def save_regression(name: str, modules: dict[str, str], archived: Sequence[str],
                    note: str, root: Path = REGRESSIONS) -> Path:
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    for mname, text in modules.items():
        (d / f"{mname}.ir").write_text(text)
    (d / "archived").write_text("".join(f"{a}\n" for a in archived))
    (d / "NOTE").write_text(note if note.endswith("\n") else note + "\n")
    return d


def load_regression(d: Path) -> tuple[dict[str, str], list[str]]:
    modules = {p.stem: p.read_text() for p in sorted(d.glob("*.ir"))}
    archived_file = d / "archived"
    archived = archived_file.read_text().split() if archived_file.exists() else []
    return modules, archived


def env_int(name: str, default: int) -> int:
    value: Any = os.environ.get(name)
    return int(value) if value else default
