"""The texts every path that takes client text is tested with (core/text.py states the rule)."""

from __future__ import annotations

# Refused wherever a client sends text, whatever the field (as a bad request, changing nothing).
REFUSED: dict[str, str] = {
    "NUL": "营商\x00环境",
    "SOH": "营商\x01环境",
    "ESC (ANSI)": "\x1b[31m营商环境",
    "DEL": "营商环境\x7f",
    "C1 (NEL)": "营商\x85环境",
    "only U+200B": "\u200b",
    "only U+FEFF": "\ufeff",
    "only U+202E": "\u202e",
    "only format chars": "\u200b\u2060\ufeff \u200d",
    "only a Hangul filler": "\u3164",
}
# Also refused in single-line fields (names, titles).
REFUSED_ONE_LINE: dict[str, str] = {**REFUSED, "newline": "营商\n环境", "U+2028": "营商\u2028环境"}

# Accepted: stored exactly (emoji sequences, Chinese, a ZWJ inside an emoji).
GOOD = "营商环境怎么改善？👍🏽 🏳️‍🌈 企业开办"
# Accepted with the bidi controls removed.
WITH_BIDI = ("营商\u202e环境\u2066改善\u2069", "营商环境改善")
