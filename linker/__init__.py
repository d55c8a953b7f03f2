"""irld: a whole-program WebAssembly linker (see DESIGN in the README)."""

__version__ = "0.1.0"
