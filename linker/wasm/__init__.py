"""irld's own WebAssembly binary encoder and WAT printer (wasm spec chapters 5-7).

Public surface:

* `WasmModule` and its items (`module.py`): the module as it will be written;
* `InstrBuilder`, `decode_body`, `encode_instrs` (`instr.py`): function bodies as bytes;
* `encode_module` (`encode.py`): the binary;
* `to_wat` (`wat.py`): the text dump;
* `leb128`: the integer encodings.
"""

from linker.wasm.encode import SECTION_IDS, EncodeError, encode_module
from linker.wasm.instr import (
    CONTROL_OPCODES, FloatBits, Instr, InstrBuilder, decode_body, encode_instrs,
)
from linker.wasm.module import (
    CustomSection, DataSegment, ElementSegment, Export, ExternKind, FuncImport, Function,
    Global, Memory, Table, WasmModule,
)
from linker.wasm.wat import to_wat

__all__ = [
    "SECTION_IDS", "EncodeError", "encode_module", "CONTROL_OPCODES", "FloatBits", "Instr",
    "InstrBuilder", "decode_body", "encode_instrs", "CustomSection", "DataSegment",
    "ElementSegment", "Export", "ExternKind", "FuncImport", "Function", "Global", "Memory",
    "Table", "WasmModule", "to_wat",
]
