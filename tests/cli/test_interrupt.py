"""Ctrl-C (SIGINT) in the middle of a command: status 130, one line, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linker.cli.main import main

INTERRUPTED = "irld: interrupted\n"


def big_program(n: int) -> str:
    """n functions in a ring of tail calls, each with a data item pointing at the next."""
    out = ["module big.prog", ""]
    for i in range(n):
        nxt = (i + 1) % n
        out.append(f"data d{i} align 4 = {{ i32 {i}, addr d{nxt} }}")
        out.append(f"func f{i}(x: i32) -> i32 {{\nentry:\n  if i32.eqz(x) then done else more\n"
                   f"done:\n  return i32.load(@d{i})\nmore:\n  tail call f{nxt}(i32.sub(x, 1))\n}}")
    out.append("func main() -> i32 {\nentry:\n  tail call f0(10)\n}")
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def big_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("big")
    (d / "big.ir").write_text(big_program(16000))
    assert main(["compile", str(d / "big.ir"), "-o", str(d / "big.o")]) == 0
    return d / "big.o"


def start(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "linker.cli.main", *argv], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def interrupt_after_cpu(proc: subprocess.Popen[str], seconds: float) -> tuple[int, str]:
    """SIGINT once the child has used `seconds` of CPU (past start-up, into the link)."""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if cpu_seconds(proc.pid) >= seconds:
            proc.send_signal(signal.SIGINT)
            break
        time.sleep(0.02)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
@pytest.mark.parametrize("cpu", [0.9, 1.6])
def test_ctrl_c_in_the_middle_of_a_link(big_object: Path, tmp_path: Path, cpu: float) -> None:
    proc = start(["link", str(big_object), "-o", "big.wasm", "--report", "big.json",
                  "--map", "big.map", "--tail-calls", "trampoline"], tmp_path)
    code, err = interrupt_after_cpu(proc, cpu)
    assert (code, err) == (130, INTERRUPTED), "the link ended before the signal: make it bigger"
    assert os.listdir(tmp_path) == []


def test_ctrl_c_while_an_output_blocks(big_object: Path, tmp_path: Path) -> None:
    """A FIFO output blocks the commit until a reader comes; the other outputs'
    temporaries exist by then, and an interruption must remove them."""
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "old.json").write_text("previous report")
    proc = start(["link", str(big_object), "--report", "old.json", "-o", "pipe"], tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(n.startswith(".old.json.")
                                                  for n in os.listdir(tmp_path)):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (130, INTERRUPTED)
    assert sorted(os.listdir(tmp_path)) == ["old.json", "pipe"]
    assert (tmp_path / "old.json").read_text() == "previous report"


def test_ctrl_c_in_a_parallel_compile(tmp_path: Path) -> None:
    for i in range(4):
        (tmp_path / f"m{i}.ir").write_text(big_program(3000).replace("big.prog", f"big.m{i}"))
    proc = start(["compile", "-j", "2", *[f"m{i}.ir" for i in range(4)], "--out-dir", "out"],
                 tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((tmp_path / "out").glob("*.o")):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)   # the whole process group, as a terminal's Ctrl-C
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err) == (130, INTERRUPTED)
    leftovers = [n for n in os.listdir(tmp_path / "out") if not n.endswith(".o")]
    assert leftovers == []
