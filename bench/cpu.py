"""CPU seconds spent by each party during a phase: the client (this process, or the DAG
subprocess once it has exited), the Firestore emulator, mongoeco, and the latency proxies."""

from __future__ import annotations

import resource

import psutil


def _tree_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        root = psutil.Process(pid)
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total
    except psutil.NoSuchProcess:
        return None


def _rusage_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _sum_seconds(pids: tuple[int, ...]) -> float | None:
    seconds = [s for s in map(_tree_seconds, pids) if s is not None]
    return sum(seconds) if seconds else None


class CpuMeter:
    """`with meter.phase() as cpu:` … then cpu.text(): client / emulator / mongo / proxies
    CPU seconds."""

    def __init__(self, emulator_pid: int, mongo_pid: int | None, proxy_pids: tuple[int, ...] = ()) -> None:
        self.emulator_pid = emulator_pid
        self.mongo_pid = mongo_pid
        self.proxy_pids = proxy_pids

    def phase(self, client_is_subprocess: bool = False) -> CpuPhase:
        return CpuPhase(self, client_is_subprocess)


class CpuPhase:
    def __init__(self, meter: CpuMeter, client_is_subprocess: bool) -> None:
        self.meter = meter
        # A subprocess's CPU time reaches RUSAGE_CHILDREN once it has been waited for.
        self.who = resource.RUSAGE_CHILDREN if client_is_subprocess else resource.RUSAGE_SELF
        self.client = self.emulator = self.mongo = self.proxies = None

    def __enter__(self) -> CpuPhase:
        self._start = self._now()
        return self

    def __exit__(self, *exc_info) -> None:
        end = self._now()
        self.client, self.emulator, self.mongo, self.proxies = (
            None if a is None or b is None else b - a for a, b in zip(self._start, end, strict=True)
        )

    def _now(self) -> tuple[float | None, ...]:
        return (
            _rusage_seconds(self.who),
            _tree_seconds(self.meter.emulator_pid),
            _tree_seconds(self.meter.mongo_pid),
            _sum_seconds(self.meter.proxy_pids),
        )

    def text(self) -> str:
        return " / ".join(
            "-" if value is None else f"{value:.1f}"
            for value in (self.client, self.emulator, self.mongo, self.proxies)
        )
