"""`stadspuls run` caps glibc's malloc arenas: threads then share them instead of each
keeping its own (and the memory freed in it)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from stadspuls.arenas import limit_malloc_arenas

# A fresh interpreter: six threads each allocate (below glibc's mmap threshold, so from an
# arena) and hold it; then the 64 MiB-aligned anonymous mappings, glibc's thread arenas, are
# counted in /proc/self/maps.
PROGRAM = textwrap.dedent(
    """
    import ctypes, sys, threading
    from stadspuls.arenas import limit_malloc_arenas
    limited = limit_malloc_arenas(int(sys.argv[1]))
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    held, ready, done = [], threading.Barrier(7), threading.Event()
    def work():
        held.append(libc.malloc(64 * 1024))
        ready.wait()
        done.wait()
    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    ready.wait()
    arenas = 0
    for line in open("/proc/self/maps"):
        span, perms, _, _, inode, *name = line.split()
        start = int(span.split("-")[0], 16)
        if inode == "0" and not name and perms.startswith("rw") and start % (64 << 20) == 0:
            arenas += 1
    done.set()
    print(limited, arenas)
    """
)


def _arenas(limit: int) -> tuple[bool, int]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(limit)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's arenas (Linux)")
def test_threads_share_the_capped_arenas() -> None:
    limited, capped = _arenas(2)
    if not limited:
        pytest.skip("the C library is not glibc (mallopt said no)")
    _, default = _arenas(0)
    assert capped <= 1  # the main arena is not among the aligned ones: one more at most
    assert default >= 4  # glibc's default: an arena per thread, up to eight per core


def test_the_operators_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas(2) is False
    assert os.environ["MALLOC_ARENA_MAX"] == "4"


def test_zero_leaves_glibc_alone_and_negative_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas(0) is False
    assert "MALLOC_ARENA_MAX" not in os.environ
    with pytest.raises(ValueError, match=r"0 \(glibc's default\) or more"):
        limit_malloc_arenas(-1)
