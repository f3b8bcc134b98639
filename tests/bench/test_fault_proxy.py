"""bench/fault_proxy.py against a local echo server: bytes pass both ways; cut(), down()/up(),
outage() and close() drop and refuse what they say and nothing more; random cuts come at
intervals drawn from their range; the CLI forwards, cuts, and ends on a signal or with its
parent.

Nothing here waits for a duration to pass: tests follow events and counters, outages use
an injected sleep, and every wait has a generous guard (GUARD) that only a hang reaches.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import fault_proxy
from bench.fault_proxy import FaultProxy, cut_intervals, parse_range

ROOT = Path(__file__).resolve().parents[2]
GUARD = 60  # seconds: only a hang waits this long


class Echo:
    """A TCP server on a free port that sends back what it receives, closes its side once
    the client has closed its own, and counts its connections that ended."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = ("127.0.0.1", self._listener.getsockname()[1])
        self._ended = threading.Semaphore(0)
        threading.Thread(target=self._accept, daemon=True).start()

    def wait_ended(self, count: int) -> bool:
        return all(self._ended.acquire(timeout=GUARD) for _ in range(count))

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)
        except OSError:
            pass
        finally:
            self._ended.release()


@pytest.fixture
def echo() -> Iterator[Echo]:
    server = Echo()
    yield server
    server.close()


@pytest.fixture
def proxy(echo) -> Iterator[FaultProxy]:
    running = FaultProxy(echo.address).start()
    yield running
    running.close()


def connect(address: str) -> socket.socket:
    host, _, port = address.rpartition(":")
    return socket.create_connection((host, int(port)), timeout=GUARD)


def round_trip(sock: socket.socket, message: bytes = b"ping") -> None:
    sock.sendall(message)
    received = b""
    while len(received) < len(message):
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {len(received)} of {len(message)} bytes"
        received += chunk
    assert received == message


def echo_through(address: str, payload: bytes) -> bytes:
    """Send `payload` and close the sending side (while reading, so neither side blocks);
    everything received until EOF."""
    with connect(address) as sock:

        def send() -> None:
            for offset in range(0, len(payload), 100_000):
                sock.sendall(payload[offset : offset + 100_000])
            sock.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send)
        sender.start()
        received = []
        while chunk := sock.recv(1 << 20):
            received.append(chunk)
        sender.join()
    return b"".join(received)


def assert_dropped(sock: socket.socket) -> None:
    """The proxy closed this connection: reading gives EOF or a reset, not a hang."""
    with sock:
        try:
            data = sock.recv(1)
        except ConnectionResetError:
            return
        assert data == b""


# --- forwarding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"x", id="one-byte"),
        pytest.param(b"hello, server" * 100, id="small"),
        # Bytes that differ everywhere, so a dropped, repeated or reordered chunk shows.
        pytest.param(
            b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(1 << 17)), id="4MB"
        ),
        pytest.param(b"", id="nothing-just-the-half-close"),
    ],
)
def test_bytes_pass_both_ways_and_a_half_close_is_passed_on(proxy, payload):
    assert echo_through(proxy.address, payload) == payload
    assert proxy.connections == 1
    assert proxy.cuts == 0


def test_many_round_trips_on_concurrent_connections(proxy):
    sockets = [connect(proxy.address) for _ in range(5)]
    for n, sock in itertools.product(range(20), sockets):
        round_trip(sock, f"message {n}".encode())
    for sock in sockets:
        sock.close()
    assert proxy.connections == 5


# --- cut ------------------------------------------------------------------------------


@pytest.mark.parametrize("open_connections", [0, 1, 3])
def test_cut_drops_every_open_connection_at_both_ends_and_new_ones_work(echo, proxy, open_connections):
    clients = [connect(proxy.address) for _ in range(open_connections)]
    for client in clients:
        round_trip(client)  # through the proxy, so it holds the connection

    assert proxy.cut() == open_connections

    assert proxy.cuts == 1
    for client in clients:
        assert_dropped(client)
    assert echo.wait_ended(open_connections)  # the server saw its end go too
    with connect(proxy.address) as fresh:
        round_trip(fresh)
    assert proxy.connections == open_connections + 1


