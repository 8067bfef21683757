"""A hearing's life: draft → live → ended."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import audit
from core.errors import InvalidState
from hearings import guards, selectors
from hearings.models import AgendaItem, Hearing, Question
from hearings.services.questions import answer
from live.publish import publish
from live.schema import AgendaCurrentData, Event, HearingStatusData


@transaction.atomic
def hearing_start(*, hearing_id: int, by: AbstractBaseUser | None) -> Hearing:
    """draft → live. A hearing starts once."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    if hearing.status != Hearing.Status.DRAFT:
        raise InvalidState(_("只有筹备中的问政会可以开始。"))
    hearing.status = Hearing.Status.LIVE
    hearing.started_at = timezone.now()
    hearing.save(update_fields=["status", "started_at"])
    audit.record(action="hearing.start", actor=by, subject=hearing, payload={"status": hearing.status})
    publish(hearing, public=Event(type="hearing.status", data=HearingStatusData(status="live")))
    return hearing


@transaction.atomic
def hearing_end(*, hearing_id: int, by: AbstractBaseUser | None) -> Hearing:
    """live → ended. The current item is done and the question on stage answered; an ended
    hearing changes no more. The chamber's `hearing_end` (chamber/services.py), which the
    moderator's command runs, closes an open poll first."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    guards.require_live(hearing)
    now = timezone.now()
    current = AgendaItem.objects.filter(hearing=hearing, status=AgendaItem.Status.CURRENT).first()
    if current is not None:
        current.status = AgendaItem.Status.DONE
        current.ended_at = now
        current.save(update_fields=["status", "ended_at"])
        publish(
            hearing,
            public=Event(
                type="agenda.current",
                data=AgendaCurrentData(item=None, previous=current.pk, agenda=selectors.agenda_out(hearing.pk)),
            ),
        )
    staged = Question.objects.filter(hearing=hearing, status=Question.Status.ON_STAGE).first()
    if staged is not None:
        answer(hearing, staged, now=now)
    hearing.status = Hearing.Status.ENDED
    hearing.ended_at = now
    hearing.save(update_fields=["status", "ended_at"])
    audit.record(action="hearing.end", actor=by, subject=hearing, payload={"status": hearing.status})
    publish(hearing, public=Event(type="hearing.status", data=HearingStatusData(status="ended")))
    return hearing
