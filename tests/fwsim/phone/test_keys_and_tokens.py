"""The worker key on the phone (made once, 0600) and where the permit token comes from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fwsim.phone import OnlineFirst, TokenCache, TokenFile, TokenUnavailable, load_or_create_worker_key, public_key_hex
from protocols import crypto
from protocols.token import decode_token
from tests.fwsim.lock.world import NOW, token, v


def test_the_worker_key_is_made_on_first_use_stored_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "phone" / "worker.key"
    old = os.umask(0)
    try:
        key = load_or_create_worker_key(path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_or_create_worker_key(path)
    assert public_key_hex(again) == public_key_hex(key) == crypto.public_raw(key).hex()
    assert public_key_hex(load_or_create_worker_key(tmp_path / "other.key")) != public_key_hex(key)  # random


def test_a_worker_key_readable_by_others_or_damaged_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "worker.key"
    load_or_create_worker_key(path)
    path.chmod(0o644)
    with pytest.raises(PermissionError):
        load_or_create_worker_key(path)
    path.write_text("not hex")
    path.chmod(0o600)
    with pytest.raises(ValueError, match="not a worker key file"):
        load_or_create_worker_key(path)


@pytest.mark.parametrize("as_hex", [False, True])
async def test_a_token_file_holds_raw_or_hex_bytes_for_its_locks(tmp_path: Path, as_hex: bool) -> None:
    tok = token()
    path = tmp_path / "permit.token"
    path.write_bytes(tok.hex().encode() + b"\n" if as_hex else tok)
    assert await TokenFile(path).token_for(v.LOCK_ID) == tok
    with pytest.raises(TokenUnavailable, match="does not name lock"):
        await TokenFile(path).token_for(v.OTHER_LOCK_ID)
    with pytest.raises(TokenUnavailable):
        await TokenFile(tmp_path / "missing").token_for(v.LOCK_ID)
    path.write_bytes(b"\x01\x02")
    with pytest.raises(TokenUnavailable, match="not a permit token"):
        await TokenFile(path).token_for(v.LOCK_ID)


class Offline:
    async def token_for(self, lock_id: bytes) -> bytes:
        raise TokenUnavailable("no network at the hatch")


class Online:
    def __init__(self, tok: bytes) -> None:
        self.tok = tok

    async def token_for(self, lock_id: bytes) -> bytes:
        return self.tok


async def test_online_first_caches_what_it_fetches_and_falls_back_to_the_newest_valid_cached_token(
        tmp_path: Path) -> None:
    clock = [float(NOW)]
    cache = TokenCache(tmp_path / "cache", clock=lambda: clock[0])
    older, newer = token(iat=NOW - 7200), token(iat=NOW - 60)
    assert await OnlineFirst(Online(older), cache).token_for(v.LOCK_ID) == older
    assert await OnlineFirst(Online(newer), cache).token_for(v.LOCK_ID) == newer
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in (tmp_path / "cache").iterdir())
    offline = OnlineFirst(Offline(), cache)
    assert await offline.token_for(v.LOCK_ID) == newer
    with pytest.raises(TokenUnavailable):
        await offline.token_for(v.OTHER_LOCK_ID)
    clock[0] = decode_token(newer).exp + 1  # cached permits expire too
    with pytest.raises(TokenUnavailable):
        await offline.token_for(v.LOCK_ID)
