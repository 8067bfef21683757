"""A collected question's contact (联系方式): a mainland mobile number or an e-mail address.

Seen by the congress office only (never on a public page, payload or export), and erased some
days after the hearing (QUESTION_CONTACT_DAYS, `manage.py purge_contacts`)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from core import limits
from core.errors import BadRequest
from core.text import TextError, clean_text

# 11 digits starting 13–19, after an optional +86 / 86 / 0086 and any spaces or dashes between.
_MOBILE = re.compile(r"(?:\+?86|0086)?(1[3-9]\d{9})")
_SEPARATORS = re.compile(r"[\s\-]")

INVALID = _("联系方式须是手机号码或电子邮箱地址。")


def clean_contact(value: str) -> str:
    """The contact as stored: "" (none given), a mobile number as its 11 digits, or an e-mail
    address trimmed; anything else is a BadRequest."""
    try:
        text = clean_text(value, max_length=limits.ASKER_CONTACT, multiline=False, required=False)
    except TextError as exc:
        if exc.problem == "too_long":
            raise BadRequest(_("联系方式最多 %(limit)s 个字符。"), limit=limits.ASKER_CONTACT) from None
        raise BadRequest(INVALID) from None
    if not text:
        return ""
    mobile = _MOBILE.fullmatch(_SEPARATORS.sub("", text))
    if mobile is not None:
        return mobile.group(1)
    if "@" in text and text.isascii():
        try:
            validate_email(text)
        except ValidationError:
            pass
        else:
            return text
    raise BadRequest(INVALID)
