"""The agenda: which item is current (going back to an earlier one too)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import audit
from core.errors import InvalidState, NotFound
from hearings import guards, selectors
from hearings.models import AgendaItem
from live.publish import publish
from live.schema import AgendaCurrentData, Event


@transaction.atomic
def agenda_start(*, hearing_id: int, item_id: int, by: AbstractBaseUser | None) -> AgendaItem:
    """Make `item` the one current item of a live hearing; the current one becomes done.

    Any item may be started, a done one too (going back)."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    item = AgendaItem.objects.select_for_update().filter(pk=item_id, hearing=hearing).first()
    if item is None:
        raise NotFound(_("本场问政会没有这项议程。"))
    guards.require_live(hearing)
    if item.status == AgendaItem.Status.CURRENT:
        raise InvalidState(_("这项议程已在进行中。"))
    now = timezone.now()
    previous = AgendaItem.objects.select_for_update().filter(hearing=hearing, status=AgendaItem.Status.CURRENT).first()
    if previous is not None:
        previous.status = AgendaItem.Status.DONE
        previous.ended_at = now
        previous.save(update_fields=["status", "ended_at"])
    item.status = AgendaItem.Status.CURRENT
    item.started_at = now
    item.ended_at = None
    item.save(update_fields=["status", "started_at", "ended_at"])
    audit.record(
        action="agenda.start",
        actor=by,
        subject=item,
        payload={"hearing": hearing.pk, "previous": previous and previous.pk},
    )
    publish(
        hearing,
        public=Event(
            type="agenda.current",
            data=AgendaCurrentData(
                item=item.pk, previous=previous.pk if previous else None, agenda=selectors.agenda_out(hearing.pk)
            ),
        ),
    )
    return item
