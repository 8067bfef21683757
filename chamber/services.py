"""What the chamber does across a hearing and its polls, one layer above both.

A hearing knows nothing of polls (voting builds on hearings), so a rule that needs both lives
here: the moderator's commands (chamber/commands.py) call these.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from hearings import guards
from hearings import services as hearing_services
from hearings.models import Hearing
from outbound import webhooks
from projects import services as project_services
from voting import selectors as voting_selectors
from voting import services as voting_services
from voting.models import Poll


@transaction.atomic
def hearing_end(*, hearing_id: int, by: AbstractBaseUser | None) -> Hearing:
    """End the hearing (hearings.services.hearing_end); a live poll still open closes first, in
    the same transaction, so no ballot counts after the end. A window poll (scheduled before the
    hearing went live, e.g. the 事后测评 from tomorrow) keeps its own times."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    guards.require_live(hearing)
    live_polls = Poll.objects.filter(hearing=hearing, status=Poll.Status.OPEN, closes_at__isnull=True)
    for poll_id in live_polls.values_list("pk", flat=True):
        voting_services.poll_close(hearing_id=hearing.pk, poll_id=poll_id, by=None)
    return hearing_services.hearing_end(hearing_id=hearing_id, by=by)


@transaction.atomic
def poll_publish(*, hearing_id: int, poll_id: int, by: AbstractBaseUser | None) -> Poll:
    """Publish the results (voting.services.poll_publish); a select poll's chosen candidates
    become 民生实事 projects in the same transaction (projects.services.adopt_chosen), and the
    webhook endpoints for all events are sent `poll.published` with the POLL as published (once:
    publishing again changes nothing and sends nothing)."""
    guards.hearing_for_update(hearing_id)  # first, so two publishers cannot both see it unpublished
    was = Poll.objects.filter(pk=poll_id, hearing_id=hearing_id).values_list("status", flat=True).first()
    poll = voting_services.poll_publish(hearing_id=hearing_id, poll_id=poll_id, by=by)
    if poll.kind == Poll.Kind.SELECT:
        project_services.adopt_chosen(poll=poll, by=by)
    if was != Poll.Status.PUBLISHED and webhooks.listening():
        webhooks.emit(webhooks.POLL_PUBLISHED, voting_selectors.poll_out(poll).model_dump(mode="json"))
    return poll
