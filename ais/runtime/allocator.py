"""Process-wide tuning of a batch command (``ais scan``, ``ais train``): :func:`tune_batch_process`.

Keep freed memory in the process for the next array instead of returning it to the OS.

A scan allocates and frees column-sized arrays (80 MB each at 10 M pings) hundreds of times.
By default glibc serves every block over 32 MB with a fresh ``mmap`` and unmaps it on
``free``, and Arrow keeps a separate pool; each fresh page is then zeroed by the kernel on
first touch. On the 2-core benchmark VM that zeroing (``clear_page_erms`` in ``perf``) was a
third of all CPU time of a 10 M-ping scan. Serving every block from glibc's heap, never
trimmed, and routing Arrow's buffers through the same heap turns most of those page faults
into reuse (10 M pings, two runs each: 28.5 and 27.3 s -> 24.5 and 25.4 s, kernel time 12.1
and 11.0 s -> 8.7 and 9.2 s, peak RSS 2.83-2.92 GB either way). DuckDB still trims the heap
(``malloc_trim``) when its worker threads fall idle, which no setting turns off.

The cost is that freed memory is not handed back before the process exits, which suits a
batch command; the peak resident size is what DuckDB's ``--memory-limit`` and the data
bound anyway. Only glibc on Linux is tuned; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import platform
import sys

# mallopt(3) parameters
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4

#: Free memory at the top of the heap kept before trimming: -1 is SIZE_MAX, never.
TRIM_BYTES = -1
#: Extra heap requested each time it grows, so growth is rare.
TOP_PAD_BYTES = 256 * 2**20


def keep_freed_memory() -> bool:
    """Tune glibc's malloc and Arrow's pool for a batch process; True when applied."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        applied = all(libc.mallopt(option, value) == 1 for option, value in (
            (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, TRIM_BYTES), (_M_TOP_PAD, TOP_PAD_BYTES)))
    except (OSError, AttributeError):
        return False
    if applied:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    return applied


def quiet_garbage_collector() -> None:
    """Move every object alive now (the imported libraries) out of the garbage collector's
    view and collect less often: a scan makes few reference cycles, and each full collection
    would otherwise walk every object of pandas, scikit-learn and DuckDB (about 1.5% of a
    10 M-ping scan's CPU time in ``perf``)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def short_gil_turns(seconds: float = 0.0005) -> None:
    """Let a thread waiting for the GIL have it after ``seconds`` instead of Python's 5 ms.

    A scan's main thread runs numpy on whole columns (which releases the GIL) while a
    background thread imports and loads the models (which holds it): the main thread needs
    the GIL only briefly between two operations, and with 5 ms turns it waited for most of
    them (10 M pings, three runs each: 11.8 s median -> 11.0 s)."""
    sys.setswitchinterval(seconds)


def tune_batch_process() -> None:
    """Tune this process for one long batch run (a scan or a training): keep freed memory
    (:func:`keep_freed_memory`), collect garbage rarely (:func:`quiet_garbage_collector`) and
    hand the GIL over quickly (:func:`short_gil_turns`). Call it once, at the start, from the
    command that owns the process; a library caller that shares its process need not."""
    keep_freed_memory()
    quiet_garbage_collector()
    short_gil_turns()
