"""``safegrid-cloud migrate`` and ``users create-admin``: real processes on a real database."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud.app import create_app
from cloud.audit.models import AuditEntry
from cloud.cli import main
from cloud.db.engine import Database
from cloud.settings import DATABASE_URL_ENV
from tests.cloud.conftest import make_settings

ADMIN_PASSWORD = "first-admin-password-1"


def cloud_exe() -> str:
    return shutil.which("safegrid-cloud") or str(Path(sys.executable).parent / "safegrid-cloud")


def run_cli(args: list[str], db_url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, DATABASE_URL_ENV: db_url}
    return subprocess.run([cloud_exe(), *args], input=stdin, env=env, capture_output=True, text=True, timeout=120)


def test_migrate_then_create_admin_then_log_in(db_url: str) -> None:
    refused = run_cli(["users", "create-admin", "--username", "root"], db_url, ADMIN_PASSWORD + "\n")
    assert refused.returncode == 1 and "safegrid-cloud migrate" in refused.stderr
    migrated = run_cli(["migrate"], db_url)
    assert migrated.returncode == 0, migrated.stderr
    assert "database at revision" in migrated.stdout
    created = run_cli(["users", "create-admin", "--username", "root", "--display-name", "市管理员"], db_url,
                   ADMIN_PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    assert "created city administrator root" in created.stdout
    assert ADMIN_PASSWORD not in created.stdout + created.stderr
    with TestClient(create_app(make_settings(db_url))) as client:
        r = client.post("/api/v1/auth/login", json={"username": "root", "password": ADMIN_PASSWORD})
        assert r.status_code == 200
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
        assert me["role"] == "city_admin" and me["scope"] == {"kind": "city", "id": None}
        assert me["display_name"] == "市管理员"


def test_create_admin_in_process_audits_and_refuses_bad_input(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, db_url)
    assert main(["migrate"]) == 0

    def create(username: str, password: str) -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
        return main(["users", "create-admin", "--username", username])

    assert create("admin", "short") == 1
    assert "password" in capsys.readouterr().err
    assert create("Bad Name", ADMIN_PASSWORD) == 1
    assert "username" in capsys.readouterr().err
    assert create("admin", ADMIN_PASSWORD) == 0
    assert create("admin", ADMIN_PASSWORD) == 1
    assert "already taken" in capsys.readouterr().err
    db = Database.from_url(db_url)
    try:
        with db.session(write=False) as s:
            entries = s.execute(select(AuditEntry).where(AuditEntry.action == "user.create")).scalars().all()
        assert [(e.actor_name, e.actor_id, e.after["role"]) for e in entries] == [  # type: ignore[index]
            ("command-line", None, "city_admin")]
    finally:
        db.dispose()


def test_bad_config_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cloud.toml"
    path.write_text("[database]\nurll = 1\n")
    assert main(["migrate", "--config", str(path)]) == 2
    assert "database.urll" in capsys.readouterr().err
