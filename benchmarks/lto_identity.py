"""Check that a speed-only change to the LTO passes keeps `--lto` output byte-identical.

    .venv/bin/python benchmarks/lto_identity.py [PROGRAM.o LIB.a ...] > new.json
    PYTHONPATH=/tmp/base .venv/bin/python benchmarks/lto_identity.py [...] > old.json
    diff old.json new.json

Prints, as JSON, a digest of every `--lto` link's wasm and of its per-entity
LTO report (`Effect.to_json`, the estimates included): each IR example
(examples/*/ without C sources) in native and trampoline tail-call mode,
with and without names, and each program given as `main.o lib.a` pairs
(e.g. a `benchmarks/gen.py` program compiled and archived as
`benchmarks/run.py` does).  Run it once with the old tree first on
PYTHONPATH (a `git worktree` of the base commit; the objects and
build/stdlib.a of this tree are used for both) and once with the new one.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import linker
from linker.driver import LinkResult

ROOT = Path(__file__).resolve().parent.parent
STDLIB = ROOT / "build" / "stdlib.a"


def digest(res: LinkResult) -> str:
    effects = {} if res.lto is None else {k: v.to_json() for k, v in res.lto.effects.items()}
    report = json.dumps(effects, sort_keys=True).encode()
    return (hashlib.sha256(res.wasm or b"").hexdigest()[:16] + "/"
            + hashlib.sha256(report).hexdigest()[:8])


def main(argv: list[str]) -> int:
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ex in sorted((ROOT / "examples").iterdir()):
            irs = sorted(ex.glob("*.ir"))
            if not irs or list(ex.glob("**/*.c")):
                continue
            objs = [*linker.compile_files(irs, Path(tmp) / ex.name), str(STDLIB)]
            for mode in ("native", "trampoline"):
                for strip in (True, False):
                    out[f"{ex.name} {mode} strip={strip}"] = digest(
                        linker.link(objs, lto=True, tail_calls=mode, strip_all=strip))
    for main_o, lib in zip(argv[0::2], argv[1::2]):
        for mode in ("native", "trampoline"):
            out[f"{main_o} {mode}"] = digest(
                linker.link([main_o, lib], lto=True, tail_calls=mode, strip_all=True))
    print(json.dumps(out, indent=0, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
