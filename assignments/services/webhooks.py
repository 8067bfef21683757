"""Webhook events of assignments (`assignment.<action>`, PROTOCOL.md "Webhooks")."""

from __future__ import annotations

from assignments.models import Assignment


def assignment_changed(assignment: Assignment, action: str) -> None:
    """Queue `assignment.<action>` with the ASSIGNMENT to every endpoint that wants it."""
    return None  # filled by the webhooks work
