"""Reading an uploaded table (CSV or .xlsx) into header-keyed rows of text, within size and row bounds.

CSV may be UTF-8 (with or without BOM) or GB 18030 (what Chinese spreadsheet software writes by default).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from cloud.errors import InvalidInput, UnsupportedMediaType

CSV_TYPES = frozenset({"text/csv", "application/csv"})
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A compressed .xlsx may not inflate past this many times the upload limit (zip bombs).
MAX_INFLATION = 20


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def read_table(data: bytes, *, content_type: str | None, max_rows: int, max_bytes: int,
               columns: Sequence[str] | None = None) -> list[tuple[int, dict[str, str]]]:
    """(row number, {lower-cased header: stripped cell}) for each non-empty row; the header is row 1. With
    ``columns``, a header naming other columns, or missing one, is refused naming the first such column."""
    kind = media_type(content_type)
    if kind in CSV_TYPES:
        raw = _csv_rows(data)
    elif kind == XLSX_TYPE:
        raw = _xlsx_rows(data, max_inflated=max_bytes * MAX_INFLATION)
    else:
        raise UnsupportedMediaType(f"send text/csv or {XLSX_TYPE}", field="content-type")
    rows = _keyed(raw, max_rows=max_rows)
    if columns is not None and rows:
        missing = [c for c in columns if c not in rows[0][1]]
        unknown = sorted(set(rows[0][1]) - set(columns))
        if missing or unknown:
            raise InvalidInput(f"missing columns {missing}, unknown columns {unknown}; expected {list(columns)}",
                               field=(missing or unknown)[0])
    return rows


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise InvalidInput("the CSV is neither UTF-8 nor GB 18030 text", field="body") from None
    try:
        yield from csv.reader(io.StringIO(text, newline=""), strict=True)
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV: {exc}", field="body") from None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(data: bytes, *, max_inflated: int) -> Iterator[list[str]]:
    from openpyxl import load_workbook  # only the import path needs it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
        if inflated > max_inflated:
            raise InvalidInput("the workbook inflates too large", field="body")
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except InvalidInput:
        raise
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) for a bad file
        raise InvalidInput(f"not a readable .xlsx workbook ({type(exc).__name__})", field="body") from None
    try:
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            yield [_cell(v) for v in row]
    except Exception as exc:  # parsing is lazy: a corrupt sheet fails here
        raise InvalidInput(f"not a readable .xlsx workbook ({type(exc).__name__})", field="body") from None
    finally:
        workbook.close()


def _keyed(rows: Iterable[list[str]], *, max_rows: int) -> list[tuple[int, dict[str, str]]]:
    iterator = iter(rows)
    header = [h.strip().lower() for h in next(iterator, [])]
    while header and header[-1] == "":
        header.pop()  # spreadsheets often carry empty trailing columns
    if not header:
        raise InvalidInput("the table has no header row", field="body")
    if len(set(header)) != len(header):
        raise InvalidInput("the header names a column twice", field="body")
    out: list[tuple[int, dict[str, str]]] = []
    for number, cells in enumerate(iterator, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(out) >= max_rows:
            raise InvalidInput(f"more than {max_rows} rows", field="body")
        if any(c.strip() for c in cells[len(header):]):
            raise InvalidInput(f"row {number} has more cells than the header", field="body")
        out.append((number, {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}))
    return out
