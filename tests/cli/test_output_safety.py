"""Output safety (linker/output.py): no input clobbered, devices written in place,
temporaries never through a planted symlink, all outputs of a command or none.

These run as root in CI, where renaming onto /dev/null would succeed and
destroy the device; run as another user they still check the behaviour.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from linker.cli.main import main

PROG = """\
module t.safe

data answer align 4 = { i32 42, zero 8 }

func main() -> i32 {
entry:
  return i32.load(@answer)
}
"""


def irld(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def digest(path: Path) -> tuple[str, int]:
    st = path.lstat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns


@pytest.fixture()
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prog.ir").write_text(PROG)
    assert irld(capsys, "compile", "prog.ir", "-o", "prog.o") == (0, "")
    assert irld(capsys, "ar", "lib.a", "prog.o") == (0, "")
    return tmp_path


def no_temporaries(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------- an output that is an input


@pytest.mark.parametrize("argv, victim", [
    (["compile", "prog.ir", "-o", "prog.ir"], "prog.ir"),
    (["link", "prog.o", "-o", "prog.o"], "prog.o"),
    (["link", "prog.o", "lib.a", "-o", "lib.a"], "lib.a"),
    (["link", "prog.o", "-o", "x.wasm", "--report", "prog.o"], "prog.o"),
    (["link", "prog.o", "-o", "x.wasm", "--map", "./prog.o"], "prog.o"),
    (["link", "prog.o", "--emit-wat", "prog.o"], "prog.o"),
    (["link", "prog.o", "-L", ".", "-l", "lib", "-o", "lib.a"], "lib.a"),
    (["ar", "prog.o", "prog.o"], "prog.o"),
])
def test_output_equal_to_input_is_refused(work: Path, capsys: pytest.CaptureFixture[str],
                                          argv: list[str], victim: str) -> None:
    before = digest(work / victim)
    code, err = irld(capsys, *argv)
    assert code == 1
    assert "is also an input; refusing to overwrite it" in err, err
    assert err.startswith("error: output file ")
    assert digest(work / victim) == before
    assert not (work / "x.wasm").exists()
    assert no_temporaries(work) == []


def test_hard_link_to_an_input_is_the_same_file(work: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    os.link(work / "prog.o", work / "alias.o")
    before = digest(work / "prog.o")
    code, err = irld(capsys, "link", "prog.o", "-o", "alias.o")
    assert code == 1
    assert "output file alias.o (-o) is the same file as input prog.o" in err
    assert digest(work / "prog.o") == before


def test_python_api_refuses_too(work: Path) -> None:
    import linker
    from linker.diagnostics import DiagnosticError
    with pytest.raises(DiagnosticError, match="is also an input"):
        linker.link(["prog.o"], output="prog.o")


# ---------------------------------------------------------------- two outputs, one file


@pytest.mark.parametrize("extra", [
    ["-o", "x.wasm", "--map", "x.wasm"],
    ["-o", "x.wasm", "--report", "./x.wasm"],
    ["-o", "x.wasm", "--emit-wat", "link.wasm"],      # link.wasm -> x.wasm (a symlink)
])
def test_two_outputs_naming_one_file(work: Path, capsys: pytest.CaptureFixture[str],
                                     extra: list[str]) -> None:
    (work / "x.wasm").write_bytes(b"old")
    os.symlink("x.wasm", work / "link.wasm")
    code, err = irld(capsys, "link", "prog.o", *extra)
    assert code == 1
    assert "name the same file" in err, err
    assert (work / "x.wasm").read_bytes() == b"old"


# ---------------------------------------------------------------- devices and FIFOs


def test_dev_null_survives(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = os.stat("/dev/null")
    assert irld(capsys, "link", "prog.o", "-o", "/dev/null", "--report", "/dev/null",
                "--map", "/dev/null") == (0, "")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert irld(capsys, "compile", "prog.ir", "-o", "/dev/null") == (0, "")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_fifo_is_written_in_place(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = work / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, err = irld(capsys, "link", "prog.o", "-o", str(fifo))
    reader.join(timeout=30)
    assert (code, err) == (0, "")
    assert got and got[0].startswith(b"\0asm")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_directory_as_output(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = irld(capsys, "link", "prog.o", "-o", ".")
    assert code == 1
    assert err.strip() == "error: cannot write output file .: is a directory"


# ---------------------------------------------------------------- temporaries


@pytest.fixture()
def predictable_names(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make mkstemp try "planted" first, so a test can put a symlink there."""
    tried: list[str] = []

    def names() -> Iterator[str]:
        for name in ("planted", "fresh1", "fresh2", "fresh3", "fresh4"):
            tried.append(name)
            yield name
    monkeypatch.setattr(tempfile, "_get_candidate_names", names)
    yield tried


