"""The roster and attendance as files a person opens: CSV (UTF-8 with a
BOM, so a spreadsheet shows the Chinese) and XLSX (openpyxl). Reading takes
the first sheet or the CSV's rows: 日期, 班次 (code or name), 坐席账号."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from hotline.errors import BadRequest

MAX_ROWS = 20_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    w.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    ws.append(list(header))
    for row in rows:
        ws.append([_cell(v) for v in row])
    for i, _ in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(i)].width = 16
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(v: object) -> object:
    # A text cell starting with = + - @ would run as a formula in a spreadsheet.
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return v


def read_rows(data: bytes, filename: str) -> list[list[str]]:
    """The rows of an uploaded roster, header dropped, every cell as text."""
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        rows = _xlsx_rows(data)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadRequest("CSV 文件请用 UTF-8 编码保存", field="file") from None
        rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text))]
    rows = [r for r in rows if any(c for c in r)]
    if len(rows) > MAX_ROWS:
        raise BadRequest(f"一次最多导入 {MAX_ROWS} 行", field="file")
    if rows and rows[0] and not rows[0][0][:1].isdigit():
        rows = rows[1:]  # the header
    return rows


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise BadRequest("无法读取该 XLSX 文件", field="file") from None
    ws = wb.worksheets[0]
    out = []
    for row in ws.iter_rows(values_only=True, max_row=MAX_ROWS + 2):
        out.append([_text(c) for c in row[:4]])
    wb.close()
    return out


def _text(c: object) -> str:
    import datetime as dt

    if isinstance(c, dt.datetime):
        return c.date().isoformat()
    if isinstance(c, dt.date):
        return c.isoformat()
    return "" if c is None else str(c).strip()
