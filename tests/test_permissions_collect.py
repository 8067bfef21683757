"""Who may use the collection page (/hearings/<id>/collect/), as tables in the manner of
tests/test_permissions.py (same roles, same world): the page is public; a question is taken from
anyone who has the site's viewer cookie (the page sets it), as a deputy's own question from a
deputy of the hearing; without the cookie (a bare client, no page visited) nothing is taken."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from console.collect import _new_token
from hearings.models import Question
from live.viewer import COOKIE
from tests.hearings.collect_helpers import fresh_limit_window, open_window
from tests.test_permissions import Matrix, cells, client_for, make_matrix, viewer_cookie

pytestmark = pytest.mark.django_db
__all__ = ["fresh_limit_window"]

PAGES = """
path                     anon  viewer  deputy  deputy2  liaison  liaison2  mod  mod2  admin  staff
/hearings/{h}/collect/   200   200     200     200      200      200       200  200   200    200
/hearings/{x}/collect/   404   404     404     404      404      404       404  404   404    404
"""

# POST the form. Every role but anon carries a viewer cookie, as a browser that opened the page.
# `deputy` is taken as the deputy's own question (source deputy), the others as collected ones.
SUBMIT = """
what               anon  viewer     deputy  deputy2    liaison    liaison2   mod        mod2       admin      staff
collect-question   403   collected  deputy  collected  collected  collected  collected  collected  collected  collected
"""


@pytest.fixture
def m(db: Any) -> Matrix:
    matrix = make_matrix()
    open_window(matrix.hearing)
    return matrix


@pytest.mark.parametrize(("path", "role", "expected"), cells(PAGES))
def test_pages(m: Matrix, path: str, role: str, expected: str) -> None:
    response = client_for(m, role).get(m.format(path), secure=True)
    assert response.status_code == int(expected)


@pytest.mark.parametrize(("what", "role", "expected"), cells(SUBMIT))
def test_submit(m: Matrix, what: str, role: str, expected: str) -> None:
    client = client_for(m, role)
    if role != "anon":
        client.cookies[COOKIE] = viewer_cookie()
    before = Question.objects.count()
    data = {"token": _new_token(m.hearing), "text": "权限矩阵的征集问题", "category": "教育", "contact": ""}
    response = client.post(f"/hearings/{m.hearing.pk}/collect/", data, secure=True)
    if expected.isdigit():
        assert response.status_code == int(expected)
        assert Question.objects.count() == before
        return
    assert response.status_code == 303
    q = Question.objects.order_by("-pk").first()
    assert q is not None and q.source == expected and q.created_at <= timezone.now()
    assert Question.objects.count() == before + 1
