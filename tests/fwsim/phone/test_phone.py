"""The phone's visit to the hatch over the virtual radio: token, scan by lock id, challenge → unlock, words."""

from __future__ import annotations

from pathlib import Path

import pytest

from fwsim.phone import RESULT_WORDS, LockNotFound, Phone, TokenFile, TokenUnavailable
from protocols.padlock.gatt import DEFAULT_ATT_MTU
from protocols.padlock.results import RESULT_CODES
from tests.fwsim.lock.world import PadlockRig, token, v


def test_every_result_code_has_words() -> None:
    assert set(RESULT_WORDS) == set(RESULT_CODES)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "permit.token"
    path.write_bytes(token())
    return path


@pytest.mark.parametrize("mtu", [DEFAULT_ATT_MTU, 247])
async def test_the_phone_unlocks_the_padlock_it_scans_for(rig: PadlockRig, token_file: Path, mtu: int) -> None:
    phone = Phone(rig.central, v.WORKER, TokenFile(token_file))
    outcome = await phone.unlock(v.LOCK_ID, scan_timeout_s=10, mtu=mtu)
    assert outcome.ok and outcome.lock_id == v.LOCK_ID
    assert outcome.in_words() == "ok: unlocked: the padlock opened"
    assert len(outcome.events) == 1 and rig.core.open


async def test_a_phone_without_the_holder_key_is_refused_in_words(rig: PadlockRig, token_file: Path) -> None:
    outcome = await Phone(rig.central, v.ROGUE, TokenFile(token_file)).unlock(v.LOCK_ID)
    assert outcome.code == "bad_pop" and not rig.core.open
    assert outcome.in_words() == "bad_pop: refused: this phone does not hold the key the permit was issued to"


async def test_no_token_means_no_scan_and_an_absent_lock_is_not_found(rig: PadlockRig, token_file: Path,
                                                                      tmp_path: Path) -> None:
    with pytest.raises(TokenUnavailable):
        await Phone(rig.central, v.WORKER, TokenFile(tmp_path / "none")).unlock(v.LOCK_ID)
    other = tmp_path / "other.token"
    other.write_bytes(token(lock_ids=(v.LOCK_ID, v.OTHER_LOCK_ID)))
    with pytest.raises(LockNotFound):
        await Phone(rig.central, v.WORKER, TokenFile(other)).unlock(v.OTHER_LOCK_ID, scan_timeout_s=0.5)
