"""An enterprise's change history (who, when, field, old → new), from the field collection through the
registry's validated PATCH; the diff itself on generated snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from cloud.grid.history import diff
from fwsim.stage.world import World
from tests.cloud.conftest import Clock, Logins

API = "/api/v1"

snapshots = st.dictionaries(st.sampled_from(["name", "address", "scale", "industry", "updated_at", "id"]),
                            st.one_of(st.none(), st.integers(0, 3), st.text(max_size=3)), max_size=6)


@given(snapshots, snapshots)
def test_the_diff_turns_before_into_after(before: dict[str, Any], after: dict[str, Any]) -> None:
    changes = diff(before, after)
    rebuilt = {k: v for k, v in before.items() if k not in {"id", "updated_at"}}
    for name, old, new in changes:
        assert old == before.get(name) and old != new and name not in {"id", "updated_at"}
        rebuilt[name] = new
    expected = {k: v for k, v in after.items() if k not in {"id", "updated_at"}}
    assert {k: v for k, v in rebuilt.items() if v is not None} == {k: v for k, v in expected.items()
                                                                    if v is not None}
    assert [c[0] for c in changes] == sorted(c[0] for c in changes)


def test_every_field_change_is_kept_with_who_and_when(client: TestClient, as_user: Logins, world: World,
                                                      clock: Clock) -> None:
    url = f"{API}/enterprises/{world['E1']}"
    old = client.get(url, headers=as_user("officer1")).json()
    clock.advance(60)
    r = client.patch(url, headers=as_user("officer1"), json={"address": "坑梓街道新路 1 号", "scale": "medium"})
    assert r.status_code == 200, r.text
    clock.advance(60)
    assert client.patch(url, headers=as_user("mgr1"), json={"dangerous_processes": ["电镀"]}).status_code == 200
    # a bad USCC (check digit) is refused and leaves no history
    bad = client.patch(url, headers=as_user("officer1"), json={"uscc": "914403001922038210"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "uscc"

    history = client.get(f"{url}/history", headers=as_user("sup1"))
    assert history.status_code == 200, history.text
    rows = [(h["actor"], h["field"], h["old"], h["new"]) for h in history.json()]
    assert rows[:3] == [("mgr1", "dangerous_processes", old["dangerous_processes"], ["电镀"]),
                        ("officer1", "address", old["address"], "坑梓街道新路 1 号"),
                        ("officer1", "scale", old["scale"], "medium")]
    at = [h["at"] for h in history.json()[:3]]
    assert at[0] > at[1] == at[2]
    assert datetime.fromisoformat(at[0]) == clock.now and datetime.fromisoformat(at[1]) == clock.now - timedelta(
        seconds=60)
    assert all(h["action"] == "enterprise.update" for h in history.json()[:3])
    # the creation is the oldest entry: every field from nothing
    assert any(h["action"] == "enterprise.create" and h["field"] == "uscc" and h["old"] is None
               for h in history.json())
    assert len(client.get(f"{url}/history", headers=as_user("sup1"), params={"limit": 1}).json()) == 1


def test_history_is_seen_only_where_the_enterprise_is(client: TestClient, as_user: Logins, world: World) -> None:
    url = f"{API}/enterprises/{world['E1']}/history"
    for user in ("sup2", "mgr2"):
        assert client.get(url, headers=as_user(user)).status_code == 404
    assert client.get(url, headers=as_user("officer1")).status_code == 200
    assert client.get(f"{API}/enterprises/987654/history", headers=as_user("admin")).status_code == 404
