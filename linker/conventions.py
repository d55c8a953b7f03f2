"""Names and modes the code generator shares with the link core.

Defined here rather than in `linker.codegen` (which re-exports them) so that
the driver, the writer and the relocation loop can name them without
importing the code generator and the relooper: a link of C objects runs
neither, and importing them was a tenth of its start-up.
"""

from __future__ import annotations

import enum
from typing import Final


class TailCallMode(enum.Enum):
    """How `return_call` is emitted: natively, or through a trampoline loop."""

    NATIVE = "native"
    TRAMPOLINE = "trampoline"


PANIC_SYMBOL = "__irld_panic"
SIG_SYMBOL_PREFIX: Final = "__irld_ffi_sig:"          # + a signature key: its link-time id
