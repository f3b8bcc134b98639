"""A TCP proxy that tests can cut and restore, to make a server "go away" and come back.

Cutting drops every open connection and, until `start()` restores the proxy, closes
each new one as soon as it is accepted: what clients see when a MongoDB primary fails
over or a network drops, while the server behind it (mongoeco or a real MongoDB)
keeps its data.

The proxy never gives up its port while cut. Re-binding it later would race with
the rest of the machine: any loopback connection (a client reconnecting to this very
port, say) may get it as its source port meanwhile, and then the bind fails.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = "127.0.0.1"
        self.port = 0
        self._listener: socket.socket | None = None
        # Under _lock: `down` and the registered sockets, so that no connection is
        # registered after a cut has closed them all.
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.down = False
        self.cuts = 0

    def start(self) -> None:
        """Listen on a free port the first time; after a cut, pass connections through again."""
        with self._lock:
            self.down = False
            if self._listener is not None:
                return
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(64)
            self.port = listener.getsockname()[1]
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Drop every connection, and every new one until `start()`; the port stays taken."""
        with self._lock:
            self.cuts += 1
            self.down = True
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def close(self) -> None:
        """Cut, and give up the port for good."""
        self.cut()
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                down = self.down
            if down:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                # A cut while connecting upstream: this pair must not get through.
                down = self.down
                if not down:
                    self._sockets |= {client, server}
            if down:
                _close(client)
                _close(server)
                continue
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
