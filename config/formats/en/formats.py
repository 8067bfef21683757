"""English formats: Django's (en), with a compact date-time that does not use the US month/day/year order."""

DATE_FORMAT = "N j, Y"  # Nov. 22, 2026
DATETIME_FORMAT = "N j, Y, P"  # Nov. 22, 2026, 2:05 p.m.
SHORT_DATETIME_FORMAT = "N j, P"  # Nov. 22, 2:05 p.m.
TIME_FORMAT = "P"  # 2:05 p.m.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
