"""The report PDF is typeset once per version of the report and then served from the cache:
a change to anything it shows (an assignment's status, a poll's published results) builds a
new one, each language has its own, and concurrent first requests build it once."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from assignments import services as assignment_services
from reports import exports
from tests.reports.session import Session, play_session
from voting import services as voting_services


@pytest.fixture
def session(db: Any) -> Session:
    return play_session()


class Typesetter:
    """Stands in for WeasyPrint: counts builds; the PDF names the build and the HTML's language."""

    def __init__(self) -> None:
        self.builds = 0
        self.gate: threading.Event | None = None  # when set, builds wait for it
        self.started = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, html: str, base_url: str) -> bytes:
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        with self.lock:
            self.builds += 1
            n = self.builds
        lang = html.split('lang="', 1)[1].split('"', 1)[0]
        return f"%PDF-fake build {n} {lang}".encode()


@pytest.fixture
def typesetter(monkeypatch: pytest.MonkeyPatch) -> Typesetter:
    fake = Typesetter()
    monkeypatch.setattr(exports, "typeset_pdf", fake)
    # Keys of this test only (the cache may be a Redis shared with earlier runs: never clear it).
    salt = uuid.uuid4().hex
    monkeypatch.setattr(exports, "stylesheets_digest", lambda: salt)
    return fake


def pdf(session: Session, language: str = "zh-hans") -> bytes:
    response = Client(headers={"Accept-Language": language}).get(f"/hearings/{session.hearing.pk}/report.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return bytes(response.content)


@pytest.mark.django_db
def test_a_second_request_is_served_from_the_cache(session: Session, typesetter: Typesetter) -> None:
    first = pdf(session)
    assert pdf(session) == first
    assert typesetter.builds == 1
    assert first.startswith(b"%PDF-fake build 1 zh-hans")


@pytest.mark.django_db
def test_an_assignment_transition_after_the_hearing_builds_a_new_pdf(session: Session, typesetter: Typesetter) -> None:
    first = pdf(session)
    accepted = session.assignments[2]
    liaison = accepted.lead_department.liaisons.first()
    assignment_services.assignment_progress(assignment_id=accepted.pk, by=liaison, note="已召开协调会")
    second = pdf(session)
    assert second != first and typesetter.builds == 2
    assert pdf(session) == second and typesetter.builds == 2


@pytest.mark.django_db
def test_publishing_a_poll_builds_a_new_pdf(session: Session, typesetter: Typesetter) -> None:
    first = pdf(session)
    assert session.unpublished is not None
    voting_services.poll_publish(hearing_id=session.hearing.pk, poll_id=session.unpublished.pk, by=session.moderator)
    assert pdf(session) != first and typesetter.builds == 2


@pytest.mark.django_db
def test_each_language_has_its_own_pdf(session: Session, typesetter: Typesetter) -> None:
    chinese = pdf(session, "zh-hans")
    english = pdf(session, "en")
    assert (chinese.split()[-1], english.split()[-1]) == (b"zh-hans", b"en")
    assert typesetter.builds == 2
    assert pdf(session, "zh-hans") == chinese and pdf(session, "en") == english
    assert typesetter.builds == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_build_it_once(typesetter: Typesetter, monkeypatch: pytest.MonkeyPatch) -> None:
    session = play_session()
    typesetter.gate = threading.Event()
    results: list[bytes] = []
    keyed = threading.Semaphore(0)
    cache_key = exports.pdf_cache_key

    def counted_key(*args: Any) -> str:
        key = cache_key(*args)
        keyed.release()
        return key

    monkeypatch.setattr(exports, "pdf_cache_key", counted_key)

    def fetch() -> None:
        try:
            results.append(pdf(session))
        finally:
            connection.close()

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in threads:  # every request has asked for its PDF (and found none cached)…
        assert keyed.acquire(timeout=10)
    assert typesetter.started.wait(10)  # …one build is under way, the others wait for it
    typesetter.gate.set()
    for thread in threads:
        thread.join(30)
    assert len(results) == 4 and len(set(results)) == 1
    assert typesetter.builds == 1
