"""The public following an assignment by e-mail (double opt-in, one-click unsubscribe)."""

from __future__ import annotations

from assignments.models import Assignment


def assignment_changed(assignment: Assignment, action: str) -> None:
    """E-mail each confirmed follower that the assignment changed."""
    return None  # filled by the notifications work
