"""Bad-input fuzzing: mutated IR text, object files and archives through the irld CLI.

Every case must end in success (status 0) or a clean diagnostic (status 1):
no Python traceback (no exception escaping `linker.cli.main.main`), no
usage error, no hang (a per-case alarm), and no output file left behind when
the command failed.  Cases run in-process (`main(argv)` with stderr
captured), which is fast; `run_case_subprocess` runs one through `irld` to
check the real entry point.

Mutations:
* IR text, token level: delete, duplicate, swap or replace tokens (from a
  pool of keywords, types, op names, extreme numbers, odd strings);
* IR text, byte level: bit flips, truncation, insertion of random bytes
  (invalid UTF-8, NUL, deep nesting);
* object files and archives: bit flips, byte overwrites, truncation,
  insertion, and splices of valid files, through `irld dump`, `irld ar -t`
  and `irld link -o`.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

import attrs

from linker.cli.main import main as irld_main

TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|[A-Za-z_][A-Za-z0-9_.$]*[(:=]?|@[\w.$+-]+|'
                   r'[+-]?\d[\w.+-]*|\s+|.', re.S)
POOL = ["func", "data", "module", "local", "return", "tail", "call", "call_indirect", "jump",
        "if", "then", "else", "switch", "panic", "unreachable", "private", "readonly", "export",
        "ctor", "extern", "global", "import", "csig", "ctype", "foreign", "deferred", "i32",
        "i64", "f32", "f64", "i32.add(", "i64.load(", "f32.store(", "memory.grow(", "select(",
        "(", ")", "{", "}", "[", "]", ",", ":", "=", "->", "@", "@main", "@nowhere+4", "addr",
        "zero", "bytes", "0", "-1", "4294967296", "18446744073709551616", "1e400", "nan:0x1",
        "-0.0", "0x", "inf", "offset=4294967296", "offset=-1", '"\\x"', '"\\u{110000}"', '"',
        "x:", "entry:", "priority", "pool", "struct", "...", "sig", "\u00e9", "\0", "/*"]


class Hang(Exception):
    pass


@attrs.frozen
class CaseResult:
    status: int | None
    stderr: str
    problem: str | None   # None: the case passed


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def mutate_text(text: str, rng: random.Random) -> bytes:
    """One to three token or byte mutations of IR text."""
    data: bytes | str = text
    for _ in range(rng.randint(1, 3)):
        if isinstance(data, str) and rng.random() < 0.7:
            data = _token_mutation(data, rng)
        else:
            raw = data.encode() if isinstance(data, str) else data
            data = mutate_bytes(raw, rng)
    return data.encode() if isinstance(data, str) else data


def _token_mutation(text: str, rng: random.Random) -> str:
    toks = tokens(text)
    if not toks:
        return text + rng.choice(POOL)
    i = rng.randrange(len(toks))
    kind = rng.randrange(5)
    if kind == 0:
        del toks[i]
    elif kind == 1:
        toks.insert(i, toks[i])
    elif kind == 2:
        j = rng.randrange(len(toks))
        toks[i], toks[j] = toks[j], toks[i]
    elif kind == 3:
        toks[i] = rng.choice(POOL)
    else:
        toks.insert(i, " " + rng.choice(POOL) + " ")
    return "".join(toks)


def mutate_bytes(raw: bytes, rng: random.Random) -> bytes:
    b = bytearray(raw)
    kind = rng.randrange(6)
    if not b:
        return bytes([rng.randrange(256)])
    i = rng.randrange(len(b))
    if kind == 0:
        for _ in range(rng.randint(1, 4)):
            j = rng.randrange(len(b))
            b[j] ^= 1 << rng.randrange(8)
    elif kind == 1:
        del b[rng.randrange(len(b)):]
    elif kind == 2:
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    elif kind == 3:
        b[i] = rng.choice([0x00, 0xFF, 0x7F, 0x80, 0xC0, 0xC1, 0xDC, 0xDD, 0xDE, 0xDF, 0xCF])
    elif kind == 4:
        j = rng.randrange(len(b))
        n = rng.randint(1, 16)
        b[j:j + n] = b[i:i + n]
    else:
        n = rng.choice([2, 3, 4, 8])
        b[i:i + n] = rng.choice([b"\xff" * n, b"\x00" * n, b"\x7f" + b"\xff" * (n - 1)])
    return bytes(b)


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise Hang()
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _brief(statuses: Sequence[int]) -> str:
    return "0 or 1" if tuple(statuses) == (0, 1) else f"{min(statuses)}..{max(statuses)}"


class _Capture(io.StringIO):
    """A captured text stream with a `.buffer`, as sys.stdout has (commands that
    write bytes, such as `irld run`, use it)."""

    class _Bytes:
        def __init__(self, text: io.StringIO) -> None:
            self.text = text

        def write(self, data: bytes) -> int:
            self.text.write(data.decode("utf-8", "replace"))
            return len(data)

        def flush(self) -> None:
            pass

    @property
    def buffer(self) -> "_Capture._Bytes":
        return _Capture._Bytes(self)


def run_case(argv: Sequence[str], outputs: Sequence[Path] = (), timeout: float = 10.0,
             statuses: Sequence[int] = (0, 1)) -> CaseResult:
    """Run `irld argv` in-process and judge it (see the module docstring)."""
    for out in outputs:
        if out.exists():
            out.unlink()
    err = _Capture()
    sink = _Capture()
    status: int | None = None
    problem: str | None = None
    try:
        with _alarm(timeout), contextlib.redirect_stderr(err), contextlib.redirect_stdout(sink):
            status = irld_main(list(argv))
    except Hang:
        problem = f"hang: no answer within {timeout:g} s"
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 2
    except RecursionError:
        problem = "traceback: RecursionError escaped"
    except Exception as exc:  # noqa: BLE001 - this is what the fuzzer looks for
        import traceback
        problem = "traceback: " + "".join(traceback.format_exception(exc))[-3000:]
    stderr = err.getvalue()
    if problem is None:
        if status not in statuses:
            problem = f"exit status {status} (expected one of {_brief(statuses)})"
        elif "Traceback (most recent call last)" in stderr:
            problem = "traceback on stderr"
        elif status == 1 and not stderr.strip():
            problem = "failed without a diagnostic"
        elif "internal error" in stderr:
            # A crash caught and reworded is still a crash (a parser bug, say).
            problem = "internal error: " + stderr[-2000:]
        elif status == 1:
            left = [str(o) for o in outputs if o.exists()]
            if left:
                problem = f"output left behind after a failure: {left}"
        tmp_left = [o for out in outputs for o in out.parent.glob(f".{out.name}.*.tmp")]
        if problem is None and tmp_left:
            problem = f"temporary files left behind: {tmp_left}"
    return CaseResult(status, stderr, problem)


def run_case_subprocess(argv: Sequence[str], outputs: Sequence[Path] = (),
                        timeout: float = 30.0) -> CaseResult:
    """The same judgement through the `irld` entry point in a child process."""
    for out in outputs:
        if out.exists():
            out.unlink()
    cmd = [sys.executable, "-m", "linker.cli.main", *argv]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, text=True,
                              env={**os.environ, "PYTHONHASHSEED": "random"})
    except subprocess.TimeoutExpired:
        return CaseResult(None, "", f"hang: no answer within {timeout:g} s")
    problem = None
    if "Traceback (most recent call last)" in proc.stderr:
        problem = "traceback on stderr:\n" + proc.stderr[-3000:]
    elif proc.returncode not in (0, 1):
        problem = f"exit status {proc.returncode}"
    elif "internal error" in proc.stderr:
        problem = "internal error: " + proc.stderr[-2000:]
    elif proc.returncode == 1 and any(o.exists() for o in outputs):
        problem = "output left behind after a failure"
    return CaseResult(proc.returncode, proc.stderr, problem)


@attrs.define
class Corpus:
    """Valid inputs to mutate: IR texts, object files, archives (paths in `directory`)."""

    directory: Path
    texts: list[str]
    objects: list[Path]
    archives: list[Path]


def build_corpus(directory: Path, texts: Sequence[str]) -> Corpus:
    from linker.compile import compile_module
    from linker.ir.parser import parse_module
    from linker.store.archive import archive_bytes
    objects: list[Path] = []
    members: list[tuple[str, bytes]] = []
    for i, text in enumerate(texts):
        try:
            data = compile_module(parse_module(text, f"c{i}.ir"))
        except Exception:  # noqa: BLE001 - corpus texts that need other modules still count
            continue
        path = directory / f"c{i}.o"
        path.write_bytes(data)
        objects.append(path)
        members.append((path.name, data))
    archives = []
    for k in range(0, len(members), 3):
        path = directory / f"lib{k}.a"
        path.write_bytes(archive_bytes(members[k:k + 3]))
        archives.append(path)
    return Corpus(directory, list(texts), objects, archives)


def seed_texts(root: Path, generated: int = 6) -> list[str]:
    """The IR corpus, the stdlib, the examples and a few generated programs."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from progen import generate
    texts = [p.read_text() for pattern in ("tests/ir/corpus/*.ir", "stdlib/*.ir",
                                           "examples/*/*.ir")
             for p in sorted(root.glob(pattern))]
    for seed in range(generated):
        texts.extend(generate(seed).modules.values())
    return texts


