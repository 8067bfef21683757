from __future__ import annotations

from typing import Any

import pytest

from tests.assignments.helpers import Case, make_case


@pytest.fixture(autouse=True)
def _plain_http_and_tmp_media(settings: Any, tmp_path: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def case(db: Any) -> Case:
    return make_case()
