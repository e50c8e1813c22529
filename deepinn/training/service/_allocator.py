"""Freed memory kept for the next step: ``allocator="auto"``, the C allocator tuned for training.

A training step allocates and frees the same large temporaries at every step: activations,
their derivative lanes, their adjoints. glibc's allocator maps a block above its mmap threshold
for each allocation and unmaps it when it is freed, and returns freed memory at the top of its
heap to the system beyond its trim threshold. Both thresholds adapt to the blocks freed so far,
so where they settle depends on the process's history; where a step's temporaries end up
mapped or trimmed, every step touches fresh pages and each first touch is a page fault served
by the kernel. On the Burgers speed case (``bench/speed.py`` P2) about one process in five
settled so: about 600 faults and over a millisecond of system time per step, a fifth of it.

:func:`keep_freed_memory` fixes both thresholds (``mallopt``): blocks up to
:data:`MMAP_THRESHOLD` come from the heap, and up to :data:`TRIM_THRESHOLD` of freed memory
stays in the process for the next step, as a caching allocator keeps it. The process's resident
memory then stays near its peak between steps; the peak itself is unchanged. The settings hold
for the rest of the process (glibc cannot return to its adaptive thresholds). Thresholds the
environment sets (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES``) are
kept, and other C libraries (macOS, Windows, musl) are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import platform

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory"]

MMAP_THRESHOLD = 32 * 2**20
"""Blocks up to this size come from the heap (glibc's largest mmap threshold on 64 bits)."""

TRIM_THRESHOLD = 2**30
"""Freed memory kept at the top of the heap before any is returned to the system."""

_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3

_log = logging.getLogger("deepinn.training")


_ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
_TUNABLES = ("glibc.malloc.mmap_threshold", "glibc.malloc.trim_threshold")


def _set_by_the_user() -> bool:
    """Whether the environment sets either threshold (glibc's ``MALLOC_*_`` variables or its
    ``GLIBC_TUNABLES``): the user's choice is kept."""
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return any(name in os.environ for name in _ENVIRONMENT) or any(
        name in tunables for name in _TUNABLES
    )


@functools.cache
def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (once per process); whether they were set (False
    where the C library is not glibc or refuses them, or where the environment sets either
    threshold already)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if _set_by_the_user():
        _log.debug("allocator=auto: glibc's thresholds are set in the environment; kept")
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    _log.debug("allocator=auto: glibc keeps freed memory for reuse: %s", done)
    return done