def test_cuts_are_counted_across_threads(proxy):
    threads = [threading.Thread(target=proxy.cut) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert proxy.cuts == 8
    assert proxy.wait_for_cuts(8, timeout=0)
    assert not proxy.wait_for_cuts(9, timeout=0)


# --- down / up, outage ----------------------------------------------------------------


def assert_refused(proxy: FaultProxy) -> None:
    """A new connection is accepted (the port is still bound) and closed at once."""
    refused = proxy.refused
    assert_dropped(connect(proxy.address))
    assert proxy.refused == refused + 1


def test_down_cuts_and_refuses_new_connections_until_up(echo, proxy):
    before = connect(proxy.address)
    round_trip(before)
    port = proxy.port

    proxy.down()

    assert proxy.is_down
    assert proxy.cuts == 1
    assert_dropped(before)
    for _ in range(3):
        assert_refused(proxy)
    assert proxy.connections == 1  # none of the refused reached the server
    proxy.up()
    assert not proxy.is_down
    assert proxy.port == port
    with connect(proxy.address) as after:
        round_trip(after)
    assert proxy.connections == 2
    assert proxy.refused == 3


class HeldSleep:
    """An injected sleep that reports how long it was asked for and returns only when
    the test releases it."""

    def __init__(self) -> None:
        self.asked: queue.Queue[float] = queue.Queue()
        self.release = threading.Event()

    def __call__(self, seconds: float) -> None:
        self.asked.put(seconds)
        self.release.wait(GUARD)


@pytest.mark.parametrize(
    ("meanwhile", "down_after"),
    [
        pytest.param(None, False, id="ends-by-itself"),
        pytest.param("up", False, id="up-early"),
        pytest.param("down", True, id="down-meanwhile-outlasts-it"),
    ],
)
def test_an_outage_refuses_connections_until_its_time_is_up(echo, meanwhile, down_after):
    sleep = HeldSleep()
    proxy = FaultProxy(echo.address, sleep=sleep).start()
    try:
        before = connect(proxy.address)
        round_trip(before)

        over = proxy.outage(30)

        assert sleep.asked.get(timeout=GUARD) == 30
        assert proxy.cuts == 1
        assert_dropped(before)
        assert_refused(proxy)
        if meanwhile:
            getattr(proxy, meanwhile)()
        sleep.release.set()
        assert over.wait(GUARD)
        assert proxy.is_down is down_after
        if down_after:
            assert_refused(proxy)
        else:
            with connect(proxy.address) as after:
                round_trip(after)
    finally:
        proxy.close()


def test_an_outage_of_negative_length_is_an_error(proxy):
    with pytest.raises(ValueError, match="0 or more"):
        proxy.outage(-1)
    assert not proxy.is_down


# --- close ----------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["passing", "down", "cutting"])
def test_close_drops_connections_and_frees_the_port(echo, state):
    proxy = FaultProxy(echo.address).start()
    client = connect(proxy.address)
    round_trip(client)
    if state == "down":
        proxy.down()
    if state == "cutting":
        proxy.start_cutting(every=(1000, 1000))

    proxy.close()

    assert_dropped(client)
    with socket.create_server(("127.0.0.1", proxy.port)):
        pass  # the port is free to bind again


# --- random cuts ----------------------------------------------------------------------


def test_random_cutting_cuts_open_connections_until_stopped(proxy):
    client = connect(proxy.address)
    round_trip(client)

    proxy.start_cutting(every=(0.001, 0.01), seed=7)
    with pytest.raises(RuntimeError, match="already cutting"):
        proxy.start_cutting()

    assert proxy.wait_for_cuts(3, timeout=GUARD)
    assert_dropped(client)
    proxy.stop_cutting()
    cuts = proxy.cuts
    with connect(proxy.address) as after:
        round_trip(after)  # no cutter left to drop it
    assert proxy.cuts == cuts
    proxy.stop_cutting()  # again: nothing to stop


@pytest.mark.parametrize("every", [(2.0, 5.0), (0.5, 0.5), (0.001, 10.0)])
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_cut_intervals_lie_in_the_range_and_follow_the_seed(every, seed):
    low, high = every
    draws = list(itertools.islice(cut_intervals(every, random.Random(seed)), 1000))

    assert all(low <= draw <= high for draw in draws)
    assert draws == list(itertools.islice(cut_intervals(every, random.Random(seed)), 1000))
    assert len(set(draws)) == (1 if low == high else 1000)


@pytest.mark.parametrize("every", [(0, 1), (-1, 1), (5, 2)])
def test_a_range_that_is_not_one_is_an_error(proxy, every):
    with pytest.raises(ValueError, match="0 < low <= high"):
        cut_intervals(every, random.Random())
    with pytest.raises(ValueError, match="0 < low <= high"):
        proxy.start_cutting(every)


@pytest.mark.parametrize(
    ("text", "every"),
    [
        ("2-5", (2.0, 5.0)),
        ("0.5-1.5", (0.5, 1.5)),
        ("3", (3.0, 3.0)),
        ("5-2", None),
        ("0", None),
        ("a-b", None),
    ],
)
def test_parse_range(text, every):
    if every is None:
        with pytest.raises(Exception, match="LOW-HIGH"):
            parse_range(text)
    else:
        assert parse_range(text) == every


# --- the CLI --------------------------------------------------------------------------


class Output:
    """A process's output, line by line, as it comes (None at its end)."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        while (line := self.lines.get(timeout=GUARD)) is not None:
            self.seen.append(line)
            if found := pattern.search(line):
                return found
        raise AssertionError(f"output ended without {pattern.pattern!r}: {''.join(self.seen)}")

    def wait_for_end(self) -> None:
        while self.lines.get(timeout=GUARD) is not None:
            pass


def cli_command(echo: Echo, *options: str) -> list[str]:
    upstream = f"{echo.address[0]}:{echo.address[1]}"
    return [sys.executable, "-m", "bench.fault_proxy", "--listen-port", "0", "--upstream", upstream, *options]


@contextlib.contextmanager
def spawned(command: list[str]) -> Iterator[tuple[subprocess.Popen, Output]]:
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield process, Output(process.stdout)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_cli_forwards_until_a_signal_ends_it(echo, signum):
    with spawned(cli_command(echo, "--cut-every", "1000-2000", "--seed", "1")) as (process, output):
        address = output.wait_for(fault_proxy.READY).group(1)

        assert echo_through(address, b"through the process") == b"through the process"

        process.send_signal(signum)
        assert process.wait(timeout=GUARD) == 0


def test_the_cli_cuts_at_random(echo):
    with spawned(cli_command(echo, "--cut-every", "0.01-0.05", "--seed", "3")) as (_, output):
        address = output.wait_for(fault_proxy.READY).group(1)
        assert_dropped(connect(address))
        output.wait_for(re.compile(r"^fault proxy: cut \d+ dropped"))


def test_the_cli_exits_when_its_parent_dies(echo):
    # A parent that starts the proxy (which inherits its output) and waits forever.
    command = cli_command(echo, "--cut-every", "1000")
    parent_code = f"import subprocess, time; subprocess.Popen({command!r}); time.sleep(3600)"
    with spawned([sys.executable, "-c", parent_code]) as (parent, output):
        address = output.wait_for(fault_proxy.READY).group(1)

        parent.kill()
        parent.wait()

        output.wait_for_end()  # the proxy held the output open: it has exited
        with pytest.raises(ConnectionRefusedError):
            connect(address)


@pytest.mark.parametrize(
    "options",
    [["--cut-every", "5-2"], ["--cut-every", "0"], ["--cut-every", "2-5", "--upstream", "no-port"]],
    ids=["reversed-range", "zero", "bad-upstream"],
)
def test_the_cli_rejects_bad_options(echo, options, capsys):
    with pytest.raises(SystemExit) as exited:
        fault_proxy.main(cli_command(echo, *options)[3:])
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err
