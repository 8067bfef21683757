"""People (人员) and departments (部门) under /manage/: lists, forms, an initial password,
deactivation. Every change is one call of hearings.services (people.py), which checks and audits."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from core import limits
from core.errors import DomainError
from hearings import services
from hearings.models import Department, Person
from hearings.services import FieldErrors
from office.access import staff_required

PAGE_SIZE = 50
PERSON_FIELDS = ("name", "role", "department", "delegation", "seat", "phone", "email")


def _people(request: HttpRequest) -> tuple[QuerySet[Person], dict[str, str]]:
    role = request.GET.get("role", "")
    query = request.GET.get("q", "").strip()[: limits.PEOPLE_SEARCH]
    people = Person.objects.select_related("user").prefetch_related("user__liaison_departments").order_by("name", "id")
    if role in Person.Role.values:
        people = people.filter(role=role)
    else:
        role = ""
    if query:
        people = people.filter(
            Q(name__icontains=query) | Q(user__username__icontains=query) | Q(delegation__icontains=query)
        )
    return people, {"role": role, "q": query}


@staff_required
def manage_people(request: HttpRequest) -> HttpResponse:
    people, filters = _people(request)
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "filters": filters, "query": query.urlencode(), "roles": Person.Role.choices}
    template = "office/_people_table.html" if request.htmx else "office/people.html"  # type: ignore[attr-defined]
    return render(request, template, context)


def acting_staff(request: HttpRequest) -> AbstractBaseUser:
    """The staff member acting (staff_required let only them in)."""
    user = request.user
    assert user.is_authenticated
    return user


def _form_values(request: HttpRequest) -> dict[str, str]:
    return {field: request.POST.get(field, "") for field in PERSON_FIELDS}


def _save(request: HttpRequest, values: dict[str, str], *, must_be_new: bool) -> services.SavedPerson:
    return services.person_save(
        username=values["username"],
        name=values["name"],
        role=values["role"],
        department=values["department"],
        delegation=values["delegation"],
        seat=values["seat"],
        phone=values["phone"],
        email=values["email"],
        by=acting_staff(request),
        must_be_new=must_be_new,
    )


def _person_values(person: Person) -> dict[str, str]:
    department = person.user.liaison_departments.first()
    return {
        "name": person.name,
        "role": person.role,
        "department": department.short_name if department else "",
        "delegation": person.delegation,
        "seat": person.seat,
        "phone": person.phone,
        "email": person.user.email,
    }


def _errors(exc: DomainError) -> dict[str, str]:
    """A refusal as per-field messages ("form" for one not tied to a field)."""
    if isinstance(exc, FieldErrors):
        return {field: error.message for field, error in exc.errors.items()}
    return {"form": exc.message}


def _refuse(exc: DomainError) -> None:
    if exc.code == "forbidden":
        raise PermissionDenied(exc.message)
    if exc.code == "not_found":
        raise Http404(exc.message)


def _form_context(values: dict[str, str], errors: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "roles": Person.Role.choices,
        "departments": Department.objects.order_by("short_name"),
        **extra,
    }


@staff_required
def manage_person_new(request: HttpRequest) -> HttpResponse:
    values = {field: "" for field in ("username", *PERSON_FIELDS)}
    values["role"] = Person.Role.DEPUTY
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {"username": request.POST.get("username", ""), **_form_values(request)}
        try:
            saved = _save(request, values, must_be_new=True)
        except DomainError as exc:
            _refuse(exc)
            errors = _errors(exc)
        else:
            messages.success(request, _("已添加 %(name)s。") % {"name": saved.person.name})
            return redirect("manage_person", person_id=saved.person.pk)
    status = 400 if errors else 200
    return render(request, "office/person_new.html", _form_context(values, errors), status=status)


@staff_required
def manage_person(request: HttpRequest, person_id: int) -> HttpResponse:
    """Edit a person; `action` password / deactivate / activate do those instead."""
    person = get_object_or_404(Person.objects.select_related("user"), pk=person_id)
    values = _person_values(person)
    errors: dict[str, str] = {}
    password = ""
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "password":
                password = services.person_set_password(person_id=person.pk, by=acting_staff(request))
            elif action == "deactivate":
                services.person_deactivate(person_id=person.pk, by=acting_staff(request))
                messages.success(request, _("已停用。"))
            elif action == "activate":
                services.person_activate(person_id=person.pk, by=acting_staff(request))
                messages.success(request, _("已启用。"))
            elif action == "save":
                values = _form_values(request)
                saved = _save(request, {**values, "username": person.user.username}, must_be_new=False)
                messages.success(request, _("已保存。") if saved.changed else _("没有改动。"))
            else:
                raise Http404("no such action")
        except DomainError as exc:
            _refuse(exc)
            errors = _errors(exc)
        else:
            if not password:
                return redirect("manage_person", person_id=person.pk)
        person.refresh_from_db()
        person.user.refresh_from_db()
    context = _form_context(values, errors, person=person, password=password)
    return render(request, "office/person.html", context, status=400 if errors else 200)


@staff_required
def manage_departments(request: HttpRequest) -> HttpResponse:
    values = {"name": "", "short_name": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {"name": request.POST.get("name", ""), "short_name": request.POST.get("short_name", "")}
        try:
            department = services.department_create(**values, by=acting_staff(request))
        except DomainError as exc:
            _refuse(exc)
            errors = _errors(exc)
        else:
            messages.success(request, _("已添加部门 %(name)s。") % {"name": department.name})
            return redirect("manage_departments")
    departments = Department.objects.annotate(liaison_count=Count("liaisons")).order_by("short_name")
    context = {"departments": departments, "values": values, "errors": errors}
    return render(request, "office/departments.html", context, status=400 if errors else 200)


@staff_required
def manage_department(request: HttpRequest, department_id: int) -> HttpResponse:
    department = get_object_or_404(Department, pk=department_id)
    values = {"name": department.name, "short_name": department.short_name}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {"name": request.POST.get("name", ""), "short_name": request.POST.get("short_name", "")}
        try:
            services.department_update(department_id=department.pk, **values, by=acting_staff(request))
        except DomainError as exc:
            _refuse(exc)
            errors = _errors(exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("manage_department", department_id=department.pk)
    liaisons = Person.objects.filter(user__liaison_departments=department).select_related("user").order_by("name")
    context = {"department": department, "values": values, "errors": errors, "liaisons": liaisons}
    return render(request, "office/department.html", context, status=400 if errors else 200)


urlpatterns = [
    path("people/", manage_people, name="manage_people"),
    path("people/new/", manage_person_new, name="manage_person_new"),
    path("people/<int:person_id>/", manage_person, name="manage_person"),
    path("departments/", manage_departments, name="manage_departments"),
    path("departments/<int:department_id>/", manage_department, name="manage_department"),
]
