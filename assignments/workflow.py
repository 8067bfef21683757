"""The assignment workflow as data: for each action, the statuses it starts from, the status it
leads to, who may take it, what else must hold, the timeline entry it writes and who is told.

services.py runs every transition through one path that reads this table (check who may, check
the status, the action's own rules, write, timeline, audit, notify); selectors.available_actions
reads it to offer the pages' forms and the REST API's `actions`; the tests check it against the
services' real behaviour. docs/architecture.md ("Assignment workflow") shows it as a table
(`as_markdown`).

Creating an assignment is not in the table: it starts from a hearing's answered questions, not
from an assignment (services.assignment_create: a moderator of the hearing; → assigned).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from assignments.models import Assignment, Status, TimelineEntry, Verdict

Action = TimelineEntry.Action


class Who(StrEnum):
    """Who may take an action. The system itself (seed data, management commands: `by=None`)
    may take any; staff (is_staff) have no role of their own."""

    LEAD = "lead"  # a liaison of the lead department (主办单位), or its API token
    MODERATOR = "moderator"  # a moderator of the assignment's hearing
    EVALUATOR = "evaluator"  # the deputy who asked; a moderator when no deputy asked


WHO_TEXT = {
    Who.LEAD: "liaison of the lead department, or its API token",
    Who.MODERATOR: "moderator of the hearing",
    Who.EVALUATOR: "deputy who asked (a moderator when no deputy asked)",
}


class Notify(StrEnum):
    """Who is told after an action: a notice in the app and/or by e-mail, as each person chose
    for its kind (assignments/notify.py)."""

    LIAISONS = "liaisons"  # of the lead department (after the action: a reassignment's new one)
    MODERATORS = "moderators"  # of the hearing
    ASKERS = "askers"  # the deputies who asked


@dataclass(frozen=True)
class Condition:
    """What must hold besides the status; `text` says it in the docs."""

    holds: Callable[[Assignment], bool]
    text: str


NO_PENDING_EXTENSION = Condition(lambda a: a.extension_due_date is None, "no extension request waiting")
PENDING_EXTENSION = Condition(lambda a: a.extension_due_date is not None, "an extension request waiting")
UNSATISFIED = Condition(lambda a: a.verdict == Verdict.UNSATISFIED, "the verdict is 不满意")
REVIEW_DUE = Condition(
    lambda a: a.review_due is not None and a.reviewed_at is None, "a 回头看 scheduled and not yet recorded"
)


@dataclass(frozen=True)
class Then:
    """What an action leads to when `when` holds (the service decides it from the action's
    input): the status becomes `target`, a second timeline entry `entry` is written after the
    action's own, and `notify` are told (with that entry's code)."""

    when: str
    target: Status
    entry: str
    notify: tuple[Notify, ...] = ()


@dataclass(frozen=True)
class Transition:
    name: str  # the action: the pages' /assignments/<id>/do/<name>/, the REST API's "action"
    sources: tuple[Status, ...]  # the statuses it may start from
    target: Status | None  # the status after it; None: unchanged
    who: Who
    entries: tuple[str, ...]  # the timeline entry it writes (decide_extension: approved or refused)
    notify: tuple[Notify, ...] = ()
    condition: Condition | None = None
    api: bool = False  # offered by the REST API (the lead department's token)
    then: Then | None = None

    @property
    def entry(self) -> str:
        return self.entries[0]

    def allows(self, assignment: Assignment) -> bool:
        """The status and the condition allow it (who may is the caller's to check)."""
        return assignment.status in self.sources and (self.condition is None or self.condition.holds(assignment))


S = Status
HANDLING = (S.ACCEPTED, S.IN_PROGRESS)

# In the order the detail page offers them: the lead department's, the evaluator's, the moderator's.
TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("accept", (S.ASSIGNED, S.REOPENED), S.ACCEPTED, Who.LEAD, (Action.ACCEPTED,), api=True),
        Transition(
            "return", (S.ASSIGNED, S.ACCEPTED), S.RETURNED, Who.LEAD, (Action.RETURNED,), (Notify.MODERATORS,), api=True
        ),
        Transition("progress", HANDLING, S.IN_PROGRESS, Who.LEAD, (Action.PROGRESS,), api=True),
        Transition(
            "reply", HANDLING, S.REPLIED, Who.LEAD, (Action.REPLIED,), (Notify.ASKERS, Notify.MODERATORS), api=True
        ),
        Transition(
            "request_extension",
            (*HANDLING, S.REOPENED),
            None,
            Who.LEAD,
            (Action.EXTENSION_REQUESTED,),
            (Notify.MODERATORS, Notify.ASKERS),
            NO_PENDING_EXTENSION,
            api=True,
        ),
        Transition(
            "evaluate",
            (S.REPLIED,),
            S.EVALUATED,
            Who.EVALUATOR,
            (Action.EVALUATED,),
            (Notify.MODERATORS, Notify.LIAISONS),
        ),
        Transition(
            "decide_extension",
            (*HANDLING, S.REOPENED),
            None,
            Who.MODERATOR,
            (Action.EXTENSION_APPROVED, Action.EXTENSION_REFUSED),
            (Notify.LIAISONS,),
            PENDING_EXTENSION,
        ),
        Transition("reassign", (S.RETURNED,), S.ASSIGNED, Who.MODERATOR, (Action.REASSIGNED,), (Notify.LIAISONS,)),
        Transition(
            "reopen", (S.EVALUATED,), S.REOPENED, Who.MODERATOR, (Action.REOPENED,), (Notify.LIAISONS,), UNSATISFIED
        ),
        Transition("close", (S.EVALUATED,), S.CLOSED, Who.MODERATOR, (Action.CLOSED,)),
        # 回头看: a relapse (问题出现反弹) reopens the assignment, like an unsatisfied verdict.
        Transition(
            "review",
            (S.CLOSED,),
            None,
            Who.MODERATOR,
            (Action.REVIEWED,),
            condition=REVIEW_DUE,
            then=Then("the outcome is relapsed", S.REOPENED, Action.REOPENED, (Notify.LIAISONS,)),
        ),
    )
}

# Who is told when an assignment is created (services.assignment_create), like a reassignment.
CREATED_NOTIFY = (Notify.LIAISONS,)


def api_actions() -> list[str]:
    return [t.name for t in TRANSITIONS.values() if t.api]


def as_markdown() -> str:
    """The table for docs/architecture.md (a test keeps the two equal)."""
    lines = [
        "| action | from | to | who | also needs | timeline entry | notice to | REST |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in TRANSITIONS.values():
        target = t.target.value if t.target else "(unchanged)"
        entries = " / ".join(f"`{e}`" for e in t.entries)
        notify = ", ".join(n.value for n in t.notify)
        if t.then is not None:
            when = f"when {t.then.when}"
            target += f"; {t.then.target.value} {when}"
            entries += f", then `{t.then.entry}` {when}"
            notify = "; ".join(filter(None, [notify, f"{', '.join(n.value for n in t.then.notify)} {when}"]))
        lines.append(
            "| "
            + " | ".join(
                [
                    f"`{t.name}`",
                    ", ".join(s.value for s in t.sources),
                    target,
                    WHO_TEXT[t.who],
                    t.condition.text if t.condition else "",
                    entries,
                    notify,
                    "yes" if t.api else "",
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"
