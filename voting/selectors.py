"""Reads for polls and attendance, and the poll payload of the wire protocol."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db.models import Count

from hearings.models import Hearing
from live.schema import PollOut, PollProgressData
from voting.models import Attendance, Ballot, Poll, SecretTally, VoteRecord


def deputies_and_present(hearing_id: int, user_ids: Iterable[int]) -> tuple[set[int], set[int]]:
    """Of `user_ids`: those who are deputies of the hearing, and those who checked in."""
    ids = list(user_ids)
    deputies = set(
        Hearing.deputies.through.objects.filter(hearing_id=hearing_id, user_id__in=ids).values_list(
            "user_id", flat=True
        )
    )
    present = set(
        Attendance.objects.filter(hearing_id=hearing_id, deputy_id__in=ids).values_list("deputy_id", flat=True)
    )
    return deputies, present


def checked_in_count(hearing_id: int) -> int:
    return Attendance.objects.filter(hearing_id=hearing_id).count()


def is_checked_in(hearing_id: int, user_id: int) -> bool:
    return Attendance.objects.filter(hearing_id=hearing_id, deputy_id=user_id).exists()


def polls_voted(hearing_id: int, user_id: int) -> list[int]:
    return list(
        VoteRecord.objects.filter(poll__hearing_id=hearing_id, deputy_id=user_id)
        .order_by("poll_id")
        .values_list("poll_id", flat=True)
    )


def ballot_counts(poll_ids: list[int]) -> dict[int, Counter[str]]:
    """Ballots per choice for each of many polls, from the stored ballots: a secret poll's
    tally row, a named poll's Ballot rows (none for no polls). Two queries however many."""
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    if not poll_ids:
        return counts
    for poll_id, secret_counts in SecretTally.objects.filter(poll_id__in=poll_ids).values_list("poll_id", "counts"):
        counts[poll_id].update({choice: n for choice, n in secret_counts.items() if n})
    rows = Ballot.objects.filter(poll_id__in=poll_ids).order_by().values_list("poll_id", "choice")
    for poll_id, choice, n in rows.annotate(n=Count("pk")):
        counts[poll_id][choice] += n
    return counts


def tally(poll: Poll) -> dict[str, int]:
    """Counts per choice, every choice present."""
    counts = ballot_counts([poll.pk])[poll.pk]
    return {choice: counts.get(choice, 0) for choice in poll.choices}


def satisfaction_rate(poll: Poll, results: dict[str, int]) -> float | None:
    """满意率 = (满意 + 基本满意) / valid ballots; None when nobody voted."""
    valid = sum(results.get(choice, 0) for choice in poll.choices)
    if valid == 0:
        return None
    return round(sum(results.get(choice, 0) for choice in poll.satisfied) / valid, 4)


def poll_out(poll: Poll, *, eligible_now: int | None = None) -> PollOut:
    if poll.status == Poll.Status.OPEN:
        cast = VoteRecord.objects.filter(poll=poll).count()
        eligible = eligible_now if eligible_now is not None else checked_in_count(poll.hearing_id)
    else:
        cast, eligible = poll.cast or 0, poll.eligible or 0
    published = poll.status == Poll.Status.PUBLISHED and poll.results is not None
    # In the order of the choices: PostgreSQL's jsonb does not keep the stored key order.
    results = {choice: (poll.results or {}).get(choice, 0) for choice in poll.choices} if published else None
    return PollOut(
        id=poll.pk,
        item=poll.item_id,
        title=poll.title,
        status=poll.status,  # type: ignore[arg-type]
        choices=list(poll.choices),
        secret=poll.secret,
        cast=cast,
        eligible=eligible,
        results=results,
        satisfaction_rate=satisfaction_rate(poll, results) if results is not None else None,
    )


def polls_out(hearing_id: int) -> list[PollOut]:
    eligible = checked_in_count(hearing_id)
    return [poll_out(poll, eligible_now=eligible) for poll in Poll.objects.filter(hearing_id=hearing_id)]


def poll_progress(hearing_id: int) -> list[PollProgressData]:
    """N of M for the open poll(s): sent on the counter tick while it changes."""
    open_ids = list(Poll.objects.filter(hearing_id=hearing_id, status=Poll.Status.OPEN).values_list("id", flat=True))
    if not open_ids:
        return []
    eligible = checked_in_count(hearing_id)
    cast = dict(
        VoteRecord.objects.filter(poll_id__in=open_ids)
        .values("poll_id")
        .annotate(n=Count("id"))
        .values_list("poll_id", "n")
    )
    return [PollProgressData(poll=pid, cast=cast.get(pid, 0), eligible=eligible) for pid in open_ids]
