"""Worker processes that die with the process that started them.

A process pool's workers are children of the service; if the service is killed (SIGKILL, the OOM
killer) they are re-parented to init and keep running, holding memory and connections, and nothing
stops them. `die_with_parent` is a pool initializer that prevents it:

    ProcessPoolExecutor(n, mp_context=..., initializer=die_with_parent, initargs=(os.getpid(),))

On Linux the kernel sends the worker SIGKILL when its parent goes (`prctl(PR_SET_PDEATHSIG)`; strictly,
when the parent's thread that started the worker ends, so start pools from a thread that lives as long
as the process, such as the event loop's); elsewhere a watchdog thread in the worker notices within a
second. A parent that died before the worker got this far is noticed at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_INTERVAL_S = 1.0


def die_with_parent(parent_pid: int) -> None:
    if not _parent_death_signal(signal.SIGKILL):
        threading.Thread(target=_watch, args=(parent_pid,), name="parent-watchdog", daemon=True).start()
    if os.getppid() != parent_pid:  # the parent is already gone: this process was re-parented
        os._exit(1)


def _parent_death_signal(signum: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0  # type: ignore[no-any-return]  # ctypes: untyped
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)
