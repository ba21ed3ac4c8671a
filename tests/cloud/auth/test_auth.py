"""Login, bearer tokens and the login throttle, against a real database."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud.app import create_app
from cloud.audit.models import AuditEntry
from cloud.auth.models import AccessToken, LoginAttempt, User
from cloud.auth.tokens import token_digest
from cloud.db.engine import Database
from cloud.settings import CloudSettings
from tests.cloud.conftest import Clock, Logins
from tests.cloud.world import PASSWORD, World

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/users/me"


def test_login_gives_a_token_that_authenticates(client: TestClient, world: World, clock: Clock) -> None:
    r = client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["access_token"].startswith("sgc_")
    me = client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "mgr1"
    assert me.json()["scope"] == {"kind": "enterprise", "id": world["E1"]}


def test_username_is_case_insensitive(client: TestClient, world: World) -> None:
    assert client.post(LOGIN, json={"username": " MGR1 ", "password": PASSWORD}).status_code == 200


def test_wrong_password_and_unknown_user_answer_alike(client: TestClient, world: World) -> None:
    a = client.post(LOGIN, json={"username": "mgr1", "password": "wrong-password-123"})
    b = client.post(LOGIN, json={"username": "nobody", "password": "wrong-password-123"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


def test_requests_without_or_with_a_bad_token_are_401(client: TestClient, world: World) -> None:
    assert client.get(ME).status_code == 401
    r = client.get(ME, headers={"Authorization": "Bearer sgc_not-a-token"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"]["code"] == "unauthorized"
    assert client.get(ME, headers={"Authorization": "Basic YTpi"}).status_code == 401


def test_token_expires(client: TestClient, world: World, clock: Clock, settings: CloudSettings) -> None:
    token = client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    clock.advance(settings.auth.token_ttl_seconds - 1)
    assert client.get(ME, headers=headers).status_code == 200
    clock.advance(2)
    assert client.get(ME, headers=headers).status_code == 401


def test_logout_revokes_the_token(client: TestClient, as_user: Logins) -> None:
    headers = as_user("mgr1")
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get(ME, headers=headers).status_code == 401


def test_tokens_and_passwords_are_stored_hashed(client: TestClient, world: World, database: Database) -> None:
    token = client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD}).json()["access_token"]
    with database.session(write=False) as db:
        stored = db.execute(select(AccessToken.token_hash)).scalars().all()
        user = db.execute(select(User).where(User.username == "mgr1")).scalar_one()
    assert token_digest(token) in stored and token not in stored
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_disabled_user_cannot_log_in(client: TestClient, world: World, database: Database) -> None:
    with database.session(write=True) as db:
        db.get(User, world["worker1"]).active = False  # type: ignore[union-attr]
        db.commit()
    assert client.post(LOGIN, json={"username": "worker1", "password": PASSWORD}).status_code == 401


def _fail(client: TestClient, username: str = "mgr1") -> int:
    return client.post(LOGIN, json={"username": username, "password": "wrong-password-123"}).status_code


def test_brute_force_is_throttled_and_audited(client: TestClient, world: World, settings: CloudSettings,
                                              database: Database, clock: Clock) -> None:
    limit = settings.auth.login_max_failures
    assert [_fail(client) for _ in range(limit)] == [401] * limit
    r = client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD})  # even the right password
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["error"]["code"] == "too_many_requests"
    assert _fail(client, "mgr2") == 401  # another username is not affected
    with database.session(write=False) as db:
        entries = db.execute(select(AuditEntry).where(AuditEntry.action == "auth.login_throttled")).scalars().all()
    assert len(entries) == 1
    assert entries[0].after == {"username": "mgr1", "client": "testclient", "failures": limit}
    clock.advance(settings.auth.login_window_seconds + 1)
    assert client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD}).status_code == 200


def test_successful_login_clears_the_failures(client: TestClient, world: World, settings: CloudSettings,
                                              database: Database) -> None:
    for _ in range(settings.auth.login_max_failures - 1):
        assert _fail(client) == 401
    assert client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD}).status_code == 200
    with database.session(write=False) as db:
        assert db.execute(select(LoginAttempt)).first() is None
    assert _fail(client) == 401


def test_throttle_holds_across_workers(world: World, settings: CloudSettings, clock: Clock) -> None:
    """Two app instances (two API workers) on one database share the failure count."""
    limit = settings.auth.login_max_failures
    with TestClient(create_app(settings, clock=clock)) as a, TestClient(create_app(settings, clock=clock)) as b:
        codes = [_fail(a if i % 2 else b) for i in range(limit)]
        assert codes == [401] * limit
        assert _fail(a) == 429 and _fail(b) == 429


def test_login_body_is_validated(client: TestClient, world: World) -> None:
    r = client.post(LOGIN, json={"username": "mgr1"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "password"
    r = client.post(LOGIN, json={"username": "mgr1", "password": "x" * 300})
    assert r.status_code == 422 and r.json()["error"]["field"] == "password"
