"""`GET /audit/head.json`: the newest audit entry, published so that anyone may keep it and later
check the chain against it (`manage.py verify_audit --head SEQ:HASH`)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from audit.chain import head


@require_safe
@never_cache
def head_json(request: HttpRequest) -> JsonResponse:
    newest = head()
    return JsonResponse({"seq": newest.seq, "hash": newest.hash, "at": newest.at.isoformat() if newest.at else None})
