"""Fewer glibc malloc arenas for the long-running process (`stadspuls run`).

glibc gives each thread that allocates its own arena, up to eight per core, and what one arena
frees the others do not reuse. `stadspuls run` has some twenty threads (a consumer each, the web
server's workers, the outboxes) that pass SQLite connections and decoded posts between them, and
after a busy day its 16 arenas held several hundred MiB that Python had freed
(bench/memory.py). Two arenas, the value glibc's own manual suggests for servers with many
threads, keep that memory reusable at a small cost in lock contention, which two cores barely
see.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_ARENA_MAX = -8  # malloc.h
ENVIRONMENT = "MALLOC_ARENA_MAX"


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas at `arenas` in this process, and (through the environment) in
    the processes it starts, such as the door's child. Call it before any thread starts.

    Returns False, changing nothing, where `MALLOC_ARENA_MAX` is already set (the operator's
    choice wins), `arenas` is 0 (glibc's default) or the C library is not glibc.
    """
    if arenas < 0:
        raise ValueError(f"arenas must be 0 (glibc's default) or more, not {arenas}")
    if arenas == 0 or ENVIRONMENT in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    if mallopt(M_ARENA_MAX, arenas) != 1:  # musl's mallopt does nothing and says 0
        return False
    os.environ[ENVIRONMENT] = str(arenas)
    return True
