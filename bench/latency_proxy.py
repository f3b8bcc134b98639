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
behind).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

CHUNK = 256 * 1024  # bytes per recv: no cap, only how much one read takes at most
_EOF = b""
_ERROR = None
PR_SET_TIMERSLACK = 29  # linux/prctl.h
READY = re.compile(r"^latency proxy (\S+) -> ", re.MULTILINE)


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected host:port, not {text!r}")
    return host.strip("[]"), int(port)


class LatencyProxy:
    """Listens on (host, port) (port 0: any free one; see .port) and forwards every
    connection to `upstream`, each chunk `rtt_ms` / 2 late in each direction."""

    def __init__(self, upstream: tuple[str, int], rtt_ms: float, host: str = "127.0.0.1", port: int = 0):
        if rtt_ms < 0:
            raise ValueError(f"rtt_ms must be 0 or more, not {rtt_ms}")
        self.upstream = upstream
        self.delay = rtt_ms / 2000.0  # seconds, one way
        self._listener = socket.create_server((host, port), backlog=128)
        self.host, self.port = self._listener.getsockname()[:2]
        self._closed = threading.Event()
        self.connections = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def serve_forever(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                if self._closed.is_set():
                    return
                raise
            self.connections += 1
            threading.Thread(target=self._connect, args=(client,), name="proxy-connect", daemon=True).start()

    def start(self) -> LatencyProxy:
        """Serve in a background thread (for tests); close() stops accepting."""
        threading.Thread(target=self.serve_forever, name="proxy-accept", daemon=True).start()
        return self

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _connect(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=10)
        except OSError as error:
            print(f"latency proxy: cannot reach {self.upstream}: {error}", file=sys.stderr, flush=True)
            client.close()
            return
        server.settimeout(None)
        for sock in (client, server):
            # Small writes go out at once: Nagle's algorithm would add its own delay.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _Connection(client, server, self.delay).start()


class _Connection:
    """Two directions, each a reader and a writer thread; the last of the four to end
    closes both sockets."""

    def __init__(self, client: socket.socket, server: socket.socket, delay: float) -> None:
        self.sockets = (client, server)
        self.delay = delay
        self._running = 4
        self._lock = threading.Lock()

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
            self._ended()

    def _write(self, sink: socket.socket, chunks: queue.SimpleQueue) -> None:
        try:
            while True:
                due, data = chunks.get()
                while (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                if data is _ERROR:
                    self._abort()
                    return
                if data == _EOF:
                    with contextlib.suppress(OSError):
                        sink.shutdown(socket.SHUT_WR)
                    return
                try:
                    sink.sendall(data)
                except OSError:
                    self._abort()
                    return
        finally:
            self._ended()

    def _abort(self) -> None:
        """Drop both ends: wakes this connection's readers, whose writers then stop too."""
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _ended(self) -> None:
        with self._lock:
            self._running -= 1
            last = self._running == 0
        if last:
            for sock in self.sockets:
                sock.close()


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


def _exit_with_parent(parent: int) -> None:
    """End this process once `parent` is gone (it gets reparented)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.latency_proxy", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--listen-port", type=int, required=True, help="0: any free port (printed)")
    parser.add_argument("--upstream", type=parse_address, required=True, help="host:port to forward to")
    parser.add_argument("--rtt-ms", type=float, required=True, help="round-trip time to add, ms")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _tight_timers()
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="proxy-parent", daemon=True).start()
    proxy = LatencyProxy(args.upstream, args.rtt_ms, args.listen_host, args.listen_port)
    upstream = f"{args.upstream[0]}:{args.upstream[1]}"
    print(f"latency proxy {proxy.address} -> {upstream}, RTT {args.rtt_ms:g} ms", flush=True)
    try:
        proxy.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
