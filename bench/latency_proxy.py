"""A TCP proxy that adds network latency: each chunk it reads is sent on RTT/2 later, in
both directions, in order, with no bandwidth cap.

    python -m bench.latency_proxy --listen-port 27018 --upstream 127.0.0.1:27017 --rtt-ms 2

The bench runs one in front of the Firestore emulator (gRPC over HTTP/2) and one in front
of MongoDB (its wire protocol), each as a separate process so that its CPU time is not
counted as the client's. It knows nothing of either protocol: it forwards bytes.

Pipelined, like a long wire rather than a slow one: per connection and direction a reader
thread stamps each chunk with the moment it was read and queues it, and a writer thread
sends each chunk once its moment + RTT/2 has come, whatever else is still queued behind
it. So a chunk read at t leaves at t + RTT/2 at the earliest (a little later: the thread
has to wake up, usually tens of microseconds), a request and its reply take at least the
RTT, and a large transfer streams at the rate the ends can sustain, one RTT/2 late.

An end that closes its sending side (EOF) is passed on as the same half-close, RTT/2 later;
an error on either socket drops both. The proxy exits on SIGTERM or SIGINT, and by itself
when the process that started it goes away (so a bench killed with SIGKILL leaves none
behind). The listening, dialling and process plumbing is bench/proxy_base.py's.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.proxy_base import (
    Connection,
    ListeningProxy,
    argument_parser,
    exit_on_signal_or_orphaning,
    parse_address,  # noqa: F401 (bench.latency_proxy.parse_address, as before)
    serve_until_exit,
)

CHUNK = 256 * 1024  # bytes per recv: no cap, only how much one read takes at most
_EOF = b""
_ERROR = None
PR_SET_TIMERSLACK = 29  # linux/prctl.h
READY = re.compile(r"^latency proxy (\S+) -> ", re.MULTILINE)


class LatencyProxy(ListeningProxy):
    """Listens on (host, port) (port 0: any free one; see .port) and forwards every
    connection to `upstream`, each chunk `rtt_ms` / 2 late in each direction."""

    label = "latency proxy"
    thread_prefix = "proxy"

    def __init__(self, upstream: tuple[str, int], rtt_ms: float, host: str = "127.0.0.1", port: int = 0):
        if rtt_ms < 0:
            raise ValueError(f"rtt_ms must be 0 or more, not {rtt_ms}")
        super().__init__(upstream, host, port)
        self.delay = rtt_ms / 2000.0  # seconds, one way
        self.connections = 0

    def _accept(self, client: socket.socket) -> None:
        self.connections += 1
        threading.Thread(
            target=self._connect, args=(client,), name=f"{self.thread_prefix}-connect", daemon=True
        ).start()

    def _connect(self, client: socket.socket) -> None:
        if (server := self._dial(client)) is not None:
            _Connection(client, server, self.delay).start()


class _Connection(Connection):
    """Two directions, each a reader and a writer thread; the last of the four to end
    closes both sockets. An error drops both ends: that wakes the readers, whose writers
    then stop too."""

    def __init__(self, client: socket.socket, server: socket.socket, delay: float) -> None:
        super().__init__(client, server, threads=4)
        self.delay = delay

    def start(self) -> None:
        client, server = self.sockets
        for source, sink in ((client, server), (server, client)):
            chunks: queue.SimpleQueue = queue.SimpleQueue()
            threading.Thread(target=self._read, args=(source, chunks), name="proxy-read", daemon=True).start()
            threading.Thread(target=self._write, args=(sink, chunks), name="proxy-write", daemon=True).start()

    def _read(self, source: socket.socket, chunks: queue.SimpleQueue) -> None:
        try:
            while True:
                try:
                    data = source.recv(CHUNK)
                except OSError:
                    chunks.put((time.monotonic(), _ERROR))
                    return
                due = time.monotonic() + self.delay
                chunks.put((due, data))
                if not data:
                    return
        finally:
            self._thread_ended()

    def _write(self, sink: socket.socket, chunks: queue.SimpleQueue) -> None:
        try:
            while True:
                due, data = chunks.get()
                while (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                if data is _ERROR:
                    self.drop()
                    return
                if data == _EOF:
                    with contextlib.suppress(OSError):
                        sink.shutdown(socket.SHUT_WR)
                    return
                try:
                    sink.sendall(data)
                except OSError:
                    self.drop()
                    return
        finally:
            self._thread_ended()


@dataclass
class ProxyProcess:
    """A latency proxy running as a child process, in its own process group."""

    address: str  # host:port it listens on
    upstream: str
    rtt_ms: float
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        from devtools.servers import stop_process_group

        stop_process_group(self.process)


def start(upstream: str, rtt_ms: float, log_path: Path, timeout: float = 30) -> ProxyProcess:
    """`python -m bench.latency_proxy` on a free port in front of `upstream` (host:port);
    returns once it listens. Its output goes to `log_path`."""
    from devtools.servers import start_logged

    root = Path(__file__).resolve().parent.parent
    command = [
        sys.executable,
        "-m",
        "bench.latency_proxy",
        "--listen-port",
        "0",
        "--upstream",
        upstream,
        "--rtt-ms",
        f"{rtt_ms:g}",
    ]
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    )
    process = start_logged(command, log_path, cwd=root, env=env)
    deadline = time.monotonic() + timeout
    while True:
        if found := READY.search(log_path.read_text(errors="replace")):
            return ProxyProcess(found.group(1), upstream, rtt_ms, process)
        if process.poll() is not None:
            raise RuntimeError(
                f"latency proxy exited with {process.returncode}: {log_path.read_text()[-2000:]}"
            )
        if time.monotonic() > deadline:
            ProxyProcess("", upstream, rtt_ms, process).stop()
            raise RuntimeError(f"latency proxy not listening after {timeout} s; see {log_path}")
        time.sleep(0.05)


def _tight_timers() -> None:
    """Linux: wake sleeping threads on time rather than up to 50 µs late (the default
    timer slack); threads created afterwards inherit it. Elsewhere, nothing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("bench.latency_proxy", __doc__)
    parser.add_argument("--rtt-ms", type=float, required=True, help="round-trip time to add, ms")
    args = parser.parse_args(argv)

    _tight_timers()
    exit_on_signal_or_orphaning(LatencyProxy.thread_prefix)
    proxy = LatencyProxy(args.upstream, args.rtt_ms, args.listen_host, args.listen_port)
    upstream = f"{args.upstream[0]}:{args.upstream[1]}"
    print(f"latency proxy {proxy.address} -> {upstream}, RTT {args.rtt_ms:g} ms", flush=True)
    return serve_until_exit(proxy)


if __name__ == "__main__":
    raise SystemExit(main())
