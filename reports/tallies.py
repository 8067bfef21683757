"""Counts of many sheet and select polls at once, from their stored ballots: what
voting.selectors.tally gives for one poll (a secret poll's tally row, a named poll's Ballot
rows; never Poll.results), in two queries however many polls, for the report and the
scorecards, whose query counts do not grow with the data."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from voting.models import Ballot, Poll, SecretTally


@dataclass(frozen=True)
class OptionTallies:
    """rows[poll id][row id] = Counter of choices (sheets); picks[poll id] = Counter of
    candidate ids (selects); ids as strings, as on the wire. Missing keys count 0."""

    rows: dict[int, defaultdict[str, Counter[str]]] = field(default_factory=dict)
    picks: dict[int, Counter[str]] = field(default_factory=dict)

    def row(self, poll_id: int, row_id: int) -> Counter[str]:
        return self.rows.get(poll_id, defaultdict(Counter))[str(row_id)]

    def picked(self, poll_id: int, candidate_id: int) -> int:
        return self.picks.get(poll_id, Counter())[str(candidate_id)]


def option_tallies(polls: Iterable[Poll]) -> OptionTallies:
    kinds = {poll.pk: poll.kind for poll in polls if poll.kind in (Poll.Kind.SHEET, Poll.Kind.SELECT)}
    tallies = OptionTallies(
        rows={pk: defaultdict(Counter) for pk, kind in kinds.items() if kind == Poll.Kind.SHEET},
        picks={pk: Counter() for pk, kind in kinds.items() if kind == Poll.Kind.SELECT},
    )
    if not kinds:
        return tallies
    for poll_id, counts in SecretTally.objects.filter(poll_id__in=kinds).values_list("poll_id", "counts"):
        if kinds[poll_id] == Poll.Kind.SHEET:
            for row, per_choice in (counts or {}).items():
                tallies.rows[poll_id][row].update({choice: n for choice, n in (per_choice or {}).items() if n})
        else:
            tallies.picks[poll_id].update({key: n for key, n in (counts or {}).items() if n})
    ballots = Ballot.objects.filter(poll_id__in=kinds).order_by().values_list("poll_id", "choices", "picks")
    for poll_id, choices, picks in ballots:
        if kinds[poll_id] == Poll.Kind.SHEET:
            for row, choice in (choices or {}).items():
                tallies.rows[poll_id][row][choice] += 1
        else:
            tallies.picks[poll_id].update(str(pick) for pick in picks or ())
    return tallies
