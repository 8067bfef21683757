"""REST API for the county's other platforms: shared/PROTOCOL.md, "REST API (assignments)".

Reads are public (public fields only). Transitions need the lead department's token
(`manage.py issue_api_token`). Every error is {"error": CODE, "message": text} with the
protocol's status; nothing a client sends gets a 500. Thin: services decide.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Path, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import Field

from assignments import selectors, services
from assignments.models import Assignment
from assignments.schema import MAX_ID, AssignmentListOut, AssignmentOut, ErrorOut, StatusName, TransitionIn
from core.errors import DomainError
from hearings.models import Department

STATUS_OF = {"bad_request": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "invalid_state": 409}
CODE_OF = {status: code for code, status in STATUS_OF.items()}


class DepartmentToken(HttpBearer):
    """`Authorization: Bearer <token>`: the department the token was issued to."""

    def authenticate(self, request: HttpRequest, token: str) -> Department | None:
        return selectors.department_for_token(token)


def _reader(request: HttpRequest) -> Department | None:
    """On the public reads: the department of a valid token sent along, for the payload's
    `actions`; no token or an unknown one reads as anyone (never a 401)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return selectors.department_for_token(token.strip())


api = NinjaAPI(
    title="问政 Live 交办件 API",
    version="1",
    description="Assignments (交办件) made from hearings' questions: read publicly, move with a department token.",
    urls_namespace="api-v1",
    docs_url="/docs",
)


def _error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    return api.create_response(request, {"error": code, "message": message}, status=status)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    code = exc.code if exc.code in STATUS_OF else "bad_request"
    return _error(request, STATUS_OF[code], code, exc.message)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    parts = []
    for error in exc.errors[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return _error(request, 400, "bad_request", "; ".join(parts) or "invalid request")


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, "unauthorized", "a valid department token is required (Authorization: Bearer …)")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja raises these for a body it cannot parse, among others.
    code = CODE_OF.get(exc.status_code, "bad_request")
    return _error(request, exc.status_code if exc.status_code in CODE_OF else 400, code, str(exc))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # Reading the body refused it (DATA_UPLOAD_MAX_MEMORY_SIZE): the protocol's error, not Django's HTML 400.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error(request, 400, "bad_request", f"request body too large (at most {limit} bytes)")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "not found")


class ListFilters(Schema):
    hearing: int | None = Field(default=None, ge=1, le=MAX_ID)
    department: int | None = Field(default=None, ge=1, le=MAX_ID, description="lead or co-department")
    status: StatusName | None = None
    overdue: bool | None = None
    lead: bool = Field(default=False, description="with department: only assignments it leads")
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_ID)


ERRORS_READ: dict[int, Any] = {400: ErrorOut, 404: ErrorOut}


@api.get("/assignments/", response={200: AssignmentListOut, 400: ErrorOut}, summary="List assignments", auth=None)
def list_assignments(request: HttpRequest, filters: Query[ListFilters]) -> AssignmentListOut:
    qs = selectors.assignments_filtered(
        hearing=filters.hearing,
        department=filters.department,
        status=filters.status,
        overdue=filters.overdue,
        lead=filters.lead,
    )
    count = qs.count()
    page = selectors.with_details(qs)[filters.offset : filters.offset + filters.limit] if filters.offset < count else []
    department = _reader(request)
    return AssignmentListOut(count=count, results=[selectors.assignment_out(a, department=department) for a in page])


class AssignmentPath(Schema):
    id: int = Field(ge=1, le=MAX_ID)


def _get(assignment_id: int) -> Assignment:
    assignment = selectors.with_details(Assignment.objects.filter(pk=assignment_id)).first()
    if assignment is None:
        raise Http404
    return assignment


@api.get("/assignments/{id}/", response={200: AssignmentOut, **ERRORS_READ}, summary="Read an assignment", auth=None)
def read_assignment(request: HttpRequest, path: Path[AssignmentPath]) -> AssignmentOut:
    return selectors.assignment_out(_get(path.id), department=_reader(request))


@api.post(
    "/assignments/{id}/transitions/",
    response={200: AssignmentOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Move an assignment (lead department's token)",
    auth=DepartmentToken(),
)
def transition(request: HttpRequest, path: Path[AssignmentPath], body: TransitionIn) -> AssignmentOut:
    department: Department = request.auth  # type: ignore[attr-defined]
    assignment_id = path.id
    if body.action == "accept":
        services.assignment_accept(assignment_id=assignment_id, by=department, note=body.note)
    elif body.action == "return":
        services.assignment_return(assignment_id=assignment_id, by=department, reason=body.reason or body.note)
    elif body.action == "progress":
        services.assignment_progress(assignment_id=assignment_id, by=department, note=body.note)
    elif body.action == "reply":
        services.assignment_reply(assignment_id=assignment_id, by=department, text=body.note)
    else:
        services.assignment_request_extension(
            assignment_id=assignment_id, by=department, due_date=body.due_date, reason=body.reason or body.note
        )
    return selectors.assignment_out(_get(assignment_id), department=department)
