# irld: the two commands a new user runs are `make demo` and `make test`.
# Each sets up what it needs (virtual environment, package, stdlib archive) when missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
IRLD := $(VENV)/bin/irld
STAMP := $(VENV)/.installed
STDLIB_SRC := $(wildcard stdlib/*.ir)
STDLIB_ARCHIVE := build/stdlib.a

.PHONY: demo test test-pure native stdlib bench typecheck clean fuzz-lto fuzz-structure bench-html

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip >/dev/null
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

stdlib: $(STDLIB_ARCHIVE)

# The optional mypyc-compiled object reader (linker/nativebuild.py, docs/objects.md):
# built into build/native/ when missing or stale; a failed build warns and the
# pure-Python modules are used.  IRLD_PURE=1 forces the pure modules.
native: $(STAMP)
	@$(PY) -m linker.nativebuild || echo "warning: the compiled object reader was not built; irld runs pure Python"

# The object format version lives in objfile.py: a new one rebuilds the archive;
# so does a change to code generation (the objects carry generated code).
$(STDLIB_ARCHIVE): $(STAMP) $(STDLIB_SRC) linker/store/objfile.py linker/codegen.py
	@mkdir -p build/stdlib
	@rm -f build/stdlib/*.o $(STDLIB_ARCHIVE)
	$(IRLD) compile -j 2 $(STDLIB_SRC) --out-dir build/stdlib
	$(IRLD) ar $(STDLIB_ARCHIVE) build/stdlib/*.o

# The mixed IR + C examples need a C compiler for wasm32 and wasi-libc: clang and
# Debian's wasi-libc when installed, else the `ziglang` wheel from PyPI (zig cc),
# installed into the venv here.
CC_STAMP := $(VENV)/.c-toolchain

$(CC_STAMP): $(STAMP)
	{ command -v clang >/dev/null 2>&1 && test -f /usr/lib/wasm32-wasi/libc.a; } || $(PY) -c "import ziglang" 2>/dev/null || $(PY) -m pip install -q ziglang
	touch $(CC_STAMP)

demo: $(STAMP) $(STDLIB_ARCHIVE) $(CC_STAMP) native
	$(PY) -m linker.demo

test: $(STAMP) $(STDLIB_ARCHIVE) native
	$(PY) -m mypy
	$(PY) -m pytest -n 2

# The suite on the pure-Python modules (what runs where mypyc or a C compiler is missing).
test-pure: $(STAMP) $(STDLIB_ARCHIVE)
	$(PY) -m mypy
	IRLD_PURE=1 $(PY) -m pytest -n 2

typecheck: $(STAMP)
	$(PY) -m mypy

bench: $(STAMP) $(STDLIB_ARCHIVE)
	$(PY) benchmarks/run.py

# The HTML report of the 100,000-function program in Chromium; --screenshots refreshes docs/*.png.
bench-html: $(STAMP)
	$(PY) benchmarks/html_report.py --screenshots

# The long structure-aware fuzzing campaign (docs/testing.md): objects, archives and
# reports mutated in their decoded shapes, re-encoded with valid checksums.
fuzz-structure: $(STAMP) $(STDLIB_ARCHIVE)
	$(PY) benchmarks/fuzz_structure.py --count 13000 --seed 1 --jobs 2

clean:
	rm -rf build out .pytest_cache .mypy_cache

# Differential fuzzing with LTO on (docs/testing.md): 5,000 random programs, each linked
# with and without --lto in both tail-call modes, on the interpreter, wasmtime and Node.
fuzz-lto: $(STAMP) $(STDLIB_ARCHIVE)
	$(PY) benchmarks/fuzz_programs.py --count 5000 --seed 1 --jobs 2
