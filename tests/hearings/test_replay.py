"""The replay of an ended hearing: its chapters (hearings/replay.py) and the office's service that
sets its recording (hearing_set_replay)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from core.errors import BadRequest, Forbidden, NotFound
from hearings import replay, services
from hearings.models import Hearing, Person, Question
from tests.factories import World, make_user, make_world

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) - timedelta(hours=3)
VOD = "https://vod.example.cn/hearing/1/index.m3u8"


def ended(**fields: Any) -> World:
    defaults: dict[str, Any] = {
        "status": Hearing.Status.ENDED,
        "vod_url": VOD,
        "started_at": START,
        "ended_at": START + timedelta(hours=2),
    }
    return make_world(**{**defaults, **fields})


def staged(
    world: World, seconds: float, *, status: str = "answered", answered: float | None = None, **extra: Any
) -> Question:
    at = START + timedelta(seconds=seconds)
    done = at + timedelta(minutes=5) if answered is None else START + timedelta(seconds=answered)
    return Question.objects.create(
        hearing=world.hearing,
        text=f"问题 {seconds}",
        source="public",
        status=status,
        staged_at=at,
        answered_at=done,
        **extra,
    )


def offsets(world: World) -> list[tuple[int, int]]:
    world.hearing.refresh_from_db()
    return [(chapter.question_id, chapter.offset) for chapter in replay.chapters(world.hearing)]


def test_each_public_question_that_came_on_stage_is_a_chapter_at_its_second_of_the_recording() -> None:
    world = ended()
    later = staged(world, 754.9, status="answered")
    first = staged(world, 65)
    on_stage = staged(world, 3725, status="on_stage")
    approved_again = staged(world, 1200, status="approved")  # staged, then put back in the queue
    Question.objects.create(hearing=world.hearing, text="没上台", source="public", status="answered")
    assert offsets(world) == [(first.pk, 65), (later.pk, 754), (approved_again.pk, 1200), (on_stage.pk, 3725)]
    clocks = [chapter.clock for chapter in replay.chapters(world.hearing)]
    assert clocks == ["1:05", "12:34", "20:00", "1:02:05"]


def test_the_recordings_start_is_vod_started_at_or_else_when_the_hearing_started() -> None:
    world = ended()
    question = staged(world, 600)
    assert offsets(world) == [(question.pk, 600)]
    world.hearing.vod_started_at = START + timedelta(seconds=90)
    world.hearing.save()
    assert offsets(world) == [(question.pk, 510)]


def test_questions_never_public_are_never_chapters() -> None:
    world = ended()
    kept = staged(world, 30)
    for status in ("pending", "rejected", "hidden"):
        staged(world, 40, status=status)
    staged(world, 50, dropped=True)
    staged(world, 60, merged_into=kept)
    assert offsets(world) == [(kept.pk, 30)]


def test_a_question_staged_before_the_recording_began_starts_it_if_still_on_stage_else_is_left_out() -> None:
    world = ended(vod_started_at=START + timedelta(seconds=100))
    over = staged(world, 10, answered=60)  # answered before the recording began
    running = staged(world, 50, answered=400)  # still on stage at its start
    unanswered = staged(world, 80, status="on_stage", answered=None)
    Question.objects.filter(pk=unanswered.pk).update(answered_at=None)
    after = staged(world, 160)
    ids = offsets(world)
    assert over.pk not in dict(ids)
    assert ids == [(running.pk, 0), (unanswered.pk, 0), (after.pk, 60)]


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Hearing.Status.LIVE},  # not ended yet: the live stream, no replay
        {"vod_url": ""},  # no recording
        {"started_at": None},  # never started, and no recording start given
    ],
)
def test_no_chapters_without_an_ended_hearing_its_recording_and_its_start(fields: dict[str, Any]) -> None:
    world = ended(**fields)
    staged(world, 30)
    assert offsets(world) == []


@pytest.mark.parametrize(
    ("url", "hls"),
    [
        ("https://v.example.cn/a/index.m3u8", True),
        ("https://v.example.cn/a/INDEX.M3U8?token=1#x", True),
        ("https://v.example.cn/a/replay.mp4", False),
        ("https://v.example.cn/play?file=a.m3u8", False),
    ],
)
def test_hls_or_a_file_the_video_plays_itself(url: str, hls: bool) -> None:
    assert replay.is_hls(url) is hls


# ---------------------------------------------------------------------------- the service


def staff() -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务", role=Person.Role.STAFF)
    return user


def test_staff_set_and_clear_an_ended_hearings_recording_and_it_is_audited() -> None:
    world = ended(vod_url="")
    at = START + timedelta(seconds=42)
    by = staff()
    hearing = services.hearing_set_replay(hearing_id=world.hearing.pk, by=by, vod_url=f"  {VOD} ", vod_started_at=at)
    hearing.refresh_from_db()
    assert (hearing.vod_url, hearing.vod_started_at) == (VOD, at)
    entry = AuditEntry.objects.filter(action="hearing.replay").get()
    assert entry.payload["changed"]["vod_url"] == VOD
    services.hearing_set_replay(hearing_id=world.hearing.pk, by=by, vod_url="", vod_started_at=None)
    hearing.refresh_from_db()
    assert (hearing.vod_url, hearing.vod_started_at) == ("", None)
    # Nothing changed, nothing recorded.
    services.hearing_set_replay(hearing_id=world.hearing.pk, by=by, vod_url="", vod_started_at=None)
    assert AuditEntry.objects.filter(action="hearing.replay").count() == 2


BAD: dict[str, dict[str, Any]] = {
    "not a URL": {"vod_url": "vod.example.cn/1.m3u8"},
    "script": {"vod_url": "javascript:alert(1)"},
    "rtmp": {"vod_url": "rtmp://vod.example.cn/1"},
    "too long": {"vod_url": "https://example.cn/" + "a" * 200},
    "control characters": {"vod_url": "https://example.cn/\x00.m3u8"},
    "after the end": {"vod_started_at": START + timedelta(hours=2, seconds=1)},
    "not a time": {"vod_started_at": "2026-01-01"},
    "naive time": {"vod_started_at": datetime(2026, 1, 1, 9, 0)},
}


@pytest.mark.parametrize("change", BAD.values(), ids=BAD.keys())
def test_a_bad_recording_is_refused_and_nothing_changes(change: dict[str, Any]) -> None:
    world = ended(vod_url="https://vod.example.cn/old.mp4")
    data = {"vod_url": VOD, "vod_started_at": None, **change}
    with pytest.raises(BadRequest):
        services.hearing_set_replay(hearing_id=world.hearing.pk, by=staff(), **data)
    world.hearing.refresh_from_db()
    assert (world.hearing.vod_url, world.hearing.vod_started_at) == ("https://vod.example.cn/old.mp4", None)
    assert not AuditEntry.objects.filter(action="hearing.replay").exists()


def test_only_staff_set_a_recording_of_a_hearing_that_exists() -> None:
    world = ended(vod_url="")
    for user in (world.moderator, world.deputies[0], make_user()):
        with pytest.raises(Forbidden):
            services.hearing_set_replay(hearing_id=world.hearing.pk, by=user, vod_url=VOD, vod_started_at=None)
    with pytest.raises(NotFound):
        services.hearing_set_replay(hearing_id=world.hearing.pk + 999, by=staff(), vod_url=VOD, vod_started_at=None)
    world.hearing.refresh_from_db()
    assert world.hearing.vod_url == ""
