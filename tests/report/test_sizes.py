"""The report's sizes add up to the output's code and data sections.

Section sizes are parsed from the wasm bytes here, independently of the
report's own reader: the function entries' bytes plus the vector length
make the code section's payload; data entities, the panic message pool and
alignment padding make the memory image, which the segments carry less the
zero runs they skip; the segments plus their headers make the data section.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from linker.driver import LinkOptions, link
from linker.codegen import TailCallMode
from linker.report import Report, build_report
from linker.wasm.leb128 import read_uleb

from .conftest import cwd
from .program import INPUTS


def parse_sections(wasm: bytes) -> dict[int, tuple[int, int]]:
    """Section id -> (payload offset, payload size); custom sections left out."""
    out: dict[int, tuple[int, int]] = {}
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, pos = read_uleb(wasm, pos + 1)
        if sid:
            out[sid] = (pos, size)
        pos += size
    return out


def uleb_len(n: int) -> int:
    return len(bytes(_uleb(n)))


def _uleb(n: int) -> bytearray:
    from linker.wasm.leb128 import write_uleb
    buf = bytearray()
    write_uleb(buf, n)
    return buf


def check_adds_up(report: Report, wasm: bytes) -> None:
    secs = parse_sections(wasm)
    assert report.output_bytes == len(wasm)
    funcs = [e for e in report.live if e.kind == "func"]
    code_start, code_size = secs[10]
    assert uleb_len(len(funcs)) + sum(e.bytes for e in funcs) == code_size
    # Each entry sits where the report says, and is as long.
    for e in funcs:
        assert e.offset is not None
        n, after = read_uleb(wasm, e.offset)
        assert after - e.offset + n == e.bytes
        assert code_start <= e.offset < code_start + code_size
    mem = report.memory
    datas = [e for e in report.live if e.kind == "data" and e.address is not None
             and mem["data_base"] <= e.address < mem["data_end"]]
    pool = sum(p["size"] for p in report.panic_pool)
    assert pool == next((e.size for e in datas if e.name == "__irld_panic_messages"), 0)
    assert sum(e.size for e in datas) + mem["padding"] == mem["data_end"] - mem["data_base"]
    segs = mem["segments"]
    assert sum(s["size"] for s in segs) + mem["zero_bytes_skipped"] == mem["image_bytes"]
    assert sum(e.bytes for e in datas) == mem["segment_bytes"]
    if segs:
        _, data_size = secs[11]
        assert uleb_len(len(segs)) + sum(s["size"] + s["header"] for s in segs) == data_size
        for e in datas:
            if e.bytes:
                assert e.offset is not None and e.address is not None
                seg = next(s for s in segs if s["address"] <= e.address + e.size - 1
                           and e.address < s["address"] + s["size"])
                first = max(e.address, seg["address"])
                assert wasm[e.offset] == wasm[seg["offset"] + first - seg["address"]]
    # No function index or data address is claimed twice.
    indices = [e.func_index for e in report.live if e.kind == "func"]
    assert len(indices) == len(set(indices))


@pytest.mark.parametrize("mode", ["native", "trampoline"])
@pytest.mark.parametrize("exports", [(), ("twice", "apply")])
def test_sizes_add_up(program_dir: Path, mode: str, exports: tuple[str, ...]) -> None:
    with cwd(program_dir):
        options = LinkOptions(inputs=tuple(INPUTS), tail_calls=TailCallMode(mode),
                              exports=exports)
        result = link(options)
    assert result.wasm is not None
    report = build_report(result, options)
    check_adds_up(report, result.wasm)
    check_adds_up(Report.from_json(report.to_json()), result.wasm)   # and after a round trip
    names = {e.name for e in report.live}
    if mode == "trampoline":
        assert {"__irld_thunk:memcpy", "__irld_drive_i32"} <= names
        if exports:
            assert "__irld_export:apply" in names
    # Every linker function has a reason that leads to a root.
    for e in report.live:
        cur, hops = e, 0
        while cur.parent is not None and hops < 100:
            parent = report.live_entity(cur.parent)
            assert parent is not None, (e.name, cur.parent)
            assert (cur.name, cur.reason) in parent.refs, (cur.name, parent.name)
            cur, hops = parent, hops + 1
        assert cur.parent is None and cur.reason is not None
        assert any(r.symbol == cur.name for r in report.roots), cur.name


def test_counts_and_layout(prog: Path) -> None:
    report = Report.load("prog.json")
    c = report.counts
    assert c["live"] == sum(1 for e in report.live if e.input != "<linker>"
                            or e.name in ("__heap_base", "__data_end"))
    assert c["dead"] == len(report.dead)
    assert c["bodies_decoded"] == 0      # compiled code and data are copied, not decoded
    assert report.table["size"] == 3 and report.table["address_taken"] == 2
    assert [m.label for m in report.unloaded] == ["libmini.a(extra.o)"]
    totals = {t["input"]: t for t in report.input_totals()}
    assert totals["util.o"]["dead"] == 1
    assert sum(t["live_bytes"] for t in totals.values()) == sum(e.bytes for e in report.live)
