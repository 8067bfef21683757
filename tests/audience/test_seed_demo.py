"""seed_demo's ended hearings have believable, consistent audience figures (issue 19): the latest
reads like the reference press release (在线收看6.5万余人次，点赞1.6万余人次)."""

from __future__ import annotations

import itertools
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from audience import selectors
from demo.management.commands.seed_demo import PAST_HEARINGS, PAST_TITLE
from hearings.models import Hearing, Like

pytestmark = pytest.mark.django_db


def test_the_ended_hearings_have_consistent_audience_figures() -> None:
    call_command("seed_demo", "--deputies", "2", "--password", "pw-demo-7788", stdout=StringIO())
    ended = Hearing.objects.filter(status=Hearing.Status.ENDED)
    assert ended.count() == len(PAST_HEARINGS)
    for hearing in ended:
        figures = selectors.figures(hearing.pk)
        samples = selectors.samples(hearing.pk)
        assert len(samples) >= 60  # a sample a minute over the session
        assert figures.peak_online <= figures.unique_viewers <= figures.page_views
        assert (figures.peak_online, figures.peak_at) == max((s.online, s.at) for s in samples)
        assert samples[0].online < figures.peak_online > samples[-1].online  # rises, then falls off
        assert figures.peak_at is not None
        peak_minute = [s.at for s in samples].index(figures.peak_at)
        assert len(samples) // 4 < peak_minute < 3 * len(samples) // 4  # mid-session
        assert figures.likes == Like.objects.filter(hearing=hearing).count()  # every like is a stored one
        for before, after in itertools.pairwise(samples):
            assert before.page_views <= after.page_views and before.unique_viewers <= after.unique_viewers
            assert before.likes <= after.likes
        assert all(s.online <= s.unique_viewers <= s.page_views for s in samples)
        assert samples[-1].page_views <= figures.page_views and samples[-1].likes <= figures.likes
    latest = ended.get(title=PAST_TITLE)
    figures = selectors.figures(latest.pk)
    assert 65_000 <= figures.page_views < 66_000 and 16_000 <= figures.likes < 17_000
    page = Client().get(f"/hearings/{latest.pk}/report/", secure=True).content.decode()
    assert f"在线收看 {figures.page_views:,} 人次，点赞 {figures.likes:,} 人次" in page
