"""/manage/hearings/<id>/agenda/: the office's agenda editor (议程编排), before and during a
hearing. The same four commands as the control panel and the control socket (chamber/commands.py:
agenda.add, agenda.edit, agenda.move, agenda.remove), run for the staff member who posts, so every
screen gets the same `agenda.updated`. An htmx post gets the agenda list back with the result
above it; a plain post is redirected to the page with the result as a message."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from chamber import commands
from core.errors import DomainError
from hearings import selectors
from hearings.models import AgendaItem, Hearing
from office.access import staff_required

# The commands this page runs, by the slug of its URL (the control panel's slugs).
COMMANDS = ("agenda.add", "agenda.edit", "agenda.move", "agenda.remove")
SLUGS = {commands.COMMANDS[name].slug: name for name in COMMANDS}


def _context(hearing: Hearing, **extra: Any) -> dict[str, Any]:
    agenda = selectors.agenda_out(hearing.pk)
    kinds, statuses = dict(AgendaItem.Kind.choices), dict(AgendaItem.Status.choices)
    return {
        "hearing": hearing,
        "agenda": agenda,
        "rows": [(item, kinds[item.kind], statuses[item.status]) for item in agenda],
        "departments": selectors.department_refs(),
        "kinds": AgendaItem.Kind.choices,
        "editable": hearing.status != Hearing.Status.ENDED,
        **extra,
    }


@staff_required
@require_GET
def agenda_page(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    return render(request, "office/agenda.html", _context(hearing))


@staff_required
@require_POST
def agenda_action(request: HttpRequest, hearing_id: int, slug: str) -> HttpResponse:
    name = SLUGS.get(slug)
    if name is None:
        raise Http404("no such agenda action")
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    command = commands.COMMANDS[name]
    assert isinstance(request.user, AbstractBaseUser)  # staff_required
    status = 200
    try:
        fields = commands.parse_form(command.model, request.POST)
        result = commands.execute(name, hearing_id=hearing.pk, by=request.user, fields=fields)
        ok, text = True, command.message(result)
    except DomainError as exc:
        ok, text, status = False, _("%(title)s：%(reason)s") % {"title": exc.title, "reason": exc.message}, exc.status
    if not request.htmx:  # type: ignore[attr-defined]
        (messages.success if ok else messages.error)(request, text)
        return redirect("manage_agenda", hearing.pk)
    hearing.refresh_from_db()
    context = _context(hearing, result={"ok": ok, "text": text})
    return render(request, "office/_agenda_list.html", context, status=status)


urlpatterns: list[URLPattern] = [
    path("hearings/<int:hearing_id>/agenda/", agenda_page, name="manage_agenda"),
    path("hearings/<int:hearing_id>/agenda/do/<slug:slug>/", agenda_action, name="manage_agenda_action"),
]
