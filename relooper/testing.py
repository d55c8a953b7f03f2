"""Support for testing and measuring the relooper (standard library only).

In the spirit of binaryen's ``scripts/fuzz_relooper.py``: a random graph
(``Spec``) is a list of terminators over blocks 0..n-1; running it consumes
a list of branch decisions, one per ``Branch``/``Switch`` executed, and
records the block trace.  ``reference_trace`` walks the graph in Python;
``wat_function`` prints a structured tree as a WAT function whose blocks call
the imports ``trace(id)`` and ``next() -> i32`` so that wasm produces the
same trace.  Also here: T1/T2 reducibility (Hecht and Ullman), an
independent check of the relooper's own test, and a byte encoder of the
control instructions for code-size metrics.

Spec terminators (JSON-friendly lists):
``["jump", t]``, ``["branch", t, f]`` (decision odd -> t),
``["switch", [[t, [values...]], ...], default, modulus]`` (index is
decision mod modulus), ``["exit"]``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from relooper.cfg import CFG
from relooper.tree import (
    DISPATCH,
    BlockStart,
    Br,
    BrIf,
    BrTable,
    Code,
    Else,
    End,
    Exit,
    IfStart,
    LoopStart,
    Node,
    SetDispatch,
    instructions,
)

Spec = list[list[Any]]


# -- Random graphs ---------------------------------------------------------


def random_spec(rng: random.Random, size: int, switches: bool) -> Spec:
    """A random graph of ``size`` blocks, one of three styles: targets
    anywhere (mostly irreducible), forward edges plus back edges to
    dominators (reducible), or forward edges plus arbitrary back edges."""
    style = rng.choice(("anywhere", "reducible", "loose"))
    exit_rate = rng.uniform(0.005, 0.12)
    switch_rate = rng.uniform(0.1, 0.5) if switches else 0.0
    back_rate = rng.uniform(0.0, 0.5)
    spec: Spec = []
    for block in range(size):
        spec.append(_random_term(rng, block, size, style, exit_rate, switch_rate))
    if style == "reducible":
        _add_back_edges_to_dominators(rng, spec, back_rate)
    elif style == "loose":
        _add_back_edges(rng, spec, back_rate)
    return spec


def _random_term(
    rng: random.Random, block: int, size: int, style: str, exit_rate: float, switch_rate: float
) -> list[Any]:
    if block == size - 1 or rng.random() < exit_rate:
        return ["exit"]
    low = 0 if style == "anywhere" else block + 1

    def pick() -> int:
        if style != "anywhere" and rng.random() < 0.6:
            return min(size - 1, block + rng.randint(1, 3))  # keep code local
        return rng.randint(low, size - 1)

    roll = rng.random()
    if roll < switch_rate:
        return _random_switch(rng, pick)
    if roll < switch_rate + 0.45:
        return ["branch", pick(), pick()]
    return ["jump", pick()]


def _random_switch(rng: random.Random, pick: Any) -> list[Any]:
    values = list(range(rng.randint(1, 8)))
    rng.shuffle(values)
    cases: dict[int, list[int]] = {}
    for value in values[: rng.randint(0, len(values))]:
        cases.setdefault(pick(), []).append(value)
    modulus = len(values) + rng.randint(0, 2)
    return ["switch", [[t, sorted(v)] for t, v in cases.items()], pick(), modulus]


def _retarget(rng: random.Random, term: list[Any], target: int) -> None:
    """Point one random out-edge of ``term`` at ``target``."""
    if term[0] == "jump":
        term[1] = target
    elif term[0] == "branch":
        term[rng.randint(1, 2)] = target
    elif term[0] == "switch":
        if term[1] and rng.random() < 0.7:
            rng.choice(term[1])[0] = target
        else:
            term[2] = target
        _merge_cases(term)


def _merge_cases(term: list[Any]) -> None:
    merged: dict[int, list[int]] = {}
    for target, values in term[1]:
        merged.setdefault(target, []).extend(values)
    term[1] = [[t, sorted(v)] for t, v in merged.items()]


def _add_back_edges(rng: random.Random, spec: Spec, rate: float) -> None:
    for block, term in enumerate(spec):
        if block > 0 and term[0] != "exit" and rng.random() < rate:
            _retarget(rng, term, rng.randint(0, block))


def _add_back_edges_to_dominators(rng: random.Random, spec: Spec, rate: float) -> None:
    # The forward edges form a DAG; a back edge to a DAG dominator of its
    # source keeps the graph reducible.  Retargeting drops a forward edge,
    # which can only add dominators, so earlier choices stay valid.
    for block in range(len(spec) - 1, 0, -1):
        term = spec[block]
        if term[0] == "exit" or rng.random() >= rate:
            continue
        doms = sorted(_dag_dominators(spec).get(block, set()))
        if doms:
            _retarget(rng, term, rng.choice(doms))


def _dag_dominators(spec: Spec) -> dict[int, set[int]]:
    """Dominators of the forward edges only (blocks reachable from 0), by
    the textbook set equations; blocks are already topologically ordered."""
    preds: dict[int, list[int]] = {}
    for block, term in enumerate(spec):
        for target in spec_successors(term):
            if target > block:
                preds.setdefault(target, []).append(block)
    doms: dict[int, set[int]] = {0: {0}}
    for block in range(1, len(spec)):
        known = [doms[p] for p in preds.get(block, []) if p in doms]
        if known:
            doms[block] = set.intersection(*known) | {block}
    return doms


def random_decisions(rng: random.Random) -> list[int]:
    return [rng.randint(0, 1000) for _ in range(rng.randint(1, 40))]


# -- Specs as CFGs, and the reference interpreter --------------------------


def spec_successors(term: Sequence[Any]) -> list[int]:
    if term[0] == "jump":
        return [term[1]]
    if term[0] == "branch":
        return [term[1], term[2]]
    if term[0] == "switch":
        return [t for t, _ in term[1]] + [term[2]]
    return []


def spec_to_cfg(spec: Spec) -> CFG:
    """The CFG of ``spec``.  Payloads name their block: block ``b`` holds
    ``"b<b>"``, its cond is ``"c<b>"``, its switch index ``("i<b>",
    modulus)`` and its exit ``"x<b>"``."""
    cfg = CFG()
    for block in range(len(spec)):
        cfg.add_block(f"b{block}")
    for block, term in enumerate(spec):
        if term[0] == "jump":
            cfg.set_jump(block, term[1])
        elif term[0] == "branch":
            cfg.set_branch(block, f"c{block}", term[1], term[2])
        elif term[0] == "switch":
            cases = {t: v for t, v in term[1]}
            cfg.set_switch(block, (f"i{block}", term[3]), cases, default=term[2])
        else:
            cfg.set_exit(block, f"x{block}")
    return cfg


def reference_trace(spec: Spec, decisions: Sequence[int], budget: int) -> tuple[list[int], bool]:
    """Run ``spec`` for at most ``budget`` blocks; return the trace and
    whether it reached an exit (False: the budget ran out)."""
    trace: list[int] = []
    used = 0
    block = 0
    while len(trace) < budget:
        trace.append(block)
        term = spec[block]
        if term[0] == "exit":
            return trace, True
        if term[0] == "jump":
            block = term[1]
            continue
        decision = decisions[used % len(decisions)]
        used += 1
        block = _choose(term, decision)
    return trace, False


def _choose(term: Sequence[Any], decision: int) -> int:
    if term[0] == "branch":
        return int(term[1] if decision & 1 else term[2])
    value = decision % term[3]
    for target, values in term[1]:
        if value in values:
            return int(target)
    return int(term[2])


# -- A tree interpreter: a fast oracle without wasm ---------------------------


def run_tree(tree: Sequence[Node], spec: Spec, decisions: Sequence[int], budget: int) -> tuple[list[int], bool]:
    """Execute a structured tree of a ``spec_to_cfg`` graph with wasm's
    control semantics; same result shape as ``reference_trace``."""
    code = list(instructions(tree))
    partner = _partners(code)
    labels: list[int] = []  # instruction index of each open construct's start
    trace: list[int] = []
    used = 0
    pc = 0
    dispatch = -1
    while pc < len(code):
        instr = code[pc]
        pc += 1
        match instr:
            case Code(block_id=block):
                if len(trace) >= budget:
                    return trace, False
                trace.append(block)
            case BlockStart() | LoopStart():
                labels.append(pc - 1)
            case IfStart():
                taken = decisions[used % len(decisions)] & 1
                used += 1
                labels.append(pc - 1)
                if not taken:
                    pc = partner[pc - 1] + 1  # past the else, or past the end
                    if isinstance(code[pc - 1], End):
                        labels.pop()
            case Else():
                pc = partner[pc - 1] + 1  # then-arm done: skip the else-arm
                labels.pop()
            case End():
                labels.pop()
            case Br(depth=depth):
                pc = _branch(code, partner, labels, depth)
            case BrIf(depth=depth):
                taken = decisions[used % len(decisions)] & 1
                used += 1
                if taken:
                    pc = _branch(code, partner, labels, depth)
            case BrTable(index=index, depths=depths, default=default):
                if index is DISPATCH:
                    assert dispatch >= 0, "dispatch variable read before any write"
                    value = dispatch
                else:
                    assert isinstance(index, tuple)
                    value = decisions[used % len(decisions)] % index[1]
                    used += 1
                pc = _branch(code, partner, labels, depths[value] if value < len(depths) else default)
            case SetDispatch(value=value):
                dispatch = value
            case Exit():
                return trace, True
    raise AssertionError("fell off the end of the function")


def _partners(code: Sequence[object]) -> dict[int, int]:
    """Start -> its End (If: its Else when there is one); Else -> its End."""
    partner: dict[int, int] = {}
    open_: list[int] = []
    for position, instr in enumerate(code):
        if isinstance(instr, (BlockStart, LoopStart, IfStart)):
            open_.append(position)
        elif isinstance(instr, Else):
            partner[open_[-1]] = position
            open_[-1] = position
        elif isinstance(instr, End):
            start = open_.pop()  # a block, loop, else, or an if with no else
            partner[start] = position
    return partner


def _branch(code: Sequence[object], partner: dict[int, int], labels: list[int], depth: int) -> int:
    target = labels[len(labels) - 1 - depth]
    del labels[len(labels) - 1 - depth :]
    if isinstance(code[target], LoopStart):
        labels.append(target)
        return target + 1
    return _end_of(code, partner, target) + 1


def _end_of(code: Sequence[object], partner: dict[int, int], start: int) -> int:
    position = partner[start]
    while not isinstance(code[position], End):
        position = partner[position]
    return position


# -- WAT --------------------------------------------------------------------

WAT_IMPORTS = (
    '  (import "env" "trace" (func $trace (param i32)))\n'
    '  (import "env" "next" (func $next (result i32)))\n'
)


def wat_function(tree: Sequence[Node], name: str) -> str:
    """The tree as an exported WAT function for a ``spec_to_cfg`` graph."""
    lines = [f'  (func ${name} (export "{name}") (local $dispatch i32)']
    indent = 2
    for instr in instructions(tree):
        if isinstance(instr, (End, Else)):
            indent -= 1
        lines.append("  " * indent + _wat_instr(instr))
        if isinstance(instr, (BlockStart, LoopStart, IfStart, Else)):
            indent += 1
    lines.append("  )")
    return "\n".join(lines)


def wat_module(functions: Sequence[str]) -> str:
    return "(module\n" + WAT_IMPORTS + "\n".join(functions) + "\n)\n"


def _wat_instr(instr: object) -> str:
    match instr:
        case Code(block_id=block):
            return f"i32.const {block} call $trace"
        case BlockStart():
            return "block"
        case LoopStart():
            return "loop"
        case IfStart():
            return "call $next i32.const 1 i32.and if"
        case Else():
            return "else"
        case End():
            return "end"
        case Br(depth=depth):
            return f"br {depth}"
        case BrIf(depth=depth):
            return f"call $next i32.const 1 i32.and br_if {depth}"
        case BrTable(index=index, depths=depths, default=default):
            targets = " ".join(str(d) for d in (*depths, default))
            return f"{_wat_index(index)} br_table {targets}"
        case Exit():
            return "return"
        case SetDispatch(value=value):
            return f"i32.const {value} local.set $dispatch"
    raise AssertionError(f"not an instruction: {instr!r}")


def _wat_index(index: object) -> str:
    if index is DISPATCH:
        return "local.get $dispatch"
    assert isinstance(index, tuple), f"not a spec_to_cfg switch index: {index!r}"
    return f"call $next i32.const {index[1]} i32.rem_u"


# -- Measurements -------------------------------------------------------------


def control_bytes(tree: Sequence[Node], payload_size: int = 1) -> int:
    """Size in bytes of the tree's wasm control instructions: block, loop,
    if (with an empty block type), else, end, br, br_if, br_table with
    LEB128 immediates, the dispatch variable's ``i32.const``/``local.set``
    and ``local.get`` (a one-byte local index); each payload (code, cond,
    index, exit) counts ``payload_size``."""
    total = 0
    for instr in instructions(tree):
        match instr:
            case BlockStart() | LoopStart():
                total += 2
            case IfStart():
                total += 2 + payload_size
            case Else() | End():
                total += 1
            case Br(depth=depth):
                total += 1 + uleb128_size(depth)
            case BrIf(depth=depth):
                total += 1 + uleb128_size(depth) + payload_size
            case BrTable(index=index, depths=depths, default=default):
                total += 1 + uleb128_size(len(depths))
                total += sum(uleb128_size(d) for d in (*depths, default))
                total += 2 if index is DISPATCH else payload_size
            case SetDispatch(value=value):
                total += 1 + sleb128_size(value) + 2
            case Code() | Exit():
                total += payload_size
    return total


def uleb128_size(value: int) -> int:
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def sleb128_size(value: int) -> int:
    size = 1
    while not -0x40 <= value < 0x40:
        value >>= 7
        size += 1
    return size


def count_dispatch_writes(tree: Sequence[Node]) -> int:
    return sum(1 for instr in instructions(tree) if isinstance(instr, SetDispatch))


def check_depths(tree: Sequence[Node]) -> None:
    """AssertionError unless every branch targets an enclosing label."""
    depth = 0
    for instr in instructions(tree):
        match instr:
            case BlockStart() | LoopStart() | IfStart():
                depth += 1
            case End():
                depth -= 1
            case Br(depth=d) | BrIf(depth=d):
                assert 0 <= d < depth, f"br {d} with {depth} labels"
            case BrTable(depths=depths, default=default):
                assert all(0 <= d < depth for d in (*depths, default)), f"br_table with {depth} labels"


def is_reducible(spec: Spec) -> bool:
    """Hecht-Ullman T1/T2 reduction of the part reachable from block 0:
    remove self loops (T1), merge a node with a single predecessor into it
    (T2); the graph is reducible iff one node remains."""
    succs = _reachable_succs(spec)
    preds: dict[int, set[int]] = {n: set() for n in succs}
    for node, targets in succs.items():
        for target in targets:
            preds[target].add(node)
    work = list(succs)
    while work:
        node = work.pop()
        if node not in succs or node == 0:
            continue
        preds[node].discard(node)
        succs[node].discard(node)
        if len(preds[node]) == 1:
            _merge_into(node, next(iter(preds[node])), succs, preds, work)
    return len(succs) == 1


def _reachable_succs(spec: Spec) -> dict[int, set[int]]:
    succs: dict[int, set[int]] = {}
    stack = [0]
    while stack:
        node = stack.pop()
        if node in succs:
            continue
        succs[node] = set(spec_successors(spec[node]))
        stack.extend(succs[node])
    return succs


def _merge_into(
    node: int, into: int, succs: dict[int, set[int]], preds: dict[int, set[int]], work: list[int]
) -> None:
    for target in succs.pop(node):
        preds[target].discard(node)
        if target != node:
            preds[target].add(into)
            succs[into].add(target)
        work.append(target)
    succs[into].discard(node)
    del preds[node]
    work.append(into)