def fuzz_case(corpus: Corpus, rng: random.Random, work: Path) -> tuple[str, CaseResult]:
    """One random bad-input case; returns (a description, the result)."""
    kind = rng.random()
    out_obj = work / "out.o"
    out_wasm = work / "out.wasm"
    if kind < 0.55:
        src = work / "in.ir"
        src.write_bytes(mutate_text(rng.choice(corpus.texts), rng))
        res = run_case(["compile", str(src), "-o", str(out_obj)], [out_obj])
        if res.problem is None and res.status == 0 and rng.random() < 0.5:
            others = [str(o) for o in corpus.objects[:3]]
            res = run_case(["link", str(out_obj), *others, "--no-entry", "-o", str(out_wasm)],
                           [out_wasm])
            return f"link of compiled mutant of IR text {src}", res
        return f"compile of mutated IR text {src}", res
    if kind < 0.85:
        obj = work / "bad.o"
        base = rng.choice(corpus.objects).read_bytes()
        if rng.random() < 0.15:
            other = rng.choice(corpus.objects).read_bytes()
            cut = rng.randrange(len(base))
            base = base[:cut] + other[rng.randrange(len(other)):]
        raw = base
        for _ in range(rng.randint(1, 3)):
            raw = mutate_bytes(raw, rng)
        obj.write_bytes(raw)
        if rng.random() < 0.5:
            return "dump of mutated object", run_case(
                ["dump", str(obj)] + (["--index-only"] if rng.random() < 0.3 else []))
        others = [str(o) for o in rng.sample(corpus.objects, min(2, len(corpus.objects)))]
        return "link of mutated object", run_case(
            ["link", str(obj), *others, "--no-entry", "-o", str(out_wasm)], [out_wasm])
    lib = work / "bad.a"
    raw = rng.choice(corpus.archives).read_bytes()
    for _ in range(rng.randint(1, 3)):
        raw = mutate_bytes(raw, rng)
    lib.write_bytes(raw)
    if rng.random() < 0.4:
        return "ar -t of mutated archive", run_case(["ar", "-t", str(lib)])
    obj = rng.choice(corpus.objects)
    return "link with mutated archive", run_case(
        ["link", str(obj), str(lib), "--no-entry", "-o", str(out_wasm)], [out_wasm])
