"""The audience figures in the session report (page, XLSX, PDF) and on the control panel."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook  # type: ignore[import-untyped]

from audience import services
from audience.models import Sample
from hearings.models import Hearing, Question
from tests.factories import World

pytestmark = pytest.mark.django_db

ONLINE = [120, 480, 1_250, 1_730, 1_520, 610]


@pytest.fixture
def watched(world: World) -> World:
    hearing = world.hearing
    Hearing.objects.filter(pk=hearing.pk).update(likes=1_600, status=Hearing.Status.ENDED)
    for source in ["public", "public", "deputy", "collected", "collected", "collected"]:
        Question.objects.create(hearing=hearing, text="问题", source=source)
    for n in range(5):
        services.page_view(hearing.pk, f"v{n % 3}")
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=len(ONLINE))
    for minute, online in enumerate(ONLINE):
        services.sample(hearing.pk, at=start + timedelta(minutes=minute), online=online)
    hearing.refresh_from_db()
    return world


def test_the_report_opens_like_the_press_release_and_shows_the_figures(watched: World) -> None:
    page = Client().get(f"/hearings/{watched.hearing.pk}/report/", secure=True).content.decode()
    lead = re.search(r'<p class="report-lead" id="audience-lead">(.*?)</p>', page)
    assert lead is not None and lead.group(1) == "在线收看 5 人次，点赞 1,600 人次，征集/现场提问 6 条。"
    assert 'id="audience-page-views">5<' in page
    assert 'id="audience-unique">3<' in page
    assert 'id="audience-peak">1,730' in page
    peak_at = Sample.objects.get(hearing=watched.hearing, online=1_730).at
    assert f'datetime="{timezone.localtime(peak_at).isoformat()}"' in page
    # The chart over time: one point per sample, the peak marked.
    chart = re.search(r'<svg[^>]*class="chart timeline-chart".*?</svg>', page, re.S)
    assert chart is not None
    points = re.search(r'<polyline class="line"[^>]*points="([^"]+)"', chart.group(0))
    assert points is not None and len(points.group(1).split()) == len(ONLINE)
    assert 'class="peak"' in chart.group(0) and "1730" in chart.group(0)


def test_the_report_before_any_sample_says_so(world: World) -> None:
    page = Client().get(f"/hearings/{world.hearing.pk}/report/", secure=True).content.decode()
    assert "在线收看 0 人次，点赞 0 人次，征集/现场提问 0 条。" in page
    assert "timeline-chart" in page and "暂无数据" in page


def test_the_xlsx_has_the_figures_and_the_samples(watched: World) -> None:
    content = Client().get(f"/hearings/{watched.hearing.pk}/report.xlsx", secure=True).content
    sheet = load_workbook(io.BytesIO(content))["收看数据"]
    rows = list(sheet.iter_rows(values_only=True))
    figures = {row[0]: row[1] for row in rows[1:9]}
    assert figures["收看人次"] == 5 and figures["独立观众"] == 3 and figures["最高在线"] == 1_730
    assert figures["点赞（会议及问题）"] == 1_600
    assert (figures["群众现场提问"], figures["代表现场提问"], figures["会前征集问题"]) == (2, 1, 3)
    header = rows.index(("时间", "在线", "收看人次", "独立观众", "点赞"))
    assert [row[1] for row in rows[header + 1 :]] == ONLINE


def test_the_pdf_has_the_lead_line(watched: World) -> None:
    pypdf = pytest.importorskip("pypdf")
    response = Client().get(f"/hearings/{watched.hearing.pk}/report.pdf", secure=True)
    assert response.status_code == 200
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    assert "在线收看5人次，点赞1,600人次，征集/现场提问6条" in re.sub(r"\s+", "", text)


def test_the_control_panel_shows_the_figures_live(watched: World, client: Any) -> None:
    """The control page loads the card at once, then every 30 s: figures and sparklines."""
    client.force_login(watched.moderator)
    page = client.get(f"/hearings/{watched.hearing.pk}/control/", secure=True).content.decode()
    part = f"/hearings/{watched.hearing.pk}/control/part/audience/"
    assert f'hx-get="{part}" hx-trigger="load"' in page
    card = client.get(part, secure=True).content.decode()
    assert 'hx-trigger="every 30s"' in card
    assert 'id="audience-page-views">5<' in card and 'id="audience-unique">3<' in card
    assert 'id="audience-peak">1,730' in card
    assert card.count('class="sparkline"') == 2
    services.page_view(watched.hearing.pk, "v-new")
    assert 'id="audience-page-views">6<' in client.get(part, secure=True).content.decode()


def test_the_control_card_is_for_the_hearing_s_moderators_only(watched: World, client: Any) -> None:
    part = f"/hearings/{watched.hearing.pk}/control/part/audience/"
    assert client.get(part, secure=True).status_code == 302  # to the login page
    client.force_login(watched.deputies[0])
    assert client.get(part, secure=True).status_code == 403
