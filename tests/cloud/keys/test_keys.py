"""The cloud's key file: created 0600 by ``keys init`` (once), refused when readable by others, rotated with
the retired public key kept, re-read by a running key store; the ``keys`` commands as a real process."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloud.keys.service import COMMAND_RETENTION, ISSUER_RETENTION, KeyStore, KeysUnavailable, init_keys, rotate
from cloud.keys.store import KeyFileError, keyring_path
from protocols import crypto
from protocols.token import PermitClaims, issue_token, verify_token
from tests.cloud.test_cli import cloud_exe

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def make_claims() -> PermitClaims:
    start = int(NOW.timestamp()) + 3600
    return PermitClaims(iss="safegrid-cloud", sub="w1", iat=start - 3600, nbf=start - 3600, exp=start + 7200,
                        cti=os.urandom(16), holder_key=crypto.public_raw(crypto.generate_private_key()),
                        permit_id=os.urandom(16), enterprise_id=os.urandom(16), space_id=os.urandom(16),
                        worker_id=os.urandom(16), lock_ids=(os.urandom(8),), window_start=start,
                        window_end=start + 7200, max_duration_s=3600, entrant_limit=1, gas_test_required=False,
                        drill=False)


def test_init_creates_a_private_file_once(tmp_path: Path) -> None:
    keyring = init_keys(tmp_path / "keys", now=NOW)
    path = keyring_path(tmp_path / "keys")
    assert path.stat().st_mode & 0o777 == 0o600
    assert keyring.issuer.kid == crypto.key_id(keyring.issuer.public) != keyring.command.kid
    with pytest.raises(KeyFileError, match="rotate"):
        init_keys(tmp_path / "keys", now=NOW)
    assert KeyStore(tmp_path / "keys").keyring().issuer.kid == keyring.issuer.kid
    path.chmod(0o644)
    with pytest.raises(KeysUnavailable, match="chmod 600"):
        KeyStore(tmp_path / "keys").keyring()
    with pytest.raises(KeysUnavailable, match="keys init"):
        KeyStore(tmp_path / "none").keyring()


def test_rotation_keeps_retired_public_keys_until_their_tokens_expire(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    old = init_keys(directory, now=NOW)
    store = KeyStore(directory)
    assert store.keyring().issuer.kid == old.issuer.kid
    claims = make_claims()
    token = issue_token(claims, old.issuer_private, kid=old.issuer.kid)
    new = rotate(directory, "issuer", now=NOW)
    assert store.keyring().issuer.kid == new.issuer.kid != old.issuer.kid  # the running store re-read the file
    assert new.command.kid == old.command.kid and new.content.issuer[0].private is None
    keys = store.keyring().issuer_keys(now=NOW + timedelta(days=1))
    assert set(keys) == {old.issuer.kid, new.issuer.kid}
    verified = verify_token(token, issuer_keys=keys, now=claims.valid_from + 1, lock_id=claims.lock_ids[0])
    assert verified.cti == claims.cti
    assert set(store.keyring().issuer_keys(now=NOW + ISSUER_RETENTION + timedelta(seconds=1))) == {new.issuer.kid}
    command = rotate(directory, "command", now=NOW)
    assert set(command.command_keys(now=NOW)) == {old.command.kid, command.command.kid}
    assert set(command.command_keys(now=NOW + COMMAND_RETENTION + timedelta(seconds=1))) == {command.command.kid}


def test_keys_commands(tmp_path: Path) -> None:
    config = tmp_path / "cloud.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n')

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([cloud_exe(), "keys", *args, "--config", str(config)], capture_output=True, text=True,
                              timeout=120, env=dict(os.environ))

    assert run("list").returncode == 1
    created = run("init")
    assert created.returncode == 0, created.stderr
    assert oct(keyring_path(tmp_path / "data" / "keys").stat().st_mode & 0o777) == "0o600"
    assert run("init").returncode == 1
    assert run("rotate").returncode == 0
    assert run("rotate", "command").returncode == 0
    listed = run("list").stdout.splitlines()
    assert [line.split()[0] for line in listed[1:]] == ["issuer", "issuer", "command", "command"]
    assert [line.split()[-1] != "-" for line in listed[1:]] == [True, False, True, False]  # retired ones dated
