"""Appending to the hash chain, and walking it.

hash = sha256(canonical JSON of {seq, at, actor_kind, actor, actor_id, action, subject,
payload, prev_hash}); the first entry's prev_hash is GENESIS. Appends are serialized so the
chain never forks: on PostgreSQL by a transaction-scoped advisory lock, taken before the last
entry is read; on SQLite a write transaction (BEGIN IMMEDIATE) already holds the database's
one write lock. Unique seq and prev_hash refuse a fork on any database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from audit.models import AuditEntry

GENESIS = "0" * 64
# PostgreSQL advisory lock key of the chain ("audt").
_LOCK_SPACE = 0x61756474


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(entry: AuditEntry) -> str:
    material = {
        "seq": entry.seq,
        "at": _timestamp(entry.at),
        "actor_kind": entry.actor_kind,
        "actor": entry.actor,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "subject": entry.subject,
        "payload": entry.payload,
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(canonical(material).encode()).hexdigest()


def _actor(actor: Any) -> tuple[str, str, int | None]:
    """(kind, name, id) of whoever acts."""
    if actor is None:
        return "system", "", None
    if isinstance(actor, AbstractBaseUser):
        return "user", actor.get_username(), actor.pk
    if isinstance(actor, models.Model):
        return actor._meta.label_lower, str(actor), actor.pk
    if not getattr(actor, "is_authenticated", True):
        return "anonymous", "", None
    raise TypeError(f"cannot record {type(actor).__name__} as an actor")


def _subject(subject: models.Model | str) -> str:
    if isinstance(subject, models.Model):
        return f"{subject._meta.label_lower}:{subject.pk}"
    return subject


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s::int4, 0)", [_LOCK_SPACE])


def append(*, action: str, actor: Any, subject: models.Model | str, payload: dict[str, Any]) -> AuditEntry:
    """Add one entry after the last; runs in the caller's transaction (or its own)."""
    return append_many([{"action": action, "actor": actor, "subject": subject, "payload": payload}])[0]


def append_many(entries: list[dict[str, Any]]) -> list[AuditEntry]:
    """Add entries after the last, in order, under one lock; in the caller's transaction."""
    if not entries:
        return []
    with transaction.atomic(savepoint=False):
        _lock_chain()
        last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        at = timezone.now()
        made = []
        for given in entries:
            kind, name, actor_id = _actor(given["actor"])
            entry = AuditEntry(
                seq=seq,
                at=at,
                actor_kind=kind,
                actor=name[:200],
                actor_id=actor_id,
                action=given["action"],
                subject=_subject(given["subject"]),
                # Stored as JSON reads it back (dates and UUIDs as strings), so the hash can be recomputed.
                payload=json.loads(canonical(given.get("payload") or {})),
                prev_hash=prev_hash,
            )
            entry.hash = entry_hash(entry)
            made.append(entry)
            seq, prev_hash = seq + 1, entry.hash
        if len(made) == 1:
            made[0].save(force_insert=True)
        else:
            AuditEntry.objects.bulk_create(made)
    return made


@dataclass(frozen=True)
class Head:
    """The newest entry: what an office publishes (`/audit/head.json`, reports) so that anyone
    who kept it can later prove the chain was not cut off or rewritten since."""

    seq: int  # 0 before the first entry
    hash: str  # GENESIS before the first entry
    at: datetime | None

    @property
    def text(self) -> str:
        """SEQ:HASH, as `verify_audit --head` takes it."""
        return f"{self.seq}:{self.hash}"


def head() -> Head:
    newest = AuditEntry.objects.order_by("-seq").values_list("seq", "hash", "at").first()
    return Head(*newest) if newest else Head(0, GENESIS, None)


@dataclass(frozen=True)
class Broken:
    seq: int
    entry_id: int
    reason: str


@dataclass(frozen=True)
class Verification:
    count: int  # entries that hold (before the broken one)
    head_seq: int  # the last entry's seq and hash, when the chain holds
    head_hash: str
    broken: Broken | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _entries() -> Iterator[AuditEntry]:
    return AuditEntry.objects.order_by("seq").iterator(chunk_size=2000)


def verify(*, head: tuple[int, str] | None = None) -> Verification:
    """Walk the chain from the first entry; stop at the first entry that does not hold.

    An edited entry fails its own hash, or (hash recomputed) the link of the entry after it; a
    deleted one leaves a gap in seq, or (the rest renumbered) a broken link; an inserted one
    came later than the entries after it (ids rise with seq: both are taken under the chain's
    lock) and had to break a link or a hash to fit in. A chain cut off at its end, or rewritten
    whole, is found only against a head recorded elsewhere before (`head`: the (seq, hash)
    printed by an earlier run)."""
    count, prev_hash = 0, GENESIS
    previous: AuditEntry | None = None
    # Head 0 is the empty chain's (published before the first entry): every chain contains it.
    head_found = head is None or head == (0, GENESIS)
    if head is not None and head[0] == 0 and not head_found:
        return Verification(0, 0, "", Broken(0, 0, "differs from the recorded head (the empty chain's is all zeros)"))
    for entry in _entries():
        broken = None
        if entry.seq != count + 1:
            broken = Broken(entry.seq, entry.pk, f"entries {count + 1}…{entry.seq - 1} are missing (deleted)")
        elif previous is not None and entry.pk < previous.pk:
            count -= 1  # the previous entry does not hold either
            broken = Broken(previous.seq, previous.pk, f"inserted: written after entry {entry.seq}")
        elif entry.prev_hash != prev_hash:
            reason = "does not link to the entry before it (that entry was rewritten, or entries were deleted)"
            broken = Broken(entry.seq, entry.pk, reason)
        elif entry.hash != entry_hash(entry):
            broken = Broken(entry.seq, entry.pk, "its content does not match its hash (edited)")
        elif head is not None and entry.seq == head[0]:
            if entry.hash != head[1]:
                broken = Broken(entry.seq, entry.pk, "differs from the recorded head")
            head_found = True
        if broken is not None:
            return Verification(count, 0, "", broken)
        count += 1
        prev_hash = entry.hash
        previous = entry
    if not head_found:
        assert head is not None
        gone = Broken(head[0], 0, f"the recorded head {head[0]} is gone (entries at the end were deleted)")
        return Verification(count, 0, "", gone)
    return Verification(count, count, prev_hash)
