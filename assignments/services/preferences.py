"""How a person wants each kind of notice (assignments/notify.py): set on their settings page."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from assignments.models import Preference
from assignments.notify import BY_KEY, Choice


@transaction.atomic
def preferences_set(*, user: AbstractBaseUser, choices: Mapping[str, Choice]) -> None:
    """Store the person's choice for each kind given (in the app, by e-mail); a key that is no
    kind is ignored, a kind not given keeps what it had."""
    for key, choice in choices.items():
        if key in BY_KEY:
            Preference.objects.update_or_create(
                user_id=user.pk, kind=key, defaults={"in_app": choice.in_app, "email": choice.email}
            )
