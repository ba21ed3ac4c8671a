"""The padlock's state file: atomic, owner-only, a factory-new lock on first start, loud on a bad file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fwsim.lock import LockStore
from tests.fwsim.lock.world import NOW, HostClock, provisioned_core, verify_log


def test_a_new_store_makes_a_factory_new_lock_and_saves_it_0600(tmp_path: Path) -> None:
    old = os.umask(0o000)  # even a permissive umask must not widen the file
    try:
        store = LockStore(tmp_path / "lock.json")
        core = store.load_or_create(NOW)
    finally:
        os.umask(old)
    assert core.provisioning_mode and not core.provisioned
    assert store.path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock.json"]  # no temporary file left behind
    again = store.load_or_create(NOW + 1)
    assert again.lock_id == core.lock_id and again.lock_public_key == core.lock_public_key


def test_saved_state_reloads_with_its_chain(tmp_path: Path) -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    core.force_open(clock())
    core.close(clock())
    store = LockStore(tmp_path / "lock.json")
    store.save(core)
    loaded = store.load()
    assert [e.signed for e in verify_log(loaded)] == [e.signed for e in verify_log(core)]
    assert loaded.to_record() == core.to_record()


@pytest.mark.parametrize("content", [b"", b"{}", b"[1]", b'{"version": 99}', b"\xff"])
def test_a_broken_state_file_is_refused_by_name(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "lock.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a padlock state file"):
        LockStore(path).load()
