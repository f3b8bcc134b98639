"""A TCP proxy that breaks connections on purpose: it forwards bytes untouched, and drops
them when told to, or at random, to show what a client does when its server goes away.

    python -m bench.fault_proxy --listen-port 27018 --upstream 127.0.0.1:27017 --cut-every 2-5

It knows nothing of the protocol behind it (MongoDB's, the emulator's gRPC): it forwards
bytes. Three faults, as a client meets them:

- A cut (`cut()`): every open connection is dropped at once, both its sockets shut down,
  so the client reads EOF (or a reset) and the server sees its client go. New connections
  keep working: what a load balancer restart, a NAT timeout or a failover to a server that
  is already up looks like. `start_cutting(every=(2, 5))` cuts at random intervals, each
  drawn uniformly from that range (seeded, so a run can be repeated), until
  `stop_cutting()`; `.cuts` counts the cuts.
- An outage (`down()` … `up()`, or `outage(seconds)`): a cut, and until it ends every new
  connection is accepted and closed at once, as when the server is gone for a while.
- Closing (`close()`): the proxy drops everything and gives up its port.

The proxy never gives up its port while it is down. Re-binding it later would race with
the rest of the machine: any loopback connection (a client reconnecting to this very
port, say) may get it as its source port meanwhile, and then the bind fails.

Each connection has a thread per direction. An end that closes its sending side (EOF) is
passed on as the same half-close; an error on either socket drops both, and the last of
the two threads closes them. Run as a process, the proxy exits on SIGTERM or SIGINT, and
by itself when the process that started it goes away. The listening, dialling and process
plumbing is bench/proxy_base.py's, shared with bench/latency_proxy.py.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator

from bench.proxy_base import (
    Connection,
    ListeningProxy,
    argument_parser,
    close_socket,
    exit_on_signal_or_orphaning,
    serve_until_exit,
)

CHUNK = 256 * 1024  # bytes per recv at most
READY = re.compile(r"^fault proxy (\S+) -> ", re.MULTILINE)


def cut_intervals(every: tuple[float, float], rng: random.Random) -> Iterator[float]:
    """Seconds between random cuts: endless draws, each uniform in `every` (low, high)."""
    low, high = every
    if not 0 < low <= high:
        raise ValueError(f"cut interval must be a range 0 < low <= high, not {every!r}")
    return (rng.uniform(low, high) for _ in itertools.count())


def parse_range(text: str) -> tuple[float, float]:
    """'2-5' → (2.0, 5.0) seconds; '3' → (3.0, 3.0)."""
    low, _, high = text.partition("-")
    try:
        every = (float(low), float(high or low))
        cut_intervals(every, random.Random())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected seconds as LOW-HIGH (0 < LOW <= HIGH), not {text!r}"
        ) from None
    return every


class FaultProxy(ListeningProxy):
    """Listens on (host, port) (port 0: any free one; see .port) and forwards every
    connection to `upstream` until it is cut. `sleep` is what `outage()` waits with."""

    label = "fault proxy"
    thread_prefix = "fault"

    def __init__(
        self,
        upstream: tuple[str, int],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(upstream, host, port)
        self._sleep = sleep
        self._log = log
        # Under _lock: the counters, the state and the open connections, so that no
        # connection is let through after a cut or while down.
        self._lock = threading.Lock()
        self._cut_made = threading.Condition(self._lock)
        self._open: set[_Connection] = set()
        self._down = False
        self._switches = 0  # down()s and up()s so far: an outage ends only its own downtime
        self._epoch = 0  # cuts so far, counting close(): a connection accepted before one is dropped
        self._cutter: tuple[threading.Thread, threading.Event] | None = None
        self.cuts = 0
        self.connections = 0  # passed through
        self.refused = 0  # accepted and closed at once, while down

    @property
    def is_down(self) -> bool:
        with self._lock:
            return self._down

    def _accept(self, client: socket.socket) -> None:
        with self._lock:
            down, epoch = self._down, self._epoch
            if down:
                self.refused += 1
        if down:
            close_socket(client)
            return
        threading.Thread(
            target=self._connect, args=(client, epoch), name=f"{self.thread_prefix}-connect", daemon=True
        ).start()

    def cut(self) -> int:
        """Drop every open connection now; new ones go through (unless down). Returns how
        many were dropped."""
        with self._lock:
            self.cuts += 1
            number = self.cuts
            self._cut_made.notify_all()
        dropped = self._drop_all()
        if self._log:
            self._log(f"fault proxy: cut {number} dropped {dropped} connection(s)")
        return dropped

    def wait_for_cuts(self, count: int, timeout: float | None = None) -> bool:
        """Block until `.cuts` reaches `count`; False if `timeout` seconds passed first."""
        with self._cut_made:
            return self._cut_made.wait_for(lambda: self.cuts >= count, timeout)

    def down(self) -> None:
        """Cut, and from now on accept and close every new connection, until up(). The port
        stays taken."""
        with self._lock:
            self._down = True
            self._switches += 1
        self.cut()

    def up(self) -> None:
        """Pass new connections through again."""
        with self._lock:
            self._down = False
            self._switches += 1

    def outage(self, seconds: float) -> threading.Event:
        """down() now, and up() after `seconds` unless down() or up() was called meanwhile
        (the last call decides). Returns at once; the event is set when the time is up."""
        if seconds < 0:
            raise ValueError(f"seconds must be 0 or more, not {seconds}")
        self.down()
        with self._lock:
            switch = self._switches
        over = threading.Event()

        def end() -> None:
            self._sleep(seconds)
            with self._lock:
                if self._switches == switch:
                    self._down = False
                    self._switches += 1
            over.set()

        threading.Thread(target=end, name="fault-outage", daemon=True).start()
        return over

    def start_cutting(self, every: tuple[float, float] = (2.0, 5.0), seed: int | None = None) -> None:
        """cut() at random intervals, each uniform in `every` seconds, until stop_cutting()."""
        intervals = cut_intervals(every, random.Random(seed))
        stop = threading.Event()
        thread = threading.Thread(
            target=self._cut_at_random, args=(intervals, stop), name="fault-cutter", daemon=True
        )
        with self._lock:
            if self._cutter is not None:
                raise RuntimeError("already cutting; stop_cutting() first")
            self._cutter = (thread, stop)
        thread.start()

    def stop_cutting(self) -> None:
        """No more random cuts once this returns."""
        with self._lock:
            cutter, self._cutter = self._cutter, None
        if cutter is not None:
            thread, stop = cutter
            stop.set()
            thread.join()

    def close(self) -> None:
        """Stop cutting, drop every connection and give up the port for good."""
        self._closed.set()
        self.stop_cutting()
        super().close()
        self._drop_all()

    def _cut_at_random(self, intervals: Iterator[float], stop: threading.Event) -> None:
        for interval in intervals:
            if stop.wait(interval):
                return
            self.cut()

    def _drop_all(self) -> int:
        with self._lock:
            self._epoch += 1
            dropped, self._open = self._open, set()
        for connection in dropped:
            connection.drop()
        return len(dropped)

    def _connect(self, client: socket.socket, epoch: int) -> None:
        if (server := self._dial(client)) is None:
            return
        connection = _Connection(client, server, self._forget)
        with self._lock:
            # Cut, down or closed while connecting upstream: this one must not get through.
            let_through = not self._down and self._epoch == epoch and not self._closed.is_set()
            if let_through:
                self._open.add(connection)
                self.connections += 1
        if let_through:
            connection.start()
        else:
            close_socket(client)
            close_socket(server)

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._open.discard(connection)


class _Connection(Connection):
    """A thread per direction; the last of the two to end closes both sockets, then calls
    `ended` with this connection."""

    def __init__(
        self, client: socket.socket, server: socket.socket, ended: Callable[[_Connection], None]
    ) -> None:
        super().__init__(client, server, threads=2)
        self._ended = ended

    def start(self) -> None:
        client, server = self.sockets
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(source, sink), name="fault-pump", daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(CHUNK):
                sink.sendall(data)
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
        except OSError:
            self.drop()
        finally:
            if self._thread_ended():
                self._ended(self)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("bench.fault_proxy", __doc__)
    parser.add_argument(
        "--cut-every", type=parse_range, required=True, help="seconds between cuts, drawn uniformly: LOW-HIGH"
    )
    parser.add_argument("--seed", type=int, default=None, help="for the random intervals (default: any)")
    args = parser.parse_args(argv)

    exit_on_signal_or_orphaning(FaultProxy.thread_prefix)
    proxy = FaultProxy(
        args.upstream, args.listen_host, args.listen_port, log=lambda line: print(line, flush=True)
    )
    low, high = args.cut_every
    upstream = f"{args.upstream[0]}:{args.upstream[1]}"
    print(f"fault proxy {proxy.address} -> {upstream}, cutting every {low:g}-{high:g} s", flush=True)
    proxy.start_cutting(args.cut_every, args.seed)
    return serve_until_exit(proxy)


if __name__ == "__main__":
    raise SystemExit(main())
