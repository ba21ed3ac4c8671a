"""Bulk import of enterprises from CSV and .xlsx: all rows or none, with a per-row error report."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import Workbook

from cloud.registry.importer import COLUMNS
from cloud.registry.uploads import XLSX_TYPE
from fwsim.stage.world import World, uscc
from tests.cloud.conftest import Logins

URL = "/api/v1/enterprises/import"
CSV = {"Content-Type": "text/csv"}


def _row(n: int, grid_code: str = "G1", **over: str) -> list[str]:
    row = {"uscc": uscc(n), "name": f"导入企业{n}", "industry": "C33", "address": f"导入路 {n} 号",
           "grid_code": grid_code, "scale": "small", "hazardous_chemicals": "否", "dangerous_processes": ""}
    row.update(over)
    return [row[c] for c in COLUMNS]


def _csv(rows: list[list[str]], header: tuple[str, ...] = COLUMNS) -> bytes:
    lines = [",".join(header)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(COLUMNS))
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _count(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get("/api/v1/enterprises", headers=headers).json()["total"])


def test_csv_import_creates_every_row(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("sup1")
    body = _csv([_row(100), _row(101, "G1b", hazardous_chemicals="yes", dangerous_processes="氯化工艺;硝化工艺")])
    r = client.post(URL, content=body, headers={**h, **CSV})
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 2
    second = client.get(f"/api/v1/enterprises/{r.json()['ids'][1]}", headers=h).json()
    assert second["grid_id"] == world["G1b"] and second["district_id"] == world["D1"]
    assert second["hazardous_chemicals"] is True and second["dangerous_processes"] == ["氯化工艺", "硝化工艺"]
    audit = client.get(f"/api/v1/audit?action=enterprise.import&entity_id={r.json()['ids'][0]}",
                       headers=as_user("admin")).json()["items"]
    assert len(audit) == 1 and audit[0]["actor_name"] == "sup1" and audit[0]["after"]["uscc"] == uscc(100)


def test_xlsx_import_creates_every_row(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("admin")
    rows: list[list[object]] = [_row(110), [*_row(111, "G2")[:6], True, "氯化工艺"]]
    r = client.post(URL, content=_xlsx(rows), headers={**h, "Content-Type": XLSX_TYPE})
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 2
    assert client.get(f"/api/v1/enterprises/{r.json()['ids'][1]}", headers=h).json()["hazardous_chemicals"] is True


def test_gb18030_csv_is_read(client: TestClient, as_user: Logins, world: World) -> None:
    body = _csv([_row(120)]).decode().encode("gb18030")
    r = client.post(URL, content=body, headers={**as_user("admin"), **CSV})
    assert r.status_code == 201
    assert client.get(f"/api/v1/enterprises/{r.json()['ids'][0]}", headers=as_user("admin")).json()["name"] == \
        "导入企业120"


def test_a_bad_row_leaves_the_database_unchanged(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("sup1")
    before = _count(client, as_user("admin"))
    bad_check = uscc(131)[:17] + ("0" if uscc(131)[17] != "0" else "1")
    rows = [_row(130), _row(131, uscc=bad_check), _row(132, "G2"), _row(133, scale="giant"), _row(130),
            _row(1), _row(134, hazardous_chemicals="maybe")]
    for content, ctype in ((_csv(rows), "text/csv"), (_xlsx(rows), XLSX_TYPE)):  # type: ignore[arg-type]
        r = client.post(URL, content=content, headers={**h, "Content-Type": ctype})
        assert r.status_code == 422
        body = r.json()
        assert body["error"]["code"] == "import_rejected"
        report = {(e["row"], e["field"]) for e in body["rows"]}
        assert report == {(3, "uscc"), (4, "grid_code"), (5, "scale"), (6, "uscc"), (7, "uscc"),
                          (8, "hazardous_chemicals")}, body["rows"]
    assert _count(client, as_user("admin")) == before
    assert client.get("/api/v1/audit?action=enterprise.import", headers=as_user("admin")).json()["total"] == 0


def test_table_shape_errors(client: TestClient, as_user: Logins, world: World) -> None:
    h = as_user("admin")
    cases = [
        (_csv([_row(140)], header=(*COLUMNS[:-1], "processes")), CSV, 422, "dangerous_processes"),
        (b"", CSV, 422, "body"),
        (b"\xff\xfe\x00garbage\x81", CSV, 422, "body"),
        (b"PK\x03\x04 not really a zip", {"Content-Type": XLSX_TYPE}, 422, "body"),
        (_csv([_row(141)]), {"Content-Type": "application/json"}, 415, "content-type"),
        (_csv([[*_row(142), "extra"]]), CSV, 422, "body"),
        (b'uscc,name\n"unterminated,x\n', CSV, 422, "body"),
    ]
    for content, ctype, status, field in cases:
        r = client.post(URL, content=content, headers={**h, **ctype})
        assert r.status_code == status, (content[:40], r.text)
        assert r.json()["error"]["field"] == field, content[:40]


def test_row_limit(client: TestClient, as_user: Logins, world: World, settings: object) -> None:
    limit = client.app.state.settings.api.max_import_rows  # type: ignore[attr-defined]
    client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"api": client.app.state.settings.api.model_copy(update={"max_import_rows": 2})})  # type: ignore[attr-defined]
    try:
        r = client.post(URL, content=_csv([_row(150), _row(151), _row(152)]), headers={**as_user("admin"), **CSV})
        assert r.status_code == 422 and "more than 2 rows" in r.json()["error"]["message"]
    finally:
        client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
            update={"api": client.app.state.settings.api.model_copy(update={"max_import_rows": limit})})  # type: ignore[attr-defined]


def test_import_needs_a_registering_role_and_a_visible_grid(client: TestClient, as_user: Logins,
                                                            world: World) -> None:
    body = _csv([_row(160)])
    assert client.post(URL, content=body, headers=CSV).status_code == 401
    assert client.post(URL, content=body, headers={**as_user("mgr1"), **CSV}).status_code == 403
    r = client.post(URL, content=_csv([_row(161, "G1b")]), headers={**as_user("officer1"), **CSV})
    assert r.status_code == 422 and r.json()["rows"] == [{"row": 2, "field": "grid_code",
                                                          "message": "no such grid in your scope"}]


def test_import_has_its_own_size_limit(client: TestClient, as_user: Logins, world: World,
                                       settings: object) -> None:
    big = _csv([_row(170)]) + b"#" * (100 * 1024)  # over the JSON limit, under the import limit
    r = client.post(URL, content=big, headers={**as_user("admin"), **CSV})
    assert r.status_code != 413
    huge = b"x" * (300 * 1024)
    assert client.post(URL, content=huge, headers={**as_user("admin"), **CSV}).status_code == 413