def test_planted_symlink_is_not_followed(work: Path, capsys: pytest.CaptureFixture[str],
                                         predictable_names: list[str]) -> None:
    victim = work / "victim.txt"
    victim.write_text("precious")
    planted = work / ".x.wasm.planted.tmp"
    os.symlink(victim, planted)
    dangling = work / ".x.wasm.fresh1.tmp"
    os.symlink(work / "nowhere" / "created", dangling)
    assert irld(capsys, "link", "prog.o", "-o", "x.wasm") == (0, "")
    assert victim.read_text() == "precious"
    assert planted.is_symlink() and dangling.is_symlink()
    assert not (work / "nowhere").exists()
    assert (work / "x.wasm").read_bytes().startswith(b"\0asm")
    assert predictable_names[:3] == ["planted", "fresh1", "fresh2"]


def test_temporary_names_differ_between_runs(work: Path) -> None:
    from linker.output import OutputSet
    seen = set()
    for _ in range(3):
        out = OutputSet(outputs=[("-o", "y.bin")])
        out.write("y.bin", b"data")
        seen.update(no_temporaries(work))
        out.discard()
    assert len(seen) == 3
    assert no_temporaries(work) == [] and not (work / "y.bin").exists()


def test_new_file_mode_follows_umask(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = os.umask(0o027)
    try:
        from linker import output
        output._UMASK.clear()
        assert irld(capsys, "link", "prog.o", "-o", "m.wasm") == (0, "")
    finally:
        os.umask(old)
        output._UMASK.clear()
    assert stat.S_IMODE((work / "m.wasm").stat().st_mode) == 0o640


# ---------------------------------------------------------------- all or nothing


def previous_link(work: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[str, int]]:
    files = ["x.wasm", "x.wat", "x.json", "x.map"]
    assert irld(capsys, "link", "prog.o", "-o", "x.wasm", "--emit-wat", "x.wat",
                "--report", "x.json", "--map", "x.map") == (0, "")
    return {f: digest(work / f) for f in files}


@pytest.mark.parametrize("flag", ["-o", "--emit-wat", "--report", "--map"])
@pytest.mark.parametrize("how", ["missing directory", "full device"])
def test_a_failing_output_leaves_every_earlier_file(work: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    flag: str, how: str) -> None:
    if how == "full device" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    before = previous_link(work, capsys)
    (work / "prog.ir").write_text(PROG.replace("42", "43"))    # a different program now
    assert irld(capsys, "compile", "prog.ir", "-o", "prog.o") == (0, "")
    bad = "nosuch/out" if how == "missing directory" else "/dev/full"
    argv = {"-o": "x.wasm", "--emit-wat": "x.wat", "--report": "x.json", "--map": "x.map"}
    argv[flag] = bad
    code, err = irld(capsys, "link", "prog.o", *[a for kv in argv.items() for a in kv])
    assert code == 1
    assert err.startswith(f"error: cannot write output file {bad}: "), err
    assert {f: digest(work / f) for f in before} == before
    assert no_temporaries(work) == []


def test_failed_link_touches_nothing(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = previous_link(work, capsys)
    (work / "bad.ir").write_text("module t.bad\nfunc f() -> i32 {\nentry:\n  return g()\n}\n")
    code, _ = irld(capsys, "link", "prog.o", "lib.a", "nonexistent.o", "-o", "x.wasm",
                   "--report", "x.json")
    assert code == 1
    assert {f: digest(work / f) for f in before} == before


def test_compile_of_several_inputs_checks_every_output(work: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    (work / "other.ir").write_text(PROG.replace("t.safe", "t.other"))
    os.symlink("prog.ir", work / "other.o")      # other.ir's object would overwrite prog.ir
    before = digest(work / "prog.ir")
    code, err = irld(capsys, "compile", "prog.ir", "other.ir")
    assert code == 1
    assert "output file other.o (output) is the same file as input prog.ir" in err
    assert digest(work / "prog.ir") == before
