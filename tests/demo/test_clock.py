"""demo.clock: the controlled clock seed_demo plays history on, and the stage that interleaves scripts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from demo.clock import Stage, controlled_clock

PAST = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai


def test_now_and_localdate_follow_the_clock_and_come_back_after() -> None:
    real = timezone.now
    with controlled_clock(PAST) as clock:
        assert timezone.now() == PAST
        assert timezone.localdate() == PAST.date()
        assert timezone.localtime().hour == 9
        clock.advance(minutes=90)
        assert timezone.now() == PAST + timedelta(minutes=90)
        clock.at(PAST + timedelta(days=2))
        assert timezone.localdate() == (PAST + timedelta(days=2)).date()
    assert timezone.now is real
    assert timezone.now() - datetime.now(UTC) < timedelta(seconds=5)


def test_other_threads_keep_the_real_time() -> None:
    seen: list[datetime] = []
    with controlled_clock(PAST):
        worker = threading.Thread(target=lambda: seen.append(timezone.now()))
        worker.start()
        worker.join()
        assert timezone.now() == PAST
    assert seen[0] > PAST + timedelta(days=30)


def test_the_clock_goes_neither_back_nor_into_the_future_nor_twice() -> None:
    with controlled_clock(PAST) as clock:
        clock.advance(hours=1)
        with pytest.raises(ValueError, match="does not go back"):
            clock.at(PAST)
        with pytest.raises(ValueError, match="plays the past"):
            clock.at(datetime.now(UTC) + timedelta(minutes=1))
        with pytest.raises(ValueError, match="aware"):
            clock.at(datetime(2025, 3, 4))
        with pytest.raises(RuntimeError, match="already running"), controlled_clock(PAST):
            pass
        assert timezone.now() == PAST + timedelta(hours=1)
    with pytest.raises(ValueError, match="plays the past"), controlled_clock(datetime.now(UTC) + timedelta(days=1)):
        pass


def test_the_clock_is_restored_when_the_play_fails() -> None:
    real = timezone.now
    with pytest.raises(KeyError), controlled_clock(PAST):
        raise KeyError("boom")
    assert timezone.now is real
    with controlled_clock(PAST):  # and may be entered again
        assert timezone.now() == PAST


def test_the_stage_plays_scripts_interleaved_in_time_order() -> None:
    log: list[tuple[str, datetime]] = []

    def script(name: str, *minutes: int) -> Iterator[datetime]:
        for minute in minutes:
            yield PAST + timedelta(minutes=minute)
            log.append((name, timezone.now()))

    def parent(stage: Stage) -> Iterator[datetime]:
        yield PAST + timedelta(minutes=2)
        log.append(("parent", timezone.now()))
        stage.add(script("child", 3, 9))

    with controlled_clock(PAST) as clock:
        stage = Stage(clock)
        stage.add(script("a", 0, 5, 10))
        stage.add(script("b", 1, 4))
        stage.add(parent(stage))
        stage.run()
    assert [(name, int((at - PAST).total_seconds() // 60)) for name, at in log] == [
        ("a", 0),
        ("b", 1),
        ("parent", 2),
        ("child", 3),
        ("b", 4),
        ("a", 5),
        ("child", 9),
        ("a", 10),
    ]
