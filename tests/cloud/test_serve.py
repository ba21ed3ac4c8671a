"""``safegrid-cloud serve`` as a real process: two API workers sharing one SQLite database; X-Forwarded-For
believed only from a configured proxy (a simulated load balancer: requests from loopback carrying the header);
the rules and notification worker it runs, so a site on the HTTP uplink gets its alerts notified."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
from sqlalchemy import select

from cloud.auth.models import LoginAttempt
from cloud.db.engine import Database
from cloud.db.migrate import upgrade
from cloud.devices.models import Gateway
from cloud.keys.service import init_keys, keys_dir
from cloud.settings import CloudSettings
from fwsim.stage.cloud import FAST_AUTH
from fwsim.stage.world import seed_world
from protocols.uplink.envelope import CONTENT_TYPE
from tests.cloud.alerts.test_notify import webhook  # noqa: F401 (the webhook fixture)
from tests.cloud.ingest.helpers import add_gateway, alarm, batch_bytes
from tests.cloud.test_cli import ADMIN_PASSWORD, cloud_exe, run_cli

FAST_ARGON = "argon2_memory_kib = 1024\nargon2_time_cost = 1\nargon2_parallelism = 1\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not become healthy")


@contextlib.contextmanager
def serving(tmp_path: Path, config_text: str, *, workers: int = 1) -> Iterator[str]:
    """Run serve on ``config_text`` until the block ends; yields its base URL; it must stop cleanly."""
    config = tmp_path / "cloud.toml"
    config.write_text(config_text)
    port = _free_port()
    log_path = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "SAFEGRID_DATABASE_URL"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen([cloud_exe(), "serve", "--config", str(config), "--port", str(port), "--workers",
                                 str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base, proc)
            yield base
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    assert proc.returncode == 0, log_path.read_text()[-2000:]


def test_serve_with_two_workers(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'cloud.db'}"
    assert run_cli(["migrate"], db_url).returncode == 0
    assert run_cli(["users", "create-admin", "--username", "root"], db_url, ADMIN_PASSWORD + "\n").returncode == 0
    text = (f'[database]\nurl = "{db_url}"\n[auth]\n{FAST_ARGON}'
            "login_free_failures = 3\nlogin_delay_seconds = 600\nlogin_max_delay_seconds = 600\n")
    with serving(tmp_path, text, workers=2) as base, httpx.Client(base_url=base, timeout=10) as http:
        # Each request may land on either worker; the throttle and tokens live in the database.
        token = http.post("/api/v1/auth/login", json={"username": "root", "password": ADMIN_PASSWORD})
        assert token.status_code == 200
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        for _ in range(6):
            assert http.get("/api/v1/users/me", headers=headers).status_code == 200
        codes = [http.post("/api/v1/auth/login", json={"username": "root", "password": "wrong-password-1"},
                           headers={"Connection": "close"}).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]


def _login(http: httpx.Client, username: str, password: str, client: str) -> int:
    return http.post("/api/v1/auth/login", json={"username": username, "password": password},
                     headers={"X-Forwarded-For": client, "Connection": "close"}).status_code


def _throttle_site(tmp_path: Path, trusted: str) -> tuple[str, str]:
    """A migrated database with user root, and a config: 3 failures per address, no per-account delay to speak of."""
    tmp_path.mkdir()
    db_url = f"sqlite:///{tmp_path / 'cloud.db'}"
    assert run_cli(["migrate"], db_url).returncode == 0
    assert run_cli(["users", "create-admin", "--username", "root"], db_url, ADMIN_PASSWORD + "\n").returncode == 0
    return db_url, (f'[database]\nurl = "{db_url}"\n[api]\ntrusted_proxies = [{trusted}]\n[auth]\n{FAST_ARGON}'
                    "login_free_failures = 100\nlogin_max_failures_per_client = 3\n")


def test_forwarded_client_addresses_count_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    # Behind the balancer (loopback here) each client is its forwarded address: one client's failures do not
    # lock out the others, who all arrive from the balancer's address.
    db_url, text = _throttle_site(tmp_path / "behind", '"127.0.0.1/32"')
    with serving(tmp_path / "behind", text) as base, httpx.Client(base_url=base, timeout=10) as http:
        assert [_login(http, name, "wrong-password-1", "198.51.100.7") for name in ("root", "a", "b")] == [401] * 3
        assert _login(http, "c", "wrong-password-1", "198.51.100.7") == 429
        assert _login(http, "root", ADMIN_PASSWORD, "198.51.100.7") == 429  # that address is refused ...
        assert _login(http, "root", ADMIN_PASSWORD, "203.0.113.9") == 200  # ... not everyone behind the balancer
        assert _login(http, "a", "wrong-password-1", "203.0.113.9, 198.51.100.8") == 401  # the proxy's nearest
    database = Database.from_url(db_url)
    try:
        with database.session(write=False) as db:
            assert set(db.execute(select(LoginAttempt.client)).scalars()) == {"198.51.100.7", "198.51.100.8"}
    finally:
        database.dispose()
    # A connection from anyone else may write the header, but it is not believed: rotating it gains nothing.
    _db_url, text = _throttle_site(tmp_path / "direct", '"192.0.2.1"')
    with serving(tmp_path / "direct", text) as base, httpx.Client(base_url=base, timeout=10) as http:
        assert [_login(http, name, "wrong-password-1", f"198.51.100.{i}")
                for i, name in enumerate(("root", "a", "b"))] == [401] * 3
        assert _login(http, "c", "wrong-password-1", "198.51.100.99") == 429


def test_serve_runs_the_rules_worker_so_an_http_site_is_notified(
        tmp_path: Path, webhook: ThreadingHTTPServer) -> None:  # noqa: F811
    """The demo's set-up: gateways on the HTTP uplink, no MQTT ingest worker. Alarms and the periodic rules'
    alerts (a gateway gone silent) reach the webhook, each once, with two API workers."""
    now = datetime.now(UTC)
    data = tmp_path / "data"
    db_url = f"sqlite:///{tmp_path / 'cloud.db'}"
    settings = CloudSettings.model_validate({"data_dir": str(data), "database": {"url": db_url},
                                             "auth": FAST_AUTH})
    database = Database.from_url(db_url)
    try:
        upgrade(database.engine)
        world = seed_world(database, settings, now=now)
        init_keys(keys_dir(data), now=now)
        token = add_gateway(database, gateway_id="gw-http", enterprise_id=world["E1"], now=now)
        add_gateway(database, gateway_id="gw-quiet", enterprise_id=world["E1"], now=now)
        with database.session(write=True) as db:
            quiet = db.get(Gateway, "gw-quiet")
            assert quiet is not None
            quiet.last_seen_at = now - timedelta(hours=1)
            db.commit()
    finally:
        database.dispose()
    host, port = webhook.server_address[:2]
    text = (f'data_dir = "{data}"\n[database]\nurl = "{db_url}"\n[auth]\n{FAST_ARGON}'
            f'[alerts]\nrules_interval_s = 0.2\n[[alerts.webhooks]]\nurl = "http://{host}:{port}/hook"\n')
    with serving(tmp_path, text, workers=2) as base:
        r = httpx.post(f"{base}/api/v1/gateways/gw-http/batches", content=batch_bytes("gw-http", [alarm(1, "a1")]),
                       headers={"Authorization": f"Bearer {token}", "Content-Type": CONTENT_TYPE}, timeout=10)
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        while len(webhook.received) < 2 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.1)
        time.sleep(1.0)  # several more rule runs: nothing is sent twice
    bodies = [body for _headers, body in webhook.received]  # type: ignore[attr-defined]
    assert len(bodies) == 2, bodies
    assert sum(b'"kind":"alarm"' in b for b in bodies) == 1
    assert sum(b'"kind":"gateway_offline"' in b and b'gw-quiet' in b for b in bodies) == 1
