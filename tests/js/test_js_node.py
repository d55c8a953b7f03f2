"""The JS loader (`irld link --emit-js` / `-o prog.mjs`) under Node: the stub run as a command
behaves as `irld run`, and used as a library (harness.mjs) gives the documented API."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import linker.host
from js_util import EXAMPLE_DIRS, example, Example, Site, node_api
from linker.jsloader import RUNTIME_DTS, RUNTIME_FILES, RUNTIME_JS

IRLD = str(Path(sys.executable).with_name("irld"))
NAMES = [d.name for d in EXAMPLE_DIRS]


def node_cmd(node: str, site: Site, name: str, *args: str,
             stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([node, f"{name}.mjs", *args], cwd=site.dir, input=stdin,
                          capture_output=True, timeout=120, check=False)


@pytest.mark.parametrize("name", NAMES)
def test_node_runs_the_stub_as_the_command(site: Site, node: str, name: str) -> None:
    ex = example(site.examples, name)
    proc = node_cmd(node, site, name, *ex.args)
    assert (proc.returncode, proc.stdout, proc.stderr) == (ex.status, ex.expected, b"")


def test_panic_as_a_command_matches_irld_run_on_node(site: Site, node: str) -> None:
    mine = node_cmd(node, site, "panic")
    theirs = subprocess.run([IRLD, "run", "--engine", "node", "panic.wasm"], cwd=site.dir,
                            capture_output=True, timeout=120)
    assert (mine.returncode, mine.stdout, mine.stderr) == \
        (theirs.returncode, theirs.stdout, theirs.stderr)
    assert mine.returncode == 134 and mine.stdout == b"before the panic\n"
    assert mine.stderr == (b"panic in explode: x is too large\nerror: panic\n"
                           b"  at explode\n  at main\n  at _start\n")


def test_trap_as_a_command_matches_irld_run(site: Site, node: str) -> None:
    mine = node_cmd(node, site, "trap")
    want = (134, b"", b"error: wasm trap: integer divide by zero\n  at divide\n  at main\n"
                      b"  at _start\n")
    assert (mine.returncode, mine.stdout, mine.stderr) == want
    for engine in ("wasmtime", "node"):
        theirs = subprocess.run([IRLD, "run", "--engine", engine, "trap.wasm"],
                                cwd=site.dir, capture_output=True, timeout=120)
        assert (theirs.returncode, theirs.stdout, theirs.stderr) == want


def test_stdin_argv_and_exit_status(site: Site, node: str) -> None:
    proc = node_cmd(node, site, "echo", stdin=b"hello, stdin\n")
    assert (proc.returncode, proc.stdout, proc.stderr) == (42, b"HELLO, STDIN\n", b"")
    fib = node_cmd(node, site, "fib", "11")
    assert (fib.returncode, fib.stdout) == (0, b"fib(11) = 89\n")


def test_closure_pool_grows_in_the_js_runtime_and_wasmtime(site: Site, node: str) -> None:
    proc = node_cmd(node, site, "grow")
    want = b"int closures sum: 20190\ndouble closures sum: 400\n"
    assert (proc.returncode, proc.stdout, proc.stderr) == (80, want, b"")
    # --emit-js implies --closure-growth=host: irld run grows the same pools
    run = linker.host.run(str(site.dir / "grow.wasm"), ["grow"], capture=True)
    assert (run.exit_code, run.stdout) == (80, want)


def test_missing_foreign_import_is_reported(site: Site, node: str) -> None:
    proc = node_cmd(node, site, "foreign")
    assert proc.returncode == 1
    assert proc.stderr.decode().endswith("foreign.wasm: error: unknown imports: host.greet, "
                                         "host.twice\n")


def test_api_foreign_imports_and_exports(site: Site, node: str) -> None:
    r = node_api(node, site, "foreign", foreign=True)
    assert r["status"] == 3
    assert r["stdout"] == "greet returned 4294967294\ntwice returned -42\n"
    # the JS function saw a C string, an unsigned number and a BigInt
    assert r["seen"] == ["hello from wasm", 4294967295, "-5000000000n", "bigint"]
    assert r["exports"] == [3000000000, "4611686018427387909n", 15.0, 16, [6, 2.5]]


def test_api_panic_is_a_js_error(site: Site, node: str) -> None:
    r = node_api(node, site, "panic")
    assert r["error"] == {"name": "PanicError", "message": "panic in explode: x is too large",
                          "function": "explode", "reason": "x is too large", "isError": True}
    assert r["stdout"] == "before the panic\n"
    assert r["stderr"] == "panic in explode: x is too large\n"


def test_api_exit_status_stdin_and_files(site: Site, node: str) -> None:
    r = node_api(node, site, "echo", stdin="abc")
    assert (r["status"], r["stdout"]) == (42, "ABC")
    r = node_api(node, site, "files", files={"/data/in.txt": "from the page\n"})
    assert (r["status"], r["stdout"], r["stderr"]) == (0, "from the page\n", "")
    assert r["files"] == {"data/in.txt": "from the page\n", "out.txt": "written by wasm"}
    # without files there is no preopened directory: path_open fails with EBADF (8)
    assert node_api(node, site, "files")["status"] == 8


def test_api_args(site: Site, node: str) -> None:
    r = node_api(node, site, "fib", args=["fib", "15"])
    assert (r["status"], r["stdout"]) == (0, "fib(15) = 610\n")


def test_link_to_mjs_writes_the_loader(examples: dict[str, Example], tmp_path: Path,
                                       node: str) -> None:
    ex = examples["callbacks"]
    out = tmp_path / "web" / "cb.mjs"
    out.parent.mkdir()
    proc = subprocess.run([IRLD, "link", *ex.objects, "-o", str(out)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "cb.d.mts", "cb.mjs", "cb.wasm", "irld-command.mjs", "irld-runtime.d.mts",
        "irld-runtime.mjs", "irld-trap.mjs"]
    for f in RUNTIME_FILES:
        assert (out.parent / f.name).read_bytes() == f.read_bytes()
    first = out.read_bytes()
    # the wasm elsewhere: the stub finds it by a relative URL
    wasm = tmp_path / "bin" / "cb.wasm"
    wasm.parent.mkdir()
    proc = subprocess.run([IRLD, "link", *ex.objects, "-o", str(wasm), "--emit-js", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert 'new URL("../bin/cb.wasm", import.meta.url)' in out.read_text()
    run = subprocess.run([node, str(out)], capture_output=True, timeout=120)
    assert (run.returncode, run.stdout) == (0, ex.expected)
    # the same link again: the same bytes
    subprocess.run([IRLD, "link", *ex.objects, "-o", str(tmp_path / "web" / "cb.mjs")],
                   check=True)
    assert out.read_bytes() == first


def test_an_instrumented_program_runs_through_the_loader(examples: dict[str, Example],
                                                        tmp_path: Path, node: str) -> None:
    """`--instrument` adds `irld_trace` imports; the runtime gives them (doing nothing, as
    `irld run` without --trace does), so the program still runs as a command."""
    ex = examples["callbacks"]
    out = tmp_path / "cb.mjs"
    proc = subprocess.run([IRLD, "link", *ex.objects, "--instrument", "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run = subprocess.run([node, str(out)], capture_output=True, timeout=120)
    assert (run.returncode, run.stdout, run.stderr) == (0, ex.expected, b"")


def test_failed_link_writes_no_loader(tmp_path: Path) -> None:
    out = tmp_path / "bad.mjs"
    proc = subprocess.run([IRLD, "link", str(tmp_path / "missing.o"), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert list(tmp_path.iterdir()) == []


def test_declarations_name_what_the_runtime_exports(node: str) -> None:
    dts = RUNTIME_DTS.read_text()
    declared = re.findall(r"export declare (?:function|class) (\w+)", dts)
    assert sorted(declared) == ["ExitError", "PanicError", "closureTableGrow", "describeTrap",
                                "instantiate", "runMain"]
    script = (f"const m = await import({str(RUNTIME_JS.as_uri())!r});\n"
              "console.log(Object.keys(m).sort().join(' '));")
    proc = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True,
                          text=True, check=True)
    assert proc.stdout.split() == sorted(declared)


def test_irld_serve_serves_the_page(site: Site) -> None:
    import urllib.request
    proc = subprocess.Popen([IRLD, "serve", "--port", "0", "fib.wasm", "12"], cwd=site.dir,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.match(r"irld serve: fib\.wasm at (http://127\.0\.0\.1:\d+/) \(Ctrl-C to stop\)",
                         line)
        assert match, line
        url = match.group(1)
        with urllib.request.urlopen(url) as resp:
            assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
            html = resp.read().decode()
        assert "instantiate(\"./fib.wasm\", { args: [\"fib.wasm\", \"12\"]" in html
        with urllib.request.urlopen(url + "fib.wasm") as resp:
            assert resp.headers["Content-Type"] == "application/wasm"
            assert resp.read() == (site.dir / "fib.wasm").read_bytes()
        with urllib.request.urlopen(url + "irld-runtime.mjs") as resp:
            assert resp.headers["Content-Type"] == "text/javascript"
            assert resp.read() == RUNTIME_JS.read_bytes()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_irld_serve_missing_program(tmp_path: Path) -> None:
    proc = subprocess.run([IRLD, "serve", str(tmp_path / "nope.wasm")], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr == f"irld serve: error: {tmp_path / 'nope.wasm'}: no such file\n"


def test_ffi_fallback_host_matches_irld_run(site: Site, node: str) -> None:
    mine = node_cmd(node, site, "dynamic")
    want = (0, b"-3000000000000\n", b"irld: ffi host fallback: l(i,l) (2 calls)\n")
    assert (mine.returncode, mine.stdout, mine.stderr) == want
    for engine in ("wasmtime", "node"):
        theirs = subprocess.run([IRLD, "run", "--engine", engine, "dynamic.wasm"],
                                cwd=site.dir, capture_output=True, timeout=120)
        assert (theirs.returncode, theirs.stdout, theirs.stderr) == want


def test_env_host_functions_match_irld_run(site: Site, node: str) -> None:
    mine = node_cmd(node, site, "trace")
    want = b"trace i32: -5\ntrace i64: -5000000000\ntrace f64: 0.1\ntrace f64: 1e+21\n"
    assert (mine.returncode, mine.stdout, mine.stderr) == (0, b"", want)
    for engine in ("wasmtime", "node"):
        theirs = subprocess.run([IRLD, "run", "--engine", engine, "trace.wasm"],
                                cwd=site.dir, capture_output=True, timeout=120)
        assert (theirs.returncode, theirs.stderr) == (0, want)


def test_declarations_typecheck(site: Site, tmp_path: Path) -> None:
    """With TypeScript's tsc ($IRLD_TSC or on PATH; not installed by CI), a module using
    the stub and the runtime the documented way compiles under --strict."""
    import os
    import shutil
    tsc = os.environ.get("IRLD_TSC") or shutil.which("tsc")
    if tsc is None:
        pytest.skip("tsc not installed (npm install typescript; IRLD_TSC=path/to/tsc)")
    for name in ("foreign.mjs", "foreign.d.mts", "irld-runtime.mjs", "irld-runtime.d.mts"):
        shutil.copy(site.dir / name, tmp_path / name)
    shutil.copy(Path(__file__).with_name("uses_declarations.mts"), tmp_path / "use.mts")
    proc = subprocess.run([tsc, "--noEmit", "--strict", "--target", "es2022", "--module",
                           "nodenext", "--moduleResolution", "nodenext", "--lib", "es2022,dom",
                           "use.mts"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
