"""The chain itself: hashes, links, immutability, and appends that never fork."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import date

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.test import RequestFactory

import audit
from audit.chain import GENESIS, entry_hash, verify
from audit.models import AuditEntry, ImmutableError
from tests.factories import make_department, make_user


@pytest.mark.django_db
def test_entries_chain_from_genesis_and_hash_their_canonical_json() -> None:
    user = make_user("moderator-a")
    first = audit.record(action="hearing.start", actor=user, subject="hearings.hearing:1", payload={"n": 1})
    second = audit.record(action="poll.close", actor=None, subject="voting.poll:2", payload={"due": date(2026, 1, 2)})
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert second.payload == {"due": "2026-01-02"}  # stored as JSON reads it back

    stored = AuditEntry.objects.get(seq=1)
    material = {
        "seq": 1,
        "at": stored.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_kind": "user",
        "actor": "moderator-a",
        "actor_id": user.pk,
        "action": "hearing.start",
        "subject": "hearings.hearing:1",
        "payload": {"n": 1},
        "prev_hash": GENESIS,
    }
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert stored.hash == hashlib.sha256(canonical.encode()).hexdigest() == entry_hash(stored)


@pytest.mark.django_db
def test_actors_and_subjects_are_named() -> None:
    department = make_department(name="县发改局")
    entry = audit.record(action="x", actor=department, subject=department)
    assert (entry.actor_kind, entry.actor, entry.actor_id) == ("hearings.department", "县发改局", department.pk)
    assert entry.subject == f"hearings.department:{department.pk}"
    anonymous = audit.record(action="x", actor=AnonymousUser(), subject="s")
    assert (anonymous.actor_kind, anonymous.actor_id) == ("anonymous", None)
    with pytest.raises(TypeError):
        audit.record(action="x", actor="somebody", subject="s")


@pytest.mark.django_db
def test_an_entry_is_never_changed_or_deleted_through_the_orm() -> None:
    entry = audit.record(action="hearing.start", actor=None, subject="s")
    entry.payload = {"forged": True}
    with pytest.raises(ImmutableError):
        entry.save()
    with pytest.raises(ImmutableError):
        entry.delete()
    with pytest.raises(ImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).update(payload={})
    with pytest.raises(ImmutableError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).payload == {}


@pytest.mark.django_db
def test_an_entry_rolls_back_with_its_transaction() -> None:
    audit.record(action="kept", actor=None, subject="s")

    @transaction.atomic
    def fails_after_recording() -> None:
        audit.record(action="rolled back", actor=None, subject="s")
        raise RuntimeError

    with pytest.raises(RuntimeError):
        fails_after_recording()
    after = audit.record(action="next", actor=None, subject="s")
    assert list(AuditEntry.objects.values_list("seq", "action")) == [(1, "kept"), (2, "next")]
    assert after.prev_hash == AuditEntry.objects.get(seq=1).hash


@pytest.mark.django_db
def test_the_admin_shows_entries_and_changes_none() -> None:
    superuser = make_user("root", is_staff=True, is_superuser=True)
    request = RequestFactory().get("/admin/audit/auditentry/")
    request.user = superuser
    model_admin = admin.site._registry[AuditEntry]
    entry = audit.record(action="x", actor=None, subject="s")
    assert model_admin.has_view_permission(request, entry)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain() -> None:
    """Many threads, each its own connection and transaction, append at once: on PostgreSQL
    the advisory lock serializes them, on SQLite the write lock does; none fails, no seq
    repeats and the chain verifies."""
    threads, per_thread = 8, 5
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with transaction.atomic():
                    audit.record(action="concurrent", actor=None, subject=f"t{n}", payload={"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, threads * per_thread + 1))
    result = verify()
    assert (result.ok, result.count) == (True, threads * per_thread)
