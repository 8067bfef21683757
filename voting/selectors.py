"""Reads for polls and attendance, and the poll payload of the wire protocol."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from hearings import selectors as hearing_selectors
from hearings.models import Hearing, Person
from live.schema import AttendanceOut, ControlAttendanceOut, PollOptionOut, PollOut, PollProgressData, RollOut
from voting.models import Attendance, Ballot, Poll, PollOption, SecretTally, VoteRecord


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
    """Ballots per choice for each of many satisfaction polls, from the stored ballots: a
    secret poll's tally row, a named poll's Ballot rows (none for no polls; a sheet or select
    poll has none here: its results are per row or candidate, `tally`). Two queries however many."""
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    if not poll_ids:
        return counts
    satisfaction = Poll.Kind.SATISFACTION
    tallies = SecretTally.objects.filter(poll_id__in=poll_ids, poll__kind=satisfaction)
    for poll_id, secret_counts in tallies.values_list("poll_id", "counts"):
        counts[poll_id].update({choice: n for choice, n in secret_counts.items() if n})
    rows = Ballot.objects.filter(poll_id__in=poll_ids, poll__kind=satisfaction).order_by()
    for poll_id, choice, n in rows.values_list("poll_id", "choice").annotate(n=Count("pk")):
        counts[poll_id][choice] += n
    return counts


def poll_options(poll: Poll) -> list[PollOption]:
    """A sheet's rows or a select's candidates in their order (none for a satisfaction poll)."""
    if poll.kind == Poll.Kind.SATISFACTION:
        return []
    return list(PollOption.objects.filter(poll=poll).select_related("department").order_by("position"))


def option_ids(poll: Poll) -> list[int]:
    """The ids of a sheet's rows or a select's candidates, in their order."""
    if poll.kind == Poll.Kind.SATISFACTION:
        return []
    return list(PollOption.objects.filter(poll=poll).order_by("position").values_list("pk", flat=True))


def tally(poll: Poll) -> dict[str, Any]:
    """The poll's counts from its stored ballots, every key present: {choice: n}; a sheet's
    {"<row id>": {choice: n}}; a select's {"<candidate id>": n}."""
    if poll.kind == Poll.Kind.SATISFACTION:
        counts = ballot_counts([poll.pk])[poll.pk]
        return {choice: counts.get(choice, 0) for choice in poll.choices}
    keys = [str(pk) for pk in option_ids(poll)]
    stored = SecretTally.objects.filter(poll=poll).values_list("counts", flat=True).first() or {}
    if poll.kind == Poll.Kind.SHEET:
        rows: dict[str, Counter[str]] = {key: Counter(stored.get(key, {})) for key in keys}
        for (choices,) in Ballot.objects.filter(poll=poll).values_list("choices"):
            for row, choice in (choices or {}).items():
                if row in rows:
                    rows[row][choice] += 1
        return {key: {choice: rows[key][choice] for choice in poll.choices} for key in keys}
    picked: Counter[str] = Counter({key: n for key, n in stored.items() if key in keys})
    for (picks,) in Ballot.objects.filter(poll=poll).values_list("picks"):
        picked.update(str(pick) for pick in picks or ())
    return {key: picked[key] for key in keys}


def satisfaction_rate(poll: Poll, results: dict[str, int]) -> float | None:
    """满意率 = (满意 + 基本满意) / valid ballots; None when nobody voted. For a sheet poll,
    `results` is one row's counts."""
    valid = sum(results.get(choice, 0) for choice in poll.choices)
    if valid == 0:
        return None
    return round(sum(results.get(choice, 0) for choice in poll.satisfied) / valid, 4)


def ranking(candidates: list[int], results: dict[str, int]) -> list[int]:
    """Candidate ids, most picks first; ties in the candidates' order."""
    order = {pk: n for n, pk in enumerate(candidates)}
    return sorted(candidates, key=lambda pk: (-results.get(str(pk), 0), order[pk]))


def chosen(ranked: list[int], results: dict[str, int], choose: int | None) -> list[int]:
    """What a select poll chooses: the first `choose` of the ranking, leaving out any candidate
    nobody picked (a poll nobody voted in chooses nothing). A tie at the cut is settled by the
    candidates' order, as the ranking is."""
    return [pk for pk in ranked[: choose or len(ranked)] if results.get(str(pk), 0) > 0]


def _roll(poll: Poll) -> list[RollOut]:
    """Who chose what in a named poll, by name."""
    ballots = Ballot.objects.filter(poll=poll, deputy__isnull=False).select_related("deputy__person")
    roll = []
    for ballot in ballots:
        assert ballot.deputy is not None
        name = hearing_selectors.display_name(ballot.deputy)
        if poll.kind == Poll.Kind.SHEET:
            roll.append((name, ballot.deputy.pk, RollOut(deputy=name, choices=dict(ballot.choices or {}))))
        elif poll.kind == Poll.Kind.SELECT:
            roll.append((name, ballot.deputy.pk, RollOut(deputy=name, picks=list(ballot.picks or []))))
        else:
            roll.append((name, ballot.deputy.pk, RollOut(deputy=name, choice=ballot.choice)))
    return [entry for _name, _pk, entry in sorted(roll, key=lambda r: (r[0], r[1]))]


