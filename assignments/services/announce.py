"""After every change of an assignment, inside its transaction: the world outside hears of it
once the change commits — the platforms registered for webhooks (assignments/services/webhooks.py)
and the public following it by e-mail (assignments/services/following.py)."""

from __future__ import annotations

from assignments.models import Assignment
from assignments.services import following, webhooks


def announce(assignment: Assignment, action: str) -> None:
    """`action` is the workflow's action name (workflow.TRANSITIONS), or "create"."""
    webhooks.assignment_changed(assignment, action)
    following.assignment_changed(assignment, action)
