"""How quiet the machine was while a benchmark round ran.

A round's wall-clock time means something only if nothing else ran beside it. Over the round we
read the kernel's CPU counters (/proc/stat: jiffies spent busy, and stolen by the hypervisor) and
the CPU time our own child processes used (getrusage(RUSAGE_CHILDREN)); what was busy and was not
us, divided by the wall time, is the other load in CPUs. A round with other load above
`MAX_OTHER_LOAD` or steal above `MAX_STEAL` of the machine's time is dropped and counted.
"""
import os
import resource
import time

MAX_OTHER_LOAD = 0.3  # CPUs busy with something else, averaged over the round
MAX_STEAL = 0.05      # fraction of the machine's time stolen by the hypervisor
_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_counters():
    """(busy jiffies, steal jiffies, total jiffies) summed over all CPUs, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq
    return busy, steal, busy + idle + iowait + steal


def _children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class Round:
    """`with Round() as r: ...` then r.other_load (CPUs), r.steal (fraction), r.quiet (bool)."""

    def __enter__(self):
        self._c0, self._own0, self._t0 = _cpu_counters(), _children_cpu(), time.perf_counter()
        self.load_avg = os.getloadavg()[0]
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self._t0
        own = _children_cpu() - self._own0
        c1 = _cpu_counters()
        if self._c0 is None or c1 is None or wall <= 0:
            self.other_load, self.steal = 0.0, 0.0
        else:
            busy, steal, total = (b - a for a, b in zip(self._c0, c1))
            self.other_load = max(0.0, busy / _HZ - own) / wall
            self.steal = steal / total if total else 0.0
        self.quiet = self.other_load <= MAX_OTHER_LOAD and self.steal <= MAX_STEAL
        return False

    def describe(self):
        return (f"other load {self.other_load:.2f} CPUs, steal {self.steal * 100:.1f}%, "
                f"load avg {self.load_avg:.1f}{'' if self.quiet else ' (dropped: busy)'}")
