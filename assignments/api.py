"""REST API for the county's other platforms: shared/PROTOCOL.md, "REST API (assignments)".

Reads are public (public fields only). Transitions need the lead department's token
(`manage.py issue_api_token`). Every error is {"error": CODE, "message": text} with the
protocol's status; nothing a client sends gets a 500. Thin: services decide.
"""

from __future__ import annotations

from typing import Any, get_args

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Path, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import Field

from assignments import selectors, services
from assignments.models import Assignment
from assignments.schema import (
    MAX_ID,
    AssignmentListOut,
    AssignmentOut,
    ErrorName,
    ErrorOut,
    StatusName,
    TransitionIn,
)
from core.errors import CODES, FIELDS, TEXT_PROBLEMS, BadRequest, DomainError, NotFound, Unauthorized, render
from hearings.models import Department

ERROR_CODES: frozenset[str] = frozenset(get_args(ErrorName))
CODE_OF = {CODES[code].status: code for code in ERROR_CODES}


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


def _error(request: HttpRequest, error: DomainError) -> HttpResponse:
    """{"error": CODE, "message": text}: the code's status, the text in the request's language."""
    if error.code not in ERROR_CODES:  # a code of the live protocol only: none of the assignment services raise one
        error = BadRequest(error.template, **error.params)
    return api.create_response(request, error.payload(), status=error.status)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc)


def _invalid(error: dict[str, Any]) -> str:
    """One refused field: a text field's refusal in the words the services use ("The note cannot
    contain control characters."); anything else as pydantic says it, after the field's path."""
    loc = [str(part) for part in error.get("loc", ())]
    problem = str(error.get("type", "")).removeprefix("text_")
    if loc and loc[-1] in FIELDS and problem in TEXT_PROBLEMS:
        limit = (error.get("ctx") or {}).get("limit", 0)
        return render(TEXT_PROBLEMS[problem], {"what": FIELDS[loc[-1]], "limit": limit})
    return f"{'.'.join(loc)}: {error.get('msg', 'invalid')}"


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    parts = [_invalid(error) for error in exc.errors[:5]]
    if not parts:
        return _error(request, BadRequest(CODES["bad_request"].title))
    return _error(request, BadRequest("%(errors)s", errors="; ".join(parts)))


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, Unauthorized(_("需要有效的单位令牌（Authorization: Bearer …）。")))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja raises these for a body it cannot parse, among others: its words, for the developer.
    code = CODE_OF.get(exc.status_code, "bad_request")
    return api.create_response(request, {"error": code, "message": str(exc)}, status=CODES[code].status)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # Reading the body refused it (DATA_UPLOAD_MAX_MEMORY_SIZE): the protocol's error, not Django's HTML 400.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _error(request, BadRequest(_("请求内容太大，最多 %(limit)s 字节。"), limit=limit))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, NotFound(CODES["not_found"].title))


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
        raise NotFound(_("找不到这件交办件。"))
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
    if body.action != "reply" and (body.science is not None or body.feasibility is not None or body.comment):
        raise BadRequest(_("科学性、可行性和意见只随答复（reply）提交。"))
    if body.action == "accept":
        services.assignment_accept(assignment_id=assignment_id, by=department, note=body.note)
    elif body.action == "return":
        services.assignment_return(assignment_id=assignment_id, by=department, reason=body.reason or body.note)
    elif body.action == "progress":
        services.assignment_progress(assignment_id=assignment_id, by=department, note=body.note)
    elif body.action == "reply":
        services.assignment_reply(
            assignment_id=assignment_id,
            by=department,
            text=body.note,
            science=body.science,
            feasibility=body.feasibility,
            comment=body.comment,
        )
    else:
        services.assignment_request_extension(
            assignment_id=assignment_id, by=department, due_date=body.due_date, reason=body.reason or body.note
        )
    return selectors.assignment_out(_get(assignment_id), department=department)
