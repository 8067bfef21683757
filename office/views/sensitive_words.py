"""/manage/sensitive-words/: the sensitive-word list (敏感词), kept by office staff.

The list, each word with how many of the questions stored matched it; add (one word a line)
and remove, through hearings.services (sensitive_words_add / sensitive_words_remove, audited).
`python manage.py sensitive_words` does the same from a shell."""

from __future__ import annotations

from collections import Counter

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from hearings import services
from hearings.models import Question, SensitiveWord
from office.access import staff_required


def _matched_counts() -> Counter[str]:
    """How many questions matched each word (as stored with each question when it was asked)."""
    counts: Counter[str] = Counter()
    rows = Question.objects.exclude(Q(sensitive_words=[]) | Q(sensitive_words__isnull=True))
    for words in rows.values_list("sensitive_words", flat=True).iterator():
        counts.update(words or [])
    return counts


@staff_required
@require_GET
def sensitive_words_page(request: HttpRequest) -> HttpResponse:
    counts = _matched_counts()
    words = [(w, counts.get(w.word, 0)) for w in SensitiveWord.objects.order_by("word")]
    return render(request, "office/sensitive_words.html", {"words": words})


@staff_required
@require_POST
def sensitive_words_action(request: HttpRequest, action: str) -> HttpResponse:
    assert isinstance(request.user, AbstractBaseUser)  # staff_required
    try:
        if action == "add":
            lines = [line.strip() for line in request.POST.get("words", "").splitlines()]
            done = services.sensitive_words_add(words=[line for line in lines if line], by=request.user)
            text = ngettext("已添加 %(n)s 个敏感词。", "已添加 %(n)s 个敏感词。", len(done.changed)) % {
                "n": len(done.changed)
            }
            if done.unchanged:
                text += " " + _("已在列表中：%(words)s") % {"words": "、".join(done.unchanged)}
        elif action == "remove":
            done = services.sensitive_words_remove(words=request.POST.getlist("word"), by=request.user)
            text = ngettext("已删除 %(n)s 个敏感词。", "已删除 %(n)s 个敏感词。", len(done.changed)) % {
                "n": len(done.changed)
            }
        else:
            return redirect("manage_sensitive_words")
        messages.success(request, text)
    except DomainError as exc:
        messages.error(request, _("%(title)s：%(reason)s") % {"title": exc.title, "reason": exc.message})
    return redirect("manage_sensitive_words")


urlpatterns: list[URLPattern] = [
    path("sensitive-words/", sensitive_words_page, name="manage_sensitive_words"),
    path("sensitive-words/do/<slug:action>/", sensitive_words_action, name="manage_sensitive_words_action"),
]
