"""Keep numba's on-disk cache of this package consistent with the shared helper files.

numba's cache checks only the source file of each cached function, not the files of the functions
it inlines from other modules: the shared helpers in _jit.py (intrinsics, FTZ, block_bounds) and
_math.py (exp32, ...). After an edit of one of those two, kernels would silently keep running the
old code. So `drop_stale_cache` stamps those two files (mtime and size) and deletes every cache
file in this package's __pycache__ when the stamp changes. `_jit` runs it when it is first imported,
i.e. when the first kernel family loads, before any kernel is compiled or read from the cache (not
at `import axonal`). (A NUMBA_CACHE_DIR set by the user is left alone; an installed copy is
re-stamped by reinstalling, which rewrites every file.)
"""
import os

_SHARED = ("_jit.py", "_math.py")


def drop_stale_cache():
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = os.path.dirname(os.path.abspath(__file__))
    cache = os.path.join(here, "__pycache__")
    stamp_path = os.path.join(cache, "axonal_kernels.stamp")
    try:
        stamp = ";".join(f"{name}:{st.st_mtime_ns}:{st.st_size}" for name in _SHARED
                         for st in [os.stat(os.path.join(here, name))])
        if os.path.exists(stamp_path):
            with open(stamp_path, encoding="utf-8") as f:
                if f.read() == stamp:
                    return
        os.makedirs(cache, exist_ok=True)
        for name in os.listdir(cache):
            if name.endswith((".nbi", ".nbc")):
                os.remove(os.path.join(cache, name))
        with open(stamp_path, "w", encoding="utf-8") as f:
            f.write(stamp)
    except OSError:  # read-only install or a concurrent import: numba's own checks still apply
        pass
