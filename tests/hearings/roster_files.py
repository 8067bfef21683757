"""Roster files for the tests: CSV and XLSX bytes from rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook  # type: ignore[import-untyped]

HEADER = ["username", "name", "role", "department", "delegation", "phone", "email", "seat"]


def csv_bytes(rows: Sequence[Sequence[object]], *, header: Sequence[str] = HEADER, bom: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode()


def xlsx_bytes(rows: Sequence[Sequence[object]], *, header: Sequence[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD_ROWS: list[list[object]] = [
    ["deputy001", "张三", "deputy", "", "城关镇代表团", "13800000001", "", "A-01"],
    ["liaison-fgj", "李四", "liaison", "发改局", "", "13800000002", "lisi@example.gov.cn", ""],
    ["mod1", "王五", "moderator", "", "", "", "", ""],
    ["staff1", "赵六", "staff", "", "", "", "", ""],
]
