"""bench/latency_proxy.py against a local echo server: every round trip takes at least
the RTT, and a large transfer arrives byte for byte, in order.

Only the lower bound is asserted (it is the proxy's contract); how much later than that
things arrive depends on the machine's load, so those figures are printed, not checked.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from bench import latency_proxy
from bench.run import mongo_upstream, proxied_mongo_uri

RTT_MS = 40
LARGE = 16 * 1024 * 1024  # bytes each way


@contextlib.contextmanager
def echo_server() -> Iterator[str]:
    """A TCP server on a free port that sends back whatever it receives, and closes its
    side once the client has closed its own."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Iterator[latency_proxy.ProxyProcess]:
    """The proxy as the bench runs it: `python -m bench.latency_proxy` in its own process."""
    with echo_server() as upstream:
        running = latency_proxy.start(upstream, RTT_MS, tmp_path_factory.mktemp("proxy") / "proxy.log")
        try:
            yield running
        finally:
            running.stop()


def connect(address: str) -> socket.socket:
    host, _, port = address.rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def receive_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, received = [], 0
    while received < size:
        chunk = sock.recv(min(65536, size - received))
        assert chunk, f"connection closed after {received} of {size} bytes"
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def test_each_round_trip_takes_at_least_the_rtt(proxy):
    with connect(proxy.address) as sock:
        timings = []
        for n in range(10):
            message = f"ping {n}".encode()
            started = time.monotonic()
            sock.sendall(message)
            assert receive_exactly(sock, len(message)) == message
            timings.append(time.monotonic() - started)
    print(
        f"round trips through a {RTT_MS} ms proxy: " + ", ".join(f"{t * 1000:.1f}" for t in timings) + " ms"
    )
    assert min(timings) >= RTT_MS / 1000


def test_a_large_transfer_arrives_exactly_and_in_order(proxy):
    # Bytes that differ everywhere (a counter's digests), so a dropped, duplicated or
    # reordered chunk shows.
    block = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(LARGE // 32))
    received: list[bytes] = []
    with connect(proxy.address) as sock:
        started = time.monotonic()

        def send() -> None:
            for offset in range(0, len(block), 100_000):
                sock.sendall(block[offset : offset + 100_000])
            sock.shutdown(socket.SHUT_WR)  # the echo server closes once it has seen the end

        sender = threading.Thread(target=send)
        sender.start()
        while chunk := sock.recv(1 << 20):
            received.append(chunk)
        sender.join()
        seconds = time.monotonic() - started
    echoed = b"".join(received)
    print(f"{LARGE / 1e6:.0f} MB each way through a {RTT_MS} ms proxy in {seconds:.2f} s")
    assert len(echoed) == len(block)
    assert echoed == block
    assert seconds >= RTT_MS / 1000


def test_connections_are_independent(proxy):
    """Two connections at once, each answered in its own order."""
    with connect(proxy.address) as first, connect(proxy.address) as second:
        first.sendall(b"one")
        second.sendall(b"two")
        assert receive_exactly(second, 3) == b"two"
        assert receive_exactly(first, 3) == b"one"


def test_in_process_proxy_with_zero_rtt_forwards_too():
    with echo_server() as upstream:
        host, _, port = upstream.rpartition(":")
        proxy = latency_proxy.LatencyProxy((host, int(port)), 0).start()
        try:
            with connect(proxy.address) as sock:
                sock.sendall(b"hello")
                assert receive_exactly(sock, 5) == b"hello"
        finally:
            proxy.close()


@pytest.mark.parametrize(
    ("uri", "upstream"),
    [
        ("mongodb://127.0.0.1:5000/?directConnection=true", "127.0.0.1:5000"),
        ("mongodb://user:pw@db.example.com/admin", "db.example.com:27017"),
        ("mongodb://[::1]:27018/", "::1:27018"),
        ("mongodb://a:1,b:2/?replicaSet=rs", None),
        ("mongodb+srv://cluster.example.com/", None),
        ("mongodb://db.example.com:27017/?tls=true", None),
        ("mongodb://db.example.com:27017/?replicaSet=rs0", None),
    ],
)
def test_which_mongodb_uris_the_bench_can_proxy(uri, upstream):
    assert mongo_upstream(uri)[0] == upstream


def test_a_proxied_uri_keeps_credentials_and_options_and_connects_directly():
    uri = "mongodb://user:p%40ss@db.example.com:27017/admin?authSource=admin&directConnection=false"
    assert proxied_mongo_uri(uri, "127.0.0.1:4000") == (
        "mongodb://user:p%40ss@127.0.0.1:4000/admin?authSource=admin&directConnection=true"
    )
