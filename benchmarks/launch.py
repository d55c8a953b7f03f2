"""Starting a measured child from a small process, so its peak RSS is its own.

Linux carries the peak resident size of the memory image a process had before
`exec` into its `ru_maxrss` (the kernel records the old image's high-water
mark at exec).  A child forked from a harness holding a generated program
therefore reports at least the harness's peak: `benchmarks/run.py` printed
161 MB for a hello world that peaks at 22 MB.  `fresh` runs the command as
the grandchild of a bare interpreter (about 10 MB), which forks and execs it
and exits with its status; the command's own output passes straight through.
(`benchmarks/c_link.py`'s launcher does the same and also reports `os.wait4`'s
figures, for linkers that do not measure themselves.)
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import Any

FORK_EXEC = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    except OSError as exc:
        os.write(2, f"cannot run {sys.argv[1]}: {exc}\\n".encode())
        os._exit(127)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def fresh(cmd: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run(cmd, **kw)`, with `cmd` started by the small launcher."""
    return subprocess.run([sys.executable, "-S", "-c", FORK_EXEC, *cmd], **kw)
