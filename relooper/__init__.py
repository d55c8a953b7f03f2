"""irld's relooper: control-flow graphs to structured wasm control flow.

Build a ``CFG`` of blocks with opaque payloads and terminators, then call
``structure(cfg)`` for a function body made of the ``tree`` node classes
(``Block``, ``Loop``, ``If``, ``Br``, ``BrIf``, ``BrTable``, ``Code``,
``Exit``, ``SetDispatch``) whose branch depths are wasm's relative label
indices.  Reducible graphs are structured by Ramsey's dominator-tree
algorithm (``structuring.py``), irreducible ones first get a dispatch
variable (``irreducible.py``).  ``structure_naive`` is Asterius's
one-loop dispatcher, kept as a baseline.

This package imports nothing outside the standard library and attrs.
"""

from relooper.cfg import CFG, Branch, Jump, Switch, Terminate, Terminator
from relooper.naive import structure_naive
from relooper.structuring import structure
from relooper.tree import (
    DISPATCH,
    Block,
    BlockStart,
    Br,
    BrIf,
    BrTable,
    Code,
    Else,
    End,
    Exit,
    If,
    IfStart,
    Instr,
    Loop,
    LoopStart,
    Node,
    SetDispatch,
    instructions,
    max_nesting,
    tree_repr,
    uses_dispatch,
)

__all__ = [
    "CFG",
    "DISPATCH",
    "Block",
    "BlockStart",
    "Br",
    "BrIf",
    "BrTable",
    "Branch",
    "Code",
    "Else",
    "End",
    "Exit",
    "If",
    "IfStart",
    "Instr",
    "Jump",
    "Loop",
    "LoopStart",
    "Node",
    "SetDispatch",
    "Switch",
    "Terminate",
    "Terminator",
    "instructions",
    "max_nesting",
    "structure",
    "structure_naive",
    "tree_repr",
    "uses_dispatch",
]
