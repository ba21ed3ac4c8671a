"""The principal cache of the auth dependency: a change made through this process's API is seen by the next
request; one made elsewhere (another worker process, the command line, plain SQL) within PRINCIPAL_TTL_S."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from cloud.app import create_app
from cloud.auth.deps import PRINCIPAL_TTL_S, PrincipalCache
from cloud.auth.roles import Principal, Role, Scope, ScopeKind
from cloud.db.engine import Database
from cloud.settings import CloudSettings
from fwsim.stage.world import PASSWORD, World
from tests.cloud.conftest import Clock, Logins

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/users/me"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ADA = Principal(user_id=1, username="ada", role=Role.CITY_ADMIN, scope=Scope(ScopeKind.CITY))


def test_logout_through_another_app_is_seen_at_once(world: World, settings: CloudSettings, clock: Clock) -> None:
    # Two apps in one process share its cache: a logout through one is seen at once by the other.
    with TestClient(create_app(settings, clock=clock)) as a, TestClient(create_app(settings, clock=clock)) as b:
        token = a.post(LOGIN, json={"username": "mgr1", "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert b.get(ME, headers=headers).status_code == 200  # b now holds the principal
        assert a.post("/api/v1/auth/logout", headers=headers).status_code == 204
        assert b.get(ME, headers=headers).status_code == 401


def test_role_change_is_seen_by_the_next_request(client: TestClient, as_user: Logins, world: World) -> None:
    worker = as_user("worker1")
    assert client.get(ME, headers=worker).json()["role"] == "worker"
    r = client.patch(f"/api/v1/users/{world['worker1']}", json={"role": "attendant"}, headers=as_user("mgr1"))
    assert r.status_code == 200, r.text
    assert client.get(ME, headers=worker).json()["role"] == "attendant"


def test_a_change_no_session_of_this_process_sees_holds_at_most_the_ttl(
        client: TestClient, as_user: Logins, database: Database, clock: Clock) -> None:
    headers = as_user("mgr1")
    assert client.get(ME, headers=headers).status_code == 200  # cached
    with database.engine.begin() as conn:  # as another process would: plain SQL, no ORM session here
        conn.execute(text("DELETE FROM access_tokens"))
    clock.advance(PRINCIPAL_TTL_S)
    assert client.get(ME, headers=headers).status_code == 401


def test_deactivation_and_a_password_change_are_seen_by_the_next_request(client: TestClient, as_user: Logins,
                                                                         world: World) -> None:
    worker, other_session = as_user("worker1"), {"Authorization": f"Bearer {_login(client, 'worker1')}"}
    assert client.get(ME, headers=other_session).status_code == 200  # cached
    r = client.patch(ME, headers=worker, json={"current_password": PASSWORD, "new_password": "another-password-42"})
    assert r.status_code == 200, r.text
    assert client.get(ME, headers=other_session).status_code == 401  # every other session signed out at once
    assert client.get(ME, headers=worker).status_code == 200
    r = client.patch(f"/api/v1/users/{world['worker1']}", json={"active": False}, headers=as_user("mgr1"))
    assert r.status_code == 200, r.text
    assert client.get(ME, headers=worker).status_code == 401


def _login(client: TestClient, username: str) -> str:
    r = client.post(LOGIN, json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_an_entry_lives_for_the_ttl_by_the_app_clock() -> None:
    cache = PrincipalCache(ttl_s=60.0)
    cache.put("d", ADA, cache.version, T0)
    assert cache.get("d", T0 + timedelta(seconds=59)) == ADA
    assert cache.get("d", T0 - timedelta(seconds=1)) is None  # a clock set back ends it too
    cache.put("d", ADA, cache.version, T0)
    assert cache.get("d", T0 + timedelta(seconds=60)) is None
    assert cache.get("other", T0) is None


def test_forget_all_voids_entries_and_lookups_in_flight() -> None:
    cache = PrincipalCache(ttl_s=60.0)
    cache.put("d", ADA, cache.version, T0)
    before = cache.version
    cache.forget_all()
    assert cache.get("d", T0) is None
    cache.put("d", ADA, before, T0)  # looked up before the change: not kept
    assert cache.get("d", T0) is None
    cache.put("d", ADA, cache.version, T0)
    assert cache.get("d", T0) == ADA


def test_the_cache_is_bounded() -> None:
    cache = PrincipalCache(ttl_s=60.0, size=2)
    for digest in ("a", "b", "c"):
        cache.put(digest, ADA, cache.version, T0)
    assert [cache.get(d, T0) for d in ("a", "b", "c")] == [None, ADA, ADA]
