"""API tokens of a department (the REST API's Bearer tokens): only a digest is stored."""

from __future__ import annotations

import secrets

from assignments import selectors
from assignments.models import ApiToken
from hearings.models import Department


def api_token_issue(*, department: Department) -> str:
    """A new API token for the department; only its digest is stored, so it is shown once."""
    token = "wz_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(department=department, digest=selectors.token_digest(token), prefix=token[:10])
    return token
