"""The published audit head: `GET /audit/head.json` is the newest entry; the session report (page,
XLSX, PDF) and the public assignments page show the head at the time they were made; a head kept by
anyone proves later that the chain was neither cut off nor rewritten (`verify_audit --head`)."""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from openpyxl import load_workbook  # type: ignore[import-untyped]

import audit
from audit.chain import GENESIS, append, entry_hash
from audit.models import AuditEntry
from reports import exports
from tests.reports.session import Session, play_session

pytestmark = pytest.mark.django_db

# The tamperer bypasses the append-only default manager, as SQL would.
raw = AuditEntry._base_manager


@pytest.fixture(autouse=True)
def _plain_http(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain http


def record(n: int) -> AuditEntry:
    return audit.record(action="poll.close", actor=None, subject=f"voting.poll:{n}", payload={"cast": n})


def published(client: Client | None = None) -> dict[str, Any]:
    response = (client or Client()).get("/audit/head.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]  # never a stale head from a cache
    body: dict[str, Any] = json.loads(response.content)
    return body


def verify_audit(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as failure:
        verify_audit(*args)
    return str(failure.value)


def kept(head: dict[str, Any]) -> str:
    return f"{head['seq']}:{head['hash']}"


def test_the_head_is_the_newest_entry() -> None:
    assert published() == {"seq": 0, "hash": GENESIS, "at": None}
    entries = [record(n) for n in range(1, 4)]
    head = published()
    assert head["seq"] == 3
    assert head["hash"] == entries[-1].hash == entry_hash(raw.get(seq=3))
    assert datetime.fromisoformat(head["at"]) == entries[-1].at
    assert Client().post("/audit/head.json").status_code == 405
    assert Client().head("/audit/head.json").status_code == 200  # a monitor may poll with HEAD


def test_the_published_head_verifies_now_and_after_more_entries() -> None:
    for n in range(1, 4):
        record(n)
    head = kept(published())
    assert verify_audit("--head", head).startswith("audit chain ok: 3 entries; head 3:")
    record(4)
    assert verify_audit("--head", head).startswith("audit chain ok: 4 entries")
    # The empty chain's head, published before the first entry, is in every chain.
    assert verify_audit("--head", f"0:{GENESIS}").startswith("audit chain ok: 4 entries")


def test_truncating_the_chain_is_found_against_a_published_head() -> None:
    for n in range(1, 6):
        record(n)
    head = kept(published())
    raw.filter(seq__gte=4).delete()
    assert verify_audit().startswith("audit chain ok: 3 entries")  # the chain alone cannot tell
    assert "the recorded head 5 is gone" in refused("--head", head)


def test_truncating_and_writing_on_is_found_against_a_published_head() -> None:
    """Cut at entry 3 and appended anew: seq 5 exists again, but it is not the published one."""
    for n in range(1, 6):
        record(n)
    head = kept(published())
    raw.filter(seq__gte=3).delete()
    for n in range(3, 7):
        record(100 + n)
    assert verify_audit().startswith("audit chain ok: 6 entries")
    assert "differs from the recorded head" in refused("--head", head)


def test_a_chain_rewritten_whole_is_found_against_a_published_head() -> None:
    for n in range(1, 4):
        record(n)
    head = kept(published())
    raw.all().delete()
    for n in range(1, 4):
        append(action="poll.close", actor=None, subject=f"voting.poll:{n}", payload={"cast": n + 1})
    assert verify_audit().startswith("audit chain ok: 3 entries")
    assert "differs from the recorded head" in refused("--head", head)


@pytest.mark.parametrize(
    "value",
    ["three", "3", f"3:{'0' * 63}", f"3:{'g' * 64}", f"²:{'0' * 64}", f"3:{'0' * 64}:x", ""],
)
def test_a_malformed_head_is_a_clear_error(value: str) -> None:
    record(1)
    assert "--head is SEQ:HASH" in refused("--head", value)


def test_the_empty_chains_head_must_be_all_zeros() -> None:
    record(1)
    assert "differs from the recorded head" in refused("--head", f"0:{'1' * 64}")


@pytest.fixture
def session(db: Any) -> Session:
    return play_session()


def test_the_report_shows_the_head_it_was_made_at(session: Session) -> None:
    head = published()
    page = Client().get(f"/hearings/{session.hearing.pk}/report/").content.decode()
    assert f"{head['seq']}:{head['hash']}" in page
    book = load_workbook(io.BytesIO(Client().get(f"/hearings/{session.hearing.pk}/report.xlsx").content))
    rows = {row[0]: row[1] for row in book.worksheets[0].iter_rows(values_only=True)}
    assert rows["审计日志链头"] == f"{head['seq']}:{head['hash']}"
    record(999)  # later entries: a page made now shows the new head
    assert kept(published()) in Client().get(f"/hearings/{session.hearing.pk}/report/").content.decode()


def test_the_cached_pdf_keeps_the_head_of_its_build(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any action anywhere appends an entry: that alone must not rebuild an unchanged report's PDF,
    and the PDF served shows the head of the moment it was typeset."""
    heads: list[str] = []

    def typeset(html: str, base_url: str) -> bytes:
        heads.append(kept(published()))
        assert heads[-1] in html
        return f"%PDF-fake {len(heads)}".encode()

    monkeypatch.setattr(exports, "typeset_pdf", typeset)
    salt = uuid.uuid4().hex  # keys of this test only (the cache may be a shared Redis)
    monkeypatch.setattr(exports, "stylesheets_digest", lambda: salt)
    url = f"/hearings/{session.hearing.pk}/report.pdf"
    first = Client().get(url).content
    record(999)
    assert Client().get(url).content == first
    assert len(heads) == 1


def test_the_public_assignments_page_shows_the_head(session: Session) -> None:
    head = kept(published())
    page = Client().get("/assignments/").content.decode()
    assert head in page
    assert "/audit/head.json" in page
