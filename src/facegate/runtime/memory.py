"""Keep a long-running entrance process small on glibc (Linux boards); no-ops elsewhere.

glibc raises its mmap threshold each time a large block is freed, after which the 3-6 MB
frames of a 720p/1080p stream come from the heap instead and fragment it: RSS of `facegate run`
on the 1080p clip grew to ~410 MB that way, ~320 MB with the threshold pinned
(docs/performance.md). Freed parse buffers of the model loaders are handed back once loaded.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # mallopt parameters (malloc.h)
M_ARENA_MAX = -8


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def pin_mmap_threshold(threshold: int = 1 << 20, arenas: int = 2) -> bool:
    """Serve blocks >= `threshold` (frames) by mmap, returned to the system when freed, and
    cap the per-thread heaps (decoder, door, HTTP threads). True when glibc took it."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, threshold)) and bool(
        libc.mallopt(M_ARENA_MAX, arenas)
    )


def release_free_memory() -> None:
    """Return freed heap at the top of glibc's arenas to the system (`malloc_trim`)."""
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(OSError):
            libc.malloc_trim(0)
