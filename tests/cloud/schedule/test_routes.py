"""The schedule API on both databases: who may plan, who sees which tasks, a bad period refused with nothing
stored, a frequency change re-planning the future through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fwsim.stage.world import World
from tests.cloud.conftest import Logins

API = "/api/v1"


def _tasks(client: TestClient, headers: dict[str, str], **query: object) -> list[dict[str, object]]:
    r = client.get(f"{API}/patrol-tasks", headers=headers, params={"limit": 500, **query})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_a_supervisor_plans_a_quarter_and_each_sees_their_own(client: TestClient, world: World,
                                                              as_user: Logins) -> None:
    r = client.post(f"{API}/schedule/runs", headers=as_user("sup1"),
                    json={"start": "2026-07-01", "end": "2026-09-30", "seed": 5, "sample_rate": 0})
    assert r.status_code == 201, r.text
    assert (r.json()["seed"], r.json()["tasks"], r.json()["sampled"]) == (5, 2, [])  # D1: E1, E1b quarterly
    assert {t["enterprise_id"] for t in _tasks(client, as_user("admin"))} == {world["E1"], world["E1b"]}
    mine = _tasks(client, as_user("officer1"))
    assert [(t["enterprise_id"], t["officer_id"], t["due"]) for t in mine] == [
        (world["E1"], world["officer1"], "2026-09-30")]
    assert _tasks(client, as_user("sup2")) == []
    assert _tasks(client, as_user("mgr1")) == []  # enterprises see patrol records, not the officers' plan
    assert client.post(f"{API}/schedule/runs", headers=as_user("officer1"),
                       json={"start": "2026-07-01", "end": "2026-07-31"}).status_code == 403


def test_a_bad_period_is_422_naming_end_and_stores_nothing(client: TestClient, world: World,
                                                           as_user: Logins) -> None:
    for body in ({"start": "2026-07-01", "end": "2026-06-30"}, {"start": "2026-01-01", "end": "2027-06-30"}):
        r = client.post(f"{API}/schedule/runs", headers=as_user("admin"), json=body)
        assert r.status_code == 422, r.text
        assert "end" in r.text
    assert _tasks(client, as_user("admin")) == []


def test_setting_a_frequency_replans_the_future(client: TestClient, world: World, as_user: Logins) -> None:
    # the test clock is 2026-05-04: plan the rest of the year quarterly, then make E1 monthly
    r = client.post(f"{API}/schedule/runs", headers=as_user("admin"),
                    json={"start": "2026-05-01", "end": "2026-12-31", "seed": 1})
    assert r.status_code == 201, r.text
    r = client.put(f"{API}/enterprises/{world['E1']}/frequency", headers=as_user("sup1"), json={"frequency": "monthly"})
    assert r.status_code == 200, r.text
    assert (r.json()["cancelled"], r.json()["added"]) == (2, 7)  # Jul and Oct quarters out; Jun..Dec months in
    open_e1 = _tasks(client, as_user("admin"), enterprise_id=world["E1"], status="open")
    assert sorted(t["start"] for t in open_e1)[0] == "2026-04-01"  # the running quarter stays
    assert len(open_e1) == 8
    assert client.put(f"{API}/enterprises/{world['E2']}/frequency", headers=as_user("sup1"),
                      json={"frequency": "monthly"}).status_code == 404
    r = client.put(f"{API}/enterprises/{world['E1']}/frequency", headers=as_user("sup1"), json={"frequency": "daily"})
    assert r.status_code == 422 and "frequency" in r.text
