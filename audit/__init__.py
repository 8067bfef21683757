"""An append-only, hash-chained log of who changed what: moderators' actions, poll results and
assignment transitions. Services call `audit.record(...)` inside their own transaction, so an
action that rolls back leaves no entry and one that commits always has its entry.
`manage.py verify_audit` walks the chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import Model

    from audit.models import AuditEntry


def record(*, action: str, actor: Any, subject: Model | str, payload: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry: `actor` is a user, a model acting on its own (a department's API
    token) or None (the system); `subject` a model instance or a "kind:id" string."""
    # The package is imported while apps load; its models only once they have.
    from audit.chain import append  # noqa: PLC0415

    return append(action=action, actor=actor, subject=subject, payload=payload or {})


def record_many(entries: list[dict[str, Any]]) -> list[AuditEntry]:
    """Append several entries (each with `action`, `actor`, `subject`, optionally `payload`) in
    order, under one lock and one insert: a batch of a chamber's check-ins is one write."""
    from audit.chain import append_many  # noqa: PLC0415  (as in record)

    return append_many(entries)