def deputies_count(hearing_id: int) -> int:
    """The hearing's deputies with an active account: who may vote in its window polls."""
    return Hearing.deputies.through.objects.filter(hearing_id=hearing_id, user__is_active=True).count()


def eligible_count(poll: Poll) -> int:
    """Who may vote now: the deputies checked in (a live poll), or all the hearing's deputies
    (a window poll, voted on their own devices)."""
    return deputies_count(poll.hearing_id) if poll.is_window else checked_in_count(poll.hearing_id)


def poll_out(poll: Poll, *, eligible_now: int | None = None) -> PollOut:
    """`eligible_now`: the hearing's checked-in count, when the caller has it (live polls)."""
    if poll.status in (Poll.Status.OPEN, Poll.Status.DRAFT):
        cast = VoteRecord.objects.filter(poll=poll).count()
        eligible = eligible_count(poll) if poll.is_window or eligible_now is None else eligible_now
    else:
        cast, eligible = poll.cast or 0, poll.eligible or 0
    published = poll.status == Poll.Status.PUBLISHED and poll.results is not None
    stored: dict[str, Any] = poll.results or {}
    extra: dict[str, Any] = {}
    if poll.kind == Poll.Kind.SATISFACTION:
        # In the order of the choices: PostgreSQL's jsonb does not keep the stored key order.
        results: dict[str, Any] | None = (
            {choice: stored.get(choice, 0) for choice in poll.choices} if published else None
        )
        rate: float | dict[str, float | None] | None = satisfaction_rate(poll, results) if results is not None else None
    else:
        options = poll_options(poll)
        wire = [
            PollOptionOut(
                id=o.pk,
                label=o.label,
                department=o.department_id,
                department_name=o.department.name if o.department else None,
                budget=float(o.budget) if o.budget is not None else None,
                note=o.note or None,
            )
            for o in options
        ]
        keys = [str(o.pk) for o in options]
        if poll.kind == Poll.Kind.SHEET:
            extra = {"rows": wire, "weights": poll.weights}
            results = (
                {key: {choice: stored.get(key, {}).get(choice, 0) for choice in poll.choices} for key in keys}
                if published
                else None
            )
            rate = {key: satisfaction_rate(poll, row) for key, row in results.items()} if results is not None else None
        else:
            extra = {"candidates": wire, "min": poll.min_picks, "max": poll.max_picks, "choose": poll.choose}
            results = {key: int(stored.get(key, 0)) for key in keys} if published else None
            rate = None
            if results is not None:
                ranked = ranking([o.pk for o in options], results)
                extra |= {"ranking": ranked, "chosen": chosen(ranked, results, poll.choose)}
    if published and not poll.secret:
        extra["roll"] = _roll(poll)
    if poll.opens_at is not None and poll.closes_at is not None:
        extra |= {"opens_at": poll.opens_at.isoformat(), "closes_at": poll.closes_at.isoformat()}
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
        satisfaction_rate=rate,
        kind=poll.kind,  # type: ignore[arg-type]
        **extra,
    )


def polls_out(hearing_id: int) -> list[PollOut]:
    """The hearing's polls as the public sees them: every one but the office's drafts."""
    eligible = checked_in_count(hearing_id)
    polls = Poll.objects.filter(hearing_id=hearing_id).exclude(status=Poll.Status.DRAFT)
    return [poll_out(poll, eligible_now=eligible) for poll in polls]


def drafts_out(hearing_id: int) -> list[PollOut]:
    """The polls the office prepared for the moderator to open (the control socket only)."""
    return [poll_out(poll) for poll in Poll.objects.filter(hearing_id=hearing_id, status=Poll.Status.DRAFT)]


def window_polls_due(hearing_id: int) -> bool:
    """Whether a window poll of the hearing is still open past its closing time."""
    return Poll.objects.filter(hearing_id=hearing_id, status=Poll.Status.OPEN, closes_at__lte=timezone.now()).exists()


def poll_progress(hearing_id: int) -> list[PollProgressData]:
    """N of M for the open poll(s): sent on the counter tick while it changes."""
    open_polls = dict(
        Poll.objects.filter(hearing_id=hearing_id, status=Poll.Status.OPEN).values_list("id", "closes_at")
    )
    if not open_polls:
        return []
    open_ids = list(open_polls)
    checked_in = checked_in_count(hearing_id)
    deputies = deputies_count(hearing_id) if any(open_polls.values()) else 0
    cast = dict(
        VoteRecord.objects.filter(poll_id__in=open_ids)
        .values("poll_id")
        .annotate(n=Count("id"))
        .values_list("poll_id", "n")
    )
    return [
        PollProgressData(poll=pid, cast=cast.get(pid, 0), eligible=deputies if open_polls[pid] else checked_in)
        for pid in open_ids
    ]
