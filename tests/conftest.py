"""Settings every test directory shares.

A shell that starts a job in the background without job control (`make test &`,
`nohup`, some CI runners) starts it with SIGINT ignored, and a child inherits an
ignored signal across exec.  The Ctrl-C tests (tests/cli/test_interrupt.py,
tests/runtime/test_runtime_cli.py) send SIGINT to an `irld` child and expect what
a user at a terminal gets, so the suite restores Python's own handler here: a
handled signal is reset to the default in every child at exec.
"""

from __future__ import annotations

import signal

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
