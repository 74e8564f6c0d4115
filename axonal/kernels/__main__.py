"""`python -m axonal.kernels`: compile every kernel once so the on-disk cache is warm."""
import time

from . import flush_denormals_active, warmup

t0 = time.perf_counter()
warmup(verbose=True)
print(f"all kernels ready in {time.perf_counter() - t0:.2f} s "
      f"(FTZ/DAZ inside kernels: {'on' if flush_denormals_active() else 'off'})")
