"""Memory, table and message-pool layout of a linked program.

Memory (after lld's wasm writer and Asterius's lessons): address 0 is null
and `[0, data_base)` never holds data (default 1024).  Read-only data comes
first, then writable data; inside each group items are ordered by decreasing
alignment, then link order, which keeps padding small and the order
deterministic.  The panic message pool is read-only data too.  `__data_end`
is the end of the last item and `__heap_base` the next 16-byte boundary.

Segments: the memory image is cut only at runs of at least `ZERO_GAP` zero
bytes (memory starts zeroed, so zeros need not be shipped); a program gets a
handful of segments, never one per symbol (Asterius's one-segment-per-item
broke V8's 100,000-segment limit, issue #388).

Table: slot 0 is the null function pointer; each address-taken live
function gets one slot, in link order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import attrs

PAGE = 65536
MAX_PAGES = 65536      # wasm32: 4 GiB
ZERO_GAP = 32          # a zero run this long is cheaper skipped than encoded
# --lto cuts near the break-even instead: a new segment's header (flags,
# `i32.const` address, `end`, size) is 6 bytes below address 8 KiB and 7 below
# 1 MiB, so a run of 7 zeros or more costs no more skipped than shipped (the
# examples measured: 7 is smallest, docs/benchmarks.md round 6).
LTO_ZERO_GAP = 7
_NONZERO = re.compile(rb"[^\x00]")
HEAP_ALIGN = 16


def align_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a


@attrs.define(slots=True)
class MemoryLayout:
    data_base: int
    addresses: dict[str, int]        # data symbol -> address
    order: list[str]                 # data symbols in address order
    readonly_end: int                # end of the read-only group
    data_end: int
    heap_base: int
    pool: dict[str, int]             # pooled string -> address
    pool_start: int
    pool_end: int
    initial_pages: int
    max_pages: int | None
    stack_top: int = 0               # __stack_pointer's initial value (0: no stack)
    stack_low: int = 0               # the lowest address of the stack

    def linker_symbols(self) -> dict[str, int]:
        """The addresses of the data symbols the linker defines (wasm-ld's names):
        the end of the data, the heap's start, the start of the data
        (`__dso_handle`, `__global_base`) and the stack's bounds."""
        return {"__heap_base": self.heap_base, "__data_end": self.data_end,
                "__dso_handle": self.data_base, "__global_base": self.data_base,
                "__stack_low": self.stack_low, "__stack_high": self.stack_top}


class Placeable(Protocol):
    """What layout needs of a data item (IR data, or a data segment of an object)."""

    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def align(self) -> int: ...
    @property
    def readonly(self) -> bool: ...


def layout_memory(datas: Sequence[Placeable], pool_strings: Sequence[str], *,
                  data_base: int = 1024, extra_rw: Sequence[tuple[str, int, int]] = (),
                  initial_memory: int | None = None, max_memory: int | None = None,
                  stack_size: int = 0, stack_first: bool = False) -> MemoryLayout:
    """Assign addresses.  `extra_rw` are linker-owned (name, size, align) areas;
    a `stack_size` reserves C's stack, 16-byte aligned, growing down from
    `stack_top`: after the data (wasm-ld's default place), or with
    `stack_first` from address 0 up, the data after it, so an overflow leaves
    memory and traps instead of overwriting data (wasm-ld's `--stack-first`)."""
    ro = [d for d in datas if d.readonly]
    rw = [d for d in datas if not d.readonly]
    addresses: dict[str, int] = {}
    order: list[str] = []
    stack_top = align_up(stack_size, HEAP_ALIGN) if stack_size and stack_first else 0
    data_base = max(data_base, stack_top)
    addr = data_base
    for d in _by_alignment(ro):
        addr = align_up(addr, d.align)
        addresses[d.name] = addr
        order.append(d.name)
        addr += d.size
    pool: dict[str, int] = {}
    pool_start = addr
    for s in pool_strings:
        if s not in pool:
            pool[s] = addr
            addr += len(s.encode("utf-8"))
    pool_end = addr
    readonly_end = addr
    for d in _by_alignment(rw):
        addr = align_up(addr, d.align)
        addresses[d.name] = addr
        order.append(d.name)
        addr += d.size
    for name, size, align in extra_rw:
        addr = align_up(addr, align)
        addresses[name] = addr
        addr += size
    data_end = addr
    if stack_size and not stack_first:
        stack_top = align_up(align_up(data_end, HEAP_ALIGN) + stack_size, HEAP_ALIGN)
        addr = stack_top
    heap_base = align_up(addr, HEAP_ALIGN)
    pages = max(1, -(-heap_base // PAGE))
    _check_fits(heap_base, pages, initial_memory, max_memory)
    if initial_memory is not None:
        pages = initial_memory // PAGE
    max_pages = None if max_memory is None else max_memory // PAGE
    return MemoryLayout(data_base, addresses, order, readonly_end, data_end, heap_base,
                        pool, pool_start, pool_end, pages, max_pages, stack_top,
                        stack_top - align_up(stack_size, HEAP_ALIGN) if stack_size else 0)


class LayoutError(Exception):
    """The program's memory cannot be laid out within the limits asked for."""


def _check_fits(heap_base: int, pages: int, initial: int | None, maximum: int | None) -> None:
    # Checked like wasm-ld: the module must be valid, so a layout that does not
    # fit is a link error, never a module an engine would refuse.
    if heap_base > MAX_PAGES * PAGE:
        raise LayoutError(f"data does not fit in the 4 GiB address space: it ends at "
                          f"{heap_base:#x}")
    if initial is not None and initial < pages * PAGE:
        raise LayoutError(f"initial memory too small: {initial} bytes, the data needs "
                          f"{pages * PAGE} ({pages} pages)")
    lowest = initial if initial is not None else pages * PAGE
    if maximum is not None and maximum < lowest:
        raise LayoutError(f"maximum memory too small: {maximum} bytes, the initial memory "
                          f"is {lowest} bytes")


def _by_alignment(ds: Sequence[Placeable]) -> list[Placeable]:
    # sorted() is stable: equal alignments keep link order.
    return sorted(ds, key=lambda d: -d.align)


def split_segments(base: int, image: bytes | bytearray) -> list[tuple[int, bytes]]:
    """Cut the memory image starting at `base` into (offset, bytes) segments,
    skipping zero runs of at least ZERO_GAP bytes and trailing zeros."""
    return segments_of_chunks([(base, bytes(image))])


def segments_of_chunks(chunks: Sequence[tuple[int, bytes]],
                       gap: int = ZERO_GAP) -> list[tuple[int, bytes]]:
    """The segments of a sparse memory image given as (address, bytes) chunks that
    do not overlap (everything else is zero), as `split_segments` cuts a whole
    image: the image is never materialised, so a 2 GiB zero fill costs nothing.

    Chunks closer than `gap` (ZERO_GAP) are joined (their gap cannot be a cut),
    each group is cut at its zero runs with `bytes.find`/`strip` (C loops, never
    a Python loop per byte); a gap of `gap` or more is a cut anyway."""
    segments: list[tuple[int, bytes]] = []
    group: list[tuple[int, bytes]] = []
    end = 0
    for addr, raw in sorted((c for c in chunks if c[1]), key=lambda c: c[0]):
        if group and addr - end >= gap:
            segments += _cut(group, gap)
            group = []
        group.append((addr, raw))
        end = addr + len(raw)
    if group:
        segments += _cut(group, gap)
    return segments


def _cut(group: list[tuple[int, bytes]], gap: int) -> list[tuple[int, bytes]]:
    """Cut one group of nearby chunks at its zero runs of `gap` bytes or more."""
    start = group[0][0]
    image = bytearray(group[-1][0] + len(group[-1][1]) - start)
    for addr, raw in group:
        image[addr - start:addr - start + len(raw)] = raw
    out: list[tuple[int, bytes]] = []
    zero_run = bytes(gap)
    n = len(image)
    i = 0
    while i < n:
        found = _NONZERO.search(image, i)
        if found is None:
            break
        i = found.start()
        gap = image.find(zero_run, i)
        stop = n if gap < 0 else gap
        stop = i + len(image[i:stop].rstrip(b"\0"))
        out.append((start + i, bytes(image[i:stop])))
        i = stop
    return out


@attrs.define(slots=True)
class TableLayout:
    slots: dict[str, int]        # function symbol -> table index
    order: list[str]             # symbols by slot (slot i+1 = order[i])
    size: int                    # including the null slot 0


def layout_table(address_taken: Sequence[str], reserved_after: int = 0) -> TableLayout:
    """Slot 0 null, then one slot per address-taken function, then `reserved_after` slots."""
    slots: dict[str, int] = {}
    order: list[str] = []
    for sym in address_taken:
        if sym not in slots:
            slots[sym] = len(order) + 1
            order.append(sym)
    return TableLayout(slots, order, len(order) + 1 + reserved_after)
