"""The FFI tests import their helpers by basename (cmodel, ffi_programs, ffi_util)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
