"""Imported only by the server that forks a corpus job's workers (its preload).

A scheduler, ``timeout`` or ``docker stop`` sends SIGTERM to the whole process group.
The job stops on it and keeps its partial output; the server must not end first:
each worker's liveness reaches the job through the server, so its death reads as
every worker's, which breaks the pool while the job is stopping, and the job's exit
can then hang on the pool's pipes. The server still ends with the job (it watches the
job's end of a pipe), and the workers with it (``process._end_with_the_job``).
"""

from __future__ import annotations

import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
