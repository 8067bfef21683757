"""Reads for polls and attendance, and the poll payload of the wire protocol."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, QuerySet

from hearings import selectors as hearing_selectors
from hearings.models import Hearing, Person
from live.schema import AttendanceOut, ControlAttendanceOut, PollOut, PollProgressData
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


def _present(hearing_id: int) -> QuerySet[Attendance]:
    """The check-ins that count: of the hearing's deputies now (one removed from the hearing
    after checking in no longer counts, as they can no longer vote)."""
    deputies = Hearing.deputies.through.objects.filter(hearing_id=hearing_id).values("user_id")
    return Attendance.objects.filter(hearing_id=hearing_id, deputy_id__in=deputies)


def checked_in_count(hearing_id: int) -> int:
    """Deputies of the hearing checked in: a poll's eligible voters, the 签到 N of N / M."""
    return _present(hearing_id).count()


def quorum_needed(deputies: int, percent: int) -> int:
    """The smallest number of deputies checked in that is MORE than `percent` percent of
    `deputies` (法定人数): 30 at 50 % → 16, 4 → 3, 1 → 1; 30 at 66 % → 20."""
    return deputies * percent // 100 + 1


@dataclass(frozen=True)
class AttendanceSummary:
    """签到 N / M · 法定人数 K · 已达到 / 未达到, and who (user ids, ascending)."""

    checked_in: int
    deputies: int
    needed: int
    reached: bool
    present: tuple[int, ...]

    def out(self, *, control: bool) -> AttendanceOut:
        """The wire payload: the control view also lists who is present."""
        if control:
            return ControlAttendanceOut(
                checked_in=self.checked_in,
                deputies=self.deputies,
                needed=self.needed,
                quorum=self.reached,
                present=list(self.present),
            )
        return AttendanceOut(
            checked_in=self.checked_in, deputies=self.deputies, needed=self.needed, quorum=self.reached
        )


def attendance_summary(hearing_id: int, *, percent: int | None = None) -> AttendanceSummary:
    """The one definition of the quorum: the hearing's deputies checked in, against MORE than
    Hearing.quorum_percent percent of its deputies. `percent` saves reading it when the caller
    has the hearing's row. Two queries (one with `percent`)."""
    if percent is None:
        percent = int(Hearing.objects.values_list("quorum_percent", flat=True).get(pk=hearing_id))
    checked = Attendance.objects.filter(hearing_id=hearing_id, deputy_id=OuterRef("user_id"))
    rows = (
        Hearing.deputies.through.objects.filter(hearing_id=hearing_id)
        .annotate(checked=Exists(checked))
        .values_list("user_id", "checked")  # type: ignore[misc]  # the annotation, unknown to the stubs
    )
    deputies = 0
    present = []
    for user_id, is_present in rows:
        deputies += 1
        if is_present:
            present.append(user_id)
    needed = quorum_needed(deputies, percent)
    return AttendanceSummary(
        checked_in=len(present),
        deputies=deputies,
        needed=needed,
        reached=len(present) >= needed,
        present=tuple(sorted(present)),
    )


@dataclass(frozen=True)
class RosterRow:
    """One deputy of the hearing on the check-in board (签到表)."""

    id: int
    name: str
    delegation: str
    seat: str
    checked_in: bool
    by_moderator: bool  # checked in on their behalf (代签)


def attendance_roster(hearing_id: int) -> list[RosterRow]:
    """The hearing's deputies for the check-in board, by delegation, seat and name."""
    hearing = Hearing.objects.get(pk=hearing_id)
    users = hearing.deputies.select_related("person").order_by("id")
    attendance = dict(Attendance.objects.filter(hearing_id=hearing_id).values_list("deputy_id", "checked_in_by_id"))
    rows = []
    for user in users:
        try:
            person: Person | None = user.person
        except Person.DoesNotExist:
            person = None
        rows.append(
            RosterRow(
                id=user.pk,
                name=hearing_selectors.display_name(user),
                delegation=person.delegation if person else "",
                seat=person.seat if person else "",
                checked_in=user.pk in attendance,
                by_moderator=attendance.get(user.pk) is not None,
            )
        )
    rows.sort(key=lambda row: (row.delegation, _natural(row.seat), row.name, row.id))
    return rows


def _natural(text: str) -> list[tuple[int, int | str]]:
    """A seat's sort key: "2排10号" after "2排9号"."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part]


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
