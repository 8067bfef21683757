"""The likes' SQL: rows inserted under the unique constraints, counters raised in one statement
(PostgreSQL's arrays, SQLite's VALUES), locked in id order so concurrent batches queue."""

from __future__ import annotations

from collections import Counter

from django.db import connection
from django.utils import timezone

from hearings.models import Hearing, Like, Question


def insert_likes(keys: list[tuple[int, int | None, str]]) -> set[tuple[int, int | None, str]]:
    """INSERT the like rows in the given order, skipping those the unique constraints refuse;
    return the inserted. On PostgreSQL the keys travel as three arrays: a statement with a few
    parameters instead of thousands, which the driver would otherwise parse per batch."""
    if not keys:
        return set()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    table = connection.ops.quote_name(Like._meta.db_table)
    returning = " ON CONFLICT DO NOTHING RETURNING hearing_id, question_id, viewer"
    rows: list[tuple[int, int | None, str]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            hearings, questions, viewers = (list(column) for column in zip(*keys, strict=True))
            cursor.execute(
                f"INSERT INTO {table} (hearing_id, question_id, viewer, created_at) "
                "SELECT k.h, k.q, k.v, %s FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS k (h, q, v)"
                + returning,
                [now, hearings, questions, viewers],
            )
            rows = cursor.fetchall()
        else:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
                cursor.execute(
                    f"INSERT INTO {table} (hearing_id, question_id, viewer, created_at) VALUES {values}" + returning,
                    [param for key in chunk for param in (*key, now)],
                )
                rows.extend(cursor.fetchall())
    return {(int(h), int(q) if q is not None else None, str(v)) for h, q, v in rows}


def lock_hearings(hearing_ids: set[int]) -> None:
    """Lock the batch's hearing rows (FOR UPDATE, in id order) before anything else. The like
    rows' foreign keys are checked at COMMIT (Django makes them DEFERRABLE INITIALLY DEFERRED),
    which takes a share lock on the hearing row last, after the questions' counters; a
    moderator's action meanwhile holds the hearing and waits for one of those questions
    (question.stage): a deadlock, found by the rolling-restart fault test. Taken first, as the
    moderator's actions take it, the two queue instead. The same lock the hearing's counter
    takes, so a batch never upgrades a lock another batch shares."""
    if not hearing_ids or connection.vendor != "postgresql":
        return  # SQLite: one writer at a time
    table = connection.ops.quote_name(Hearing._meta.db_table)
    with connection.cursor() as cursor:
        ids = sorted(hearing_ids)
        cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE", [ids])


def add_to_counters(model: type[Question] | type[Hearing], increments: Counter[int]) -> None:
    """likes += n for many rows in one statement (a batch touches up to hundreds of questions).
    On PostgreSQL the rows are first locked in id order (an UPDATE's own order follows its
    plan), so two processes' batches never deadlock; SQLite has one writer at a time."""
    if not increments:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    ids, counts = list(increments), list(increments.values())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE", [ids])
            cursor.execute(
                f"UPDATE {table} SET likes = {table}.likes + i.n FROM unnest(%s::bigint[], %s::bigint[]) AS i (id, n) "
                f"WHERE {table}.id = i.id",
                [ids, counts],
            )
        else:
            values = ", ".join(["(%s, %s)"] * len(ids))
            cursor.execute(
                f"WITH increments (id, n) AS (VALUES {values}) UPDATE {table} SET likes = {table}.likes + increments.n "
                f"FROM increments WHERE {table}.id = increments.id",
                [param for row in zip(ids, counts, strict=True) for param in row],
            )
