"""Giving freed native memory back to the operating system after a session ends.

Every peer connection allocates outside Python (OpenSSL for DTLS, libsrtp, FFmpeg decoders, a
decoder thread per received track, each thread with glibc's arena of its own). When a session ends
that memory is freed, but glibc keeps most of it in its heaps, fragmented, so a process that has held
a thousand short check-ins one after another sits tens of megabytes above one that held fifty, with
nothing live in it. `malloc_trim` returns the free pages; elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Trimming walks every heap: a few milliseconds. Sessions ending in a burst share one trim.
_MIN_INTERVAL_SECONDS = 1.0


def _load_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    result: Callable[[int], int] = trim
    return result


_malloc_trim = _load_malloc_trim()
_last_trim = 0.0


def release_freed_memory() -> None:
    """Return freed heap pages to the system (at most once a second; a no-op without glibc)."""
    global _last_trim
    now = time.monotonic()
    if _malloc_trim is None or now - _last_trim < _MIN_INTERVAL_SECONDS:
        return
    _last_trim = now
    _malloc_trim(0)
