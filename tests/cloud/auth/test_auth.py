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
from fwsim.stage.world import PASSWORD, World
from tests.cloud.conftest import Clock, Logins

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


def _audit(database: Database, action: str) -> list[AuditEntry]:
    with database.session(write=False) as db:
        return list(db.execute(select(AuditEntry).where(AuditEntry.action == action)
                               .order_by(AuditEntry.id)).scalars())


def test_failures_on_an_account_delay_it_more_and_more_but_never_lock_the_owner_out(
        client: TestClient, world: World, settings: CloudSettings, database: Database, clock: Clock) -> None:
    free = settings.auth.login_free_failures
    assert [_fail(client) for _ in range(free)] == [401] * free
    r = client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD})  # even the right password must wait
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_requests"
    assert int(r.headers["retry-after"]) == settings.auth.login_delay_seconds == 1
    assert _fail(client, "mgr2") == 401  # another account is not affected
    waits = []
    for _ in range(10):  # an attacker who waits each time: the wait doubles up to the cap
        clock.advance(float(client.post(LOGIN, json={"username": "mgr1", "password": "x" * 12})
                            .headers.get("retry-after", 0)))
        assert _fail(client) == 401
        r = client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD})
        assert r.status_code == 429
        waits.append(int(r.headers["retry-after"]))
    assert waits[:4] == [2, 4, 8, 16] and max(waits) == settings.auth.login_max_delay_seconds == 60
    clock.advance(waits[-1])  # the owner waits at most the cap, and is in
    assert client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD}).status_code == 200
    assert _fail(client) == 401  # the owner's login cleared the account's failures: no wait for the next one
    failed = _audit(database, "auth.login_failed")
    assert len(failed) == free + 1 + 10 + 1  # every failed password check, none of the refused attempts
    assert failed[0].after == {"username": "mgr1", "client": "testclient", "account_failures": 1,
                               "client_failures": 1, "next_attempt_after_s": 0.0}
    assert failed[free - 1].after is not None and failed[free - 1].after["next_attempt_after_s"] == 1.0


def test_one_address_failing_on_many_accounts_is_refused(world: World, settings: CloudSettings, database: Database,
                                                         clock: Clock) -> None:
    limited = settings.model_copy(update={"auth": settings.auth.model_copy(
        update={"login_max_failures_per_client": 4})})
    app = create_app(limited, clock=clock)
    with TestClient(app, client=("203.0.113.7", 5000)) as sprayer, \
            TestClient(app, client=("198.51.100.2", 5000)) as other:
        assert [_fail(sprayer, name) for name in ("mgr1", "mgr2", "att1", "worker1")] == [401] * 4
        assert _fail(sprayer, "appr1") == 429
        r = sprayer.post(LOGIN, json={"username": "mgr1", "password": PASSWORD})
        assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= settings.auth.login_window_seconds
        assert other.post(LOGIN, json={"username": "mgr1", "password": PASSWORD}).status_code == 200
        throttled = _audit(database, "auth.login_throttled")
        assert len(throttled) == 1 and throttled[0].after is not None
        assert throttled[0].after["client"] == "203.0.113.7" and throttled[0].after["client_failures"] == 4
        clock.advance(settings.auth.login_window_seconds + 1)
        assert _fail(sprayer, "appr1") == 401  # the window moved on


def test_password_hashes_are_bounded_and_the_excess_is_answered_at_once(
        world: World, settings: CloudSettings, clock: Clock) -> None:
    one = settings.model_copy(update={"auth": settings.auth.model_copy(
        update={"max_concurrent_hashes": 1, "hash_wait_seconds": 0.05})})
    app = create_app(one, clock=clock)
    with TestClient(app) as client:
        with app.state.passwords._slot():  # a login elsewhere holds the only slot
            r = client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD})
        assert r.status_code == 503 and r.json()["error"]["code"] == "busy" and r.headers["retry-after"] == "1"
        assert client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD}).status_code == 200


def test_successful_login_clears_the_failures(client: TestClient, world: World, settings: CloudSettings,
                                              database: Database) -> None:
    for _ in range(settings.auth.login_free_failures - 1):
        assert _fail(client) == 401
    assert client.post(LOGIN, json={"username": "mgr1", "password": PASSWORD}).status_code == 200
    with database.session(write=False) as db:
        assert db.execute(select(LoginAttempt)).first() is None
    assert _fail(client) == 401


def test_throttle_holds_across_workers(world: World, settings: CloudSettings, clock: Clock) -> None:
    """Two app instances (two API workers) on one database share the failure count."""
    free = settings.auth.login_free_failures
    with TestClient(create_app(settings, clock=clock)) as a, TestClient(create_app(settings, clock=clock)) as b:
        codes = [_fail(a if i % 2 else b) for i in range(free)]
        assert codes == [401] * free
        assert _fail(a) == 429 and _fail(b) == 429


def test_login_body_is_validated(client: TestClient, world: World) -> None:
    r = client.post(LOGIN, json={"username": "mgr1"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "password"
    r = client.post(LOGIN, json={"username": "mgr1", "password": "x" * 300})
    assert r.status_code == 422 and r.json()["error"]["field"] == "password"
