"""How `genart serve` keeps its memory from growing: glibc's allocator, tuned and trimmed.

Both are no-ops where there is no glibc (another libc, another system).
"""

import os


def _glibc():
    """glibc with `malloc_trim` and `mallopt`, or None (another libc, another system)."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def release_memory():
    """Hands freed heap back to the system (glibc keeps it otherwise).

    An unloaded onnxruntime session frees its memory, but glibc's allocator
    kept it: 20 versions loaded and unloaded in turn left the process 95 MiB
    larger; `malloc_trim` gave it back. A no-op where there is no glibc.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def limit_malloc_arenas(arenas=2):
    """At most `arenas` glibc malloc arenas for the threads the server starts.

    glibc gives threads arenas of their own (up to 8 per core), and memory
    freed in one is not handed back: in the soak of `benchmarks/inference.py`
    (20 versions rolled in under 8 clients) the server grew 1.17x with
    `malloc_trim` alone, 1.02x with `MALLOC_ARENA_MAX=2`. Left alone when
    `MALLOC_ARENA_MAX` is set, and where there is no glibc.

    Args:
        arenas: int. The most arenas. Defaults to 2.
    """
    libc = _glibc()
    if libc is not None and "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(-8, arenas)  # M_ARENA_MAX
