"""Fuzz the REST API from its own OpenAPI document: no 5xx, no response outside the schema.

Schemathesis generates requests (valid and invalid) for every operation and checks each
response against /api/v1/openapi.json. Runs in-process against the WSGI app, bounded
(derandomized, few examples per operation) so it takes seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks

from assignments import services
from tests.assignments.helpers import Case, advance, create

# Not positive_data_acceptance: a schema-valid transition is still refused (401, 403, 404, 409)
# when the token, the assignment or its state says no, as the document declares.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]


@pytest.fixture
def api_token(case: Case) -> str:
    """Assignments in a few states, and the lead department's token (valid auth half the time)."""
    create(case)
    advance(case, create(case, questions=[case.questions[1]]), "in_progress")
    return services.api_token_issue(department=case.lead)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction() -> Iterator[None]:
    # The test's database transaction must survive each request: as Django's test client does,
    # keep the WSGI handler from closing the connection at the end of a request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


_django = get_wsgi_application()


def https_app(environ: dict[str, Any], start_response: Any) -> Any:
    """The WSGI app as served behind TLS (the settings redirect plain http)."""
    environ["wsgi.url_scheme"] = "https"
    return _django(environ, start_response)


# pytest-django has set Django up before collection; fetching the document touches no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", https_app)


@schema.parametrize()
@hypothesis_settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_api_matches_its_openapi_document(case: Any, api_token: str) -> None:
    headers = None
    # Half the generated requests carry the real token, so transitions get past auth.
    if case.method == "POST" and hash(str(case.path_parameters)) % 2 == 0:
        headers = {"Authorization": f"Bearer {api_token}"}
    case.call_and_validate(headers=headers, checks=CHECKS)
