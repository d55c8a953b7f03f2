"""Starting a measured child from a small process, so its peak RSS is its own.

Linux carries the peak resident size of the memory image a process had before
`exec` into its `ru_maxrss` (the kernel records the old image's high-water
mark at exec).  A child forked from a harness holding a generated program
therefore reports at least the harness's peak: `benchmarks/run.py` printed
161 MB for a hello world that peaks at 22 MB, and `benchmarks/c_link.py` the
same 275 MB for wasm-ld and irld.  The command runs instead as the grandchild
of a bare interpreter (about 10 MB), which forks and execs it, passes its
output and exit status through, and can report `os.wait4`'s figures of it.

* `fresh(cmd, ...)`: `subprocess.run` through the launcher (for a child that
  measures itself, as the links of `run.py` and `lto.py` do);
* `measured(cmd, ...)`: the same, and the child's wall time, user and system
  CPU and peak RSS (for a command that does not, such as wasm-ld).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

# argv: [figures file or "", command...].  Exit status 127 when the command
# cannot be started (its reason on stderr), as a shell does.
LAUNCHER = """
import json, os, sys, time
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as exc:
        os.write(2, f"cannot run {sys.argv[2]}: {exc}\\n".encode())
        os._exit(127)
_pid, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t
code = os.waitstatus_to_exitcode(status)
if sys.argv[1]:
    with open(sys.argv[1], "w") as fh:
        json.dump({"rc": code, "wall_s": wall, "user_s": ru.ru_utime, "sys_s": ru.ru_stime,
                   "peak_rss_kb": ru.ru_maxrss}, fh)
sys.exit(code if code >= 0 else 128 - code)
"""


def fresh(cmd: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run(cmd, **kw)`, with `cmd` started by the small launcher."""
    return subprocess.run([sys.executable, "-S", "-c", LAUNCHER, "", *cmd], **kw)


def measured(cmd: Sequence[str], **kw: Any) -> dict[str, Any]:
    """Run `cmd` once through the launcher (`subprocess.run` keywords pass on);
    its exit status and `os.wait4` figures: rc, wall_s, user_s, sys_s, peak_rss_kb."""
    fd, figures = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        subprocess.run([sys.executable, "-S", "-c", LAUNCHER, figures, *cmd], **kw)
        with open(figures) as fh:
            result: dict[str, Any] = json.load(fh)
        return result
    finally:
        os.unlink(figures)
