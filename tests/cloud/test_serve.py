"""``safegrid-cloud serve`` as a real process with two API workers sharing one SQLite database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.cloud.test_cli import ADMIN_PASSWORD, cloud_exe, run_cli


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


def test_serve_with_two_workers(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'cloud.db'}"
    assert run_cli(["migrate"], db_url).returncode == 0
    assert run_cli(["users", "create-admin", "--username", "root"], db_url, ADMIN_PASSWORD + "\n").returncode == 0
    config = tmp_path / "cloud.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[auth]\nargon2_memory_kib = 1024\nargon2_time_cost = 1\n'
                      "argon2_parallelism = 1\nlogin_free_failures = 3\nlogin_delay_seconds = 600\nlogin_max_delay_seconds = 600\n")
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    env = {k: v for k, v in os.environ.items() if k != "SAFEGRID_DATABASE_URL"}
    proc = subprocess.Popen([cloud_exe(), "serve", "--config", str(config), "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        # Each request may land on either worker; the throttle and tokens live in the database.
        with httpx.Client(base_url=base, timeout=10) as http:
            token = http.post("/api/v1/auth/login", json={"username": "root", "password": ADMIN_PASSWORD})
            assert token.status_code == 200
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            for _ in range(6):
                assert http.get("/api/v1/users/me", headers=headers).status_code == 200
            codes = [http.post("/api/v1/auth/login", json={"username": "root", "password": "wrong-password-1"},
                               headers={"Connection": "close"}).status_code for _ in range(4)]
            assert codes == [401, 401, 401, 429]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    log.close()
    assert proc.returncode == 0, (tmp_path / "serve.log").read_text()[-2000:]
