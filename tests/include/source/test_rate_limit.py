"""ReadRateLimiter: Firestore's 500/50/5 ramp, capped, shared among partitions."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.source.rate_limit import ReadRateLimiter, read_limiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def limiter(cap: float, share: float = 1.0) -> tuple[ReadRateLimiter, FakeTime]:
    time = FakeTime()
    return ReadRateLimiter(cap, share=share, clock=time.clock, sleep=time.sleep), time


@pytest.mark.parametrize(
    ("cap", "elapsed", "rate"),
    [
        pytest.param(10_000, 0, 500, id="starts-at-500"),
        pytest.param(10_000, 299, 500, id="still-500-before-5-minutes"),
        pytest.param(10_000, 300, 750, id="plus-50-percent-at-5-minutes"),
        pytest.param(10_000, 600, 1125, id="compounds"),
        pytest.param(200, 0, 200, id="cap-below-the-start"),
        pytest.param(1000, 3600, 1000, id="capped-later"),
    ],
)
def test_ramp(cap, elapsed, rate):
    assert limiter(cap)[0].rate_at(elapsed) == pytest.approx(rate)


def test_reads_take_as_long_as_the_rate_demands():
    rate_limiter, time = limiter(10_000)
    for _ in range(10):
        rate_limiter.acquire(500)  # 5,000 reads at 500/s: 10 s
    assert time.now == pytest.approx(10, abs=0.01)


def test_a_partition_gets_its_share_of_the_rate():
    rate_limiter, time = limiter(400, share=1 / 4)  # 100/s for this partition
    rate_limiter.acquire(100)
    rate_limiter.acquire(100)
    assert time.now == pytest.approx(2, abs=0.01)


def test_no_wait_while_under_budget():
    rate_limiter, time = limiter(1000)
    time.now = 10.0
    rate_limiter.acquire(100)
    assert time.now == 10.0


def test_growth_shortens_waits_after_five_minutes():
    early, early_time = limiter(10_000)
    early.acquire(500 * 300)  # the whole first 5 minutes' budget
    assert early_time.now == pytest.approx(300, abs=0.5)
    early.acquire(750)  # one more second at 750/s
    assert early_time.now == pytest.approx(301, abs=0.5)


def test_no_limiter_without_a_rate() -> None:
    assert read_limiter(None, 4) is None


@pytest.mark.parametrize(("partitions", "share"), [(1, 1.0), (4, 0.25)])
def test_each_reader_gets_its_partitions_share(partitions: int, share: float) -> None:
    limiter = read_limiter(200, partitions)
    assert (limiter.rate_at(0), limiter.share) == (pytest.approx(200), pytest.approx(share))
