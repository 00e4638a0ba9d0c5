"""Imported only by the server that forks a corpus job's workers (its preload).

A scheduler, ``timeout`` or ``docker stop`` sends SIGTERM to the whole process group.
The job stops on it and keeps its partial output; the server must not end first:
each worker's liveness reaches the job through the server, so its death reads as
every worker's, which breaks the pool while the job is stopping, and the job's exit
can then hang on the pool's pipes. The server still ends with the job (it watches the
job's end of a pipe), and the workers with it (``process._end_with_the_job``).

Only the server ignores SIGTERM: what it forks gets the default back. A worker that
a SIGTERM ends is then seen to end, and the pool stops cleanly (it also ends its other
workers with SIGTERM when one dies).
"""

from __future__ import annotations

import os
import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
