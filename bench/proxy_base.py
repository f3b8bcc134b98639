"""What the bench's TCP proxies (bench/latency_proxy.py, bench/fault_proxy.py) share: a
listening socket whose accept loop hands each new client to the subclass, the dial to the
upstream, the pair of sockets a connection is, and running as a process of its own.

A subclass sets `label` (its messages) and `thread_prefix` (its thread names) and
implements `_accept(client)`, called in the accept thread for each client socket: it must
return at once, so anything slow (dialling upstream with `_dial`) belongs in a thread.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import threading
import time
from typing import Self


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected host:port, not {text!r}")
    return host.strip("[]"), int(port)


class ListeningProxy:
    """Listens on (host, port) (port 0: any free one; see .port) and hands every client
    socket it accepts to `_accept`, until close()."""

    label = "proxy"
    thread_prefix = "proxy"

    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream
        self._listener = socket.create_server((host, port), backlog=128)
        self.host, self.port = self._listener.getsockname()[:2]
        self._closed = threading.Event()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def serve_forever(self) -> None:
        """Accept until close() (then return)."""
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                if self._closed.is_set():
                    return
                raise
            self._accept(client)

    def start(self) -> Self:
        """Serve in a background thread (for tests); close() stops accepting."""
        threading.Thread(target=self.serve_forever, name=f"{self.thread_prefix}-accept", daemon=True).start()
        return self

    def close(self) -> None:
        """Stop accepting and give up the port."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _accept(self, client: socket.socket) -> None:
        raise NotImplementedError

    def _dial(self, client: socket.socket) -> socket.socket | None:
        """A connection to upstream for `client`, with Nagle's algorithm off at both ends
        (it would add its own delay to small writes); None, with `client` closed and the
        error on stderr, if upstream cannot be reached."""
        try:
            server = socket.create_connection(self.upstream, timeout=10)
        except OSError as error:
            print(f"{self.label}: cannot reach {self.upstream}: {error}", file=sys.stderr, flush=True)
            close_socket(client)
            return None
        server.settimeout(None)
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return server


class Connection:
    """A client's socket and its upstream one, served by `threads` threads: each calls
    _thread_ended() when it ends, and the last to do so closes both sockets (so no thread
    is ever left using a closed socket's file descriptor)."""

    def __init__(self, client: socket.socket, server: socket.socket, threads: int) -> None:
        self.sockets = (client, server)
        self._running = threads
        self._lock = threading.Lock()

    def drop(self) -> None:
        """Shut both sockets down: both ends see the connection go now, and the threads
        blocked on them wake up."""
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _thread_ended(self) -> bool:
        """One thread fewer; True for the last, which has closed both sockets."""
        with self._lock:
            self._running -= 1
            last = self._running == 0
        if last:
            for sock in self.sockets:
                sock.close()
        return last


def close_socket(sock: socket.socket) -> None:
    """Shut down both directions (the peer sees the connection go now), then close."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def argument_parser(module: str, doc: str) -> argparse.ArgumentParser:
    """`python -m <module>`'s options where to listen and where to forward to; the
    description is the first paragraph of `doc`."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.split("\n\n")[0])
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--listen-port", type=int, required=True, help="0: any free port (printed)")
    parser.add_argument("--upstream", type=parse_address, required=True, help="host:port to forward to")
    return parser


def exit_on_signal_or_orphaning(thread_prefix: str) -> None:
    """For a proxy's main(), first thing: exit (status 0, unwinding, so `finally: close()`
    runs) on SIGTERM or SIGINT, and at once when the process that started this one goes
    away, so that a parent killed with SIGKILL leaves no proxy behind."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: sys.exit(0))
    threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), name=f"{thread_prefix}-parent", daemon=True
    ).start()


def serve_until_exit(proxy: ListeningProxy) -> int:
    """A proxy's main(), last thing: serve until the process exits (see
    exit_on_signal_or_orphaning), then close(). Returns the exit status, 0."""
    try:
        proxy.serve_forever()
    finally:
        proxy.close()
    return 0


def _exit_with_parent(parent: int) -> None:
    """End this process once `parent` is gone (it gets reparented)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)
