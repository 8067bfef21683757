"""Simplified Chinese formats: Django's (zh_Hans), with numbers grouped by thousands and a compact date-time.

Django's zh_Hans groups digits by four with no separator ("65000"); congress documents and the
live pages' Intl.NumberFormat write "65,000".
"""

DATE_FORMAT = "Y年n月j日"  # 2026年11月22日
DATETIME_FORMAT = "Y年n月j日 H:i"  # 2026年11月22日 14:05
SHORT_DATETIME_FORMAT = "n月j日 H:i"  # 11月22日 14:05 (notices: recent, the year goes without saying)
TIME_FORMAT = "H:i"
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
