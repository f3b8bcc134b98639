"""Peak resident memory of a process (or a process tree), sampled in a thread with psutil."""

from __future__ import annotations

import threading

import psutil

INTERVAL = 0.05  # seconds between samples


class PeakRss:
    """Samples the RSS of `pid` (default: this process), plus its descendants when `tree`,
    every 50 ms from start() to stop(), and keeps the highest sum seen."""

    def __init__(self, pid: int | None = None, tree: bool = False, interval: float = INTERVAL) -> None:
        self.process = psutil.Process(pid)
        self.tree = tree
        self.interval = interval
        self.peak = 0
        self.processes_seen = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def sample(self) -> None:
        try:
            processes = [self.process]
            if self.tree:
                processes += self.process.children(recursive=True)
            total = 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            return
        self.processes_seen = max(self.processes_seen, len(processes))
        self.peak = max(self.peak, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> PeakRss:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> int:
        self.sample()
        self._stop.set()
        self._thread.join()
        return self.peak

    def __enter__(self) -> PeakRss:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def mb(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MB"
