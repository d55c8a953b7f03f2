"""`irld link --source-map`: a standard v3 map from module byte offsets to IR lines.

The map is decoded by Node's own source-map implementation (`node:module`'s
`SourceMap`, the one Node applies to stack traces), not by irld's reader, and
checked against the instructions wabt's `wasm-objdump` disassembles."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from debug_util import Build, line_of

from linker import sourcemap

PROG = """module t.main

func div(a: i32, b: i32) -> i32 {
entry:
  return i32.div_s(a, b)
}

func pick(x: i32) -> i32 {
  local r: i32
entry:
  if i32.lt_s(x, 10) then small else big
small:
  r = call div(x, 2)
  return r
big:
  r = call div(x, 3)
  return r
}

func main() -> i32 {
  local r: i32
entry:
  r = call pick(7)
  i32.store(2048, r)
  return r
}
"""

NODE_DECODE = """
import { SourceMap } from 'node:module';
import { readFileSync } from 'node:fs';
const map = new SourceMap(JSON.parse(readFileSync(process.argv[2], 'utf8')));
const out = process.argv.slice(3).map(Number).map((off) => {
  const e = map.findEntry(0, off);
  return [off, e.originalSource, e.originalLine + 1, e.originalColumn + 1];
});
console.log(JSON.stringify(out));
"""


def _instructions(wasm: Path) -> dict[str, list[tuple[int, str]]]:
    """function name -> (module offset, instruction text) from wasm-objdump."""
    text = subprocess.run(["wasm-objdump", "-d", str(wasm)], capture_output=True, text=True,
                          check=True).stdout
    out: dict[str, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] = []
    for line in text.splitlines():
        head = re.match(r"^[0-9a-f]+ func\[\d+\] <(.+)>:$", line)
        if head:
            current = out.setdefault(head.group(1), [])
            continue
        ins = re.match(r"^ ([0-9a-f]+): [0-9a-f ]+\| (.*)$", line)
        if ins and not ins.group(2).startswith("local["):
            current.append((int(ins.group(1), 16), ins.group(2).strip()))
    return out


def _decode_with_node(node: str, map_path: Path, offsets: list[int]) -> list[list[object]]:
    script = map_path.parent / "decode.mjs"
    script.write_text(NODE_DECODE)
    proc = subprocess.run([node, str(script), str(map_path), *map(str, offsets)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_offsets_map_to_ir_lines(build: Build, node: str, tmp_path: Path) -> None:
    wasm = build({"t.ir": PROG}, "--source-map", "prog.wasm.map")
    ins = _instructions(wasm)
    want = {
        # (function, instruction) -> the IR line it was generated from
        ("div", "i32.div_s"): line_of(PROG, "return i32.div_s"),
        ("pick", "i32.lt_s"): line_of(PROG, "if i32.lt_s"),
        ("main", "i32.store 2 0"): line_of(PROG, "i32.store(2048"),
        ("main", "call 2 <pick>"): line_of(PROG, "r = call pick"),
    }
    offsets = []
    for (func, text), _line in want.items():
        offsets.append(next(off for off, t in ins[func] if t == text))
    # Both calls of div in pick: the first under `small`, the second under `big`.
    calls = [off for off, t in ins["pick"] if t.startswith("call 1 <div>")]
    assert len(calls) == 2
    offsets += calls
    expected = [*want.values(), line_of(PROG, "r = call div(x, 2)"),
                line_of(PROG, "r = call div(x, 3)")]
    got = _decode_with_node(node, tmp_path / "prog.wasm.map", offsets)
    assert [(src, line) for _off, src, line, _col in got] == [("t.ir", n) for n in expected]
    assert got[0][3] == 3          # `return` starts in column 3


def test_map_is_named_and_embeds_the_source(build: Build, tmp_path: Path) -> None:
    (tmp_path / "out/maps").mkdir(parents=True)
    wasm = build({"t.ir": PROG}, "--source-map", "out/maps/prog.map", out="out/prog.wasm")
    data = wasm.read_bytes()
    assert sourcemap.url_of(data) == "maps/prog.map"
    raw = json.loads((tmp_path / "out/maps/prog.map").read_text())
    assert raw["version"] == 3
    assert raw["sources"] == ["../../t.ir"]
    assert raw["sourcesContent"] == [PROG]
    subprocess.run(["wasm-validate", str(wasm)], check=True)


def test_no_map_without_the_flag(build: Build) -> None:
    wasm = build({"t.ir": PROG})
    assert sourcemap.url_of(wasm.read_bytes()) is None


def test_trampoline_mode_maps_code_generated_at_link_time(build: Build, tmp_path: Path) -> None:
    # Trampoline mode generates the code again from the objects' IR: the
    # locations travel in the IR (`irld.ir`), not in the compiled code's table.
    wasm = build({"t.ir": PROG}, "--tail-calls", "trampoline", "--source-map", "p.map")
    smap = sourcemap.SourceMap.parse((tmp_path / "p.map").read_bytes())
    ins = _instructions(wasm)
    off = next(o for o, t in ins["div"] if t == "i32.div_s")
    assert smap.lookup(off) == ("t.ir", line_of(PROG, "return i32.div_s"), 3)


def test_uncompressed_relocations_give_the_same_lines(build: Build, tmp_path: Path) -> None:
    # With --no-compress-relocations the relocation sites keep 5 bytes; with
    # the default they shrink and every later offset moves: both maps agree.
    results = []
    for flag in ("--compress-relocations", "--no-compress-relocations"):
        wasm = build({"t.ir": PROG}, flag, "--source-map", "p.map")
        smap = sourcemap.SourceMap.parse((tmp_path / "p.map").read_bytes())
        ins = _instructions(wasm)
        results.append([smap.lookup(o) for f in ("pick", "main") for o, _t in ins[f]])
    assert results[0] == results[1]
    assert None not in results[0]
