"""Imported only by the server that forks a corpus job's workers (its preload).

A scheduler, ``timeout`` or ``docker stop`` sends SIGTERM to the whole process group.
The job stops on it and keeps its partial output; the server must not end first:
each worker's liveness reaches the job through the server, so its death reads as
every worker's, which breaks the pool while the job is stopping, and the job's exit
can then hang on the pool's pipes. The server still ends with the job (it watches the
job's end of a pipe), and the workers with it (``process._end_with_the_job``).

Only the server ignores SIGTERM: what it forks gets the default back (a corpus job's
workers then ignore it themselves, and any other process the server makes for the
same program can still be terminated).
"""

from __future__ import annotations

import os
import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
