"""Webhook events of assignments (`assignment.<action>`, PROTOCOL.md "Webhooks")."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from assignments import selectors
from assignments.models import Assignment
from outbound import webhooks


def assignment_changed(assignment: Assignment, action: str) -> None:
    """Queue `assignment.<action>` with the ASSIGNMENT to every endpoint that wants it: those for
    all events and the lead department's. The payload is the REST API's (selectors.assignment_out,
    no token: no `actions`), read afresh inside the change's transaction, its notes worded in the
    site's language whoever made the change."""
    if not webhooks.listening(assignment.lead_department_id):
        return
    fresh = selectors.with_details(Assignment.objects.filter(pk=assignment.pk)).get()
    with translation.override(settings.LANGUAGE_CODE):
        data = selectors.assignment_out(fresh).model_dump(mode="json")
    webhooks.emit(f"assignment.{action}", data, department_id=fresh.lead_department_id)
