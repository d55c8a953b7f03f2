"""The benchmarks' measured children report their own peak RSS (benchmarks/launch.py):
Linux carries a process's pre-exec high-water mark into `ru_maxrss`, so a child started
straight from a big harness reports at least the harness's size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import launch  # noqa: E402

PEAK = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"


def test_a_child_started_by_the_launcher_reports_its_own_peak() -> None:
    ballast = bytearray(200 * 1024 * 1024)
    ballast[::4096] = b"\1" * len(range(0, len(ballast), 4096))   # touch every page
    direct = subprocess.run([sys.executable, "-c", PEAK], capture_output=True, text=True,
                            check=True)
    launched = launch.fresh([sys.executable, "-c", PEAK], capture_output=True, text=True,
                            check=True)
    del ballast
    assert int(direct.stdout) >= 200          # the harness's pages, carried over
    assert int(launched.stdout) < 100         # the child's own


def test_the_launcher_passes_the_status_and_the_output_through() -> None:
    done = launch.fresh([sys.executable, "-c", "import sys; print('hi'); sys.exit(3)"],
                        capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (3, "hi\n")
    missing = launch.fresh(["/nonexistent/program"], capture_output=True, text=True)
    assert missing.returncode == 127 and "cannot run /nonexistent/program" in missing.stderr


def test_measured_reports_the_commands_own_figures(tmp_path: Path) -> None:
    ballast = bytearray(200 * 1024 * 1024)
    ballast[::4096] = b"\1" * len(range(0, len(ballast), 4096))
    spin = "import sys; x = bytearray(50 * 2**20); x[::4096] = b'1' * (len(x) // 4096); sys.exit(5)"
    with open(tmp_path / "log", "wb") as out:
        r = launch.measured([sys.executable, "-c", spin], stdout=out, stderr=out)
    del ballast
    assert r["rc"] == 5
    assert 50 * 1024 <= r["peak_rss_kb"] < 150 * 1024      # its 50 MB, not the harness's 200
    assert r["wall_s"] > 0 and r["user_s"] + r["sys_s"] > 0
