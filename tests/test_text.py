"""core.text: the one rule for client text, and the words a page shows for each refusal."""

from __future__ import annotations

import unicodedata
from typing import Annotated

import pytest
from django import forms
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from core.errors import FIELDS, TEXT_PROBLEMS, BadRequest, clean_or_refuse
from core.text import BIDI_CONTROLS, CleanTextField, TextError, TextRule, clean_text
from tests.text_cases import GOOD, REFUSED, REFUSED_ONE_LINE, WITH_BIDI


@pytest.mark.parametrize(("case", "text"), REFUSED_ONE_LINE.items())
def test_refused_in_a_single_line_field(case: str, text: str) -> None:
    with pytest.raises(TextError):
        clean_text(text, max_length=50, multiline=False, required=False)


@pytest.mark.parametrize(("case", "text"), REFUSED.items())
def test_refused_in_a_multi_line_field_required_or_not(case: str, text: str) -> None:
    for required in (True, False):
        with pytest.raises(TextError):
            clean_text(text, max_length=500, required=required)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a\x00b", "forbidden_char"),
        ("a\ud800b", "forbidden_char"),
        ("a\x9bb", "forbidden_char"),
        ("a\nb", "line_break"),
        ("\u200b", "invisible"),
        ("\u0301\u0301", "invisible"),
        ("   ", "empty"),
        ("\u202e", "invisible"),
        ("x" * 51, "too_long"),
        (5, "not_text"),
    ],
)
def test_each_problem_is_named(text: object, problem: str) -> None:
    with pytest.raises(TextError) as refused:
        clean_text(text, max_length=50, multiline=False)
    assert refused.value.problem == problem


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        (GOOD, GOOD),
        (WITH_BIDI[0], WITH_BIDI[1]),
        ("  问题\t甲 \r\n乙\r丙\u2028丁  ", "问题\t甲 \n乙\n丙\n丁"),
        ("e\u0301", "\u00e9"),  # NFC
        ("零\u200b宽", "零\u200b宽"),  # zero-width inside visible text stays
        ("\u200e问题\u200f", "问题"),
        ("", ""),
        ("  ", ""),
    ],
)
def test_accepted_text_is_stored_cleaned(text: str, stored: str) -> None:
    assert clean_text(text, max_length=100, required=False) == stored


def test_the_limit_counts_the_cleaned_text() -> None:
    assert clean_text("  " + "问" * 50 + "\u202e  ", max_length=50) == "问" * 50
    with pytest.raises(TextError):
        clean_text("问" * 51, max_length=50)


ALLOWED_CONTROLS = {"\t", "\n"}


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet=st.characters(exclude_categories=()) | st.sampled_from([*BIDI_CONTROLS, "\u200b", "\r"])),
    st.booleans(),
)
def test_what_is_accepted_is_clean_and_cleaning_twice_changes_nothing(text: str, multiline: bool) -> None:
    try:
        cleaned = clean_text(text, max_length=60, multiline=multiline, required=False)
    except TextError:
        return
    assert clean_text(cleaned, max_length=60, multiline=multiline, required=False) == cleaned
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in ALLOWED_CONTROLS for ch in cleaned)
    assert not set(cleaned) & BIDI_CONTROLS
    assert cleaned == cleaned.strip() and unicodedata.is_normalized("NFC", cleaned)
    assert multiline or "\n" not in cleaned
    cleaned.encode("utf-8")  # storable


class Frame(BaseModel):
    text: Annotated[str, TextRule(max_length=10)]


def test_the_pydantic_rule_reports_the_problem_after_the_field() -> None:
    assert Frame(text=" 问题\u202e ").text == "问题"
    with pytest.raises(ValidationError) as refused:
        Frame(text="a\x00")
    assert refused.value.errors()[0]["msg"] == "contains a control character (U+0000)"
    assert Frame.model_json_schema()["properties"]["text"]["maxLength"] == 10


class Form(forms.Form):
    name = CleanTextField(max_length=10)
    note = CleanTextField(max_length=100, widget=forms.Textarea, required=False)


def test_the_form_field_cleans_and_refuses_in_the_page_language() -> None:
    form = Form({"name": " 张\u202e三 ", "note": "一\r\n二"})
    assert form.is_valid() and form.cleaned_data == {"name": "张三", "note": "一\n二"}
    with translation.override("zh-hans"):
        form = Form({"name": "张\x00三", "note": "\u200b"})
        assert not form.is_valid()
        assert form.errors["name"] == ["不能包含控制字符（U+0000）。"]
        assert form.errors["note"] == ["没有可见的文字。"]
        assert Form({"name": "一\n二"}).errors["name"] == ["只能填写一行。"]


@pytest.mark.parametrize("what", sorted(FIELDS))
def test_every_refusal_of_a_text_reads_as_a_sentence_naming_the_field(what: str) -> None:
    """Each problem of each field a service names is its own sentence, in the active language."""
    problems = {
        "a\x00": "forbidden_char",
        "a\nb": "line_break",
        "\u200b": "invisible",
        "": "empty",
        "x" * 20: "too_long",
    }
    for text, problem in problems.items():
        with pytest.raises(BadRequest) as refused:
            clean_or_refuse(text, what=what, max_length=10, multiline=False)
        assert refused.value.template is TEXT_PROBLEMS[problem]
        for language in ("zh-hans", "en"):
            with translation.override(language):
                name, message = str(FIELDS[what]), refused.value.message
                assert name in message and message != refused.value.title, message
                assert message == str(TEXT_PROBLEMS[problem]) % {"what": name, "limit": "10"}
